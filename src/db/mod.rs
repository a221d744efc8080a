//! Everything that talks to PostgreSQL. Diesel is blocking: all of it runs through
//! [`Db::run`] (or [`Db::write`] for changes), on tokio's blocking pool, never on the
//! threads that serve requests.

pub mod batch;
pub mod cluster;
pub mod commits;
pub mod event_log;
pub mod messages;
pub mod migrations;
pub mod notes;
pub mod outbox;
pub mod pool;
pub mod presence;
pub mod readiness;
pub mod room_snapshot;
pub mod rooms;
pub mod schema;
pub mod sessions;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use diesel::PgConnection;
use diesel::connection::Connection;
use diesel::r2d2::Pool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::error::ApiError;
use crate::metrics::METRICS;
use batch::{Pending, Queue, Queues, Reply, Running};
use commits::Commits;
use outbox::{Outbox, Outcome, Statement};
use pool::{Manager, PgPool};

/// The handle handlers use to reach the database.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    /// One permit per pooled connection. Queries wait for a permit here, on the async
    /// side and first come first served, rather than in r2d2 on a blocking thread: a
    /// parked thread per waiting request costs a wake-up and a context switch each time
    /// a connection frees up, and r2d2 hands connections out in no particular order.
    permits: Arc<Semaphore>,
    timeout: Duration,
    commits: Arc<Commits>,
    /// Where single-statement writes wait to run together (`batch`).
    batches: Arc<Queues>,
}

impl Db {
    /// Builds the pool without connecting yet: connections are made on first use, so the
    /// server can start (and report not-ready) while the database is briefly away.
    pub fn new(database_url: &str, max_size: u32, timeout: Duration) -> Self {
        let manager = Manager::new(database_url);
        let pool = Pool::builder()
            .max_size(max_size)
            .min_idle(Some(max_size.min(2)))
            .connection_timeout(timeout)
            .build_unchecked(manager);
        Self {
            pool,
            permits: Arc::new(Semaphore::new(max_size as usize)),
            timeout,
            commits: Arc::default(),
            batches: Arc::new(Queues::new(crate::config::DEFAULT_DB_WRITE_BATCHES)),
        }
    }

    /// How many batches of one kind of single-statement write may run at once (each on a
    /// connection of its own); at least one.
    pub fn with_write_batches(mut self, batches: usize) -> Self {
        self.batches = Arc::new(Queues::new(batches.max(1)));
        self
    }

