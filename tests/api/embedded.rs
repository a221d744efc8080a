//! The real binary, with no configuration, in an empty directory: it creates its own
//! PostgreSQL cluster, and the data survives a restart.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::signal::{Signal, kill};
use reqwest::StatusCode;
use serde_json::{Value, json};

use parley_testing::TestUser;
use parley_testing::process::{Process, clean_command};

/// `parley`, run in `dir`, with none of the caller's settings.
fn parley(dir: &Path) -> Command {
    let mut command = clean_command(env!("CARGO_BIN_EXE_parley"));
    command.current_dir(dir);
    command
}

/// Starts `parley` in `dir` (on `database_url`, or its own private cluster) and waits
/// for the line that says where it listens.
fn start(dir: &Path, database_url: Option<&str>) -> Process {
    let mut command = parley(dir);
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.args(["--listen", "127.0.0.1:0"]);
    Process::start(command)
}

fn stop(mut server: Process) {
    let status = server.terminate();
    assert!(status.success(), "parley exited with {status}");
}

#[tokio::test]
async fn the_binary_runs_its_own_database_and_keeps_data_across_restarts() {
    let dir = tempfile::Builder::new()
        .prefix("parley-embedded-")
        .tempdir()
        .expect("tempdir");
    // PostgreSQL runs as an unprivileged user when tests run as root: let it in.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let client = reqwest::Client::new();

    let server = start(dir.path(), None);
    let url = |server: &Process, path: &str| format!("{}{path}", server.address);
    let alice = TestUser::sign_up(&client, &server.address, "alice").await;
    let created = alice.create_note("durable", "Durable", "still here").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    stop(server);

    let cluster = dir.path().join("data/postgres");
    assert!(
        cluster.join("PG_VERSION").exists(),
        "the cluster lives in ./data"
    );
    assert!(
        !cluster.join("postmaster.pid").exists(),
        "PostgreSQL was not stopped"
    );

    // A lock file left by a crash, naming a process that no longer exists.
    let mut gone = Command::new("true").spawn().expect("spawn");
    let dead_pid = gone.id();
    gone.wait().expect("wait");
    std::fs::write(
        cluster.join("postmaster.pid"),
        format!("{dead_pid}\n{}\n", cluster.display()),
    )
    .expect("write a stale lock");

    let server = start(dir.path(), None);
    let note: Value = client
        .get(url(&server, "/api/notes/durable"))
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("note");
    assert_eq!(note["body"], "still here");
    assert_eq!(note["author"], "alice");
    let me = client
        .get(url(&server, "/api/users/me"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK, "sessions survive a restart");
    stop(server);
}

#[test]
fn a_missing_postgresql_is_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = parley(dir.path())
        .args(["--listen", "127.0.0.1:0", "--pg-bin-dir", "/nonexistent"])
        .output()
        .expect("run parley");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("initdb") && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
}

/// A checkout under `/root` (or any `0700` directory) as root: PostgreSQL's user cannot
/// reach `./data`, so the cluster goes under `/var/lib/parley`, and the log says where.
#[tokio::test]
async fn as_root_a_private_directory_needs_no_configuration() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: only root runs PostgreSQL as another user (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");

    let server = start(dir.path(), None);
    let cluster = server
        .log
        .iter()
        .find_map(|line| line.split(" is in ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no line says where the cluster is: {:?}", server.log));
    let _remove = RemoveOnDrop(cluster.clone());
    assert!(cluster.starts_with("/var/lib/parley/"), "{cluster:?}");
    let ready = reqwest::get(format!("{}/readyz", server.address))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);
    stop(server);

    assert!(cluster.join("postgres/PG_VERSION").exists());
    assert!(
        !dir.path().join("data").exists(),
        "nothing is left in the directory PostgreSQL cannot use"
    );
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        // `/var/lib/parley` too, unless another run still has a cluster there.
        if let Some(parent) = self.0.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// A first run that fails removes the data directory it created: a socket path too long,
/// or an `initdb` that fails half-way.
#[test]
fn a_failed_start_leaves_no_data_directory_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let long = dir.path().join("d".repeat(100)).join("data");
    let output = parley(dir.path())
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&long)
        .output()
        .expect("run parley");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("too long"),
        "{output:?}"
    );
    assert!(
        !dir.path().join("d".repeat(100)).exists(),
        "{long:?} is left"
    );

    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    for program in ["initdb", "postgres"] {
        let path = bin.join(program);
        std::fs::write(&path, "#!/bin/sh\necho 'simulated failure' >&2\nexit 1\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let output = parley(dir.path())
        .args(["--listen", "127.0.0.1:0", "--pg-bin-dir"])
        .arg(&bin)
        .output()
        .expect("run parley");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("simulated failure"),
        "{output:?}"
    );
    assert!(!dir.path().join("data").exists(), "./data is left");
}

/// Another process on the address: one error, on stderr, that says which flag to change.
#[tokio::test]
async fn a_taken_address_is_one_error_that_names_the_flag() {
    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let output = parley(dir.path())
        .args(["--listen", &address, "--database-url", &database_url])
        .output()
        .expect("run parley");
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = format!("could not listen on {address}");
    assert_eq!(
        stdout.matches(&said).count() + stderr.matches(&said).count(),
        1,
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains("already in use") && stderr.contains("--listen"),
        "{stderr}"
    );
}

