//! Routes each event to the subscribers of its room and of its namespace, and nobody
//! else: dispatch cost grows with an event's own audience, not with the number of streams.
//!
//! Every subscriber has a bounded queue. One that is full when an event arrives is
//! dropped from the hub instead of being waited for; its stream notices its queue has
//! closed, catches up from the log, and subscribes again (see `stream`). Nobody blocks,
//! and memory stays bounded.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use actix_web::web::Bytes;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::watch;

use crate::event::{Event, Position, Target};

/// Events a subscriber may have queued before it is moved to catching up from the log.
pub const QUEUE_CAPACITY: usize = 256;

type Subscribers = HashMap<u64, mpsc::Sender<Arc<Dispatched>>>;

/// An event as the hub hands it to every subscriber it reaches: one copy, and the bytes
/// of its frame, written out by the first stream that sends it and shared by the rest
/// (10,000 subscribers of a room would otherwise format the same frame 10,000 times).
pub struct Dispatched {
    event: Event,
    frame: OnceLock<Bytes>,
}

impl Dispatched {
    fn new(event: Event) -> Self {
        Self {
            event,
            frame: OnceLock::new(),
        }
    }

    /// The event's frame: `encode`d by the first caller, the same bytes for every other.
    pub fn frame(&self, encode: impl FnOnce(&Event) -> Bytes) -> Bytes {
        self.frame.get_or_init(|| encode(&self.event)).clone()
    }
}

impl Deref for Dispatched {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

#[derive(Default)]
struct Routes {
    next_id: u64,
    /// The position of the newest event dispatched: everything up to it has been handed
    /// to the subscribers registered at the time.
    head: Position,
    rooms: HashMap<(String, String), Subscribers>,
    namespaces: HashMap<String, Subscribers>,
}

pub struct Hub {
    routes: Mutex<Routes>,
    closed: AtomicBool,
    head_reads: Mutex<HeadReads>,
}

/// Reads of the log's committed head that streams opening together share (see
/// [`Hub::committed_head`]).
#[derive(Default)]
struct HeadReads {
    /// Reads started so far: read `n` is the `n`-th.
    started: u64,
    /// The newest read, and where its result appears once it has one.
    newest: Option<(u64, watch::Receiver<Option<Position>>)>,
}

/// A stream's claim on a committed-head read that starts after its registration.
#[derive(Debug, Clone, Copy)]
pub struct HeadTicket(u64);

/// A registration with the hub. Events after `start` arrive on `events`; those up to
/// `start` are in the log. Dropping it unregisters.
pub struct Subscription {
    hub: Arc<Hub>,
    id: u64,
    target: Target,
    pub start: Position,
    pub events: mpsc::Receiver<Arc<Dispatched>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut routes = self.hub.routes();
        match &self.target {
            Target::Room(namespace, room) => {
                let key = (namespace.as_str().to_owned(), room.as_str().to_owned());
                remove(&mut routes.rooms, &key, self.id);
            }
            Target::Namespace(namespace) => {
                remove(&mut routes.namespaces, namespace.as_str(), self.id);
            }
        }
    }
}

fn remove<K, Q>(map: &mut HashMap<K, Subscribers>, key: &Q, id: u64)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(subscribers) = map.get_mut(key) {
        subscribers.remove(&id);
        if subscribers.is_empty() {
            map.remove(key);
        }
    }
}

impl Hub {
    pub fn new(head: Position) -> Arc<Self> {
        Arc::new(Self {
            routes: Mutex::new(Routes {
                head,
                ..Routes::default()
            }),
            closed: AtomicBool::new(false),
            head_reads: Mutex::default(),
        })
    }

    fn head_reads(&self) -> MutexGuard<'_, HeadReads> {
        self.head_reads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Taken right after registering: any head read started from now on began after the
    /// registration.
    pub fn head_ticket(&self) -> HeadTicket {
        HeadTicket(self.head_reads().started)
    }

