//! Resuming streams that never read: replay memory is bounded in bytes.
//!
//! The real binary runs as a child process so that its resident memory can be read from
//! `/proc`. The log holds a few hundred large events; several clients resume from the
//! oldest position over raw sockets and never read. Before pages were bounded in bytes,
//! each such stream loaded its whole backlog (500 rows) into memory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use parley_testing::process::{Process, clean_command};

/// Events in the log, and the size of each one's data.
const EVENTS: usize = 200;
const EVENT_BYTES: usize = 200 * 1024;
/// Streams that resume from the oldest position and never read.
const STALLED_STREAMS: usize = 3;
/// What the stalled streams may add to the server's resident memory, all together. Each
/// used to hold its whole backlog (`EVENTS * EVENT_BYTES`, 40 MiB); now each holds at
/// most a page (1 MiB by default) and one frame on its way to the socket.
const MAX_GROWTH_KIB: u64 = 24 * 1024;
/// A bound on every wait, so a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

/// The real binary, with its memory readable from `/proc`.
struct Server(Process);

impl Server {
    /// Runs `parley` on `database_url` with `flags`, and every other limit at its default.
    fn start(database_url: &str, flags: &[&str]) -> Self {
        let mut command = clean_command(env!("CARGO_BIN_EXE_parley"));
        command
            .args(["--listen", "127.0.0.1:0", "--database-url", database_url])
            .args(flags);
        Self(Process::start(command))
    }

    fn rss_kib(&self) -> u64 {
        self.0.rss_kib()
    }

    /// The whole response to a GET, head and body.
    fn get(&self, path: &str) -> String {
        let mut socket = TcpStream::connect(self.0.socket_address()).expect("connect");
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        .expect("send a GET");
        let mut text = String::new();
        socket.read_to_string(&mut text).expect("read the response");
        text
    }

    /// One value from `/metrics`.
    fn metric(&self, name: &str) -> u64 {
        self.get("/metrics")
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .map_or(0, |value| value as u64)
    }

    /// Waits until the log's committed head has reached `position`. Transaction ids are
    /// shared by every database of the test cluster: until every older transaction of the
    /// other tests has ended, the events are not yet in what a stream replays.
    fn wait_for_head(&self, position: &str) {
        let deadline = Instant::now() + PATIENCE;
        let expected = format!("stream-position: {position}");
        while !self
            .get("/api/notes?limit=1")
            .lines()
            .any(|line| line.eq_ignore_ascii_case(&expected))
        {
            assert!(
                Instant::now() < deadline,
                "the head never reached {position}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A stream of the room that resumes from the oldest position; nothing is read yet.
    fn resume_from_the_start(&self) -> TcpStream {
        self.resume_from("0-0")
    }

    fn resume_from(&self, position: &str) -> TcpStream {
        let mut socket = TcpStream::connect(self.0.socket_address()).expect("connect");
        write!(
            socket,
            "GET /api/rooms/notes/big/events HTTP/1.1\r\nHost: test\r\nLast-Event-ID: {position}\r\n\r\n"
        )
        .expect("send the request");
        socket
    }
}

/// `EVENTS` events of `EVENT_BYTES` each, as one user editing one large note would leave.
/// Returns the position of the last one.
fn fill_the_log(database_url: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::Text)]
        position: String,
    }
    let mut conn = PgConnection::establish(database_url).expect("connect");
    diesel::sql_query(format!(
        "INSERT INTO events (namespace, room, event_type, data) \
         SELECT 'notes', 'big', 'note.updated', \
                '{{\"n\":' || n || ',\"body\":\"' || repeat('x', {EVENT_BYTES}) || '\"}}' \
         FROM generate_series(1, {EVENTS}) AS n"
    ))
    .execute(&mut conn)
    .expect("fill the log");
    diesel::sql_query(
        "SELECT xid || '-' || id AS position FROM events ORDER BY xid DESC, id DESC LIMIT 1",
    )
    .get_result::<Last>(&mut conn)
    .expect("the last position")
    .position
}

