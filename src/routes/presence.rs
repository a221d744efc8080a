//! Who is in a room now, with the position the list is exact at.

use actix_web::{HttpResponse, web};

use crate::api_types::{NamespaceText, PresenceSnapshot, RoomText};
use crate::db::{event_log, presence};
use crate::error::{ApiError, Problem};
use crate::event::position::STREAM_POSITION;
use crate::routes::messages::path::room_from_path;
use crate::state::AppState;

/// Who is in a room
///
/// The room's members (signed-in users with a stream of it open, or closed less than
/// `--presence-grace` ago), each with their number of streams and when they joined, and
/// the number of anonymous streams. The member list is exact at `Stream-Position`: open
/// the room's stream with it as `Last-Event-ID`, and apply its `presence.joined` and
/// `presence.left`, to keep it exact with no gap.
#[utoipa::path(get, path = "/api/rooms/{namespace}/{room}/presence", tag = "presence",
    security(),
    params(
        ("namespace" = NamespaceText, Path, description = "The namespace, e.g. `notes` or `chat`"),
        ("room" = RoomText, Path, description = "The room; in `notes`, a note's key"),
    ),
    responses(
        (status = 200, description = "The room's presence", body = PresenceSnapshot,
            headers(("Stream-Position" = String, description = "The event log position the member list is exact at"))),
        (status = 422, description = "The namespace or room is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read_presence(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (namespace, room) = path.into_inner();
    let (namespace, room) = room_from_path(namespace, room)?;
    let large = state.presence.settings().large_room;
    let here = state.presence.here(namespace.as_str(), room.as_str());
    let (position, snapshot) = state
        .db
        .run(move |conn| {
            // A committed position: every event up to it, and the membership rows written
            // with them, are visible to the snapshot.
            let position = event_log::head(conn)?;
            let snapshot = presence::snapshot(
                conn,
                namespace.as_str(),
                room.as_str(),
                position,
                large,
                here,
            )?;
            Ok((position, snapshot))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((STREAM_POSITION, position.to_string()))
        .json(snapshot))
}
