//! The changes a write transaction made, appended to the event log before it commits.

use diesel::PgConnection;

use crate::error::ApiError;
use crate::models::Note;

/// One change that subscribers will hear about.
#[derive(Debug, Clone)]
pub enum Change {
    NoteCreated(Note),
    NoteUpdated(Note),
    NoteDeleted { key: String },
}

/// Collects the changes of one transaction (see [`crate::db::Db::write`]).
#[derive(Debug, Default)]
pub struct Outbox {
    changes: Vec<Change>,
}

impl Outbox {
    pub fn record(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Appends the recorded changes to the event log on the transaction's connection.
    /// The durable log and its readers arrive with the realtime core; until then the
    /// changes are only traced.
    pub(super) fn append(self, _conn: &mut PgConnection) -> Result<(), ApiError> {
        for change in &self.changes {
            tracing::debug!(?change, "change committed with its transaction");
        }
        Ok(())
    }
}
