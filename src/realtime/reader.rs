//! One reader per server process: it follows the event log and hands each new event to
//! the hub, in log order.
//!
//! A batch of this process's writes runs the reader's cycle itself, right after it commits
//! and answers, on its own connection (`Follower`, as `db::commits::AfterCommit`); any
//! other write in this process wakes the reader's task. Writes in other processes on the
//! same database reach it through a dedicated `LISTEN` connection (tokio-postgres,
//! push-based): each process sends one `NOTIFY` on that same connection per burst of its
//! own commits, when another process listens, and ignores its own. A short poll covers a
//! wake-up lost while that connection was down, and transactions that held back `xmin`
//! (see docs/event-log.md). Correctness never depends on a wake-up: each cycle re-reads
//! the log from the last position dispatched, and one runs at a time.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use diesel::{PgConnection, QueryResult};
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;

use super::ephemeral::{self, Ephemeral};
use super::hub::Hub;
use super::recent::Recent;
use crate::db::commits::{AfterCommit, Commits};
use crate::db::{Db, event_log, room_snapshot};
use crate::metrics::METRICS;

/// How often the reader looks at the log with no wake-up.
const POLL: Duration = Duration::from_millis(250);
/// Events read per query; the reader loops until it has caught up.
const BATCH: i64 = 500;
const RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// How often the LISTEN connection looks for other server processes on the database.
const PEER_CHECK: Duration = Duration::from_secs(1);
/// The `application_name` of every process's LISTEN connection, by which each finds the
/// others.
pub const LISTENER_NAME: &str = "parley-events";

/// The reader's tasks; dropping this does not stop them, `stop` does.
pub struct Reader {
    tasks: Vec<JoinHandle<()>>,
}

impl Reader {
    pub fn start(
        db: Db,
        hub: Arc<Hub>,
        recent: Arc<Recent>,
        database_url: String,
        retention: Duration,
        ephemeral: Arc<Ephemeral>,
    ) -> Self {
        let commits = db.commits();
        let follower = Arc::new(Follower {
            hub,
            recent,
            commits: Arc::clone(&commits),
            reading: Mutex::new(()),
        });
        commits.set_after_commit(Arc::clone(&follower) as Arc<dyn AfterCommit>);
        let listener = tokio::spawn(listen(database_url, Arc::clone(&commits), ephemeral));
        let reader = tokio::spawn(follow(db.clone(), follower, commits));
        let pruner = tokio::spawn(prune(db, retention));
        Self {
            tasks: vec![listener, reader, pruner],
        }
    }

