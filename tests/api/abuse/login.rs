//! Password guessing, lockouts, the hashing queue and registrations.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use parley::rate_limit::{PER_ACCOUNT, PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use parley_testing::process::{Process, clean_command};
use parley_testing::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

/// Requests in flight at once in a burst: enough to race, few enough for any CI box.
const IN_FLIGHT: usize = 50;
/// "It answered": generous, only there so a hang fails instead of stalling CI.
const PATIENCE: Duration = Duration::from_secs(60);

/// A client whose connections come from `address` (any of 127.0.0.0/8 reaches the
/// server), with a cookie store like a browser's.
fn client_from(address: [u8; 4]) -> Client {
    Client::builder()
        .local_address(IpAddr::from(address))
        .cookie_store(true)
        .timeout(PATIENCE)
        .build()
        .expect("client")
}

async fn post(client: &Client, app: &TestApp, path: &str, body: Value) -> Response {
    client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("an answer")
}

async fn log_in(client: &Client, app: &TestApp, username: &str, password: &str) -> Response {
    post(
        client,
        app,
        "/api/sessions",
        json!({"username": username, "password": password}),
    )
    .await
}

/// Sends every body at once (at most `IN_FLIGHT` in flight) and returns the statuses,
/// after checking that each refusal is problem+json with `Retry-After`.
async fn burst(client: &Client, app: &TestApp, path: &str, bodies: Vec<Value>) -> Vec<StatusCode> {
    stream::iter(bodies)
        .map(|body| async move {
            let response = post(client, app, path, body).await;
            let status = response.status();
            if matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ) {
                assert_retry_after(&response);
                let code = if status == StatusCode::SERVICE_UNAVAILABLE {
                    "unavailable"
                } else {
                    "too-many-requests"
                };
                assert_problem(response, status, code).await;
            }
            status
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|&&status| status == wanted).count()
}

fn assert_retry_after(response: &Response) {
    let seconds: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{} without Retry-After seconds", response.status()));
    assert!(seconds > 0);
}

fn wrong_guesses(usernames: &[String], each: usize) -> Vec<Value> {
    usernames
        .iter()
        .flat_map(|username| {
            (0..each).map(
                move |n| json!({"username": username, "password": format!("guess number {n}")}),
            )
        })
        .collect()
}

#[tokio::test]
async fn concurrent_wrong_passwords_for_one_account_are_counted_before_hashing() {
    let app = spawn_app().await;
    assert_eq!(app.register("alice").await.status(), StatusCode::CREATED);
    let statuses = burst(
        &app.client,
        &app,
        "/api/sessions",
        wrong_guesses(&["alice".to_owned()], 300),
    )
    .await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(
        checked <= PER_ACCOUNT_AND_ADDRESS as usize,
        "{checked} of 300 concurrent guesses were checked; the limit is {PER_ACCOUNT_AND_ADDRESS}"
    );
    assert!(checked > 0, "some guesses are checked");
    assert_eq!(
        checked + count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        300,
        "every other guess is refused before hashing: {statuses:?}"
    );
}