    /// Runs `query` with a pooled connection on the blocking thread pool, inside the
    /// caller's tracing span, once a connection is free (waiting at most `--db-timeout`).
    pub async fn run<T, F>(&self, query: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let permit = tokio::time::timeout_at(deadline, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| {
                ApiError::Unavailable(anyhow::anyhow!(
                    "no database connection became free within {:?}",
                    self.timeout
                ))
            })?
            .map_err(|error| ApiError::Internal(error.into()))?;
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _entered = span.enter();
            // Only what is left of `--db-timeout` after the wait for a permit: the two
            // waits together stay within it. A connection that is idle is handed out
            // even with no time left; one that must be made first needs some.
            let mut pooled =
                pool.get_timeout(deadline.saturating_duration_since(tokio::time::Instant::now()))?;
            let result = query(&mut pooled.conn);
            pooled.observe(&result);
            result
        })
        .await
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("database task failed: {error}")))?
    }

    /// Runs `change` in one transaction. Every change but the single-statement ones (see
    /// [`Db::write_statement`]) is made here: what `change` records in the [`Outbox`] is
    /// appended to the event log inside the same transaction, so an event exists if and
    /// only if its change committed.
    pub async fn write<T, F>(&self, change: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection, &mut Outbox) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (value, appended) = self
            .run(move |conn| {
                conn.transaction(|conn| {
                    let mut outbox = Outbox::default();
                    let value = change(conn, &mut outbox)?;
                    let appended = outbox.append(conn)?;
                    Ok((value, appended))
                })
            })
            .await?;
        self.appended(appended);
        Ok(value)
    }

    /// Runs `statement`, a single-statement change that appends its own event (see
    /// [`Statement`]), and counts the event from its outcome. When batches of its kind
    /// are already running, it waits for the next batch and runs in it, together with
    /// every other statement of its kind that arrived meanwhile (`batch`); either way it
    /// answers only after the transaction that wrote it committed.
    pub async fn write_statement<S: Statement>(
        &self,
        statement: S,
    ) -> Result<Outcome<S>, ApiError> {
        let queue = self.batches.of::<S>();
        let (reply, answer) = oneshot::channel();
        if let Some(batch) = queue.submit(Pending { statement, reply })? {
            self.start_batch(queue, batch);
        }
        answer.await.map_err(|_| {
            ApiError::Internal(anyhow::anyhow!(
                "a write's batch ended without answering it"
            ))
        })?
    }

    /// Runs `batch`, then each next one of its queue, on a task of its own, so that a
    /// request that goes away cannot strand the statements waiting behind it.
    fn start_batch<S: Statement>(&self, queue: Arc<Queue<S>>, batch: Vec<Pending<S>>) {
        match Arc::clone(&self.permits).try_acquire_owned() {
            // The usual case, and the only one without concurrency: no extra task.
            Ok(permit) => self.run_batches(permit, queue, batch),
            Err(_) => {
                let db = self.clone();
                tokio::spawn(async move {
                    let deadline = tokio::time::Instant::now() + db.timeout;
                    let permits = Arc::clone(&db.permits);
                    match tokio::time::timeout_at(deadline, permits.acquire_owned()).await {
                        Ok(Ok(permit)) => db.run_batches(permit, queue, batch),
                        // What waits behind this batch would wait for the same pool.
                        _ => {
                            let waiting = Running::new(&queue).give_up();
                            for pending in batch.into_iter().chain(waiting) {
                                let _ = pending.reply.send(Err(db.no_connection()));
                            }
                        }
                    }
                });
            }
        }
    }

    /// On a blocking thread with one connection: runs `batch`, answers each of its
    /// statements, and goes on with the batches that formed meanwhile until none waits.
    fn run_batches<S: Statement>(
        &self,
        permit: OwnedSemaphorePermit,
        queue: Arc<Queue<S>>,
        batch: Vec<Pending<S>>,
    ) {
        let db = self.clone();
        let span = tracing::Span::current();
        let deadline = tokio::time::Instant::now() + self.timeout;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _entered = span.enter();
            let mut running = Running::new(&queue);
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut pooled = match db.pool.get_timeout(left) {
                Ok(pooled) => pooled,
                Err(error) => {
                    // What waits behind this batch would wait for the same database.
                    let error = ApiError::from(error);
                    tracing::warn!(%error, "no database connection for a batch of writes");
                    for pending in batch.into_iter().chain(running.give_up()) {
                        let _ = pending.reply.send(Err(db.no_connection()));
                    }
                    return;
                }
            };
            let mut batch = batch;
            while !batch.is_empty() {
                let (statements, replies): (Vec<S>, Vec<Reply<S>>) = batch
                    .into_iter()
                    .map(|pending| (pending.statement, pending.reply))
                    .unzip();
                let outcomes = batch::run(&mut pooled.conn, &statements);
                for outcome in &outcomes {
                    pooled.observe(outcome);
                }
                let appended: usize = outcomes
                    .iter()
                    .filter_map(|outcome| outcome.as_ref().ok())
                    .map(outbox::appended_by::<S>)
                    .sum();
                if appended > 0 {
                    db.commits.counted();
                    METRICS.events_appended.inc_by(appended as u64);
                }
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A request that went away meanwhile has no one to answer: its write
                    // stands, as any write whose client disconnects after sending it.
                    let _ = reply.send(outcome);
                }
                // The answers first: the reader's read of the log would otherwise run
                // ahead of the responses.
                if appended > 0 {
                    db.commits.after_commit(&mut pooled.conn);
                }
                batch = running.next();
            }
        });
    }

    fn no_connection(&self) -> ApiError {
        ApiError::Unavailable(anyhow::anyhow!(
            "no database connection became free within {:?}",
            self.timeout
        ))
    }

    /// After a commit that appended `events` events: wakes the readers (here and in other
    /// processes) and counts them. Public for changes that append through SQL of their
    /// own (presence).
    pub fn appended(&self, events: usize) {
        if events > 0 {
            self.commits.committed();
            METRICS.events_appended.inc_by(events as u64);
        }
    }

    /// The signal [`Db::write`] and [`Db::write_statement`] raise after each commit that
    /// appended events.
    pub fn commits(&self) -> Arc<Commits> {
        Arc::clone(&self.commits)
    }

    /// Connections in the pool, and how many of them are idle.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Whether the database answers a trivial query (for `/readyz`, which bounds how long
    /// it waits: a frozen database never answers). Takes a permit like any query, so a
    /// probe never holds a connection the permits do not count.
    pub async fn ping(&self) -> Result<(), ApiError> {
        use diesel::RunQueryDsl;
        self.run(|conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map(drop)
                .map_err(ApiError::from)
        })
        .await
    }
}
