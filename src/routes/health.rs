use actix_web::web;

use crate::error::ApiError;
use crate::models::Health;
use crate::startup::AppState;

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses(
    (status = 200, description = "The server is alive", body = Health),
))]
pub async fn read_health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "The server can serve requests", body = Health),
    (status = 503, description = "The database is unreachable; `Retry-After` says when to retry", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn read_readiness(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    state.db.ping().await.map_err(|error| match error {
        ApiError::Internal(source) => ApiError::Unavailable(source),
        other => other,
    })?;
    Ok(web::Json(Health { status: "ok" }))
}
