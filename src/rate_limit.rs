//! Failed-login, registration and typing limits, so passwords cannot be guessed at speed,
//! one address cannot register accounts (each an argon2 hash) at will, and one user cannot
//! flood a room with typing signals. In memory and per
//! process: several instances each keep their own count (an attacker gets at most N
//! times the budget across N instances).
//!
//! A login attempt takes its place in every count it belongs to before its password is
//! hashed, so concurrent guesses cannot all slip in before the first one is counted.
//! Guesses are counted three ways, each within `WINDOW`:
//! - per account and address: one attacker host gets `PER_ACCOUNT_AND_ADDRESS` guesses
//!   at an account, and its refusals lock nobody else out;
//! - per address, across accounts: one host gets `PER_ADDRESS` guesses in all;
//! - per account, across addresses: many hosts together get `PER_ACCOUNT` guesses. Past
//!   that the account refuses clients it does not know, but a browser or client that has
//!   signed in to the account before (it shows a known-device cookie) may still try, so an
//!   attacker cannot lock the owner out.
//!
//! IPv6 addresses count by their /64, the block one host usually has to itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Failed attempts allowed per account from one client address within `WINDOW`.
pub const PER_ACCOUNT_AND_ADDRESS: u32 = 10;
/// Failed attempts allowed per client address, across accounts, within `WINDOW`.
pub const PER_ADDRESS: u32 = 50;
/// Failed attempts allowed per account, across addresses, from clients that show no
/// known-device cookie for it, within `WINDOW`.
pub const PER_ACCOUNT: u32 = 100;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most counts tracked at once (each about 100 bytes). When full, only known devices may
/// try to log in; see [`LoginLimiter::attempt`].
pub const MAX_TRACKED: usize = 100_000;
/// How long a client is asked to wait when the table is full.
const FULL_RETRY: Duration = Duration::from_secs(60);
/// Expired entries are swept at most this often, so a full table costs one scan a second.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The address a limit counts: IPv4 as is, IPv6 by its /64.
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    AccountAndAddress(String, Option<IpAddr>),
    Address(IpAddr),
    Account(String),
}

struct Window {
    started: Instant,
    failures: u32,
}

impl Window {
    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.started) < WINDOW
    }

    fn left(&self, now: Instant) -> Duration {
        WINDOW.saturating_sub(now.duration_since(self.started))
    }
}

struct Windows {
    map: HashMap<Key, Window>,
    swept: Instant,
}

pub struct LoginLimiter {
    windows: Mutex<Windows>,
    capacity: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::with_capacity(MAX_TRACKED)
    }
}

/// One login attempt's place in its counts. Dropped unsettled (the request failed for
/// another reason, or its client went away) it gives its place back; [`Attempt::failed`]
/// keeps it; [`Attempt::succeeded`] clears this client's failures at the account.
#[must_use]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    reserved: Vec<Key>,
    at: Instant,
    settled: bool,
}

