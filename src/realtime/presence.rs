//! Who is in a room (docs/presence.md): this process's open streams per room and member,
//! the grace period before a leave, the heartbeat that says this process is alive, the
//! sweep that announces the leaves of processes that died, and the counts of large rooms.
//!
//! A member's first stream of a room in this process registers them in the database
//! (`db::presence::join`, which appends `presence.joined` if they were present nowhere)
//! before the stream's response; their last stream's end starts a grace timer, and only
//! if none reopens in time is this process's registration deleted (`db::presence::leave`,
//! which appends `presence.left` if no other process holds one). Changes of one member go
//! one at a time in this process (a lock per member) and across processes (an advisory
//! lock in the database).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use diesel::Connection;
use tokio::task::JoinHandle;

use super::ephemeral::Ephemeral;
use super::single_flight::SingleFlight;
use crate::api_types::{PresenceCount, PresenceSnapshot};
use crate::db::Db;
use crate::db::presence::{self, Here, MemberKey};
use crate::db::rooms;
use crate::error::ApiError;
use crate::event::{EventType, Position};
use crate::metrics::METRICS;

/// How often large rooms get `presence.count` (when it changed).
pub const COUNT_EVERY: Duration = Duration::from_secs(5);
/// How often intervals that ended below the log's floor are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct PresenceSettings {
    pub grace: Duration,
    pub heartbeat: Duration,
    pub server_timeout: Duration,
    pub large_room: u32,
}

type RoomKey = (String, String);

/// One member's streams of one room in this process.
#[derive(Default)]
struct Slot {
    streams: u32,
    /// This process has a row in `presence_sessions` for the member.
    registered: bool,
    /// Bumped by every open and close: a grace timer fires only if nothing happened since
    /// it started.
    generation: u64,
}

/// This process's streams of one room.
#[derive(Default)]
struct RoomLocal {
    streams: u32,
    anonymous: u32,
    /// Above `--presence-large-room` members at the last count.
    large: Arc<AtomicBool>,
    last_count: Option<PresenceCount>,
}

#[derive(Default)]
struct Dirty {
    sessions: HashSet<MemberKey>,
    anonymous: HashSet<RoomKey>,
}

