use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use parley_testing::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn register_then_log_in_with_a_bearer_token() {
    let app = spawn_app().await;
    let response = app.register("alice").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: Value = response.json().await.expect("JSON");
    assert_eq!(user["username"], "alice");
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    let response = app.login("alice").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.starts_with("parley_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session: Value = response.json().await.expect("JSON");
    let token = session["token"].as_str().expect("token");
    assert!(session["expires_at"].is_string());

    let me: Value = app
        .request(Method::GET, "/api/users/me", Some(token))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["username"], "alice");
}

#[tokio::test]
async fn the_session_cookie_alone_signs_requests_in() {
    let app = spawn_app().await;
    app.register("carol").await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let response = browser
        .post(app.url("/api/sessions"))
        .json(&json!({"username": "carol", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::CREATED);

    let me = browser
        .get(app.url("/api/users/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    let created = browser
        .post(app.url("/api/notes"))
        .json(&json!({"key": "from-cookie", "title": "Cookie", "body": ""}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);

    let logout = browser
        .delete(app.url("/api/sessions/current"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let me = browser
        .get(app.url("/api/users/me"))
        .send()
        .await
        .expect("me");
    assert_problem(me, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case() {
    let app = spawn_app().await;
    assert_eq!(app.register("alice").await.status(), StatusCode::CREATED);
    assert_problem(
        app.register("alice").await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_problem(
        app.register("ALICE").await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    // and logging in is case-insensitive too
    assert_eq!(app.login("Alice").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer() {
    let app = spawn_app().await;
    app.register("alice").await;
    let wrong = app
        .send_json(
            Method::POST,
            "/api/sessions",
            None,
            &json!({"username": "alice", "password": "not the password"}),
        )
        .await;
    let wrong = assert_problem(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown = assert_problem(
        app.login("nobody").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    let malformed = app
        .send_json(
            Method::POST,
            "/api/sessions",
            None,
            &json!({"username": "a b", "password": PASSWORD}),
        )
        .await;
    assert_problem(malformed, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn requests_without_a_valid_session_are_refused() {
    let app = spawn_app().await;
    let anonymous = app.get("/api/users/me").await;
    assert_eq!(
        anonymous
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let forged = app
        .request(Method::GET, "/api/users/me", Some("not-a-token"))
        .send()
        .await
        .expect("me");
    assert_problem(forged, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let basic = app
        .client
        .get(app.url("/api/users/me"))
        .header("authorization", "Basic YWxpY2U6cGFzc3dvcmQ=")
        .send()
        .await
        .expect("me");
    assert_problem(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn logging_out_revokes_the_token() {
    let app = spawn_app().await;
    let dave = app.signed_in("dave").await;
    let other = app.logged_in("dave").await;
    let logout = dave
        .request(Method::DELETE, "/api/sessions/current")
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let cleared = logout
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        cleared.contains("Max-Age=0"),
        "cookie not cleared: {cleared}"
    );

    let me = dave
        .request(Method::GET, "/api/users/me")
        .send()
        .await
        .expect("me");
    assert_problem(me, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Only that session ended: the user's other session still works.
    let me = other
        .request(Method::GET, "/api/users/me")
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
}

/// A token with no live session may not write: creating a note and posting a message
/// (each a single statement that checks the session itself) get 401 and store nothing.
async fn assert_writes_refused(app: &TestApp, token: &str) {
    let note = app
        .send_json(
            Method::POST,
            "/api/notes",
            Some(token),
            &json!({"key": "refused", "title": "Refused", "body": ""}),
        )
        .await;
    assert_problem(note, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let message = app
        .send_json(
            Method::POST,
            "/api/rooms/chat/refused/messages",
            Some(token),
            &json!({"message": "refused"}),
        )
        .await;
    assert_problem(message, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(!app.all_note_keys().await.contains(&"refused".to_owned()));
    let messages: Value = app
        .get("/api/rooms/chat/refused/messages")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(messages["items"], json!([]));
}

#[tokio::test]
async fn expired_sessions_are_refused() {
    // A zero lifetime makes every session expire the moment it is created.
    let app = spawn_app_with(|config| config.session_ttl = std::time::Duration::ZERO).await;
    app.register("erin").await;
    let session: Value = app.login("erin").await.json().await.expect("JSON");
    let token = session["token"].as_str().expect("token");
    let me = app
        .request(Method::GET, "/api/users/me", Some(token))
        .send()
        .await
        .expect("me");
    assert_problem(me, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_writes_refused(&app, token).await;
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_down() {
    let app = spawn_app().await;
    app.register("victim").await;
    app.register("bystander").await;
    let wrong = json!({"username": "victim", "password": "not the password"});
    for _ in 0..parley::rate_limit::PER_ACCOUNT_AND_ADDRESS {
        let response = app
            .send_json(Method::POST, "/api/sessions", None, &wrong)
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits: a guesser cannot tell which try was right.
    let locked = app.login("victim").await;
    let retry_after: u64 = locked
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!(retry_after > 0);
    assert_problem(locked, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
    // Other users are unaffected.
    assert_eq!(app.login("bystander").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn logging_out_everywhere_revokes_every_session() {
    let app = spawn_app().await;
    let laptop = app.signed_in("erin").await;
    let phone = app.logged_in("erin").await;
    let other_user = app.signed_in("frank").await;
    let response = phone
        .request(Method::DELETE, "/api/sessions")
        .send()
        .await
        .expect("revoke");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for token in [&laptop.token, &phone.token] {
        let me = app
            .request(Method::GET, "/api/users/me", Some(token))
            .send()
            .await
            .expect("me");
        assert_problem(me, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert_writes_refused(&app, token).await;
    }
    let me = other_user
        .request(Method::GET, "/api/users/me")
        .send()
        .await
        .expect("me");
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "other users keep their sessions"
    );
}
