//! Failed-login limits, per username and per client address, so passwords cannot be
//! guessed at speed. In memory and per process: several instances each keep their own
//! count (an attacker gets at most N times the budget across N instances).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts allowed per username within `WINDOW`.
pub const PER_USERNAME: u32 = 10;
/// Failed attempts allowed per client address within `WINDOW`.
pub const PER_ADDRESS: u32 = 50;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Above this many tracked keys, expired ones are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Username(String),
    Address(IpAddr),
}

struct Window {
    started: Instant,
    failures: u32,
}

#[derive(Default)]
pub struct LoginLimiter {
    windows: Mutex<HashMap<Key, Window>>,
}

impl LoginLimiter {
    fn keys(username: &str, address: Option<IpAddr>) -> Vec<(Key, u32)> {
        let mut keys = vec![(Key::Username(username.to_lowercase()), PER_USERNAME)];
        if let Some(address) = address {
            keys.push((Key::Address(address), PER_ADDRESS));
        }
        keys
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Err(wait)` while either the username or the address has used up its failures.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let windows = self.windows();
        let wait = Self::keys(username, address)
            .into_iter()
            .filter_map(|(key, limit)| {
                let window = windows.get(&key)?;
                let left = WINDOW.checked_sub(now.duration_since(window.started))?;
                (window.failures >= limit).then_some(left)
            })
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut windows = self.windows();
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, window| now.duration_since(window.started) < WINDOW);
        }
        for (key, _) in Self::keys(username, address) {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(window.started) >= WINDOW {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
        }
    }

    /// A successful login clears the username's failures (not the address's).
    pub fn record_success(&self, username: &str) {
        self.windows()
            .remove(&Key::Username(username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_locked_after_its_failures_and_others_are_not() {
        let limiter = LoginLimiter::default();
        let address = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..PER_USERNAME {
            assert!(limiter.check("alice", address).is_ok());
            limiter.record_failure("Alice", address);
        }
        let wait = limiter.check("alice", address).expect_err("locked");
        assert!(wait <= WINDOW && wait > Duration::ZERO);
        assert!(
            limiter.check("bob", address).is_ok(),
            "the address has budget left"
        );
        limiter.record_success("alice");
        assert!(limiter.check("alice", address).is_ok());
    }

    #[test]
    fn an_address_is_locked_after_its_failures_across_usernames() {
        let limiter = LoginLimiter::default();
        let address = Some(IpAddr::from([10, 0, 0, 7]));
        for n in 0..PER_ADDRESS {
            limiter.record_failure(&format!("user{n}"), address);
        }
        assert!(limiter.check("someone-new", address).is_err());
        assert!(
            limiter
                .check("someone-new", Some(IpAddr::from([10, 0, 0, 8])))
                .is_ok()
        );
    }
}
