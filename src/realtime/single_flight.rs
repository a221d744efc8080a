//! Reads that callers asking for the same thing at the same time share. Used where the
//! answer for a key never changes once it can be asked (the log between two positions,
//! a room's membership at a position) and where many streams ask at once: a page of tabs
//! opening, or thousands of clients resuming after a restart.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

/// Reads in flight, by key. A caller that asks while a read of its key runs waits for that
/// read and gets a clone of its result; once it is done, the next caller reads afresh, so
/// nothing is kept beyond the read itself. If the caller running the read goes away (its
/// client closed the stream), one of those waiting runs it instead; if it fails, each
/// waiter tries on its own.
pub struct SingleFlight<K, V> {
    running: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            running: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    /// `read`'s result for `key`, or that of a read of `key` already running.
    pub async fn run<E, F, Fut>(&self, key: K, read: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = Arc::clone(self.running().entry(key.clone()).or_default());
        let result = cell.get_or_try_init(read).await.cloned();
        let mut running = self.running();
        if running
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            running.remove(&key);
        }
        result
    }

    /// Reads in flight now.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.running().len()
    }

    fn running(&self) -> MutexGuard<'_, HashMap<K, Arc<OnceCell<V>>>> {
        // Nothing panics while holding it; the map stays usable.
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn callers_asking_while_a_read_runs_share_it_and_later_ones_read_again() {
        let flights = Arc::new(SingleFlight::<&str, usize>::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (began, has_begun) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let (flights, reads) = (Arc::clone(&flights), Arc::clone(&reads));
            async move {
                flights
                    .run("room", || async move {
                        let _ = began.send(());
                        let _ = released.await;
                        Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst) + 1)
                    })
                    .await
            }
        });
        has_begun.await.expect("the first read began");
        let mut second = Box::pin(flights.run("room", || async {
            Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst) + 100)
        }));
        assert!(futures_util::poll!(&mut second).is_pending());
        // Another key does not wait for it.
        let other = flights.run("other room", || async { Ok::<_, ()>(7) }).await;
        assert_eq!(other, Ok(7));
        let _ = release.send(());
        assert_eq!(first.await.expect("first"), Ok(1));
        assert_eq!(second.await, Ok(1));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(flights.in_flight(), 0);
        let later = flights.run("room", || async { Ok::<_, ()>(2) }).await;
        assert_eq!(later, Ok(2));
    }

    #[tokio::test]
    async fn a_waiter_runs_the_read_when_the_caller_running_it_goes_away() {
        let flights = SingleFlight::<&str, usize>::default();
        let mut gone = Box::pin(flights.run("room", std::future::pending::<Result<usize, ()>>));
        assert!(futures_util::poll!(&mut gone).is_pending());
        let mut waiting = Box::pin(flights.run("room", || async { Ok::<_, ()>(5) }));
        assert!(futures_util::poll!(&mut waiting).is_pending());
        drop(gone);
        assert_eq!(waiting.await, Ok(5));
    }

    #[tokio::test]
    async fn a_failed_read_is_not_shared_as_a_result() {
        let flights = SingleFlight::<&str, usize>::default();
        assert_eq!(
            flights.run("room", || async { Err("down") }).await,
            Err("down")
        );
        assert_eq!(
            flights.run("room", || async { Ok::<_, &str>(3) }).await,
            Ok(3)
        );
    }
}
