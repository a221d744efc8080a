//! Presence across the real binary's deaths: `kill -9` of one server process has its
//! members' leaves announced by another within the bound; a restarted process leaves no
//! ghosts; a graceful restart that clients come back to produces no leave and no join.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

use parley_testing::TestUser;
use parley_testing::process::{Process, clean_command};
use parley_testing::sse::SseClient;
use parley_testing::wait::DEADLINE;

const HEARTBEAT: Duration = Duration::from_millis(200);

/// The real binary on `database_url`, with a short grace and heartbeat.
fn start(dir: &Path, database_url: &str, server_timeout: &str) -> Process {
    let mut command: Command = clean_command(env!("CARGO_BIN_EXE_parley"));
    command
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .args(["--listen", "127.0.0.1:0", "--presence-grace", "1s"])
        .args(["--presence-heartbeat", "200ms"])
        .args(["--presence-server-timeout", server_timeout]);
    Process::start(command)
}

fn room(server: &Process) -> String {
    format!("{}/api/rooms/chat/general/events", server.address)
}

/// `user`'s stream of the room on `server`, up to `ready`.
async fn tab(server: &Process, user: &TestUser) -> SseClient {
    SseClient::connect_ready_to(&user.authorized_client(), &room(server), None)
        .await
        .0
}

/// The next join or leave: `("presence.left", "alice")`.
async fn next_presence(stream: &mut SseClient) -> (String, String) {
    loop {
        let event = stream.expect_event().await;
        if event.event.starts_with("presence.") {
            let user = event.json()["user"].as_str().expect("user").to_owned();
            return (event.event, user);
        }
    }
}