/// Starts the server once the filled log is all committed below every open transaction.
/// Returns it and the position of the last event.
fn start_on_a_full_log(database_url: &str, flags: &[&str]) -> (Server, String) {
    let last = fill_the_log(database_url);
    let server = Server::start(database_url, flags);
    server.wait_for_head(&last);
    (server, last)
}

/// Waits until the server has done what it will for the stalled streams: every stream
/// has had something, and neither memory nor deliveries have moved for a second.
fn settle(server: &Server) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    let mut last = (0, 0);
    let mut unchanged = 0;
    loop {
        assert!(Instant::now() < deadline, "the server never settled");
        let now = (
            server.rss_kib(),
            server.metric("parley_events_delivered_total"),
        );
        if now.1 >= STALLED_STREAMS as u64 && now == last {
            unchanged += 1;
            if unchanged == 5 {
                return now.0;
            }
        } else {
            unchanged = 0;
        }
        last = now;
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads a chunked response up to the `ready` marker; returns the `n` of every event
/// before it, in the order received.
fn read_to_ready(socket: TcpStream) -> Vec<u64> {
    let (received, ready) = read_events(socket);
    assert!(ready, "the stream ended before ready");
    received
}

/// Reads a chunked response up to the `ready` marker or its end; returns the `n` of every
/// event before, in the order received, and whether `ready` came.
fn read_events(socket: TcpStream) -> (Vec<u64>, bool) {
    socket
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("read the head");
        assert!(!line.is_empty(), "the stream ended in its head");
        if line == "\r\n" {
            break;
        }
    }
    let mut body = Vec::new();
    // How far `body` is known to hold no frame end: a large frame arrives in many chunks.
    let mut scanned = 0;
    let mut received = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("read a chunk size");
        let size = usize::from_str_radix(line.trim(), 16).expect("a chunk size");
        if size == 0 {
            return (received, false);
        }
        let start = body.len();
        body.resize(start + size + 2, 0);
        reader.read_exact(&mut body[start..]).expect("read a chunk");
        body.truncate(start + size);
        while let Some(end) = body[scanned..]
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .map(|at| scanned + at)
        {
            scanned = 0;
            let frame: Vec<u8> = body.drain(..end + 2).collect();
            let frame = String::from_utf8(frame).expect("UTF-8 frame");
            if frame.lines().any(|line| line == "event: ready") {
                return (received, true);
            }
            if let Some(data) = frame.lines().find_map(|line| line.strip_prefix("data: ")) {
                let event: serde_json::Value = serde_json::from_str(data).expect("JSON data");
                received.push(event["n"].as_u64().expect("n"));
            }
        }
        scanned = body.len().saturating_sub(1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_streams_that_never_read_hold_a_bounded_amount_of_memory() {
    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    tokio::task::spawn_blocking(move || {
        let (server, _) = start_on_a_full_log(&database_url, &[]);
        let before = server.rss_kib();

        let stalled: Vec<TcpStream> = (0..STALLED_STREAMS)
            .map(|_| server.resume_from_the_start())
            .collect();
        let after = settle(&server);
        let growth = after.saturating_sub(before);
        eprintln!("{STALLED_STREAMS} stalled resuming streams: RSS {before} KiB -> {after} KiB");
        assert!(
            growth <= MAX_GROWTH_KIB,
            "{STALLED_STREAMS} resuming streams that never read grew the server from {before} KiB to {after} KiB"
        );

        // Paging lost nothing: one of them, read at last, gets every event, once, in order.
        let mut stalled = stalled.into_iter();
        let first = stalled.next().expect("a stream");
        drop(stalled);
        let received = read_to_ready(first);
        let expected: Vec<u64> = (1..=EVENTS as u64).collect();
        assert_eq!(received, expected);
    })
    .await
    .expect("the test's thread");
}

/// Catch-ups share one budget, and streams that never read cannot keep their share: a
/// page its socket does not take in time is dropped, and the response ends there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_ups_share_one_budget_that_stalled_streams_give_back() {
    const BUDGET: u64 = 2 * 1024 * 1024;
    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    tokio::task::spawn_blocking(move || {
        let (server, _) = start_on_a_full_log(
            &database_url,
            &["--replay-memory", "2MiB", "--replay-stall-timeout", "2s"],
        );
        let stalled: Vec<TcpStream> = (0..STALLED_STREAMS)
            .map(|_| server.resume_from_the_start())
            .collect();
        let deadline = Instant::now() + PATIENCE;
        let mut most = 0;
        // Each of them takes its share in turn, and is let go of it for not reading.
        while server.metric("parley_replay_stalls_total") < STALLED_STREAMS as u64
            || server.metric("parley_replay_bytes") > 0
        {
            assert!(
                Instant::now() < deadline,
                "the stalled streams kept their pages"
            );
            most = most.max(server.metric("parley_replay_bytes"));
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(most <= BUDGET, "catch-ups held {most} bytes");
        assert_eq!(
            server.metric("parley_sse_open_streams"),
            STALLED_STREAMS as u64,
            "a stalled stream counts as open until its client leaves"
        );

        // One that reads at last finds its response ended where its page was dropped: an
        // unbroken start of the log, from which it resumes.
        let mut stalled = stalled.into_iter();
        let (received, ready) = read_events(stalled.next().expect("a stream"));
        assert!(!ready, "a stalled stream was let go before ready");
        let expected: Vec<u64> = (1..=received.len() as u64).collect();
        assert_eq!(received, expected);

        // A client that reads catches up fully with what they left.
        let received = read_to_ready(server.resume_from_the_start());
        let expected: Vec<u64> = (1..=EVENTS as u64).collect();
        assert_eq!(received, expected);
        drop(stalled);
    })
    .await
    .expect("the test's thread");
}

/// A stream that has received a large event does not keep memory of its size once idle.
/// actix keeps a connection's write buffer at the largest size it was ever given; frames
/// handed over whole left every such stream holding a buffer as large as the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_streams_keep_nothing_of_the_large_events_they_received() {
    const STREAMS: usize = 80;
    /// Each used to keep at least `EVENT_BYTES`: 16 MiB for all of them (24 MB measured).
    /// Now a few MiB, which a loaded machine (more allocator arenas in use) can double.
    const MAX_GROWTH_KIB: u64 = 10 * 1024;
    let (database_url, _name) = tokio::task::spawn_blocking(parley_testing::fresh_database)
        .await
        .expect("database");
    tokio::task::spawn_blocking(move || {
        // All from one address: past the default per-address cap of 64.
        let (server, last) =
            start_on_a_full_log(&database_url, &["--max-streams-per-address", "0"]);
        let (xid, id) = last.split_once('-').expect("a position");
        let before_last = format!("{xid}-{}", id.parse::<u64>().expect("an id") - 1);
        let before = server.rss_kib();
        // One at a time, so that the frames on their way never add up.
        let idle: Vec<TcpStream> = (0..STREAMS)
            .map(|_| {
                let socket = server.resume_from(&before_last);
                let reader = socket.try_clone().expect("clone the socket");
                assert_eq!(read_to_ready(reader), vec![EVENTS as u64]);
                socket
            })
            .collect();
        let after = server.rss_kib();
        eprintln!(
            "{STREAMS} idle streams that received one large event: RSS {before} KiB -> {after} KiB"
        );
        assert!(
            after.saturating_sub(before) <= MAX_GROWTH_KIB,
            "{STREAMS} idle streams grew the server from {before} KiB to {after} KiB"
        );
        drop(idle);
    })
    .await
    .expect("the test's thread");
}
