//! Messages: comments on notes (namespace `notes`, room = the note's key) and chat lines
//! in any other namespace and room.

mod create;
mod delete;
mod list;
pub mod path;
mod read;
mod update;

pub use create::{__path_create_message, create_message};
pub use delete::{__path_delete_message, delete_message};
pub use list::{__path_list_messages, list_messages};
pub use read::{__path_read_message, read_message};
pub use update::{__path_update_message, update_message};
