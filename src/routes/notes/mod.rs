//! `/api/notes`: create, read, list, update and delete notes.

mod create;
mod delete;
mod list;
mod preconditions;
mod read;
mod update;

pub use create::{__path_create_note, create_note};
pub use delete::{__path_delete_note, delete_note};
pub use list::{__path_list_notes, list_notes};
pub use read::{__path_read_note, read_note};
pub use update::{__path_update_note, update_note};

use crate::domain::NoteKey;
use crate::error::ApiError;

/// A key in a URL that could never name a note names no note.
fn key_from_path(key: String) -> Result<NoteKey, ApiError> {
    NoteKey::parse("key", key).map_err(|_| ApiError::NotFound("no note has that key".to_owned()))
}

fn location(key: &NoteKey) -> String {
    format!("/api/notes/{}", key.as_str())
}
