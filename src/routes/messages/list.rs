use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use bytestring::ByteString;
use serde::Deserialize;
use utoipa::IntoParams;

use super::path::room_from_path;
use crate::api_types::{Cursor, MessagePage, NamespaceText, RoomText};
use crate::db::room_snapshot::room_snapshot;
use crate::db::{messages, notes};
use crate::domain::{Namespace, Room};
use crate::error::{ApiError, Problem};
use crate::event::Position;
use crate::event::position::STREAM_POSITION;
use crate::realtime::recent::{Lookup, MAX_AHEAD};
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
    if before.is_none()
        && let Some(response) = first_page_from_memory(&state, &namespace, &room, page).await?
    {
        return Ok(response);
    }
    // The position first, and from memory: everything up to the reader's head is
    // committed, so the list read next reflects at least all of it (one query, not three:
    // docs/performance.md, "Reading: recent messages from memory").
    let position = state.recent.head();
    let rows = state
        .db
        .run(move |conn| {
            if namespace.is_notes() && notes::find_author(conn, room.as_str())?.is_none() {
                return Err(ApiError::not_found("the note"));
            }
            Ok(messages::list(
                conn,
                namespace.as_str(),
                room.as_str(),
                before,
                page.fetch(),
            )?)
        })
        .await?;
    Ok(page_response(page, rows, position))
}

fn page_response(
    page: Page,
    rows: Vec<crate::api_types::Message>,
    position: Position,
) -> HttpResponse {
    let (items, next_cursor) = page.finish(rows, |message| message.id);
    HttpResponse::Ok()
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(MessagePage { items, next_cursor })
}

/// The first page from the recent messages kept in memory (`realtime::recent`), exact
/// at the position it reports, once every write this process acknowledged is in it.
/// `None`: read the database.
async fn first_page_from_memory(
    state: &AppState,
    namespace: &Namespace,
    room: &Room,
    page: Page,
) -> Result<Option<HttpResponse>, ApiError> {
    let recent = &state.recent;
    let fetch = page.fetch() as usize;
    let limits = recent.limits();
    if limits.rooms == 0 || fetch > limits.messages + 1 {
        return Ok(None);
    }
    if !recent.caught_up_with_own_writes().await {
        return Ok(None);
    }
    match recent.first_page(namespace.as_str(), room.as_str(), fetch) {
        Lookup::Rows { rows, position } => Ok(Some(
            HttpResponse::Ok()
                .insert_header((STREAM_POSITION, position.to_string()))
                .content_type(mime::APPLICATION_JSON)
                .body(page_json(page, rows)),
        )),
        Lookup::NoNote => Err(ApiError::not_found("the note")),
        Lookup::Miss(None) => Ok(None),
        Lookup::Miss(Some(ticket)) => {
            let keep = limits.messages as i64;
            let (namespace, room) = (namespace.clone(), room.as_str().to_owned());
            let snapshot = state
                .db
                .run(move |conn| Ok(room_snapshot(conn, &namespace, &room, keep, MAX_AHEAD)?))
                .await?;
            let Some(mut snapshot) = snapshot else {
                return Ok(None);
            };
            recent.install(ticket, &snapshot);
            if !snapshot.note {
                return Err(ApiError::not_found("the note"));
            }
            // This request is answered from the snapshot, like a database read: its
            // position first, everything in it at or after that.
            snapshot.messages.truncate(fetch);
            Ok(Some(page_response(
                page,
                snapshot.messages,
                snapshot.position,
            )))
        }
    }
}

/// The JSON of [`MessagePage`], from each message's JSON as the log holds it (equal to
/// what serde writes for it: the tests compare the two).
fn page_json(page: Page, rows: Vec<(i64, ByteString)>) -> Bytes {
    let (items, next_cursor) = page.finish(rows, |row| row.0);
    let size = items.iter().map(|(_, json)| json.len() + 1).sum::<usize>() + 64;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(b"{\"items\":[");
    for (i, (_, json)) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(json.as_bytes());
    }
    body.push(b']');
    if let Some(cursor) = next_cursor {
        body.extend_from_slice(b",\"next_cursor\":");
        // A cursor is base64url text: nothing in it needs escaping, but serde says so.
        if serde_json::to_writer(&mut body, &cursor).is_err() {
            body.extend_from_slice(b"null");
        }
    }
    body.push(b'}');
    Bytes::from(body)
}
