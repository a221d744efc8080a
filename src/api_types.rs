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
    /// 1–100 characters from `A–Z a–z 0–9 _ . - ~`.
    #[schema(
        example = "shopping",
        min_length = 1,
        max_length = 100,
        pattern = "^[A-Za-z0-9_.~-]{1,100}$"
    )]
    pub key: String,
    /// 1–200 characters, not only white space.
    #[schema(example = "Shopping list", min_length = 1, max_length = 200)]
    pub title: String,
    /// Up to 50,000 characters.
    #[serde(default)]
    #[schema(example = "milk, eggs", max_length = 50000)]
    pub body: String,
}

/// The new content of a note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNote {
    /// 1–200 characters, not only white space.
    #[schema(example = "Shopping list", min_length = 1, max_length = 200)]
    pub title: String,
    /// Up to 50,000 characters.
    #[schema(example = "milk, eggs, bread", max_length = 50000)]
    pub body: String,
}

/// A username and password, to register or to log in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3–32 characters from `A–Z a–z 0–9 _ . -`; unique regardless of case.
    #[schema(
        example = "alice",
        min_length = 3,
        max_length = 32,
        pattern = "^[A-Za-z0-9_.-]{3,32}$"
    )]
    pub username: String,
    /// 8–256 characters.
    #[schema(
        example = "correct horse battery staple",
        min_length = 8,
        max_length = 256
    )]
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
    /// 1–1024 characters, not only white space.
    #[schema(example = "milk?", min_length = 1, max_length = 1024)]
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
}
