//! Server-Sent Events: a room's events, or a whole namespace's.

use std::collections::HashSet;

use actix_web::cookie::Cookie;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError, web};
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
) -> Result<impl Responder, StreamError> {
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
) -> Result<impl Responder, StreamError> {
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
) -> Result<impl Responder + use<>, StreamError> {
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
        Some(token) => match state.db.run(move |conn| token.user(conn)).await {
            Ok(user) => Some(user.username),
            Err(error) => return Err(refused_credentials(state, req, error)),
        },
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
    // A join just committed: let the reader hand it out before subscribing, so that the
    // stream starts after it and `ready`'s snapshot greets its user as present. Bounded;
    // while another transaction holds the log back the join follows `ready` instead.
    if presence
        .as_ref()
        .is_some_and(|presence| presence.you().is_some())
    {
        state.recent.caught_up_with_own_writes().await;
    }
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
        state.replays.clone(),
    )
    .await?;
    // nginx and similar proxies buffer responses unless told not to.
    Ok(events
        .customize()
        .insert_header(("X-Accel-Buffering", "no")))
}

/// A dead session cookie (logged out elsewhere, expired) is cleared with its 401: a page
/// cannot remove an HttpOnly cookie itself, and `EventSource` would otherwise retry with
/// it forever without learning why. Its next attempt is anonymous.
fn refused_credentials(state: &AppState, req: &HttpRequest, error: ApiError) -> StreamError {
    let from_cookie = req.headers().get(header::AUTHORIZATION).is_none();
    let clear_cookie = (from_cookie && matches!(error, ApiError::Unauthorized(_)))
        .then(|| crate::auth::expired_session_cookie(state.secure_cookies));
    StreamError {
        error,
        clear_cookie,
    }
}

/// An [`ApiError`], and for a refused session cookie the `Set-Cookie` that clears it.
#[derive(Debug)]
pub struct StreamError {
    error: ApiError,
    clear_cookie: Option<Cookie<'static>>,
}

impl From<ApiError> for StreamError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            clear_cookie: None,
        }
    }
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for StreamError {
    fn status_code(&self) -> StatusCode {
        self.error.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.error.error_response();
        if let Some(cookie) = &self.clear_cookie {
            // Only fails for a cookie that cannot be a header value; this one is empty.
            if let Err(error) = response.add_cookie(cookie) {
                tracing::warn!(%error, "could not clear the session cookie");
            }
        }
        response
    }
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
