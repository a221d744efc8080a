use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::path::room_from_path;
use crate::api_types::{Cursor, MessagePage, NamespaceText, RoomText};
use crate::db::{event_log, messages, notes};
use crate::error::{ApiError, Problem};
use crate::event::position::STREAM_POSITION;
use crate::routes::pagination::Page;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMessagesQuery {
    /// How many messages to return: 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page, for older messages.
    #[param(value_type = Option<Cursor>)]
    cursor: Option<String>,
}

/// List a room's messages
///
/// Newest first. `Stream-Position` is the log position this list reflects: subscribe to
/// the room's events with it as `Last-Event-ID` to miss nothing that happens after.
#[utoipa::path(get, path = "/api/rooms/{namespace}/{room}/messages", tag = "messages",
    security(),
    params(
        ("namespace" = NamespaceText, Path, description = "The namespace, e.g. `notes` or `chat`"),
        ("room" = RoomText, Path, description = "The room; in `notes`, a note's key"),
        ListMessagesQuery,
    ),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage,
            headers(("Stream-Position" = String, description = "The event log position this list reflects")),
            links(("next_page" = (operation_id = "list_messages", parameters(("namespace" = "$request.path.namespace"), ("room" = "$request.path.room"), ("cursor" = "$response.body#/next_cursor")))))),
        (status = 400, description = "The query string is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "In `notes`: no note has that key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The namespace, room, `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_messages(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<ListMessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    let (namespace, room) = path.into_inner();
    let (namespace, room) = room_from_path(namespace, room)?;
    let (page, before) = Page::parse::<i64>(query.limit.as_deref(), query.cursor.as_deref())?;
    let (position, rows) = state
        .db
        .run(move |conn| {
            // The position first: anything the list then shows is at or after it.
            let position = event_log::head(conn)?;
            if namespace.is_notes() && notes::find(conn, room.as_str())?.is_none() {
                return Err(ApiError::not_found("the note"));
            }
            let rows = messages::list(
                conn,
                namespace.as_str(),
                room.as_str(),
                before,
                page.fetch(),
            )?;
            Ok((position, rows))
        })
        .await?;
    let (items, next_cursor) = page.finish(rows, |message| message.id);
    Ok(HttpResponse::Ok()
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(MessagePage { items, next_cursor }))
}
