use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::path::key_from_path;
use crate::api_types::{EntityTags, Note, NoteKeyText, UpdateNote};
use crate::auth::SessionToken;
use crate::db::notes::{self, NoteRow};
use crate::db::outbox::Change;
use crate::domain::{Checker, NoteBody, NoteTitle};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::routes::preconditions::{Action, etag, listed_tags, lock_for_change};
use crate::state::AppState;

/// Update a note
///
/// Only its author may. Send `If-Match` with the `ETag` you read to be sure you do not
/// overwrite someone else's change: a stale one gets 412.
#[utoipa::path(put, path = "/api/notes/{key}", tag = "notes", request_body = UpdateNote,
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("key" = NoteKeyText, Path, description = "The note's key"),
        ("If-Match" = Option<EntityTags>, Header, nullable = false, description = "The `ETag` you last read; 412 if the note has changed since"),
    ),
    responses(
        (status = 200, description = "The updated note", body = Note,
            headers(("ETag" = String, description = "The note's new version")), links(
                ("read_note" = (operation_id = "read_note", parameters(("key" = "$response.body#/key")))),
                ("update_note" = (operation_id = "update_note", parameters(("key" = "$response.body#/key"), ("If-Match" = "$response.header.ETag")))),
                ("delete_note" = (operation_id = "delete_note", parameters(("key" = "$response.body#/key"), ("If-Match" = "$response.header.ETag")))),
            )),
        (status = 400, description = "The body is not valid JSON, or `If-Match` is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the note's author may update it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No note has that key", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The note has changed since the `ETag` in `If-Match`", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within `--body-timeout`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_note(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: SessionToken,
    key: web::Path<String>,
    Json(body): Json<UpdateNote>,
) -> Result<HttpResponse, ApiError> {
    let key = key_from_path(key.into_inner())?;
    let if_match = listed_tags(&req, header::IF_MATCH)?;
    let mut checker = Checker::default();
    let title = checker.check(NoteTitle::parse("title", body.title));
    let text = checker.check(NoteBody::parse("body", body.body));
    let (title, text) = checker.finish(title.zip(text))?;
    let note = state
        .db
        .write(move |conn, outbox| {
            let (user, _) = lock_for_change::<NoteRow>(
                conn,
                &token,
                key.as_str(),
                Action::Update,
                if_match.as_deref(),
            )?;
            let row = notes::update(
                conn,
                key.as_str(),
                &title.into_string(),
                &text.into_string(),
            )?;
            let note = row.into_note(user.username);
            outbox.record(Change::NoteUpdated(note.clone()));
            Ok(note)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(note.version, note.created_at)))
        .json(note))
}
