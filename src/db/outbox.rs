//! The two ways a change appends its events to the log, so that an event exists if and
//! only if its change committed: a transaction records them in an [`Outbox`], appended
//! before it commits ([`crate::db::Db::write`]); a [`Statement`] appends its own, in the
//! same single statement as the change ([`crate::db::Db::write_statement`]).

use diesel::{PgConnection, QueryResult};
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

/// A change made in one statement, outside any explicit transaction, that appends its
/// own event: one round trip instead of the three or more of [`crate::db::Db::write`]
/// (docs/event-log.md). Statements of one kind that arrive together run as one
/// multi-row statement ([`Statement::run_batch`], queued by `db::batch`): one
/// transaction and one commit for all of them, an [`Outcome`] each, the events counted
/// per outcome. A caller sees the same either way.
pub trait Statement: Send + Sized + 'static {
    /// The one event a run that writes appends (its SQL binds this constant as the
    /// event's type); a refused run appends none. [`crate::db::Db::write_statement`]
    /// counts from this and the outcome, not from a number the caller supplies.
    const EVENT: EventType;
    /// What a run that writes returns: the new row, as the API shows it.
    type Written: Send + 'static;
    /// Why a run wrote nothing (and appended nothing): a missing session, say. Errors
    /// that fail the statement (a taken key) are errors, not refusals.
    type Refused: Send + 'static;

    /// Runs this statement alone, as its own transaction.
    fn run(&self, conn: &mut PgConnection) -> QueryResult<Outcome<Self>>;

    /// Runs `batch` (two or more) as one statement, so as one transaction: an outcome per
    /// statement, in order, and their events in the log in that order too. Each refusal
    /// (a missing session, say) is that statement's own outcome and leaves the others
    /// written. The outer error means the statement failed as a whole and wrote nothing
    /// (then each runs again alone, so that only the one at fault fails); an inner one,
    /// that the statement committed but that row's answer could not be read.
    fn run_batch(
        batch: &[Self],
        conn: &mut PgConnection,
    ) -> QueryResult<Vec<QueryResult<Outcome<Self>>>>;
}

/// What one run of a [`Statement`] did.
pub type Outcome<S> = Result<<S as Statement>::Written, <S as Statement>::Refused>;

/// How many events a run appended, from its outcome: [`Statement::EVENT`] when it wrote,
/// nothing when refused.
pub(super) fn appended_by<S: Statement>(outcome: &Outcome<S>) -> usize {
    usize::from(outcome.is_ok())
}
