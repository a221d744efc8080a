//! `/api/notes`: create, read, list, update and delete notes.

mod create;
mod delete;
mod list;
pub mod path;
mod read;
mod update;

pub use create::{__path_create_note, create_note};
pub use delete::{__path_delete_note, delete_note};
pub use list::{__path_list_notes, list_notes};
pub use read::{__path_read_note, read_note};
pub use update::{__path_update_note, update_note};
