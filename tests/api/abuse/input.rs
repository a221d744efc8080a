//! Malformed and hostile requests: metric labels, NUL bytes, trailing JSON, readiness,
//! forwarded addresses, CORS preflights.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use parley_testing::{TestApp, TestUser, assert_problem, spawn_app, spawn_app_with};

/// A method token of 100–200 characters that no one else sends.
fn random_method(seed: u64) -> Method {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) ^ std::process::id() as u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let len = 100 + next() % 101;
    let name: String = (0..len)
        .map(|_| char::from(b'A' + (next() % 26) as u8))
        .collect();
    Method::from_bytes(format!("X{name}").as_bytes()).expect("a method token")
}

async fn send_custom_methods(app: &TestApp, seeds: std::ops::Range<u64>) -> Vec<Method> {
    let mut sent = Vec::new();
    for seed in seeds {
        let method = random_method(seed);
        let response = app
            .request(method.clone(), &format!("/no/such/path/{seed}"), None)
            .send()
            .await
            .expect("an answer");
        assert!(response.status().is_client_error(), "{}", response.status());
        sent.push(method);
    }
    sent
}

async fn metrics_text(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("metrics text")
}

/// The value of the request counter for custom methods on unmatched paths, summed over
/// statuses.
fn other_unmatched(text: &str) -> u64 {
    text.lines()
        .filter(|line| {
            line.starts_with(r#"parley_http_requests_total{method="other",route="unmatched","#)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn custom_methods_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    let first = send_custom_methods(&app, 0..50).await;
    let after_50 = metrics_text(&app).await;
    let rest = send_custom_methods(&app, 50..500).await;
    let after_500 = metrics_text(&app).await;

    for method in first.iter().chain(&rest) {
        assert!(
            !after_500.contains(method.as_str()),
            "a custom method became a label"
        );
    }
    for path in ["/no/such/path/", "/no/such/path/499"] {
        assert!(!after_500.contains(path), "a raw path became a label");
    }
    // Other tests in this process add their own series meanwhile, a few KB at most; each
    // custom method used to add ~17 lines (a counter and a histogram) of ~300 bytes.
    assert!(
        after_500.len() < after_50.len() + 64 * 1024,
        "/metrics grew from {} to {} bytes",
        after_50.len(),
        after_500.len()
    );
    // Metrics are process-wide: other tests may send custom methods too.
    assert!(
        other_unmatched(&after_500) >= other_unmatched(&after_50) + 450,
        "custom methods are not counted as `other`:\n{after_500}"
    );
}

/// Sends `body` as JSON, byte for byte.
async fn send_raw(user: &TestUser, method: Method, path: &str, body: &str) -> reqwest::Response {
    user.request(method, path)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer")
}

async fn assert_field_refused(response: reqwest::Response, field: &str) {
    let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|error| error["field"].as_str())
        .collect();
    assert_eq!(fields, [field], "{body}");
}

#[tokio::test]
async fn nul_characters_are_refused_by_field_and_store_nothing() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let note = |title: &str, body: &str| json!({"key": "n", "title": title, "body": body});

    // Create.
    for (body, field) in [
        (note("a\u{0}b", "text"), "title"),
        (note("title", "\u{0}"), "body"),
    ] {
        let response = alice.send_json(Method::POST, "/api/notes", &body).await;
        assert_field_refused(response, field).await;
    }
    assert!(
        app.all_note_keys().await.is_empty(),
        "a refused note exists"
    );
    let message = |text: &str| json!({ "message": text });
    let response = alice
        .send_json(
            Method::POST,
            "/api/rooms/chat/general/messages",
            &message("hi\u{0}"),
        )
        .await;
    assert_field_refused(response, "message").await;

    // Update.
    assert_eq!(
        alice.create_note("n", "title", "text").await.status(),
        StatusCode::CREATED
    );
    for (body, field) in [
        (json!({"title": "\u{0}", "body": "x"}), "title"),
        (json!({"title": "t", "body": "x\u{0}"}), "body"),
    ] {
        let response = alice.send_json(Method::PUT, "/api/notes/n", &body).await;
        assert_field_refused(response, field).await;
    }
    let stored: Value = app.get("/api/notes/n").await.json().await.expect("note");
    assert_eq!(
        (&stored["title"], &stored["body"]),
        (&json!("title"), &json!("text"))
    );

    let posted = alice
        .send_json(
            Method::POST,
            "/api/rooms/chat/general/messages",
            &message("hello"),
        )
        .await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    let id = posted.json::<Value>().await.expect("message")["id"].clone();
    let path = format!("/api/messages/{id}");
    let response = alice
        .send_json(Method::PATCH, &path, &message("\u{0}"))
        .await;
    assert_field_refused(response, "message").await;
    let stored: Value = app.get(&path).await.json().await.expect("message");
    assert_eq!(stored["message"], "hello");

    // Names, checked against their character sets.
    let response = app
        .send_json(
            Method::POST,
            "/api/users",
            None,
            &json!({"username": "bob\u{0}", "password": parley_testing::PASSWORD}),
        )
        .await;
    assert_field_refused(response, "username").await;
    let response = alice
        .send_json(
            Method::POST,
            "/api/notes",
            &json!({"key": "k\u{0}", "title": "t", "body": "b"}),
        )
        .await;
    assert_field_refused(response, "key").await;

    // From the path: room and namespace, and a cursor that decodes to a NUL.
    let room = "/api/rooms/chat/a%00b/messages";
    let response = alice.send_json(Method::POST, room, &message("hi")).await;
    assert_field_refused(response, "room").await;
    assert_field_refused(app.get(room).await, "room").await;
    assert_field_refused(app.get("/api/rooms/chat/a%00b/events").await, "room").await;
    let namespace = "/api/rooms/c%00/general/messages";
    assert_field_refused(app.get(namespace).await, "namespace").await;
    assert_field_refused(app.get("/api/rooms/c%00/events").await, "namespace").await;
    let response = app.get("/api/notes/n%00").await;
    assert_problem(response, StatusCode::NOT_FOUND, "not-found").await;
    // base64url of "a\0b", as the server would encode it.
    let response = app.get("/api/notes?cursor=YQBi").await;
    assert_field_refused(response, "cursor").await;
}

#[tokio::test]
async fn bytes_after_the_json_body_are_malformed_json() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    for trailing in [" xyz", r#"{"key":"k2","title":"t","body":"b"}"#] {
        let body = format!(r#"{{"key":"k","title":"t","body":"b"}}{trailing}"#);
        let response = send_raw(&alice, Method::POST, "/api/notes", &body).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "bad-request").await;
    }
    assert!(app.all_note_keys().await.is_empty(), "a note was written");
    // White space after the document is still one document.
    let response = send_raw(
        &alice,
        Method::POST,
        "/api/notes",
        "{\"key\":\"k\",\"title\":\"t\",\"body\":\"b\"} \r\n",
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let posted = alice.post_message("chat/general", "before").await;
    let id = posted.json::<Value>().await.expect("message")["id"].clone();
    let path = format!("/api/messages/{id}");
    let response = send_raw(
        &alice,
        Method::PATCH,
        &path,
        r#"{"message":"after"} garbage"#,
    )
    .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "bad-request").await;
    let stored: Value = app.get(&path).await.json().await.expect("message");
    assert_eq!(stored["message"], "before");
}

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    let mut request = app
        .request(Method::OPTIONS, "/api/notes", None)
        .header("origin", origin)
        .header("access-control-request-method", method);
    if !headers.is_empty() {
        request = request.header("access-control-request-headers", headers);
    }
    request.send().await.expect("an answer")
}

