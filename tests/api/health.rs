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
    alice.post_message("chat/metrics", "counted").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("metrics text");
    for expected in [
        r#"parley_http_requests_total{method="POST",route="/api/rooms/{namespace}/{room}/messages",status="201"}"#,
        "parley_http_request_duration_seconds_bucket",
        "parley_sse_open_streams ",
        "parley_events_appended_total ",
        "parley_events_delivered_total ",
        "parley_db_pool_connections ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Metrics are process-wide and other tests run alongside: at least this test's stream is open.
    let open: i64 = text
        .lines()
        .find_map(|line| line.strip_prefix("parley_sse_open_streams "))
        .and_then(|value| value.trim().parse().ok())
        .expect("open streams gauge");
    assert!(open >= 1, "{open}");
}
