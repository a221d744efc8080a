//! Faults: the database goes away and comes back; the server is killed in the middle of
//! its writes. A binary of its own, with clusters of its own, because stopping the shared
//! test cluster would break every other test.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use parley::config::Config;
use parley::db::cluster::{Cluster, ClusterOptions};
use parley::startup::Application;
use parley_testing::{SseClient, TestUser};
use reqwest::StatusCode;

const PATIENCE: Duration = Duration::from_secs(60);

/// A throwaway cluster of the test's own, in a new directory the `postgres` user can
/// enter (when tests run as root), with the database `parley`.
async fn own_cluster(prefix: &str) -> (tempfile::TempDir, Cluster) {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cluster_dir = dir.path().to_owned();
    let cluster = tokio::task::spawn_blocking(move || start_cluster(&cluster_dir))
        .await
        .expect("cluster");
    (dir, cluster)
}

fn start_cluster(dir: &Path) -> Cluster {
    let options = ClusterOptions {
        ephemeral: true,
        ..ClusterOptions::default()
    };
    let cluster = Cluster::start(dir, &options).expect("start PostgreSQL");
    cluster.ensure_database("parley").expect("database");
    cluster
}

/// Polls `/readyz` until it answers `want` (bounded by PATIENCE).
async fn readiness_becomes(
    client: &reqwest::Client,
    base: &str,
    want: StatusCode,
) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let response = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .expect("readyz");
        if response.status() == want {
            return response;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never answered {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn problem_with_retry_after(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert!(header("retry-after").is_some(), "503 without Retry-After");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_goes_away_and_comes_back_without_a_restart() {
    let (dir, cluster) = own_cluster("parley-faults-").await;
    let mut config = Config::for_database(cluster.url("parley"));
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.database.db_timeout = Duration::from_secs(1);
    let app = Application::build(config).await.expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::new();
    let alice = TestUser::sign_up(&client, &base, "alice").await;
    let post = |text: &'static str| alice.post_message("chat/general", text);

    // A watcher, caught up.
    let events = format!("{base}/api/rooms/chat/general/events");
    let (mut stream, _) = SseClient::connect_ready_to(&client, &events, None).await;

    // The database stops.
    let cluster = tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("stop task");
    cluster.expect("stop PostgreSQL");
    let not_ready = readiness_becomes(&client, &base, StatusCode::SERVICE_UNAVAILABLE).await;
    problem_with_retry_after(&not_ready);
    let refused = post("while the database is down").await;
    problem_with_retry_after(&refused);

    // It comes back; the same server serves again, and the same stream delivers.
    let cluster_dir = dir.path().to_owned();
    let cluster = tokio::task::spawn_blocking(move || start_cluster(&cluster_dir))
        .await
        .expect("cluster");
    readiness_becomes(&client, &base, StatusCode::OK).await;
    let accepted = post("after the outage").await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
    // The stream stayed open through the outage: it delivers the new write, and only it.
    let delivered = stream
        .changes_until(|event| event.data.contains("after the outage"))
        .await;
    assert!(
        delivered
            .iter()
            .all(|event| !event.data.contains("while the database is down")),
        "a refused write was delivered: {delivered:?}"
    );

    handle.stop(true).await;
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("stop task")
        .expect("stop");
}

/// The postmaster of the cluster in `dir` and every process it started: the whole server.
fn postgres_processes(dir: &Path) -> Vec<nix::unistd::Pid> {
    let lock = std::fs::read_to_string(dir.join("postgres").join("postmaster.pid"))
        .expect("postmaster.pid");
    let postmaster: i32 = lock
        .lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .expect("the postmaster's pid");
    let mut pids = vec![postmaster];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces, so read after its `)`.
        let parent = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| {
                let rest = stat.rsplit_once(')')?.1.to_owned();
                rest.split_whitespace().nth(1)?.parse::<i32>().ok()
            });
        if parent == Some(postmaster) {
            pids.push(pid);
        }
    }
    pids.into_iter().map(nix::unistd::Pid::from_raw).collect()
}

/// Threads of this process (the server's among them).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

/// Stops every PostgreSQL process until dropped: new connections hang in the listen
/// backlog and open ones never answer, as when the host freezes.
struct Frozen(Vec<nix::unistd::Pid>);

impl Frozen {
    fn new(dir: &Path) -> Self {
        let pids = postgres_processes(dir);
        for pid in &pids {
            nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
        }
        Self(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGCONT);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_503_promptly_while_the_database_is_frozen() {
    let (dir, cluster) = own_cluster("parley-freeze-").await;
    let mut config = Config::for_database(cluster.url("parley"));
    config.listen = "127.0.0.1:0".parse().expect("address");
    let app = Application::build(config).await.expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    readiness_becomes(&client, &base, StatusCode::OK).await;

    let threads_before = threads();
    let frozen = Frozen::new(dir.path());
    // Probes keep coming during the freeze: each answers, and none waits for the last.
    for _ in 0..3 {
        let probes = (0..4).map(|_| {
            tokio::time::timeout(
                Duration::from_secs(5),
                client.get(format!("{base}/readyz")).send(),
            )
        });
        for answer in futures_util::future::join_all(probes).await {
            let response = answer
                .expect("/readyz answered within 5 s")
                .expect("readyz");
            problem_with_retry_after(&response);
        }
    }
    // A ping blocks its thread until the database answers: twelve probes that each
    // started one would leave a dozen threads stuck (and as many connections).
    let grown = threads().saturating_sub(threads_before);
    assert!(
        grown <= 3,
        "{grown} more threads after 12 probes of a frozen database"
    );
    drop(frozen);
    readiness_becomes(&client, &base, StatusCode::OK).await;

    handle.stop(true).await;
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("stop task")
        .expect("stop");
}

/// What the writers of the kill test were told was written: each answer's body, by the
/// message's id or the note's key.
#[derive(Default)]
struct Acknowledged {
    messages: Vec<(i64, String)>,
    notes: Vec<(String, String)>,
}

/// `kill -9` of the real server while batches of message posts and note creations
/// commit: every write it acknowledged is in the database with its one event (the same
/// bytes as the answer), and no event exists without its row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_batches_keeps_every_acknowledged_write_and_no_event_without_its_row() {
    use std::sync::{Arc, Mutex, PoisonError};

    use diesel::{Connection, PgConnection, RunQueryDsl};
    use parley_testing::process::{Process, clean_command};
    use parley_testing::wait::eventually;
    use serde_json::{Value, json};

    let (_dir, cluster) = own_cluster("parley-kill-").await;
    let database_url = cluster.url("parley");
    let mut command = clean_command(env!("CARGO_BIN_EXE_parley"));
    command.args(["--listen", "127.0.0.1:0", "--database-url", &database_url]);
    let mut server = Process::start(command);
    let address = server.address.clone();
    let client = reqwest::Client::new();
    let alice = TestUser::sign_up(&client, &address, "alice").await;

    // Writers keep writing until the server stops answering: even ones post messages,
    // odd ones create notes, so batches of both kinds are in flight when it dies.
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let writers: Vec<_> = (0..24)
        .map(|w| {
            let (client, address, token) = (client.clone(), address.clone(), alice.token.clone());
            let acknowledged = Arc::clone(&acknowledged);
            tokio::spawn(async move {
                for i in 0.. {
                    let request = if w % 2 == 0 {
                        client
                            .post(format!("{address}/api/rooms/chat/kill/messages"))
                            .json(&json!({"message": format!("w{w}-{i}")}))
                    } else {
                        client
                            .post(format!("{address}/api/notes"))
                            .json(&json!({"key": format!("w{w}-{i}"), "title": "t", "body": "b"}))
                    };
                    let Ok(response) = request.bearer_auth(&token).send().await else {
                        return;
                    };
                    if response.status() != StatusCode::CREATED {
                        return;
                    }
                    let Ok(body) = response.text().await else {
                        return;
                    };
                    let value: Value = serde_json::from_str(&body).expect("JSON");
                    let mut acknowledged =
                        acknowledged.lock().unwrap_or_else(PoisonError::into_inner);
                    if w % 2 == 0 {
                        let id = value["id"].as_i64().expect("id");
                        acknowledged.messages.push((id, body));
                    } else {
                        let key = value["key"].as_str().expect("key").to_owned();
                        acknowledged.notes.push((key, body));
                    }
                }
            })
        })
        .collect();
    let count = Arc::clone(&acknowledged);
    eventually("the writers have had 300 writes acknowledged", move || {
        let count = count.lock().unwrap_or_else(PoisonError::into_inner);
        count.messages.len() + count.notes.len() >= 300
    })
    .await;
    server.child.kill().expect("kill -9");
    server.child.wait().expect("wait");
    for writer in writers {
        writer.await.expect("writer");
    }
    let acknowledged =
        std::mem::take(&mut *acknowledged.lock().unwrap_or_else(PoisonError::into_inner));

    #[derive(diesel::QueryableByName)]
    struct Written {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        data: Option<String>,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        events: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        orphans: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        largest_batch: i64,
    }
    let (written, counts) = tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&database_url).expect("connect");
        // Every row with its events (their count, and the data of one).
        let written = diesel::sql_query(
            "SELECT 'message' AS kind, m.id::text AS name, min(e.data) AS data, \
                count(e.id) AS events \
             FROM messages m LEFT JOIN events e ON e.event_type = 'message.created' \
                AND (e.data::jsonb->>'id')::bigint = m.id GROUP BY m.id \
             UNION ALL \
             SELECT 'note', n.key, min(e.data), count(e.id) \
             FROM notes n LEFT JOIN events e ON e.event_type = 'note.created' \
                AND e.room = n.key GROUP BY n.key",
        )
        .load::<Written>(&mut conn)
        .expect("rows and events");
        let counts = diesel::sql_query(
            "SELECT (SELECT count(*) FROM events e WHERE \
                (e.event_type = 'message.created' AND NOT EXISTS (SELECT 1 FROM messages m \
                    WHERE m.id = (e.data::jsonb->>'id')::bigint)) \
                OR (e.event_type = 'note.created' AND NOT EXISTS (SELECT 1 FROM notes n \
                    WHERE n.key = e.room))) AS orphans, \
             (SELECT max(n) FROM (SELECT count(*) AS n FROM events GROUP BY xid) AS b) \
                AS largest_batch",
        )
        .get_result::<Counts>(&mut conn)
        .expect("counts");
        (written, counts)
    })
    .await
    .expect("query task");
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("stop task")
        .expect("stop PostgreSQL");

    assert_eq!(counts.orphans, 0, "an event without its row");
    assert!(
        counts.largest_batch > 1,
        "no batch of more than one write committed: the kill did not hit batches"
    );
    for row in &written {
        assert_eq!(
            row.events, 1,
            "{} {} has {} events",
            row.kind, row.name, row.events
        );
    }
    let stored = |kind: &str, name: &str| {
        written
            .iter()
            .find(|row| row.kind == kind && row.name == name)
            .and_then(|row| row.data.clone())
    };
    for (id, body) in &acknowledged.messages {
        assert_eq!(
            stored("message", &id.to_string()).as_ref(),
            Some(body),
            "message {id}"
        );
    }
    for (key, body) in &acknowledged.notes {
        assert_eq!(stored("note", key).as_ref(), Some(body), "note {key}");
    }
}