pub struct Presence {
    db: Db,
    ephemeral: Arc<Ephemeral>,
    settings: PresenceSettings,
    /// This process's row in `servers`; replaced if another process took it for dead.
    server: AtomicI64,
    members: Mutex<HashMap<MemberKey, Arc<tokio::sync::Mutex<Slot>>>>,
    rooms: Mutex<HashMap<RoomKey, RoomLocal>>,
    /// Snapshot queries in flight, by room and position: streams of a room that open
    /// together (a page of tabs, a reconnect storm) reach `ready` at the same position,
    /// and the membership at a position never changes, so one query serves them all.
    snapshots: SingleFlight<(RoomKey, Position), (PresenceSnapshot, PresenceCount)>,
    dirty: Mutex<Dirty>,
    /// Members to register again after this process was taken for dead (see `beat`).
    rejoin: Mutex<Vec<MemberKey>>,
    /// Shutting down: no more leaves (the grace and the sweep of another process, or of
    /// this one restarted, decide them).
    stopping: AtomicBool,
    task: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps hold counts; nothing panics while holding them.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Presence {
    /// Registers this process (a fresh id) and starts its heartbeat.
    pub async fn start(
        db: Db,
        ephemeral: Arc<Ephemeral>,
        settings: PresenceSettings,
    ) -> Result<Arc<Self>, ApiError> {
        let server = db.run(|conn| Ok(presence::register_server(conn)?)).await?;
        tracing::info!(server, "registered for presence");
        let presence = Arc::new(Self {
            db,
            ephemeral,
            settings,
            server: AtomicI64::new(server),
            members: Mutex::default(),
            rooms: Mutex::default(),
            snapshots: SingleFlight::default(),
            dirty: Mutex::default(),
            rejoin: Mutex::default(),
            stopping: AtomicBool::new(false),
            task: Mutex::new(None),
        });
        let task = tokio::spawn(Arc::clone(&presence).keep_alive());
        *lock(&presence.task) = Some(task);
        Ok(presence)
    }

    pub fn settings(&self) -> PresenceSettings {
        self.settings
    }

    /// At shutdown: no leave is announced from here on, and the heartbeat stops. The
    /// members' rows stay until their grace would be over for another process's sweep:
    /// clients that reconnect meanwhile (elsewhere, or here after a restart) stay
    /// present without a leave and a join.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }

    fn server(&self) -> i64 {
        self.server.load(Ordering::SeqCst)
    }

    /// Rooms with a stream on this process, and members with a stream of a room here or
    /// within their grace after the last one closed, for `/metrics`.
    pub fn local_counts(&self) -> (usize, usize) {
        (lock(&self.rooms).len(), lock(&self.members).len())
    }

    /// This process's id and its anonymous streams of the room, which snapshots take as
    /// they are now rather than as last written.
    pub fn here(&self, namespace: &str, room: &str) -> Here {
        let anonymous = lock(&self.rooms)
            .get(&(namespace.to_owned(), room.to_owned()))
            .map_or(0, |local| local.anonymous);
        Here {
            server: self.server(),
            anonymous,
        }
    }

    /// A stream of the room opens, for `user` or anonymously. For a user whose first
    /// stream of the room this is, in this process, the database learns of it before this
    /// returns: so the stream's `ready` shows them present. The returned attendance ends
    /// the stream's presence when dropped.
    pub async fn enter(
        self: &Arc<Self>,
        namespace: &str,
        room: &str,
        user: Option<String>,
    ) -> Result<Attendance, ApiError> {
        let room_key = (namespace.to_owned(), room.to_owned());
        let large = {
            let mut rooms = lock(&self.rooms);
            let local = rooms.entry(room_key.clone()).or_default();
            local.streams += 1;
            if user.is_none() {
                local.anonymous += 1;
            }
            Arc::clone(&local.large)
        };
        if user.is_none() {
            lock(&self.dirty).anonymous.insert(room_key.clone());
        }
        // From here on, dropping it undoes the counts.
        let attendance = Attendance {
            presence: Arc::clone(self),
            room: room_key,
            user,
            room_large: large,
            hiding: AtomicBool::new(false),
        };
        if let Some(key) = attendance.member() {
            let slot = self.slot(&key);
            let mut slot = slot.lock().await;
            slot.streams += 1;
            slot.generation += 1;
            if slot.registered {
                lock(&self.dirty).sessions.insert(key);
            } else {
                self.join(&key, slot.streams).await?;
                slot.registered = true;
            }
        }
        Ok(attendance)
    }

    fn slot(&self, key: &MemberKey) -> Arc<tokio::sync::Mutex<Slot>> {
        Arc::clone(lock(&self.members).entry(key.clone()).or_default())
    }

    async fn join(&self, key: &MemberKey, sessions: u32) -> Result<(), ApiError> {
        let (server, member) = (self.server(), key.clone());
        let appended = self
            .db
            .run(move |conn| {
                Ok(conn.transaction(|conn| presence::join(conn, server, &member, sessions))?)
            })
            .await?;
        self.db.appended(usize::from(appended));
        if appended {
            METRICS.presence_joins.inc();
        }
        Ok(())
    }

    /// Deletes this process's registration of the member; `presence.left` if it was the
    /// last anywhere.
    async fn leave(&self, server: i64, key: &MemberKey) -> Result<(), ApiError> {
        let member = key.clone();
        let appended = self
            .db
            .run(move |conn| Ok(conn.transaction(|conn| presence::leave(conn, server, &member))?))
            .await?;
        self.db.appended(usize::from(appended));
        if appended {
            METRICS.presence_leaves.inc();
        }
        Ok(())
    }

    /// A stream ended (its attendance was dropped).
    fn exit(self: &Arc<Self>, room: &RoomKey, member: Option<MemberKey>) {
        {
            let mut rooms = lock(&self.rooms);
            if let Some(local) = rooms.get_mut(room) {
                local.streams = local.streams.saturating_sub(1);
                if member.is_none() {
                    local.anonymous = local.anonymous.saturating_sub(1);
                }
                if local.streams == 0 {
                    rooms.remove(room);
                }
            }
        }
        let Some(key) = member else {
            lock(&self.dirty).anonymous.insert(room.clone());
            return;
        };
        // Dropped outside any runtime (the server's workers are being torn down): this
        // process is stopping, and the grace and the sweep decide instead.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let presence = Arc::clone(self);
        runtime.spawn(async move {
            let slot = presence.slot(&key);
            let generation = {
                let mut held = slot.lock().await;
                held.streams = held.streams.saturating_sub(1);
                held.generation += 1;
                if held.streams > 0 {
                    lock(&presence.dirty).sessions.insert(key);
                    return;
                }
                held.generation
            };
            presence.grace(key, slot, generation).await;
        });
    }

    /// The member's last stream here closed: unless one opens within the grace period,
    /// this process lets go of them.
    async fn grace(
        self: Arc<Self>,
        key: MemberKey,
        slot: Arc<tokio::sync::Mutex<Slot>>,
        generation: u64,
    ) {
        let mut wait = self.settings.grace;
        loop {
            tokio::time::sleep(wait).await;
            let mut held = slot.lock().await;
            if held.generation != generation || held.streams > 0 {
                return;
            }
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            if held.registered {
                if let Err(error) = self.leave(self.server(), &key).await {
                    // Still registered: try again later rather than leave a ghost.
                    tracing::warn!(error = %error, "could not record a leave; retrying");
                    wait = self.settings.heartbeat;
                    continue;
                }
                held.registered = false;
            }
            // Forget the slot, unless an open or close is waiting for it (it holds a
            // reference) and will count on it.
            let mut members = lock(&self.members);
            if Arc::strong_count(&slot) == 2 {
                members.remove(&key);
            }
            return;
        }
    }

    /// Every `--presence-heartbeat`: say this process is alive, announce the leaves of
    /// processes that are not, write the lazy counts, and keep the rooms list and large
    /// rooms' counts current.
    async fn keep_alive(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.settings.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_count = tokio::time::Instant::now();
        let mut last_prune = tokio::time::Instant::now();
        loop {
            tick.tick().await;
            if let Err(error) = self.beat().await {
                tracing::warn!(error = %error, "presence heartbeat failed");
            }
            if let Err(error) = self.sweep().await {
                tracing::warn!(error = %error, "could not sweep dead servers");
            }
            if let Err(error) = self.write_counts().await {
                tracing::warn!(error = %error, "could not write presence counts");
            }
            if let Err(error) = self.db.run(|conn| Ok(rooms::take_in_activity(conn)?)).await {
                tracing::warn!(error = %error, "could not update the rooms list");
            }
            if last_count.elapsed() >= COUNT_EVERY {
                last_count = tokio::time::Instant::now();
                if let Err(error) = self.count_rooms().await {
                    tracing::warn!(error = %error, "could not count large rooms");
                }
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = tokio::time::Instant::now();
                if let Err(error) = self.db.run(|conn| Ok(presence::prune(conn)?)).await {
                    tracing::warn!(error = %error, "could not prune presence intervals");
                }
            }
        }
    }

    /// The heartbeat. If this process's row is gone, another process took it for dead
    /// (it was frozen for longer than `--presence-server-timeout`) and announced its
    /// members' leaves: register again and rejoin those still here.
    async fn beat(&self) -> Result<(), ApiError> {
        let server = self.server();
        let alive = self
            .db
            .run(move |conn| Ok(presence::heartbeat(conn, server)?))
            .await?;
        if alive {
            return self.rejoin().await;
        }
        let fresh = self
            .db
            .run(|conn| Ok(presence::register_server(conn)?))
            .await?;
        tracing::warn!(
            old = server,
            new = fresh,
            "this server was taken for dead; registering again"
        );
        self.server.store(fresh, Ordering::SeqCst);
        let members: Vec<MemberKey> = lock(&self.members).keys().cloned().collect();
        lock(&self.rejoin).extend(members);
        let rooms: Vec<RoomKey> = lock(&self.rooms).keys().cloned().collect();
        lock(&self.dirty).anonymous.extend(rooms);
        self.rejoin().await
    }

    /// Joins again, under this process's new id, the members it registered before it was
    /// taken for dead; those that fail (the database is away) are tried at the next beat.
    async fn rejoin(&self) -> Result<(), ApiError> {
        let pending = std::mem::take(&mut *lock(&self.rejoin));
        let mut result = Ok(());
        for key in pending {
            let slot = lock(&self.members).get(&key).cloned();
            let Some(slot) = slot else { continue };
            let held = slot.lock().await;
            if !held.registered {
                continue;
            }
            if let Err(error) = self.join(&key, held.streams.max(1)).await {
                lock(&self.rejoin).push(key);
                result = Err(error);
            }
        }
        result
    }

    /// Announces the leaves of every member of every server whose heartbeat is older than
    /// `--presence-server-timeout`, then forgets that server. Several processes may sweep
    /// the same one at once: each leave takes the member's lock, and the second finds
    /// nothing left to do.
    async fn sweep(&self) -> Result<(), ApiError> {
        let (me, timeout) = (self.server(), self.settings.server_timeout);
        let dead = self
            .db
            .run(move |conn| Ok(presence::stale_servers(conn, me, timeout)?))
            .await?;
        for server in dead {
            let members = self
                .db
                .run(move |conn| Ok(presence::server_members(conn, server)?))
                .await?;
            tracing::info!(
                server,
                members = members.len(),
                "a server stopped heartbeating: announcing its members' leaves"
            );
            for key in members {
                self.leave(server, &key).await?;
            }
            self.db
                .run(move |conn| Ok(presence::delete_server(conn, server)?))
                .await?;
        }
        Ok(())
    }

    /// Writes the session counts and anonymous counts that changed since the last time.
    async fn write_counts(&self) -> Result<(), ApiError> {
        let dirty = std::mem::take(&mut *lock(&self.dirty));
        if dirty.sessions.is_empty() && dirty.anonymous.is_empty() {
            return Ok(());
        }
        let mut sessions = Vec::new();
        let mut retry = Dirty::default();
        for key in dirty.sessions {
            let slot = lock(&self.members).get(&key).cloned();
            let Some(slot) = slot else { continue };
            match slot.try_lock() {
                Ok(held) if held.registered => sessions.push((key, held.streams)),
                Ok(_) => {}
                // Being changed: next time.
                Err(_) => {
                    retry.sessions.insert(key);
                }
            }
        }
        let anonymous: Vec<(String, String, u32)> = {
            let rooms = lock(&self.rooms);
            dirty
                .anonymous
                .iter()
                .map(|(namespace, room)| {
                    let count = rooms
                        .get(&(namespace.clone(), room.clone()))
                        .map_or(0, |local| local.anonymous);
                    (namespace.clone(), room.clone(), count)
                })
                .collect()
        };
        let server = self.server();
        let written = self
            .db
            .run(move |conn| Ok(presence::write_counts(conn, server, &sessions, &anonymous)?))
            .await;
        let mut pending = lock(&self.dirty);
        pending.sessions.extend(retry.sessions);
        if written.is_err() {
            pending.anonymous.extend(dirty.anonymous);
        }
        written
    }

    /// Looks up the counts of the rooms this process has streams of: marks those above
    /// `--presence-large-room` as large, and sends their streams `presence.count` when it
    /// changed.
    async fn count_rooms(&self) -> Result<(), ApiError> {
        let keys: Vec<RoomKey> = lock(&self.rooms).keys().cloned().collect();
        if keys.is_empty() {
            return Ok(());
        }
        let counts = self
            .db
            .run(move |conn| Ok(presence::counts(conn, &keys)?))
            .await?;
        let large_room = u64::from(self.settings.large_room);
        let mut send = Vec::new();
        {
            let mut rooms = lock(&self.rooms);
            for (namespace, room, members, anonymous) in counts {
                let Some(local) = rooms.get_mut(&(namespace.clone(), room.clone())) else {
                    continue;
                };
                let large = members > large_room;
                local.large.store(large, Ordering::SeqCst);
                let count = PresenceCount { members, anonymous };
                if large && local.last_count.as_ref() != Some(&count) {
                    local.last_count = Some(count.clone());
                    send.push((namespace, room, count));
                }
            }
        }
        for (namespace, room, count) in send {
            let data =
                serde_json::to_string(&count).map_err(|error| ApiError::Internal(error.into()))?;
            // Every process counts for its own streams: no need to tell the others.
            self.ephemeral
                .local(&namespace, &room, EventType::PresenceCount, data);
        }
        Ok(())
    }
}

/// One stream's presence in its room, from its opening until it is dropped.
pub struct Attendance {
    presence: Arc<Presence>,
    room: RoomKey,
    user: Option<String>,
    room_large: Arc<AtomicBool>,
    /// Once this stream has been in large-room mode it stays in it: its client keeps a
    /// count, not a list, until it reconnects and gets a snapshot.
    hiding: AtomicBool,
}

impl Attendance {
    /// The signed-in user of the stream.
    pub fn you(&self) -> Option<&str> {
        self.user.as_deref()
    }

