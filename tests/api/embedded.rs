//! The real binary, with no configuration, in an empty directory: it creates its own
//! PostgreSQL cluster, and the data survives a restart.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::PASSWORD;

struct Server {
    child: Child,
    address: String,
}

/// Starts `parley` in `dir` and waits for the line that says where it listens.
fn start(dir: &Path) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PARLEY_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run parley");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("parley exited before it listened")
            .expect("read parley's output");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_owned();
        }
    };
    // Keep draining the output so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, address }
}

fn stop(mut server: Server) {
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let status = server.child.wait().expect("wait for parley");
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

    let server = start(dir.path());
    let url = |server: &Server, path: &str| format!("{}{path}", server.address);
    let register = client
        .post(url(&server, "/api/users"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert_eq!(register.status(), StatusCode::CREATED);
    let session: Value = client
        .post(url(&server, "/api/sessions"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    let token = session["token"].as_str().expect("token").to_owned();
    let created = client
        .request(Method::POST, url(&server, "/api/notes"))
        .bearer_auth(&token)
        .json(&json!({"key": "durable", "title": "Durable", "body": "still here"}))
        .send()
        .await
        .expect("create");
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

    let server = start(dir.path());
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
        .bearer_auth(&token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK, "sessions survive a restart");
    stop(server);
}

#[test]
fn a_missing_postgresql_is_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["--listen", "127.0.0.1:0", "--pg-bin-dir", "/nonexistent"])
        .env_remove("DATABASE_URL")
        .current_dir(dir.path())
        .output()
        .expect("run parley");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("initdb") && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
}
