use actix_web::{HttpResponse, web};

use super::path::id_from_path;
use crate::api_types::Message;
use crate::db::{event_log, messages};
use crate::error::{ApiError, Problem};
use crate::event::position::STREAM_POSITION;
use crate::state::AppState;

/// Read a message
#[utoipa::path(get, path = "/api/messages/{id}", tag = "messages",
    params(("id" = i64, Path, description = "The message's id")),
    responses(
        (status = 200, description = "The message", body = Message,
            headers(("Stream-Position" = String, description = "The event log position this read reflects"))),
        (status = 404, description = "No message has that id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read_message(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id_from_path(&id)?;
    let (position, message) = state
        .db
        .run(move |conn| {
            let position = event_log::head(conn)?;
            let message =
                messages::find(conn, id)?.ok_or_else(|| ApiError::not_found("the message"))?;
            Ok((position, message))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(message))
}
