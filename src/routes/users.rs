use actix_web::{HttpRequest, HttpResponse, web};

use crate::api_types::{Credentials, User};
use crate::auth::SessionToken;
use crate::db::users::{self, NewUser};
use crate::domain::{Checker, Password, Username};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;

/// Register a new user
///
/// Usernames are unique regardless of case. Registering does not sign in: create a session next.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = Credentials, security(), responses(
    (status = 201, description = "The user was registered", body = User),
    (status = 400, description = "The body is not valid JSON", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
    (status = 408, description = "The body did not arrive within `--body-timeout`", body = Problem, content_type = "application/problem+json"),
    (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
    (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "A field is invalid", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many registrations from this address (`--registrations-per-minute`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
        headers(("Retry-After" = String, description = "Seconds to wait"))),
    (status = 503, description = "Too many registrations are queued for password hashing (`--hash-queue`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
        headers(("Retry-After" = String, description = "Seconds to wait"))),
))]
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let mut checker = Checker::default();
    let username = checker.check(Username::parse("username", body.username));
    let password = checker.check(Password::parse("password", body.password));
    let (username, password) = checker.finish(username.zip(password))?;
    let address = crate::client_address::client_address(&req);
    state.registrations.admit(address).map_err(|wait| {
        let retry_after = wait.as_secs().max(1);
        ApiError::TooManyRequests {
            detail: format!(
                "too many registrations from this address; try again in {retry_after} seconds"
            ),
            retry_after,
        }
    })?;
    let password_hash = state.hashing.hash_password(password).await?;
    let user = state
        .db
        .run(move |conn| {
            Ok(users::insert(
                conn,
                &NewUser {
                    username: username.as_str(),
                    password_hash: &password_hash,
                },
            )?)
        })
        .await?;
    tracing::info!(username = ?user.username, "user registered");
    Ok(HttpResponse::Created().json(User {
        username: user.username,
        created_at: user.created_at,
    }))
}

/// Who am I
///
/// The user the request's session belongs to.
#[utoipa::path(get, path = "/api/users/me", tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = User),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn read_current_user(
    state: web::Data<AppState>,
    token: SessionToken,
) -> Result<web::Json<User>, ApiError> {
    let row = state
        .db
        .run(move |conn| {
            let user = token.user(conn)?;
            Ok(users::find(conn, user.id)?)
        })
        .await?;
    Ok(web::Json(User {
        username: row.username,
        created_at: row.created_at,
    }))
}
