//! Server-Sent Events: a room's events, or a whole namespace's.

use std::collections::HashSet;

use actix_web::{HttpRequest, Responder, web};
use utoipa::IntoParams;

use crate::api_types::{NamespaceText, RoomText, StreamPosition};
use crate::auth::SessionToken;
use crate::domain::{Checker, Namespace};
use crate::error::{ApiError, FieldError, Problem};
use crate::event::spec::{StreamEvent, stream_description};
use crate::event::{EventType, Position, Target};
use crate::realtime::stream::{self, StreamRequest};
use crate::routes::messages::path::target_from_path;
use crate::state::AppState;
use crate::stream_limits::Refused;

/// The query of both streams. Read from the raw pairs rather than derived, so that `types`
/// may come comma-separated (`types=a,b`, as documented), repeated (`types=a&types=b`, as
/// generated clients send arrays), or both.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Resume after this position, for clients that cannot send the `Last-Event-ID`
    /// header. The header wins when both are given.
    #[param(value_type = Option<StreamPosition>)]
    last_event_id: Option<String>,
    /// Only these event types, e.g. `types=note.updated,note.deleted`. `ready` and `reset`
    /// always come.
    #[param(value_type = Option<Vec<EventType>>, style = Form, explode = false)]
    types: Vec<String>,
}

impl StreamQuery {
    /// A position given twice is ambiguous, so it stays a `400`, as any other parameter
    /// given twice is.
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut query = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "last_event_id" if query.last_event_id.is_some() => {
                    return Err(ApiError::BadRequest(
                        "last_event_id is given more than once".to_owned(),
                    ));
                }
                "last_event_id" => query.last_event_id = Some(value),
                "types" => query.types.push(value),
                _ => {}
            }
        }
        Ok(query)
    }
}

const TOO_MANY_STREAMS: &str = "This client address already holds `--max-streams-per-address` event streams; nothing was started. Close one, or wait `Retry-After` seconds.";
const UNAVAILABLE: &str = "The server already holds `--max-streams` event streams (its share of open files), or is shutting down; nothing was started. Try again after `Retry-After` seconds, with `Last-Event-ID` to resume.";

/// Stream a room's events
///
/// Every change in one room: for namespace `notes` and room `k`, the note `k` itself and
/// its comments. The stream is presence: signed in (bearer token or session cookie), you
/// are a member of the room from before the response until your last stream of it has
/// been closed for `--presence-grace`; anonymous streams are counted, not named. `ready`
/// carries who is here; `presence.joined` and `presence.left` follow (or `presence.count`
/// in a large room), and `typing`.
#[utoipa::path(get, path = "/api/rooms/{namespace}/{room}/events", tag = "streams",
    security((), ("bearer" = []), ("cookie" = [])),
    params(
        ("namespace" = NamespaceText, Path, description = "The namespace, e.g. `notes` or `chat`"),
        ("room" = RoomText, Path, description = "The room; in `notes`, a note's key"),
        ("Last-Event-ID" = Option<StreamPosition>, Header, nullable = false, description = "Resume after this position (the `id` of the last event you received, or a `Stream-Position`)"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = stream_description(), content_type = "text/event-stream", body = StreamEvent),
        (status = 400, description = "`Last-Event-ID` is not a position this server hands out", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Credentials were sent but name no live session (send none to follow the room anonymously)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The namespace, room or `types` is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = TOO_MANY_STREAMS, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ))]
pub async fn stream_room_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<impl Responder, ApiError> {
    let query = StreamQuery::from_pairs(query.into_inner())?;
    let (namespace, room) = path.into_inner();
    let target = target_from_path(namespace, room)?;
    open(&state, &req, target, query).await
}

