use actix_web::{HttpResponse, web};

use super::path::id_from_path;
use crate::api_types::DeletedMessage;
use crate::auth::SessionToken;
use crate::db::outbox::Change;
use crate::db::{messages, notes};
use crate::domain::Namespace;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// Delete a message
///
/// Its author may, and so may the author of the note a comment is on.
#[utoipa::path(delete, path = "/api/messages/{id}", tag = "messages",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, description = "The message's id")),
    responses(
        (status = 204, description = "The message was deleted"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the message's author, or the note's author, may delete it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No message has that id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_message(
    state: web::Data<AppState>,
    token: SessionToken,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id_from_path(&id)?;
    state
        .db
        .write(move |conn, outbox| {
            let user = token.user(conn)?;
            let current =
                messages::lock(conn, id)?.ok_or_else(|| ApiError::not_found("the message"))?;
            let allowed = current.author_id == user.id
                || (current.namespace == Namespace::NOTES
                    && notes::find_author(conn, &current.room)? == Some(user.id));
            if !allowed {
                return Err(ApiError::Forbidden(
                    "only the message's author, or the author of the note it is on, may delete it",
                ));
            }
            messages::delete(conn, id)?;
            outbox.record(Change::MessageDeleted(DeletedMessage {
                id,
                namespace: current.namespace,
                room: current.room,
            }));
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
