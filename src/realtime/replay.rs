//! Reading streams' backlogs from the log, a page at a time, within one memory budget;
//! streams that catch up on the same events at the same time share each page.
//!
//! After a restart every client comes back within a few seconds (the `retry:` jitter
//! spreads them over one), and the streams of a room come back from the same
//! `Last-Event-ID`: they all had the room's last event. Read per stream, that was four
//! database round trips per resumed stream, and 10,000 resumes queued for the pool for
//! seconds. Read per `(target, position)`, it is two per room (docs/performance.md,
//! "Reconnect storm").

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::single_flight::SingleFlight;
use crate::db::Db;
use crate::db::event_log::{self, Completeness};
use crate::error::ApiError;
use crate::event::{Event, Position, Target};
use crate::metrics::METRICS;

/// Most events in one replay page (a page is also bounded in bytes, see `ReplayBudget`).
const REPLAY_BATCH: i64 = 500;

/// Bounds the memory of catching up from the log (replays after `Last-Event-ID`, and slow
/// subscribers the hub let go), in bytes of event data rather than in rows: events can be
/// up to the body limit each, and 500 of them were 120 MB per stream.
///
/// A stream reads one page at a time, of at most `page_bytes` (or one event, when that
/// event alone is larger), and reads the next only once its socket has taken the last
/// frame of the page. Before reading a page its bytes are taken from one process-wide
/// budget of `memory` bytes, and given back when every stream sharing the page has handed
/// it to its socket; while the budget is spent, catch-ups wait for it (live streams do
/// not use it). A page larger than the whole budget waits for all of it. A page a socket
/// has not taken within `stall_timeout` is dropped and that response ends there, so that
/// clients that never read cannot hold the budget for ever; a real client resumes from its
/// last event.
pub struct ReplayBudget {
    memory: Arc<Semaphore>,
    total: u32,
    page_bytes: u32,
    stall_timeout: Duration,
}

impl ReplayBudget {
    pub fn new(page_bytes: u32, memory: u32, stall_timeout: Duration) -> Self {
        let total = memory.max(1);
        Self {
            memory: Arc::new(Semaphore::new(total as usize)),
            total,
            page_bytes: page_bytes.max(1),
            stall_timeout,
        }
    }

    /// Waits until `bytes` (at most the whole budget) are free and takes them.
    async fn reserve(&self, bytes: u64) -> Result<Reserved, ApiError> {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX).min(self.total);
        let permit = Arc::clone(&self.memory)
            .acquire_many_owned(bytes)
            .await
            .map_err(|_| ApiError::ShuttingDown)?;
        METRICS.replay_bytes.inc_by(i64::from(bytes));
        Ok(Reserved {
            _permit: permit,
            bytes,
        })
    }
}

/// A page's share of the replay budget, given back when dropped.
struct Reserved {
    _permit: OwnedSemaphorePermit,
    bytes: u32,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        METRICS.replay_bytes.dec_by(i64::from(self.bytes));
    }
}

/// One page of a target's log after a position, as read for whichever streams asked for
/// it while it was read. Holds its bytes of the budget until the last of them lets go.
pub struct ReplayPage {
    /// In log order; every stream filters them by the event types it asked for.
    pub events: Vec<Event>,
    /// Every event of the target up to here is in this page or an earlier one: the last
    /// event's position when the page was cut short, else the end of the range read.
    pub reached: Position,
    /// Whether retention had deleted events of the range: the stream sends `reset`.
    pub completeness: Completeness,
    _reserved: Option<Reserved>,
}

pub struct Replays {
    db: Db,
    budget: ReplayBudget,
    /// Pages being read, by target and the position they start after.
    reading: SingleFlight<(Target, Position), Arc<ReplayPage>>,
}

impl Replays {
    pub fn new(db: Db, budget: ReplayBudget) -> Self {
        Self {
            db,
            budget,
            reading: SingleFlight::default(),
        }
    }

    pub fn stall_timeout(&self) -> Duration {
        self.budget.stall_timeout
    }

    /// The page of `target`'s events that follows `after`, reading at most up to `upto`
    /// (a position every event below which is committed). A page another stream is reading
    /// from the same position serves this one too, whatever its `upto`: any committed
    /// position will do, as the stream continues from the page's `reached`, and the hub
    /// supplies what comes after the stream's own end.
    pub async fn page(
        &self,
        target: &Target,
        after: Position,
        upto: Position,
    ) -> Result<Arc<ReplayPage>, ApiError> {
        self.reading
            .run((target.clone(), after), || self.read(target, after, upto))
            .await
    }

    async fn read(
        &self,
        target: &Target,
        after: Position,
        upto: Position,
    ) -> Result<Arc<ReplayPage>, ApiError> {
        METRICS.replay_pages_read.inc();
        let (for_query, page_bytes) = (target.clone(), u64::from(self.budget.page_bytes));
        let (end, completeness) = self
            .db
            .run(move |conn| {
                Ok(event_log::replay_page(
                    conn,
                    &for_query,
                    after,
                    upto,
                    REPLAY_BATCH,
                    page_bytes,
                )?)
            })
            .await?;
        let end = match end {
            Some(end) if completeness == Completeness::Whole => end,
            _ => {
                return Ok(Arc::new(ReplayPage {
                    events: Vec::new(),
                    reached: upto,
                    completeness,
                    _reserved: None,
                }));
            }
        };
        let reserved = self.budget.reserve(end.bytes).await?;
        let for_query = target.clone();
        let (events, completeness) = self
            .db
            .run(move |conn| {
                Ok(event_log::replay(
                    conn,
                    &for_query,
                    after,
                    end.end,
                    REPLAY_BATCH,
                )?)
            })
            .await?;
        Ok(Arc::new(ReplayPage {
            events,
            reached: if end.more { end.end } else { upto },
            completeness,
            _reserved: Some(reserved),
        }))
    }
}