    pub fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The reader's cycle: read the log from the hub's head to its end (everything below
/// `xmin`) and hand it to the recent-messages memory and the hub, in order. Run by the
/// reader's own task when woken (another process's commit, a poll, a write that is not
/// batched), and right after each batch of this process's writes by the thread that
/// committed it, on its connection ([`AfterCommit`]); never by two at once.
struct Follower {
    hub: Arc<Hub>,
    recent: Arc<Recent>,
    commits: Arc<Commits>,
    reading: Mutex<()>,
}

impl Follower {
    fn cycle(&self, conn: &mut PgConnection) -> QueryResult<()> {
        if self.hub.is_closed() {
            return Ok(());
        }
        // Read-your-writes for lists answered from memory (`recent`): the commits counted
        // before this snapshot are below its `xmax`, and everything below its `xmin` is
        // read by the end of this cycle. Only while a list waits for that (see
        // `Recent::needs_fence`), so a server that only reads or writes pays nothing.
        let acknowledged = self.commits.acknowledged();
        let fence = if self.recent.needs_fence(acknowledged) {
            Some(room_snapshot::snapshot_bounds(conn)?)
        } else {
            None
        };
        loop {
            let batch = event_log::read_committed_after(conn, self.hub.head(), BATCH)?;
            let full = batch.len() as i64 == BATCH;
            METRICS.events_dispatched.inc_by(batch.len() as u64);
            self.recent.apply(&batch);
            self.hub.dispatch(batch);
            if !full {
                if let Some(bounds) = fence {
                    self.recent.fence(acknowledged, bounds);
                }
                return Ok(());
            }
        }
    }

    fn reading(&self) -> MutexGuard<'_, ()> {
        // Guards no data: a panic while holding it leaves nothing half-done.
        self.reading
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AfterCommit for Follower {
    fn after_commit(&self, conn: &mut PgConnection) -> bool {
        let _reading = match self.reading.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // Reading now, maybe from before this commit: the wake-up makes it read again.
            Err(TryLockError::WouldBlock) => return false,
        };
        match self.cycle(conn) {
            Ok(()) => true,
            Err(error) => {
                tracing::debug!(%error, "could not read the event log after a commit");
                false
            }
        }
    }
}

async fn follow(db: Db, follower: Arc<Follower>, commits: Arc<Commits>) {
    loop {
        tokio::select! {
            () = commits.reader_woken() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        if follower.hub.is_closed() {
            return;
        }
        let cycle = Arc::clone(&follower);
        let read = db
            .run(move |conn| {
                let _reading = cycle.reading();
                Ok(cycle.cycle(conn)?)
            })
            .await;
        if let Err(error) = read {
            tracing::warn!(error = %error, "could not read the event log; retrying");
        }
    }
}

/// Keeps a `LISTEN` connection open, turning each other process's notification into a
/// wake-up, and sends one `NOTIFY` for each burst of this process's commits. After a
/// reconnect it wakes the reader too, since notifications sent meanwhile are lost.
async fn listen(database_url: String, commits: Arc<Commits>, ephemeral: Arc<Ephemeral>) {
    loop {
        match tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let (lost_tx, mut lost_rx) = tokio::sync::oneshot::channel::<()>();
                // Our own notifications come back to us; they carry this backend's pid.
                let own_pid = Arc::new(AtomicI32::new(0));
                let notify = Arc::clone(&commits);
                let own = Arc::clone(&own_pid);
                let ephemeral = Arc::clone(&ephemeral);
                let pump = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            // Typing and counts from other processes (`ephemeral`).
                            Ok(AsyncMessage::Notification(note))
                                if note.channel() == ephemeral::CHANNEL =>
                            {
                                ephemeral.received(note.payload())
                            }
                            Ok(AsyncMessage::Notification(note))
                                if note.process_id() != own.load(Ordering::Relaxed) =>
                            {
                                notify.wake_reader()
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(error = %error, "event notification connection failed");
                                break;
                            }
                        }
                    }
                    let _ = lost_tx.send(());
                });
                match subscribe(&client).await {
                    Ok(pid) => {
                        own_pid.store(pid, Ordering::Relaxed);
                        commits.wake_reader();
                        // A `NOTIFY` is a transaction of its own, and under load this
                        // process would send one for every second or third message: worth
                        // it only when another process listens. One that starts meanwhile
                        // polls until the next check finds it.
                        let mut peers = true;
                        let mut check = tokio::time::interval(PEER_CHECK);
                        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        loop {
                            tokio::select! {
                                _ = &mut lost_rx => break,
                                _ = check.tick() => match other_listeners(&client).await {
                                    Ok(found) => peers = found,
                                    Err(error) => {
                                        tracing::warn!(error = %error, "could not look for other processes");
                                        break;
                                    }
                                },
                                () = commits.peers_to_notify(), if peers => {
                                    let sent = client
                                        .batch_execute(&format!("NOTIFY {}", event_log::CHANNEL))
                                        .await;
                                    if let Err(error) = sent {
                                        tracing::warn!(error = %error, "could not notify other processes");
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(error) => tracing::warn!(error = %error, "could not LISTEN for events"),
                }
                pump.abort();
                drop(client);
            }
            Err(error) => {
                tracing::warn!(error = %error, "could not open the event notification connection")
            }
        }
        commits.wake_reader();
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// Starts listening under [`LISTENER_NAME`] and returns this connection's backend pid.
async fn subscribe(client: &tokio_postgres::Client) -> Result<i32, tokio_postgres::Error> {
    let pid = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .try_get(0)?;
    client
        .batch_execute(&format!(
            "SET application_name = '{LISTENER_NAME}'; LISTEN {}; LISTEN {}",
            event_log::CHANNEL,
            ephemeral::CHANNEL
        ))
        .await?;
    Ok(pid)
}

/// Whether a LISTEN connection of another server process is open on this database.
pub async fn other_listeners(
    client: &tokio_postgres::Client,
) -> Result<bool, tokio_postgres::Error> {
    client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1 \
             AND pid <> pg_backend_pid())",
            &[&LISTENER_NAME],
        )
        .await?
        .try_get(0)
}

/// Deletes events older than the retention period, a few times per period.
async fn prune(db: Db, retention: Duration) {
    let every = (retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        match db
            .run(move |conn| Ok(event_log::prune(conn, retention)?))
            .await
        {
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "could not prune the event log"),
        }
        tokio::time::sleep(every).await;
    }
}
