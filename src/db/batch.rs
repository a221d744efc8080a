//! Group commit for the single-statement writes ([`Statement`]): statements of one kind
//! that arrive while earlier ones of that kind are running wait here, and run together as
//! one multi-row statement (one transaction, one commit and one WAL flush for all of
//! them) as soon as a batch finishes. A statement that finds fewer than the allowed number
//! of batches running starts one at once, so a write with no concurrency never waits for
//! a timer or for company. docs/event-log.md argues why a batch keeps every event's
//! guarantees; docs/performance.md measured the number of batches allowed in flight.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use diesel::PgConnection;
use tokio::sync::oneshot;

use super::outbox::{Outcome, Statement};
use crate::error::ApiError;
use crate::metrics::METRICS;

/// Most statements one batch runs together. Larger batches commit more per round trip but
/// hold their row locks longer and make one slow statement; 64 already covers 50 clients.
pub const MAX_BATCH: usize = 64;

/// Most statements of one kind that may wait for a batch; the next one gets 503 with
/// `Retry-After`. Enough for a few batches' worth behind every running one.
pub const MAX_WAITING: usize = 16 * MAX_BATCH;

/// The answer a waiting statement gets from the batch that ran it.
pub(super) type Reply<S> = oneshot::Sender<Result<Outcome<S>, ApiError>>;

/// One statement waiting to run, and where its answer goes.
pub(super) struct Pending<S: Statement> {
    pub statement: S,
    pub reply: Reply<S>,
}

/// The statements of one kind that wait, and how many batches of that kind are running.
pub(super) struct Queue<S: Statement> {
    state: Mutex<State<S>>,
    /// Batches of this kind that may run at once.
    max_running: usize,
}

struct State<S: Statement> {
    waiting: VecDeque<Pending<S>>,
    running: usize,
}

impl<S: Statement> Queue<S> {
    fn new(max_running: usize) -> Self {
        Self {
            state: Mutex::new(State {
                waiting: VecDeque::new(),
                running: 0,
            }),
            max_running: max_running.max(1),
        }
    }

    fn state(&self) -> MutexGuard<'_, State<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `pending`, or, when fewer than the allowed batches are running, returns the
    /// batch it starts (it first, then any that waited), which the caller must run and
    /// then hand on with [`Queue::next`]. A full queue refuses it.
    pub fn submit(&self, pending: Pending<S>) -> Result<Option<Vec<Pending<S>>>, ApiError> {
        let mut state = self.state();
        if state.running < self.max_running {
            state.running += 1;
            let mut batch = Vec::with_capacity(1 + state.waiting.len().min(MAX_BATCH - 1));
            batch.push(pending);
            take(&mut state.waiting, &mut batch);
            return Ok(Some(batch));
        }
        if state.waiting.len() >= MAX_WAITING {
            return Err(ApiError::Overloaded {
                detail: format!(
                    "{MAX_WAITING} writes of this kind are already waiting for the database; \
                     try again shortly"
                ),
                retry_after: 1,
            });
        }
        state.waiting.push_back(pending);
        METRICS.writes_waiting.inc();
        Ok(None)
    }

    /// Called by a running batch when it has answered its statements: the next batch
    /// (what waited, oldest first, at most [`MAX_BATCH`]) for it to run, or nothing, and
    /// then the batch no longer counts as running.
    fn next(&self) -> Vec<Pending<S>> {
        let mut state = self.state();
        let mut batch = Vec::new();
        take(&mut state.waiting, &mut batch);
        if batch.is_empty() {
            state.running = state.running.saturating_sub(1);
        }
        batch
    }
}

/// A batch that counts as running in its queue until it finds nothing more to run, gives
/// up, or is dropped by a panic (which then fails what waits, rather than strand it).
pub(super) struct Running<'q, S: Statement> {
    queue: &'q Queue<S>,
    done: bool,
}

impl<'q, S: Statement> Running<'q, S> {
    pub fn new(queue: &'q Queue<S>) -> Self {
        Self { queue, done: false }
    }

    /// The next batch to run; empty when there is none, and then this batch has ended.
    pub fn next(&mut self) -> Vec<Pending<S>> {
        let batch = self.queue.next();
        self.done = batch.is_empty();
        batch
    }

    /// Ends this batch, returning everything that waited, for the caller to fail.
    pub fn give_up(&mut self) -> Vec<Pending<S>> {
        self.done = true;
        let mut state = self.queue.state();
        state.running = state.running.saturating_sub(1);
        METRICS.writes_waiting.dec_by(state.waiting.len() as i64);
        state.waiting.drain(..).collect()
    }
}

impl<S: Statement> Drop for Running<'_, S> {
    fn drop(&mut self) {
        if !self.done {
            // Their replies are dropped with them: each caller gets an error.
            drop(self.give_up());
        }
    }
}

fn take<S: Statement>(waiting: &mut VecDeque<Pending<S>>, batch: &mut Vec<Pending<S>>) {
    let taken = MAX_BATCH.saturating_sub(batch.len()).min(waiting.len());
    batch.extend(waiting.drain(..taken));
    METRICS.writes_waiting.dec_by(taken as i64);
}

/// One [`Queue`] per kind of statement, made on first use, so that a new [`Statement`]
/// batches without being registered anywhere.
pub(super) struct Queues {
    by_kind: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    max_running: usize,
}

impl Queues {
    pub fn new(max_running: usize) -> Self {
        Self {
            by_kind: Mutex::default(),
            max_running,
        }
    }

