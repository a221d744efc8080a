//! Open streams: global and per-address caps, and closed streams released at once.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use parley_testing::process::{Process, clean_command};
use parley_testing::sse::SseClient;
use parley_testing::wait::{DEADLINE, eventually};
use parley_testing::{TestApp, assert_problem, fresh_database, spawn_app, spawn_app_with};

/// A stream opened on a bare socket and read up to `ready`, so that dropping it closes the
/// connection at once, as a browser does on reload.
async fn raw_stream(app: &TestApp, path: &str) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).await.expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n");
    socket
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&received).contains("event: ready") {
        let read = tokio::time::timeout(DEADLINE, socket.read(&mut buffer))
            .await
            .expect("ready within the deadline")
            .expect("read the stream");
        assert!(
            read > 0,
            "the stream ended before ready: {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    socket
}

async fn assert_served(client: &reqwest::Client, base: &str) {
    for path in ["/healthz", "/readyz", "/api/notes"] {
        let response = tokio::time::timeout(DEADLINE, client.get(format!("{base}{path}")).send())
            .await
            .unwrap_or_else(|_| panic!("{path} did not answer"))
            .unwrap_or_else(|error| panic!("{path}: {error}"));
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

async fn assert_refused(response: reqwest::Response, status: StatusCode) {
    assert_eq!(
        response.status(),
        status,
        "refused before the stream starts"
    );
    assert!(
        response.headers().get("retry-after").is_some(),
        "Retry-After on {status}"
    );
    let code = if status == StatusCode::SERVICE_UNAVAILABLE {
        "unavailable"
    } else {
        "too-many-requests"
    };
    assert_problem(response, status, code).await;
}

#[tokio::test]
async fn past_the_global_cap_streams_get_503_and_everything_else_is_served() {
    let app = spawn_app_with(|config| {
        config.max_streams = Some(5);
        config.max_streams_per_address = 0;
    })
    .await;
    let mut streams = Vec::new();
    for room in 0..5 {
        let path = format!("/api/rooms/chat/r{room}/events");
        streams.push(SseClient::connect_ready(&app, &path, None).await.0);
    }
    let refused = app.get("/api/rooms/notes/events").await;
    assert_refused(refused, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_served(&app.client, &app.address).await;
    // A slot given back is a slot another client can take.
    drop(streams.pop());
    eventually("the closed stream's slot is given back", || {
        app.handle.stream_slots() == 4
    })
    .await;
    SseClient::connect_ready(&app, "/api/rooms/notes/events", None).await;
}

#[tokio::test]
async fn by_default_both_caps_are_on_and_the_global_one_fits_the_fd_limit() {
    let app = spawn_app().await;
    let (fd_limit, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("the open file limit");
    let max = app.handle.max_streams() as u64;
    assert!(max > 0, "a global cap");
    assert!(
        max + 64 <= fd_limit,
        "{max} streams leave too little of {fd_limit} descriptors"
    );
    assert!(
        app.handle.max_streams_per_address() > 0,
        "a per-address cap"
    );
}

#[tokio::test]
async fn past_the_default_per_address_cap_streams_get_429() {
    let app = spawn_app().await;
    let cap = app.handle.max_streams_per_address();
    let mut streams = Vec::with_capacity(cap);
    for n in 0..cap {
        let path = format!("/api/rooms/chat/r{n}/events");
        streams.push(SseClient::connect_ready(&app, &path, None).await.0);
    }
    let refused = app.get("/api/rooms/chat/one-more/events").await;
    assert_refused(refused, StatusCode::TOO_MANY_REQUESTS).await;
    assert_served(&app.client, &app.address).await;
}

#[tokio::test]
async fn a_stream_whose_client_has_gone_is_released_at_once() {
    // The default keep-alive (15 s): no keep-alive is due within the deadline, and before the
    // fix the release took about two of them.
    let app = spawn_app().await;
    let socket = raw_stream(&app, "/api/rooms/chat/general/events").await;
    assert_eq!(app.handle.open_streams(), 1);
    assert_eq!(app.handle.stream_slots(), 1);
    drop(socket);
    eventually("the stream is unsubscribed and its slot given back", || {
        app.handle.open_streams() == 0 && app.handle.stream_slots() == 0
    })
    .await;
}

#[tokio::test]
async fn a_reload_at_the_per_address_cap_is_served() {
    const CAP: usize = 3;
    let app = spawn_app_with(|config| {
        config.max_streams_per_address = CAP;
        // Far beyond the deadline: nothing but the close itself can release the stream.
        config.sse_keep_alive = Duration::from_secs(600);
    })
    .await;
    let (_home, _) = SseClient::connect_ready(&app, "/api/rooms/notes/events", None).await;
    let (_chat, _) = SseClient::connect_ready(&app, "/api/rooms/chat/general/events", None).await;
    let page = raw_stream(&app, "/api/rooms/notes/first/events").await;
    assert_eq!(app.handle.stream_slots(), CAP);
    // Reload: the page's stream closes and the same page opens it again.
    drop(page);
    eventually("the closed stream's slot is given back", || {
        app.handle.stream_slots() == CAP - 1
    })
    .await;
    let page = raw_stream(&app, "/api/rooms/notes/first/events").await;
    // A move to another room: the old stream closes, the new one opens.
    drop(page);
    eventually("the closed stream's slot is given back", || {
        app.handle.stream_slots() == CAP - 1
    })
    .await;
    let _page = raw_stream(&app, "/api/rooms/notes/second/events").await;
}

/// The real binary under a small open-file limit, with no per-address cap: one client
/// opening streams until it is refused must be refused with 503 before the descriptors
/// run out, and `/healthz`, `/readyz` and the API keep answering.
#[tokio::test]
async fn the_fd_limit_sizes_the_stream_cap_and_health_checks_keep_answering() {
    const FD_LIMIT: usize = 256;
    let (database_url, _) = tokio::task::spawn_blocking(fresh_database)
        .await
        .expect("a database");
    let (server, logged_max) = start_with_fd_limit(FD_LIMIT, &database_url);
    let base = server.address.clone();
    let client = reqwest::Client::new();
    let mut open = Vec::new();
    let refused = loop {
        assert!(
            open.len() < FD_LIMIT,
            "{} streams open under a limit of {FD_LIMIT} descriptors, and no refusal",
            open.len()
        );
        let url = format!("{base}/api/rooms/chat/r{}/events", open.len());
        let response = tokio::time::timeout(DEADLINE, client.get(url).send())
            .await
            .unwrap_or_else(|_| panic!("stream {} hung instead of being refused", open.len()))
            .expect("open a stream");
        if response.status() != StatusCode::OK {
            break response;
        }
        open.push(response);
    };
    assert_refused(refused, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(open.len(), logged_max, "the cap is the one logged at start");
    assert_served(&client, &base).await;
}

/// Starts `parley` with its open-file limit (soft and hard) at `fd_limit`; returns it and
/// the stream cap it logged.
fn start_with_fd_limit(fd_limit: usize, database_url: &str) -> (Process, usize) {
    let mut command = clean_command("sh");
    command
        .args(["-c", &format!("ulimit -n {fd_limit} && exec \"$0\" \"$@\"")])
        .arg(env!("CARGO_BIN_EXE_parley"))
        .args(["--listen", "127.0.0.1:0", "--max-streams-per-address", "0"])
        .env("DATABASE_URL", database_url);
    let server = Process::start(command);
    let max_streams = server
        .log
        .iter()
        .find_map(|line| {
            let value = line.split(" max_streams=").nth(1)?;
            let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .expect("the stream cap is logged before listening");
    (server, max_streams)
}
