//! One SSE stream: replay from the log after the client's position, `ready`, then live
//! events from the hub; catch up from the log again whenever the hub drops it for being
//! slow. The seam is exact: the hub hands out events after the position at which the
//! stream registered, and the log supplies everything up to it.
//!
//! Reading the log is the work of a task of the stream's own (`CatchUp`), which ends once
//! caught up. Live, the response body (`Body`) takes each event from the hub's queue
//! itself: an idle stream is its connection, its body and its hub registration, and an
//! event reaches the socket with no task of the stream's own to wake in between.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{CacheControl, CacheDirective, ContentEncoding};
use actix_web::web::Bytes;
use bytestring::ByteString;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Sleep};

use super::hub::{Hub, Subscription};
use super::presence::Attendance;
use super::replay::{ReplayPage, Replays};
use crate::api_types::StreamMarker;
use crate::db::Db;
use crate::db::event_log::{self, Completeness};
use crate::error::ApiError;
use crate::event::{Event, EventType, Marker, Position, Target};
use crate::metrics::{METRICS, OpenStream};
use crate::stream_limits::StreamSlot;

/// A catch-up's frames and replay pages waiting for the socket; small, so a slow client
/// slows its own stream only. (Live events wait in the hub's queue, see `Body`.) They travel boxed: a tokio channel allocates its slots 32 at a time as
/// soon as it is created, and 32 unboxed frames would be 3 KiB for every open stream,
/// idle or not.
const OUTGOING_CAPACITY: usize = 32;
/// The most of a frame handed to actix at a time. actix copies what it is given into the
/// connection's write buffer (8 KiB, filled up to 4 KiB, see `startup`), which grows to
/// fit a larger piece and keeps that size for as long as the connection stays open: one
/// large event would leave every stream that received it holding a buffer of that size.
/// In pieces of 2 KiB the buffer never grows; the rest of the frame waits in `Pieces`
/// and is freed as soon as the socket has taken it.
const PIECE: usize = 2 * 1024;
/// The base `retry:` hint; each stream adds up to a second of jitter so that clients
/// dropped together do not all come back in the same millisecond.
const RETRY_BASE: Duration = Duration::from_secs(2);
/// Sent after `keep_alive` without a frame, so that proxies and clients do not take an
/// idle stream for a dead one. A comment line and no blank line after it: a blank line
/// ends an event, and several popular parsers hand an event that has no data to the
/// application as an empty message (see docs/api-design.md, "Framing").
const KEEP_ALIVE: &[u8] = b": keep-alive\n";

/// A replay page on its way to the socket. The stream keeps a reference, so that it can
/// drop a page its socket does not take (see `replay::ReplayBudget`).
type PageSlot = Mutex<Option<Page>>;

/// A page read from the log (shared with the other streams that read it, and holding its
/// share of the replay budget), and how far this stream's socket has taken it. Frames are
/// made one at a time as the socket takes them, so that a page shared by thousands of
/// resuming streams costs each of them a cursor, not a copy.
struct Page {
    read: Arc<ReplayPage>,
    next: usize,
    stream: Arc<Stream>,
    /// Dropped with the page, once the socket has taken its last frame: the stream may
    /// read the next one.
    _taken: oneshot::Sender<()>,
}

impl Page {
    /// The frame of the page's next event that the client asked for.
    fn next_frame(&mut self) -> Option<Frame> {
        while let Some(event) = self.read.events.get(self.next) {
            self.next += 1;
            if self.stream.wants(event.kind) {
                return Some(Frame::of(event));
            }
        }
        None
    }
}

enum Outgoing {
    Frame(Frame),
    Page(Arc<PageSlot>),
    /// The catch-up is over: the body takes the subscription and follows the hub itself.
    Live(Live),
}

/// One event as the client receives it: `id`, `event` and `data` fields, and a blank line.
/// Written out only when the socket takes it, so that frames waiting for the socket share
/// their data with the hub's copy of the event.
struct Frame {
    /// `None` for an ephemeral event: no `id:` line, so the client's resume position stays.
    id: Option<Position>,
    event: &'static str,
    data: ByteString,
}

