//! The JSON shapes of the API: what clients send and receive.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A note, as returned by the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Note {
    /// Chosen by the author; unique; URL-safe.
    #[schema(example = "shopping")]
    pub key: String,
    #[schema(example = "Shopping list")]
    pub title: String,
    #[schema(example = "milk, eggs")]
    pub body: String,
    /// The username of the note's author.
    #[schema(example = "alice")]
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one on every update. (The `ETag` header combines it with
    /// the creation time, so a re-created note never reuses a tag.)
    #[schema(example = 1)]
    pub version: i64,
}

/// A note in a list: everything but its body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteSummary {
    pub key: String,
    pub title: String,
    pub author: String,
    pub updated_at: DateTime<Utc>,
}

/// One page of notes, ordered by key.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotePage {
    pub items: Vec<NoteSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A new note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNote {
    #[schema(value_type = NoteKeyText, example = "shopping")]
    pub key: String,
    #[schema(value_type = NoteTitleText, example = "Shopping list")]
    pub title: String,
    #[serde(default)]
    #[schema(value_type = NoteBodyText, example = "milk, eggs")]
    pub body: String,
}

/// The new content of a note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNote {
    #[schema(value_type = NoteTitleText, example = "Shopping list")]
    pub title: String,
    #[schema(value_type = NoteBodyText, example = "milk, eggs, bread")]
    pub body: String,
}

/// A username and password, to register or to log in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[schema(value_type = UsernameText, example = "alice")]
    pub username: String,
    #[schema(value_type = PasswordText, example = "correct horse battery staple")]
    pub password: String,
}

/// A registered user.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    #[schema(example = "alice")]
    pub username: String,
    pub created_at: DateTime<Utc>,
}

/// A new login session. The same token is also set as the `parley_session` cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Send as `Authorization: Bearer <token>`. Shown once; the server keeps only its hash.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    #[schema(example = "alice")]
    pub username: String,
}

/// Liveness or readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when a dependency is down.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// A comment on a note, or a line in a chat room.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    #[schema(example = 42)]
    pub id: i64,
    /// The author's username: always the signed-in user who posted it.
    #[schema(example = "alice")]
    pub from: String,
    #[schema(example = "notes")]
    pub namespace: String,
    #[schema(example = "shopping")]
    pub room: String,
    #[schema(example = "milk?")]
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page of messages, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<Message>,
    /// Pass as `cursor` to get older messages; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The text of a new or edited message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    #[schema(value_type = MessageTextText, example = "milk?")]
    pub message: String,
}

/// The payload of `note.created` and `note.updated` events is the [`Note`]; this is the
/// payload of `note.deleted`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletedNote {
    #[schema(example = "shopping")]
    pub key: String,
}

/// The payload of `message.deleted`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletedMessage {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "notes")]
    pub namespace: String,
    #[schema(example = "shopping")]
    pub room: String,
}

/// The payload of the `ready` and `reset` stream events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StreamMarker {
    /// The log position the stream has reached.
    #[schema(example = "7412-93")]
    pub position: String,
    /// In `ready` of a room's stream opened by a signed-in user: that user (now present).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "alice")]
    pub you: Option<String>,
    /// In `ready` of a room's stream: who is here, exactly at `position`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceSnapshot>,
}

/// The payload of `presence.joined`: a user's first stream of the room opened.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresenceJoined {
    /// The room's namespace and name, as on messages: a namespace's stream carries the
    /// presence of all its rooms.
    #[schema(example = "chat")]
    pub namespace: String,
    #[schema(example = "general")]
    pub room: String,
    #[schema(example = "bob")]
    pub user: String,
    /// When the user joined (the start of this stay in the room).
    pub since: DateTime<Utc>,
}

/// The payload of `presence.left`: the user's last stream of the room closed, and the
/// grace period (`--presence-grace`) passed without a new one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresenceLeft {
    #[schema(example = "chat")]
    pub namespace: String,
    #[schema(example = "general")]
    pub room: String,
    #[schema(example = "bob")]
    pub user: String,
}

/// The payload of `typing` (ephemeral: no `id:`, never replayed): show "bob is typing…"
/// until `expires_in_ms` after the last one received.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Typing {
    #[schema(example = "bob")]
    pub user: String,
    #[schema(example = 5000)]
    pub expires_in_ms: u64,
}

/// The payload of `presence.count` (ephemeral: no `id:`, never replayed): sent instead of
/// joins and leaves to streams of a room with more than `--presence-large-room` members,
/// at most once per 5 s, when the counts changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PresenceCount {
    #[schema(example = 1234)]
    pub members: u64,
    #[schema(example = 56)]
    pub anonymous: u64,
}

/// One member of a room: a signed-in user with at least one open stream of it (or one
/// that closed less than `--presence-grace` ago).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresenceMember {
    #[schema(example = "alice")]
    pub user: String,
    /// The user's open streams of the room, on every server (tabs, devices). Refreshed
    /// within about a second; at least 1.
    #[schema(example = 2)]
    pub sessions: u32,
    /// When the user joined.
    pub since: DateTime<Utc>,
}

/// Who is in a room, exactly at a log position (`Stream-Position`, or `ready`'s
/// `position`): follow the room's stream from that position to keep it exact.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresenceSnapshot {
    /// Sorted by user. Empty when `large`.
    pub members: Vec<PresenceMember>,
    /// How many members the room has exactly at this position: the length of `members`
    /// when not `large`, and a large room's count until its first `presence.count`.
    #[schema(example = 2)]
    pub members_count: u64,
    /// Anonymous streams of the room (refreshed within about a second).
    #[schema(example = 3)]
    pub anonymous: u64,
    /// More members than `--presence-large-room`: the list is left out, and the room's
    /// streams get `presence.count` instead of joins and leaves.
    pub large: bool,
}

