//! `typing`: an ephemeral signal to a room's subscribers.

use actix_web::{HttpResponse, web};

use crate::api_types::{NamespaceText, RoomText, Typing};
use crate::auth::SessionToken;
use crate::error::{ApiError, Problem};
use crate::event::EventType;
use crate::routes::messages::path::room_from_path;
use crate::state::AppState;

/// How long a client shows "… is typing" after the last signal.
pub const TYPING_EXPIRES: std::time::Duration = std::time::Duration::from_secs(5);

/// Say you are typing
///
/// Sends `typing` (`{user, expires_in_ms}`) to every open stream of the room, on every
/// server: ephemeral, without `id:`, never stored or replayed. Send it again every couple
/// of seconds while typing; a client shows it until `expires_in_ms` after the last one.
/// No body. At most 5 at once per user, then one a second.
#[utoipa::path(post, path = "/api/rooms/{namespace}/{room}/typing", tag = "presence",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("namespace" = NamespaceText, Path, description = "The namespace, e.g. `notes` or `chat`"),
        ("room" = RoomText, Path, description = "The room; in `notes`, a note's key"),
    ),
    responses(
        (status = 202, description = "Sent to the room's streams"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The namespace or room is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "More typing signals than the per-user rate allows", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ))]
pub async fn create_typing(
    state: web::Data<AppState>,
    token: SessionToken,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (namespace, room) = path.into_inner();
    let (namespace, room) = room_from_path(namespace, room)?;
    let user = state.db.run(move |conn| token.user(conn)).await?;
    state
        .typing
        .admit(&user.username)
        .map_err(|wait| ApiError::TooManyRequests {
            detail: "typing signals come at most one a second; the last ones were sent".to_owned(),
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
        })?;
    let typing = Typing {
        user: user.username,
        expires_in_ms: TYPING_EXPIRES.as_millis() as u64,
    };
    let data = serde_json::to_string(&typing).map_err(|error| ApiError::Internal(error.into()))?;
    state
        .ephemeral
        .publish(namespace.as_str(), room.as_str(), EventType::Typing, data)
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
