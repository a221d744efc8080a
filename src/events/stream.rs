//! One SSE stream: replay from the log after the client's position, `ready`, then live
//! events from the hub; catch up from the log again whenever the hub drops it for being
//! slow. The seam is exact: the hub hands out events after the position at which the
//! stream registered, and the log supplies everything up to it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix_web_lab::sse::{self, Sse};
use tokio::sync::mpsc;

use super::hub::Hub;
use super::{Event, EventType, Position, Target};
use crate::db::{Db, events};
use crate::error::ApiError;
use crate::metrics::{METRICS, OpenStream};
use crate::models::StreamMarker;
use crate::stream_limits::StreamSlot;

/// Events read from the log per query while replaying.
const REPLAY_BATCH: i64 = 500;
/// Frames waiting for the socket; small, so a slow client slows its own replay only.
/// They travel boxed: a tokio channel allocates its slots 32 at a time as soon as it is
/// created, and 32 unboxed frames would be 3 KiB for every open stream, idle or not.
const OUTGOING_CAPACITY: usize = 32;
/// The base `retry:` hint; each stream adds up to a second of jitter so that clients
/// dropped together do not all come back in the same millisecond.
const RETRY_BASE: Duration = Duration::from_secs(2);

pub struct StreamRequest {
    pub target: Target,
    pub types: Option<HashSet<EventType>>,
    /// The client's `Last-Event-ID`: replay what came after it.
    pub resume_from: Option<Position>,
    /// The stream's place in the open-stream counts (in all and per address), held while
    /// it is open.
    pub slot: StreamSlot,
}

/// Starts the stream's task and returns the response that carries it.
pub fn open(
    hub: Arc<Hub>,
    db: Db,
    request: StreamRequest,
    keep_alive: Duration,
) -> Result<impl actix_web::Responder + use<>, ApiError> {
    if hub.is_closed() {
        return Err(ApiError::Unavailable(anyhow::anyhow!(
            "the server is shutting down"
        )));
    }
    let (outgoing, mut frames) = mpsc::channel::<Box<sse::Event>>(OUTGOING_CAPACITY);
    actix_web::rt::spawn(async move {
        let _open = OpenStream::new();
        let _slot = request.slot;
        let mut stream = Stream {
            hub,
            db,
            types: request.types,
            outgoing,
        };
        if let Err(error) = stream.run(request.target, request.resume_from).await {
            match error {
                End::ClientGone | End::Shutdown => {}
                End::Failed(error) => tracing::warn!(error = %error, "event stream failed"),
            }
        }
    });
    let frames = futures_util::stream::poll_fn(move |cx| {
        frames.poll_recv(cx).map(|frame| frame.map(|frame| *frame))
    });
    Ok(Sse::from_infallible_stream(frames)
        .with_keep_alive(keep_alive)
        .with_retry_duration(retry_with_jitter()))
}

fn retry_with_jitter() -> Duration {
    let mut bytes = [0u8; 2];
    let jitter = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from(u16::from_le_bytes(bytes)) % 1000,
        Err(_) => 500,
    };
    RETRY_BASE + Duration::from_millis(jitter)
}

enum End {
    ClientGone,
    Shutdown,
    Failed(ApiError),
}

impl From<ApiError> for End {
    fn from(error: ApiError) -> Self {
        Self::Failed(error)
    }
}

struct Stream {
    hub: Arc<Hub>,
    db: Db,
    types: Option<HashSet<EventType>>,
    outgoing: mpsc::Sender<Box<sse::Event>>,
}

