use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::path::key_from_path;
use crate::api_types::{DeletedMessage, DeletedNote, EntityTags, NoteKeyText};
use crate::auth::SessionToken;
use crate::db::messages;
use crate::db::notes::{self, NoteRow};
use crate::db::outbox::Change;
use crate::domain::Namespace;
use crate::error::{ApiError, Problem};
use crate::routes::preconditions::{Action, listed_tags, lock_for_change};
use crate::state::AppState;

/// Delete a note
///
/// Only its author may. Its comments are deleted with it. `If-Match` works as for updates.
#[utoipa::path(delete, path = "/api/notes/{key}", tag = "notes",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("key" = NoteKeyText, Path, description = "The note's key"),
        ("If-Match" = Option<EntityTags>, Header, nullable = false, description = "The `ETag` you last read; 412 if the note has changed since"),
    ),
    responses(
        (status = 204, description = "The note was deleted"),
        (status = 400, description = "`If-Match` is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the note's author may delete it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No note has that key", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The note has changed since the `ETag` in `If-Match`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_note(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: SessionToken,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = key_from_path(key.into_inner())?;
    let if_match = listed_tags(&req, header::IF_MATCH)?;
    state
        .db
        .write(move |conn, outbox| {
            lock_for_change::<NoteRow>(
                conn,
                &token,
                key.as_str(),
                Action::Delete,
                if_match.as_deref(),
            )?;
            // Its comments go with it, each one an event of its own, before the note's.
            for id in messages::delete_room(conn, Namespace::NOTES, key.as_str())? {
                outbox.record(Change::MessageDeleted(DeletedMessage {
                    id,
                    namespace: Namespace::NOTES.to_owned(),
                    room: key.as_str().to_owned(),
                }));
            }
            notes::delete(conn, key.as_str())?;
            outbox.record(Change::NoteDeleted(DeletedNote {
                key: key.into_string(),
            }));
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
