use actix_web::{HttpResponse, web};

use super::path::id_from_path;
use crate::api_types::DeletedMessage;
use crate::auth::SessionToken;
use crate::db::messages::{self, MessageRow};
use crate::db::outbox::Change;
use crate::error::{ApiError, Problem};
use crate::routes::preconditions::{Action, lock_for_change};
use crate::state::AppState;

/// Delete a message
///
/// Its author may, and so may the author of the note a comment is on.
#[utoipa::path(delete, path = "/api/messages/{id}", tag = "messages",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The message's id")),
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
            let (_, current) =
                lock_for_change::<MessageRow>(conn, &token, &id, Action::Delete, None)?;
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