impl Stream {
    async fn run(&mut self, target: Target, resume_from: Option<Position>) -> Result<(), End> {
        let mut sent_ready = false;
        // `last`: every event of the stream up to here has been sent (or skipped).
        let mut last = resume_from;
        loop {
            let mut subscription = self.hub.subscribe(target.clone()).ok_or(End::Shutdown)?;
            // The hub may be a moment behind the log. On connecting, catch up with the
            // log itself, so that `ready` covers every change committed before it; the
            // hub's copies of those are skipped below by position.
            let upto = if sent_ready {
                subscription.start
            } else {
                let committed = self.db.run(|conn| Ok(events::head(conn)?)).await?;
                committed.max(subscription.start)
            };
            match last {
                Some(from) if from < upto => last = Some(self.replay(&target, from, upto).await?),
                // A position beyond anything this database has committed was not handed
                // out by it (say, the data directory was recreated): the client's state
                // is from elsewhere, and waiting for the log to pass it would skip events.
                Some(from) if !sent_ready && from > upto => {
                    self.send_marker("reset", upto).await?;
                    last = Some(upto);
                }
                Some(_) => {}
                // Without a position the stream starts now: nothing is replayed.
                None => last = Some(upto),
            }
            if !sent_ready {
                self.send_marker("ready", last.unwrap_or(upto).max(upto))
                    .await?;
                sent_ready = true;
            }
            // Live: the hub hands over events after `start`, in order.
            loop {
                tokio::select! {
                    event = subscription.events.recv() => match event {
                        Some(event) => {
                            if last.is_none_or(|last| event.position > last) {
                                self.send_event(&event).await?;
                                last = Some(event.position);
                            }
                        }
                        // Dropped by the hub: shutting down, or too slow. Catch up.
                        None => break,
                    },
                    () = self.outgoing.closed() => return Err(End::ClientGone),
                }
            }
            if self.hub.is_closed() {
                return Err(End::Shutdown);
            }
            METRICS.catch_ups.inc();
            tracing::debug!(?target, "slow subscriber: catching up from the log");
        }
    }

    /// Sends the stream's events in `(from, upto]` from the log. If retention deleted any
    /// of them, sends `reset` instead of silently skipping. Returns the position reached.
    async fn replay(
        &mut self,
        target: &Target,
        from: Position,
        upto: Position,
    ) -> Result<Position, End> {
        if from < self.floor().await? {
            self.send_marker("reset", upto).await?;
            return Ok(upto);
        }
        let mut after = from;
        loop {
            let target_for_query = target.clone();
            let batch = self
                .db
                .run(move |conn| {
                    Ok(events::replay(
                        conn,
                        &target_for_query,
                        after,
                        upto,
                        REPLAY_BATCH,
                    )?)
                })
                .await?;
            let done = (batch.len() as i64) < REPLAY_BATCH;
            for event in &batch {
                self.send_event(event).await?;
                after = event.position;
            }
            if done {
                break;
            }
        }
        // Checked again after reading: a prune that removed anything we needed while we
        // read has raised the floor past `from` by now.
        if from < self.floor().await? {
            self.send_marker("reset", upto).await?;
        }
        Ok(upto)
    }

    async fn floor(&self) -> Result<Position, End> {
        Ok(self.db.run(|conn| Ok(events::floor(conn)?)).await?)
    }

    async fn send_event(&self, event: &Event) -> Result<(), End> {
        if self
            .types
            .as_ref()
            .is_some_and(|types| !types.contains(&event.kind))
        {
            return Ok(());
        }
        let frame = sse::Data::new(event.data.clone())
            .event(event.kind.as_str())
            .id(event.position.to_string());
        self.send(frame.into()).await?;
        METRICS.events_delivered.inc();
        Ok(())
    }

    async fn send_marker(&self, name: &'static str, position: Position) -> Result<(), End> {
        let marker = StreamMarker {
            position: position.to_string(),
        };
        let frame = sse::Data::new_json(&marker)
            .map_err(|error| End::Failed(ApiError::Internal(error.into())))?
            .event(name)
            .id(position.to_string());
        self.send(frame.into()).await
    }

    async fn send(&self, frame: sse::Event) -> Result<(), End> {
        self.outgoing
            .send(Box::new(frame))
            .await
            .map_err(|_| End::ClientGone)
    }
}
