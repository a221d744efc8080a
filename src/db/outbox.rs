//! The changes a write transaction made, appended to the event log before it commits.

use diesel::PgConnection;
use serde::Serialize;

use super::event_log::{self, NewEvent};
use crate::api_types::{DeletedMessage, DeletedNote, Message, Note};
use crate::domain::Namespace;
use crate::error::ApiError;
use crate::event::EventType;

/// One change that subscribers will hear about.
#[derive(Debug, Clone)]
pub enum Change {
    NoteUpdated(Note),
    NoteDeleted(DeletedNote),
    MessageCreated(Message),
    MessageUpdated(Message),
    MessageDeleted(DeletedMessage),
}

impl Change {
    /// The stream an event goes to: a note's events to `notes/{key}`, a message's to its
    /// own room.
    fn into_event(self) -> Result<NewEvent, serde_json::Error> {
        fn event(
            kind: EventType,
            namespace: &str,
            room: &str,
            data: &impl Serialize,
        ) -> Result<NewEvent, serde_json::Error> {
            Ok(NewEvent {
                namespace: namespace.to_owned(),
                room: room.to_owned(),
                event_type: kind.as_str(),
                data: serde_json::to_string(data)?,
            })
        }
        let notes = Namespace::NOTES;
        match &self {
            Self::NoteUpdated(note) => event(EventType::NoteUpdated, notes, &note.key, note),
            Self::NoteDeleted(note) => event(EventType::NoteDeleted, notes, &note.key, note),
            Self::MessageCreated(m) => event(EventType::MessageCreated, &m.namespace, &m.room, m),
            Self::MessageUpdated(m) => event(EventType::MessageUpdated, &m.namespace, &m.room, m),
            Self::MessageDeleted(m) => event(EventType::MessageDeleted, &m.namespace, &m.room, m),
        }
    }
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

    /// Appends the recorded changes to the event log on the transaction's connection, so
    /// they commit (or roll back) with it. Returns how many there were.
    pub(super) fn append(self, conn: &mut PgConnection) -> Result<usize, ApiError> {
        let new = self
            .changes
            .into_iter()
            .map(Change::into_event)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| {
                ApiError::Internal(anyhow::anyhow!("could not serialize an event: {error}"))
            })?;
        event_log::append(conn, &new)?;
        Ok(new.len())
    }
}
