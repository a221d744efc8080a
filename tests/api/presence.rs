//! Presence: members per user rather than per tab, the grace period, the snapshot in
//! `ready` and at `Stream-Position`, resuming across joins and leaves, two servers, typing.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use parley_testing::sse::{SseClient, SseEvent};
use parley_testing::{TestApp, TestUser, assert_problem, spawn_app_on, spawn_app_with};

const ROOM: &str = "/api/rooms/chat/general";

/// Settings that let a test see a leave quickly: a grace of a second (the default is 10 s),
/// and a heartbeat that writes the lazy session counts often.
fn fast(config: &mut parley::config::Config) {
    config.presence_grace = Duration::from_secs(1);
    config.presence_heartbeat = Duration::from_millis(100);
    config.presence_server_timeout = Duration::from_secs(1);
}

async fn app() -> TestApp {
    spawn_app_with(fast).await
}

/// A tab: `user`'s stream of the room, read up to `ready`; returns it and `ready`'s data.
async fn tab(app: &TestApp, user: &TestUser) -> (SseClient, Value) {
    let url = app.url(&format!("{ROOM}/events"));
    let mut stream = SseClient::connect_to(&user.authorized_client(), &url, None).await;
    let ready = stream.expect_event().await;
    assert_eq!(ready.event, "ready", "{ready:?}");
    (stream, ready.json())
}

/// An anonymous stream of the room, from `after` if given, read up to `ready`.
async fn watch(app: &TestApp, after: Option<&str>) -> (SseClient, Vec<SseEvent>, Value) {
    let url = app.url(&format!("{ROOM}/events"));
    let mut stream = SseClient::connect_to(&app.client, &url, after).await;
    let mut replayed = Vec::new();
    loop {
        let event = stream.expect_event().await;
        if event.event == "ready" {
            return (stream, replayed, event.json());
        }
        replayed.push(event);
    }
}

/// The next join or leave, as `("presence.joined", "bob")`, skipping other events.
async fn next_presence(stream: &mut SseClient) -> (String, String) {
    loop {
        let event = stream.expect_event().await;
        if event.event.starts_with("presence.") {
            assert!(event.id.is_some(), "joins and leaves are in the log");
            let user = event.json()["user"].as_str().expect("user").to_owned();
            return (event.event, user);
        }
    }
}

fn joined(user: &str) -> (String, String) {
    ("presence.joined".to_owned(), user.to_owned())
}

fn left(user: &str) -> (String, String) {
    ("presence.left".to_owned(), user.to_owned())
}

/// The users a snapshot lists, checking that its count is theirs (it is, when not large).
fn members(snapshot: &Value) -> BTreeSet<String> {
    let listed = snapshot["members"].as_array().expect("members");
    assert_eq!(
        snapshot["members_count"].as_u64(),
        Some(listed.len() as u64),
        "a snapshot counts the members it lists: {snapshot}"
    );
    listed
        .iter()
        .map(|member| member["user"].as_str().expect("user").to_owned())
        .collect()
}

/// A position as the server writes it, to compare.
fn position(text: &str) -> (i64, i64) {
    let (xid, id) = text.split_once('-').expect("a position");
    (xid.parse().expect("xid"), id.parse().expect("id"))
}

/// Applies a join or leave to a member set, which must agree: a join of someone present
/// or a leave of someone absent means a gap or a duplicate.
fn apply(members: &mut BTreeSet<String>, event: &SseEvent) {
    let user = event.json()["user"].as_str().expect("user").to_owned();
    match event.event.as_str() {
        "presence.joined" => assert!(members.insert(user.clone()), "{user} joined twice"),
        "presence.left" => assert!(members.remove(&user), "{user} left without joining"),
        _ => {}
    }
}

/// The members a stream knows of: those in its `ready`, then its joins and leaves, until
/// they are `expected`. Usually `ready` already shows them; while another transaction in the
/// cluster holds the log back, a join committed just before the stream opened follows it.
async fn known_members(stream: &mut SseClient, ready: &Value, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|user| (*user).to_owned()).collect();
    let mut known = members(&ready["presence"]);
    while known != expected {
        let event = stream.expect_event().await;
        apply(&mut known, &event);
    }
}

