use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::path::location;
use crate::api_types::{CreateNote, Note};
use crate::auth::SessionToken;
use crate::db::notes::{Create, NoSession};
use crate::domain::{Checker, NoteBody, NoteKey, NoteTitle};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::routes::preconditions::etag;
use crate::state::AppState;

/// Create a note
///
/// The signed-in user becomes its author. Its key is chosen here and never changes; the
/// `ETag` in the response is ready for a first `If-Match`.
#[utoipa::path(post, path = "/api/notes", tag = "notes", request_body = CreateNote,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "The note was created", body = Note, headers(
            ("Location" = String, description = "The note's URL"),
            ("ETag" = String, description = "The note's version, for `If-Match`"),
        ), links(
            ("read_note" = (operation_id = "read_note", parameters(("key" = "$response.body#/key")))),
            ("update_note" = (operation_id = "update_note", parameters(("key" = "$response.body#/key"), ("If-Match" = "$response.header.ETag")))),
            ("delete_note" = (operation_id = "delete_note", parameters(("key" = "$response.body#/key"), ("If-Match" = "$response.header.ETag")))),
            ("list_comments" = (operation_id = "list_messages", parameters(("namespace" = "notes"), ("room" = "$response.body#/key")))),
            ("create_comment" = (operation_id = "create_message", parameters(("namespace" = "notes"), ("room" = "$response.body#/key")))),
        )),
        (status = 400, description = "The body is not valid JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A note with that key exists", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within `--body-timeout`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_note(
    state: web::Data<AppState>,
    token: SessionToken,
    Json(body): Json<CreateNote>,
) -> Result<HttpResponse, ApiError> {
    let mut checker = Checker::default();
    let key = checker.check(NoteKey::parse("key", body.key));
    let title = checker.check(NoteTitle::parse("title", body.title));
    let text = checker.check(NoteBody::parse("body", body.body));
    let ((key, title), text) = checker.finish(key.zip(title).zip(text))?;
    let url = location(&key);
    let create = Create {
        token_hash: token.hash,
        key,
        title: title.into_string(),
        body: text.into_string(),
    };
    let note = state
        .db
        .write_statement(create)
        .await?
        .map_err(|NoSession| SessionToken::invalid())?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, url))
        .insert_header((header::ETAG, etag(note.version, note.created_at)))
        .json(note))
}
