use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::db::Db;

use crate::error::ApiError;
use crate::metrics::METRICS;
use crate::models::Health;
use crate::startup::AppState;

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses(
    (status = 200, description = "The server is alive", body = Health),
))]
pub async fn read_health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Prometheus metrics
///
/// Requests by route and status with latencies, open event streams, events appended,
/// dispatched and delivered, catch-ups of slow subscribers, and database pool use.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses(
    (status = 200, description = "Metrics in the Prometheus text format", content_type = "text/plain; version=0.0.4", body = String),
))]
pub async fn read_metrics(state: web::Data<AppState>) -> HttpResponse {
    let (connections, idle) = state.db.pool_state();
    METRICS.pool_connections.set(i64::from(connections));
    METRICS.pool_idle_connections.set(i64::from(idle));
    METRICS.subscribers.set(state.hub.subscriber_count() as i64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(METRICS.render())
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "The server can serve requests", body = Health),
    (status = 503, description = "The database did not answer within a second; `Retry-After` says when to retry", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn read_readiness(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    state.readiness.check(&state.db).await?;
    Ok(web::Json(Health { status: "ok" }))
}

/// How long `/readyz` waits for the database: a probe wants a quick answer.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

type Ping = Shared<BoxFuture<'static, Result<(), String>>>;

/// At most one database ping at a time. A ping cannot be cancelled (diesel blocks a
/// thread, and a frozen database holds it), so probes that arrive while one is running
/// wait for its outcome instead of starting their own: a freeze costs one thread and one
/// connection however often the server is probed.
#[derive(Default)]
pub struct Readiness {
    ping: Mutex<Option<Ping>>,
}

impl Readiness {
    pub async fn check(&self, db: &Db) -> Result<(), ApiError> {
        let ping = self.ping_in_flight(db);
        match tokio::time::timeout(READINESS_TIMEOUT, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ApiError::Unavailable(anyhow::anyhow!(error))),
            Err(_) => Err(ApiError::Unavailable(anyhow::anyhow!(
                "the database did not answer within {READINESS_TIMEOUT:?}"
            ))),
        }
    }

    /// The ping still running, or a new one.
    fn ping_in_flight(&self, db: &Db) -> Ping {
        let mut slot = self.ping.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ping) = slot.as_ref().filter(|ping| ping.peek().is_none()) {
            return ping.clone();
        }
        let db = db.clone();
        let ping = async move {
            db.ping().await.map_err(|error| match error {
                ApiError::Unavailable(source) | ApiError::Internal(source) => format!("{source:#}"),
                other => other.to_string(),
            })
        }
        .boxed()
        .shared();
        // Driven to the end even if every probe stops waiting, so that the next probe
        // sees it finished (and starts afresh) rather than a stale outcome.
        tokio::spawn(ping.clone());
        *slot = Some(ping.clone());
        ping
    }
}