impl Frame {
    fn of(event: &Event) -> Self {
        Self {
            id: (!event.kind.is_ephemeral()).then_some(event.position),
            event: event.kind.as_str(),
            data: event.data.clone(),
        }
    }

    /// The frame's bytes; the `retry:` hint, if given, goes in as one more field of it.
    fn encode(&self, retry: Option<Duration>) -> Bytes {
        let mut out = String::with_capacity(self.data.len() + 64);
        if let Some(retry) = retry {
            out.push_str(&format!("retry: {}\n", retry.as_millis()));
        }
        if let Some(id) = self.id {
            out.push_str(&format!("id: {id}\n"));
        }
        out.push_str(&format!("event: {}\n", self.event));
        // A line break inside the data would end the field: each line gets a field of its
        // own, which parsers join back with `\n`. (Event data is JSON, whose own line
        // breaks are whitespace.)
        for line in self.data.split('\n') {
            for part in line.strip_suffix('\r').unwrap_or(line).split('\r') {
                out.push_str("data: ");
                out.push_str(part);
                out.push('\n');
            }
        }
        out.push('\n');
        Bytes::from(out)
    }
}

fn lock(slot: &PageSlot) -> std::sync::MutexGuard<'_, Option<Page>> {
    // Nothing panics while holding it; a poisoned page is still a page.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct StreamRequest {
    pub target: Target,
    pub types: Option<HashSet<EventType>>,
    /// The client's `Last-Event-ID`: replay what came after it.
    pub resume_from: Option<Position>,
    /// The stream's place in the open-stream counts (in all and per address), held while
    /// it is open.
    pub slot: StreamSlot,
    /// A room stream's presence (its user, or an anonymous count), held while it is open;
    /// `ready` carries the room's snapshot.
    pub presence: Option<Attendance>,
}

/// Registers the stream with the hub and fixes where it starts, then starts its catch-up
/// and returns the response that carries it. In that order: once a client has the headers,
/// every change made after that reaches it (Mercure and Centrifugo do the same), so
/// `onopen` or a 200 is enough to know a write will be seen; `ready` is not needed for it.
pub async fn open(
    hub: Arc<Hub>,
    db: Db,
    request: StreamRequest,
    keep_alive: Duration,
    replays: Arc<Replays>,
) -> Result<impl actix_web::Responder + use<>, ApiError> {
    let start = Start::connect(&hub, &db, &request.target).await?;
    let stream = Arc::new(Stream {
        hub,
        target: request.target,
        types: request.types,
        replays,
        presence: request.presence,
    });
    let frames = CatchUp::spawn(Arc::clone(&stream), request.resume_from, Some(start));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(ContentEncoding::Identity)
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(Body {
            source: Source::CatchingUp(frames),
            stream,
            retry: Some(retry_with_jitter()),
            keep_alive: KeepAlive::new(keep_alive),
            rest: Bytes::new(),
            _open: OpenStream::new(),
            _slot: request.slot,
        }))
}

/// Where a stream starts: its first registration with the hub, and the position up to
/// which the log (rather than the hub) supplies its events.
struct Start {
    subscription: Subscription,
    upto: Position,
}

impl Start {
    async fn connect(hub: &Arc<Hub>, db: &Db, target: &Target) -> Result<Self, ApiError> {
        let subscription = hub
            .subscribe(target.clone())
            .ok_or(ApiError::ShuttingDown)?;
        // The hub may be a moment behind the log. Catch up with the log itself, so that
        // `ready` covers every change committed before it; the hub's copies of those are
        // skipped by position. A change made after this reads the log has a greater
        // position (a later transaction id) and reaches the hub after the registration.
        // Any read that starts after the registration will do: streams opening together
        // share one.
        let ticket = hub.head_ticket();
        let committed = hub
            .committed_head(ticket, || db.run(|conn| Ok(event_log::head(conn)?)))
            .await?;
        let upto = committed.max(subscription.start);
        Ok(Self { subscription, upto })
    }
}

