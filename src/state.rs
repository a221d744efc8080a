//! What every handler can reach: the shared state the application builds once. It sits
//! just below the routes and imports nothing of theirs, so handlers, extractors and the
//! builder all depend on it and it on none of them.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Hashing, KnownDevices};
use crate::cidr::Cidr;
use crate::db::Db;
use crate::db::readiness::Readiness;
use crate::rate_limit::{LoginLimiter, RegistrationLimiter, TypingLimiter};
use crate::realtime::ephemeral::Ephemeral;
use crate::realtime::hub::Hub;
use crate::realtime::presence::Presence;
use crate::realtime::recent::Recent;
use crate::realtime::replay::Replays;
use crate::stream_limits::StreamLimits;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub hub: Arc<Hub>,
    /// The newest messages of the rooms being read, exact at the reader's head.
    pub recent: Arc<Recent>,
    pub session_ttl: Duration,
    pub secure_cookies: bool,
    pub sse_keep_alive: Duration,
    pub body_timeout: Duration,
    pub streams: Arc<StreamLimits>,
    /// Peers whose `X-Forwarded-For` is believed (see `client_address`).
    pub trusted_proxies: Vec<Cidr>,
    /// The one `/readyz` database ping in flight, which concurrent probes share.
    pub readiness: Readiness,
    /// Login attempts counted before their hash runs; see `rate_limit`.
    pub login_limiter: LoginLimiter,
    pub known_devices: KnownDevices,
    pub hashing: Hashing,
    pub registrations: RegistrationLimiter,
    /// Catch-ups' reads of the log, shared and within one memory budget.
    pub replays: Arc<Replays>,
    /// Who is in which room (see `realtime::presence`).
    pub presence: Arc<Presence>,
    /// `typing` and other events that are never stored.
    pub ephemeral: Arc<Ephemeral>,
    pub typing: TypingLimiter,
}