    /// The log's committed head, read after the registration `ticket` was taken at: by a
    /// read that began after that moment, whichever stream started it (it is as good as
    /// one of our own). At most one read runs at a time: a stream registered while one
    /// runs waits for it to end, and the streams that waited share the next one. When
    /// thousands of streams open or resume at once, that is one database round trip per
    /// read's duration, not one per stream, and no stream waits for more than two reads.
    /// If the stream running a read goes away, or the read fails, the next waiter starts
    /// another.
    pub async fn committed_head<E, F, Fut>(
        &self,
        ticket: HeadTicket,
        read: F,
    ) -> Result<Position, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Position, E>>,
    {
        enum Step {
            Share(watch::Receiver<Option<Position>>),
            WaitFor(watch::Receiver<Option<Position>>),
            Run(watch::Sender<Option<Position>>),
        }
        loop {
            let step = {
                let mut reads = self.head_reads();
                // Done, or still running: no result yet, and the stream running it is
                // still there.
                let usable = |result: &watch::Receiver<Option<Position>>| {
                    result.borrow().is_some() || result.has_changed().is_ok()
                };
                match &reads.newest {
                    Some((number, result)) if *number >= ticket.0 && usable(result) => {
                        Step::Share(result.clone())
                    }
                    // Began before the registration, and still running.
                    Some((_, result)) if result.borrow().is_none() && usable(result) => {
                        Step::WaitFor(result.clone())
                    }
                    _ => {
                        let (publish, result) = watch::channel(None);
                        let number = reads.started;
                        reads.started += 1;
                        reads.newest = Some((number, result));
                        Step::Run(publish)
                    }
                }
            };
            match step {
                Step::Share(mut result) => loop {
                    if let Some(head) = *result.borrow_and_update() {
                        return Ok(head);
                    }
                    if result.changed().await.is_err() {
                        break;
                    }
                },
                Step::WaitFor(mut result) => {
                    let _ = result.changed().await;
                }
                Step::Run(publish) => {
                    let head = read().await?;
                    publish.send_replace(Some(head));
                    return Ok(head);
                }
            }
        }
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        // A panic while holding the lock cannot leave the maps half-changed in a way that
        // matters more than stopping delivery would.
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a subscriber. Registration and reading `head` happen under one lock with
    /// dispatch, so the subscriber gets exactly the events after `start` from the hub.
    pub fn subscribe(self: &Arc<Self>, target: Target) -> Option<Subscription> {
        if self.is_closed() {
            return None;
        }
        let (sender, events) = mpsc::channel(QUEUE_CAPACITY);
        let mut routes = self.routes();
        let id = routes.next_id;
        routes.next_id += 1;
        let start = routes.head;
        let subscribers = match &target {
            Target::Room(namespace, room) => routes
                .rooms
                .entry((namespace.as_str().to_owned(), room.as_str().to_owned()))
                .or_default(),
            Target::Namespace(namespace) => routes
                .namespaces
                .entry(namespace.as_str().to_owned())
                .or_default(),
        };
        subscribers.insert(id, sender);
        drop(routes);
        Some(Subscription {
            hub: Arc::clone(self),
            id,
            target,
            start,
            events,
        })
    }

    /// Hands events (in log order, all after `head`) to their subscribers.
    pub fn dispatch(&self, events: Vec<Event>) {
        let mut routes = self.routes();
        for event in events {
            if event.position <= routes.head {
                continue;
            }
            routes.head = event.position;
            let event = Arc::new(Dispatched::new(event));
            let room_key = (event.namespace.clone(), event.room.clone());
            if let Some(subscribers) = routes.rooms.get_mut(&room_key) {
                offer(subscribers, &event);
                if subscribers.is_empty() {
                    routes.rooms.remove(&room_key);
                }
            }
            if let Some(subscribers) = routes.namespaces.get_mut(event.namespace.as_str()) {
                offer(subscribers, &event);
                if subscribers.is_empty() {
                    routes.namespaces.remove(event.namespace.as_str());
                }
            }
        }
    }

    /// Hands an ephemeral event (see `ephemeral`) to the room's subscribers. It has no
    /// position and does not move `head`; a subscriber whose queue is full misses it
    /// rather than being sent to catch up, since the log cannot give it back.
    pub fn broadcast(&self, event: Event) {
        let event = Arc::new(Dispatched::new(event));
        let mut routes = self.routes();
        let room_key = (event.namespace.clone(), event.room.clone());
        if let Some(subscribers) = routes.rooms.get_mut(&room_key) {
            subscribers.retain(|_, sender| {
                !matches!(
                    sender.try_send(Arc::clone(&event)),
                    Err(TrySendError::Closed(_))
                )
            });
            if subscribers.is_empty() {
                routes.rooms.remove(&room_key);
            }
        }
    }

    pub fn head(&self) -> Position {
        self.routes().head
    }

    /// Ends every stream (at shutdown): queues close and no new subscription is taken.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let mut routes = self.routes();
        routes.rooms.clear();
        routes.namespaces.clear();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// How many subscriptions are registered (for tests and metrics).
    pub fn subscriber_count(&self) -> usize {
        let routes = self.routes();
        routes.rooms.values().map(HashMap::len).sum::<usize>()
            + routes.namespaces.values().map(HashMap::len).sum::<usize>()
    }
}

/// Queues `event` for each subscriber without waiting. A full queue drops the subscriber
/// from the hub (it will catch up from the log); a closed one (client gone) just leaves.
fn offer(subscribers: &mut Subscribers, event: &Arc<Dispatched>) {
    subscribers.retain(|_, sender| match sender.try_send(Arc::clone(event)) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Namespace, Room};
    use crate::event::EventType;

    fn room(namespace: &str, room: &str) -> Target {
        Target::Room(
            Namespace::parse("n", namespace.into()).expect("namespace"),
            Room::parse("r", room.into()).expect("room"),
        )
    }

    fn event(id: i64, namespace: &str, room: &str) -> Event {
        Event {
            position: Position { xid: 1, id },
            namespace: namespace.into(),
            room: room.into(),
            kind: EventType::MessageCreated,
            data: "{}".into(),
        }
    }

    #[test]
    fn events_reach_their_room_and_namespace_only() {
        let hub = Hub::new(Position::START);
        let mut general = hub.subscribe(room("chat", "general")).expect("open");
        let mut random = hub.subscribe(room("chat", "random")).expect("open");
        let namespace = Namespace::parse("n", "chat".into()).expect("namespace");
        let mut all = hub.subscribe(Target::Namespace(namespace)).expect("open");
        hub.dispatch(vec![
            event(1, "chat", "general"),
            event(2, "notes", "general"),
        ]);
        assert_eq!(
            general.events.try_recv().map(|e| e.position.id).ok(),
            Some(1)
        );
        assert!(general.events.try_recv().is_err());
        assert!(random.events.try_recv().is_err());
        assert_eq!(all.events.try_recv().map(|e| e.position.id).ok(), Some(1));
        assert!(all.events.try_recv().is_err());
        assert_eq!(hub.head(), Position { xid: 1, id: 2 });
    }

    #[test]
    fn every_subscriber_of_an_event_shares_one_encoding_of_its_frame() {
        let hub = Hub::new(Position::START);
        let mut first = hub.subscribe(room("chat", "general")).expect("open");
        let mut second = hub.subscribe(room("chat", "general")).expect("open");
        hub.dispatch(vec![event(1, "chat", "general")]);
        let (a, b) = (
            first.events.try_recv().expect("queued"),
            second.events.try_recv().expect("queued"),
        );
        let mut encoded = 0;
        let mut encode = |event: &Event| {
            encoded += 1;
            Bytes::from(event.position.to_string())
        };
        let (x, y) = (a.frame(&mut encode), b.frame(&mut encode));
        assert_eq!((x.as_ref(), encoded), (&b"1-1"[..], 1));
        assert_eq!(x.as_ptr(), y.as_ptr(), "the same bytes, not a copy");
    }

    #[tokio::test]
    async fn a_head_read_is_shared_only_by_streams_registered_before_it_began_and_one_at_a_time() {
        let hub = Hub::new(Position::START);
        let (first_ticket, early_ticket) = (hub.head_ticket(), hub.head_ticket());
        let (began, has_begun) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let hub = Arc::clone(&hub);
            async move {
                hub.committed_head(first_ticket, || async move {
                    let _ = began.send(());
                    let _ = released.await;
                    Ok::<_, ()>(Position { xid: 1, id: 5 })
                })
                .await
            }
        });
        has_begun.await.expect("the first read began");
        // Registered before that read began: it waits for that read instead of its own.
        let mut early = Box::pin(hub.committed_head(early_ticket, || async {
            Ok::<_, ()>(Position { xid: 9, id: 9 })
        }));
        assert!(futures_util::poll!(&mut early).is_pending());
        // Registered after it began: that read may predate a commit these streams must
        // cover, so they wait for it to end and then share one read of their own.
        let late_tickets = [hub.head_ticket(), hub.head_ticket(), hub.head_ticket()];
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut late: Vec<_> = late_tickets
            .into_iter()
            .map(|ticket| {
                let reads = Arc::clone(&reads);
                Box::pin(hub.committed_head(ticket, move || async move {
                    reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok::<_, ()>(Position { xid: 2, id: 7 })
                }))
            })
            .collect();
        for waiting in &mut late {
            assert!(futures_util::poll!(waiting).is_pending());
        }
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 0);
        let _ = release.send(());
        assert_eq!(first.await.expect("first"), Ok(Position { xid: 1, id: 5 }));
        assert_eq!(early.await, Ok(Position { xid: 1, id: 5 }));
        for waiting in late {
            assert_eq!(waiting.await, Ok(Position { xid: 2, id: 7 }));
        }
        assert_eq!(
            reads.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one read for all three"
        );
    }

    #[tokio::test]
    async fn when_the_stream_running_a_head_read_goes_away_a_waiting_one_reads() {
        let hub = Hub::new(Position::START);
        let ticket = hub.head_ticket();
        let mut gone =
            Box::pin(hub.committed_head(ticket, std::future::pending::<Result<Position, ()>>));
        assert!(futures_util::poll!(&mut gone).is_pending());
        let mut sharing = Box::pin(
            hub.committed_head(ticket, || async { Ok::<_, ()>(Position { xid: 3, id: 1 }) }),
        );
        assert!(futures_util::poll!(&mut sharing).is_pending());
        let later = hub.head_ticket();
        let mut waiting = Box::pin(
            hub.committed_head(later, || async { Ok::<_, ()>(Position { xid: 4, id: 1 }) }),
        );
        assert!(futures_util::poll!(&mut waiting).is_pending());
        drop(gone);
        assert_eq!(sharing.await, Ok(Position { xid: 3, id: 1 }));
        assert_eq!(waiting.await, Ok(Position { xid: 3, id: 1 }));
    }

    #[test]
    fn a_full_queue_drops_the_subscriber_without_blocking_others() {
        let hub = Hub::new(Position::START);
        let mut slow = hub.subscribe(room("chat", "general")).expect("open");
        let mut fast = hub.subscribe(room("chat", "general")).expect("open");
        for id in 1..=(QUEUE_CAPACITY as i64 + 10) {
            hub.dispatch(vec![event(id, "chat", "general")]);
            assert_eq!(fast.events.try_recv().map(|e| e.position.id).ok(), Some(id));
        }
        // The slow one keeps what was queued, then its queue ends: time to catch up.
        let mut received = 0;
        while let Ok(_event) = slow.events.try_recv() {
            received += 1;
        }
        assert_eq!(received, QUEUE_CAPACITY);
        assert!(matches!(
            slow.events.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert_eq!(hub.subscriber_count(), 1);
    }

    #[test]
    fn dropping_a_subscription_unregisters_it_and_close_ends_all() {
        let hub = Hub::new(Position::START);
        let first = hub.subscribe(room("chat", "a")).expect("open");
        let mut second = hub.subscribe(room("chat", "b")).expect("open");
        drop(first);
        assert_eq!(hub.subscriber_count(), 1);
        hub.close();
        assert!(matches!(
            second.events.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert!(hub.subscribe(room("chat", "a")).is_none());
    }
}
