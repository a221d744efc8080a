//! The first page of a room's messages answered from memory (`realtime::recent`): the
//! same JSON and `Stream-Position` as the database gives, read-your-writes, the bounds,
//! and list-then-subscribe without gaps or duplicates.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use parley::realtime::recent::RecentStats;
use parley_testing::wait::DEADLINE;
use parley_testing::{SseClient, TestApp, TestUser, spawn_app, spawn_app_on, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// One answer of `GET …/messages`: status, `Stream-Position` and the body as sent.
#[derive(Debug, Clone, PartialEq)]
struct Listed {
    status: StatusCode,
    position: Option<String>,
    body: String,
}

impl Listed {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn ids(&self) -> Vec<i64> {
        self.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["id"].as_i64().expect("an id"))
            .collect()
    }
}

async fn list(app: &TestApp, room: &str, query: &str) -> Listed {
    let response = app.get(&format!("/api/rooms/{room}/messages{query}")).await;
    let status = response.status();
    let position = response
        .headers()
        .get("stream-position")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("a body");
    Listed {
        status,
        position,
        body,
    }
}

fn stats(app: &TestApp) -> RecentStats {
    app.handle.recent_stats()
}

/// Lists `room` on `app` until the answer comes from memory (the room is loaded on its
/// second read, and is exact once the reader has passed its snapshot).
async fn list_from_memory(app: &TestApp, room: &str, query: &str) -> Listed {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let hits = stats(app).hits;
        let listed = list(app, room, query).await;
        if stats(app).hits > hits {
            return listed;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{room}{query} was not answered from memory within {DEADLINE:?}: {:?}",
            stats(app)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The same list from a server that keeps nothing in memory, once both servers' readers
/// are at the same position (they read the same log).
async fn same_from_memory_and_database(
    memory: &TestApp,
    database: &TestApp,
    room: &str,
    queries: &[&str],
) {
    for query in queries {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let from_memory = list_from_memory(memory, room, query).await;
            assert_eq!(from_memory.status, StatusCode::OK, "{from_memory:?}");
            let from_database = list(database, room, query).await;
            if from_memory == from_database {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{room}{query}: memory and database still differ after {DEADLINE:?}:\n\
                 {from_memory:?}\n{from_database:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Posts, edits and deletes through both servers, several writers at once.
async fn write_a_mix(users: &[TestUser], room: &str, rounds: usize) {
    let mut writers = Vec::new();
    for (w, user) in users.iter().enumerate() {
        let user = user.clone();
        let room = room.to_owned();
        writers.push(tokio::spawn(async move {
            for i in 0..rounds {
                let posted = user
                    .posted(&room, &format!("writer {w} line {i} \"quoted\" é\n"))
                    .await;
                let path = format!("/api/messages/{}", posted["id"]);
                match i % 4 {
                    1 => {
                        let edit = json!({"message": format!("writer {w} line {i}, edited")});
                        let response = user.send_json(Method::PATCH, &path, &edit).await;
                        assert_eq!(response.status(), StatusCode::OK);
                    }
                    3 => {
                        let response = user.send(Method::DELETE, &path).await;
                        assert_eq!(response.status(), StatusCode::NO_CONTENT);
                    }
                    _ => {}
                }
            }
        }));
    }
    for writer in writers {
        writer.await.expect("a writer");
    }
}

#[tokio::test]
async fn a_list_from_memory_is_the_database_list_across_creates_edits_and_deletes() {
    let memory = spawn_app().await;
    let database = spawn_app_on(&memory.database_url, |config| {
        config.recent.recent_rooms = 0;
    })
    .await;
    let alice = memory.signed_in("alice").await;
    let bob = memory.signed_in("bob").await.via(&database);
    let room = "chat/recent";

    // Empty, then kept while four writers on two servers post, edit and delete.
    let every_limit = ["", "?limit=1", "?limit=7", "?limit=100"];
    same_from_memory_and_database(&memory, &database, room, &every_limit).await;
    let writers = [alice.clone(), bob.clone(), alice.clone(), bob.clone()];
    write_a_mix(&writers, room, 12).await;
    same_from_memory_and_database(&memory, &database, room, &every_limit).await;
    let listed = list_from_memory(&memory, room, "?limit=100").await;
    assert_eq!(listed.ids().len(), 4 * 9, "12 each, a quarter deleted");

    // More than the room keeps (100): pages up to 99 still come from memory, with a
    // cursor to the older ones.
    write_a_mix(&writers, room, 24).await;
    same_from_memory_and_database(&memory, &database, room, &["", "?limit=99"]).await;
    let page = list_from_memory(&memory, room, "?limit=99").await;
    assert!(page.json()["next_cursor"].is_string(), "{page:?}");

    // Comments: a note's room, then the note deleted with its comments.
    alice.create_note("kept", "Kept", "").await;
    let comments = "notes/kept";
    write_a_mix(&[alice.clone(), bob.clone()], comments, 5).await;
    same_from_memory_and_database(&memory, &database, comments, &every_limit).await;
    let response = alice.send(Method::DELETE, "/api/notes/kept").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let gone = list_from_memory(&memory, comments, "").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");
    assert_eq!(gone.json()["type"], "urn:parley:problem:not-found");
    assert_eq!(gone, list(&database, comments, "").await);
}

/// A transaction that holds an xid (and with it every reader's `xmin`) until dropped.
struct HeldBack {
    release: Option<std::sync::mpsc::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl HeldBack {
    async fn start(database_url: &str) -> Self {
        let (held, is_held) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let database_url = database_url.to_owned();
        let done = tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&database_url).expect("connect");
            conn.transaction::<_, diesel::result::Error, _>(|conn| {
                diesel::sql_query("SELECT pg_current_xact_id()").execute(conn)?;
                let _ = held.send(());
                let _ = released.recv();
                Ok(())
            })
            .expect("the holding transaction");
        });
        is_held.await.expect("the transaction holds an xid");
        Self {
            release: Some(release),
            done: Some(done),
        }
    }

    async fn release(mut self) {
        drop(self.release.take());
        if let Some(done) = self.done.take() {
            done.await.expect("the holding transaction ends");
        }
    }
}

#[tokio::test]
async fn a_client_sees_its_own_post_at_once_even_while_the_reader_is_held_back() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let room = "chat/mine";
    let first = alice.posted(room, "before").await;
    let kept = list_from_memory(&app, room, "").await;
    assert_eq!(kept.ids(), [first["id"].as_i64().expect("id")]);

    // No reader can read past this transaction until it ends, so the room in memory
    // stays where it is; the post commits and is acknowledged all the same.
    let held = HeldBack::start(&app.database_url).await;
    let mine = alice.posted(room, "mine").await;
    let listed = list(&app, room, "").await;
    let ids = listed.ids();
    held.release().await;
    assert_eq!(
        ids,
        [
            mine["id"].as_i64().expect("id"),
            first["id"].as_i64().expect("id")
        ],
        "a list after my post shows it: {listed:?}"
    );
    // Once the log moves on, memory has it too.
    let later = list_from_memory(&app, room, "").await;
    assert_eq!(later.ids(), ids);
}

#[tokio::test]
async fn kept_rooms_stay_within_their_bounds_and_stay_exact() {
    let app = spawn_app_with(|config| {
        config.recent.recent_rooms = 3;
        config.recent.recent_messages = 10;
        config.recent.recent_memory = 4 * 1024;
    })
    .await;
    let database = spawn_app_on(&app.database_url, |config| {
        config.recent.recent_rooms = 0;
    })
    .await;
    let alice = app.signed_in("alice").await;
    let rooms: Vec<String> = (0..6).map(|i| format!("chat/bounded-{i}")).collect();
    for (i, room) in rooms.iter().enumerate() {
        for line in 0..=i {
            alice
                .posted(room, &format!("{line}: {}", "x".repeat(100)))
                .await;
        }
    }
    for _ in 0..2 {
        for room in &rooms {
            let from_memory = list_from_memory(&app, room, "?limit=5").await;
            assert_eq!(from_memory.status, StatusCode::OK);
            let stats = stats(&app);
            assert!(stats.rooms <= 3, "{stats:?}");
            assert!(stats.bytes <= 4 * 1024, "{stats:?}");
        }
    }
    assert!(stats(&app).evictions > 0, "{:?}", stats(&app));
    // A limit above what a room keeps goes to the database.
    let hits = stats(&app).hits;
    let big = list(&app, &rooms[5], "?limit=11").await;
    assert_eq!(
        stats(&app).hits,
        hits,
        "limit 11 > 10 kept: not from memory"
    );
    assert_eq!(big, list(&database, &rooms[5], "?limit=11").await);
    for room in &rooms {
        same_from_memory_and_database(&app, &database, room, &["?limit=1", "?limit=10"]).await;
    }
}

#[tokio::test]
async fn list_then_subscribe_from_memory_misses_nothing_and_repeats_nothing() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let room = "chat/seam";
    alice.posted(room, "warm-up").await;
    list_from_memory(&app, room, "?limit=100").await;

    const MESSAGES: usize = 60;
    let writer = {
        let alice = alice.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..MESSAGES {
                ids.push(alice.posted(room, &format!("seam {i}")).await["id"].as_i64());
            }
            ids
        })
    };
    // Lists from memory while the writer posts: each is exact at its position, so the
    // events after it are exactly the messages it does not show.
    let mut seams = Vec::new();
    for _ in 0..5 {
        let listed = list_from_memory(&app, room, "?limit=100").await;
        let position = listed.position.clone().expect("a Stream-Position");
        let (stream, replayed) =
            SseClient::connect_ready(&app, &format!("/api/rooms/{room}/events"), Some(&position))
                .await;
        seams.push((listed, stream, replayed));
    }
    let posted: BTreeSet<i64> = writer
        .await
        .expect("the writer")
        .into_iter()
        .map(|id| id.expect("an id"))
        .collect();
    let newest = *posted.last().expect("posted");
    for (listed, mut stream, replayed) in seams {
        let listed_ids: BTreeSet<i64> = listed.ids().into_iter().collect();
        let mut events = replayed;
        let seen = |events: &[parley_testing::SseEvent]| {
            events
                .iter()
                .any(|event| event.json()["id"].as_i64() == Some(newest))
        };
        if !listed_ids.contains(&newest) && !seen(&events) {
            events.extend(
                stream
                    .changes_until(|event| event.json()["id"].as_i64() == Some(newest))
                    .await,
            );
        }
        let mut delivered = Vec::new();
        for event in &events {
            assert_eq!(event.event, "message.created", "{event:?}");
            delivered.push(event.json()["id"].as_i64().expect("an id"));
        }
        let mut in_order = delivered.clone();
        in_order.sort_unstable();
        in_order.dedup();
        assert_eq!(delivered, in_order, "in order, each once");
        let delivered: BTreeSet<i64> = delivered.into_iter().collect();
        assert!(
            listed_ids.is_disjoint(&delivered),
            "listed at {:?} and delivered after it: {:?}",
            listed.position,
            listed_ids.intersection(&delivered).collect::<Vec<_>>()
        );
        let all: BTreeSet<i64> = listed_ids.union(&delivered).copied().collect();
        assert!(all.is_superset(&posted), "nothing missed");
    }
}
