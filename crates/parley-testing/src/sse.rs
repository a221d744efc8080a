//! The one Server-Sent Events client of the tests and the bench: parses `id`, `event` and
//! `data`, skips comments and `retry`, and remembers the last `id` to resume from.
//!
//! [`SseClient::open`] and [`SseClient::next`] return errors, for the bench, which counts
//! them. The `connect…`, `expect_event` and `changes…` methods are for tests: they panic
//! instead, and bound every wait by [`PATIENCE`], so that a broken stream fails the test
//! instead of hanging it.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use serde_json::Value;

use crate::app::TestApp;

/// A bound on any single wait of a test, so a broken stream fails the test instead of
/// hanging it. It never decides a test's outcome when the server is correct.
pub const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The event's `id:`, which a client sends back as `Last-Event-ID` to resume.
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("{}: {e}: {}", self.event, self.data))
    }
}

/// One open event stream.
pub struct SseClient {
    response: reqwest::Response,
    /// Raw bytes not yet split into events (a chunk may end inside a UTF-8 character).
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no blank line, so it is not searched again.
    scanned: usize,
    /// The `id` of the last event received: what a reconnecting client sends back.
    pub last_id: Option<String>,
}

impl SseClient {
    /// Opens `url`, resuming after `last_event_id` if given; fails unless the server
    /// answers 200 with `text/event-stream`.
    pub async fn open(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<&str>,
    ) -> Result<Self> {
        let mut request = client.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.with_context(|| format!("GET {url}"))?;
        let status = response.status();
        if status != StatusCode::OK {
            let body = response.text().await.unwrap_or_default();
            bail!("{url}: expected 200 OK, got {status}: {body}");
        }
        let mut stream = Self::from_response(response, url)?;
        stream.last_id = last_event_id.map(str::to_owned);
        Ok(stream)
    }

    /// Reads the events of a response that has already answered 200.
    pub fn from_response(response: reqwest::Response, url: &str) -> Result<Self> {
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type != "text/event-stream" {
            bail!("{url}: content-type is {content_type:?}, not text/event-stream");
        }
        Ok(Self {
            response,
            buffer: Vec::new(),
            scanned: 0,
            last_id: None,
        })
    }

    /// [`open`](Self::open), then reads up to `ready`; returns the replayed events before
    /// it. Unbounded in time: the caller sets its own timeout.
    pub async fn open_ready(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<&str>,
    ) -> Result<(Self, Vec<SseEvent>)> {
        let mut stream = Self::open(client, url, last_event_id).await?;
        let mut replayed = Vec::new();
        loop {
            match stream.next().await? {
                Some(event) if event.event == "ready" => return Ok((stream, replayed)),
                Some(event) => replayed.push(event),
                None => bail!("{url}: the stream ended before `ready`"),
            }
        }
    }

    /// The next event, or `None` when the server ended the stream. Cancel-safe: a
    /// `select!` may drop it between chunks without losing a byte.
    pub async fn next(&mut self) -> Result<Option<SseEvent>> {
        loop {
            // A blank line may straddle the end of what was scanned: back up one byte.
            let from = self.scanned.saturating_sub(1).min(self.buffer.len());
            if let Some(end) = find_blank_line(&self.buffer[from..]).map(|at| at + from) {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                self.scanned = 0;
                let block = String::from_utf8(block).context("the stream is not UTF-8")?;
                if let Some(event) = parse(&block) {
                    if event.id.is_some() {
                        self.last_id.clone_from(&event.id);
                    }
                    return Ok(Some(event));
                }
                continue;
            }
            self.scanned = self.buffer.len();
            match self.response.chunk().await.context("read the stream")? {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => return Ok(None),
            }
        }
    }
}

/// For tests: every failure panics, every wait is bounded by [`PATIENCE`].
impl SseClient {
    /// Opens `path` of `app` (optionally resuming with a `Last-Event-ID` header).
    pub async fn connect(app: &TestApp, path: &str, last_event_id: Option<&str>) -> SseClient {
        Self::connect_to(&app.client, &app.url(path), last_event_id).await
    }

    pub async fn connect_to(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<&str>,
    ) -> SseClient {
        patiently("opening the stream", Self::open(client, url, last_event_id))
            .await
            .expect("open the stream")
    }

    /// Opens `path` and reads up to `ready`; returns the replayed events before it.
    pub async fn connect_ready(
        app: &TestApp,
        path: &str,
        last_event_id: Option<&str>,
    ) -> (SseClient, Vec<SseEvent>) {
        Self::connect_ready_to(&app.client, &app.url(path), last_event_id).await
    }

