use actix_web::{HttpResponse, web};

use crate::api_types::Health;
use crate::error::ApiError;
use crate::metrics::METRICS;
use crate::state::AppState;

/// Liveness: the process is up and serving.
///
/// Answers without touching the database, so a load balancer restarts only a process that
/// has stopped serving.
#[utoipa::path(get, path = "/healthz", tag = "ops", security(), responses(
    (status = 200, description = "The server is alive", body = Health),
))]
pub async fn read_health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Prometheus metrics
///
/// Requests by route and status with latencies, open event streams, events appended,
/// dispatched and delivered, catch-ups of slow subscribers, database pool use, the
/// recent-messages memory, and presence.
#[utoipa::path(get, path = "/metrics", tag = "ops", security(), responses(
    (status = 200, description = "Metrics in the Prometheus text format", content_type = "text/plain; version=0.0.4", body = String),
))]
pub async fn read_metrics(state: web::Data<AppState>) -> HttpResponse {
    let (connections, idle) = state.db.pool_state();
    METRICS.pool_connections.set(i64::from(connections));
    METRICS.pool_idle_connections.set(i64::from(idle));
    METRICS.subscribers.set(state.hub.subscriber_count() as i64);
    let recent = state.recent.stats();
    METRICS.recent_rooms.set(recent.rooms as i64);
    METRICS.recent_bytes.set(recent.bytes as i64);
    let (rooms, members) = state.presence.local_counts();
    METRICS.presence_rooms.set(rooms as i64);
    METRICS.presence_members.set(members as i64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(METRICS.render())
}

/// Readiness: the database answers.
///
/// An orchestrator sends traffic only while this answers 200.
#[utoipa::path(get, path = "/readyz", tag = "ops", security(), responses(
    (status = 200, description = "The server can serve requests", body = Health),
    (status = 503, description = "The database did not answer within a second; `Retry-After` says when to retry", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn read_readiness(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    state.readiness.check(&state.db).await?;
    Ok(web::Json(Health { status: "ok" }))
}
