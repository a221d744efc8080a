//! The readiness check (`/readyz`): one database ping at a time, answered within a second.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::Db;
use crate::error::ApiError;

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
