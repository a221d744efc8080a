use actix_web::web;

use super::path::id_from_path;
use crate::api_types::{Message, MessageBody};
use crate::auth::SessionToken;
use crate::db::messages::{self, MessageRow};
use crate::db::outbox::Change;
use crate::domain::{Checker, MessageText};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::routes::preconditions::{Action, lock_for_change};
use crate::state::AppState;

/// Edit a message
///
/// Only its author may.
#[utoipa::path(patch, path = "/api/messages/{id}", tag = "messages", request_body = MessageBody,
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The message's id")),
    responses(
        (status = 200, description = "The edited message", body = Message, links(
            ("read_message" = (operation_id = "read_message", parameters(("id" = "$response.body#/id")))),
            ("delete_message" = (operation_id = "delete_message", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "The body is not valid JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the message's author may edit it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No message has that id", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The body did not arrive within `--body-timeout`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The message is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_message(
    state: web::Data<AppState>,
    token: SessionToken,
    id: web::Path<String>,
    Json(body): Json<MessageBody>,
) -> Result<web::Json<Message>, ApiError> {
    let id = id_from_path(&id)?;
    let mut checker = Checker::default();
    let text = checker.check(MessageText::parse("message", body.message));
    let text = checker.finish(text)?;
    let message = state
        .db
        .write(move |conn, outbox| {
            let (user, _) = lock_for_change::<MessageRow>(conn, &token, &id, Action::Update, None)?;
            let message =
                messages::update(conn, id, &text.into_string())?.into_message(user.username);
            outbox.record(Change::MessageUpdated(message.clone()));
            Ok(message)
        })
        .await?;
    Ok(web::Json(message))
}
