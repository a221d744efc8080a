//! The newest messages of the rooms being read, kept in memory and exact at the reader's
//! head, so that the first page of a room's list is answered without the database.
//!
//! The reader hands every event to [`Recent::apply`], in log order, before the hub. A
//! room is kept once it has been read twice (one read of a room never read again costs
//! nothing here); it is then loaded from one database snapshot, at a known position, and
//! every event of the room after that position is applied once, in order: none missed,
//! none twice. Kept rooms are bounded in number and in bytes, least recently read going
//! first. A list asks for its first page only after the reader has surely read every
//! write this process acknowledged before the list arrived (read-your-writes), waiting a
//! little for that, else it reads the database. docs/event-log.md, "Recent messages from
//! memory", has the argument.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytestring::ByteString;
use serde::Deserialize;
use tokio::sync::watch;

use crate::db::commits::Commits;
use crate::db::room_snapshot::{RoomSnapshot, SnapshotBounds};
use crate::event::{Event, EventType, Position};
use crate::metrics::METRICS;

/// How long a list waits for the reader to reach this process's acknowledged writes
/// before it reads the database instead. The reader is woken by every commit, so this is
/// reached only while some transaction holds `xmin` back.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_millis(20);
/// While a list waits, it wakes the reader this often: covering a write can take two
/// reader cycles, and the second may otherwise wait for the next commit or poll.
const NUDGE: Duration = Duration::from_millis(2);
/// Events of a room that arrive while it loads, kept until the load is done; beyond it
/// the load is given up (the room is read from the database).
const MAX_BUFFERED: usize = 10_000;
/// Events of a room ahead of the load's position a load accepts (see `RoomSnapshot`).
pub const MAX_AHEAD: i64 = 10_000;
/// What a kept room and a kept message cost beyond their text, for the byte bound.
const ROOM_OVERHEAD: usize = 256;
const MESSAGE_OVERHEAD: usize = 64;
/// Read-your-writes fences waiting for the reader; beyond this the newest is widened
/// (which only makes lists wait a little longer).
const MAX_FENCES: usize = 1024;

/// The bounds, from the command line.
#[derive(Debug, Clone, Copy)]
pub struct RecentLimits {
    /// Rooms kept; 0 keeps none (every list reads the database).
    pub rooms: usize,
    /// Messages kept per room: lists with a `limit` up to this are answered.
    pub messages: usize,
    /// Bytes all kept rooms hold together, message text included.
    pub bytes: usize,
}

/// What [`Recent::first_page`] found.
pub enum Lookup {
    /// The room's newest messages (as JSON, with their ids), at most as many as asked
    /// for, exactly as of `position`. Fewer than asked for means there are no more.
    Rows {
        rows: Vec<(i64, ByteString)>,
        position: Position,
    },
    /// In `notes`: no note has the room's key, as of `position`.
    NoNote,
    /// Not kept, or not exact yet: read the database. With a ticket, this request should
    /// also load the room ([`Recent::install`]).
    Miss(Option<Ticket>),
}

/// Counters for tests (this instance's) and operators (the process's, in `/metrics`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecentStats {
    pub hits: u64,
    pub misses: u64,
    pub loads: u64,
    pub evictions: u64,
    pub rooms: usize,
    pub bytes: usize,
}

impl RecentStats {
    fn hit(&mut self) {
        self.hits += 1;
        METRICS.recent_hits.inc();
    }

    fn missed(&mut self) {
        self.misses += 1;
        METRICS.recent_misses.inc();
    }

    fn loaded(&mut self) {
        self.loads += 1;
        METRICS.recent_loads.inc();
    }

    fn evicted(&mut self) {
        self.evictions += 1;
        METRICS.recent_evictions.inc();
    }
}

pub struct Recent {
    inner: Mutex<Inner>,
    limits: RecentLimits,
    commits: Arc<Commits>,
    /// The number of this process's acknowledged commits the reader has surely read and
    /// applied (see [`Recent::fence`]).
    covered: watch::Sender<u64>,
    /// `(acknowledged, xmax)` of reader cycles whose writes are not covered yet, oldest
    /// first; only the reader touches it.
    fences: Mutex<VecDeque<(u64, i64)>>,
    /// Set by a list waiting for the reader to cover this process's writes: the reader
    /// takes snapshot bounds only then (and until the fences it took are covered), so a
    /// server that only writes, or whose lists find everything covered, pays nothing.
    wanted: AtomicBool,
}

