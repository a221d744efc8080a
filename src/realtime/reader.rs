//! One reader per server process: it follows the event log and hands each new event to
//! the hub, in log order.
//!
//! A write in this process wakes it directly after committing (`db::commits`). Writes in
//! other processes on the same database reach it through a dedicated `LISTEN` connection
//! (tokio-postgres, push-based): each process sends one `NOTIFY` on that same connection
//! per burst of its own commits, when another process listens, and ignores its own. A short poll covers a wake-up lost
//! while that connection was down, and transactions that held back `xmin` (see
//! docs/event-log.md). Correctness never depends on a wake-up: the reader always re-reads
//! the log from the last position it dispatched.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;

use super::ephemeral::{self, Ephemeral};
use super::hub::Hub;
use crate::db::commits::Commits;
use crate::db::{Db, event_log};
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
        database_url: String,
        retention: Duration,
        ephemeral: Arc<Ephemeral>,
    ) -> Self {
        let commits = db.commits();
        let listener = tokio::spawn(listen(database_url, Arc::clone(&commits), ephemeral));
        let reader = tokio::spawn(follow(db.clone(), Arc::clone(&hub), commits));
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

async fn follow(db: Db, hub: Arc<Hub>, commits: Arc<Commits>) {
    loop {
        tokio::select! {
            () = commits.reader_woken() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        if hub.is_closed() {
            return;
        }
        loop {
            let after = hub.head();
            match db
                .run(move |conn| Ok(event_log::read_committed_after(conn, after, BATCH)?))
                .await
            {
                Ok(batch) => {
                    let full = batch.len() as i64 == BATCH;
                    METRICS.events_dispatched.inc_by(batch.len() as u64);
                    hub.dispatch(batch);
                    if !full {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "could not read the event log; retrying");
                    break;
                }
            }
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