/// The members of a snapshot taken at or after `position` (an event a stream received):
/// the membership exactly there.
async fn members_from(app: &TestApp, position: &str) -> BTreeSet<String> {
    for _ in 0..400 {
        let (now, at) = snapshot(app).await;
        if self::position(&at) >= self::position(position) {
            return members(&now);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no snapshot reached {position}");
}

/// Waits until the room's snapshot counts `sessions` streams of `user` (counts are written
/// within a heartbeat).
async fn wait_for_sessions(app: &TestApp, user: &str, sessions: u64) {
    for _ in 0..400 {
        let (now, _) = snapshot(app).await;
        let counted = now["members"]
            .as_array()
            .expect("members")
            .iter()
            .find(|member| member["user"] == user)
            .and_then(|member| member["sessions"].as_u64());
        if counted == Some(sessions) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{user} never had {sessions} sessions");
}

async fn snapshot(app: &TestApp) -> (Value, String) {
    let response = app.get(&format!("{ROOM}/presence")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let position = response
        .headers()
        .get("stream-position")
        .and_then(|value| value.to_str().ok())
        .expect("Stream-Position")
        .to_owned();
    (response.json().await.expect("snapshot"), position)
}

#[tokio::test]
async fn two_users_in_three_tabs_join_once_each_and_leave_after_their_last_tab_and_the_grace() {
    let app = app().await;
    let (alice, bob) = (app.signed_in("alice").await, app.signed_in("bob").await);
    let (mut observer, _, ready) = watch(&app, None).await;
    assert_eq!(ready["presence"]["members"], serde_json::json!([]));
    assert_eq!(ready["presence"]["anonymous"], 1, "the observer itself");
    assert!(
        ready.get("you").is_none(),
        "an anonymous stream names nobody"
    );

    let (mut alice_one, greeting) = tab(&app, &alice).await;
    assert_eq!(greeting["you"], "alice");
    known_members(&mut alice_one, &greeting, &["alice"]).await;
    let (alice_two, _) = tab(&app, &alice).await;
    let (mut bob_tab, greeting) = tab(&app, &bob).await;
    known_members(&mut bob_tab, &greeting, &["alice", "bob"]).await;
    assert_eq!(next_presence(&mut observer).await, joined("alice"));
    assert_eq!(
        next_presence(&mut observer).await,
        joined("bob"),
        "alice once"
    );

    // Alice closes one of her two tabs, and the server counts one left; then Bob closes
    // his only one. Had her closing tab made her leave, that leave would come first: its
    // grace started first.
    drop(alice_one);
    wait_for_sessions(&app, "alice", 1).await;
    drop(bob_tab);
    assert_eq!(next_presence(&mut observer).await, left("bob"));
    let seen = observer.last_id.clone().expect("a position");
    assert_eq!(
        members_from(&app, &seen).await,
        BTreeSet::from(["alice".to_owned()])
    );
    drop(alice_two);
    assert_eq!(next_presence(&mut observer).await, left("alice"));
    let seen = observer.last_id.clone().expect("a position");
    assert!(members_from(&app, &seen).await.is_empty());
}

#[tokio::test]
async fn a_reload_within_the_grace_period_produces_no_event_at_all() {
    let app = app().await;
    let (alice, bob) = (app.signed_in("alice").await, app.signed_in("bob").await);
    let (mut observer, _, _) = watch(&app, None).await;
    let (alice_tab, _) = tab(&app, &alice).await;
    let (bob_tab, _) = tab(&app, &bob).await;
    assert_eq!(next_presence(&mut observer).await, joined("alice"));
    assert_eq!(next_presence(&mut observer).await, joined("bob"));

    // A reload: the tab closes and opens again at once.
    drop(alice_tab);
    let (mut alice_again, greeting) = tab(&app, &alice).await;
    known_members(&mut alice_again, &greeting, &["alice", "bob"]).await;
    // Bob's leave is the next join or leave: none for Alice came before it.
    drop(bob_tab);
    assert_eq!(next_presence(&mut observer).await, left("bob"));
}

#[tokio::test]
async fn a_member_is_present_as_soon_as_the_stream_answers() {
    let app = app().await;
    let alice = app.signed_in("alice").await;
    let url = app.url(&format!("{ROOM}/events"));
    // The headers only: not a byte of the body read yet.
    let _stream = alice
        .authorized_client()
        .get(&url)
        .send()
        .await
        .expect("the stream");
    let database_url = app.database_url.clone();
    let open = tokio::task::spawn_blocking(move || {
        use diesel::{Connection, PgConnection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct Open {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            open: i64,
        }
        let mut conn = PgConnection::establish(&database_url).expect("connect");
        diesel::sql_query(
            "SELECT count(*) AS open FROM presence_intervals \
             WHERE username = 'alice' AND left_xid IS NULL",
        )
        .get_result::<Open>(&mut conn)
        .expect("count")
        .open
    })
    .await
    .expect("query");
    assert_eq!(open, 1, "committed before the response");

    let (now, position) = snapshot(&app).await;
    assert_eq!(now["large"], false);
    if members(&now).is_empty() {
        // Held back by another transaction of the cluster: it follows the position.
        let (mut follow, _, _) = watch(&app, Some(&position)).await;
        assert_eq!(next_presence(&mut follow).await, joined("alice"));
    } else {
        assert_eq!(now["members"][0]["user"], "alice", "{now}");
        assert_eq!(now["members"][0]["sessions"], 1);
        assert!(now["members"][0]["since"].is_string());
    }
}

#[tokio::test]
async fn sessions_count_each_users_streams() {
    let app = app().await;
    let alice = app.signed_in("alice").await;
    let (first, _) = tab(&app, &alice).await;
    let _second = tab(&app, &alice).await;
    wait_for_sessions(&app, "alice", 2).await;
    drop(first);
    wait_for_sessions(&app, "alice", 1).await;
}

/// A snapshot with its `Stream-Position`, then the stream from that position, gives the
/// exact membership while members come and go; so does a stream that disconnects and
/// resumes with `Last-Event-ID`; and both end where the final snapshot is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_then_stream_and_resume_are_gap_free_under_concurrent_joins_and_leaves() {
    const USERS: usize = 8;
    const ROUNDS: usize = 6;
    let app = spawn_app_with(|config| {
        fast(config);
        config.presence_grace = Duration::from_millis(30);
        config.registrations_per_minute = 0;
    })
    .await;
    let mut users = Vec::new();
    for i in 0..USERS {
        users.push(app.signed_in(&format!("user{i}")).await);
    }
    let (mut live, _, ready) = watch(&app, None).await;
    let mut live_members = members(&ready["presence"]);
    let mut live_last = ready["position"].as_str().expect("position").to_owned();

    // Every user opens and closes tabs; the even ones keep one open at the end.
    let churn: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let url = app.url(&format!("{ROOM}/events"));
            let client = user.authorized_client();
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    let stream = SseClient::connect_to(&client, &url, None).await;
                    tokio::time::sleep(Duration::from_millis(10 * ((i + round) % 4) as u64)).await;
                    drop(stream);
                    // Sometimes past the grace (a leave), sometimes within it (nothing).
                    tokio::time::sleep(Duration::from_millis(if round % 2 == 0 { 60 } else { 5 }))
                        .await;
                }
                if i % 2 == 0 {
                    Some(SseClient::connect_to(&client, &url, None).await)
                } else {
                    None
                }
            })
        })
        .collect();

    // In the middle of it: a snapshot, and a stream from its position.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (middle, middle_position) = snapshot(&app).await;
    let mut from_snapshot = members(&middle);
    let (mut follower, replayed, follower_ready) = watch(&app, Some(&middle_position)).await;
    let mut follower_last = middle_position.clone();
    for event in &replayed {
        follower_last = event.id.clone().expect("replayed events have ids");
        apply(&mut from_snapshot, event);
    }
    assert_eq!(
        members(&follower_ready["presence"]),
        from_snapshot,
        "a snapshot and the replay after it give the snapshot at ready's position"
    );

    // The live observer drops its connection twice and resumes.
    let mut kept = Vec::new();
    for _ in 0..2 {
        for _ in 0..4 {
            let event = live.expect_event().await;
            if event.id.is_some() {
                live_last = event.id.clone().expect("id");
            }
            apply(&mut live_members, &event);
        }
        drop(live);
        let (resumed, replayed, ready) = watch(&app, Some(&live_last)).await;
        live = resumed;
        for event in &replayed {
            live_last = event.id.clone().expect("replayed events have ids");
            apply(&mut live_members, event);
        }
        assert_eq!(
            members(&ready["presence"]),
            live_members,
            "the live view and its replay give the snapshot at ready's position"
        );
    }
    for task in churn {
        kept.push(task.await.expect("churn"));
    }
    let expected: BTreeSet<String> = (0..USERS)
        .filter(|i| i % 2 == 0)
        .map(|i| format!("user{i}"))
        .collect();

    // Once everything has settled, the final snapshot is what the churn left.
    let mut last_snapshot = (Value::Null, String::new());
    for _ in 0..400 {
        last_snapshot = snapshot(&app).await;
        if members(&last_snapshot.0) == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (end, end_position) = last_snapshot;
    assert_eq!(members(&end), expected);
    for (stream, set, last) in [
        (&mut live, &mut live_members, &mut live_last),
        (&mut follower, &mut from_snapshot, &mut follower_last),
    ] {
        while position(last) < position(&end_position) {
            let event = stream.expect_event().await;
            if let Some(id) = &event.id {
                last.clone_from(id);
            }
            apply(set, &event);
        }
        assert_eq!(*set, expected);
    }
}

