//! Faults: the database goes away and comes back. A binary of its own, with a cluster of
//! its own, because stopping the shared test cluster would break every other test.

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
