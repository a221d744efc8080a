//! Passwords (argon2id), session tokens (random, stored only as SHA-256 hashes), and the
//! extractor that turns a bearer token or the session cookie into the current user.

use std::num::NonZeroUsize;
use std::sync::LazyLock;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::PgConnection;
use futures_util::future::{Ready, ready};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::db::sessions;
use crate::domain::Password;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "parley_session";

/// argon2id is deliberately slow (tens of milliseconds of CPU) and holds 19 MiB while it
/// runs. More hashes at once than there are cores finish no sooner, but each holds its
/// memory: a burst of logins would otherwise take 19 MiB per request in flight.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
});

/// Runs `work` on the blocking pool, at most one per core at a time.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = HASHING
        .acquire()
        .await
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("hashing: {error}")))?;
    // The permit goes with the work, so a client that gives up does not free its place
    // while its hash still runs.
    web::block(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(ApiError::from)
}

pub async fn hash_password(password: Password) -> Result<String, ApiError> {
    hashing(move || hash(password.expose().as_bytes()))
        .await?
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("could not hash a password: {error}")))
}

fn hash(password: &[u8]) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| anyhow::anyhow!("{error}"))?;
    let hash = Argon2::default()
        .hash_password(password, &salt)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(hash.to_string())
}

/// Checks `password` against `stored`, or against a dummy hash when the user does not
/// exist, so that response times do not reveal which usernames are registered.
pub async fn verify_password(password: Password, stored: Option<String>) -> Result<bool, ApiError> {
    hashing(move || {
        let stored = stored.as_deref().unwrap_or(&DUMMY_HASH);
        let matches = PasswordHash::new(stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        matches && stored != DUMMY_HASH.as_str()
    })
    .await
}

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash(b"not a real password").unwrap_or_default());

/// A new session token and the hash the database keeps of it.
pub fn new_token() -> Result<(String, Vec<u8>), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("no randomness: {error}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The session cookie: HttpOnly so scripts cannot read it, SameSite=Lax so other sites
/// cannot send writes with it.
pub fn session_cookie(token: &str, max_age: std::time::Duration, secure: bool) -> Cookie<'static> {
    let max_age = CookieDuration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
    Cookie::build(SESSION_COOKIE, token.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .finish()
}

pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie("", std::time::Duration::ZERO, secure);
    cookie.make_removal();
    cookie
}

/// The token a request carries: `Authorization: Bearer` first, then the cookie.
fn presented_token(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        return Ok(Some(token.to_owned()));
    }
    Ok(req
        .cookie(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|token| !token.is_empty()))
}

/// The session token a request presents. Extracting it answers 401 when there is none;
/// whether it is valid is checked by [`SessionToken::user`] on the connection that then
/// does the request's work, so that authenticating costs no extra trip to the database
/// pool. (A request with an invalid token and an invalid body therefore gets the 422.)
#[derive(Debug, Clone)]
pub struct SessionToken {
    /// The token's hash: what the database keeps, and what logging out deletes.
    pub hash: Vec<u8>,
}

/// The signed-in user.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
}

impl SessionToken {
    /// The user of this session, or 401 if the session does not exist or has expired.
    pub fn user(&self, conn: &mut PgConnection) -> Result<CurrentUser, ApiError> {
        let (id, username) = sessions::find_user(conn, &self.hash)?.ok_or_else(Self::invalid)?;
        Ok(CurrentUser { id, username })
    }

    /// The 401 for a token that names no live session.
    pub fn invalid() -> ApiError {
        ApiError::Unauthorized("the session is invalid or has expired")
    }
}

impl FromRequest for SessionToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(presented_token(req).and_then(|token| {
            let token = token.ok_or(ApiError::Unauthorized(
                "sign in first: send `Authorization: Bearer <token>` or the session cookie",
            ))?;
            Ok(SessionToken {
                hash: token_hash(&token),
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_stored_only_hashed() {
        let (a, hash_a) = new_token().expect("token");
        let (b, _) = new_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(hash_a, token_hash(&a));
        assert!(!hash_a.windows(a.len()).any(|w| w == a.as_bytes()));
    }

    #[actix_web::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let parse = |p: &str| Password::parse("password", p.to_owned()).expect("valid");
        let stored = hash_password(parse("correct horse")).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify_password(parse("correct horse"), Some(stored.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify_password(parse("wrong horse!"), Some(stored))
                .await
                .expect("verify")
        );
        assert!(
            !verify_password(parse("not a real password"), None)
                .await
                .expect("verify")
        );
    }
}