#[tokio::test]
async fn two_servers_on_one_database_see_each_others_members() {
    let first = app().await;
    let second = spawn_app_on(&first.database_url, fast).await;
    let (alice, bob) = (first.signed_in("alice").await, first.signed_in("bob").await);
    let (mut on_first, _, _) = watch(&first, None).await;
    let (mut on_second, _, _) = watch(&second, None).await;

    let (_alice_tab, _) = tab(&first, &alice).await;
    let (mut bob_tab, greeting) = tab(&second, &bob.via(&second)).await;
    // Bob, on the second server, is greeted with Alice from the first.
    known_members(&mut bob_tab, &greeting, &["alice", "bob"]).await;
    for observer in [&mut on_first, &mut on_second] {
        assert_eq!(next_presence(observer).await, joined("alice"));
        assert_eq!(next_presence(observer).await, joined("bob"));
    }
    // Alice opens a second tab on the other server: still one member.
    let (_alice_elsewhere, _) = tab(&second, &alice.via(&second)).await;
    drop(bob_tab);
    for observer in [&mut on_first, &mut on_second] {
        assert_eq!(next_presence(observer).await, left("bob"));
    }
    let seen = on_first.last_id.clone().expect("a position");
    for server in [&first, &second] {
        assert_eq!(
            members_from(server, &seen).await,
            BTreeSet::from(["alice".to_owned()])
        );
    }
}