struct Inner {
    /// The position of the newest event applied: every kept room is exact at it.
    head: Position,
    rooms: HashMap<String, HashMap<String, Entry>>,
    count: usize,
    bytes: usize,
    /// Rooms read once since the last clearing: a second read loads the room.
    seen: HashSet<(String, String)>,
    tick: u64,
    next_ticket: u64,
    stats: RecentStats,
}

struct Entry {
    last_read: u64,
    bytes: usize,
    state: State,
}

enum State {
    /// Registered before its snapshot was taken; its events since then wait here.
    Loading {
        ticket: u64,
        buffered: Vec<(Position, EventType, ByteString)>,
    },
    Kept(Room),
}

struct Room {
    /// Every event of the room up to `base` is reflected, and those in `ahead`.
    base: Position,
    /// Events after `base` that the snapshot already reflected: skipped when they come.
    ahead: BTreeSet<Position>,
    /// The newest messages by id, with their JSON.
    messages: BTreeMap<i64, ByteString>,
    /// Whether `messages` holds every message of the room.
    complete: bool,
    /// In `notes`: whether the note exists.
    note: bool,
}

/// What a kept room holds for a first page.
enum Found {
    Rows(Vec<(i64, ByteString)>),
    NoNote,
    /// Fewer messages than asked for, and older ones exist; `shrunk`: fewer than it
    /// keeps, since deletes.
    TooFew {
        shrunk: bool,
    },
    /// Loading, or not yet exact at the head.
    NotYet,
}

#[derive(Deserialize)]
struct Id {
    id: i64,
}

fn id_of(data: &str) -> Option<i64> {
    serde_json::from_str::<Id>(data).ok().map(|id| id.id)
}

fn message_bytes(json: &ByteString) -> usize {
    json.len() + MESSAGE_OVERHEAD
}

impl Room {
    /// Applies one event of the room, in log order. Returns the change in bytes, or `None`
    /// when the room can no longer be kept exactly (an event it cannot read).
    fn apply(
        &mut self,
        position: Position,
        kind: EventType,
        data: &ByteString,
        keep: usize,
    ) -> Option<isize> {
        if position <= self.base || self.ahead.remove(&position) {
            return Some(0);
        }
        let mut delta = 0isize;
        match kind {
            EventType::MessageCreated => {
                let id = id_of(data)?;
                // Ids come from a sequence taken before the transaction's xid, so a
                // message can arrive after one with a higher id: place by id. One below
                // every kept message is not among the newest, unless all are kept.
                let newest = self.complete
                    || self
                        .messages
                        .first_key_value()
                        .is_some_and(|(lowest, _)| id > *lowest);
                if newest {
                    delta += message_bytes(data) as isize;
                    if let Some(old) = self.messages.insert(id, data.clone()) {
                        delta -= message_bytes(&old) as isize;
                    }
                    while self.messages.len() > keep {
                        if let Some((_, old)) = self.messages.pop_first() {
                            delta -= message_bytes(&old) as isize;
                        }
                        self.complete = false;
                    }
                }
            }
            EventType::MessageUpdated => {
                let id = id_of(data)?;
                if let Some(slot) = self.messages.get_mut(&id) {
                    delta += message_bytes(data) as isize - message_bytes(slot) as isize;
                    *slot = data.clone();
                }
            }
            EventType::MessageDeleted => {
                let id = id_of(data)?;
                if let Some(old) = self.messages.remove(&id) {
                    delta -= message_bytes(&old) as isize;
                }
            }
            EventType::NoteCreated => self.note = true,
            EventType::NoteDeleted => self.note = false,
            // Presence changes no message; ephemeral events never come from the log.
            EventType::NoteUpdated
            | EventType::PresenceJoined
            | EventType::PresenceLeft
            | EventType::Typing
            | EventType::PresenceCount => {}
        }
        Some(delta)
    }

    /// Whether the room is exact at `head`: the reader has passed the snapshot's position
    /// and handed out every event the snapshot already reflected.
    fn exact_at(&self, head: Position) -> bool {
        head >= self.base && self.ahead.is_empty()
    }

    /// The newest `fetch` messages, if the room knows them all.
    fn first(&self, fetch: usize) -> Option<Vec<(i64, ByteString)>> {
        if self.messages.len() < fetch && !self.complete {
            return None;
        }
        Some(
            self.messages
                .iter()
                .rev()
                .take(fetch)
                .map(|(id, json)| (*id, json.clone()))
                .collect(),
        )
    }

    fn bytes(&self, namespace: &str, room: &str) -> usize {
        ROOM_OVERHEAD
            + namespace.len()
            + room.len()
            + self.messages.values().map(message_bytes).sum::<usize>()
    }
}

