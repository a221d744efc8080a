use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::path::{location, room_from_path};
use crate::api_types::{Message, MessageBody, NamespaceText, RoomText};
use crate::auth::SessionToken;
use crate::db::messages::{Post, PostRefused};
use crate::domain::{Checker, MessageText};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;

/// Post a message
///
/// `from` is always the signed-in user. In namespace `notes` the room must be an existing
/// note's key: the message is a comment on it.
#[utoipa::path(post, path = "/api/rooms/{namespace}/{room}/messages", tag = "messages",
    request_body = MessageBody,
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("namespace" = NamespaceText, Path, description = "The namespace, e.g. `notes` or `chat`"),
        ("room" = RoomText, Path, description = "The room; in `notes`, a note's key"),
    ),
    responses(
        (status = 201, description = "The message was posted", body = Message,
            headers(("Location" = String, description = "The message's URL")), links(
            ("read_message" = (operation_id = "read_message", parameters(("id" = "$response.body#/id")))),
            ("update_message" = (operation_id = "update_message", parameters(("id" = "$response.body#/id")))),
            ("delete_message" = (operation_id = "delete_message", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "The body is not valid JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "In `notes`: no note has that key", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within `--body-timeout`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The namespace, room or message is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_message(
    state: web::Data<AppState>,
    token: SessionToken,
    path: web::Path<(String, String)>,
    Json(body): Json<MessageBody>,
) -> Result<HttpResponse, ApiError> {
    let (namespace, room) = path.into_inner();
    let (namespace, room) = room_from_path(namespace, room)?;
    let mut checker = Checker::default();
    let text = checker.check(MessageText::parse("message", body.message));
    let post = Post {
        token_hash: token.hash,
        namespace,
        room,
        message: checker.finish(text)?.into_string(),
    };
    let message = state
        .db
        .write_statement(post)
        .await?
        .map_err(|refused| match refused {
            PostRefused::NoSession => SessionToken::invalid(),
            PostRefused::NoNote => ApiError::not_found("the note"),
        })?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location(message.id)))
        .json(message))
}
