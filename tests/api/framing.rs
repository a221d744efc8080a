//! The bytes of a stream: every frame is an event with data, so that no parser, however
//! loose, hands the application an empty message. The third-party parsers themselves are
//! driven against the real binary by clients/parsers.

use std::time::Duration;

use futures_util::StreamExt;
use parley_testing::sse::PATIENCE;
use parley_testing::{TestApp, spawn_app_with};

/// Short, so that several keep-alives arrive within a test.
const KEEP_ALIVE: Duration = Duration::from_millis(100);

/// A stream's raw body, read as text.
struct RawStream {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<actix_web::web::Bytes>>,
    text: String,
}

impl RawStream {
    async fn open(app: &TestApp, path: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app.client.get(app.url(path));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("open the stream");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        Self {
            body: response.bytes_stream().boxed(),
            text: String::new(),
        }
    }

    /// Reads until `done` holds for the text received so far.
    async fn read_until(&mut self, what: &str, done: impl Fn(&str) -> bool) {
        let read = async {
            while !done(&self.text) {
                let chunk = self
                    .body
                    .next()
                    .await
                    .expect("the stream ended early")
                    .expect("read the stream");
                self.text
                    .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
            }
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .unwrap_or_else(|_| panic!("{what}: nothing within {PATIENCE:?}: {:?}", self.text));
    }

    fn frames(&self) -> Vec<&str> {
        frames(&self.text)
    }
}

/// The complete frames of `text`: the text up to each blank line.
fn frames(text: &str) -> Vec<&str> {
    let complete = text.rfind("\n\n").map_or("", |end| &text[..end]);
    complete
        .split("\n\n")
        .filter(|_| !complete.is_empty())
        .collect()
}

fn lines_of<'a>(frame: &'a str, field: &str) -> Vec<&'a str> {
    let prefix = format!("{field}: ");
    frame
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .collect()
}

/// Every frame is an event (`id`, `event`, JSON `data`); only the first has a `retry:`,
/// between 2 and 3 seconds; comments are lines of their own, inside no frame of their own.
fn assert_every_frame_is_an_event(stream: &RawStream) {
    let frames = stream.frames();
    assert!(!frames.is_empty(), "no frame in {:?}", stream.text);
    for (n, frame) in frames.iter().enumerate() {
        let fields: Vec<&str> = frame
            .lines()
            .filter(|line| !line.starts_with(':'))
            .collect();
        assert!(
            !fields.is_empty(),
            "frame {n} holds only comments: {frame:?}"
        );
        assert_eq!(lines_of(frame, "id").len(), 1, "frame {n}: {frame:?}");
        assert_eq!(lines_of(frame, "event").len(), 1, "frame {n}: {frame:?}");
        let data = lines_of(frame, "data").join("\n");
        assert!(
            serde_json::from_str::<serde_json::Value>(&data).is_ok(),
            "frame {n}'s data is not JSON: {frame:?}"
        );
        let retry = lines_of(frame, "retry");
        if n == 0 {
            let ms: u64 = retry
                .first()
                .and_then(|ms| ms.parse().ok())
                .unwrap_or_else(|| panic!("the first frame has no retry hint: {frame:?}"));
            assert!((2000..3000).contains(&ms), "retry {ms} ms");
        } else {
            assert!(
                retry.is_empty(),
                "frame {n} repeats the retry hint: {frame:?}"
            );
        }
    }
}

fn keep_alives(text: &str) -> usize {
    text.matches(": keep-alive\n").count()
}

#[tokio::test]
async fn every_frame_is_an_event_and_the_first_carries_the_retry_hint() {
    let app = spawn_app_with(|config| config.sse_keep_alive = KEEP_ALIVE).await;
    let alice = app.signed_in("alice").await;
    let path = "/api/rooms/chat/framing/events";

    // A new stream starts with `ready`; idle, it sends keep-alives; then a live event.
    let mut fresh = RawStream::open(&app, path, None).await;
    fresh
        .read_until("ready", |text| text.contains("event: ready"))
        .await;
    assert_every_frame_is_an_event(&fresh);
    let ready = lines_of(fresh.frames()[0], "id")[0].to_owned();
    fresh
        .read_until("two keep-alives", |text| keep_alives(text) >= 2)
        .await;
    alice.posted("chat/framing", "live").await;
    fresh
        .read_until("the live event", |text| {
            frames(text).iter().any(|frame| frame.contains("\"live\""))
        })
        .await;
    assert_every_frame_is_an_event(&fresh);
    assert_eq!(fresh.frames().len(), 2, "{:?}", fresh.text);

    // A resumed stream starts with the first replayed event: it carries the hint.
    let mut resumed = RawStream::open(&app, path, Some(&ready)).await;
    resumed
        .read_until("ready", |text| text.contains("event: ready"))
        .await;
    assert_every_frame_is_an_event(&resumed);
    let first = resumed.frames()[0];
    assert!(
        first.contains("event: message.created") && first.contains("\"live\""),
        "{first:?}"
    );
}
