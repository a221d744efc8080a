//! Passwords (argon2id), session tokens (random, stored only as SHA-256 hashes), and the
//! extractor that turns a bearer token or the session cookie into the current user.

use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock};

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

/// Which budget of the hashing queue a hash waits in: logins and registrations wait
/// separately, so a burst of registrations cannot fill the queue that logins need.
#[derive(Debug, Clone, Copy)]
pub enum HashFor {
    Login,
    Registration,
}

/// The password-hashing queue. argon2id is deliberately slow (tens of milliseconds of
/// CPU) and holds 19 MiB while it runs: more hashes at once than there are cores finish
/// no sooner, but each holds its memory. So at most one hash runs per core, and at most
/// `depth` requests of each kind may wait or run; the next one gets 503 at once instead
/// of waiting behind a queue that only grows.
pub struct Hashing {
    running: Arc<Semaphore>,
    logins: Semaphore,
    registrations: Semaphore,
}

/// Requests of each kind that may wait or run, per core, by default.
pub const HASH_QUEUE_PER_CORE: usize = 8;

impl Hashing {
    /// `depth`: requests of each kind that may wait or run at once (default
    /// [`HASH_QUEUE_PER_CORE`] per core).
    pub fn new(depth: Option<NonZeroUsize>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let depth = depth.map_or(cores * HASH_QUEUE_PER_CORE, NonZeroUsize::get);
        Self {
            running: Arc::new(Semaphore::new(cores)),
            logins: Semaphore::new(depth),
            registrations: Semaphore::new(depth),
        }
    }

    /// Runs `work` on the blocking pool, at most one per core at a time; 503 when this
    /// kind's queue is full.
    async fn run<T: Send + 'static>(
        &self,
        purpose: HashFor,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let queue = match purpose {
            HashFor::Login => &self.logins,
            HashFor::Registration => &self.registrations,
        };
        let _queued = queue.try_acquire().map_err(|_| ApiError::Overloaded {
            detail: "too many passwords are being checked; try again in a second".to_owned(),
            retry_after: 1,
        })?;
        let permit = Arc::clone(&self.running)
            .acquire_owned()
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

    pub async fn hash_password(&self, password: Password) -> Result<String, ApiError> {
        self.run(HashFor::Registration, move || {
            hash(password.expose().as_bytes())
        })
        .await?
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("could not hash a password: {error}")))
    }

    /// Checks `password` against `stored`, or against a dummy hash when the user does not
    /// exist, so that response times do not reveal which usernames are registered.
    pub async fn verify_password(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, ApiError> {
        self.run(HashFor::Login, move || {
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

pub const DEVICE_COOKIE: &str = "parley_device";
/// How long a known-device cookie vouches for its client.
const DEVICE_TTL: std::time::Duration = std::time::Duration::from_secs(90 * 24 * 60 * 60);

/// Known-device cookies: set on a successful login, they let a client that has signed in
/// to an account before keep trying to log in to it while strangers are refused (see
/// `rate_limit`). A cookie names the account (lowercased) and when it was issued, signed
/// with HMAC-SHA-256 under a key that lives only in this process: restarting the server
/// or reaching another instance makes it unknown again, which costs the owner nothing
/// unless the account is under attack at that moment.
pub struct KnownDevices {
    key: [u8; 32],
    secure: bool,
}

impl KnownDevices {
    pub fn new(secure: bool) -> anyhow::Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
        Ok(Self { key, secure })
    }

    fn signature(&self, account: &str, issued: u64) -> [u8; 32] {
        hmac_sha256(&self.key, format!("{account}\0{issued}").as_bytes())
    }

    /// The cookie that marks this client as one that has signed in to `username`.
    pub fn cookie(&self, username: &str) -> Cookie<'static> {
        let account = username.to_lowercase();
        let issued = unix_now();
        let value = format!(
            "{}.{issued}.{}",
            URL_SAFE_NO_PAD.encode(&account),
            URL_SAFE_NO_PAD.encode(self.signature(&account, issued))
        );
        let max_age = CookieDuration::seconds(i64::try_from(DEVICE_TTL.as_secs()).unwrap_or(0));
        Cookie::build(DEVICE_COOKIE, value)
            .path("/api/sessions")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .max_age(max_age)
            .finish()
    }

    /// Whether `req` shows a valid, unexpired known-device cookie for `username`.
    pub fn knows(&self, req: &HttpRequest, username: &str) -> bool {
        req.cookie(DEVICE_COOKIE)
            .is_some_and(|cookie| self.vouches(cookie.value(), &username.to_lowercase()))
    }

    fn vouches(&self, value: &str, account: &str) -> bool {
        let mut parts = value.splitn(3, '.');
        let (Some(named), Some(issued), Some(signature)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(issued) = issued.parse::<u64>() else {
            return false;
        };
        let fresh = unix_now().saturating_sub(issued) < DEVICE_TTL.as_secs();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
        fresh
            && URL_SAFE_NO_PAD.decode(named).ok().as_deref() == Some(account.as_bytes())
            && constant_time_eq(&signature, &self.signature(account, issued))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// HMAC (RFC 2104) over SHA-256, for a key of at most one block.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

    /// The token a request presents, if it presents one: for endpoints open to anonymous
    /// clients that treat signed-in ones differently (a room's stream). A token that is
    /// presented is still checked, so bad credentials get a 401, never anonymity.
    pub fn presented(req: &HttpRequest) -> Result<Option<Self>, ApiError> {
        Ok(presented_token(req)?.map(|token| SessionToken {
            hash: token_hash(&token),
        }))
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
        let hashing = Hashing::new(None);
        let parse = |p: &str| Password::parse("password", p.to_owned()).expect("valid");
        let stored = hashing
            .hash_password(parse("correct horse"))
            .await
            .expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            hashing
                .verify_password(parse("correct horse"), Some(stored.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !hashing
                .verify_password(parse("wrong horse!"), Some(stored))
                .await
                .expect("verify")
        );
        assert!(
            !hashing
                .verify_password(parse("not a real password"), None)
                .await
                .expect("verify")
        );
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231, its 4-byte key padded with zeros as HMAC itself pads it.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn known_device_cookies_vouch_only_for_their_account_and_key() {
        let devices = KnownDevices::new(false).expect("key");
        let cookie = devices.cookie("Alice");
        assert!(devices.vouches(cookie.value(), "alice"));
        assert!(!devices.vouches(cookie.value(), "bob"));
        let other = KnownDevices::new(false).expect("key");
        assert!(!other.vouches(cookie.value(), "alice"));
        assert!(!devices.vouches("YWxpY2U.0.AAAA", "alice"));
        assert!(!devices.vouches("garbage", "alice"));
    }
}
