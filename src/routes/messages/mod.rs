//! Messages: comments on notes (namespace `notes`, room = the note's key) and chat lines
//! in any other namespace and room.

mod create;
mod delete;
mod list;
mod read;
mod update;

pub use create::{__path_create_message, create_message};
pub use delete::{__path_delete_message, delete_message};
pub use list::{__path_list_messages, list_messages};
pub use read::{__path_read_message, read_message};
pub use update::{__path_update_message, update_message};

use crate::domain::{Checker, Namespace, Room};
use crate::error::ApiError;
use crate::events::Target;

/// The room named by `/api/rooms/{namespace}/{room}/…`.
pub fn room_from_path(namespace: String, room: String) -> Result<(Namespace, Room), ApiError> {
    let mut checker = Checker::default();
    let namespace = checker.check(Namespace::parse("namespace", namespace));
    let room = checker.check(Room::parse("room", room));
    checker.finish(namespace.zip(room))
}

pub fn target_from_path(namespace: String, room: String) -> Result<Target, ApiError> {
    room_from_path(namespace, room).map(|(namespace, room)| Target::Room(namespace, room))
}

/// Message ids in URLs: anything that is not one names no message.
fn id_from_path(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found("the message"))
}

fn location(id: i64) -> String {
    format!("/api/messages/{id}")
}