/// A room with messages or members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomSummary {
    #[schema(example = "general")]
    pub room: String,
    /// The time of its newest message, join or leave.
    pub last_activity: DateTime<Utc>,
    /// Members present now.
    #[schema(example = 2)]
    pub members: u32,
}

/// One page of a namespace's rooms, most recently active first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomPage {
    pub items: Vec<RoomSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The schemas of the values the server checks, built from the constants of the checks
/// themselves (`crate::domain`), so the document cannot drift from them. Each is a named
/// component that request bodies and parameters refer to.
mod checked {
    use std::borrow::Cow;

    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
    use utoipa::{PartialSchema, ToSchema};

    use crate::domain::{
        MessageText, Namespace, NoteBody, NoteKey, NoteTitle, Password, Room, Username,
    };

    /// A string schema: its description, pattern, length bounds (in code points) and an
    /// example.
    fn text(
        description: &str,
        pattern: Option<&str>,
        min: Option<usize>,
        max: Option<usize>,
        example: &str,
    ) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .pattern(pattern)
            .min_length(min)
            .max_length(max)
            .examples([example])
            .into()
    }

    /// A named component: the Rust type, the component's name, its schema.
    macro_rules! checked_text {
        ($name:ident as $component:literal => $schema:expr) => {
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    $schema
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed($component)
                }
            }
        };
    }

    checked_text!(UsernameText as "Username" => text(
        "3–32 characters from `A–Z a–z 0–9 _ . -`; unique regardless of case.",
        Some(Username::PATTERN), Some(Username::MIN), Some(Username::MAX), "alice"));
    checked_text!(PasswordText as "Password" => text(
        "8–256 characters.", None, Some(Password::MIN), Some(Password::MAX), "correct horse battery staple"));
    checked_text!(NoteKeyText as "NoteKey" => text(
        "1–100 characters from `A–Z a–z 0–9 _ . - ~`, other than `.` and `..`.",
        Some(NoteKey::PATTERN), Some(1), Some(NoteKey::MAX), "shopping"));
    checked_text!(NoteTitleText as "NoteTitle" => text(
        "1–200 characters, not only white space, without NUL (U+0000).",
        Some(NoteTitle::PATTERN), Some(1), Some(NoteTitle::MAX), "Shopping list"));
    checked_text!(NoteBodyText as "NoteBody" => text(
        "Up to 50,000 characters, without NUL (U+0000).",
        Some(NoteBody::PATTERN), None, Some(NoteBody::MAX), "milk, eggs"));
    checked_text!(NamespaceText as "Namespace" => text(
        "1–64 characters from `a–z 0–9 _ -`, starting with a letter or digit, e.g. `notes` or `chat`.",
        Some(Namespace::PATTERN), Some(1), Some(Namespace::MAX), "chat"));
    checked_text!(RoomText as "Room" => text(
        "1–200 characters without control characters; in namespace `notes`, a note's key.",
        Some(Room::PATTERN), Some(1), Some(Room::MAX), "general"));
    checked_text!(MessageTextText as "MessageText" => text(
        "1–1024 characters, not only white space, without NUL (U+0000).",
        Some(MessageText::PATTERN), Some(1), Some(MessageText::MAX), "milk?"));
    checked_text!(EntityTags as "EntityTags" => text(
        "`*`, or a comma-separated list of entity tags (`\"…\"` or weak `W/\"…\"`), as in RFC 9110.",
        Some(ENTITY_TAGS_PATTERN), None, None, r#""3-1764547200000000""#));
    checked_text!(StreamPosition as "StreamPosition" => text(
        "A position in the event log, as the server hands them out (`id:` of an event, `Stream-Position`, `ready`'s `position`).",
        Some(STREAM_POSITION_PATTERN), None, None, "7412-93"));
    checked_text!(Cursor as "Cursor" => ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("A page's `next_cursor`, passed back unchanged: opaque, and valid only as this server returned it."))
        .format(Some(SchemaFormat::Custom("cursor".to_owned())))
        .pattern(Some(CURSOR_PATTERN))
        .into());

    /// What `routes::preconditions::listed_tags` accepts, in RFC 9110's grammar (`*`, or
    /// entity tags separated by commas). A tag's characters exclude `,`: the list is split
    /// on commas.
    pub const ENTITY_TAGS_PATTERN: &str =
        r#"^(\*|(W/)?"[!#-+\--~]*"([ \t]*,[ \t]*(W/)?"[!#-+\--~]*")*)$"#;
    /// `<xid>-<id>`, both `i64`: 18 digits always fit, and are more than the server will
    /// reach (`crate::event::Position`'s `FromStr`).
    pub const STREAM_POSITION_PATTERN: &str = "^[0-9]{1,18}-[0-9]{1,18}$";
    /// Unpadded base64url (`routes::pagination`).
    pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]*$";
}

pub use checked::{
    CURSOR_PATTERN, Cursor, ENTITY_TAGS_PATTERN, EntityTags, MessageTextText, NamespaceText,
    NoteBodyText, NoteKeyText, NoteTitleText, PasswordText, RoomText, STREAM_POSITION_PATTERN,
    StreamPosition, UsernameText,
};
