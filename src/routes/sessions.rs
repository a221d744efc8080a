use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use crate::api_types::{Credentials, Session};
use crate::auth::{self, SessionToken};
use crate::db::sessions::{self, NewSession};
use crate::db::users;
use crate::domain::{Password, Username};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::rate_limit::Attempt;
use crate::state::AppState;

const WRONG_CREDENTIALS: &str = "the username or password is wrong";

/// Log in
///
/// Returns a bearer token and also sets it as the HttpOnly `parley_session` cookie, so
/// both API clients and web pages are signed in. It also sets the `parley_device` cookie:
/// a client that sends it back may keep logging in to this account while the account is
/// refusing clients it does not know (after many failed logins from many addresses).
#[utoipa::path(post, path = "/api/sessions", tag = "sessions", request_body = Credentials, security(), responses(
    (status = 201, description = "Signed in", body = Session,
        headers(("Set-Cookie" = String, description = "The `parley_session` cookie (HttpOnly, SameSite=Lax) and the `parley_device` known-device cookie (HttpOnly, SameSite=Strict, path /api/sessions)"))),
    (status = 400, description = "The body is not valid JSON", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "The username or password is wrong", body = Problem, content_type = "application/problem+json"),
    (status = 408, description = "The body did not arrive within `--body-timeout`", body = Problem, content_type = "application/problem+json"),
    (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
    (status = 415, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "A field has the wrong type", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many failed logins for this account from this address, from this address in all, or for this account from clients it does not know (see `parley_device`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
        headers(("Retry-After" = String, description = "Seconds to wait"))),
    (status = 503, description = "Too many password checks are queued (`--hash-queue`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
        headers(("Retry-After" = String, description = "Seconds to wait"))),
))]
pub async fn create_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let address = crate::client_address::client_address(&req);
    // Keys are bounded in size whatever the client sends.
    let attempted: String = body.username.chars().take(Username::MAX).collect();
    let known_device = state.known_devices.knows(&req, &attempted);
    // The attempt is counted now, before the slow hash, so concurrent guesses cannot all
    // pass the check before the first of them is counted.
    let attempt = state
        .login_limiter
        .attempt(&attempted, address, known_device)
        .map_err(|wait| {
            let retry_after = wait.as_secs().max(1);
            ApiError::TooManyRequests {
                detail: format!("too many failed logins; try again in {retry_after} seconds"),
                retry_after,
            }
        })?;
    let failed = |attempt: Attempt<'_>| {
        attempt.failed();
        // Debug formatting escapes control characters, so a username cannot forge lines.
        tracing::info!(username = ?attempted, ?address, "failed login");
        ApiError::Unauthorized(WRONG_CREDENTIALS)
    };
    // A malformed username or password cannot belong to anyone: answer as for a wrong one.
    let Some((username, password)) = Username::parse("username", body.username)
        .ok()
        .zip(Password::parse("password", body.password).ok())
    else {
        return Err(failed(attempt));
    };

    let lookup = username.as_str().to_owned();
    let user = state
        .db
        .run(move |conn| Ok(users::find_by_username(conn, &lookup)?))
        .await?;
    let stored = user.as_ref().map(|user| user.password_hash.clone());
    let user = match (state.hashing.verify_password(password, stored).await?, user) {
        (true, Some(user)) => user,
        _ => return Err(failed(attempt)),
    };
    attempt.succeeded();

    let (token, token_hash) = auth::new_token()?;
    let ttl = state.session_ttl;
    let expires_at = Utc::now()
        + chrono::Duration::from_std(ttl).map_err(|error| {
            ApiError::Internal(anyhow::anyhow!("session TTL out of range: {error}"))
        })?;
    let user_id = user.id;
    state
        .db
        .run(move |conn| {
            sessions::delete_expired(conn)?;
            sessions::insert(
                conn,
                &NewSession {
                    token_hash: &token_hash,
                    user_id,
                    expires_at,
                },
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(username = ?user.username, "signed in");
    Ok(HttpResponse::Created()
        .cookie(auth::session_cookie(&token, ttl, state.secure_cookies))
        .cookie(state.known_devices.cookie(&user.username))
        .json(Session {
            token,
            expires_at,
            username: user.username,
        }))
}

/// Log out
///
/// Ends the session this request was made with and clears the cookie.
#[utoipa::path(delete, path = "/api/sessions/current", tag = "sessions",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_current_session(
    state: web::Data<AppState>,
    token: SessionToken,
) -> Result<HttpResponse, ApiError> {
    state
        .db
        .run(move |conn| {
            token.user(conn)?;
            Ok(sessions::delete(conn, &token.hash)?)
        })
        .await?;
    Ok(HttpResponse::NoContent()
        .cookie(auth::expired_session_cookie(state.secure_cookies))
        .finish())
}

/// Log out everywhere
///
/// Ends every session of the signed-in user, on every device (for a lost device or a
/// leaked token), and clears this client's cookie.
#[utoipa::path(delete, path = "/api/sessions", tag = "sessions",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Every session of this user has ended"),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_all_sessions(
    state: web::Data<AppState>,
    token: SessionToken,
) -> Result<HttpResponse, ApiError> {
    let ended = state
        .db
        .run(move |conn| {
            let user = token.user(conn)?;
            Ok(sessions::delete_for_user(conn, user.id)?)
        })
        .await?;
    tracing::info!(sessions = ended, "signed out everywhere");
    Ok(HttpResponse::NoContent()
        .cookie(auth::expired_session_cookie(state.secure_cookies))
        .finish())
}