/// Stream a namespace's events
///
/// Every change in every room of a namespace: the notes home page follows `notes`.
#[utoipa::path(get, path = "/api/rooms/{namespace}/events", tag = "streams",
    security(),
    params(
        ("namespace" = NamespaceText, Path, description = "The namespace, e.g. `notes` or `chat`"),
        ("Last-Event-ID" = Option<StreamPosition>, Header, nullable = false, description = "Resume after this position (the `id` of the last event you received, or a `Stream-Position`)"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = stream_description(), content_type = "text/event-stream", body = StreamEvent),
        (status = 400, description = "`Last-Event-ID` is not a position this server hands out", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Credentials were sent but name no live session (send none to follow anonymously)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The namespace or `types` is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = TOO_MANY_STREAMS, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = UNAVAILABLE, body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ))]
pub async fn stream_namespace_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    namespace: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<impl Responder, ApiError> {
    let query = StreamQuery::from_pairs(query.into_inner())?;
    let mut checker = Checker::default();
    let namespace = checker.check(Namespace::parse("namespace", namespace.into_inner()));
    let namespace = checker.finish(namespace)?;
    open(&state, &req, Target::Namespace(namespace), query).await
}

async fn open(
    state: &AppState,
    req: &HttpRequest,
    target: Target,
    query: StreamQuery,
) -> Result<impl Responder + use<>, ApiError> {
    let header = req
        .headers()
        .get("last-event-id")
        .map(|value| value.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| {
            ApiError::BadRequest("Last-Event-ID is not a position this server hands out".to_owned())
        })?;
    let given = |text: &String| !text.trim().is_empty();
    let resume_from = header
        .filter(given)
        .or(query.last_event_id.filter(given))
        .map(|text| {
            text.parse::<Position>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "Last-Event-ID {text:?} is not a position this server hands out (they look like \"1234-56\")"
                ))
            })
        })
        .transpose()?;
    let mut checker = Checker::default();
    let types = checker.check(parse_types(&query.types));
    let types = checker.finish(types)?;
    // Anonymous, or a valid session: presented credentials that are bad get a 401.
    let user = match SessionToken::presented(req)? {
        Some(token) => Some(state.db.run(move |conn| token.user(conn)).await?.username),
        None => None,
    };
    let slot = state
        .streams
        .acquire(crate::client_address::client_address(req))
        .map_err(refusal)?;
    // A room's stream is presence: its user is a member from before the response.
    let presence = match &target {
        Target::Room(namespace, room) => Some(
            state
                .presence
                .enter(namespace.as_str(), room.as_str(), user)
                .await?,
        ),
        Target::Namespace(_) => None,
    };
    let request = StreamRequest {
        target,
        types,
        resume_from,
        slot,
        presence,
    };
    let events = stream::open(
        state.hub.clone(),
        state.db.clone(),
        request,
        state.sse_keep_alive,
        state.replay.clone(),
    )
    .await?;
    // nginx and similar proxies buffer responses unless told not to.
    Ok(events
        .customize()
        .insert_header(("X-Accel-Buffering", "no")))
}

/// Refused before the stream starts, so the client gets a status it can act on (a native
/// `EventSource` gives up on any non-200, and retries only after a network error).
fn refusal(refused: Refused) -> ApiError {
    match refused {
        Refused::AddressFull { max } => ApiError::TooManyRequests {
            detail: format!("this address already has {max} event streams open; close one first"),
            retry_after: 5,
        },
        Refused::Full { max } => ApiError::Overloaded {
            detail: format!(
                "the server has {max} event streams open, all it may; try again shortly"
            ),
            retry_after: 5,
        },
    }
}

/// `None` (every type) when absent or empty.
fn parse_types(types: &[String]) -> Result<Option<HashSet<EventType>>, FieldError> {
    if types.iter().all(|types| types.trim().is_empty()) {
        return Ok(None);
    }
    types
        .iter()
        .flat_map(|types| types.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            EventType::parse(name).ok_or_else(|| {
                let known: Vec<&str> = EventType::ALL.iter().map(|kind| kind.as_str()).collect();
                FieldError::new(
                    "types",
                    format!(
                        "{name:?} is not an event type; use any of {}",
                        known.join(", ")
                    ),
                )
            })
        })
        .collect::<Result<HashSet<_>, _>>()
        .map(Some)
}
