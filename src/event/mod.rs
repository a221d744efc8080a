//! The event contract: every kind of event with its payload, the stream markers, one
//! committed event as read from the log, its position, and what a stream follows. Low-level: the log (`db`) and the realtime core
//! both build on it, and it imports neither.

pub mod position;
pub mod spec;

use std::borrow::Cow;

use bytestring::ByteString;
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

pub use position::Position;

use crate::api_types::{
    DeletedMessage, DeletedNote, Message, Note, PresenceCount, PresenceJoined, PresenceLeft,
    StreamMarker, Typing,
};
use crate::domain::{Namespace, Room};

/// Declares every event type once: its variant, its wire name (`event:` in SSE, the
/// `types` filter, the log's `event_type` column) and the schema of its `data`. Everything
/// else that names event types (the OpenAPI document, the SDKs' event maps, the web page's
/// listeners) is derived from this list: docs/api-design.md, "The event contract, and the
/// streams in OpenAPI". Adding an event type is one line here plus its producer.
macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal => $payload:ty,)+) => {
        /// Every kind of event, as named on the wire (`event:` in SSE).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($(#[$doc])* $variant,)+
        }

        impl EventType {
            pub const ALL: &[EventType] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }

            /// The OpenAPI schema name of this event's `data`.
            pub fn payload_schema(self) -> Cow<'static, str> {
                match self {
                    $(Self::$variant => <$payload as ToSchema>::name(),)+
                }
            }

            /// The payload schemas, for the OpenAPI document's components.
            pub(crate) fn payload_schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $(
                    let name = <$payload as ToSchema>::name().into_owned();
                    schemas.push((name, <$payload as PartialSchema>::schema()));
                    <$payload as ToSchema>::schemas(schemas);
                )+
            }
        }
    };
}

event_types! {
    NoteCreated = "note.created" => Note,
    NoteUpdated = "note.updated" => Note,
    NoteDeleted = "note.deleted" => DeletedNote,
    MessageCreated = "message.created" => Message,
    MessageUpdated = "message.updated" => Message,
    MessageDeleted = "message.deleted" => DeletedMessage,
    PresenceJoined = "presence.joined" => PresenceJoined,
    PresenceLeft = "presence.left" => PresenceLeft,
    /// Ephemeral (see [`EventType::is_ephemeral`]).
    Typing = "typing" => Typing,
    /// Ephemeral (see [`EventType::is_ephemeral`]).
    PresenceCount = "presence.count" => PresenceCount,
}

impl EventType {
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.as_str() == name)
    }

    /// Ephemeral events are never stored: they reach the streams open when they happen,
    /// without an `id:`, so they never move a client's resume position and are never
    /// replayed.
    pub fn is_ephemeral(self) -> bool {
        matches!(self, Self::Typing | Self::PresenceCount)
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl PartialSchema for EventType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Every kind of event, as named on the wire (`event:` in SSE, and in `types`).",
            ))
            .enum_values(Some(Self::ALL.iter().map(|kind| kind.as_str())))
            .into()
    }
}

impl ToSchema for EventType {}

/// The stream's own events, which say where the stream is rather than what changed. They
/// always come, whatever `types` asks for, and carry a [`StreamMarker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marker {
    /// Caught up: every earlier change has been sent; live events follow.
    Ready,
    /// The client's position is older than the log keeps: it must refetch its state.
    Reset,
}

impl Marker {
    pub const ALL: &[Marker] = &[Self::Ready, Self::Reset];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Reset => "reset",
        }
    }

    pub fn payload_schema() -> Cow<'static, str> {
        StreamMarker::name()
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
