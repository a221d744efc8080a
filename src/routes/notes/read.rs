use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::path::key_from_path;
use crate::api_types::{EntityTags, Note, NoteKeyText};
use crate::db::notes;
use crate::error::{ApiError, Problem};
use crate::event::position::STREAM_POSITION;
use crate::routes::preconditions::{etag, is_not_modified, listed_tags};
use crate::state::AppState;

/// Read a note
///
/// With `If-None-Match` holding the current `ETag`, answers 304 with no body.
#[utoipa::path(get, path = "/api/notes/{key}", tag = "notes",
    security(),
    params(
        ("key" = NoteKeyText, Path, description = "The note's key"),
        ("If-None-Match" = Option<EntityTags>, Header, nullable = false, description = "An `ETag` you hold; 304 if it is still current"),
    ),
    responses(
        (status = 200, description = "The note", body = Note,
            headers(
                ("ETag" = String, description = "The note's version, for `If-Match`"),
                ("Stream-Position" = String, description = "The event log position this read reflects"),
            ), links(
                ("update_note" = (operation_id = "update_note", parameters(("key" = "$response.body#/key"), ("If-Match" = "$response.header.ETag")))),
                ("delete_note" = (operation_id = "delete_note", parameters(("key" = "$response.body#/key"), ("If-Match" = "$response.header.ETag")))),
            )),
        (status = 304, description = "The note has not changed since the `ETag` you sent"),
        (status = 400, description = "`If-None-Match` is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No note has that key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read_note(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = key_from_path(key.into_inner())?;
    let if_none_match = listed_tags(&req, header::IF_NONE_MATCH)?;
    // The position first, from the reader's head in memory, as lists take it.
    let position = state.recent.head();
    let note = state
        .db
        .run(move |conn| {
            notes::find(conn, key.as_str())?.ok_or_else(|| ApiError::not_found("the note"))
        })
        .await?;
    let tag = etag(note.version, note.created_at);
    if is_not_modified(if_none_match.as_deref(), &tag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .insert_header((STREAM_POSITION, position.to_string()))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(note))
}
