//! Prometheus metrics: one process-wide registry, rendered at `/metrics`.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/api/notes/{key}`), never the raw path: bounded cardinality.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub open_streams: Gauge,
    pub events_appended: Counter,
    pub events_dispatched: Counter,
    pub events_delivered: Counter,
    pub catch_ups: Counter,
    pub subscribers: Gauge,
    pub pool_connections: Gauge,
    pub pool_idle_connections: Gauge,
    pub replay_bytes: Gauge,
    pub replay_stalls: Counter,
    pub replay_pages_read: Counter,
    pub replay_pages_sent: Counter,
    pub writes_waiting: Gauge,
    pub write_batches: Counter,
    /// `parley_recent_lookups_total{outcome="hit"}` and `{outcome="miss"}`.
    pub recent_hits: Counter,
    pub recent_misses: Counter,
    pub recent_loads: Counter,
    pub recent_evictions: Counter,
    pub recent_rooms: Gauge,
    pub recent_bytes: Gauge,
    /// `parley_presence_writes_total{change="join"}` and `{change="leave"}`.
    pub presence_joins: Counter,
    pub presence_leaves: Counter,
    pub presence_rooms: Gauge,
    pub presence_members: Gauge,
}

/// Whether a room's first page was answered from memory (`realtime::recent`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RecentLabels {
    pub outcome: RecentOutcome,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum RecentOutcome {
    hit,
    miss,
}

