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

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Commits {
    reader: Notify,
    peers: Notify,
    /// Commits that appended events, counted when they are done and before the write is
    /// acknowledged: lists answered from memory wait until the reader has surely read
    /// every one of them (read-your-writes, `realtime::recent`).
    acknowledged: AtomicU64,
}

impl Commits {
    /// Called after a transaction that appended events has committed, and before the
    /// write is acknowledged to its client. A `Notify` keeps one permit, so commits that
    /// land while nobody waits coalesce into one wake-up.
    pub fn committed(&self) {
        self.acknowledged.fetch_add(1, Ordering::SeqCst);
        self.reader.notify_one();
        self.peers.notify_one();
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