/// The members in a snapshot taken at or after `seen`'s last position: exact there, however
/// long another transaction of the cluster holds the log back.
async fn members(server: &Process, seen: &SseClient) -> Vec<String> {
    let seen = position(seen.last_id.as_deref().expect("a position"));
    let url = format!("{}/api/rooms/chat/general/presence", server.address);
    for _ in 0..400 {
        let response = reqwest::get(&url).await.expect("GET presence");
        let at = response
            .headers()
            .get("stream-position")
            .and_then(|value| value.to_str().ok())
            .map(position)
            .expect("Stream-Position");
        let snapshot: Value = response.json().await.expect("snapshot");
        if at >= seen {
            return snapshot["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|member| member["user"].as_str().expect("user").to_owned())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no snapshot reached the stream's position");
}

fn position(text: &str) -> (i64, i64) {
    let (xid, id) = text.split_once('-').expect("a position");
    (xid.parse().expect("xid"), id.parse().expect("id"))
}

fn pair(kind: &str, user: &str) -> (String, String) {
    (kind.to_owned(), user.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_kill_9_another_server_announces_the_leaves_and_a_restart_leaves_no_ghosts() {
    let (database_url, _) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let server_timeout = Duration::from_secs(1);
    let mut first = start(dir.path(), &database_url, "1s");
    let mut second = start(dir.path(), &database_url, "1s");
    let client = reqwest::Client::new();
    let alice = TestUser::sign_up(&client, &first.address, "alice").await;
    let bob = TestUser::sign_up(&client, &second.address, "bob").await;

    let (mut observer, _) = SseClient::connect_ready_to(&client, &room(&second), None).await;
    let _alice_tab = tab(&first, &alice).await;
    let _bob_tab = tab(&second, &bob).await;
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.joined", "alice")
    );
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.joined", "bob")
    );

    first.child.kill().expect("kill -9");
    let killed = Instant::now();
    first.child.wait().expect("reap");
    // The bound: the heartbeat goes stale after `--presence-server-timeout`, the next
    // sweep (every `--presence-heartbeat`) finds it; the rest is a transaction and the
    // delivery. The test allows `DEADLINE` more for a loaded machine.
    let bound = server_timeout + HEARTBEAT;
    let leave = tokio::time::timeout(bound + DEADLINE, next_presence(&mut observer))
        .await
        .expect("the leave within the bound");
    assert_eq!(leave, pair("presence.left", "alice"));
    eprintln!(
        "kill -9 to presence.left: {:?} (bound {bound:?})",
        killed.elapsed()
    );
    assert_eq!(members(&second, &observer).await, ["bob"]);

    // The killed server comes back: nothing of its previous life is present, and alice
    // joins again when she reconnects to it.
    let restarted = start(dir.path(), &database_url, "1s");
    assert_eq!(members(&restarted, &observer).await, ["bob"], "no ghost");
    let _alice_again = tab(&restarted, &alice).await;
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.joined", "alice")
    );

    // Now the other one dies: the restarted one announces its member's leave.
    let (mut watcher, _) = SseClient::connect_ready_to(&client, &room(&restarted), None).await;
    second.child.kill().expect("kill -9");
    second.child.wait().expect("reap");
    let leave = tokio::time::timeout(bound + DEADLINE, next_presence(&mut watcher))
        .await
        .expect("the leave within the bound");
    assert_eq!(leave, pair("presence.left", "bob"));
    assert_eq!(members(&restarted, &watcher).await, ["alice"]);
}

/// SIGTERM, and a new process before `--presence-server-timeout`: the member whose client
/// reconnects to it never leaves, even once the stopped process's rows are swept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_graceful_restart_that_clients_come_back_to_produces_no_leave_and_no_join() {
    let (database_url, _) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = start(dir.path(), &database_url, "5s");
    let second = start(dir.path(), &database_url, "5s");
    let client = reqwest::Client::new();
    let alice = TestUser::sign_up(&client, &first.address, "alice").await;
    let bob = TestUser::sign_up(&client, &second.address, "bob").await;

    let (mut observer, _) = SseClient::connect_ready_to(&client, &room(&second), None).await;
    let alice_tab = tab(&first, &alice).await;
    let bob_tab = tab(&second, &bob).await;
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.joined", "alice")
    );
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.joined", "bob")
    );

    let status = first.terminate();
    assert!(status.success(), "{status}");
    drop(alice_tab);
    let restarted = start(dir.path(), &database_url, "5s");
    let _alice_back = tab(&restarted, &alice).await;

    // Wait until the stopped process has been swept (its row is gone), then end Bob's
    // stream: his leave is the next join or leave, so none came for Alice before it.
    let url = database_url.clone();
    let swept = tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).expect("connect");
        let deadline = Instant::now() + Duration::from_secs(5) + DEADLINE;
        loop {
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                servers: i64,
            }
            let count: Count = diesel::sql_query("SELECT count(*) AS servers FROM servers")
                .get_result(&mut conn)
                .expect("count servers");
            if count.servers == 2 {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .expect("sweep watcher");
    assert!(swept, "the stopped process was never swept");
    drop(bob_tab);
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.left", "bob")
    );
    assert_eq!(members(&restarted, &observer).await, ["alice"]);
}

/// A process frozen for longer than `--presence-server-timeout` (SIGSTOP, a paused VM) is
/// taken for dead: another announces its member's leave. When it thaws it finds its row
/// gone, registers again, and its member, whose stream is still open, joins again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_server_is_taken_for_dead_and_rejoins_its_members_when_it_thaws() {
    use nix::sys::signal::{Signal, kill};

    let (database_url, _) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let first = start(dir.path(), &database_url, "1s");
    let second = start(dir.path(), &database_url, "1s");
    let client = reqwest::Client::new();
    let alice = TestUser::sign_up(&client, &first.address, "alice").await;

    let (mut observer, _) = SseClient::connect_ready_to(&client, &room(&second), None).await;
    let _alice_tab = tab(&first, &alice).await;
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.joined", "alice")
    );

    kill(first.pid(), Signal::SIGSTOP).expect("SIGSTOP");
    let leave = next_presence(&mut observer).await;
    kill(first.pid(), Signal::SIGCONT).expect("SIGCONT");
    assert_eq!(leave, pair("presence.left", "alice"));
    assert_eq!(
        next_presence(&mut observer).await,
        pair("presence.joined", "alice")
    );
    assert_eq!(members(&second, &observer).await, ["alice"]);
}
