//! The event reader's wake-ups: after a write in this process commits, and (through
//! `realtime::reader`'s LISTEN connection) after one in another process does. The event log
//! is the truth; these only make the reader look at it sooner.
//!
//! A `NOTIFY` inside each write transaction would do the same job, but PostgreSQL holds a
//! database-wide lock from a notifying transaction's pre-commit until its WAL flush is
//! over, so every write would commit one after another (docs/performance.md measured 4–5k
//! commits/s with it against 21–23k without). Instead the writer wakes this process's
//! reader directly, and one task per process (see `realtime::reader`) sends a single
//! `NOTIFY` outside any write transaction for every burst of commits, for the other server
//! processes on the same database.

//!
//! A commit of this process's batched writes goes one step further: the thread that made it
//! reads the log itself, on the same connection, right after answering (see
//! [`AfterCommit`]), instead of handing that to the reader's task and a second blocking
//! thread. At one client that hand-off was about half of the server's CPU per message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use diesel::PgConnection;
use tokio::sync::Notify;

/// What the thread of a commit does right after it, on the connection that made it: the
/// reader's read of the log (`realtime::reader`), which would otherwise cost a wake-up of
/// its task and a blocking thread of its own.
pub trait AfterCommit: Send + Sync {
    /// False when it could not (the reader is reading right now, or the read failed):
    /// the reader's task is woken instead.
    fn after_commit(&self, conn: &mut PgConnection) -> bool;
}

#[derive(Default)]
pub struct Commits {
    reader: Notify,
    peers: Notify,
    /// Commits that appended events, counted when they are done and before the write is
    /// acknowledged: lists answered from memory wait until the reader has surely read
    /// every one of them (read-your-writes, `realtime::recent`).
    acknowledged: AtomicU64,
    after_commit: OnceLock<Arc<dyn AfterCommit>>,
}

impl Commits {
    /// Called after a transaction that appended events has committed, and before the
    /// write is acknowledged to its client. A `Notify` keeps one permit, so commits that
    /// land while nobody waits coalesce into one wake-up.
    pub fn committed(&self) {
        self.counted();
        self.reader.notify_one();
        self.peers.notify_one();
    }

    /// The first half of [`Commits::committed`], for a commit whose thread then answers
    /// its clients and calls [`Commits::after_commit`]: counted before any answer goes
    /// out, so that a list sent after an answer waits for the write (read-your-writes).
    pub fn counted(&self) {
        self.acknowledged.fetch_add(1, Ordering::SeqCst);
    }

    /// The second half, after the answers: the other processes are told, and this one's
    /// reader reads the log on `conn`, or is woken to.
    pub fn after_commit(&self, conn: &mut PgConnection) {
        self.peers.notify_one();
        let done = self
            .after_commit
            .get()
            .is_some_and(|follower| follower.after_commit(conn));
        if !done {
            self.reader.notify_one();
        }
    }

    /// Installs the reader's [`AfterCommit`] (once; a second call is ignored).
    pub fn set_after_commit(&self, follower: Arc<dyn AfterCommit>) {
        let _ = self.after_commit.set(follower);
    }

    /// How many commits [`Commits::committed`] has counted so far.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged.load(Ordering::SeqCst)
    }

    /// Wakes the reader alone: another process committed, or the LISTEN connection was
    /// re-established and may have missed notifications.
    pub fn wake_reader(&self) {
        self.reader.notify_one();
    }

    /// Resolves at the next wake-up (or at once if one happened since the last call).
    pub async fn reader_woken(&self) {
        self.reader.notified().await;
    }

    /// Resolves after the next commit, for the task that tells the other processes.
    pub async fn peers_to_notify(&self) {
        self.peers.notified().await;
    }
}
