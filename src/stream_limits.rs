//! How many event streams may be open: in all (sized from the open-file limit, so that API
//! requests, health checks and the database always have descriptors left) and per client
//! address (so that one client cannot take every stream).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Descriptors kept for everything that is not a client connection: standard streams and
/// log files, the listening socket, the runtimes' epoll and wake-up descriptors, the private
/// PostgreSQL cluster's pipes, name resolution.
const RESERVED_FDS: usize = 64;
/// The same, for each HTTP worker (its runtime's epoll and wake-up descriptors, with room).
const RESERVED_FDS_PER_WORKER: usize = 4;
/// Database connections beyond the pool: the `LISTEN` connection and one being replaced.
const EXTRA_DATABASE_FDS: usize = 2;
/// Connections always left for requests other than streams (API calls, `/healthz`,
/// `/readyz`, `/metrics`) once streams hold all they may ...
const MIN_OTHER_CONNECTIONS: usize = 64;
/// ... or this fraction of all connections, when larger.
const OTHER_CONNECTIONS_DIVISOR: usize = 10;

/// What the open-file limit leaves for client connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// Client connections of every kind the server may hold at once.
    pub connections: usize,
    /// Of those, how many may be event streams: the rest is never taken by streams.
    pub streams: usize,
}

/// Splits `fd_limit` (the process's open-file limit) between what the server needs for
/// itself, client connections, and, among those, event streams. Zero streams means the
/// limit is too low to serve any without risking the health checks.
pub fn fd_budget(fd_limit: u64, db_pool_size: u32, workers: usize) -> FdBudget {
    let fd_limit = usize::try_from(fd_limit).unwrap_or(usize::MAX);
    let reserved = RESERVED_FDS
        + RESERVED_FDS_PER_WORKER * workers
        + db_pool_size as usize
        + EXTRA_DATABASE_FDS;
    let connections = fd_limit.saturating_sub(reserved);
    let others = MIN_OTHER_CONNECTIONS.max(connections / OTHER_CONNECTIONS_DIVISOR);
    FdBudget {
        connections,
        streams: connections.saturating_sub(others),
    }
}

/// The process's soft open-file limit (main raises it to the hard limit first).
pub fn open_file_limit() -> std::io::Result<u64> {
    let (soft, _hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)?;
    Ok(soft)
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The server holds all the streams it may: every client is refused.
    Full { max: usize },
    /// This client address holds all the streams one address may.
    AddressFull { max: usize },
}

type PerAddress = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// Counts open streams against both caps.
pub struct StreamLimits {
    max: usize,
    max_per_address: usize,
    open: Arc<AtomicUsize>,
    per_address: PerAddress,
}

/// One open stream's place in both counts; given back on drop.
pub struct StreamSlot {
    _address: Option<AddressPlace>,
    _global: GlobalPlace,
}

struct GlobalPlace(Arc<AtomicUsize>);

struct AddressPlace {
    per_address: PerAddress,
    address: IpAddr,
}

impl StreamLimits {
    /// At most `max` streams in all, and `max_per_address` per client address (0: no
    /// per-address limit).
    pub fn new(max: usize, max_per_address: usize) -> Self {
        Self {
            max,
            max_per_address,
            open: Arc::default(),
            per_address: Arc::default(),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    pub fn max_per_address(&self) -> usize {
        self.max_per_address
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// A slot for one more stream from `address`. The address's own cap is checked first:
    /// a client over its share learns that, whether or not the server is full.
    pub fn acquire(&self, address: Option<IpAddr>) -> Result<StreamSlot, Refused> {
        let address = match address.filter(|_| self.max_per_address > 0) {
            Some(address) => Some(self.address_place(address)?),
            None => None,
        };
        // On refusal here, the address's place is given back as `address` drops.
        let global = self.global_place()?;
        Ok(StreamSlot {
            _address: address,
            _global: global,
        })
    }

    fn global_place(&self) -> Result<GlobalPlace, Refused> {
        self.open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                (open < self.max).then_some(open + 1)
            })
            .map_err(|_| Refused::Full { max: self.max })?;
        Ok(GlobalPlace(Arc::clone(&self.open)))
    }

    fn address_place(&self, address: IpAddr) -> Result<AddressPlace, Refused> {
        let mut open = lock(&self.per_address);
        let count = open.entry(address).or_insert(0);
        if *count >= self.max_per_address {
            return Err(Refused::AddressFull {
                max: self.max_per_address,
            });
        }
        *count += 1;
        Ok(AddressPlace {
            per_address: Arc::clone(&self.per_address),
            address,
        })
    }
}

fn lock(per_address: &Mutex<HashMap<IpAddr, usize>>) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
    // Counts only ever change by one under the lock: a panic elsewhere cannot leave them
    // half-changed.
    per_address
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for GlobalPlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut open = lock(&self.per_address);
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_room_for_the_server_and_other_requests() {
        // The common soft default, 2 workers, the default pool.
        let common = fd_budget(1024, 16, 2);
        assert_eq!(common.connections, 1024 - 64 - 2 * 4 - 16 - 2);
        assert_eq!(common.streams, common.connections - common.connections / 10);
        // A small limit: never fewer than 64 connections free of streams.
        let small = fd_budget(512, 16, 2);
        assert_eq!(small.streams, small.connections - 64);
        // A raised limit: a tenth of the connections stays free of streams.
        let large = fd_budget(1_048_576, 16, 8);
        assert_eq!(large.streams, large.connections - large.connections / 10);
        // Too few descriptors to serve streams safely: none, rather than an underflow.
        assert_eq!(fd_budget(100, 16, 2).streams, 0);
        assert_eq!(fd_budget(10, 16, 2).connections, 0);
        // An unlimited soft limit does not overflow.
        assert!(fd_budget(u64::MAX, 16, 2).streams > 0);
    }

    #[test]
    fn slots_are_counted_in_all_and_per_address_and_given_back() {
        let limits = StreamLimits::new(3, 2);
        let one = Some(IpAddr::from([127, 0, 0, 1]));
        let two = Some(IpAddr::from([127, 0, 0, 2]));
        let first = limits.acquire(one).expect("room");
        let _second = limits.acquire(one).expect("room");
        assert_eq!(
            limits.acquire(one).err(),
            Some(Refused::AddressFull { max: 2 })
        );
        let _third = limits.acquire(two).expect("room");
        assert_eq!(limits.acquire(two).err(), Some(Refused::Full { max: 3 }));
        assert_eq!(limits.open(), 3);
        drop(first);
        assert_eq!(limits.open(), 2);
        // The refusal of `two` above gave its address place back.
        let _fourth = limits.acquire(two).expect("room");
        assert_eq!(limits.acquire(None).err(), Some(Refused::Full { max: 3 }));
    }

    #[test]
    fn zero_per_address_means_no_per_address_limit() {
        let limits = StreamLimits::new(10, 0);
        let one = Some(IpAddr::from([127, 0, 0, 1]));
        let slots: Vec<_> = (0..10)
            .map(|_| limits.acquire(one).expect("room"))
            .collect();
        assert_eq!(limits.open(), slots.len());
        assert!(limits.per_address.lock().expect("lock").is_empty());
    }
}