/// A presence change this process wrote to the log.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PresenceLabels {
    pub change: PresenceChange,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum PresenceChange {
    join,
    leave,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ])
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let requests = Family::<RequestLabels, Counter>::default();
    let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(
        latency_histogram as fn() -> Histogram,
    );
    let (open_streams, subscribers) = (Gauge::default(), Gauge::default());
    let (pool_connections, pool_idle_connections) = (Gauge::default(), Gauge::default());
    let (events_appended, events_dispatched) = (Counter::default(), Counter::default());
    let (events_delivered, catch_ups) = (Counter::default(), Counter::default());

    let mut registry = Registry::with_prefix("parley");
    registry.register("http_requests", "HTTP requests answered", requests.clone());
    registry.register(
        "http_request_duration_seconds",
        "Time to the response head (for event streams: until the stream starts)",
        request_seconds.clone(),
    );
    registry.register(
        "sse_open_streams",
        "Event streams open now",
        open_streams.clone(),
    );
    registry.register(
        "events_appended",
        "Events this process appended to the log (committed with their change)",
        events_appended.clone(),
    );
    registry.register(
        "events_dispatched",
        "Events this process's reader read from the log and handed to the hub",
        events_dispatched.clone(),
    );
    registry.register(
        "events_delivered",
        "Event frames written to streams (one per event per subscriber)",
        events_delivered.clone(),
    );
    registry.register(
        "sse_catch_ups",
        "Times a subscriber fell behind its queue and caught up from the log",
        catch_ups.clone(),
    );
    registry.register(
        "hub_subscribers",
        "Streams registered with the hub for live events",
        subscribers.clone(),
    );
    registry.register(
        "db_pool_connections",
        "Database connections in the pool",
        pool_connections.clone(),
    );
    registry.register(
        "db_pool_idle_connections",
        "Idle database connections in the pool",
        pool_idle_connections.clone(),
    );
    let replay_bytes = Gauge::default();
    registry.register(
        "replay_bytes",
        "Bytes of event data read from the log for catch-ups and not yet taken by their sockets",
        replay_bytes.clone(),
    );
    let replay_stalls = Counter::default();
    registry.register(
        "replay_stalls",
        "Catch-up pages dropped because their socket did not take them within --replay-stall-timeout",
        replay_stalls.clone(),
    );
    let replay_pages_read = Counter::default();
    registry.register(
        "replay_pages_read",
        "Catch-up pages read from the log; streams catching up from the same position at the same time share one",
        replay_pages_read.clone(),
    );
    let replay_pages_sent = Counter::default();
    registry.register(
        "replay_pages_sent",
        "Catch-up pages handed to streams (over replay_pages_read: how many streams shared a read)",
        replay_pages_sent.clone(),
    );
    let writes_waiting = Gauge::default();
    registry.register(
        "writes_waiting",
        "Single-statement writes (message posts, note creations) waiting for the next batch",
        writes_waiting.clone(),
    );
    let write_batches = Counter::default();
    registry.register(
        "write_batches",
        "Batches of single-statement writes run (each one transaction; events_appended over this is the mean batch)",
        write_batches.clone(),
    );
    let recent_lookups = Family::<RecentLabels, Counter>::default();
    registry.register(
        "recent_lookups",
        "First pages of room lists looked up in memory (hit) or not found there (miss: read from the database)",
        recent_lookups.clone(),
    );
    let outcome = |outcome| {
        recent_lookups
            .get_or_create(&RecentLabels { outcome })
            .clone()
    };
    let (recent_hits, recent_misses) = (outcome(RecentOutcome::hit), outcome(RecentOutcome::miss));
    let (recent_loads, recent_evictions) = (Counter::default(), Counter::default());
    registry.register(
        "recent_loads",
        "Rooms loaded into the recent-messages memory from the database",
        recent_loads.clone(),
    );
    registry.register(
        "recent_evictions",
        "Rooms dropped from the recent-messages memory by its bounds",
        recent_evictions.clone(),
    );
    let (recent_rooms, recent_bytes) = (Gauge::default(), Gauge::default());
    registry.register(
        "recent_rooms",
        "Rooms whose newest messages are kept in memory",
        recent_rooms.clone(),
    );
    registry.register(
        "recent_bytes",
        "Bytes of messages kept in memory (bounded by --recent-memory)",
        recent_bytes.clone(),
    );
    let presence_writes = Family::<PresenceLabels, Counter>::default();
    registry.register(
        "presence_writes",
        "presence.joined and presence.left events this process wrote (a member's first stream anywhere, or the end of their grace)",
        presence_writes.clone(),
    );
    let change = |change| {
        presence_writes
            .get_or_create(&PresenceLabels { change })
            .clone()
    };
    let (presence_joins, presence_leaves) =
        (change(PresenceChange::join), change(PresenceChange::leave));
    let (presence_rooms, presence_members) = (Gauge::default(), Gauge::default());
    registry.register(
        "presence_rooms",
        "Rooms with an open stream on this process",
        presence_rooms.clone(),
    );
    registry.register(
        "presence_members",
        "Signed-in members of rooms with a stream on this process, or within their grace after the last closed",
        presence_members.clone(),
    );
    Metrics {
        registry,
        requests,
        request_seconds,
        open_streams,
        events_appended,
        events_dispatched,
        events_delivered,
        catch_ups,
        subscribers,
        pool_connections,
        pool_idle_connections,
        replay_bytes,
        replay_stalls,
        replay_pages_read,
        replay_pages_sent,
        writes_waiting,
        write_batches,
        recent_hits,
        recent_misses,
        recent_loads,
        recent_evictions,
        recent_rooms,
        recent_bytes,
        presence_joins,
        presence_leaves,
        presence_rooms,
        presence_members,
    }
});

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "could not render metrics");
        }
        text
    }
}

/// The route label of requests no route took.
const UNMATCHED: &str = "unmatched";

/// The method label: a client may send any token as a method, and each label value is a
/// series kept for the life of the process, so only the standard methods are named.
fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// Counts every request by method, route pattern and status, and times it. Every label
/// comes from a closed set (see `method_label`, `UNMATCHED`).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method()).to_owned();
    let response = next.call(req).await?;
    // Only patterns of the route table: a raw path would make a series per URL.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let status = response.status().as_u16();
    METRICS
        .request_seconds
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status,
        })
        .inc();
    Ok(response)
}

/// Counts an open stream for as long as it lives.
pub struct OpenStream;

impl OpenStream {
    pub fn new() -> Self {
        METRICS.open_streams.inc();
        Self
    }
}

impl Default for OpenStream {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        METRICS.open_streams.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::TRACE), "TRACE");
        for custom in ["PROPFIND", "get", "X".repeat(500).as_str()] {
            let method = Method::from_bytes(custom.as_bytes()).expect("a method token");
            assert_eq!(method_label(&method), "other", "{custom}");
        }
    }
}