#[tokio::test]
async fn concurrent_wrong_passwords_across_accounts_from_one_address_are_counted_before_hashing() {
    let app = spawn_app().await;
    // Unknown usernames are hashed too (against a dummy), so they cost as much to check.
    let usernames: Vec<String> = (0..20).map(|n| format!("user{n:02}")).collect();
    let statuses = burst(
        &app.client,
        &app,
        "/api/sessions",
        wrong_guesses(&usernames, 10),
    )
    .await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(
        checked <= PER_ADDRESS as usize,
        "{checked} of 200 guesses from one address were checked; the limit is {PER_ADDRESS}"
    );
    assert!(checked > 0, "some guesses are checked");
    assert_eq!(
        checked
            + count(&statuses, StatusCode::TOO_MANY_REQUESTS)
            + count(&statuses, StatusCode::SERVICE_UNAVAILABLE),
        200,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn an_attacker_cannot_lock_the_owner_out() {
    let app = spawn_app().await;
    assert_eq!(app.register("alice").await.status(), StatusCode::CREATED);
    let attacker = client_from([127, 0, 0, 1]);
    for n in 0..PER_ACCOUNT_AND_ADDRESS {
        let guess = log_in(&attacker, &app, "alice", &format!("guess number {n}")).await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = log_in(&attacker, &app, "alice", "one guess too many").await;
    assert_retry_after(&refused);
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;

    let owner = client_from([127, 0, 0, 2]);
    let signed_in = log_in(&owner, &app, "alice", PASSWORD).await;
    assert_eq!(
        signed_in.status(),
        StatusCode::CREATED,
        "the owner gets in from another address"
    );

    // Even the right password does not tell the attacker it was right.
    let right_guess = log_in(&attacker, &app, "alice", PASSWORD).await;
    assert_retry_after(&right_guess);
    assert_problem(
        right_guess,
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-requests",
    )
    .await;
}

#[tokio::test]
async fn past_the_account_budget_only_clients_that_signed_in_before_may_try() {
    let app = spawn_app().await;
    assert_eq!(app.register("alice").await.status(), StatusCode::CREATED);
    let owner = client_from([127, 0, 0, 2]);
    assert_eq!(
        log_in(&owner, &app, "alice", PASSWORD).await.status(),
        StatusCode::CREATED
    );

    // Many attacker hosts, each within its own budget, together use up the account's.
    let hosts = PER_ACCOUNT.div_ceil(PER_ACCOUNT_AND_ADDRESS);
    let mut checked = 0;
    for host in 0..hosts {
        let attacker = client_from([127, 0, 1, u8::try_from(host).expect("few hosts")]);
        let guesses = stream::iter(0..PER_ACCOUNT_AND_ADDRESS)
            .map(|n| {
                let attacker = &attacker;
                let app = &app;
                async move {
                    log_in(attacker, app, "alice", &format!("guess {n}"))
                        .await
                        .status()
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        checked += count(&guesses, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(checked, PER_ACCOUNT as usize, "every host used its budget");

    let stranger = client_from([127, 0, 2, 1]);
    let refused = log_in(&stranger, &app, "alice", PASSWORD).await;
    assert_retry_after(&refused);
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
    assert_eq!(
        log_in(&owner, &app, "alice", PASSWORD).await.status(),
        StatusCode::CREATED,
        "the owner's client, known from its earlier sign-in, still gets in"
    );
}

#[tokio::test]
async fn a_burst_of_registrations_from_one_address_is_limited() {
    let app = spawn_app().await;
    let bodies = (0..40)
        .map(|n| json!({"username": format!("spam{n:02}"), "password": PASSWORD}))
        .collect();
    let statuses = burst(&app.client, &app, "/api/users", bodies).await;
    let created = count(&statuses, StatusCode::CREATED);
    assert!(
        (1..=5).contains(&created),
        "{created} of 40 registrations from one address were created: {statuses:?}"
    );
    assert_eq!(
        created
            + count(&statuses, StatusCode::TOO_MANY_REQUESTS)
            + count(&statuses, StatusCode::SERVICE_UNAVAILABLE),
        40,
        "{statuses:?}"
    );
    let elsewhere = client_from([127, 0, 0, 2]);
    let other = post(
        &elsewhere,
        &app,
        "/api/users",
        json!({"username": "neighbour", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        other.status(),
        StatusCode::CREATED,
        "other addresses are not limited"
    );
}

#[tokio::test]
async fn a_full_hashing_queue_answers_503_at_once_and_logins_still_get_in() {
    let app = spawn_app_with(|config| {
        config.registrations_per_minute = 0;
        config.hash_queue = std::num::NonZeroUsize::new(2);
    })
    .await;
    assert_eq!(app.register("alice").await.status(), StatusCode::CREATED);
    let bodies = (0..60)
        .map(|n| json!({"username": format!("flood{n:02}"), "password": PASSWORD}))
        .collect::<Vec<_>>();
    let flood = {
        let client = client_from([127, 0, 0, 3]);
        let bodies = bodies.clone();
        let app = &app;
        async move { burst(&client, app, "/api/users", bodies).await }
    };
    let login = async {
        let owner = client_from([127, 0, 0, 2]);
        log_in(&owner, &app, "alice", PASSWORD).await.status()
    };
    let (statuses, login) = tokio::join!(flood, login);
    assert_eq!(
        login,
        StatusCode::CREATED,
        "a login during a registration flood is served"
    );
    let refused = count(&statuses, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        refused > 0,
        "60 concurrent registrations with a queue of 2: none refused: {statuses:?}"
    );
    assert_eq!(
        refused + count(&statuses, StatusCode::CREATED),
        60,
        "{statuses:?}"
    );
}

/// The real binary, on a fresh database, with its log captured line by line (raw bytes).
fn start_logged() -> Process {
    let (database_url, _name) = parley_testing::fresh_database();
    let mut command = clean_command(env!("CARGO_BIN_EXE_parley"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", database_url);
    Process::start(command)
}

#[tokio::test]
async fn a_username_cannot_forge_log_lines() {
    let mut server = tokio::task::spawn_blocking(start_logged)
        .await
        .expect("start");
    let forged = "FORGED INFO parley: signed in username=admin";
    let username = format!("mallory\n{forged}\x1b[31m\r\n{forged}");
    let response = reqwest::Client::new()
        .post(format!("{}/api/sessions", server.address))
        .json(&json!({"username": username, "password": "not the password"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let mut log = Vec::new();
    let lines = server.take_lines();
    let lines = tokio::task::spawn_blocking(move || {
        loop {
            let line = lines
                .recv_timeout(PATIENCE)
                .expect("the failed login is logged");
            let done = String::from_utf8_lossy(&line).contains("failed login");
            log.push(line);
            if done {
                return (lines, log);
            }
        }
    });
    let (lines, mut log) = lines.await.expect("log");
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        // Everything the server wrote until it exited.
        log.extend(lines.iter());
        (status, log)
    });
    let (status, log) = status.await.expect("exit");
    assert!(status.success(), "parley exited with {status}");

    assert!(
        !log.iter().flatten().any(|&byte| byte == 0x1b),
        "a raw ESC reached the log"
    );
    for line in &log {
        let line = String::from_utf8_lossy(line);
        assert!(
            !line.trim_start_matches('\r').starts_with("FORGED"),
            "a forged line: {line:?}"
        );
    }
}
