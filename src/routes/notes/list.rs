use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api_types::{Cursor, NotePage};
use crate::db::notes;
use crate::error::{ApiError, Problem};
use crate::event::position::STREAM_POSITION;
use crate::routes::pagination::Page;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListNotesQuery {
    /// How many notes to return: 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    cursor: Option<String>,
}

/// List notes
///
/// Notes in key order, a page at a time: pass the returned `next_cursor` as `cursor`.
#[utoipa::path(get, path = "/api/notes", tag = "notes", params(ListNotesQuery), security(), responses(
    (status = 200, description = "A page of notes", body = NotePage,
        headers(("Stream-Position" = String, description = "The event log position this list reflects: subscribe with it as `Last-Event-ID` to miss no later change")),
        links(("next_page" = (operation_id = "list_notes", parameters(("cursor" = "$response.body#/next_cursor")))))),
    (status = 400, description = "The query string is malformed", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_notes(
    state: web::Data<AppState>,
    query: web::Query<ListNotesQuery>,
) -> Result<HttpResponse, ApiError> {
    let (page, after) = Page::parse::<String>(query.limit.as_deref(), query.cursor.as_deref())?;
    // The position first, and from memory: everything up to the reader's head is
    // committed, so the list read next reflects at least all of it (one statement, not
    // three: docs/performance.md, "Reading: recent messages from memory").
    let position = state.recent.head();
    let rows = state
        .db
        .run(move |conn| Ok(notes::list(conn, after.as_deref(), page.fetch())?))
        .await?;
    let (items, next_cursor) = page.finish(rows, |note| note.key.clone());
    Ok(HttpResponse::Ok()
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(NotePage { items, next_cursor }))
}