/// The right to load one room, handed to the request that found it cold. Dropped
/// without [`Recent::install`] (the load failed, or the request was cancelled), it
/// forgets the room.
pub struct Ticket {
    recent: Arc<Recent>,
    namespace: String,
    room: String,
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.recent.lock();
        let loading = inner.entry(&self.namespace, &self.room).is_some_and(
            |entry| matches!(entry.state, State::Loading { ticket, .. } if ticket == self.id),
        );
        if loading {
            inner.remove(&self.namespace, &self.room);
        }
    }
}

impl Inner {
    fn entry(&self, namespace: &str, room: &str) -> Option<&Entry> {
        self.rooms.get(namespace)?.get(room)
    }

    fn entry_mut(&mut self, namespace: &str, room: &str) -> Option<&mut Entry> {
        self.rooms.get_mut(namespace)?.get_mut(room)
    }

    fn remove(&mut self, namespace: &str, room: &str) {
        let Some(rooms) = self.rooms.get_mut(namespace) else {
            return;
        };
        if let Some(entry) = rooms.remove(room) {
            self.count = self.count.saturating_sub(1);
            self.bytes = self.bytes.saturating_sub(entry.bytes);
        }
        if rooms.is_empty() {
            self.rooms.remove(namespace);
        }
    }

    /// Forgets the least recently read rooms until both bounds hold.
    fn evict(&mut self, limits: &RecentLimits) {
        while self.count > limits.rooms || self.bytes > limits.bytes {
            let oldest = self
                .rooms
                .iter()
                .flat_map(|(namespace, rooms)| {
                    rooms
                        .iter()
                        .map(move |(room, entry)| (entry.last_read, namespace, room))
                })
                .min_by_key(|(last_read, ..)| *last_read)
                .map(|(_, namespace, room)| (namespace.clone(), room.clone()));
            let Some((namespace, room)) = oldest else {
                return;
            };
            self.remove(&namespace, &room);
            self.stats.evicted();
        }
    }

    /// Resizes an entry's byte count.
    fn resize(&mut self, namespace: &str, room: &str, delta: isize) {
        if let Some(entry) = self.entry_mut(namespace, room) {
            entry.bytes = entry.bytes.saturating_add_signed(delta);
            self.bytes = self.bytes.saturating_add_signed(delta);
        }
    }
}