    pub fn of<S: Statement>(&self) -> Arc<Queue<S>> {
        let mut by_kind = self.by_kind.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = by_kind
            .entry(TypeId::of::<S>())
            .or_insert_with(|| Arc::new(Queue::<S>::new(self.max_running)));
        match Arc::clone(queue).downcast::<Queue<S>>() {
            Ok(queue) => queue,
            // Unreachable: the map is keyed by the queue's own statement type.
            Err(_) => Arc::new(Queue::new(self.max_running)),
        }
    }
}

/// Runs `batch` on `conn`: one statement when it holds one (the single statement, which
/// is cheaper than a one-row batch), else one multi-row statement. If the multi-row
/// statement fails as a whole (a taken key, say, or a lost connection), each statement
/// runs again on its own, so that only the one at fault fails, with its own error.
pub(super) fn run<S: Statement>(
    conn: &mut PgConnection,
    batch: &[S],
) -> Vec<Result<Outcome<S>, ApiError>> {
    METRICS.write_batches.inc();
    if let [one] = batch {
        return vec![one.run(conn).map_err(ApiError::from)];
    }
    match S::run_batch(batch, conn) {
        Ok(outcomes) if outcomes.len() == batch.len() => outcomes
            .into_iter()
            .map(|outcome| outcome.map_err(ApiError::from))
            .collect(),
        // The statement committed, so running it again would write twice: fail each.
        Ok(outcomes) => {
            tracing::error!(
                statements = batch.len(),
                outcomes = outcomes.len(),
                "a batch returned a different number of outcomes than it had statements"
            );
            batch
                .iter()
                .map(|_| {
                    Err(ApiError::Internal(anyhow::anyhow!(
                        "a batch of writes returned the wrong number of outcomes"
                    )))
                })
                .collect()
        }
        // The statement failed as a whole and wrote nothing.
        Err(error) => {
            tracing::debug!(%error, statements = batch.len(), "a batch failed; running it one by one");
            one_by_one(conn, batch)
        }
    }
}

fn one_by_one<S: Statement>(
    conn: &mut PgConnection,
    batch: &[S],
) -> Vec<Result<Outcome<S>, ApiError>> {
    batch
        .iter()
        .map(|statement| statement.run(conn).map_err(ApiError::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use diesel::QueryResult;

    use super::*;
    use crate::event::EventType;

    /// A kind of statement that is only queued, never run.
    struct Queued;

    impl Statement for Queued {
        const EVENT: EventType = EventType::MessageCreated;
        type Written = ();
        type Refused = ();

        fn run(&self, _: &mut PgConnection) -> QueryResult<Outcome<Self>> {
            Ok(Ok(()))
        }

        fn run_batch(
            batch: &[Self],
            _: &mut PgConnection,
        ) -> QueryResult<Vec<QueryResult<Outcome<Self>>>> {
            Ok(batch.iter().map(|_| Ok(Ok(()))).collect())
        }
    }

    fn pending() -> (
        Pending<Queued>,
        oneshot::Receiver<Result<Outcome<Queued>, ApiError>>,
    ) {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            statement: Queued,
            reply,
        };
        (pending, answer)
    }

    fn submit(queue: &Queue<Queued>) -> Result<Option<usize>, ApiError> {
        let (pending, _) = pending();
        queue
            .submit(pending)
            .map(|batch| batch.map(|batch| batch.len()))
    }

    #[test]
    fn writes_run_at_once_until_the_batches_run_then_wait_then_go_together() {
        let queue = Queue::<Queued>::new(2);
        assert_eq!(submit(&queue).ok(), Some(Some(1)), "the first runs at once");
        assert_eq!(submit(&queue).ok(), Some(Some(1)), "so does a second batch");
        for _ in 0..(MAX_BATCH + 3) {
            assert_eq!(submit(&queue).ok(), Some(None), "the rest wait");
        }
        let mut running = Running::new(&queue);
        assert_eq!(
            running.next().len(),
            MAX_BATCH,
            "the next batch takes at most MAX_BATCH"
        );
        assert_eq!(running.next().len(), 3, "then the rest");
        assert!(running.next().is_empty(), "then the batch ends");
        assert_eq!(submit(&queue).ok(), Some(Some(1)), "its slot is free again");
    }

    #[test]
    fn a_full_queue_refuses_with_503_and_retry_after() {
        let queue = Queue::<Queued>::new(1);
        assert_eq!(submit(&queue).ok(), Some(Some(1)));
        for _ in 0..MAX_WAITING {
            assert_eq!(submit(&queue).ok(), Some(None));
        }
        match submit(&queue) {
            Err(ApiError::Overloaded { retry_after, .. }) => assert_eq!(retry_after, 1),
            other => panic!("expected 503, got {:?}", other.map_err(|e| e.to_string())),
        }
        // A batch that gives up fails everything waiting, and frees its slot.
        let waiting = Running::new(&queue).give_up();
        assert_eq!(waiting.len(), MAX_WAITING);
        assert_eq!(submit(&queue).ok(), Some(Some(1)));
    }

    #[test]
    fn a_batch_dropped_by_a_panic_fails_what_waits_instead_of_stranding_it() {
        let queue = Queue::<Queued>::new(1);
        assert_eq!(submit(&queue).ok(), Some(Some(1)));
        let (waiting, mut answer) = pending();
        assert!(matches!(queue.submit(waiting), Ok(None)));
        drop(Running::new(&queue));
        assert!(matches!(
            answer.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert_eq!(submit(&queue).ok(), Some(Some(1)));
    }
}