/// Typing reaches the room's other streams, on both servers, without an `id:`; it is never
/// replayed, and a client that resumes from its last `id` does not skip anything for it.
#[tokio::test]
async fn typing_reaches_others_without_an_id_and_is_never_replayed() {
    let first = app().await;
    let second = spawn_app_on(&first.database_url, fast).await;
    let (alice, bob) = (first.signed_in("alice").await, first.signed_in("bob").await);
    let (mut bob_here, _) = tab(&first, &bob).await;
    let (mut bob_there, _) = tab(&second, &bob.via(&second)).await;
    let before = bob_here.last_id.clone().expect("ready's position");

    let sent = alice.send(Method::POST, &format!("{ROOM}/typing")).await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    for stream in [&mut bob_here, &mut bob_there] {
        let typing = loop {
            let event = stream.expect_event().await;
            if event.event == "typing" {
                break event;
            }
        };
        assert_eq!(typing.id, None, "ephemeral: no id");
        assert_eq!(typing.json()["user"], "alice");
        assert_eq!(typing.json()["expires_in_ms"], 5000);
    }
    assert_eq!(
        bob_here.last_id.as_deref(),
        Some(before.as_str()),
        "typing does not move the resume position"
    );

    let message = alice.posted("chat/general", "hello").await;
    let url = first.url(&format!("{ROOM}/events"));
    let mut resumed = SseClient::connect_to(&first.client, &url, Some(&before)).await;
    // Up to the message (which may follow `ready` while another transaction in the
    // cluster holds the log back).
    let events = resumed
        .changes_until(|event| event.event == "message.created")
        .await;
    let kinds: Vec<&str> = events.iter().map(|event| event.event.as_str()).collect();
    assert!(!kinds.contains(&"typing"), "never replayed: {kinds:?}");
    assert_eq!(
        events.last().map(SseEvent::json).map(|m| m["id"].clone()),
        Some(message["id"].clone())
    );
}

