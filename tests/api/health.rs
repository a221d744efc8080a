use reqwest::StatusCode;
use serde_json::Value;

use parley_testing::spawn_app;

#[tokio::test]
async fn liveness_and_readiness_report_ok() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["status"], "ok", "{path}");
    }
}

#[tokio::test]
async fn metrics_count_requests_streams_and_events() {
    use parley_testing::sse::SseClient;

    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let (_stream, _) = SseClient::connect_ready(&app, "/api/rooms/chat/metrics/events", None).await;
    // A signed-in stream is a join; lists read the recent-messages memory; a resume
    // reads a replay page.
    let (_present, _) = SseClient::connect_ready_to(
        &alice.authorized_client(),
        &app.url("/api/rooms/chat/metrics/events"),
        None,
    )
    .await;
    let posted = alice.posted("chat/metrics", "counted").await;
    // A room is loaded into memory when it is read a second time.
    for _ in 0..2 {
        assert_eq!(
            app.get("/api/rooms/chat/metrics/messages").await.status(),
            StatusCode::OK
        );
    }
    let (_resumed, replayed) =
        SseClient::connect_ready(&app, "/api/rooms/chat/metrics/events", Some("0-0")).await;
    assert!(
        replayed
            .iter()
            .any(|event| event.json()["id"] == posted["id"])
    );

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("metrics text");
    for expected in [
        r#"parley_http_requests_total{method="POST",route="/api/rooms/{namespace}/{room}/messages",status="201"}"#,
        "parley_http_request_duration_seconds_bucket",
        "parley_events_delivered_total ",
        "parley_db_pool_connections ",
        "parley_recent_bytes ",
        "parley_recent_evictions_total ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Metrics are process-wide and other tests run alongside: at least what this test did.
    for (series, at_least) in [
        ("parley_sse_open_streams", 3),
        ("parley_events_appended_total", 2),
        ("parley_presence_rooms", 1),
        ("parley_presence_members", 1),
        (r#"parley_presence_writes_total{change="join"}"#, 1),
        (r#"parley_recent_lookups_total{outcome="miss"}"#, 1),
        ("parley_recent_loads_total", 1),
        ("parley_recent_rooms", 1),
        ("parley_replay_pages_read_total", 1),
        ("parley_replay_pages_sent_total", 1),
    ] {
        let value: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{series} ")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"));
        assert!(value >= f64::from(at_least), "{series} = {value}");
    }
}
