//! Group commit: writes that arrive while a batch of their kind runs go together in the
//! next batch, one statement and one transaction; a bad one fails alone, with its own
//! answer, and the others commit with their events, once each, in order.
//!
//! The real binary runs as a child process with one batch at a time
//! (`--db-write-batches 1`), so that `parley_writes_waiting` in its `/metrics` counts only
//! this test's writes. A transaction of the test holds a row lock that the first write
//! needs: that write's batch stays running while the others arrive and queue behind it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;

use diesel::{Connection, PgConnection, RunQueryDsl};
use parley_testing::process::{Process, clean_command};
use parley_testing::wait::{backends_waiting_for_a_lock, eventually};
use parley_testing::{SseClient, TestUser, assert_problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn start(database_url: &str) -> Process {
    let mut command = clean_command(env!("CARGO_BIN_EXE_parley"));
    command.args([
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        database_url,
        "--db-write-batches",
        "1",
    ]);
    Process::start(command)
}

/// One value from the server's `/metrics`, over a plain socket so that `eventually` can
/// poll it.
fn metric(server: &Process, name: &str) -> f64 {
    let mut socket = TcpStream::connect(server.socket_address()).expect("connect");
    write!(
        socket,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("send a GET");
    let mut text = String::new();
    socket.read_to_string(&mut text).expect("read /metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A transaction of the test's own, holding what `sql` locks until it is ended: on a
/// thread of its own, since it spans the test's awaits.
struct Held {
    end: mpsc::Sender<bool>,
    ended: std::thread::JoinHandle<()>,
}

impl Held {
    fn start(database_url: &str, sql: &str) -> Self {
        let (database_url, sql) = (database_url.to_owned(), sql.to_owned());
        let (end, ending) = mpsc::channel::<bool>();
        let (locked, is_locked) = mpsc::channel();
        let ended = std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&database_url).expect("connect");
            diesel::sql_query("BEGIN")
                .execute(&mut conn)
                .expect("BEGIN");
            diesel::sql_query(sql).execute(&mut conn).expect("lock");
            locked.send(()).expect("tell the test");
            let commit = ending.recv().unwrap_or(false);
            let end = if commit { "COMMIT" } else { "ROLLBACK" };
            diesel::sql_query(end).execute(&mut conn).expect("end");
        });
        is_locked.recv().expect("the lock was taken");
        Self { end, ended }
    }

    fn end(self, commit: bool) {
        self.end.send(commit).expect("end the transaction");
        self.ended.join().expect("the holding thread");
    }
}

async fn body_text(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// The transaction id of an event's position `"<xid>-<id>"`.
fn xid(event: &parley_testing::SseEvent) -> &str {
    let id = event.id.as_deref().expect("an id");
    id.split_once('-').expect("a position").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_post_in_a_batch_fails_alone_and_the_rest_commit_together_in_order() {
    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let server = start(&database_url);
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let alice = TestUser::sign_up(&client, &address, "alice").await;
    let created = alice
        .create_note("held", "Held", "its comments batch")
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let stream_url = format!("{address}/api/rooms/notes/held/events");
    let (mut stream, _) = SseClient::connect_ready_to(&client, &stream_url, None).await;

    // The first comment's batch waits for the note's lock, so it stays running.
    let held = Held::start(
        &database_url,
        "SELECT key FROM notes WHERE key = 'held' FOR UPDATE",
    );
    let first = tokio::spawn({
        let alice = alice.clone();
        async move { body_text(alice.post_message("notes/held", "first").await).await }
    });
    let url = database_url.clone();
    eventually("the first comment waits for the note's lock", move || {
        backends_waiting_for_a_lock(&url) == 1
    })
    .await;

    // Six good comments, a post without a live session and a comment on a missing note
    // arrive meanwhile; they wait, then run together as the next batch.
    let mut stranger = alice.clone();
    stranger.token = "not-a-session-token".to_owned();
    let mut writes = Vec::new();
    for i in 0..3 {
        writes.push(("good", alice.clone(), "notes/held", format!("comment {i}")));
    }
    writes.push(("no session", stranger, "notes/held", "who am I".to_owned()));
    writes.push((
        "no note",
        alice.clone(),
        "notes/missing",
        "nowhere".to_owned(),
    ));
    for i in 3..6 {
        writes.push(("good", alice.clone(), "notes/held", format!("comment {i}")));
    }
    let queued = writes.len() as f64;
    let answers: Vec<_> = writes
        .into_iter()
        .map(|(kind, user, room, text)| {
            tokio::spawn(async move { (kind, user.post_message(room, &text).await) })
        })
        .collect();
    eventually("the writes wait for the batch in flight", || {
        metric(&server, "parley_writes_waiting") == queued
    })
    .await;
    let batches_before = metric(&server, "parley_write_batches_total");
    held.end(true);

    let (status, first) = first.await.expect("first");
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mut posted = vec![first];
    for answer in answers {
        let (kind, response) = answer.await.expect("a write");
        match kind {
            "good" => {
                let (status, body) = body_text(response).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                posted.push(body);
            }
            "no session" => {
                assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
            }
            _ => {
                assert_problem(response, StatusCode::NOT_FOUND, "not-found").await;
            }
        }
    }
    // The eight waiting writes ran as one batch.
    assert_eq!(
        metric(&server, "parley_write_batches_total") - batches_before,
        1.0
    );

    // Each posted comment arrives once, in the order of its id, its event's data the
    // POST's answer byte for byte; the batch's six share one transaction.
    // (The note's own `note.created` may come first, or even after `ready`.)
    let mut comments = 0;
    let events: Vec<_> = stream
        .changes_until(|event| {
            comments += usize::from(event.event == "message.created");
            comments == posted.len()
        })
        .await
        .into_iter()
        .filter(|event| event.event != "note.created")
        .collect();
    posted.sort_by_key(|body| {
        serde_json::from_str::<Value>(body).expect("JSON")["id"]
            .as_i64()
            .expect("id")
    });
    let data: Vec<&str> = events.iter().map(|event| event.data.as_str()).collect();
    assert_eq!(data, posted.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(events.iter().all(|event| event.event == "message.created"));
    assert!(
        events[1..]
            .iter()
            .all(|event| xid(event) == xid(&events[1])),
        "the batch's events are not one transaction: {events:?}"
    );
    assert_ne!(xid(&events[0]), xid(&events[1]));
    // Nothing else was written: the refused posts left neither a row nor an event.
    let messages: Value = client
        .get(format!("{address}/api/rooms/notes/held/messages?limit=100"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(messages["items"].as_array().expect("items").len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_key_in_a_batch_of_notes_fails_alone_with_409() {
    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let server = start(&database_url);
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let alice = TestUser::sign_up(&client, &address, "alice").await;
    let stream_url = format!("{address}/api/rooms/notes/events");
    let (mut stream, _) = SseClient::connect_ready_to(&client, &stream_url, None).await;
    let taken = alice.create_note("taken", "Taken", "first").await;
    assert_eq!(taken.status(), StatusCode::CREATED);

    // A transaction of the test inserts key `first` and stays open, so the server's
    // insert of that key waits for it, and its batch stays running.
    let held = Held::start(
        &database_url,
        "INSERT INTO notes (key, title, body, author_id) \
         SELECT 'first', 'Held', 'held', id FROM users WHERE username = 'alice'",
    );
    let first = tokio::spawn({
        let alice = alice.clone();
        async move { alice.create_note("first", "First", "waits").await }
    });
    let url = database_url.clone();
    eventually("the first note waits for the held key", move || {
        backends_waiting_for_a_lock(&url) == 1
    })
    .await;

    // Meanwhile: four new keys, a key that exists, and two notes with one new key. The
    // batch fails as a whole on the taken key; each then runs alone.
    let keys = ["a", "b", "taken", "twin", "twin", "c", "d"];
    let answers: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let alice = alice.clone();
            tokio::spawn(async move { (key, alice.create_note(key, "Batched", key).await) })
        })
        .collect();
    eventually("the notes wait for the batch in flight", || {
        metric(&server, "parley_writes_waiting") == keys.len() as f64
    })
    .await;
    held.end(false);
    assert_eq!(
        first.await.expect("first").status(),
        StatusCode::CREATED,
        "the held key was rolled back, so the server's note is created"
    );

    let mut created = vec!["first".to_owned()];
    let mut conflicts = Vec::new();
    for answer in answers {
        let (key, response) = answer.await.expect("a note");
        if response.status() == StatusCode::CREATED {
            let note: Value = response.json().await.expect("note");
            assert_eq!(note["key"], key);
            created.push(key.to_string());
        } else {
            assert_problem(response, StatusCode::CONFLICT, "conflict").await;
            conflicts.push(key.to_string());
        }
    }
    conflicts.sort();
    assert_eq!(conflicts, ["taken", "twin"]);
    let mut expected = vec!["first", "a", "b", "c", "d", "twin"];
    expected.sort_unstable();
    created.sort();
    assert_eq!(created, expected);

    // One `note.created` each, for exactly the notes created.
    let events = stream.changes(1 + created.len()).await;
    assert_eq!(events[0].json()["key"], "taken");
    let mut delivered: Vec<String> = events
        .iter()
        .skip(1)
        .map(|event| {
            assert_eq!(event.event, "note.created");
            event.json()["key"].as_str().expect("key").to_owned()
        })
        .collect();
    delivered.sort();
    assert_eq!(delivered, created);
    let twin: Value = client
        .get(format!("{address}/api/notes/twin"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(twin["body"], "twin");
    assert_eq!(json!(alice.name), twin["author"]);
}