#[tokio::test]
async fn the_new_endpoints_refuse_bad_input_and_bad_credentials() {
    let app = app().await;
    let alice = app.signed_in("alice").await;

    let anonymous = app
        .request(Method::POST, &format!("{ROOM}/typing"), None)
        .send()
        .await
        .expect("POST");
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let forged = app
        .request(Method::POST, &format!("{ROOM}/typing"), Some("not-a-token"))
        .send()
        .await
        .expect("POST");
    assert_problem(forged, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let bad_room = alice
        .send(Method::POST, "/api/rooms/Chat!/general/typing")
        .await;
    assert_problem(bad_room, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    // Bad credentials on a stream are a 401, not anonymity.
    let stream = app
        .request(Method::GET, &format!("{ROOM}/events"), Some("not-a-token"))
        .send()
        .await
        .expect("GET");
    assert_problem(stream, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let control = app.get("/api/rooms/chat/a%01b/presence").await;
    assert_problem(control, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    for query in ["limit=0", "limit=101", "cursor=%25%25", "cursor=bm9wZQ"] {
        let response = app.get(&format!("/api/rooms/chat?{query}")).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
    let namespace = app.get("/api/rooms/Not_A_Namespace").await;
    assert_problem(namespace, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    // A burst, then the per-user rate.
    let mut refused = None;
    for _ in 0..20 {
        let response = alice.send(Method::POST, &format!("{ROOM}/typing")).await;
        if response.status() != StatusCode::ACCEPTED {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the rate limit");
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
}

#[tokio::test]
async fn rooms_are_listed_by_last_activity_with_their_members_a_page_at_a_time() {
    let app = app().await;
    let alice = app.signed_in("alice").await;
    alice.posted("chat/old", "first").await;
    alice.posted("chat/newer", "second").await;
    alice.posted("elsewhere/other", "not in chat").await;
    let url = app.url("/api/rooms/chat/present/events");
    let _present = SseClient::connect_to(&alice.authorized_client(), &url, None).await;

    // Messages reach the list within a heartbeat; joins at once.
    let mut page = Value::Null;
    for _ in 0..400 {
        page = app.get("/api/rooms/chat").await.json().await.expect("page");
        if page["items"]
            .as_array()
            .is_some_and(|items| items.len() == 3)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rooms: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["room"].as_str().expect("room"))
        .collect();
    assert_eq!(rooms, ["present", "newer", "old"], "{page}");
    assert_eq!(page["items"][0]["members"], 1);
    assert_eq!(page["items"][1]["members"], 0);

    let first: Value = app
        .get("/api/rooms/chat?limit=2")
        .await
        .json()
        .await
        .expect("page");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second: Value = app
        .get(&format!("/api/rooms/chat?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .expect("page");
    assert_eq!(second["items"][0]["room"], "old");
    assert!(second.get("next_cursor").is_none(), "{second}");
}

/// Above `--presence-large-room` members, a stream gets counts, not a member list and not
/// each join: `ready` says `large`, `presence.count` follows at once and then when the
/// counts change (at most every 5 s), and joins are left out.
#[tokio::test]
async fn large_rooms_get_counts_instead_of_joins_and_leaves() {
    let app = spawn_app_with(|config| {
        fast(config);
        config.presence_large_room = 2;
    })
    .await;
    let mut tabs = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let user = app.signed_in(name).await;
        tabs.push(tab(&app, &user).await);
    }
    let (mut observer, _, ready) = watch(&app, None).await;
    assert_eq!(ready["presence"]["large"], true, "{ready}");
    assert_eq!(ready["presence"]["members"], serde_json::json!([]));
    // The count from the start, before the first `presence.count`.
    assert_eq!(ready["presence"]["members_count"], 3, "{ready}");
    let count = observer.expect_event().await;
    assert_eq!(count.event, "presence.count");
    assert_eq!(count.id, None, "ephemeral");
    assert_eq!(count.json()["members"], 3);

    let dan = app.signed_in("dan").await;
    tabs.push(tab(&app, &dan).await);
    // Counts, until the one with dan in it: his join is left out.
    loop {
        let next = observer.expect_event().await;
        assert_eq!(next.event, "presence.count", "{next:?}");
        if next.json()["members"] == 4 {
            break;
        }
    }
    assert_eq!(observer.last_id.as_deref(), ready["position"].as_str());
    let (now, _) = snapshot(&app).await;
    assert_eq!(now["large"], true, "{now}");
    assert_eq!(now["members_count"], 4, "{now}");
}

/// A browser's `EventSource` sends the session cookie, not a bearer token: the stream is
/// its user's all the same.
#[tokio::test]
async fn the_session_cookie_makes_a_stream_its_users() {
    let app = app().await;
    let alice = app.signed_in("alice").await;
    let url = app.url(&format!("{ROOM}/events"));
    let mut stream = SseClient::from_response(
        app.client
            .get(&url)
            .header("cookie", format!("parley_session={}", alice.token))
            .send()
            .await
            .expect("the stream"),
        &url,
    )
    .expect("an event stream");
    let ready = stream.expect_event().await;
    assert_eq!(ready.event, "ready");
    assert_eq!(ready.json()["you"], "alice");
    let forged = app
        .client
        .get(&url)
        .header("cookie", "parley_session=forged")
        .send()
        .await
        .expect("GET");
    // A page cannot remove the HttpOnly cookie, and EventSource would retry with it
    // forever: the 401 clears it, so the next attempt is anonymous.
    let cleared = forged
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.starts_with("parley_session=;") && value.contains("Max-Age=0"));
    assert!(
        cleared,
        "the dead cookie is cleared: {:?}",
        forged.headers()
    );
    assert_problem(forged, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // A bad bearer token is the client's own to fix: no cookie is touched.
    let bearer = app
        .client
        .get(&url)
        .bearer_auth("forged")
        .send()
        .await
        .expect("GET");
    assert!(bearer.headers().get("set-cookie").is_none());
    assert_problem(bearer, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_namespace_stream_learns_which_room_each_join_and_leave_is_about() {
    let app = app().await;
    let url = app.url("/api/rooms/chat/events");
    let mut namespace = SseClient::connect_to(&app.client, &url, None).await;
    assert_eq!(namespace.expect_event().await.event, "ready");
    let bob = app.signed_in("bob").await;
    let (bobs_tab, _) = tab(&app, &bob).await;
    drop(bobs_tab);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = namespace.expect_event().await;
        if event.event.starts_with("presence.") {
            let data = event.json();
            seen.push((event.event, data["namespace"].clone(), data["room"].clone()));
        }
    }
    for (kind, namespace, room) in seen {
        assert_eq!(
            (namespace.as_str(), room.as_str()),
            (Some("chat"), Some("general")),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn streams_of_two_rooms_opening_together_each_get_their_own_rooms_snapshot() {
    let app = app().await;
    let (alice, bob) = (app.signed_in("alice").await, app.signed_in("bob").await);
    let rooms = ["/api/rooms/chat/together-a", "/api/rooms/chat/together-b"];
    let alices = app.url(&format!("{}/events", rooms[0]));
    let bobs = app.url(&format!("{}/events", rooms[1]));
    let mut alices = SseClient::connect_to(&alice.authorized_client(), &alices, None).await;
    let mut bobs = SseClient::connect_to(&bob.authorized_client(), &bobs, None).await;
    assert_eq!(alices.expect_event().await.event, "ready");
    assert_eq!(bobs.expect_event().await.event, "ready");
    // Thirty streams at once, alternating rooms: those of a room that reach `ready` at
    // the same position share one snapshot query, and must never get the other room's.
    let opens = (0..30).map(|i| {
        let url = app.url(&format!("{}/events", rooms[i % 2]));
        let client = app.client.clone();
        async move {
            let mut stream = SseClient::connect_to(&client, &url, None).await;
            loop {
                let event = stream.expect_event().await;
                if event.event == "ready" {
                    return (i % 2, event.json());
                }
            }
        }
    });
    for (room, ready) in futures_util::future::join_all(opens).await {
        let (own, other) = if room == 0 {
            ("alice", "bob")
        } else {
            ("bob", "alice")
        };
        let members = members(&ready["presence"]);
        assert!(
            !members.contains(other),
            "room {room} got the other's: {ready}"
        );
        // Its own member is there, unless another transaction of the cluster holds the
        // log back (then the join follows `ready`).
        assert!(members.iter().all(|user| user == own), "{ready}");
        assert_eq!(ready["presence"]["members_count"], members.len(), "{ready}");
    }
}