impl Recent {
    /// Starts empty, exact at `head` (where the reader starts).
    pub fn new(head: Position, limits: RecentLimits, commits: Arc<Commits>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                head,
                rooms: HashMap::new(),
                count: 0,
                bytes: 0,
                seen: HashSet::new(),
                tick: 0,
                next_ticket: 0,
                stats: RecentStats::default(),
            }),
            limits,
            covered: watch::Sender::new(commits.acknowledged()),
            commits,
            fences: Mutex::new(VecDeque::new()),
            wanted: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing here is left half-changed by a panic in a way worse than a wrong page
        // would be; every change is a few assignments.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn limits(&self) -> RecentLimits {
        self.limits
    }

    /// The position of the newest event the reader has handed out: every change up to it
    /// is committed and in the log, so a list read from the database after this call
    /// reflects at least everything up to it.
    pub fn head(&self) -> Position {
        self.lock().head
    }

    pub fn stats(&self) -> RecentStats {
        let inner = self.lock();
        RecentStats {
            rooms: inner.count,
            bytes: inner.bytes,
            ..inner.stats
        }
    }

    /// Applies events (in log order, all after the last ones) to the kept rooms.
    pub fn apply(&self, events: &[Event]) {
        let keep = self.limits.messages;
        let mut inner = self.lock();
        let mut dropped = Vec::new();
        for event in events {
            if event.position <= inner.head {
                continue;
            }
            inner.head = event.position;
            let Some(entry) = inner.entry_mut(&event.namespace, &event.room) else {
                continue;
            };
            let delta = match &mut entry.state {
                State::Loading { buffered, .. } => {
                    if buffered.len() < MAX_BUFFERED {
                        buffered.push((event.position, event.kind, event.data.clone()));
                        Some(0)
                    } else {
                        None
                    }
                }
                State::Kept(room) => room.apply(event.position, event.kind, &event.data, keep),
            };
            match delta {
                Some(delta) => inner.resize(&event.namespace, &event.room, delta),
                None => dropped.push((event.namespace.as_str(), event.room.as_str())),
            }
        }
        for (namespace, room) in dropped {
            inner.remove(namespace, room);
        }
        if inner.bytes > self.limits.bytes {
            inner.evict(&self.limits);
        }
    }

    /// Waits (a little, see [`READ_YOUR_WRITES_WAIT`]) until every write this process
    /// acknowledged before the call has been applied here. False: it has not, read the
    /// database.
    pub async fn caught_up_with_own_writes(&self) -> bool {
        let acknowledged = self.commits.acknowledged();
        if *self.covered.borrow() >= acknowledged {
            return true;
        }
        let mut covered = self.covered.subscribe();
        let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_WAIT;
        loop {
            self.wanted.store(true, Ordering::SeqCst);
            self.commits.wake_reader();
            let waited =
                tokio::time::timeout(NUDGE, covered.wait_for(|covered| *covered >= acknowledged))
                    .await;
            match waited {
                Ok(reached) => return reached.is_ok(),
                Err(_) if tokio::time::Instant::now() >= deadline => return false,
                Err(_) => {}
            }
        }
    }

    /// For the reader, before it reads the log: whether to take the snapshot bounds for
    /// [`Recent::fence`]: some acknowledged write is not covered yet, and a list waits
    /// for it or an earlier fence is still open.
    pub fn needs_fence(&self, acknowledged: u64) -> bool {
        if acknowledged <= *self.covered.borrow() {
            return false;
        }
        let open = !self
            .fences
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        self.wanted.swap(false, Ordering::SeqCst) || open
    }

    /// For the reader, after a cycle that read the log up to the end (everything below
    /// its `xmin`) and applied it: `acknowledged` commits had been counted before it took
    /// `bounds`. Those commits ended before the snapshot, so their xids are below
    /// `bounds.xmax`; once a cycle's `xmin` (a lower bound of the `xmin` of its reads) is
    /// at or above that, every one of their events has been read and applied.
    pub fn fence(&self, acknowledged: u64, bounds: SnapshotBounds) {
        let mut fences = self.fences.lock().unwrap_or_else(|p| p.into_inner());
        if fences.len() < MAX_FENCES {
            fences.push_back((acknowledged, bounds.xmax));
        } else if let Some(newest) = fences.back_mut() {
            // Merging into a later fence: later `acknowledged`, later `xmax`.
            *newest = (acknowledged, bounds.xmax);
        }
        let mut covered = None;
        while let Some(&(count, xmax)) = fences.front() {
            if xmax > bounds.xmin {
                break;
            }
            covered = Some(count);
            fences.pop_front();
        }
        drop(fences);
        if let Some(count) = covered {
            self.covered.send_if_modified(|covered| {
                let raised = count > *covered;
                *covered = (*covered).max(count);
                raised
            });
        }
    }

    /// The first page of a room (`fetch` rows: the page's limit plus one), if it is kept
    /// and exact now. Call after [`Recent::caught_up_with_own_writes`].
    pub fn first_page(self: &Arc<Self>, namespace: &str, room: &str, fetch: usize) -> Lookup {
        if self.limits.rooms == 0 || fetch > self.limits.messages + 1 {
            return Lookup::Miss(None);
        }
        let mut inner = self.lock();
        inner.tick += 1;
        let (tick, head) = (inner.tick, inner.head);
        let found = inner.entry_mut(namespace, room).map(|entry| {
            entry.last_read = tick;
            match &entry.state {
                State::Kept(kept) if kept.exact_at(head) => {
                    if kept.note {
                        kept.first(fetch).map_or(
                            Found::TooFew {
                                shrunk: kept.messages.len() < self.limits.messages,
                            },
                            Found::Rows,
                        )
                    } else {
                        Found::NoNote
                    }
                }
                _ => Found::NotYet,
            }
        });
        match found {
            Some(Found::Rows(rows)) => {
                inner.stats.hit();
                return Lookup::Rows {
                    rows,
                    position: head,
                };
            }
            Some(Found::NoNote) => {
                inner.stats.hit();
                return Lookup::NoNote;
            }
            Some(Found::TooFew { shrunk }) => {
                // Deletes left fewer messages than it keeps: load it again on a later read.
                if shrunk {
                    inner.remove(namespace, room);
                }
                inner.stats.missed();
                return Lookup::Miss(None);
            }
            Some(Found::NotYet) => {
                inner.stats.missed();
                return Lookup::Miss(None);
            }
            None => {}
        }
        inner.stats.missed();
        let key = (namespace.to_owned(), room.to_owned());
        if !inner.seen.remove(&key) {
            if inner.seen.len() >= self.limits.rooms.max(64) {
                inner.seen.clear();
            }
            inner.seen.insert(key);
            return Lookup::Miss(None);
        }
        let ticket = inner.next_ticket;
        inner.next_ticket += 1;
        let bytes = ROOM_OVERHEAD + namespace.len() + room.len();
        inner.rooms.entry(key.0.clone()).or_default().insert(
            key.1.clone(),
            Entry {
                last_read: tick,
                bytes,
                state: State::Loading {
                    ticket,
                    buffered: Vec::new(),
                },
            },
        );
        inner.count += 1;
        inner.bytes += bytes;
        inner.evict(&self.limits);
        Lookup::Miss(Some(Ticket {
            recent: Arc::clone(self),
            namespace: key.0,
            room: key.1,
            id: ticket,
        }))
    }

    /// Keeps the room `ticket` was handed out for, from a snapshot taken after the
    /// ticket: the snapshot's position is at or after every event handed out before the
    /// ticket, and the events since then were kept for it, so applying those after the
    /// snapshot's position (and not already in it) leaves the room exact.
    pub fn install(&self, ticket: Ticket, snapshot: &RoomSnapshot) {
        let keep = self.limits.messages;
        let mut room = Room {
            base: snapshot.position,
            ahead: snapshot.ahead.iter().copied().collect(),
            messages: BTreeMap::new(),
            complete: !snapshot.more,
            note: snapshot.note,
        };
        for message in snapshot.messages.iter().take(keep) {
            match serde_json::to_string(message) {
                Ok(json) => {
                    room.messages.insert(message.id, json.into());
                }
                Err(_) => return,
            }
        }
        let mut inner = self.lock();
        let Some(entry) = inner.entry_mut(&ticket.namespace, &ticket.room) else {
            return;
        };
        let State::Loading {
            ticket: id,
            buffered,
        } = &mut entry.state
        else {
            return;
        };
        if *id != ticket.id {
            return;
        }
        for (position, kind, data) in std::mem::take(buffered) {
            if room.apply(position, kind, &data, keep).is_none() {
                return;
            }
        }
        let bytes = room.bytes(&ticket.namespace, &ticket.room);
        let before = entry.bytes;
        entry.bytes = bytes;
        entry.state = State::Kept(room);
        inner.bytes = inner.bytes.saturating_sub(before) + bytes;
        inner.stats.loaded();
        inner.evict(&self.limits);
        // `ticket` is dropped here and finds the room kept, not loading.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(messages: &[i64], complete: bool) -> Room {
        Room {
            base: Position { xid: 10, id: 1 },
            ahead: BTreeSet::new(),
            messages: messages
                .iter()
                .map(|id| (*id, format!("{{\"id\":{id}}}").into()))
                .collect(),
            complete,
            note: true,
        }
    }

    fn at(xid: i64) -> Position {
        Position { xid, id: 1 }
    }

    fn created(room: &mut Room, xid: i64, id: i64, keep: usize) {
        let data = format!("{{\"id\":{id},\"message\":\"x\"}}").into();
        room.apply(at(xid), EventType::MessageCreated, &data, keep);
    }

    fn ids(room: &Room) -> Vec<i64> {
        room.messages.keys().rev().copied().collect()
    }

    #[test]
    fn messages_are_placed_by_id_and_trimmed_to_the_newest() {
        let mut kept = room(&[5, 6, 7], false);
        created(&mut kept, 11, 9, 3);
        created(&mut kept, 12, 8, 3);
        assert_eq!(ids(&kept), [9, 8, 7]);
        // Below every kept message of a room with older ones: not among the newest.
        created(&mut kept, 13, 4, 3);
        assert_eq!(ids(&kept), [9, 8, 7]);
        assert!(kept.first(4).is_none(), "the fourth newest is not known");
        assert_eq!(kept.first(3).map(|rows| rows.len()), Some(3));
    }

    #[test]
    fn a_complete_room_knows_it_has_no_more() {
        let mut kept = room(&[1], true);
        created(&mut kept, 11, 2, 3);
        assert_eq!(kept.first(21).map(|rows| rows.len()), Some(2));
        created(&mut kept, 12, 3, 3);
        created(&mut kept, 13, 4, 3);
        assert!(!kept.complete, "trimmed: older messages exist");
    }

    #[test]
    fn events_the_snapshot_reflected_are_skipped_once() {
        let mut kept = room(&[1, 2], true);
        kept.ahead.insert(at(12));
        let deleted = "{\"id\":2}".into();
        // At or before the base: already reflected.
        kept.apply(at(10), EventType::MessageDeleted, &deleted, 3);
        assert_eq!(ids(&kept), [2, 1]);
        created(&mut kept, 12, 3, 3);
        assert_eq!(ids(&kept), [2, 1], "in the snapshot already");
        assert!(kept.exact_at(at(12)));
        created(&mut kept, 13, 3, 3);
        assert_eq!(ids(&kept), [3, 2, 1]);
    }
}