impl LoginLimiter {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            windows: Mutex::new(Windows {
                map: HashMap::new(),
                swept: Instant::now(),
            }),
            capacity,
        }
    }

    fn windows(&self) -> MutexGuard<'_, Windows> {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reserves one failure in every count this attempt belongs to, or `Err(wait)` when
    /// one of them is used up. `username` is truncated to a bounded key by the caller.
    /// `known_device`: the client showed a valid known-device cookie for this account, so
    /// the account's own count does not stop it (the per-address counts still do).
    pub fn attempt(
        &self,
        username: &str,
        address: Option<IpAddr>,
        known_device: bool,
    ) -> Result<Attempt<'_>, Duration> {
        let account = username.to_lowercase();
        let address = address.map(address_key);
        let mut counted = vec![(
            Key::AccountAndAddress(account.clone(), address),
            PER_ACCOUNT_AND_ADDRESS,
        )];
        if let Some(address) = address {
            counted.push((Key::Address(address), PER_ADDRESS));
        }
        // Known devices still add to the account's count, but are not stopped by it.
        let account_limit = if known_device { u32::MAX } else { PER_ACCOUNT };
        counted.push((Key::Account(account), account_limit));

        let now = Instant::now();
        let mut windows = self.windows();
        windows.sweep(now);
        let wait = counted
            .iter()
            .filter_map(|(key, limit)| {
                let window = windows.map.get(key).filter(|w| w.live(now))?;
                (window.failures >= *limit).then(|| window.left(now))
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        let new = counted
            .iter()
            .filter(|(key, _)| !windows.map.contains_key(key))
            .count();
        // Built only once it will be returned: dropping it takes the lock held here.
        let attempt = |reserved| Attempt {
            limiter: self,
            reserved,
            at: now,
            settled: false,
        };
        if windows.map.len() + new > self.capacity {
            // Failing closed must not lock the owner out: a known device may still try,
            // uncounted; everyone else waits for entries to expire.
            return if known_device {
                Ok(attempt(Vec::new()))
            } else {
                Err(FULL_RETRY)
            };
        }
        let mut reserved = Vec::with_capacity(counted.len());
        for (key, _) in counted {
            let window = windows.map.entry(key.clone()).or_insert(Window {
                started: now,
                failures: 0,
            });
            if !window.live(now) {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures = window.failures.saturating_add(1);
            reserved.push(key);
        }
        Ok(attempt(reserved))
    }

    /// How many counts are tracked (for tests).
    pub fn tracked(&self) -> usize {
        self.windows().map.len()
    }
}

impl Windows {
    fn sweep(&mut self, now: Instant) {
        if now.duration_since(self.swept) < SWEEP_EVERY {
            return;
        }
        self.swept = now;
        self.map.retain(|_, window| window.live(now));
    }
}

impl Attempt<'_> {
    /// The password was wrong: the attempt stays counted.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// The password was right: this client's failures at the account are forgotten and
    /// this attempt is not counted anywhere. Failures from other addresses stay counted,
    /// so the owner signing in does not hand an attacker a fresh budget.
    pub fn succeeded(mut self) {
        self.give_back();
        let mut windows = self.limiter.windows();
        for key in &self.reserved {
            if matches!(key, Key::AccountAndAddress(..)) {
                windows.map.remove(key);
            }
        }
        self.settled = true;
    }

    fn give_back(&mut self) {
        let mut windows = self.limiter.windows();
        for key in &self.reserved {
            if let Some(window) = windows.map.get_mut(key)
                && window.started <= self.at
            {
                window.failures = window.failures.saturating_sub(1);
            }
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.give_back();
        }
    }
}

/// A burst of `burst` events, then one every `interval` (a generic cell-rate algorithm:
/// each key keeps only the time its budget is next full), for at most [`MAX_TRACKED`]
/// keys at once.
struct CellRate<K> {
    interval: Duration,
    burst: u32,
    next: Mutex<HashMap<K, Instant>>,
}

impl<K: std::hash::Hash + Eq> CellRate<K> {
    fn new(interval: Duration, burst: u32) -> Self {
        Self {
            interval,
            burst,
            next: Mutex::default(),
        }
    }

    /// Takes one event from `key`'s budget, or `Err(wait)` when it has none.
    fn admit(&self, key: K) -> Result<(), Duration> {
        let burst = self.interval * self.burst;
        let now = Instant::now();
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if next.len() >= MAX_TRACKED && !next.contains_key(&key) {
            // Budgets that are full again need no entry.
            next.retain(|_, full_at| *full_at > now);
            if next.len() >= MAX_TRACKED {
                return Err(self.interval);
            }
        }
        let full_at = next.get(&key).copied().unwrap_or(now).max(now);
        let used = full_at + self.interval - now;
        if used > burst {
            return Err(used - burst);
        }
        next.insert(key, full_at + self.interval);
        Ok(())
    }
}

/// Registrations per client address: a burst of `per_minute`, then one every
/// `60 s / per_minute`.
pub struct RegistrationLimiter {
    rate: Option<CellRate<IpAddr>>,
}

impl RegistrationLimiter {
    /// `per_minute` 0 means no limit.
    pub fn new(per_minute: u32) -> Self {
        Self {
            rate: (per_minute > 0)
                .then(|| CellRate::new(Duration::from_secs(60) / per_minute, per_minute)),
        }
    }

    /// Takes one registration from `address`'s budget, or `Err(wait)` when it has none.
    pub fn admit(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        match (&self.rate, address) {
            (Some(rate), Some(address)) => rate.admit(address_key(address)),
            _ => Ok(()),
        }
    }
}

/// `typing` signals per user (across rooms): a burst of [`TYPING_BURST`], then one every
/// [`TYPING_INTERVAL`]. A client sends one every couple of seconds while its user types;
/// this keeps one user from flooding every subscriber of a room.
pub struct TypingLimiter {
    rate: CellRate<String>,
}

pub const TYPING_INTERVAL: Duration = Duration::from_secs(1);
pub const TYPING_BURST: u32 = 5;

impl Default for TypingLimiter {
    fn default() -> Self {
        Self {
            rate: CellRate::new(TYPING_INTERVAL, TYPING_BURST),
        }
    }
}

