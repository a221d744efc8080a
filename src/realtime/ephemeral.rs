//! Ephemeral events (`typing`, `presence.count`): never stored, sent without `id:` to the
//! streams of a room that are open when they happen, on every server process.
//!
//! This process's streams get them straight from the hub. The other processes on the
//! database get them through `NOTIFY` on [`CHANNEL`], which each process's LISTEN connection
//! (`reader`) hears and hands back here. A notification lost while a listener reconnects
//! loses the signal, which is acceptable for a signal that expires in seconds anyway.

use std::sync::Arc;

use diesel::RunQueryDsl;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

use super::hub::Hub;
use crate::db::Db;
use crate::error::ApiError;
use crate::event::{Event, EventType, Position};

/// The channel ephemeral events travel on between processes.
pub const CHANNEL: &str = "parley_ephemeral";

/// One ephemeral event on the wire between processes (NOTIFY payloads are at most 8000
/// bytes: a namespace, a room of at most 200 characters and a small payload fit).
#[derive(Serialize, Deserialize)]
struct Notice {
    /// The sending process, which delivered it to its own streams already.
    origin: u64,
    namespace: String,
    room: String,
    event: String,
    data: String,
}

pub struct Ephemeral {
    hub: Arc<Hub>,
    db: Db,
    /// Tells this process's own notices apart (several servers may share one OS process
    /// in tests, so not the pid).
    origin: u64,
}

impl Ephemeral {
    pub fn new(hub: Arc<Hub>, db: Db) -> Arc<Self> {
        let mut bytes = [0u8; 8];
        // Without randomness, a clash only makes two processes ignore each other's signals.
        let _ = getrandom::fill(&mut bytes);
        Arc::new(Self {
            hub,
            db,
            origin: u64::from_le_bytes(bytes),
        })
    }

    /// Sends to this process's streams of the room (at once) and to the other processes'.
    pub async fn publish(
        &self,
        namespace: &str,
        room: &str,
        kind: EventType,
        data: String,
    ) -> Result<(), ApiError> {
        let notice = Notice {
            origin: self.origin,
            namespace: namespace.to_owned(),
            room: room.to_owned(),
            event: kind.as_str().to_owned(),
            data,
        };
        let payload =
            serde_json::to_string(&notice).map_err(|error| ApiError::Internal(error.into()))?;
        self.local(namespace, room, kind, notice.data);
        self.db
            .run(move |conn| {
                diesel::sql_query("SELECT pg_notify($1, $2)")
                    .bind::<Text, _>(CHANNEL)
                    .bind::<Text, _>(payload)
                    .execute(conn)
                    .map(drop)
                    .map_err(ApiError::from)
            })
            .await
    }

    /// Sends to this process's streams of the room only.
    pub fn local(&self, namespace: &str, room: &str, kind: EventType, data: String) {
        self.hub.broadcast(Event {
            position: Position::START,
            namespace: namespace.to_owned(),
            room: room.to_owned(),
            kind,
            data: data.into(),
        });
    }

    /// A notice heard on [`CHANNEL`]: delivered unless it is this process's own.
    pub fn received(&self, payload: &str) {
        let Ok(notice) = serde_json::from_str::<Notice>(payload) else {
            tracing::warn!("ignoring a malformed ephemeral notice");
            return;
        };
        if notice.origin == self.origin {
            return;
        }
        match EventType::parse(&notice.event).filter(|kind| kind.is_ephemeral()) {
            Some(kind) => self.local(&notice.namespace, &notice.room, kind, notice.data),
            None => tracing::warn!(event = notice.event, "ignoring an unknown ephemeral event"),
        }
    }
}
