//! What the paths of `/api/notes/{key}` name.

use crate::domain::NoteKey;
use crate::error::ApiError;

/// A key in a URL that could never name a note names no note.
pub fn key_from_path(key: String) -> Result<NoteKey, ApiError> {
    NoteKey::parse("key", key).map_err(|_| ApiError::NotFound("no note has that key".to_owned()))
}

pub fn location(key: &NoteKey) -> String {
    format!("/api/notes/{}", key.as_str())
}