/// What a stream follows and how it may read the log: shared by its response body and
/// by the catch-up task it starts whenever it has to read the log.
struct Stream {
    hub: Arc<Hub>,
    target: Target,
    types: Option<HashSet<EventType>>,
    replays: Arc<Replays>,
    presence: Option<Attendance>,
}

impl Stream {
    /// Whether the client asked for events of this type (and, in a large room, whether
    /// joins and leaves are replaced by counts).
    fn wants(&self, kind: EventType) -> bool {
        self.types
            .as_ref()
            .is_none_or(|types| types.contains(&kind))
            && !self
                .presence
                .as_ref()
                .is_some_and(|presence| presence.hides(kind))
    }
}

/// A stream following the hub: every event after `last` that arrives on `subscription`.
struct Live {
    subscription: Subscription,
    /// Every event of the stream up to here has been sent (or skipped).
    last: Position,
}

/// Where the body takes its next frame from.
enum Source {
    /// A catch-up task reading the log (a replay after `Last-Event-ID`, or a subscriber
    /// the hub let go for being slow): its frames, then the hand-over to live.
    CatchingUp(ToSocket),
    /// Live: straight from the hub's queue, with no task in between. An idle stream is
    /// then its connection, this body and its hub subscription, and nothing else: no task
    /// of its own, no second queue, no wake-up of a task per event.
    Live(Live),
}

/// The response body: the stream's frames, the first one carrying the `retry:` hint as a
/// field of its own, a keep-alive comment when idle, all handed over in pieces of at
/// most [`PIECE`] bytes. No frame is a blank line on its own, nor a `retry:` or a comment
/// followed by one: parsers that follow the standard ignore those, but popular ones turn
/// them into messages with empty data, which an application that parses every message's
/// JSON fails on.
///
/// It holds the stream's place in the open-stream counts: actix drops it when the client
/// goes (or the response ends), and the place with it.
struct Body {
    source: Source,
    stream: Arc<Stream>,
    /// Taken by the first frame.
    retry: Option<Duration>,
    keep_alive: KeepAlive,
    rest: Bytes,
    _open: OpenStream,
    _slot: StreamSlot,
}