#[tokio::test]
async fn refused_cors_preflights_are_problems() {
    let app =
        spawn_app_with(|config| config.cors_origins = vec!["http://good.example".into()]).await;
    let allowed = preflight(&app, "http://good.example", "POST", "content-type").await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://good.example"
    );
    for (origin, method, headers) in [
        ("http://evil.example", "POST", ""),
        ("http://good.example", "PROPFIND", ""),
        ("http://good.example", "POST", "x-not-allowed"),
    ] {
        let refused = preflight(&app, origin, method, headers).await;
        assert!(
            !refused
                .headers()
                .contains_key("access-control-allow-origin"),
            "{origin} {method} {headers}"
        );
        assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // An allowed origin still reads the problem+json of an ordinary error.
    let missing = app
        .request(Method::GET, "/api/notes/nothing-here", None)
        .header("origin", "http://good.example")
        .send()
        .await
        .expect("an answer");
    assert_eq!(
        missing.headers()["access-control-allow-origin"],
        "http://good.example"
    );
    assert_problem(missing, StatusCode::NOT_FOUND, "not-found").await;
}

/// Opens a room's event stream as `forwarded_for`; the response holds the stream open.
async fn stream_as(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    app.request(Method::GET, "/api/rooms/chat/proxied/events", None)
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .expect("an answer")
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let behind_proxy = spawn_app_with(|config| {
        config.max_streams_per_address = 1;
        config.trusted_proxies = vec!["127.0.0.0/8".parse().expect("a CIDR")];
    })
    .await;
    let first = stream_as(&behind_proxy, "198.51.100.1").await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = stream_as(&behind_proxy, "6.6.6.6, 198.51.100.2").await;
    assert_eq!(
        second.status(),
        StatusCode::OK,
        "another client shares a budget"
    );
    let again = stream_as(&behind_proxy, "203.0.113.5, 198.51.100.1").await;
    assert_problem(again, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;

    let direct = spawn_app_with(|config| config.max_streams_per_address = 1).await;
    let first = stream_as(&direct, "198.51.100.1").await;
    assert_eq!(first.status(), StatusCode::OK);
    let claimed = stream_as(&direct, "198.51.100.2").await;
    assert_problem(claimed, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
}
