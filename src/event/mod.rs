//! The event contract: every kind of event, one committed event as read from the log, its
//! position, and what a stream follows. Low-level: the log (`db`) and the realtime core
//! both build on it, and it imports neither.

pub mod position;

use bytestring::ByteString;
use serde::Serialize;
use utoipa::ToSchema;

pub use position::Position;

use crate::domain::{Namespace, Room};

/// Every kind of event, as named on the wire (`event:` in SSE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "note.created")]
    NoteCreated,
    #[serde(rename = "note.updated")]
    NoteUpdated,
    #[serde(rename = "note.deleted")]
    NoteDeleted,
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "message.updated")]
    MessageUpdated,
    #[serde(rename = "message.deleted")]
    MessageDeleted,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        Self::NoteCreated,
        Self::NoteUpdated,
        Self::NoteDeleted,
        Self::MessageCreated,
        Self::MessageUpdated,
        Self::MessageDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoteCreated => "note.created",
            Self::NoteUpdated => "note.updated",
            Self::NoteDeleted => "note.deleted",
            Self::MessageCreated => "message.created",
            Self::MessageUpdated => "message.updated",
            Self::MessageDeleted => "message.deleted",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One committed change, as read from the log. `data` is the JSON payload, serialized
/// once when the change was written and shared by every subscriber.
#[derive(Debug, Clone)]
pub struct Event {
    pub position: Position,
    pub namespace: String,
    pub room: String,
    pub kind: EventType,
    pub data: ByteString,
}

/// What a stream follows: one room, or every room of a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Room(Namespace, Room),
    Namespace(Namespace),
}

impl Target {
    pub fn namespace(&self) -> &str {
        match self {
            Self::Room(namespace, _) | Self::Namespace(namespace) => namespace.as_str(),
        }
    }

    pub fn room(&self) -> Option<&str> {
        match self {
            Self::Room(_, room) => Some(room.as_str()),
            Self::Namespace(_) => None,
        }
    }
}
