//! The problem+json assertion every refusal test makes.

use reqwest::{Response, StatusCode};
use serde_json::Value;

/// Asserts a problem+json response with `status` and `code`; returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "status; body: {body}");
    assert_eq!(
        content_type, "application/problem+json",
        "content type; body: {body}"
    );
    assert_eq!(
        body["type"],
        format!("urn:parley:problem:{code}"),
        "problem type; body: {body}"
    );
    assert_eq!(body["status"], status.as_u16(), "status in body: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "detail: {body}"
    );
    body
}