impl TypingLimiter {
    /// Takes one signal from `username`'s budget, or `Err(wait)` when it has none.
    pub fn admit(&self, username: &str) -> Result<(), Duration> {
        self.rate.admit(username.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)));

    fn fail(limiter: &LoginLimiter, username: &str, address: Option<IpAddr>) {
        limiter
            .attempt(username, address, false)
            .expect("room")
            .failed();
    }

    #[test]
    fn an_account_is_locked_for_one_address_and_not_for_others() {
        let limiter = LoginLimiter::default();
        for _ in 0..PER_ACCOUNT_AND_ADDRESS {
            fail(&limiter, "Alice", HERE);
        }
        let wait = limiter.attempt("alice", HERE, false).err().expect("locked");
        assert!(wait <= WINDOW && wait > Duration::ZERO);
        assert!(
            limiter.attempt("bob", HERE, false).is_ok(),
            "the address has budget left"
        );
        let elsewhere = Some(IpAddr::from([127, 0, 0, 2]));
        limiter
            .attempt("alice", elsewhere, false)
            .expect("the owner elsewhere may try")
            .succeeded();
        assert!(limiter.attempt("alice", HERE, false).is_err());
    }

    #[test]
    fn places_are_taken_before_the_outcome_and_given_back_unless_failed() {
        let limiter = LoginLimiter::default();
        let pending: Vec<_> = (0..PER_ACCOUNT_AND_ADDRESS)
            .map(|_| limiter.attempt("alice", HERE, false).expect("room"))
            .collect();
        assert!(limiter.attempt("alice", HERE, false).is_err());
        drop(pending);
        let attempt = limiter.attempt("alice", HERE, false).expect("given back");
        attempt.succeeded();
        assert_eq!(limiter.tracked(), 2, "the address and the account");
    }

    #[test]
    fn an_address_is_locked_after_its_failures_across_usernames() {
        let limiter = LoginLimiter::default();
        let address = Some(IpAddr::from([10, 0, 0, 7]));
        for n in 0..PER_ADDRESS {
            fail(&limiter, &format!("user{n}"), address);
        }
        assert!(limiter.attempt("someone-new", address, false).is_err());
        assert!(
            limiter
                .attempt("someone-new", Some(IpAddr::from([10, 0, 0, 8])), false)
                .is_ok()
        );
    }

    #[test]
    fn past_the_account_budget_only_known_devices_may_try() {
        let limiter = LoginLimiter::default();
        for n in 0..PER_ACCOUNT {
            let host = u8::try_from(n % 250).expect("small");
            fail(&limiter, "alice", Some(IpAddr::from([10, 1, 0, host])));
        }
        let fresh = Some(IpAddr::from([10, 2, 0, 1]));
        assert!(limiter.attempt("alice", fresh, false).is_err());
        assert!(limiter.attempt("alice", fresh, true).is_ok());
    }

    #[test]
    fn a_full_table_refuses_strangers_but_not_known_devices() {
        let limiter = LoginLimiter::with_capacity(3);
        fail(&limiter, "alice", HERE);
        let stranger = Some(IpAddr::from([127, 0, 0, 2]));
        assert_eq!(
            limiter.attempt("alice", stranger, false).err(),
            Some(FULL_RETRY)
        );
        limiter
            .attempt("alice", stranger, true)
            .expect("a known device may try")
            .succeeded();
        assert!(
            limiter.attempt("alice", HERE, false).is_ok(),
            "counts already tracked go on"
        );
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        let one: IpAddr = "2001:db8::1".parse().expect("address");
        let two: IpAddr = "2001:db8::ffff:2".parse().expect("address");
        let other: IpAddr = "2001:db8:0:1::1".parse().expect("address");
        assert_eq!(address_key(one), address_key(two));
        assert_ne!(address_key(one), address_key(other));
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().expect("address");
        assert_eq!(address_key(mapped), IpAddr::from([10, 0, 0, 7]));
    }

    #[test]
    fn registrations_come_in_a_burst_then_at_the_rate() {
        let limiter = RegistrationLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.admit(HERE).is_ok());
        }
        let wait = limiter.admit(HERE).expect_err("burst used");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert!(limiter.admit(Some(IpAddr::from([127, 0, 0, 2]))).is_ok());
        assert!(RegistrationLimiter::new(0).admit(HERE).is_ok());
    }

    #[test]
    fn typing_comes_in_a_burst_then_one_a_second_per_user() {
        let limiter = TypingLimiter::default();
        for _ in 0..TYPING_BURST {
            assert!(limiter.admit("Alice").is_ok());
        }
        let wait = limiter.admit("alice").expect_err("burst used");
        assert!(wait > Duration::ZERO && wait <= TYPING_INTERVAL);
        assert!(limiter.admit("bob").is_ok());
    }
}
