//! Everything that talks to PostgreSQL. Diesel is blocking: all of it runs through
//! [`Db::run`] (or [`Db::write`] for changes), on tokio's blocking pool, never on the
//! threads that serve requests.

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
pub mod rooms;
pub mod schema;
pub mod sessions;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use diesel::PgConnection;
use diesel::connection::Connection;
use diesel::r2d2::Pool;
use tokio::sync::Semaphore;

use crate::error::ApiError;
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
        }
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
    /// [`Statement`]), and counts the event from its outcome.
    pub async fn write_statement<S: Statement>(
        &self,
        statement: S,
    ) -> Result<Outcome<S>, ApiError> {
        let outcome = self
            .run(move |conn| statement.run(conn).map_err(ApiError::from))
            .await?;
        self.appended(outbox::appended_by::<S>(&outcome));
        Ok(outcome)
    }

    /// After a commit that appended events: wake the readers, count them.
    fn appended(&self, events: usize) {
        if events > 0 {
            self.commits.committed();
            crate::metrics::METRICS
                .events_appended
                .inc_by(events as u64);
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
