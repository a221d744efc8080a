//! A minimal Server-Sent Events client for the tests: parses `id`, `event` and `data`,
//! skips comments and `retry`.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

/// A bound on any single wait, so a broken stream fails the test instead of hanging it.
/// It never decides a test's outcome when the server is correct.
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
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

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

pub struct SseClient {
    body: Body,
    buffer: String,
    /// The `id` of the last event received: what a reconnecting client sends back.
    pub last_id: Option<String>,
}

impl SseClient {
    /// Opens `path` (optionally resuming with a `Last-Event-ID` header).
    pub async fn connect(app: &TestApp, path: &str, last_event_id: Option<&str>) -> SseClient {
        Self::connect_to(&app.client, &app.url(path), last_event_id).await
    }

    pub async fn connect_to(
        client: &reqwest::Client,
        url: &str,
        last_event_id: Option<&str>,
    ) -> SseClient {
        let path = url;
        let mut request = client.get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("open the stream");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(content_type, "text/event-stream", "{path}");
        SseClient {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            last_id: last_event_id.map(str::to_owned),
        }
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
        let mut client = Self::connect_to(client, url, last_event_id).await;
        let replayed = client.until("ready").await;
        (client, replayed)
    }

    /// The next event, or `None` when the server ended the stream.
    pub async fn next(&mut self) -> Option<SseEvent> {
        // Keep-alive comments do not count as progress: the bound is on the event.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    if event.id.is_some() {
                        self.last_id.clone_from(&event.id);
                    }
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .expect("no event within the patience bound: the stream stalled");
            match chunk {
                Some(Ok(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next event; the stream must not end first.
    pub async fn expect_event(&mut self) -> SseEvent {
        self.next().await.expect("the stream ended early")
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