/// Settings may follow the subcommand, like `parley migrate --data-dir d`.
#[tokio::test]
async fn settings_may_follow_the_subcommand() {
    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let output = parley(dir.path())
        .args([
            "migrate",
            "--data-dir",
            "unused",
            "--database-url",
            &database_url,
        ])
        .output()
        .expect("run parley");
    assert!(output.status.success(), "{output:?}");
    assert!(
        !dir.path().join("unused").exists() && !dir.path().join("data").exists(),
        "--database-url was not taken: a private cluster was started"
    );
}

/// SIGTERM while streams are open and writes are in flight: the streams end, the process
/// exits cleanly, and every write is whole: each message that exists has exactly one
/// event, and every message the server acknowledged exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_ends_streams_and_leaves_no_half_done_write() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    use parley_testing::sse::SseClient;

    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(dir.path(), Some(&database_url));
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let token = TestUser::sign_up(&client, &address, "alice").await.token;
    let stream_url = format!("{address}/api/rooms/chat/general/events");
    let (mut stream, _) = SseClient::connect_ready_to(&client, &stream_url, None).await;

    // Writers keep posting until the server stops answering.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let client = client.clone();
            let url = format!("{address}/api/rooms/chat/general/messages");
            let token = token.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let sent = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"message": format!("w{w}-{i}")}))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == StatusCode::CREATED => {
                            let message: Value = response.json().await.expect("message");
                            acknowledged.push(message["id"].as_i64().expect("id"));
                        }
                        _ => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Let the writes flow: wait until the stream has seen some of them.
    stream.take(20).await;
    kill(server.pid(), Signal::SIGTERM).expect("SIGTERM");

    // The stream ends (after delivering whatever was already on its way).
    while stream.next_or_end().await.is_some() {}
    let status = server.child.wait().expect("wait");
    assert!(status.success(), "parley exited with {status}");
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer"));
    }
    assert!(acknowledged.len() >= 20);

    let (messages, orphans, missing_events) = tokio::task::spawn_blocking(move || {
        #[derive(diesel::QueryableByName)]
        struct Counts {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            messages: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            orphans: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            missing: i64,
        }
        let mut conn = PgConnection::establish(&database_url).expect("connect");
        let counts = diesel::sql_query(
            "SELECT (SELECT count(*) FROM messages) AS messages, \
             (SELECT count(*) FROM events e WHERE e.event_type = 'message.created' AND NOT EXISTS \
                (SELECT 1 FROM messages m WHERE m.id = (e.data::jsonb->>'id')::bigint)) AS orphans, \
             (SELECT count(*) FROM messages m WHERE (SELECT count(*) FROM events e \
                WHERE e.event_type = 'message.created' AND (e.data::jsonb->>'id')::bigint = m.id) <> 1) AS missing",
        )
        .get_result::<Counts>(&mut conn)
        .expect("counts");
        (counts.messages, counts.orphans, counts.missing)
    })
    .await
    .expect("count task");
    assert_eq!(orphans, 0, "an event without its message");
    assert_eq!(missing_events, 0, "a message without exactly one event");
    assert!(
        messages as usize >= acknowledged.len(),
        "every acknowledged write is there"
    );
}

/// `kill -9` mid-stream, then a new server on the same database: a client resuming with
/// its `Last-Event-ID` receives every acknowledged write it had not seen, once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_kill_9_and_restart_resuming_clients_lose_nothing() {
    use parley_testing::sse::SseClient;

    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(dir.path(), Some(&database_url));
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let token = TestUser::sign_up(&client, &address, "alice").await.token;
    let (mut stream, _) = SseClient::connect_ready_to(
        &client,
        &format!("{address}/api/rooms/chat/general/events"),
        None,
    )
    .await;

    // A writer that reports each acknowledged id, until the server is gone.
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel::<i64>();
    let writer = {
        let client = client.clone();
        let url = format!("{address}/api/rooms/chat/general/messages");
        let token = token.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"message": format!("m{i}")}))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::CREATED => {
                        let message: Value = response.json().await.expect("message");
                        if acks.send(message["id"].as_i64().expect("id")).is_err() {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        })
    };
    // The client reads five events, then stops reading while writes go on.
    let mut received: Vec<i64> = Vec::new();
    for event in stream.take(5).await {
        received.push(event.json()["id"].as_i64().expect("id"));
    }
    let last = stream.last_id.clone().expect("an id to resume from");
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 25 {
        acknowledged.push(acked.recv().await.expect("an acknowledgement"));
    }
    server.child.kill().expect("kill -9");
    server.child.wait().expect("reap");
    drop(stream);
    writer.await.expect("writer");
    while let Ok(id) = acked.try_recv() {
        acknowledged.push(id);
    }

    let restarted = start(dir.path(), Some(&database_url));
    let url = format!("{}/api/rooms/chat/general/events", restarted.address);
    let mut resumed = SseClient::connect_to(&client, &url, Some(&last)).await;
    let newest = *acknowledged.iter().max().expect("acknowledged writes");
    for event in resumed
        .changes_until(|e| e.json()["id"].as_i64() == Some(newest))
        .await
    {
        received.push(event.json()["id"].as_i64().expect("id"));
    }
    let mut sorted = received.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), received.len(), "a duplicate delivery");
    assert_eq!(sorted, received, "out of order");
    for id in &acknowledged {
        assert!(
            received.contains(id),
            "acknowledged message {id} was never delivered"
        );
    }
    stop(restarted);
}
