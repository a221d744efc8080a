//! Waiting for something the server must do soon, without sleeping for a guessed time.

use std::time::Duration;

/// A bound on waiting for something the server must do soon; never reached when it does.
pub const DEADLINE: Duration = Duration::from_secs(8);

/// Polls `condition` until it holds, failing the test after `DEADLINE`.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {DEADLINE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
