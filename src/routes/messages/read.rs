use actix_web::{HttpResponse, web};

use super::path::id_from_path;
use crate::api_types::Message;
use crate::db::messages;
use crate::error::{ApiError, Problem};
use crate::event::position::STREAM_POSITION;
use crate::state::AppState;

/// Read a message
///
/// A comment on a note, or a line in a chat room, by its id.
#[utoipa::path(get, path = "/api/messages/{id}", tag = "messages",
    security(),
    params(("id" = i64, Path, minimum = 1, description = "The message's id")),
    responses(
        (status = 200, description = "The message", body = Message,
            headers(("Stream-Position" = String, description = "The event log position this read reflects")),
            links(
                ("update_message" = (operation_id = "update_message", parameters(("id" = "$response.body#/id")))),
                ("delete_message" = (operation_id = "delete_message", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 404, description = "No message has that id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read_message(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id_from_path(&id)?;
    // The position first, from the reader's head in memory, as lists take it.
    let position = state.recent.head();
    let message = state
        .db
        .run(move |conn| {
            messages::find(conn, id)?.ok_or_else(|| ApiError::not_found("the message"))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(message))
}