impl Body {
    /// The next frame's bytes; `None` ends the response.
    fn next_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            match &mut self.source {
                Source::CatchingUp(frames) => match frames.poll_next(cx) {
                    Poll::Ready(Some(Next::Frame(frame))) => {
                        return Poll::Ready(Some(frame.encode(self.retry.take())));
                    }
                    Poll::Ready(Some(Next::Live(live))) => self.source = Source::Live(live),
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Pending => return Poll::Pending,
                },
                Source::Live(live) => match live.subscription.events.poll_recv(cx) {
                    Poll::Ready(Some(event)) => {
                        // Ephemeral events are not in the log: sent as they come, without a
                        // position, and they never move the stream's.
                        if !event.kind.is_ephemeral() {
                            if event.position <= live.last {
                                continue;
                            }
                            live.last = event.position;
                        }
                        if !self.stream.wants(event.kind) {
                            continue;
                        }
                        METRICS.events_delivered.inc();
                        let bytes = match self.retry.take() {
                            Some(retry) => Frame::of(&event).encode(Some(retry)),
                            None => event.frame(|event| Frame::of(event).encode(None)),
                        };
                        return Poll::Ready(Some(bytes));
                    }
                    // Dropped by the hub: shutting down, or too slow. Catch up from the log.
                    Poll::Ready(None) => {
                        if self.stream.hub.is_closed() {
                            return Poll::Ready(None);
                        }
                        METRICS.catch_ups.inc();
                        tracing::debug!(target = ?self.stream.target, "slow subscriber: catching up from the log");
                        let from = live.last;
                        self.source = Source::CatchingUp(CatchUp::spawn(
                            Arc::clone(&self.stream),
                            Some(from),
                            None,
                        ));
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

impl MessageBody for Body {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        // Never an empty piece: it would end a chunked body early.
        if this.rest.is_empty() {
            match this.next_frame(cx) {
                Poll::Ready(Some(frame)) => {
                    this.rest = frame;
                    this.keep_alive.sent();
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending if this.keep_alive.due(cx) => {
                    this.rest = Bytes::from_static(KEEP_ALIVE);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        let piece = this.rest.split_to(this.rest.len().min(PIECE));
        Poll::Ready(Some(Ok(piece)))
    }
}

/// When the next keep-alive is due: `period` after the last frame or keep-alive. The timer
/// is not moved for every frame (that would touch the runtime's timer wheel once per
/// event per stream); when it fires early, it is set again for the time still left.
struct KeepAlive {
    period: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl KeepAlive {
    fn new(period: Duration) -> Self {
        let now = Instant::now();
        Self {
            period,
            last: now,
            timer: Box::pin(tokio::time::sleep_until(now + period)),
        }
    }

    fn sent(&mut self) {
        self.last = Instant::now();
    }

    /// Whether one is due now (then counted as sent); otherwise wakes `cx` when it is.
    fn due(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            let next = self.last + self.period;
            let now = Instant::now();
            if next <= now {
                self.last = now;
                self.timer.as_mut().reset(now + self.period);
                return true;
            }
            self.timer.as_mut().reset(next);
        }
    }
}
/// What a catch-up task hands the body next.
enum Next {
    Frame(Frame),
    /// Caught up: the body follows the hub from here.
    Live(Live),
}

/// The frames of a catch-up task on their way to the socket, in order. actix polls the
/// body for more only when its write buffer is nearly empty (under 4 KiB, see `startup`),
/// and the body asks for the next frame only when it has handed over all of the last: so
/// the next frame is taken from here only when the socket has taken the frames before. A
/// replay page is dropped, and its bytes go back to the budget, once the socket has taken
/// its last frame.
struct ToSocket {
    outgoing: mpsc::Receiver<Box<Outgoing>>,
    page: Option<Arc<PageSlot>>,
}

impl ToSocket {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Next>> {
        loop {
            if let Some(slot) = &self.page {
                let mut current = lock(slot);
                match current.as_mut() {
                    Some(taking) => {
                        if let Some(frame) = taking.next_frame() {
                            return Poll::Ready(Some(Next::Frame(frame)));
                        }
                        // All taken: the page goes, and the stream may read the next.
                        *current = None;
                    }
                    // The stream let go of a page this client did not take: the response
                    // ends here, and the client resumes from the last event it received.
                    None => return Poll::Ready(None),
                }
                drop(current);
                self.page = None;
            }
            match self.outgoing.poll_recv(cx) {
                Poll::Ready(Some(item)) => match *item {
                    Outgoing::Frame(frame) => return Poll::Ready(Some(Next::Frame(frame))),
                    Outgoing::Page(slot) => self.page = Some(slot),
                    Outgoing::Live(live) => return Poll::Ready(Some(Next::Live(live))),
                },
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
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
    /// The client did not take a replay page within the stall timeout.
    Stalled,
    Shutdown,
    Failed(ApiError),
}

impl From<ApiError> for End {
    fn from(error: ApiError) -> Self {
        Self::Failed(error)
    }
}

/// Reads from the log what the client has not seen, then hands the stream back to its
/// body, live. Runs once when the stream opens (the replay after `Last-Event-ID`, or
/// nothing, then `ready`) and again each time the hub lets the stream go for being slow.
struct CatchUp {
    stream: Arc<Stream>,
    outgoing: mpsc::Sender<Box<Outgoing>>,
}

impl CatchUp {
    /// Starts catching up after `from` (`None`: from now), from the registration made
    /// before the response when `start` is given (the first catch-up, which ends with
    /// `ready`), or from a new one. Returns what the body reads its frames from.
    fn spawn(stream: Arc<Stream>, from: Option<Position>, start: Option<Start>) -> ToSocket {
        let (outgoing, frames) = mpsc::channel::<Box<Outgoing>>(OUTGOING_CAPACITY);
        actix_web::rt::spawn(async move {
            let catch_up = Self { stream, outgoing };
            if let Err(error) = catch_up.run(from, start).await {
                match error {
                    End::ClientGone | End::Shutdown => {}
                    End::Stalled => {
                        tracing::debug!("closed: a stream whose client took no replay");
                    }
                    End::Failed(error) => tracing::warn!(error = %error, "event stream failed"),
                }
            }
        });
        ToSocket {
            outgoing: frames,
            page: None,
        }
    }

    async fn run(&self, from: Option<Position>, start: Option<Start>) -> Result<(), End> {
        let first = start.is_some();
        let (subscription, upto) = match start {
            Some(Start { subscription, upto }) => (subscription, upto),
            // After the first, the hub's own position is enough: `ready` has been sent.
            None => {
                let stream = &self.stream;
                let subscription = stream
                    .hub
                    .subscribe(stream.target.clone())
                    .ok_or(End::Shutdown)?;
                let upto = subscription.start;
                (subscription, upto)
            }
        };
        let last = match from {
            Some(from) if from < upto => self.replay(from, upto).await?,
            // A position beyond anything this database has committed was not handed out
            // by it (say, the data directory was recreated): the client's state is from
            // elsewhere, and waiting for the log to pass it would skip events.
            Some(from) if first && from > upto => {
                self.send_marker(Marker::Reset, upto).await?;
                upto
            }
            Some(from) => from,
            // Without a position the stream starts now: nothing is replayed.
            None => upto,
        };
        if first {
            self.send_ready(last.max(upto)).await?;
        }
        // Live: the hub hands over events after `start`, in order; the body skips those
        // up to `last`.
        self.outgoing
            .send(Box::new(Outgoing::Live(Live { subscription, last })))
            .await
            .map_err(|_| End::ClientGone)
    }

    /// Sends the stream's events in `(from, upto]` from the log, a page at a time (see
    /// `Replays`). If retention deleted any of them, sends `reset` instead of silently
    /// skipping. Returns the position reached: `upto`, or beyond it when a page read for
    /// another stream went further.
    async fn replay(&self, from: Position, upto: Position) -> Result<Position, End> {
        let stream = &self.stream;
        let mut after = from;
        while after < upto {
            let page = tokio::select! {
                page = stream.replays.page(&stream.target, after, upto) => page?,
                () = self.outgoing.closed() => return Err(End::ClientGone),
            };
            if let Completeness::Pruned(_) = page.completeness {
                let reset_at = upto.max(after);
                self.send_marker(Marker::Reset, reset_at).await?;
                return Ok(reset_at);
            }
            after = page.reached;
            self.send_page(page).await?;
        }
        Ok(after)
    }

    /// Hands a replay page to the socket (the events of it the client asked for) and waits
    /// until the socket has taken all of it, for at most the stall timeout from now.
    async fn send_page(&self, read: Arc<ReplayPage>) -> Result<(), End> {
        let stream = &self.stream;
        let count = read
            .events
            .iter()
            .filter(|event| stream.wants(event.kind))
            .count() as u64;
        if count == 0 {
            return Ok(());
        }
        let (taken, was_taken) = oneshot::channel();
        let slot = Arc::new(Mutex::new(Some(Page {
            read,
            next: 0,
            stream: Arc::clone(stream),
            _taken: taken,
        })));
        let deadline = tokio::time::Instant::now() + self.stream.replays.stall_timeout();
        let page = Box::new(Outgoing::Page(Arc::clone(&slot)));
        match tokio::time::timeout_at(deadline, self.outgoing.send(page)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(End::ClientGone),
            Err(_) => return Err(self.let_go(slot, false).await),
        }
        METRICS.events_delivered.inc_by(count);
        METRICS.replay_pages_sent.inc();
        tokio::select! {
            _ = was_taken => Ok(()),
            () = self.outgoing.closed() => Err(End::ClientGone),
            () = tokio::time::sleep_until(deadline) => Err(self.let_go(slot, true).await),
        }
    }

    /// Drops a page the socket has not taken in time, giving its bytes back, and ends the
    /// response where the page was. A frame already handed to the connection stays there
    /// until the client reads or leaves, and so does the stream: it still counts against
    /// the stream limits until then, so that stalling cannot be used to get around them.
    async fn let_go(&self, slot: Arc<PageSlot>, in_channel: bool) -> End {
        lock(&slot).take();
        METRICS.replay_stalls.inc();
        if !in_channel {
            let _ = self.outgoing.send(Box::new(Outgoing::Page(slot))).await;
        }
        self.outgoing.closed().await;
        End::Stalled
    }

    async fn send_marker(&self, marker_kind: Marker, position: Position) -> Result<(), End> {
        let marker = StreamMarker {
            position: position.to_string(),
            you: None,
            presence: None,
        };
        self.send_marker_data(marker_kind, position, &marker).await
    }

    /// `ready`; on a room's stream with the room's presence exactly at `position` (and, in
    /// a large room, the counts right after it).
    async fn send_ready(&self, position: Position) -> Result<(), End> {
        let Some(attendance) = &self.stream.presence else {
            return self.send_marker(Marker::Ready, position).await;
        };
        let (snapshot, count) = attendance.snapshot(position).await?;
        let marker = StreamMarker {
            position: position.to_string(),
            you: attendance.you().map(str::to_owned),
            presence: Some(snapshot),
        };
        self.send_marker_data(Marker::Ready, position, &marker)
            .await?;
        if let Some(count) = count {
            let data = serde_json::to_string(&count)
                .map_err(|error| End::Failed(ApiError::Internal(error.into())))?;
            self.send(Frame {
                id: None,
                event: EventType::PresenceCount.as_str(),
                data: data.into(),
            })
            .await?;
        }
        Ok(())
    }

    async fn send_marker_data(
        &self,
        marker_kind: Marker,
        position: Position,
        marker: &StreamMarker,
    ) -> Result<(), End> {
        let data = serde_json::to_string(marker)
            .map_err(|error| End::Failed(ApiError::Internal(error.into())))?;
        self.send(Frame {
            id: Some(position),
            event: marker_kind.as_str(),
            data: data.into(),
        })
        .await
    }

    async fn send(&self, frame: Frame) -> Result<(), End> {
        self.outgoing
            .send(Box::new(Outgoing::Frame(frame)))
            .await
            .map_err(|_| End::ClientGone)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &str) -> Frame {
        Frame {
            id: Some(Position { xid: 7, id: 1 }),
            event: "note.created",
            data: data.into(),
        }
    }

    #[test]
    fn the_retry_hint_is_a_field_of_the_frame_it_comes_with() {
        let bytes = frame("{}").encode(Some(Duration::from_millis(2345)));
        assert_eq!(
            bytes,
            "retry: 2345\nid: 7-1\nevent: note.created\ndata: {}\n\n"
        );
        assert_eq!(
            frame("{}").encode(None),
            "id: 7-1\nevent: note.created\ndata: {}\n\n"
        );
    }

    #[test]
    fn each_line_of_the_data_is_a_field_of_its_own() {
        // Parsers join `data:` fields with `\n`; a lone `\r` also ends a line for them.
        let bytes = frame("{\r\n\"a\": 1,\r\"b\": 2\n}\n").encode(None);
        assert_eq!(
            bytes,
            "id: 7-1\nevent: note.created\n\
             data: {\ndata: \"a\": 1,\ndata: \"b\": 2\ndata: }\ndata: \n\n"
        );
    }
}
