//! What the paths of `/api/rooms/{namespace}/{room}/messages` and `/api/messages/{id}` name.

use crate::domain::{Checker, Namespace, Room};
use crate::error::ApiError;
use crate::event::Target;

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
pub fn id_from_path(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found("the message"))
}

pub fn location(id: i64) -> String {
    format!("/api/messages/{id}")
}