    fn member(&self) -> Option<MemberKey> {
        self.user.as_ref().map(|username| MemberKey {
            namespace: self.room.0.clone(),
            room: self.room.1.clone(),
            username: username.clone(),
        })
    }

    /// Who is in the room exactly at `at` (a position the stream has reached: every event
    /// up to it is committed); for a large room, the counts to send right after it.
    pub async fn snapshot(
        &self,
        at: Position,
    ) -> Result<(PresenceSnapshot, Option<PresenceCount>), ApiError> {
        // Only streams that ask while a query runs share it: later ones query afresh, so
        // the session and anonymous counts (which are not positional) stay current.
        let shared = self
            .presence
            .snapshots
            .run((self.room.clone(), at), || async {
                let (namespace, room) = self.room.clone();
                let large = self.presence.settings.large_room;
                let here = self.presence.here(&namespace, &room);
                self.presence
                    .db
                    .run(move |conn| {
                        Ok(presence::snapshot(
                            conn, &namespace, &room, at, large, here,
                        )?)
                    })
                    .await
            })
            .await;
        let (snapshot, count) = shared?;
        if !snapshot.large {
            return Ok((snapshot, None));
        }
        self.hiding.store(true, Ordering::SeqCst);
        Ok((snapshot, Some(count)))
    }

    /// Whether the stream leaves out events of this kind: joins and leaves, in large-room
    /// mode (it gets `presence.count` instead).
    pub fn hides(&self, kind: EventType) -> bool {
        if !matches!(kind, EventType::PresenceJoined | EventType::PresenceLeft) {
            return false;
        }
        if self.room_large.load(Ordering::SeqCst) {
            self.hiding.store(true, Ordering::SeqCst);
        }
        self.hiding.load(Ordering::SeqCst)
    }
}

impl Drop for Attendance {
    fn drop(&mut self) {
        self.presence.exit(&self.room, self.member());
    }
}
