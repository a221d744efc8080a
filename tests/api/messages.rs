//! Messages over HTTP: chat lines and comments on notes, who may post, edit and delete
//! them, how lists page, and what bad input gets.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::bad_input::{Case, assert_cases, case};
use parley_testing::wait::backends_waiting_for_a_lock;
use parley_testing::{TestApp, assert_problem, spawn_app};

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Stream-Position` is `<digits>-<digits>`.
fn assert_stream_position(response: &Response) {
    let position = header(response, "stream-position").expect("a Stream-Position header");
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let shaped = position
        .split_once('-')
        .is_some_and(|(xid, id)| digits(xid) && digits(id));
    assert!(
        shaped,
        "Stream-Position {position:?} is not <digits>-<digits>"
    );
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("{value} is not an RFC 3339 time"))
}

fn messages_path(room: &str) -> String {
    format!("/api/rooms/{room}/messages")
}

/// `POST /api/rooms/{room}/messages` with `{"message": text}`; `room` is `ns/room`.
async fn post_message(app: &TestApp, token: Option<&str>, room: &str, text: &str) -> Response {
    app.send_json(
        Method::POST,
        &messages_path(room),
        token,
        &json!({ "message": text }),
    )
    .await
}

async fn send(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> Response {
    app.request(method, path, token)
        .send()
        .await
        .expect("request")
}

async fn edit(app: &TestApp, token: Option<&str>, id: &Value, text: &str) -> Response {
    app.send_json(
        Method::PATCH,
        &format!("/api/messages/{id}"),
        token,
        &json!({ "message": text }),
    )
    .await
}

async fn delete(app: &TestApp, token: Option<&str>, id: &Value) -> Response {
    send(app, Method::DELETE, &format!("/api/messages/{id}"), token).await
}

/// `GET /api/messages/{id}`: `Some(message)` on 200, `None` on a 404 problem.
async fn read(app: &TestApp, id: &Value) -> Option<Value> {
    let response = app.get(&format!("/api/messages/{id}")).await;
    if response.status() == StatusCode::NOT_FOUND {
        assert_problem(response, StatusCode::NOT_FOUND, "not-found").await;
        return None;
    }
    assert_eq!(response.status(), StatusCode::OK);
    assert_stream_position(&response);
    Some(response.json().await.expect("message JSON"))
}

/// Every message of a room, newest first, following cursors to the end.
async fn all_messages(app: &TestApp, room: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut path = format!("{}?limit=100", messages_path(room));
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "listing {room}");
        let page: Value = response.json().await.expect("page");
        messages.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{}?limit=100&cursor={cursor}", messages_path(room)),
            None => return messages,
        }
    }
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["message"].as_str().expect("message text"))
        .collect()
}

fn field_names(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn posting_into_a_chat_room_returns_the_message_from_the_signed_in_user() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;

    let response = alice.post_message("chat/general", "hello, room").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = header(&response, "location").expect("a Location header");
    let message: Value = response.json().await.expect("JSON");
    let id = message["id"].as_i64().expect("a numeric id");
    assert_eq!(location, format!("/api/messages/{id}"));
    assert_eq!(message["from"], "alice");
    assert_eq!(message["namespace"], "chat");
    assert_eq!(message["room"], "general");
    assert_eq!(message["message"], "hello, room");
    assert!(time(&message["updated_at"]) >= time(&message["created_at"]));

    // The Location names the message itself.
    let read = app.get(&location).await;
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.expect("JSON");
    assert_eq!(read, message);
    assert_eq!(all_messages(&app, "chat/general").await, [message]);
}

#[tokio::test]
async fn the_author_cannot_be_spoofed() {
    let app = spawn_app().await;
    let mallory = app.signed_in("mallory").await;
    app.signed_in("alice").await;

    let spoofed = mallory
        .send_json(
            Method::POST,
            "/api/rooms/chat/general/messages",
            &json!({"message": "I am alice", "from": "alice"}),
        )
        .await;
    let problem = assert_problem(spoofed, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(field_names(&problem), ["from"], "{problem}");
    assert!(all_messages(&app, "chat/general").await.is_empty());

    // Nor by editing.
    let own = mallory.posted("chat/general", "mine").await;
    let spoofed_edit = mallory
        .send_json(
            Method::PATCH,
            &format!("/api/messages/{}", own["id"]),
            &json!({"message": "now alice's", "from": "alice"}),
        )
        .await;
    let problem =
        assert_problem(spoofed_edit, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(field_names(&problem), ["from"], "{problem}");
    assert_eq!(read(&app, &own["id"]).await, Some(own));
}

#[tokio::test]
async fn comments_need_an_existing_note() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;

    let orphan = bob.post_message("notes/no-such-note", "hello?").await;
    assert_problem(orphan, StatusCode::NOT_FOUND, "not-found").await;
    assert_problem(
        app.get("/api/rooms/notes/no-such-note/messages").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;

    // Once the note exists, the refused comment is not there: it was never stored.
    assert_eq!(
        alice
            .create_note("no-such-note", "Now it exists", "")
            .await
            .status(),
        StatusCode::CREATED
    );
    assert!(all_messages(&app, "notes/no-such-note").await.is_empty());

    let comment = bob.posted("notes/no-such-note", "first!").await;
    assert_eq!(comment["from"], "bob");
    assert_eq!(comment["namespace"], "notes");
    assert_eq!(comment["room"], "no-such-note");
    assert_eq!(comment["message"], "first!");
    assert_eq!(all_messages(&app, "notes/no-such-note").await, [comment]);
}

/// `request`'s response, or `None` as soon as some backend of the test database waits for
/// a lock (checked every 10 ms while the request is unanswered).
async fn answered_or_waiting_for_a_lock<R: std::future::Future>(
    app: &TestApp,
    request: R,
) -> Option<R::Output> {
    tokio::pin!(request);
    loop {
        tokio::select! {
            response = &mut request => return Some(response),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                let database_url = app.database_url.clone();
                let waits = tokio::task::spawn_blocking(move || backends_waiting_for_a_lock(&database_url) > 0)
                    .await
                    .expect("lock check");
                if waits {
                    return None;
                }
            }
        }
    }
}

/// Reads take `Stream-Position` from the reader's head in memory, read before their one
/// query: they ask PostgreSQL nothing about the event log, so they answer while its
/// retention floor is locked (as an `ALTER TABLE` or `VACUUM FULL` of it would lock it),
/// where asking for the log's head and floor would wait.
#[tokio::test]
async fn reads_answer_without_asking_the_event_log_for_its_head() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    alice.create_note("kept", "Kept", "").await;
    let message = alice.posted("chat/general", "hello").await;
    let id = message["id"].as_i64().expect("id");

    let (locked, has_locked) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let database_url = app.database_url.clone();
    let holder = tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&database_url).expect("connect");
        conn.transaction(|conn| {
            diesel::sql_query("LOCK TABLE event_log_floor IN ACCESS EXCLUSIVE MODE")
                .execute(conn)?;
            let _ = locked.send(());
            released.recv().expect("release");
            Ok::<_, diesel::result::Error>(())
        })
    });
    has_locked.await.expect("the floor is locked");

    let mut answered = Vec::new();
    let message_path = format!("/api/messages/{id}");
    for path in ["/api/notes", "/api/notes/kept", message_path.as_str()] {
        // Until the read is answered or (were it to ask for the floor) waits for the lock.
        let response = answered_or_waiting_for_a_lock(&app, app.get(path)).await;
        let Some(response) = response else {
            release.send(()).expect("release the floor");
            panic!("a read waited for the event log's floor: {answered:?}");
        };
        answered.push((
            path,
            response.status(),
            response.headers().contains_key("stream-position"),
        ));
    }
    release.send(()).expect("release the floor");
    holder.await.expect("holder").expect("lock");
    for (path, status, has_position) in answered {
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(has_position, "{path} has a Stream-Position");
    }
}

/// A comment posted while its note is being deleted waits for the deletion, then finds no
/// note: it is refused rather than left behind on a note that no longer exists.
#[tokio::test]
async fn a_comment_racing_its_notes_deletion_is_refused() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    alice.create_note("going", "Going", "").await;

    // A deletion in progress, holding the note's row as `DELETE /api/notes/{key}` does.
    let (locked, has_locked) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let database_url = app.database_url.clone();
    let deletion = tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&database_url).expect("connect");
        conn.transaction(|conn| {
            diesel::sql_query("SELECT key FROM notes WHERE key = 'going' FOR UPDATE")
                .execute(conn)?;
            let _ = locked.send(());
            released.recv().expect("release");
            diesel::sql_query("DELETE FROM messages WHERE namespace = 'notes' AND room = 'going'")
                .execute(conn)?;
            diesel::sql_query("DELETE FROM notes WHERE key = 'going'").execute(conn)
        })
    });
    has_locked.await.expect("the note is locked");

    let post = bob.post_message("notes/going", "too late?");
    tokio::pin!(post);
    // Until the post either waits for the note's lock or (were there none) is answered.
    let answered = answered_or_waiting_for_a_lock(&app, &mut post).await;
    release.send(()).expect("release the deletion");
    assert_eq!(deletion.await.expect("deletion").expect("delete"), 1);
    let response = match answered {
        Some(response) => response,
        None => post.await,
    };
    assert_problem(response, StatusCode::NOT_FOUND, "not-found").await;
    assert_problem(
        app.get("/api/rooms/notes/going/messages").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn lists_are_newest_first_and_page_through_older_messages() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    alice
        .create_note("general", "A note named like the room", "")
        .await;

    let mut sent = Vec::new();
    for n in 1..=5 {
        let token = if n % 2 == 0 { &bob } else { &alice };
        sent.push(token.posted("chat/general", &format!("general {n}")).await);
        // Messages of other rooms, interleaved: none of them may appear below.
        alice.posted("chat/random", &format!("random {n}")).await;
        bob.posted("other/general", &format!("other namespace {n}"))
            .await;
        bob.posted("notes/general", &format!("comment {n}")).await;
    }

    let mut seen = Vec::new();
    let mut path = "/api/rooms/chat/general/messages?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_stream_position(&response);
        let page: Value = response.json().await.expect("page");
        pages += 1;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2, "{page}");
        for item in items {
            assert_eq!(item["namespace"], "chat", "{item}");
            assert_eq!(item["room"], "general", "{item}");
            seen.push(item.clone());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(pages < 10, "the cursor never runs out");
                path = format!("/api/rooms/chat/general/messages?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let newest_first: Vec<Value> = sent.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    assert_eq!(
        texts(&seen),
        [
            "general 5",
            "general 4",
            "general 3",
            "general 2",
            "general 1"
        ]
    );
    assert_eq!(
        texts(&all_messages(&app, "chat/random").await),
        ["random 5", "random 4", "random 3", "random 2", "random 1"]
    );
    assert_eq!(all_messages(&app, "other/general").await.len(), 5);
    assert_eq!(all_messages(&app, "notes/general").await.len(), 5);
    assert!(all_messages(&app, "chat/empty").await.is_empty());
}

#[tokio::test]
async fn limit_defaults_to_20_and_may_be_up_to_100() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    for n in 1..=21 {
        alice.posted("chat/busy", &format!("line {n}")).await;
    }

    let response = app.get("/api/rooms/chat/busy/messages").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_stream_position(&response);
    let page: Value = response.json().await.expect("page");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["message"], "line 21");
    assert_eq!(items[19]["message"], "line 2");
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a cursor to the oldest line");
    let rest: Value = app
        .get(&format!("/api/rooms/chat/busy/messages?cursor={cursor}"))
        .await
        .json()
        .await
        .expect("page");
    assert_eq!(texts(rest["items"].as_array().expect("items")), ["line 1"]);
    assert!(rest.get("next_cursor").is_none(), "{rest}");

    let everything: Value = app
        .get("/api/rooms/chat/busy/messages?limit=100")
        .await
        .json()
        .await
        .expect("page");
    assert_eq!(everything["items"].as_array().map(Vec::len), Some(21));
    assert!(everything.get("next_cursor").is_none(), "{everything}");

    let too_many = app.get("/api/rooms/chat/busy/messages?limit=101").await;
    let problem = assert_problem(too_many, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(field_names(&problem), ["limit"], "{problem}");
}

#[tokio::test]
async fn reading_a_message_by_id() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let message = alice.posted("chat/general", "read me").await;

    let response = app.get(&format!("/api/messages/{}", message["id"])).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_stream_position(&response);
    let read: Value = response.json().await.expect("JSON");
    assert_eq!(read, message);

    let unknown = message["id"].as_i64().expect("id") + 1000;
    for path in [
        format!("/api/messages/{unknown}"),
        "/api/messages/abc".to_owned(),
        "/api/messages/0".to_owned(),
        "/api/messages/-1".to_owned(),
        "/api/messages/99999999999999999999999".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {path}");
        assert_problem(response, StatusCode::NOT_FOUND, "not-found").await;
    }
}

#[tokio::test]
async fn only_the_author_may_edit_a_message() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let original = alice.posted("chat/general", "typo hree").await;
    let id = &original["id"];

    let response = edit(&app, Some(&alice.token), id, "typo here").await;
    assert_eq!(response.status(), StatusCode::OK);
    let edited: Value = response.json().await.expect("JSON");
    assert_eq!(edited["id"], *id);
    assert_eq!(edited["from"], "alice");
    assert_eq!(edited["namespace"], "chat");
    assert_eq!(edited["room"], "general");
    assert_eq!(edited["message"], "typo here");
    assert_eq!(edited["created_at"], original["created_at"]);
    assert!(time(&edited["updated_at"]) >= time(&original["updated_at"]));
    assert!(time(&edited["updated_at"]) >= time(&edited["created_at"]));
    assert_eq!(read(&app, id).await.as_ref(), Some(&edited));
    assert_eq!(
        all_messages(&app, "chat/general").await,
        std::slice::from_ref(&edited)
    );

    let by_bob = edit(&app, Some(&bob.token), id, "bob was here").await;
    assert_problem(by_bob, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = edit(&app, None, id, "anonymous was here").await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(read(&app, id).await, Some(edited));

    let missing = edit(
        &app,
        Some(&alice.token),
        &json!(id.as_i64().expect("id") + 1000),
        "x",
    )
    .await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not-found").await;
    let not_an_id = alice
        .send_json(Method::PATCH, "/api/messages/abc", &json!({"message": "x"}))
        .await;
    assert_problem(not_an_id, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn the_author_may_delete_a_message() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let kept = alice.posted("chat/general", "keep me").await;
    let gone = alice.posted("chat/general", "delete me").await;

    assert_eq!(
        delete(&app, Some(&alice.token), &gone["id"]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(read(&app, &gone["id"]).await, None);
    assert_eq!(
        all_messages(&app, "chat/general").await,
        std::slice::from_ref(&kept)
    );

    let again = delete(&app, Some(&alice.token), &gone["id"]).await;
    assert_problem(again, StatusCode::NOT_FOUND, "not-found").await;
    let edit_gone = edit(&app, Some(&alice.token), &gone["id"], "back?").await;
    assert_problem(edit_gone, StatusCode::NOT_FOUND, "not-found").await;
    let not_an_id = send(
        &app,
        Method::DELETE,
        "/api/messages/abc",
        Some(&alice.token),
    )
    .await;
    assert_problem(not_an_id, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(read(&app, &kept["id"]).await, Some(kept));
}

#[tokio::test]
async fn the_note_author_may_delete_any_comment_on_their_note() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let carol = app.signed_in("carol").await;
    alice.create_note("essay", "Essay", "").await;
    let rude = bob.posted("notes/essay", "rude comment").await;
    let polite = bob.posted("notes/essay", "polite comment").await;
    let retracted = carol.posted("notes/essay", "I take it back").await;

    // Another commenter may not delete bob's comment…
    let by_carol = delete(&app, Some(&carol.token), &rude["id"]).await;
    assert_problem(by_carol, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(read(&app, &rude["id"]).await.as_ref(), Some(&rude));

    // …the note's author may, but may not edit it: editing stays with the comment's author.
    let edit_by_alice = edit(
        &app,
        Some(&alice.token),
        &polite["id"],
        "rewritten by alice",
    )
    .await;
    assert_problem(edit_by_alice, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(read(&app, &polite["id"]).await.as_ref(), Some(&polite));
    assert_eq!(
        delete(&app, Some(&alice.token), &rude["id"]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(read(&app, &rude["id"]).await, None);

    // A commenter may delete their own comment on someone else's note.
    assert_eq!(
        delete(&app, Some(&carol.token), &retracted["id"])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(all_messages(&app, "notes/essay").await, [polite]);
}

#[tokio::test]
async fn in_a_chat_room_no_one_but_the_author_may_delete() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    // Alice owns note `general`; that gives her no say over chat room `general`.
    alice.create_note("general", "General", "").await;
    let line = bob.posted("chat/general", "bob's line").await;

    let by_alice = delete(&app, Some(&alice.token), &line["id"]).await;
    assert_problem(by_alice, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = delete(&app, None, &line["id"]).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(read(&app, &line["id"]).await.as_ref(), Some(&line));

    assert_eq!(
        delete(&app, Some(&bob.token), &line["id"]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(read(&app, &line["id"]).await, None);
}

#[tokio::test]
async fn deleting_a_note_deletes_its_comments() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    alice.create_note("doomed", "Doomed", "").await;
    alice.create_note("survivor", "Survivor", "").await;
    let comments = [
        bob.posted("notes/doomed", "nice").await,
        alice.posted("notes/doomed", "thanks").await,
        bob.posted("notes/doomed", "bye").await,
    ];
    let elsewhere = [
        bob.posted("notes/survivor", "on another note").await,
        bob.posted("chat/doomed", "a chat room of the same name")
            .await,
    ];

    let deleted = send(
        &app,
        Method::DELETE,
        "/api/notes/doomed",
        Some(&alice.token),
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for comment in &comments {
        assert_eq!(read(&app, &comment["id"]).await, None, "{comment}");
        let delete_again = delete(&app, Some(&bob.token), &comment["id"]).await;
        assert_problem(delete_again, StatusCode::NOT_FOUND, "not-found").await;
    }
    assert_problem(
        app.get("/api/rooms/notes/doomed/messages").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;

    // A new note with the same key starts without comments.
    assert_eq!(
        bob.create_note("doomed", "Reborn", "").await.status(),
        StatusCode::CREATED
    );
    assert!(all_messages(&app, "notes/doomed").await.is_empty());

    for message in elsewhere {
        assert_eq!(read(&app, &message["id"]).await, Some(message));
    }
}

#[tokio::test]
async fn messages_may_be_1024_characters_and_rooms_200() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;

    // Characters, not bytes: 'é' is two bytes in UTF-8.
    let longest = "é".repeat(1024);
    let message = alice.posted("chat/general", &longest).await;
    assert_eq!(message["message"], longest.as_str());
    let edited = edit(&app, Some(&alice.token), &message["id"], &"ü".repeat(1024)).await;
    assert_eq!(edited.status(), StatusCode::OK);

    let long_room = "é".repeat(200);
    let in_long_room = alice.posted(&format!("chat/{long_room}"), "hi").await;
    assert_eq!(in_long_room["room"], long_room.as_str());
    assert_eq!(
        all_messages(&app, &format!("chat/{long_room}")).await,
        [in_long_room]
    );

    // A room is any text: spaces and other scripts survive the URL.
    let spaced = alice
        .posted("chat/general%20chat%20%E6%97%A5%E6%9C%AC", "hi")
        .await;
    assert_eq!(spaced["room"], "general chat 日本");
}

fn cases(seed_id: i64) -> Vec<Case> {
    use Method as M;
    use StatusCode as S;
    let post = "/api/rooms/chat/general/messages";
    let list = "/api/rooms/chat/general/messages";
    let seed = format!("/api/messages/{seed_id}");
    let seed = seed.as_str();
    let too_long = json!({ "message": "é".repeat(1025) }).to_string();
    let long_room = format!("/api/rooms/chat/{}/messages", "r".repeat(201));
    let long_room_comment = format!("/api/rooms/notes/{}/messages", "r".repeat(201));
    let ok = r#"{"message":"fine"}"#;
    // Valid base64 of text that is no message id, and text that is not base64 at all.
    let forged = "/api/rooms/chat/general/messages?cursor=YWJj";
    let garbage = "/api/rooms/chat/general/messages?cursor=%25%25%25";
    vec![
        case("empty message", M::POST, post, r#"{"message":""}"#).field("message"),
        case(
            "whitespace-only message",
            M::POST,
            post,
            r#"{"message":" \n\t "}"#,
        )
        .field("message"),
        case("1025-character message", M::POST, post, &too_long).field("message"),
        case("numeric message", M::POST, post, r#"{"message":5}"#).field("message"),
        case("null message", M::POST, post, r#"{"message":null}"#).field("message"),
        case("array message", M::POST, post, r#"{"message":["a"]}"#).field("message"),
        case("missing message", M::POST, post, "{}").field("message"),
        case(
            "client-chosen author",
            M::POST,
            post,
            r#"{"message":"hi","from":"bob"}"#,
        )
        .field("from"),
        case("malformed JSON", M::POST, post, r#"{"message": "#)
            .status(S::BAD_REQUEST, "bad-request"),
        case("JSON string body", M::POST, post, r#""hi""#).status(S::BAD_REQUEST, "bad-request"),
        case("text/plain body", M::POST, post, ok)
            .content_type(Some("text/plain"))
            .status(S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"),
        case(
            "upper-case namespace",
            M::POST,
            "/api/rooms/Chat/general/messages",
            ok,
        )
        .field("namespace"),
        case(
            "namespace starting with a dash",
            M::POST,
            "/api/rooms/-chat/general/messages",
            ok,
        )
        .field("namespace"),
        case("room of 201 characters", M::POST, &long_room, ok).field("room"),
        case(
            "comment room of 201 characters",
            M::POST,
            &long_room_comment,
            ok,
        )
        .field("room"),
        case("edit to empty", M::PATCH, seed, r#"{"message":""}"#).field("message"),
        case("edit to blanks", M::PATCH, seed, r#"{"message":"   "}"#).field("message"),
        case("edit to 1025 characters", M::PATCH, seed, &too_long).field("message"),
        case("edit to a number", M::PATCH, seed, r#"{"message":1}"#).field("message"),
        case(
            "list in an upper-case namespace",
            M::GET,
            "/api/rooms/Chat/general/messages",
            "",
        )
        .field("namespace"),
        case("list a room of 201 characters", M::GET, &long_room, "").field("room"),
        case("limit zero", M::GET, format!("{list}?limit=0"), "").field("limit"),
        case("limit abc", M::GET, format!("{list}?limit=abc"), "").field("limit"),
        case("limit negative", M::GET, format!("{list}?limit=-1"), "").field("limit"),
        case("limit 101", M::GET, format!("{list}?limit=101"), "").field("limit"),
        case("forged cursor", M::GET, forged, "").field("cursor"),
        case("cursor that is not base64", M::GET, garbage, "").field("cursor"),
    ]
}

/// Everything a bad message request could have changed.
async fn message_state(app: &TestApp) -> Vec<Vec<Value>> {
    let mut state = Vec::new();
    for room in ["chat/general", "notes/seed"] {
        state.push(all_messages(app, room).await);
    }
    state
}

#[tokio::test]
async fn bad_message_input_gets_problem_details_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    alice.create_note("seed", "Seed", "").await;
    let seed = alice.posted("chat/general", "unchanged").await;
    alice.posted("notes/seed", "a comment").await;
    let before = message_state(&app).await;

    assert_cases(&app, &alice.token, cases(seed["id"].as_i64().expect("id"))).await;

    assert_eq!(
        message_state(&app).await,
        before,
        "a bad request changed something"
    );
    assert_eq!(read(&app, &seed["id"]).await, Some(seed));
}

/// The session is checked inside the write (docs/api-design.md, "The order of checks"):
/// a stale token is told about its body first, then refused, and nothing is posted.
#[tokio::test]
async fn a_stale_session_is_checked_after_the_body_and_posts_nothing() {
    let app = spawn_app().await;
    let stale = Some("not-a-real-token");
    let blank = post_message(&app, stale, "chat/general", "   ").await;
    assert_problem(blank, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let fixed = post_message(&app, stale, "chat/general", "fixed").await;
    assert_problem(fixed, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let anonymous = post_message(&app, None, "chat/general", "   ").await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(all_messages(&app, "chat/general").await.is_empty());
}

#[tokio::test]
async fn writes_without_a_session_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    alice.create_note("open", "Open", "").await;
    let seed = alice.posted("chat/general", "unchanged").await;
    let id = &seed["id"];

    for (token, who) in [(None, "anonymous"), (Some("not-a-real-token"), "bad token")] {
        for room in ["chat/general", "notes/open", "chat/new-room"] {
            let response = post_message(&app, token, room, "sneaky").await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{who} posting in {room}"
            );
            assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        }
        let edited = edit(&app, token, id, "sneaky").await;
        assert_eq!(edited.status(), StatusCode::UNAUTHORIZED, "{who} editing");
        assert_problem(edited, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let deleted = delete(&app, token, id).await;
        assert_eq!(deleted.status(), StatusCode::UNAUTHORIZED, "{who} deleting");
        assert_problem(deleted, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    assert_eq!(
        all_messages(&app, "chat/general").await,
        std::slice::from_ref(&seed)
    );
    assert!(all_messages(&app, "notes/open").await.is_empty());
    assert!(all_messages(&app, "chat/new-room").await.is_empty());
    assert_eq!(read(&app, id).await, Some(seed));
    // Reading needs no session.
    assert_eq!(
        app.get("/api/rooms/chat/general/messages").await.status(),
        StatusCode::OK
    );
}
