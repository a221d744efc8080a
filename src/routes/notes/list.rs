use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api_types::NotePage;
use crate::db::{event_log, notes};
use crate::domain::Checker;
use crate::error::{ApiError, Problem};
use crate::event::position::STREAM_POSITION;
use crate::routes::pagination::{decode_cursor, encode_cursor, parse_limit};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListNotesQuery {
    /// How many notes to return: 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List notes
///
/// Notes in key order, a page at a time: pass the returned `next_cursor` as `cursor`.
#[utoipa::path(get, path = "/api/notes", tag = "notes", params(ListNotesQuery), responses(
    (status = 200, description = "A page of notes", body = NotePage,
        headers(("Stream-Position" = String, description = "The event log position this list reflects: subscribe with it as `Last-Event-ID` to miss no later change"))),
    (status = 400, description = "The query string is malformed", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "`limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
))]
pub async fn list_notes(
    state: web::Data<AppState>,
    query: web::Query<ListNotesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut checker = Checker::default();
    let limit = checker.check(parse_limit(query.limit.as_deref()));
    let after = checker.check(decode_cursor(query.cursor.as_deref()));
    let (limit, after) = checker.finish(limit.zip(after))?;
    // The position first: anything the list then shows is at or after it. One extra row
    // tells whether another page follows.
    let (position, mut items) = state
        .db
        .run(move |conn| {
            let position = event_log::head(conn)?;
            Ok((position, notes::list(conn, after.as_deref(), limit + 1)?))
        })
        .await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| encode_cursor(&last.key))
    } else {
        None
    };
    Ok(HttpResponse::Ok()
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(NotePage { items, next_cursor }))
}
