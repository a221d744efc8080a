//! The rooms of a namespace that have messages or members.

use actix_web::{HttpResponse, web};
use chrono::DateTime;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api_types::{Cursor, NamespaceText, RoomPage};
use crate::db::rooms::{self, After};
use crate::domain::{Checker, Namespace};
use crate::error::{ApiError, Problem};
use crate::routes::pagination::{Page, Position};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRoomsQuery {
    /// How many rooms to return: 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<Cursor>)]
    cursor: Option<String>,
}

/// A page of rooms ends after a room's activity time (in microseconds, as stored) and name.
impl Position for After {
    fn from_text(text: String) -> Option<Self> {
        let (micros, room) = text.split_once(':')?;
        let last_activity = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        Some(After {
            last_activity,
            room: room.to_owned(),
        })
    }

    fn to_text(&self) -> String {
        format!("{}:{}", self.last_activity.timestamp_micros(), self.room)
    }
}

/// List a namespace's rooms
///
/// The rooms with messages or members, most recently active first (a message, a join or
/// a leave), with how many members each has now. A room's new messages show in its
/// `last_activity` within a `--presence-heartbeat` (2 s); joins and leaves at once.
#[utoipa::path(get, path = "/api/rooms/{namespace}", tag = "presence",
    security(),
    params(
        ("namespace" = NamespaceText, Path, description = "The namespace, e.g. `chat`"),
        ListRoomsQuery,
    ),
    responses(
        (status = 200, description = "A page of rooms", body = RoomPage,
            links(("next_page" = (operation_id = "list_rooms", parameters(("namespace" = "$request.path.namespace"), ("cursor" = "$response.body#/next_cursor")))))),
        (status = 400, description = "The query string is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The namespace, `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_rooms(
    state: web::Data<AppState>,
    namespace: web::Path<String>,
    query: web::Query<ListRoomsQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut checker = Checker::default();
    let namespace = checker.check(Namespace::parse("namespace", namespace.into_inner()));
    let namespace = checker.finish(namespace)?;
    let (page, after) = Page::parse::<After>(query.limit.as_deref(), query.cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| {
            Ok(rooms::list(
                conn,
                namespace.as_str(),
                after.as_ref(),
                page.fetch(),
            )?)
        })
        .await?;
    let (items, next_cursor) = page.finish(rows, |room| After {
        last_activity: room.last_activity,
        room: room.room.clone(),
    });
    Ok(HttpResponse::Ok().json(RoomPage { items, next_cursor }))
}