    pub async fn connect_ready_to(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<&str>,
    ) -> (SseClient, Vec<SseEvent>) {
        let mut stream = Self::connect_to(client, url, last_event_id).await;
        let replayed = stream.until("ready").await;
        (stream, replayed)
    }

    /// The next event, or `None` when the stream ended or failed.
    pub async fn next_or_end(&mut self) -> Option<SseEvent> {
        // Keep-alive comments do not count as progress: the bound is on the event.
        patiently("the next event", self.next())
            .await
            .ok()
            .flatten()
    }

    /// The next event; the stream must not end first.
    pub async fn expect_event(&mut self) -> SseEvent {
        patiently("the next event", self.next())
            .await
            .expect("read the stream")
            .expect("the stream ended early")
    }

    /// Events up to (not including) the first one named `name`, which is consumed.
    pub async fn until(&mut self, name: &str) -> Vec<SseEvent> {
        let mut before = Vec::new();
        loop {
            let event = self.expect_event().await;
            if event.event == name {
                return before;
            }
            before.push(event);
        }
    }

    /// Changes (every event but `ready`) up to and including the first that `done` accepts.
    /// Where `ready` falls is not asserted: a change committed just before connecting can
    /// follow it while another transaction anywhere in the cluster holds the log back.
    pub async fn changes_until(
        &mut self,
        mut done: impl FnMut(&SseEvent) -> bool,
    ) -> Vec<SseEvent> {
        let mut changes = Vec::new();
        loop {
            let event = self.expect_event().await;
            if event.event == "ready" {
                continue;
            }
            let finished = done(&event);
            changes.push(event);
            if finished {
                return changes;
            }
        }
    }

    /// The next `count` changes (events other than `ready`).
    pub async fn changes(&mut self, count: usize) -> Vec<SseEvent> {
        if count == 0 {
            return Vec::new();
        }
        let mut seen = 0;
        self.changes_until(|_| {
            seen += 1;
            seen == count
        })
        .await
    }

    /// The next `count` events.
    pub async fn take(&mut self, count: usize) -> Vec<SseEvent> {
        let mut events = Vec::with_capacity(count);
        while events.len() < count {
            events.push(self.expect_event().await);
        }
        events
    }
}

/// `step`, or a panic naming the stall once [`PATIENCE`] has passed.
async fn patiently<T>(what: &str, step: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, step)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {PATIENCE:?}: the stream stalled"))
}

fn find_blank_line(buffer: &[u8]) -> Option<usize> {
    buffer.windows(2).position(|w| w == b"\n\n")
}

fn parse(block: &str) -> Option<SseEvent> {
    let mut id = None;
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if event.is_none() && data.is_empty() {
        return None;
    }
    Some(SseEvent {
        id,
        event: event.unwrap_or_else(|| "message".to_owned()),
        data: data.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream whose body arrives as `chunks`.
    fn stream_of(chunks: Vec<Vec<u8>>) -> SseClient {
        let chunks = chunks
            .into_iter()
            .map(|chunk| Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)));
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let response = http::Response::builder()
            .header("content-type", "text/event-stream")
            .body(body)
            .expect("a response");
        SseClient::from_response(reqwest::Response::from(response), "test").expect("a stream")
    }

    #[tokio::test]
    async fn events_split_anywhere_across_chunks_arrive_whole() {
        let text = "retry: 1000\n\nid: 7-1\nevent: message.created\ndata: {\"message\":\"é\"}\n\n\
                    : keep-alive\n\nevent: ready\ndata: {}\n\n";
        let expected = [
            SseEvent {
                id: Some("7-1".to_owned()),
                event: "message.created".to_owned(),
                data: "{\"message\":\"é\"}".to_owned(),
            },
            SseEvent {
                id: None,
                event: "ready".to_owned(),
                data: "{}".to_owned(),
            },
        ];
        // Every split point, including inside the two bytes of 'é' and between the two
        // newlines that end an event.
        for at in 1..text.len() {
            let (first, second) = text.as_bytes().split_at(at);
            let mut stream = stream_of(vec![first.to_vec(), second.to_vec()]);
            let mut events = Vec::new();
            while let Some(event) = stream.next().await.expect("a well-formed stream") {
                events.push(event);
            }
            assert_eq!(events, expected, "split at byte {at}");
            assert_eq!(stream.last_id.as_deref(), Some("7-1"), "split at byte {at}");
        }
    }
}
