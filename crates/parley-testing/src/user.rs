//! A signed-in user of a test server: its name, its bearer token, and the requests it
//! makes, so that a test says `alice.create_note(..)` rather than repeating the sign-up,
//! the log-in and the `Authorization` header.

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::app::TestApp;

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";

/// The body of `POST /api/users` and `POST /api/sessions` for `username`.
pub fn credentials(username: &str) -> Value {
    json!({"username": username, "password": PASSWORD})
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub name: String,
    pub token: String,
    client: Client,
    base: String,
}

impl TestUser {
    /// Registers `username` on the server at `base` (`http://host:port`) and logs in.
    pub async fn sign_up(client: &Client, base: &str, username: &str) -> TestUser {
        let registered = client
            .post(format!("{base}/api/users"))
            .json(&credentials(username))
            .send()
            .await
            .expect("register");
        assert_eq!(
            registered.status(),
            StatusCode::CREATED,
            "register {username}"
        );
        Self::log_in(client, base, username).await
    }

    /// A new session of `username`, registered before.
    pub async fn log_in(client: &Client, base: &str, username: &str) -> TestUser {
        let session = client
            .post(format!("{base}/api/sessions"))
            .json(&credentials(username))
            .send()
            .await
            .expect("log in");
        assert_eq!(session.status(), StatusCode::CREATED, "log in {username}");
        let session: Value = session.json().await.expect("session JSON");
        TestUser {
            name: username.to_owned(),
            token: session["token"].as_str().expect("token").to_owned(),
            client: client.clone(),
            base: base.to_owned(),
        }
    }

    /// A client whose every request carries this user's bearer token: for the SSE client,
    /// which takes a `Client` rather than a request.
    pub fn authorized_client(&self) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.token))
            .expect("a token is a header value");
        headers.insert(reqwest::header::AUTHORIZATION, value);
        crate::app::client_builder()
            .default_headers(headers)
            .build()
            .expect("an HTTP client")
    }

    /// A request to `path` (from `/api/…`) carrying this user's bearer token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    pub async fn send(&self, method: Method, path: &str) -> Response {
        self.request(method, path).send().await.expect("request")
    }

    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn create_note(&self, key: &str, title: &str, body: &str) -> Response {
        let note = json!({"key": key, "title": title, "body": body});
        self.send_json(Method::POST, "/api/notes", &note).await
    }

    /// Posts `text` to `room`, written `namespace/room` (`chat/general`).
    pub async fn post_message(&self, room: &str, text: &str) -> Response {
        let path = format!("/api/rooms/{room}/messages");
        self.send_json(Method::POST, &path, &json!({"message": text}))
            .await
    }

    /// [`post_message`](Self::post_message), which must succeed; the message's JSON.
    pub async fn posted(&self, room: &str, text: &str) -> Value {
        let response = self.post_message(room, text).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "posting to {room}: {body}");
        body
    }

    /// The same session, sending through another server of the same database.
    pub fn via(&self, app: &TestApp) -> TestUser {
        TestUser {
            client: app.client.clone(),
            base: app.address.clone(),
            ..self.clone()
        }
    }
}
