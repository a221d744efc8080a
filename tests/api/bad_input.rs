//! A table of bad requests: each gets a clear 4xx problem+json and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use parley_testing::{TestApp, assert_problem, spawn_app};

pub struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    extra_header: Option<(&'static str, &'static str)>,
    signed_in: bool,
    status: StatusCode,
    code: &'static str,
    field: Option<&'static str>,
}

pub fn case(name: &'static str, method: Method, path: impl Into<String>, body: &str) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        content_type: Some("application/json"),
        body: body.as_bytes().to_vec(),
        extra_header: None,
        signed_in: true,
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "validation",
        field: None,
    }
}

impl Case {
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }
    pub fn status(mut self, status: StatusCode, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }
    pub fn content_type(mut self, content_type: Option<&'static str>) -> Self {
        self.content_type = content_type;
        self
    }
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.extra_header = Some((name, value));
        self
    }
    pub fn raw(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }
}

fn cases() -> Vec<Case> {
    use Method as M;
    use StatusCode as S;
    let big_note = format!(
        r#"{{"key":"big","title":"Big","body":"{}"}}"#,
        "x".repeat(300 * 1024)
    );
    let long_body = format!(
        r#"{{"key":"long","title":"Long","body":"{}"}}"#,
        "y".repeat(50_001)
    );
    let long_title = format!(r#"{{"key":"t","title":"{}","body":""}}"#, "t".repeat(201));
    let long_key = format!(r#"{{"key":"{}","title":"K","body":""}}"#, "k".repeat(101));
    vec![
        case(
            "malformed JSON",
            M::POST,
            "/api/notes",
            r#"{"key": "a", "title": "#,
        )
        .status(S::BAD_REQUEST, "bad-request"),
        case("empty body", M::POST, "/api/notes", "").status(S::BAD_REQUEST, "bad-request"),
        case("invalid UTF-8", M::POST, "/api/notes", "")
            .raw(b"{\"key\":\"\xff\xfe\",\"title\":\"x\"}".to_vec())
            .status(S::BAD_REQUEST, "bad-request"),
        case(
            "JSON array instead of object",
            M::POST,
            "/api/notes",
            r#"["k", "t", "b"]"#,
        )
        .status(S::BAD_REQUEST, "bad-request"),
        case(
            "JSON string instead of object",
            M::POST,
            "/api/users",
            r#""alice""#,
        )
        .status(S::BAD_REQUEST, "bad-request"),
        case(
            "title of the wrong type",
            M::POST,
            "/api/notes",
            r#"{"key":"a","title":5,"body":""}"#,
        )
        .field("title"),
        case(
            "missing title",
            M::POST,
            "/api/notes",
            r#"{"key":"a","body":""}"#,
        )
        .field("title"),
        case(
            "client-chosen author",
            M::POST,
            "/api/notes",
            r#"{"key":"a","title":"A","body":"","author":"bob"}"#,
        )
        .field("author"),
        case(
            "empty key",
            M::POST,
            "/api/notes",
            r#"{"key":"","title":"A","body":""}"#,
        )
        .field("key"),
        case(
            "key with a slash",
            M::POST,
            "/api/notes",
            r#"{"key":"a/b","title":"A","body":""}"#,
        )
        .field("key"),
        case(
            "key with spaces",
            M::POST,
            "/api/notes",
            r#"{"key":"a b","title":"A","body":""}"#,
        )
        .field("key"),
        case("key too long", M::POST, "/api/notes", &long_key).field("key"),
        case(
            "blank title",
            M::POST,
            "/api/notes",
            r#"{"key":"a","title":"   ","body":""}"#,
        )
        .field("title"),
        case("title too long", M::POST, "/api/notes", &long_title).field("title"),
        case("body too long", M::POST, "/api/notes", &long_body).field("body"),
        case("oversize request", M::POST, "/api/notes", &big_note)
            .status(S::PAYLOAD_TOO_LARGE, "payload-too-large"),
        case(
            "text/plain body",
            M::POST,
            "/api/notes",
            r#"{"key":"a","title":"A","body":""}"#,
        )
        .content_type(Some("text/plain"))
        .status(S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
        case(
            "no content type",
            M::POST,
            "/api/notes",
            r#"{"key":"a","title":"A","body":""}"#,
        )
        .content_type(None)
        .status(S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
        case(
            "update with a blank title",
            M::PUT,
            "/api/notes/seed",
            r#"{"title":"","body":""}"#,
        )
        .field("title"),
        case(
            "update with a null body",
            M::PUT,
            "/api/notes/seed",
            r#"{"title":"T","body":null}"#,
        )
        .field("body"),
        case(
            "malformed If-Match",
            M::PUT,
            "/api/notes/seed",
            r#"{"title":"T","body":""}"#,
        )
        .header("if-match", "1")
        .status(S::BAD_REQUEST, "bad-request"),
        case(
            "username too short",
            M::POST,
            "/api/users",
            r#"{"username":"ab","password":"long enough"}"#,
        )
        .field("username"),
        case(
            "username with markup",
            M::POST,
            "/api/users",
            r#"{"username":"<b>x</b>","password":"long enough"}"#,
        )
        .field("username"),
        case(
            "password too short",
            M::POST,
            "/api/users",
            r#"{"username":"newbie","password":"short"}"#,
        )
        .field("password"),
        case(
            "password of the wrong type",
            M::POST,
            "/api/users",
            r#"{"username":"newbie","password":12345678}"#,
        )
        .field("password"),
        case("limit zero", M::GET, "/api/notes?limit=0", "").field("limit"),
        case("limit not a number", M::GET, "/api/notes?limit=ten", "").field("limit"),
        case("limit too large", M::GET, "/api/notes?limit=101", "").field("limit"),
        case("forged cursor", M::GET, "/api/notes?cursor=%25%25%25", "").field("cursor"),
        case("unknown route", M::GET, "/api/nothing-here", "").status(S::NOT_FOUND, "not-found"),
        case("key that cannot exist", M::GET, "/api/notes/a%20b", "")
            .status(S::NOT_FOUND, "not-found"),
        case("wrong method", M::PATCH, "/api/notes", "{}")
            .status(S::METHOD_NOT_ALLOWED, "method-not-allowed"),
    ]
}

/// Everything a bad request could have changed.
async fn state(app: &TestApp) -> (Vec<String>, Value, StatusCode) {
    let seed: Value = app.get("/api/notes/seed").await.json().await.expect("seed");
    let newbie = app
        .send_json(
            Method::POST,
            "/api/sessions",
            None,
            &serde_json::json!({"username": "newbie", "password": "long enough"}),
        )
        .await
        .status();
    (app.all_note_keys().await, seed, newbie)
}

#[tokio::test]
async fn bad_requests_get_problem_details_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    assert_eq!(
        alice
            .create_note("seed", "Seed", "unchanged")
            .await
            .status(),
        StatusCode::CREATED
    );
    let before = state(&app).await;

    assert_cases(&app, &alice.token, cases()).await;
    assert_eq!(state(&app).await, before, "a bad request changed something");
}

/// Sends each case (signed in as `token` where the case says so) and checks its answer.
pub async fn assert_cases(app: &TestApp, token: &str, cases: Vec<Case>) {
    for case in cases {
        let signed_in = case.signed_in.then_some(token);
        let mut request = app.request(case.method.clone(), &case.path, signed_in);
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some((name, value)) = case.extra_header {
            request = request.header(name, value);
        }
        if !case.body.is_empty() || case.method != Method::GET {
            request = request.body(case.body.clone());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(response.status(), case.status, "{}", case.name);
        let problem = assert_problem(response, case.status, case.code).await;
        if let Some(field) = case.field {
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(fields, [field], "{}: {problem}", case.name);
        }
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let response = alice
        .request(Method::POST, "/api/notes")
        .header("content-type", "application/json")
        .body(r#"{"key":"no spaces allowed","title":" ","body":""}"#)
        .send()
        .await
        .expect("request");
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["key", "title"]);
}

#[tokio::test]
async fn wrong_methods_list_the_allowed_ones() {
    let app = spawn_app().await;
    let response = app
        .client
        .patch(app.url("/api/notes/x"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("GET, PUT, DELETE")
    );
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;
}

#[tokio::test]
async fn a_trickling_request_body_times_out_without_starving_anyone() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = parley_testing::spawn_app_with(|config| {
        config.body_timeout = std::time::Duration::from_millis(500);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    slow.write_all(
        b"POST /api/users HTTP/1.1\r\nHost: parley\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .await
    .expect("send a partial body");
    // Meanwhile everyone else is served.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("\r\n\r\n{") {
        let read = slow.read(&mut buffer).await.expect("read the answer");
        assert!(
            read > 0,
            "closed without an answer: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buffer[..read]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("urn:parley:problem:request-timeout"),
        "{answer}"
    );
}
