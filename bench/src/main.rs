//! `parley-bench`: measures a running Parley server over loopback.
//!
//! - `latency`: posts messages one at a time to a fresh room and measures, per
//!   subscriber, the time from just before each POST is sent to the moment the
//!   subscriber has parsed the event; also the POST round trip, lost and duplicated
//!   deliveries.
//! - `fanout`: the same measurement with many subscribers spread over one or many rooms,
//!   and a publisher posting round-robin over the rooms at a fixed rate; also deliveries
//!   per second.
//! - `throughput`: closed-loop load at several concurrencies on message and note
//!   creation, reading a note and listing recent messages: requests per second and
//!   latency. With `--pgbench-data-dir`, also the `ceiling` below, and message creation
//!   as a share of it.
//! - `ceiling`: `pgbench` with a one-row INSERT per transaction against the server's own
//!   database: what PostgreSQL alone can commit on this machine.
//! - `reads`: the first page of a room's list at N clients, and `pgbench` running the
//!   same `SELECT` on the same database, alternating for several rounds: reads as a
//!   share of what PostgreSQL alone serves, and PostgreSQL's CPU per read on each side.
//! - `idle`: opens many idle event streams and reports the server's resident memory
//!   before and after, then checks every stream still delivers.
//! - `soak`: starts its own PostgreSQL cluster and `parley` server, runs steady mixed
//!   load for a long time (writes, lists, subscribers that drop and resume), stops the
//!   database in the middle and starts it again, and reports the server's memory curve,
//!   lost and duplicated deliveries, and server errors outside the outage.
//! - `storm`: starts its own cluster and server, opens many streams over many rooms,
//!   restarts the server in the middle of a run of writes, and measures the reconnect
//!   storm: time until every stream is live again, memory, PostgreSQL's work per resumed
//!   stream, and that nothing was lost, duplicated or misordered (see `storm.rs`).
//!
//! Every scenario reports the bench's own CPU time, and with `--pid` the server's and
//! PostgreSQL's, so a reader can tell which side was the limit. Every run is bounded in
//! count and time and stops by itself. All but `soak` drive a server that is already
//! running.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::{Args, Parser, Subcommand, ValueEnum};
use futures_util::StreamExt;
use parley::db::cluster::{Cluster, ClusterOptions};
use parley_testing::sse::{SseClient, SseEvent};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;

mod storm;

/// Benchmarks for a running Parley server (loopback only).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Delivery latency: post messages one at a time, time their arrival on N subscribers.
    Latency(LatencyArgs),
    /// Fan-out: S subscribers over R rooms, messages posted round-robin at a fixed rate.
    Fanout(FanoutArgs),
    /// Throughput and latency of creating and reading, at several concurrencies.
    Throughput(ThroughputArgs),
    /// pgbench's one-row-insert ceiling on the server's own database.
    Ceiling(CeilingArgs),
    /// Reads of a room's first page at N clients against pgbench's ceiling for the same SELECT.
    Reads(ReadsArgs),
    /// Idle streams: memory per open stream, then check every stream still delivers.
    Idle(IdleArgs),
    /// Long mixed load on a server and database of its own, with a database restart.
    Soak(SoakArgs),
    /// A reconnect storm: many resuming streams across a server restart, on a server and
    /// database of its own.
    Storm(storm::StormArgs),
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// PID of the server, to report its CPU time too: its own, and its child processes'
    /// (the private PostgreSQL cluster it started, if any). `idle` needs it, to read the
    /// server's memory.
    #[arg(long)]
    pid: Option<u32>,
}

impl ServerArgs {
    fn base(&self) -> Result<String> {
        loopback_base(&self.url)
    }
}

/// The base URL without a trailing slash. The bench only drives a server on this
/// machine: any host but a loopback address or `localhost` is refused.
fn loopback_base(text: &str) -> Result<String> {
    {
        let url = reqwest::Url::parse(text).with_context(|| format!("--url {text}"))?;
        let host = url.host_str().unwrap_or_default();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        ensure!(loopback, "--url {text}: the bench runs over loopback only");
        Ok(text.trim_end_matches('/').to_owned())
    }
}

#[derive(Debug, Args)]
struct DeliveryOptions {
    /// How long after the last POST a delivery may still arrive before it counts as lost.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    grace: Duration,
    /// Streams being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=5_000))]
    open_concurrency: u64,
    /// Bound on opening every stream (up to its `ready`).
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    open_timeout: Duration,
}

#[derive(Debug, Args)]
struct LatencyArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Messages to post, one at a time.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    messages: u64,
    /// Subscribers on the room, each its own SSE connection.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    subscribers: u64,
    #[command(flatten)]
    delivery: DeliveryOptions,
}

#[derive(Debug, Args)]
struct FanoutArgs {
    /// Base URL of a running server. Repeat it for several servers on one database:
    /// subscriber i opens its stream on server i % N, and message k is posted to server
    /// k % N.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: Vec<String>,
    /// PID of a server, to report its CPU time (repeatable, one per server); its child
    /// processes count as PostgreSQL.
    #[arg(long)]
    pid: Vec<u32>,
    /// PID of the PostgreSQL server (its postmaster) when the servers use a database that
    /// none of them started (`--database-url`): its processes' CPU counts as PostgreSQL.
    #[arg(long)]
    postgres_pid: Option<u32>,
    /// Subscribers, each its own SSE connection; subscriber i listens to room i % rooms.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=50_000))]
    subscribers: u64,
    /// Rooms; message k goes to room k % rooms.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=50_000))]
    rooms: u64,
    /// Messages posted per second, on a fixed schedule that does not wait for answers
    /// (at most 64 POSTs in flight).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// How long to post for: rate × duration messages in all.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    duration: Duration,
    #[command(flatten)]
    delivery: DeliveryOptions,
}

/// A request `throughput` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    /// POST a message to one chat room.
    CreateMessage,
    /// POST a note with a fresh key.
    CreateNote,
    /// GET one note.
    GetNote,
    /// GET the 20 most recent messages of a room of 100.
    ListMessages,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::CreateMessage => "create-message",
            Self::CreateNote => "create-note",
            Self::GetNote => "get-note",
            Self::ListMessages => "list-messages",
        }
    }

    fn reads(self) -> bool {
        matches!(self, Self::GetNote | Self::ListMessages)
    }
}

#[derive(Debug, Args)]
struct ThroughputArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Operations to measure, in this order.
    #[arg(long, value_enum, value_delimiter = ',',
        default_values_t = [Op::CreateMessage, Op::CreateNote, Op::GetNote, Op::ListMessages])]
    ops: Vec<Op>,
    /// Concurrencies: closed-loop clients, each sending its next request as soon as its
    /// previous one is answered. All of them use one signed-in user's token.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 10, 50],
        value_parser = clap::value_parser!(u64).range(1..=1_000))]
    clients: Vec<u64>,
    /// Measured time for each operation and concurrency.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured load before each measurement (opens connections, fills pools).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Bound on the requests of one client in one measurement.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    max_requests: u64,
    /// The server's `--data-dir`: after the measurements, run the pgbench ceiling (see
    /// `ceiling`) at each concurrency of `--clients` for `--duration`, and report each
    /// creation at that concurrency against it: its rate as a share of pgbench's, and its
    /// p50 less pgbench's (what the server adds to a commit).
    #[arg(long)]
    pgbench_data_dir: Option<PathBuf>,
    #[command(flatten)]
    pgbench: PgbenchArgs,
}

#[derive(Debug, Args)]
struct PgbenchArgs {
    /// The pgbench binary.
    #[arg(long, default_value = "/usr/lib/postgresql/15/bin/pgbench")]
    pgbench: PathBuf,
    /// pgbench worker threads (`-j`; at most the number of clients).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pgbench_threads: u64,
    /// Make each pgbench transaction `INSERT …; NOTIFY …` instead of the INSERT alone,
    /// like every Parley write, to show what the wake-up costs PostgreSQL. NOTIFY takes a
    /// database-wide lock from before the commit until after it.
    #[arg(long)]
    pgbench_notify: bool,
}

#[derive(Debug, Args)]
struct CeilingArgs {
    /// The server's `--data-dir`: pgbench connects over `<data-dir>/postgres` as role
    /// `parley` to database `parley`.
    #[arg(long)]
    data_dir: PathBuf,
    /// pgbench clients (`-c`), each its own database connection.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    clients: u64,
    /// How long pgbench runs (`-T`, whole seconds).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// PID of the server, to report PostgreSQL's CPU time (its child processes).
    #[arg(long)]
    pid: Option<u32>,
    #[command(flatten)]
    pgbench: PgbenchArgs,
}

#[derive(Debug, Args)]
struct ReadsArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The server's `--data-dir`: pgbench connects over `<data-dir>/postgres` as role
    /// `parley` to database `parley`.
    #[arg(long)]
    data_dir: PathBuf,
    /// Closed-loop HTTP clients, and pgbench clients (`-c`).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    clients: u64,
    /// Measured time of each side in each round (pgbench: whole seconds).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured reads before each Parley measurement.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Rounds of Parley then pgbench; the medians are compared.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    rounds: u64,
    /// The pgbench binary.
    #[arg(long, default_value = "/usr/lib/postgresql/15/bin/pgbench")]
    pgbench: PathBuf,
    /// pgbench worker threads (`-j`; at most the number of clients).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pgbench_threads: u64,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Event streams to open.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    streams: u64,
    /// Streams being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=5_000))]
    concurrency: u64,
    /// Bound on the whole opening phase, and separately on the delivery check.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    phase_timeout: Duration,
    /// Loopback source addresses to spread the streams over. One address reaches one
    /// server port through about 28,000 ephemeral ports (`net.ipv4.ip_local_port_range`),
    /// so 100,000 streams need several. 0: one per 25,000 streams. With one, connections
    /// come from 127.0.0.1 as usual; with more, each client socket is bound before it
    /// connects, to 127.a.b.1, 127.a.b.2, … (a and b random per run, so that a run right
    /// after another does not meet the ports the last one left in TIME_WAIT).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=250))]
    source_addresses: u64,
}

/// `soak` starts a PostgreSQL cluster (in a scratch directory) and a `parley` server of its
/// own, on loopback, so that it can stop and start the database in the middle of the run.
#[derive(Debug, Args)]
struct SoakArgs {
    /// How long writers and readers run. The run then waits up to `--grace` for the last
    /// deliveries, and stops by itself.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    duration: Duration,
    /// How often the server's VmRSS is read (from the start to the end of `--duration`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    sample_every: Duration,
    /// Samples before this are printed but left out of the RSS slope: pools, caches and
    /// the allocator fill up first.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    warmup: Duration,
    /// How long the database stays stopped. The fast shutdown starts at the middle of
    /// `--duration`; the cluster is then started again on the same data directory. `0s`:
    /// no outage.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    outage: Duration,
    /// Writes per second, all rooms together. Each room has one writer that sends its next
    /// write only once the previous one is answered, so the room's events must arrive in
    /// the order the writes were acknowledged.
    #[arg(long, default_value_t = 200.0)]
    write_rate: f64,
    /// List requests per second, all together (`?limit=20` of a room's messages, or of
    /// the notes).
    #[arg(long, default_value_t = 50.0)]
    read_rate: f64,
    /// Rooms: even ones are chat rooms that get messages; odd ones are notes that get
    /// updates and comments in turn.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(2..=100))]
    rooms: u64,
    /// Subscribers, each its own SSE connection; subscriber i follows room i % rooms.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(2..=1_000))]
    subscribers: u64,
    /// Mean time a subscriber keeps its stream after `ready` before dropping it on purpose
    /// (uniformly between half and one and a half times this).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    drop_every: Duration,
    /// Longest pause between a drop and the resume with `Last-Event-ID` (uniform from 0),
    /// so that resumes replay what was missed.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    offline: Duration,
    /// How long after the last write every subscriber may take to receive everything.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    grace: Duration,
    #[command(flatten)]
    own: OwnServer,
}

/// The PostgreSQL cluster and `parley` server a subcommand starts for itself (`soak`,
/// `storm`), in a scratch directory.
#[derive(Debug, Args)]
struct OwnServer {
    /// The server binary. Default: `parley` next to this program.
    #[arg(long)]
    parley: Option<PathBuf>,
    /// Directory holding `initdb` and `postgres`. Default: found as the server finds it.
    #[arg(long)]
    pg_bin_dir: Option<PathBuf>,
    /// One more flag for the server, e.g. `--server-arg=--db-pool-size=8` (repeatable).
    /// It gets `--database-url` and `--listen` already (and, from `storm`,
    /// `--max-streams-per-address 0` and `--registrations-per-minute 0`).
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Keep the scratch directory (the cluster and the server logs) instead of deleting it.
    #[arg(long)]
    keep: bool,
}

impl OwnServer {
    /// The server binary, which must exist.
    fn binary(&self) -> Result<PathBuf> {
        let binary = match &self.parley {
            Some(path) => path.clone(),
            None => std::env::current_exe()
                .context("where is parley-bench?")?
                .with_file_name("parley"),
        };
        ensure!(
            binary.is_file(),
            "{} does not exist: build it (`cargo build --release --bin parley`) or pass --parley",
            binary.display()
        );
        Ok(binary)
    }

    fn cluster_options(&self) -> ClusterOptions {
        ClusterOptions {
            bin_dir: self.pg_bin_dir.clone(),
            ..ClusterOptions::default()
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e}; write durations like `10s`"))
}

/// Bound on one HTTP exchange (a POST, or opening a stream up to its `ready`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A publisher or a load client stops after this many failed requests in a row.
const GIVE_UP_AFTER_FAILURES: u32 = 10;
/// Rooms the idle streams are spread over.
const IDLE_ROOMS: u64 = 100;
/// Streams per loopback source address when `idle` picks how many addresses to use.
const STREAMS_PER_SOURCE_ADDRESS: u64 = 25_000;
/// After `idle` closes its streams: open files above the count before them that still
/// count as "back to where it was" (a pool connection opened meanwhile, a log file) …
const CLOSED_FDS_SLACK: usize = 16;
/// … and how long it waits for the server to get there.
const CLOSE_WAIT_BOUND: Duration = Duration::from_secs(30);
/// POSTs a fixed-rate publisher may have in flight at once.
const MAX_POSTS_IN_FLIGHT: usize = 64;
/// Messages in the room that `list-messages` reads.
const READ_ROOM_MESSAGES: u64 = 100;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("parley-bench: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Latency(args) => latency(args).await,
            Command::Fanout(args) => fanout(args).await,
            Command::Throughput(args) => throughput(args).await,
            Command::Ceiling(args) => ceiling(args).await,
            Command::Reads(args) => reads(args).await,
            Command::Idle(args) => idle(args).await,
            Command::Soak(args) => soak(args).await,
            Command::Storm(args) => storm::storm(args).await,
        }
    });
    // Streams left open by a failed run must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("parley-bench: the run completed with failures (see above)");
            std::process::ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("parley-bench: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// HTTP helpers

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()
        .context("build the HTTP client")
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow!("no randomness: {e}"))?;
    Ok(buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

/// Sends `request` within [`REQUEST_TIMEOUT`] and checks its status.
async fn send(
    request: reqwest::RequestBuilder,
    expected: StatusCode,
    what: &str,
) -> Result<reqwest::Response> {
    let response = request
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .with_context(|| format!("{what}: is the server running?"))?;
    check_status(response, expected, what).await
}

/// [`send`], then reads the whole body, so the connection goes back to the pool for the
/// next request.
async fn exchange(
    request: reqwest::RequestBuilder,
    expected: StatusCode,
    what: &str,
) -> Result<()> {
    send(request, expected, what)
        .await?
        .bytes()
        .await
        .with_context(|| format!("{what}: read the response"))?;
    Ok(())
}

async fn check_status(
    response: reqwest::Response,
    expected: StatusCode,
    what: &str,
) -> Result<reqwest::Response> {
    if response.status() == expected {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    bail!("{what}: expected {expected}, got {status}: {body}")
}

#[derive(Deserialize)]
struct SessionBody {
    token: String,
}

/// Registers a fresh random user and signs in; returns the bearer token.
async fn sign_up(client: &reqwest::Client, base: &str) -> Result<String> {
    let username = format!("bench-{}", random_hex(8)?);
    let credentials = json!({ "username": username, "password": random_hex(16)? });
    let users = client.post(format!("{base}/api/users")).json(&credentials);
    exchange(users, StatusCode::CREATED, "POST /api/users").await?;
    let sessions = client
        .post(format!("{base}/api/sessions"))
        .json(&credentials);
    let response = send(sessions, StatusCode::CREATED, "POST /api/sessions").await?;
    let session: SessionBody = response.json().await.context("read the session")?;
    Ok(session.token)
}

async fn post_message(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    text: String,
) -> Result<()> {
    let request = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "message": text }));
    exchange(request, StatusCode::CREATED, "POST message").await
}

// ---------------------------------------------------------------------------------------
// Streams: the SSE client is the tests' (`parley_testing::sse`).

/// HTTP clients for `streams` streams, one per loopback source address (see `idle
/// --source-addresses`); `None` is the system's choice, 127.0.0.1.
fn source_clients(
    streams: u64,
    wanted: u64,
) -> Result<Vec<(Option<std::net::IpAddr>, reqwest::Client)>> {
    let count = match wanted {
        0 => streams.div_ceil(STREAMS_PER_SOURCE_ADDRESS).max(1),
        n => n,
    };
    if count == 1 {
        return Ok(vec![(None, http_client()?)]);
    }
    let mut block = [0u8; 2];
    getrandom::fill(&mut block).map_err(|e| anyhow!("no randomness: {e}"))?;
    let (a, b) = (block[0].max(1), block[1]);
    (1..=count)
        .map(|host| {
            let address = std::net::IpAddr::from([127, a, b, host as u8]);
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .tcp_nodelay(true)
                .local_address(address)
                .build()
                .context("build the HTTP client")?;
            Ok((Some(address), client))
        })
        .collect()
}

fn describe_sources(sources: &[(Option<std::net::IpAddr>, reqwest::Client)]) -> String {
    match (sources.first(), sources.last()) {
        (Some((Some(first), _)), Some((Some(last), _))) => {
            format!("{} source addresses {first}–{last}", sources.len())
        }
        _ => "127.0.0.1".to_owned(),
    }
}

/// Opens `url` and reads up to its `ready` event, within [`REQUEST_TIMEOUT`].
async fn open_ready(client: &reqwest::Client, url: &str) -> Result<SseClient> {
    let (stream, _replayed) =
        tokio::time::timeout(REQUEST_TIMEOUT, SseClient::open_ready(client, url, None))
            .await
            .with_context(|| format!("{url}: no `ready` within {REQUEST_TIMEOUT:?}"))??;
    Ok(stream)
}

#[derive(Deserialize)]
struct MessageEvent {
    message: String,
}

/// The text of a `message.created` event, if it is one.
fn created_text(event: &SseEvent) -> Option<String> {
    if event.event != "message.created" {
        return None;
    }
    serde_json::from_str::<MessageEvent>(&event.data)
        .ok()
        .map(|m| m.message)
}

// ---------------------------------------------------------------------------------------
// CPU accounting, shared by every scenario

/// User and system CPU time of this process (`RUSAGE_SELF`) or of its waited-for child
/// processes (`RUSAGE_CHILDREN`, here pgbench).
fn rusage(who: nix::sys::resource::UsageWho) -> Result<(Duration, Duration)> {
    let usage = nix::sys::resource::getrusage(who).context("getrusage")?;
    let to_duration = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(tv.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(tv.tv_usec()).unwrap_or(0))
    };
    Ok((
        to_duration(usage.user_time()),
        to_duration(usage.system_time()),
    ))
}

/// From /proc/<pid>/stat: the parent, the process's own user + system CPU time, and that
/// of its children it has waited for (PostgreSQL backends that have exited), in ticks.
fn proc_stat(pid: u32) -> Result<(u32, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name may contain spaces: fields are counted after its closing paren.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("/proc/{pid}/stat: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is index 0, ppid 1, utime 11, stime 12, cutime 13 and
    // cstime 14 (fields 3, 4, 14, 15, 16 and 17 of proc(5)).
    let field = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .ok_or_else(|| anyhow!("/proc/{pid}/stat: too few fields"))?
            .parse::<u64>()
            .with_context(|| format!("/proc/{pid}/stat: field {i}"))
    };
    let ppid = u32::try_from(field(1)?).context("ppid out of range")?;
    Ok((ppid, field(11)? + field(12)?, field(13)? + field(14)?))
}

/// CPU ticks of the server process itself, and of all its descendants: those alive now
/// (the private PostgreSQL cluster it started, if any) and those that have exited and
/// been waited for (a backend of a closed connection).
fn server_cpu_ticks(pid: u32) -> Result<(u64, u64)> {
    let (_, own, reaped) = proc_stat(pid)?;
    let mut children: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").context("read /proc")? {
        let Some(child) = entry
            .ok()
            .and_then(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        else {
            continue;
        };
        // A process may exit while we look: skip it.
        if let Ok((ppid, ticks, reaped)) = proc_stat(child) {
            children
                .entry(ppid)
                .or_default()
                .push((child, ticks + reaped));
        }
    }
    let mut descendants = reaped;
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        for (child, ticks) in children.get(&parent).into_iter().flatten() {
            descendants += ticks;
            queue.push(*child);
        }
    }
    Ok((own, descendants))
}

/// Busy CPU ticks of the whole machine (every core, every process), from /proc/stat.
fn machine_busy_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat").context("read /proc/stat")?;
    let line = stat
        .lines()
        .find(|line| line.starts_with("cpu "))
        .ok_or_else(|| anyhow!("/proc/stat has no `cpu` line"))?;
    let fields = line
        .split_whitespace()
        .skip(1)
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .context("parse /proc/stat")?;
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    Ok([0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum())
}

/// Linux reports /proc CPU times in USER_HZ ticks, which is 100 on every mainstream
/// architecture.
const USER_HZ: u64 = 100;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn ticks(count: u64) -> Duration {
    Duration::from_millis(count * 1000 / USER_HZ)
}

/// CPU counters at the start of a measured interval; [`CpuMeter::stop`] gives the use.
struct CpuMeter {
    started: Instant,
    own: (Duration, Duration),
    children: Duration,
    /// Each server's ticks: its own, and its descendants'.
    servers: Vec<(u32, (u64, u64))>,
    /// A PostgreSQL server that no measured server started (`--postgres-pid`): its whole
    /// process tree.
    postgres: Option<(u32, u64)>,
    machine: u64,
}

struct ServerCpu {
    pid: u32,
    /// Every server measured: its PID and its own CPU (more than one with several `--pid`s).
    each: Vec<(u32, Duration)>,
    parley: Duration,
    postgres: Duration,
}

/// CPU used over one measured interval.
struct CpuUsage {
    wall: Duration,
    user: Duration,
    system: Duration,
    /// Child processes of the bench that exited in the interval (pgbench).
    children: Duration,
    /// Without `--pid`, or when the server went away, there is no figure.
    server: Option<ServerCpu>,
    postgres_pid: Option<u32>,
    /// Every process on the machine, so that other load on it shows.
    machine: Duration,
}

impl CpuMeter {
    fn start(pid: Option<u32>) -> Result<Self> {
        Self::start_servers(pid.as_slice(), None)
    }

    /// For several servers, and optionally a PostgreSQL server none of them started.
    fn start_servers(pids: &[u32], postgres: Option<u32>) -> Result<Self> {
        use nix::sys::resource::UsageWho;
        let servers = pids
            .iter()
            .map(|&pid| server_cpu_ticks(pid).map(|ticks| (pid, ticks)))
            .collect::<Result<Vec<_>>>()?;
        let postgres = postgres
            .map(|pid| server_cpu_ticks(pid).map(|(own, children)| (pid, own + children)))
            .transpose()?;
        let (user, system) = rusage(UsageWho::RUSAGE_CHILDREN)?;
        Ok(Self {
            own: rusage(UsageWho::RUSAGE_SELF)?,
            children: user + system,
            servers,
            postgres,
            machine: machine_busy_ticks()?,
            started: Instant::now(),
        })
    }

    fn stop(&self) -> Result<CpuUsage> {
        use nix::sys::resource::UsageWho;
        let wall = self.started.elapsed();
        let (user, system) = rusage(UsageWho::RUSAGE_SELF)?;
        let (child_user, child_system) = rusage(UsageWho::RUSAGE_CHILDREN)?;
        let machine = ticks(machine_busy_ticks()?.saturating_sub(self.machine));
        let mut server: Option<ServerCpu> = None;
        for &(pid, before) in &self.servers {
            let Ok(after) = server_cpu_ticks(pid) else {
                continue;
            };
            let (own, children) = (
                ticks(after.0.saturating_sub(before.0)),
                ticks(after.1.saturating_sub(before.1)),
            );
            let total = server.get_or_insert_with(|| ServerCpu {
                pid,
                each: Vec::new(),
                parley: Duration::ZERO,
                postgres: Duration::ZERO,
            });
            total.each.push((pid, own));
            total.parley += own;
            total.postgres += children;
        }
        if let (Some(total), Some((pid, before))) = (server.as_mut(), self.postgres)
            && let Ok((own, children)) = server_cpu_ticks(pid)
        {
            total.postgres += ticks((own + children).saturating_sub(before));
        }
        Ok(CpuUsage {
            postgres_pid: self.postgres.map(|(pid, _)| pid),
            wall,
            user: user.saturating_sub(self.own.0),
            system: system.saturating_sub(self.own.1),
            children: (child_user + child_system).saturating_sub(self.children),
            server,
            machine,
        })
    }
}

impl CpuUsage {
    fn postgres_pid(&self) -> Option<u32> {
        self.postgres_pid
    }

    /// `cpu` as a percentage of one core over the interval (200% is both cores here).
    fn share(&self, cpu: Duration) -> f64 {
        100.0 * cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-6)
    }

    /// What the rest of the machine used: everything but the bench, its child processes
    /// and (with `--pid`) the server and PostgreSQL.
    fn others(&self) -> Duration {
        let server = self
            .server
            .as_ref()
            .map_or(Duration::ZERO, |s| s.parley + s.postgres);
        self.machine
            .saturating_sub(self.user + self.system + self.children + server)
    }

    /// Prints the bench's CPU (and its child processes', if any), the server's, and what
    /// the rest of the machine used.
    fn print(&self, interval: &str) {
        let own = self.user + self.system;
        println!(
            "bench CPU {interval} ({:.2} s): user {:.2} s + system {:.2} s = {:.2} s ({:.0}% of one core)",
            self.wall.as_secs_f64(),
            self.user.as_secs_f64(),
            self.system.as_secs_f64(),
            own.as_secs_f64(),
            self.share(own)
        );
        if !self.children.is_zero() {
            println!(
                "the bench's child processes (pgbench) over the same time: {:.2} s ({:.0}% of one core)",
                self.children.as_secs_f64(),
                self.share(self.children)
            );
        }
        if let Some(server) = &self.server
            && server.each.len() < 2
            && self.postgres_pid().is_none()
        {
            println!(
                "server CPU over the same time: parley (pid {}) {:.2} s ({:.0}% of one core) + its child processes (PostgreSQL) {:.2} s ({:.0}%)",
                server.pid,
                server.parley.as_secs_f64(),
                self.share(server.parley),
                server.postgres.as_secs_f64(),
                self.share(server.postgres)
            );
        } else if let Some(server) = &self.server {
            let each: Vec<String> = server
                .each
                .iter()
                .map(|(pid, cpu)| format!("pid {pid} {:.0}%", self.share(*cpu)))
                .collect();
            println!(
                "server CPU over the same time: parley, {} process(es), {:.2} s ({:.0}% of one core: {}) + PostgreSQL {:.2} s ({:.0}%)",
                server.each.len(),
                server.parley.as_secs_f64(),
                self.share(server.parley),
                each.join(", "),
                server.postgres.as_secs_f64(),
                self.share(server.postgres)
            );
        }
        println!(
            "whole machine over the same time: {:.0}% busy of {}00%; other processes {:.0}%",
            self.share(self.machine),
            cores(),
            self.share(self.others())
        );
    }

    /// The bench's, parley's, PostgreSQL's and other processes' CPU as % of one core,
    /// for a table row.
    fn cells(&self) -> [String; 4] {
        let percent = |cpu: Duration| format!("{:.0}%", self.share(cpu));
        let (parley, postgres) = match &self.server {
            Some(server) => (percent(server.parley), percent(server.postgres)),
            None => ("-".to_owned(), "-".to_owned()),
        };
        [
            percent(self.user + self.system + self.children),
            parley,
            postgres,
            percent(self.others()),
        ]
    }
}

// ---------------------------------------------------------------------------------------
// Memory and open files

/// VmRSS of a process, in KiB.
fn vm_rss_kib(pid: u32) -> Result<u64> {
    proc_status_number(pid, "VmRSS:")
}

/// A numeric field of /proc/<pid>/status (`VmRSS:`, `Threads:`), without its unit.
fn proc_status_number(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status: is {pid} the server's PID?"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .ok_or_else(|| anyhow!("/proc/{pid}/status has no {field} line"))?;
    line.trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("parse {line:?}"))
}

/// How many files (sockets included) a process has open.
fn open_fds(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("read /proc/{pid}/fd"))?
        .count())
}

/// Raises this process's open-file limit to fit `wanted` descriptors: the soft limit to
/// the hard one, and the hard one too when it is lower and the process may raise it (root,
/// or `CAP_SYS_RESOURCE`, up to `fs.nr_open`). Returns the soft limit now.
fn raise_open_file_limit(wanted: u64) -> Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit")?;
    if hard < wanted && setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted).is_ok() {
        return Ok(wanted);
    }
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).context("setrlimit")?;
    }
    Ok(hard)
}

fn open_file_soft_limit(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Raises the bench's own open-file limit, and warns when it, or what the server has
/// left, is too low for `connections` more connections.
fn prepare_open_files(connections: u64, pid: Option<u32>) -> Result<()> {
    let nofile = raise_open_file_limit(connections + 1_000)?;
    if connections + 100 > nofile {
        println!(
            "warning: this process may open at most {nofile} files; {connections} connections need more"
        );
    }
    if let Some(pid) = pid
        && let Some(limit) = open_file_soft_limit(pid)
    {
        let in_use = open_fds(pid).unwrap_or(0) as u64;
        if in_use + connections + 100 > limit {
            println!(
                "warning: the server (pid {pid}) has {in_use} files open and may open at most \
                 {limit}; {connections} more connections need more (start it with a higher \
                 `ulimit -n`: it raises its soft limit to the hard one)"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Statistics

/// count, p50, p90, p99, max (nearest-rank percentiles).
fn summary(samples: &mut [Duration]) -> Option<(usize, [Duration; 4])> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let n = samples.len();
        let index = ((p / 100.0) * n as f64).ceil() as usize;
        samples[index.clamp(1, n) - 1]
    };
    Some((
        samples.len(),
        [
            rank(50.0),
            rank(90.0),
            rank(99.0),
            samples[samples.len() - 1],
        ],
    ))
}

/// p50, p90, p99 and max in milliseconds, or dashes without samples.
fn percentile_cells(samples: &mut [Duration]) -> [String; 4] {
    match summary(samples) {
        Some((_, percentiles)) => percentiles.map(|d| format!("{:.3}", d.as_secs_f64() * 1000.0)),
        None => std::array::from_fn(|_| "-".to_owned()),
    }
}

fn print_header() {
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "(ms)", "count", "p50", "p90", "p99", "max"
    );
}

fn print_row(name: &str, samples: &mut [Duration]) {
    let count = samples.len();
    let [p50, p90, p99, max] = percentile_cells(samples);
    println!("{name:<10} {count:>8} {p50:>10} {p90:>10} {p99:>10} {max:>10}");
}

// ---------------------------------------------------------------------------------------
// latency and fanout: subscribers on rooms, a publisher, delivery times

/// How the publisher paces its POSTs.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// Each POST is sent once the previous one has been answered.
    OneAtATime,
    /// POSTs are sent on a fixed schedule, this many per second.
    PerSecond(f64),
}

struct DeliveryPlan {
    scenario: &'static str,
    /// The servers' base URLs: subscribers and posts take turns over them.
    bases: Vec<String>,
    pids: Vec<u32>,
    postgres_pid: Option<u32>,
    rooms: u64,
    subscribers: u64,
    messages: u64,
    pace: Pace,
    options: DeliveryOptions,
}

async fn latency(args: LatencyArgs) -> Result<bool> {
    deliver(DeliveryPlan {
        scenario: "latency",
        bases: vec![args.server.base()?],
        pids: args.server.pid.into_iter().collect(),
        postgres_pid: None,
        rooms: 1,
        subscribers: args.subscribers,
        messages: args.messages,
        pace: Pace::OneAtATime,
        options: args.delivery,
    })
    .await
}

async fn fanout(args: FanoutArgs) -> Result<bool> {
    ensure!(
        (0.1..=10_000.0).contains(&args.rate),
        "--rate must be from 0.1 to 10000 messages per second"
    );
    ensure!(
        args.rooms <= args.subscribers,
        "--rooms must not exceed --subscribers"
    );
    let messages = (args.rate * args.duration.as_secs_f64()).round();
    ensure!(
        (1.0..=1_000_000.0).contains(&messages),
        "rate × duration must come to 1 to 1,000,000 messages"
    );
    let bases = args
        .url
        .iter()
        .map(|url| loopback_base(url))
        .collect::<Result<Vec<_>>>()?;
    deliver(DeliveryPlan {
        scenario: "fanout",
        bases,
        pids: args.pid,
        postgres_pid: args.postgres_pid,
        rooms: args.rooms,
        subscribers: args.subscribers,
        messages: messages as u64,
        pace: Pace::PerSecond(args.rate),
        options: args.delivery,
    })
    .await
}

/// How many of `messages`, posted round-robin over `rooms`, go to `room`.
fn expected_in_room(messages: u64, rooms: u64, room: u64) -> u64 {
    messages / rooms + u64::from(room < messages % rooms)
}

/// What one subscriber saw: when each sequence number arrived (every arrival, so
/// duplicates show), plus anything unexpected.
#[derive(Default)]
struct Arrivals {
    room: u64,
    received: Vec<(u64, Instant)>,
    /// Events of our run that arrived with a smaller sequence number than one before them:
    /// committed in another order than they were sent, which only POSTs that overlap can.
    out_of_order: u64,
    /// Why the stream stopped early, if it did.
    error: Option<String>,
}

/// One subscriber's part in a run.
struct Subscriber {
    client: reqwest::Client,
    url: String,
    room: u64,
    /// Messages its room will get; it reports `done` once it has them all.
    expected: u64,
    /// Bounds how many streams are being opened at once.
    opening: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
    ready: oneshot::Sender<Result<()>>,
    done: mpsc::Sender<()>,
}

/// Opens the stream, reports `ready`, then records arrivals until told to stop. `done`
/// tells the main task when it has seen every message of its room, or its stream has
/// failed: either way it has nothing more to wait for.
async fn subscribe(mut me: Subscriber) -> Arrivals {
    let mut arrivals = Arrivals {
        room: me.room,
        ..Arrivals::default()
    };
    let opened = {
        let _permit = me.opening.acquire().await.ok();
        open_ready(&me.client, &me.url).await
    };
    let mut stream = match opened {
        Ok(stream) => stream,
        Err(error) => {
            arrivals.error = Some(format!("{error:#}"));
            let _ = me.ready.send(Err(error));
            return arrivals;
        }
    };
    let _ = me.ready.send(Ok(()));
    let mut distinct = std::collections::HashSet::with_capacity(me.expected as usize);
    let mut highest: Option<u64> = None;
    let mut signalled = me.expected == 0;
    if signalled {
        let _ = me.done.send(()).await;
    }
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            _ = me.stop.changed() => break,
        };
        let at = Instant::now();
        let event = match event {
            Ok(Some(event)) => event,
            Ok(None) => {
                arrivals.error = Some("the server ended the stream".to_owned());
                break;
            }
            Err(error) => {
                arrivals.error = Some(format!("{error:#}"));
                break;
            }
        };
        let Some(text) = created_text(&event) else {
            continue;
        };
        // "<seq> <send time>"; the rooms are fresh, so every message in them is ours.
        let seq = text.split(' ').next().and_then(|s| s.parse::<u64>().ok());
        let Some(seq) = seq else {
            continue;
        };
        arrivals.received.push((seq, at));
        if highest.is_some_and(|h| seq < h) {
            arrivals.out_of_order += 1;
        }
        highest = highest.max(Some(seq));
        if distinct.insert(seq) && distinct.len() as u64 == me.expected && !signalled {
            signalled = true;
            let _ = me.done.send(()).await;
        }
    }
    if !signalled {
        // The stream failed (or the run is over): nothing more will arrive here.
        let _ = me.done.send(()).await;
    }
    arrivals
}

/// What the publisher did: `sent[seq]` is the instant just before the POST of `seq`,
/// for every POST that succeeded.
#[derive(Default)]
struct Publication {
    sent: HashMap<u64, Instant>,
    post_latency: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
    gave_up: bool,
}

type PostOutcome = (u64, Instant, Result<Duration>);

impl Publication {
    fn record(&mut self, joined: Result<PostOutcome, tokio::task::JoinError>) {
        match joined {
            Ok((seq, sent_at, Ok(latency))) => {
                self.sent.insert(seq, sent_at);
                self.post_latency.push(latency);
            }
            Ok((_, _, Err(error))) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| format!("{error:#}"));
            }
            Err(error) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| format!("{error}"));
            }
        }
    }
}

/// Posts `messages` messages, message `seq` to `urls[seq % urls.len()]`, with the text
/// `"<seq> <send time in µs since epoch>"`.
async fn publish(
    client: &reqwest::Client,
    urls: &[String],
    token: &str,
    messages: u64,
    pace: Pace,
    epoch: Instant,
) -> Publication {
    let in_flight = Arc::new(Semaphore::new(match pace {
        Pace::OneAtATime => 1,
        Pace::PerSecond(_) => MAX_POSTS_IN_FLIGHT,
    }));
    let failing_in_a_row = Arc::new(AtomicU32::new(0));
    let started = tokio::time::Instant::now();
    let mut posts = JoinSet::new();
    let mut publication = Publication::default();
    for seq in 0..messages {
        if failing_in_a_row.load(Ordering::Relaxed) >= GIVE_UP_AFTER_FAILURES {
            publication.gave_up = true;
            break;
        }
        if let Pace::PerSecond(rate) = pace {
            tokio::time::sleep_until(started + Duration::from_secs_f64(seq as f64 / rate)).await;
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let Some(url) = urls.get((seq % urls.len() as u64) as usize).cloned() else {
            break;
        };
        let (client, token) = (client.clone(), token.to_owned());
        let failing_in_a_row = Arc::clone(&failing_in_a_row);
        posts.spawn(async move {
            let sent_at = Instant::now();
            let text = format!("{seq} {}", sent_at.duration_since(epoch).as_micros());
            let result = post_message(&client, &url, &token, text).await;
            if result.is_ok() {
                failing_in_a_row.store(0, Ordering::Relaxed);
            } else {
                failing_in_a_row.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
            (seq, sent_at, result.map(|()| sent_at.elapsed()))
        });
        while let Some(joined) = posts.try_join_next() {
            publication.record(joined);
        }
    }
    // Each POST is bounded by REQUEST_TIMEOUT.
    while let Some(joined) = posts.join_next().await {
        publication.record(joined);
    }
    publication
}

/// What the subscribers saw, against what was sent.
#[derive(Default)]
struct Tally {
    delivery: Vec<Duration>,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    /// Streams that saw their room's messages in another order than the room's first
    /// stream did: every stream of a room must see the log's one order.
    order_differs: u64,
    /// Per room, where each message came in on the room's first stream.
    room_order: HashMap<u64, HashMap<u64, usize>>,
    /// Deliveries of messages whose POST failed (they may have committed).
    unexpected: u64,
    /// Messages that arrived on a stream of another room.
    misrouted: u64,
    stream_errors: Vec<String>,
}

impl Tally {
    /// `room_sent`: the messages posted to the subscriber's room, one in `rooms` of them.
    fn add(
        &mut self,
        arrivals: Arrivals,
        sent: &HashMap<u64, Instant>,
        room_sent: &[u64],
        rooms: u64,
    ) {
        let mut seen: HashMap<u64, u32> = HashMap::with_capacity(room_sent.len());
        let mut order = Vec::with_capacity(room_sent.len());
        for (seq, at) in &arrivals.received {
            let count = seen.entry(*seq).or_default();
            *count += 1;
            if *count > 1 {
                self.duplicated += 1;
                continue;
            }
            order.push(*seq);
            match sent.get(seq) {
                Some(_) if seq % rooms != arrivals.room => self.misrouted += 1,
                Some(sent_at) => self.delivery.push(at.duration_since(*sent_at)),
                None => self.unexpected += 1,
            }
        }
        self.lost += room_sent
            .iter()
            .filter(|seq| !seen.contains_key(seq))
            .count() as u64;
        self.out_of_order += arrivals.out_of_order;
        self.stream_errors.extend(arrivals.error);
        self.compare_order(arrivals.room, &order);
    }

    /// Checks that the messages both streams have arrived in the same relative order on
    /// this stream as on the room's first one.
    fn compare_order(&mut self, room: u64, order: &[u64]) {
        let Some(reference) = self.room_order.get(&room) else {
            let first = order.iter().enumerate().map(|(i, seq)| (*seq, i)).collect();
            self.room_order.insert(room, first);
            return;
        };
        let ranks: Vec<usize> = order
            .iter()
            .filter_map(|seq| reference.get(seq).copied())
            .collect();
        if ranks.windows(2).any(|pair| pair[0] > pair[1]) {
            self.order_differs += 1;
        }
    }
}

async fn deliver(plan: DeliveryPlan) -> Result<bool> {
    let base = plan.bases.first().cloned().context("no --url")?;
    let server_of = |i: u64| &plan.bases[(i % plan.bases.len() as u64) as usize];
    prepare_open_files(plan.subscribers, plan.pids.first().copied())?;
    let client = http_client()?;
    let epoch = Instant::now();
    let token = sign_up(&client, &base).await?;
    let tag = random_hex(6)?;
    let room_name = |room: u64| match plan.rooms {
        1 => format!("bench-{tag}"),
        _ => format!("bench-{tag}-{room}"),
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(plan.subscribers as usize);
    let opening = Arc::new(Semaphore::new(plan.options.open_concurrency as usize));
    let mut ready = Vec::with_capacity(plan.subscribers as usize);
    let mut subscribers = JoinSet::new();
    let opening_started = Instant::now();
    for i in 0..plan.subscribers {
        let room = i % plan.rooms;
        let (ready_tx, ready_rx) = oneshot::channel::<Result<()>>();
        ready.push(ready_rx);
        subscribers.spawn(subscribe(Subscriber {
            client: client.clone(),
            url: format!("{}/api/rooms/chat/{}/events", server_of(i), room_name(room)),
            room,
            expected: expected_in_room(plan.messages, plan.rooms, room),
            opening: Arc::clone(&opening),
            stop: stop_rx.clone(),
            ready: ready_tx,
            done: done_tx.clone(),
        }));
    }
    drop(done_tx);
    let all_ready = async {
        for (i, ready_rx) in ready.into_iter().enumerate() {
            match ready_rx.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(error.context(format!("subscriber {i}"))),
                Err(_) => bail!("subscriber {i} stopped before `ready`"),
            }
        }
        Ok(())
    };
    tokio::time::timeout(plan.options.open_timeout, all_ready)
        .await
        .with_context(|| {
            format!(
                "opening the streams took over {:?}",
                plan.options.open_timeout
            )
        })??;
    let opened_in = opening_started.elapsed();

    let meter = CpuMeter::start_servers(&plan.pids, plan.postgres_pid)?;
    let started = Instant::now();
    // Message k goes to room k % rooms on server k % servers: entry j of this list, for
    // j = k % (rooms × servers), is exactly that.
    let urls: Vec<String> = (0..plan.rooms * plan.bases.len() as u64)
        .map(|j| {
            let room = room_name(j % plan.rooms);
            format!("{}/api/rooms/chat/{room}/messages", server_of(j))
        })
        .collect();
    let mut publication = publish(&client, &urls, &token, plan.messages, plan.pace, epoch).await;
    let last_post = Instant::now();
    let posting = last_post.duration_since(started);

    // Wait for every subscriber to have everything, at most `grace` after the last POST;
    // then linger a moment to catch late duplicates, and stop them.
    let deadline = tokio::time::Instant::from_std(last_post + plan.options.grace);
    let mut done = 0;
    while done < plan.subscribers {
        match tokio::time::timeout_at(deadline, done_rx.recv()).await {
            Ok(Some(())) => done += 1,
            Ok(None) | Err(_) => break,
        }
    }
    let usage = meter.stop()?;
    let linger = tokio::time::Instant::now() + Duration::from_millis(500);
    tokio::time::sleep_until(linger.min(deadline)).await;
    let _ = stop_tx.send(true);

    let mut room_sent: HashMap<u64, Vec<u64>> = HashMap::new();
    for seq in publication.sent.keys() {
        room_sent.entry(seq % plan.rooms).or_default().push(*seq);
    }
    let mut tally = Tally::default();
    while let Some(joined) = subscribers.join_next().await {
        let arrivals = joined.context("a subscriber panicked")?;
        let expected = room_sent.get(&arrivals.room).map_or(&[][..], Vec::as_slice);
        tally.add(arrivals, &publication.sent, expected, plan.rooms);
    }
    let expected_deliveries: u64 = room_sent
        .iter()
        .map(|(room, seqs)| {
            let per_room =
                plan.subscribers / plan.rooms + u64::from(*room < plan.subscribers % plan.rooms);
            per_room * seqs.len() as u64
        })
        .sum();

    let pace = match plan.pace {
        Pace::OneAtATime => "posted one at a time".to_owned(),
        Pace::PerSecond(rate) => format!("posted at {rate}/s round-robin"),
    };
    let rooms = match plan.rooms {
        1 => format!("room chat/{}", room_name(0)),
        n => format!("{n} rooms chat/bench-{tag}-<k % {n}>"),
    };
    println!(
        "{}: {} messages {pace}, {} subscriber(s), {rooms}",
        plan.scenario, plan.messages, plan.subscribers
    );
    if plan.bases.len() > 1 {
        println!(
            "{} servers, subscribers and posts taking turns: {}",
            plan.bases.len(),
            plan.bases.join(", ")
        );
    }
    println!(
        "streams opened (ready received): {} in {:.2} s, {} at a time",
        plan.subscribers,
        opened_in.as_secs_f64(),
        plan.options.open_concurrency
    );
    print_header();
    let delivered = tally.delivery.len();
    print_row("delivery", &mut tally.delivery);
    print_row("POST", &mut publication.post_latency);
    println!(
        "lost: {}   duplicated: {}   order differs between streams of a room: {}   POST errors: {}   stream errors: {}",
        tally.lost,
        tally.duplicated,
        tally.order_differs,
        publication.errors,
        tally.stream_errors.len()
    );
    println!(
        "out of send order: {} deliveries (POSTs that overlapped and committed in another order than sent)",
        tally.out_of_order
    );
    if tally.unexpected > 0 {
        println!(
            "deliveries of messages whose POST failed: {}",
            tally.unexpected
        );
    }
    if tally.misrouted > 0 {
        println!(
            "deliveries to a stream of another room: {}",
            tally.misrouted
        );
    }
    if publication.gave_up {
        println!("stopped posting after {GIVE_UP_AFTER_FAILURES} failed POSTs in a row");
    }
    if let Some(error) = &publication.first_error {
        println!("first POST error: {error}");
    }
    if let Some(error) = tally.stream_errors.first() {
        println!("first stream error: {error}");
    }
    println!(
        "posting took {:.2} s ({:.0} POST/s); {delivered} of {expected_deliveries} expected deliveries, {:.0} per second from the first POST to the last delivery",
        posting.as_secs_f64(),
        publication.post_latency.len() as f64 / posting.as_secs_f64(),
        delivered as f64 / usage.wall.as_secs_f64()
    );
    usage.print("from the first POST to the last delivery");
    Ok(tally.lost == 0
        && tally.duplicated == 0
        && tally.order_differs == 0
        && tally.misrouted == 0
        && publication.errors == 0
        && tally.stream_errors.is_empty())
}

// ---------------------------------------------------------------------------------------
// throughput: closed-loop clients

/// What `throughput` requests go to, prepared once per run.
struct Workload {
    client: reqwest::Client,
    token: String,
    base: String,
    tag: String,
    /// Where create-message posts.
    write_room_url: String,
    /// The note get-note reads, and the room of [`READ_ROOM_MESSAGES`] list-messages reads.
    read_note_url: String,
    read_room_url: String,
    next_note: AtomicU64,
}

impl Workload {
    /// Signs up, and with `reads` creates the note and the messages that reads fetch.
    async fn prepare(base: String, reads: bool) -> Result<Self> {
        let client = http_client()?;
        let token = sign_up(&client, &base).await?;
        let tag = random_hex(6)?;
        let read_key = format!("bench-read-{tag}");
        let work = Self {
            write_room_url: format!("{base}/api/rooms/chat/bench-write-{tag}/messages"),
            read_note_url: format!("{base}/api/notes/{read_key}"),
            read_room_url: format!("{base}/api/rooms/chat/bench-read-{tag}/messages"),
            client,
            token,
            base,
            tag,
            next_note: AtomicU64::new(0),
        };
        if reads {
            let note = json!({ "key": read_key, "title": "Bench note", "body": "x".repeat(500) });
            let request = work.authorized(work.client.post(format!("{}/api/notes", work.base)));
            exchange(request.json(&note), StatusCode::CREATED, "POST note").await?;
            for i in 0..READ_ROOM_MESSAGES {
                let text = format!("bench read message {i}");
                post_message(&work.client, &work.read_room_url, &work.token, text).await?;
            }
        }
        Ok(work)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(&self.token)
    }

    async fn request(&self, op: Op) -> Result<()> {
        let client = &self.client;
        let (request, expected) = match op {
            Op::CreateMessage => {
                let body = json!({ "message": "bench message" });
                let request = self.authorized(client.post(&self.write_room_url));
                (request.json(&body), StatusCode::CREATED)
            }
            Op::CreateNote => {
                let n = self.next_note.fetch_add(1, Ordering::Relaxed);
                let body = json!({
                    "key": format!("bench-{}-{n}", self.tag),
                    "title": "Bench note",
                    "body": "A note created by parley-bench.",
                });
                let request = self.authorized(client.post(format!("{}/api/notes", self.base)));
                (request.json(&body), StatusCode::CREATED)
            }
            Op::GetNote => (client.get(&self.read_note_url), StatusCode::OK),
            Op::ListMessages => (
                client.get(format!("{}?limit=20", self.read_room_url)),
                StatusCode::OK,
            ),
        };
        exchange(request, expected, op.name()).await
    }
}

/// The outcome of one closed-loop measurement.
#[derive(Default)]
struct Load {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
}

impl Load {
    fn merge(&mut self, other: Load) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-6)
    }
}

/// `clients` tasks each send `op` one request after another until `duration` has passed
/// (or `max_requests` each); requests in flight at the deadline are finished.
async fn closed_loop(
    work: &Arc<Workload>,
    op: Op,
    clients: u64,
    duration: Duration,
    max_requests: u64,
) -> Result<Load> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let work = Arc::clone(work);
        tasks.spawn(async move {
            let mut load = Load::default();
            let mut failing_in_a_row = 0;
            for _ in 0..max_requests {
                if Instant::now() >= deadline || failing_in_a_row == GIVE_UP_AFTER_FAILURES {
                    break;
                }
                let sent = Instant::now();
                match work.request(op).await {
                    Ok(()) => {
                        load.latencies.push(sent.elapsed());
                        failing_in_a_row = 0;
                    }
                    Err(error) => {
                        load.errors += 1;
                        failing_in_a_row += 1;
                        load.first_error.get_or_insert_with(|| format!("{error:#}"));
                    }
                }
            }
            load
        });
    }
    let mut total = Load::default();
    while let Some(joined) = tasks.join_next().await {
        total.merge(joined.context("a load client panicked")?);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// Column widths of the `throughput` table: operation, clients, requests, errors, req/s,
/// p50, p90, p99, max, and CPU of the bench, parley, PostgreSQL and other processes.
const THROUGHPUT_WIDTHS: [usize; 13] = [15, 7, 9, 6, 9, 8, 8, 8, 8, 6, 6, 6, 6];

fn throughput_line(cells: [&str; 13]) {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(THROUGHPUT_WIDTHS).enumerate() {
        let _ = match i {
            0 => write!(line, "{cell:<width$}"),
            _ => write!(line, " {cell:>width$}"),
        };
    }
    println!("{line}");
}

async fn throughput(args: ThroughputArgs) -> Result<bool> {
    let largest = args.clients.iter().copied().max().unwrap_or(1);
    prepare_open_files(largest, args.server.pid)?;
    let reads = args.ops.iter().any(|op| op.reads());
    let work = Arc::new(Workload::prepare(args.server.base()?, reads).await?);
    println!(
        "throughput: closed loop, each client sends its next request when its previous one is \
         answered; all clients use one user's token; {:?} measured after {:?} of warm-up per row",
        args.duration, args.warmup
    );
    println!(
        "create-message posts to chat/bench-write-{tag}; get-note reads note bench-read-{tag}; \
         list-messages reads ?limit=20 of chat/bench-read-{tag} ({READ_ROOM_MESSAGES} messages)",
        tag = work.tag
    );
    println!(
        "CPU columns: % of one core over the measured time ({} cores = {}00%); other: every \
         other process on the machine",
        cores(),
        cores()
    );
    throughput_line([
        "(ms)", "clients", "requests", "errors", "req/s", "p50", "p90", "p99", "max", "bench",
        "parley", "pg", "other",
    ]);
    let mut clean = true;
    let mut errors = Vec::new();
    let mut creates = Vec::new();
    for &op in &args.ops {
        for &clients in &args.clients {
            if !args.warmup.is_zero() {
                closed_loop(&work, op, clients, args.warmup, args.max_requests).await?;
            }
            let meter = CpuMeter::start(args.server.pid)?;
            let mut load =
                closed_loop(&work, op, clients, args.duration, args.max_requests).await?;
            let [bench, parley, pg, other] = meter.stop()?.cells();
            let [p50, p90, p99, max] = percentile_cells(&mut load.latencies);
            let rate = load.per_second();
            let counts = [clients, load.latencies.len() as u64, load.errors].map(|n| n.to_string());
            let [clients_cell, requests, errors_cell] = counts;
            throughput_line([
                op.name(),
                &clients_cell,
                &requests,
                &errors_cell,
                &format!("{rate:.0}"),
                &p50,
                &p90,
                &p99,
                &max,
                &bench,
                &parley,
                &pg,
                &other,
            ]);
            clean &= load.errors == 0;
            if let Some(error) = load.first_error {
                errors.push(format!("{} at {clients} clients: {error}", op.name()));
            }
            if matches!(op, Op::CreateMessage | Op::CreateNote) {
                let p50 = summary(&mut load.latencies).map(|(_, [p50, ..])| p50);
                creates.push((op, clients, rate, p50));
            }
        }
    }
    for error in &errors {
        println!("first error of {error}");
    }
    if let Some(data_dir) = &args.pgbench_data_dir {
        let mut ceilings = HashMap::new();
        for &clients in &args.clients {
            let ceiling = pgbench_ceiling(
                data_dir,
                clients,
                args.duration,
                &args.pgbench,
                args.server.pid,
            )
            .await?;
            clean &= ceiling.failed == 0;
            ceilings.insert(clients, ceiling);
        }
        for (op, clients, rate, p50) in creates {
            let Some(ceiling) = ceilings.get(&clients) else {
                continue;
            };
            let added = p50.map_or_else(
                || "-".to_owned(),
                |p50| format!("{:+.3}", p50.as_secs_f64() * 1e3 - ceiling.latency_ms),
            );
            println!(
                "{} at {clients} clients: {rate:.0}/s = {:.1}% of the pgbench ceiling ({:.0} tps); \
                 p50 {} ms, pgbench's p50 {:.3} ms, difference {added} ms",
                op.name(),
                100.0 * rate / ceiling.tps.max(1e-6),
                ceiling.tps,
                p50.map_or_else(
                    || "-".to_owned(),
                    |p50| format!("{:.3}", p50.as_secs_f64() * 1e3)
                ),
                ceiling.latency_ms,
            );
        }
    }
    Ok(clean)
}

// ---------------------------------------------------------------------------------------
// ceiling: pgbench on the server's own database

const PGBENCH_TABLE: &str = "bench_insert";

struct Ceiling {
    tps: f64,
    failed: u64,
    /// pgbench's median transaction latency.
    latency_ms: f64,
}

async fn ceiling(args: CeilingArgs) -> Result<bool> {
    let result = pgbench_ceiling(
        &args.data_dir,
        args.clients,
        args.duration,
        &args.pgbench,
        args.pid,
    )
    .await?;
    Ok(result.failed == 0)
}

/// Bounds a database step by [`REQUEST_TIMEOUT`].
async fn bounded<T, E>(step: impl Future<Output = Result<T, E>>, what: &str) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::time::timeout(REQUEST_TIMEOUT, step)
        .await
        .with_context(|| format!("{what}: no answer within {REQUEST_TIMEOUT:?}"))?
        .with_context(|| what.to_owned())
}

/// Creates a scratch table on the server's database, runs pgbench with a one-row INSERT
/// per transaction at `clients` connections for `duration`, drops the table, and prints
/// what pgbench measured.
async fn pgbench_ceiling(
    data_dir: &Path,
    clients: u64,
    duration: Duration,
    options: &PgbenchArgs,
    pid: Option<u32>,
) -> Result<Ceiling> {
    let socket_dir = data_dir.join("postgres");
    let mut config = tokio_postgres::Config::new();
    config
        .host_path(&socket_dir)
        .user("parley")
        .dbname("parley");
    let connect = config.connect(tokio_postgres::NoTls);
    let what = format!("connect to {} as parley/parley", socket_dir.display());
    let (db, connection) = bounded(connect, &what).await?;
    let connection = tokio::spawn(connection);
    let create =
        format!("CREATE TABLE IF NOT EXISTS {PGBENCH_TABLE} (id bigserial PRIMARY KEY, v text)");
    bounded(db.batch_execute(&create), "create the scratch table").await?;
    let script = std::env::temp_dir().join(format!("parley-bench-{}.sql", random_hex(6)?));
    // RETURNING, as the server's inserts return the new row's id.
    let mut transaction =
        format!("INSERT INTO {PGBENCH_TABLE} (v) VALUES ('parley-bench') RETURNING id;\n");
    if options.pgbench_notify {
        // A channel of its own: the server's reader listens on another one.
        transaction = format!("BEGIN;\n{transaction}NOTIFY parley_bench_ceiling;\nCOMMIT;\n");
    }
    let outcome = match std::fs::write(&script, transaction) {
        Ok(()) => run_pgbench(&socket_dir, &script, clients, duration, options, pid).await,
        Err(error) => Err(anyhow!("write {}: {error}", script.display())),
    };
    let _ = std::fs::remove_file(&script);
    let drop_table = format!("DROP TABLE IF EXISTS {PGBENCH_TABLE}");
    let dropped = bounded(db.batch_execute(&drop_table), "drop the scratch table").await;
    drop(db);
    connection.abort();
    let ceiling = outcome?;
    dropped?;
    Ok(ceiling)
}

async fn run_pgbench(
    socket_dir: &Path,
    script: &Path,
    clients: u64,
    duration: Duration,
    options: &PgbenchArgs,
    pid: Option<u32>,
) -> Result<Ceiling> {
    let seconds = duration.as_secs().max(1);
    let threads = options.pgbench_threads.min(clients);
    let mut command = tokio::process::Command::new(&options.pgbench);
    command
        .arg("--no-vacuum")
        .arg("--host")
        .arg(socket_dir)
        .args(["--username", "parley"])
        .args(["--client", &clients.to_string()])
        .args(["--jobs", &threads.to_string()])
        .args(["--time", &seconds.to_string()])
        .arg("--file")
        .arg(script)
        .kill_on_drop(true);
    // Each transaction's latency, for a median: on a busy machine the mean is the tail's.
    let logs = std::env::temp_dir().join(format!("parley-bench-pgbench-{}", random_hex(6)?));
    std::fs::create_dir(&logs).with_context(|| format!("create {}", logs.display()))?;
    command
        .arg("--log")
        .arg("--log-prefix")
        .arg(logs.join("tx"))
        .arg("parley");
    let meter = CpuMeter::start(pid)?;
    let bound = Duration::from_secs(seconds + 60);
    let output = tokio::time::timeout(bound, command.output())
        .await
        .with_context(|| format!("pgbench did not finish within {bound:?}"))
        .and_then(|output| output.with_context(|| format!("run {}", options.pgbench.display())));
    let usage = meter.stop()?;
    let median = median_transaction(&logs);
    let _ = std::fs::remove_dir_all(&logs);
    let output = output?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed ({}): {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split([' ', '/']).next())
            .ok_or_else(|| anyhow!("pgbench printed no `{prefix}` line:\n{stdout}"))
    };
    let tps: f64 = field("tps = ")?.parse().context("pgbench's tps")?;
    let transactions = field("number of transactions actually processed: ")?;
    // pgbench 15 prints failures only when there were some.
    let failed: u64 = field("number of failed transactions: ")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let latency = field("latency average = ")?;
    println!(
        "ceiling: pgbench, one-row INSERT INTO {PGBENCH_TABLE} … RETURNING id{} per transaction, {clients} \
         clients, {threads} threads, {seconds} s, on {} as parley/parley",
        if options.pgbench_notify {
            " and a NOTIFY"
        } else {
            ""
        },
        socket_dir.display()
    );
    let median = median.context("read pgbench's transaction log")?;
    println!(
        "transactions: {transactions} (failed: {failed}); latency average {latency} ms, \
         p50 {median:.3} ms; {tps:.0} tps (without initial connection time)"
    );
    usage.print("while pgbench ran");
    Ok(Ceiling {
        tps,
        failed,
        latency_ms: median,
    })
}

/// The median transaction latency, in ms, of the per-transaction logs pgbench wrote in
/// `dir` (`--log`: one line per transaction, its latency in µs in the third field).
fn median_transaction(dir: &Path) -> Result<f64> {
    let mut micros = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let text = std::fs::read_to_string(entry?.path())?;
        micros.extend(
            text.lines()
                .filter_map(|line| line.split_whitespace().nth(2)?.parse::<u64>().ok()),
        );
    }
    ensure!(!micros.is_empty(), "pgbench logged no transaction");
    micros.sort_unstable();
    Ok(micros[micros.len() / 2] as f64 / 1e3)
}

// ---------------------------------------------------------------------------------------
// reads: the first page of a room's list against pgbench's ceiling for the same SELECT

/// The statement Parley's database path runs for `?limit=20` of a room (diesel's text,
/// as `pg_stat_statements` shows it), with the room's values written in: pgbench runs it
/// prepared (`-M prepared`), as diesel does.
fn list_select(room: &str) -> String {
    format!(
        "SELECT \"messages\".\"id\", \"messages\".\"namespace\", \"messages\".\"room\", \
         \"messages\".\"author_id\", \"messages\".\"message\", \"messages\".\"created_at\", \
         \"messages\".\"updated_at\", \"users\".\"username\" FROM (\"messages\" INNER JOIN \
         \"users\" ON (\"messages\".\"author_id\" = \"users\".\"id\")) WHERE \
         ((\"messages\".\"namespace\" = 'chat') AND (\"messages\".\"room\" = '{room}')) \
         ORDER BY \"messages\".\"id\" DESC LIMIT 21;\n"
    )
}

/// How long after pgbench exits its backends' CPU is read (see `run_pgbench_select`).
const PGBENCH_REAPED: Duration = Duration::from_secs(1);

/// One side of one round.
struct ReadRound {
    /// Reads (or pgbench transactions) completed in the measured time.
    count: u64,
    rate: f64,
    p50: Duration,
    p99: Duration,
    usage: CpuUsage,
}

impl ReadRound {
    fn postgres(&self) -> Option<Duration> {
        self.usage.server.as_ref().map(|server| server.postgres)
    }

    /// PostgreSQL's CPU per read, in microseconds.
    fn postgres_per_read(&self) -> Option<f64> {
        self.postgres()
            .map(|cpu| cpu.as_secs_f64() * 1e6 / (self.count as f64).max(1.0))
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn reads_line(cells: [&str; 10]) {
    println!(
        "{:<8} {:>5} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>8}",
        cells[0],
        cells[1],
        cells[2],
        cells[3],
        cells[4],
        cells[5],
        cells[6],
        cells[7],
        cells[8],
        cells[9]
    );
}

fn print_read_round(side: &str, round: u64, result: &ReadRound) {
    let percent = |cpu: Duration| format!("{:.0}%", result.usage.share(cpu));
    let (parley, postgres) = match &result.usage.server {
        Some(server) => (percent(server.parley), percent(server.postgres)),
        None => ("-".to_owned(), "-".to_owned()),
    };
    let client = percent(result.usage.user + result.usage.system + result.usage.children);
    let others = percent(result.usage.others());
    let per_read = result
        .postgres_per_read()
        .map_or("-".to_owned(), |us| format!("{us:.1}"));
    let millis = |d: Duration| match d.is_zero() {
        true => "-".to_owned(),
        false => format!("{:.3}", d.as_secs_f64() * 1000.0),
    };
    reads_line([
        side,
        &round.to_string(),
        &format!("{:.0}", result.rate),
        &millis(result.p50),
        &millis(result.p99),
        &client,
        &parley,
        &postgres,
        &others,
        &per_read,
    ]);
}

async fn reads(args: ReadsArgs) -> Result<bool> {
    prepare_open_files(args.clients, args.server.pid)?;
    let work = Arc::new(Workload::prepare(args.server.base()?, true).await?);
    let room = format!("bench-read-{}", work.tag);
    let socket_dir = args.data_dir.join("postgres");
    let script = std::env::temp_dir().join(format!("parley-bench-{}.sql", random_hex(6)?));
    std::fs::write(&script, list_select(&room))
        .with_context(|| format!("write {}", script.display()))?;
    println!(
        "reads: GET /api/rooms/chat/{room}/messages?limit=20 ({READ_ROOM_MESSAGES} messages) at \
         {} closed-loop clients, then pgbench -M prepared running the SELECT of Parley's \
         database path for the same room ({} clients, {} threads) on {} as parley/parley; \
         {:?} each, {} rounds",
        args.clients,
        args.clients,
        args.pgbench_threads.min(args.clients),
        socket_dir.display(),
        args.duration,
        args.rounds
    );
    println!(
        "CPU as % of one core ({} cores = {}00%); client: the bench itself, or pgbench; \
         other: every other process; pg/read: PostgreSQL CPU per read (µs); pgbench's p50 \
         column is its latency average",
        cores(),
        cores()
    );
    reads_line([
        "(ms)", "round", "per s", "p50", "p99", "client", "parley", "pg", "other", "pg/read",
    ]);
    let mut clean = true;
    let mut parley_rounds = Vec::new();
    let mut pgbench_rounds = Vec::new();
    let outcome: Result<()> = async {
        for round in 1..=args.rounds {
            if !args.warmup.is_zero() {
                closed_loop(&work, Op::ListMessages, args.clients, args.warmup, u64::MAX).await?;
            }
            let meter = CpuMeter::start(args.server.pid)?;
            let mut load = closed_loop(
                &work,
                Op::ListMessages,
                args.clients,
                args.duration,
                u64::MAX,
            )
            .await?;
            let usage = meter.stop()?;
            clean &= load.errors == 0;
            if let Some(error) = &load.first_error {
                println!("first error: {error}");
            }
            let (p50, p99) = match summary(&mut load.latencies) {
                Some((_, [p50, _, p99, _])) => (p50, p99),
                None => (Duration::ZERO, Duration::ZERO),
            };
            let parley = ReadRound {
                count: load.latencies.len() as u64,
                rate: load.per_second(),
                p50,
                p99,
                usage,
            };
            print_read_round("parley", round, &parley);
            parley_rounds.push(parley);
            let pgbench = run_pgbench_select(&args, &socket_dir, &script).await?;
            print_read_round("pgbench", round, &pgbench);
            pgbench_rounds.push(pgbench);
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&script);
    outcome?;
    let rate = |rounds: &[ReadRound]| median(rounds.iter().map(|r| r.rate).collect());
    let per_read = |rounds: &[ReadRound]| {
        median(
            rounds
                .iter()
                .filter_map(ReadRound::postgres_per_read)
                .collect(),
        )
    };
    let (parley, ceiling) = (rate(&parley_rounds), rate(&pgbench_rounds));
    println!(
        "median reads: parley {parley:.0}/s, pgbench {ceiling:.0}/s: parley = {:.1}% of the ceiling",
        100.0 * parley / ceiling.max(1e-6)
    );
    if args.server.pid.is_some() {
        println!(
            "median PostgreSQL CPU per read: parley {:.1} µs, pgbench {:.1} µs",
            per_read(&parley_rounds),
            per_read(&pgbench_rounds)
        );
    }
    Ok(clean)
}

/// pgbench with the list's SELECT, for `--duration`: its rate and latency, and the CPU.
async fn run_pgbench_select(
    args: &ReadsArgs,
    socket_dir: &Path,
    script: &Path,
) -> Result<ReadRound> {
    let seconds = args.duration.as_secs().max(1);
    let threads = args.pgbench_threads.min(args.clients);
    let mut command = tokio::process::Command::new(&args.pgbench);
    command
        .args(["--no-vacuum", "--protocol", "prepared"])
        .arg("--host")
        .arg(socket_dir)
        .args(["--username", "parley"])
        .args(["--client", &args.clients.to_string()])
        .args(["--jobs", &threads.to_string()])
        .args(["--time", &seconds.to_string()])
        .arg("--file")
        .arg(script)
        .arg("parley")
        .kill_on_drop(true);
    let meter = CpuMeter::start(args.server.pid)?;
    let bound = Duration::from_secs(seconds + 60);
    let output = tokio::time::timeout(bound, command.output())
        .await
        .with_context(|| format!("pgbench did not finish within {bound:?}"))?
        .with_context(|| format!("run {}", args.pgbench.display()))?;
    let ran = meter.started.elapsed();
    // pgbench's backends exit with it; their CPU is counted once PostgreSQL has reaped
    // them (until then they are neither alive nor in its children's total).
    tokio::time::sleep(PGBENCH_REAPED).await;
    let mut usage = meter.stop()?;
    usage.wall = ran;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed ({}): {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let field = |prefix: &str| -> Result<f64> {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split([' ', '/']).next())
            .and_then(|number| number.parse().ok())
            .ok_or_else(|| anyhow!("pgbench printed no `{prefix}` line:\n{stdout}"))
    };
    let latency = Duration::from_secs_f64(field("latency average = ")? / 1000.0);
    Ok(ReadRound {
        count: field("number of transactions actually processed: ")? as u64,
        rate: field("tps = ")?,
        // pgbench prints an average only: shown in the p50 column, no p99.
        p50: latency,
        p99: Duration::ZERO,
        usage,
    })
}

// ---------------------------------------------------------------------------------------
// idle

async fn idle(args: IdleArgs) -> Result<bool> {
    let base = args.server.base()?;
    let pid = args
        .server
        .pid
        .ok_or_else(|| anyhow!("idle needs --pid: it reads the server's memory from /proc"))?;
    vm_rss_kib(pid)?;
    prepare_open_files(args.streams, Some(pid))?;
    let client = http_client()?;
    let sources = source_clients(args.streams, args.source_addresses)?;
    // Sign up first: the argon2 hash of registering must not count as stream memory.
    let token = sign_up(&client, &base).await?;
    let run_tag = random_hex(6)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = vm_rss_kib(pid)?;
    let fds_before = open_fds(pid)?;

    let meter = CpuMeter::start(Some(pid))?;
    let started = Instant::now();
    let opening = futures_util::stream::iter(0..args.streams)
        .map(|i| {
            let client = sources[(i % sources.len() as u64) as usize].1.clone();
            let url = format!("{base}/api/rooms/chat/idle-{}/events", i % IDLE_ROOMS);
            async move { (i % IDLE_ROOMS, open_ready(&client, &url).await) }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect::<Vec<_>>();
    let results = tokio::time::timeout(args.phase_timeout, opening)
        .await
        .with_context(|| format!("opening the streams took over {:?}", args.phase_timeout))?;
    let opened_in = started.elapsed();
    let opening_cpu = meter.stop()?;
    let mut streams = Vec::with_capacity(results.len());
    let mut open_errors: HashMap<String, u64> = HashMap::new();
    for (room, result) in results {
        match result {
            Ok(stream) => streams.push((room, stream)),
            Err(error) => *open_errors.entry(format!("{error:#}")).or_default() += 1,
        }
    }
    let open = streams.len() as u64;
    // Let the server finish any work the last connections started.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = vm_rss_kib(pid)?;
    let fds_after = open_fds(pid)?;

    println!(
        "idle: {} streams requested over {IDLE_ROOMS} rooms chat/idle-<i % {IDLE_ROOMS}>, {} at a time, from {}",
        args.streams,
        args.concurrency,
        describe_sources(&sources)
    );
    println!(
        "streams open (ready received): {open} in {:.2} s; failed to open: {}",
        opened_in.as_secs_f64(),
        args.streams - open
    );
    for (error, count) in &open_errors {
        println!("  {count} x {error}");
    }
    opening_cpu.print("while opening the streams");
    println!(
        "server VmRSS before: {:.1} MiB ({fds_before} open files)",
        rss_before as f64 / 1024.0
    );
    println!(
        "server VmRSS after:  {:.1} MiB ({fds_after} open files)",
        rss_after as f64 / 1024.0
    );
    let delta = rss_after.saturating_sub(rss_before) * 1024;
    if let Some(per_stream) = delta.checked_div(open) {
        println!(
            "bytes per stream: {per_stream} ({:.1} KiB)",
            per_stream as f64 / 1024.0
        );
    }

    // Still open? One message to each room; every stream must receive its room's. The
    // whole check, posting included, ends by `check_deadline`.
    let rooms_in_use: Vec<u64> = (0..IDLE_ROOMS.min(args.streams)).collect();
    let check_meter = CpuMeter::start(Some(pid))?;
    let check_deadline = tokio::time::Instant::now() + args.phase_timeout;
    let mut readers = JoinSet::new();
    for (room, mut stream) in streams {
        let want = format!("idle {run_tag} {room}");
        readers.spawn(async move {
            let found = async {
                loop {
                    match stream.next().await {
                        Ok(Some(event)) => {
                            if created_text(&event).as_deref() == Some(want.as_str()) {
                                return true;
                            }
                        }
                        Ok(None) | Err(_) => return false,
                    }
                }
            };
            // Dropping the stream at the end of this task closes its connection.
            tokio::time::timeout_at(check_deadline, found)
                .await
                .unwrap_or(false)
        });
    }
    let mut post_errors = Vec::new();
    for room in &rooms_in_use {
        let url = format!("{base}/api/rooms/chat/idle-{room}/messages");
        let text = format!("idle {run_tag} {room}");
        let post = post_message(&client, &url, &token, text);
        match tokio::time::timeout_at(check_deadline, post).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => post_errors.push(format!("room idle-{room}: {error:#}")),
            Err(_) => post_errors.push(format!("room idle-{room}: past the check's deadline")),
        }
    }
    let mut delivered = 0u64;
    while let Some(joined) = readers.join_next().await {
        if joined.context("a reader panicked")? {
            delivered += 1;
        }
    }
    let check_cpu = check_meter.stop()?;
    println!(
        "check: posted {} message(s), one per room ({} POST errors); {delivered} of {open} streams received their room's message in {:.2} s",
        rooms_in_use.len() - post_errors.len(),
        post_errors.len(),
        check_cpu.wall.as_secs_f64()
    );
    for error in &post_errors {
        println!("  {error}");
    }
    check_cpu.print("during the check");
    // The readers own the streams and have dropped them: every connection is closed. How
    // long until the server has let go of them all (its files back to where they were)?
    let closed_at = Instant::now();
    let mut fds_closed = open_fds(pid)?;
    while fds_closed > fds_before + CLOSED_FDS_SLACK && closed_at.elapsed() < CLOSE_WAIT_BOUND {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fds_closed = open_fds(pid)?;
    }
    let released_in = closed_at.elapsed();
    let rss_closed = vm_rss_kib(pid)?;
    if fds_closed > fds_before + CLOSED_FDS_SLACK {
        println!(
            "all streams closed by the bench; {:.0} s later the server still has {fds_closed} open files (VmRSS {:.1} MiB)",
            released_in.as_secs_f64(),
            rss_closed as f64 / 1024.0
        );
    } else {
        println!(
            "all streams closed by the bench; the server was back to {fds_closed} open files {:.2} s later (VmRSS {:.1} MiB)",
            released_in.as_secs_f64(),
            rss_closed as f64 / 1024.0
        );
    }
    Ok(open == args.streams && delivered == open && post_errors.is_empty())
}

// ---------------------------------------------------------------------------------------
// soak: a private server and database under steady mixed load, with a database restart

/// Reader tasks sharing `--read-rate`.
const SOAK_READERS: u64 = 4;
/// How long a subscriber waits before trying again after a failed connection. Shorter than
/// the server's `retry:` hint (2–3 s), so that the outage is probed often.
const SOAK_RETRY: Duration = Duration::from_secs(1);
/// Bound on the server's start (migrations included) and on its readiness after the restart.
const SOAK_START_TIMEOUT: Duration = Duration::from_secs(60);

/// A request the soak sends, as the report groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SoakKind {
    Message,
    NoteUpdate,
    Comment,
    List,
    Stream,
}

impl SoakKind {
    const ALL: [Self; 5] = [
        Self::Message,
        Self::NoteUpdate,
        Self::Comment,
        Self::List,
        Self::Stream,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Message => "post message",
            Self::NoteUpdate => "update note",
            Self::Comment => "post comment",
            Self::List => "list",
            Self::Stream => "open stream",
        }
    }
}

/// A request that did not get its expected answer, with when it was sent and when it
/// ended, since the start of the run.
struct Failure {
    sent: Duration,
    ended: Duration,
    /// `None`: no HTTP answer, or a stream that ended (see `detail`).
    status: Option<StatusCode>,
    detail: String,
}

impl Failure {
    fn server_error(&self) -> bool {
        self.status.is_some_and(|status| status.is_server_error())
    }

    fn client_error(&self) -> bool {
        self.status.is_some_and(|status| status.is_client_error())
    }

    /// Whether the request overlapped the outage `(from, to)` at all.
    fn during(&self, outage: Option<(Duration, Duration)>) -> bool {
        outage.is_some_and(|(from, to)| self.sent <= to && self.ended >= from)
    }
}

#[derive(Default)]
struct KindTally {
    latencies: Vec<Duration>,
    failures: Vec<Failure>,
}

/// Locks a mutex whose holder may have panicked: the tallies it guards stay usable.
fn locked<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every answer of the run, by request kind.
struct Ledger {
    start: Instant,
    kinds: std::sync::Mutex<HashMap<SoakKind, KindTally>>,
}

impl Ledger {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            kinds: std::sync::Mutex::default(),
        }
    }

    fn with<T>(&self, kind: SoakKind, f: impl FnOnce(&mut KindTally) -> T) -> T {
        f(locked(&self.kinds).entry(kind).or_default())
    }

    fn ok(&self, kind: SoakKind, sent: Instant) {
        self.with(kind, |tally| tally.latencies.push(sent.elapsed()));
    }

    fn failed(&self, kind: SoakKind, sent: Instant, status: Option<StatusCode>, detail: String) {
        let failure = Failure {
            sent: sent.saturating_duration_since(self.start),
            ended: self.start.elapsed(),
            status,
            detail,
        };
        self.with(kind, |tally| tally.failures.push(failure));
    }

    fn take(&self) -> HashMap<SoakKind, KindTally> {
        std::mem::take(&mut *locked(&self.kinds))
    }
}

/// Sends one request, records its answer, and returns the body when the status is
/// `expected`.
async fn attempt<T: serde::de::DeserializeOwned>(
    ledger: &Ledger,
    kind: SoakKind,
    request: reqwest::RequestBuilder,
    expected: StatusCode,
) -> Option<T> {
    let sent = Instant::now();
    let answer = async {
        let response = request.timeout(REQUEST_TIMEOUT).send().await?;
        let status = response.status();
        Ok::<_, reqwest::Error>((status, response.bytes().await?))
    }
    .await;
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err(error) => {
            let detail = format!("{:#}", anyhow::Error::from(error));
            ledger.failed(kind, sent, None, detail);
            return None;
        }
    };
    if status != expected {
        let detail = String::from_utf8_lossy(&body).chars().take(300).collect();
        ledger.failed(kind, sent, Some(status), detail);
        return None;
    }
    match serde_json::from_slice(&body) {
        Ok(value) => {
            ledger.ok(kind, sent);
            Some(value)
        }
        Err(error) => {
            ledger.failed(
                kind,
                sent,
                Some(status),
                format!("unexpected body: {error}"),
            );
            None
        }
    }
}

/// One write of a room, as the writer's answer and the room's stream both name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Delivery {
    Message(i64),
    NoteVersion(i64),
}

#[derive(Deserialize)]
struct IdBody {
    id: i64,
}

#[derive(Deserialize)]
struct VersionBody {
    version: i64,
}

fn soak_delivery(event: &SseEvent) -> Option<Delivery> {
    match event.event.as_str() {
        "message.created" => serde_json::from_str::<IdBody>(&event.data)
            .ok()
            .map(|body| Delivery::Message(body.id)),
        "note.updated" => serde_json::from_str::<VersionBody>(&event.data)
            .ok()
            .map(|body| Delivery::NoteVersion(body.version)),
        _ => None,
    }
}

/// A uniformly random number in [0, 1).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// What a room's writer does.
enum RoomWrites {
    /// Posts messages to a chat room.
    Chat { messages: String },
    /// Updates a note and comments on it, in turn: both go to stream `notes/<key>`.
    Note { note: String, comments: String },
}

struct SoakRoom {
    events: String,
    writes: RoomWrites,
}

/// The shared parts of every load task.
#[derive(Clone)]
struct SoakContext {
    client: reqwest::Client,
    token: Arc<str>,
    ledger: Arc<Ledger>,
    /// When writers and readers stop.
    until: tokio::time::Instant,
}

/// Writes to one room at `rate` per second, each write sent once the previous one is
/// answered, so that the room's events are in the order of the acknowledgements. Returns
/// the acknowledged writes in that order.
async fn soak_writer(context: SoakContext, room: Arc<SoakRoom>, rate: f64) -> Vec<Delivery> {
    let started = tokio::time::Instant::now();
    let mut acknowledged = Vec::new();
    for k in 0u64.. {
        let at = started + Duration::from_secs_f64(k as f64 / rate);
        if at >= context.until {
            break;
        }
        tokio::time::sleep_until(at).await;
        let (client, ledger, token) = (&context.client, &context.ledger, &*context.token);
        let written = match &room.writes {
            RoomWrites::Note { note, .. } if k % 2 == 0 => {
                let body = json!({ "title": "Soak note", "body": format!("soak update {k}") });
                let request = client.put(note).bearer_auth(token).json(&body);
                attempt::<VersionBody>(ledger, SoakKind::NoteUpdate, request, StatusCode::OK)
                    .await
                    .map(|note| Delivery::NoteVersion(note.version))
            }
            RoomWrites::Note { comments, .. } => {
                let body = json!({ "message": format!("soak comment {k}") });
                let request = client.post(comments).bearer_auth(token).json(&body);
                attempt::<IdBody>(ledger, SoakKind::Comment, request, StatusCode::CREATED)
                    .await
                    .map(|message| Delivery::Message(message.id))
            }
            RoomWrites::Chat { messages } => {
                let body = json!({ "message": format!("soak message {k}") });
                let request = client.post(messages).bearer_auth(token).json(&body);
                attempt::<IdBody>(ledger, SoakKind::Message, request, StatusCode::CREATED)
                    .await
                    .map(|message| Delivery::Message(message.id))
            }
        };
        acknowledged.extend(written);
    }
    acknowledged
}

/// Lists at `rate` per second, one request after another, cycling through `urls`.
async fn soak_reader(context: SoakContext, urls: Arc<[String]>, offset: usize, rate: f64) {
    let started = tokio::time::Instant::now();
    for k in 0u64.. {
        let at = started + Duration::from_secs_f64(k as f64 / rate);
        if at >= context.until {
            break;
        }
        tokio::time::sleep_until(at).await;
        let Some(url) = urls.get((offset + k as usize) % urls.len()) else {
            break;
        };
        let request = context.client.get(url);
        let ledger = &context.ledger;
        attempt::<serde::de::IgnoredAny>(ledger, SoakKind::List, request, StatusCode::OK).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Subscribers drop and resume.
    Load,
    /// The writers have stopped: subscribers stay connected until they have everything.
    Settle,
    /// The run is over.
    Stop,
}

/// What one subscriber has seen, across all its connections. Shared with the main task,
/// which watches it to know when everything has arrived.
#[derive(Default)]
struct Received {
    /// Every delivery, in arrival order, duplicates included.
    order: Vec<Delivery>,
    distinct: std::collections::HashSet<Delivery>,
    /// Connections that reached `ready`: the first one and every resume.
    connections: u64,
    /// Connections the subscriber closed on purpose.
    drops: u64,
    resets: u64,
    /// Events that are neither `ready`, `reset`, nor a write of the room.
    other_events: u64,
    connected: bool,
}

struct SoakSubscriber {
    client: reqwest::Client,
    url: String,
    ledger: Arc<Ledger>,
    received: Arc<std::sync::Mutex<Received>>,
    phase: watch::Receiver<Phase>,
    drop_every: Duration,
    offline: Duration,
}

/// How one connection of a subscriber ended.
enum Visit {
    Dropped,
    Failed,
    Stopped,
}

impl SoakSubscriber {
    fn received(&self) -> std::sync::MutexGuard<'_, Received> {
        locked(&self.received)
    }

    /// Connects, resumes after the last id seen, and reads until it drops the connection
    /// on purpose, the connection fails, or the run stops.
    async fn run(mut self) {
        let mut last_id: Option<String> = None;
        loop {
            if *self.phase.borrow() == Phase::Stop {
                return;
            }
            let visit = self.visit(&mut last_id).await;
            self.received().connected = false;
            let pause = match visit {
                Visit::Dropped => self.offline.mul_f64(random_fraction()),
                Visit::Failed => SOAK_RETRY,
                Visit::Stopped => return,
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = self.phase.wait_for(|phase| *phase == Phase::Stop) => return,
            }
        }
    }

    /// Records a stream that ended after `ready`, as of now: when it started does not
    /// matter, only whether it ended during the outage.
    fn ended(&self, detail: &str) -> Visit {
        let now = Instant::now();
        self.ledger
            .failed(SoakKind::Stream, now, None, detail.to_owned());
        Visit::Failed
    }

    async fn visit(&mut self, last_id: &mut Option<String>) -> Visit {
        let sent = Instant::now();
        let fail = |status, detail: String| {
            self.ledger.failed(SoakKind::Stream, sent, status, detail);
            Visit::Failed
        };
        let mut request = self
            .client
            .get(&self.url)
            .header("accept", "text/event-stream");
        if let Some(id) = last_id.as_deref() {
            request = request.header("last-event-id", id);
        }
        let response = match tokio::time::timeout(REQUEST_TIMEOUT, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => return fail(None, format!("{:#}", anyhow::Error::from(error))),
            Err(_) => return fail(None, format!("no answer within {REQUEST_TIMEOUT:?}")),
        };
        let status = response.status();
        if status != StatusCode::OK {
            let body = response.text().await.unwrap_or_default();
            return fail(Some(status), body.chars().take(300).collect());
        }
        let mut stream = match SseClient::from_response(response, &self.url) {
            Ok(stream) => stream,
            Err(error) => return fail(Some(status), format!("{error:#}")),
        };
        // Drops come only after `ready`, so that every resume finishes its replay first.
        let lifetime = self.drop_every.mul_f64(0.5 + random_fraction());
        let ready_by = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        let mut drop_at = ready_by;
        let mut ready = false;
        loop {
            let dropping = ready && *self.phase.borrow() == Phase::Load;
            let event = tokio::select! {
                event = stream.next() => event,
                () = tokio::time::sleep_until(ready_by), if !ready => {
                    return fail(None, format!("no `ready` within {REQUEST_TIMEOUT:?}"));
                }
                () = tokio::time::sleep_until(drop_at), if dropping => {
                    self.received().drops += 1;
                    return Visit::Dropped;
                }
                changed = self.phase.changed() => {
                    if changed.is_err() || *self.phase.borrow() == Phase::Stop {
                        return Visit::Stopped;
                    }
                    continue;
                }
            };
            let event = match event {
                Ok(Some(event)) => event,
                Ok(None) if ready => {
                    return self.ended("the server ended the stream after `ready`");
                }
                Ok(None) => return fail(None, "the server ended the stream before `ready`".into()),
                Err(error) if ready => return self.ended(&format!("{error:#}")),
                Err(error) => return fail(None, format!("{error:#}")),
            };
            if let Some(id) = &event.id {
                *last_id = Some(id.clone());
            }
            let mut received = self.received();
            match event.event.as_str() {
                "ready" => {
                    ready = true;
                    drop_at = tokio::time::Instant::now() + lifetime;
                    self.ledger.ok(SoakKind::Stream, sent);
                    received.connections += 1;
                    received.connected = true;
                }
                "reset" => received.resets += 1,
                _ => match soak_delivery(&event) {
                    Some(delivery) => {
                        received.order.push(delivery);
                        received.distinct.insert(delivery);
                    }
                    None => received.other_events += 1,
                },
            }
        }
    }
}

/// A scratch directory for the cluster and the server's log, removed at the end unless
/// asked to keep it.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    fn create(keep: bool) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("parley-soak-{}", random_hex(4)?));
        std::fs::create_dir(&path).with_context(|| format!("create {}", path.display()))?;
        // PostgreSQL runs as an unprivileged user when the bench runs as root: it must be
        // able to enter the directory.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", path.display()))?;
        Ok(Self { path, keep })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

async fn start_soak_cluster(dir: PathBuf, options: ClusterOptions) -> Result<Cluster> {
    tokio::task::spawn_blocking(move || {
        let cluster = Cluster::start(&dir, &options)?;
        cluster.ensure_database("parley")?;
        Ok(cluster)
    })
    .await
    .context("the PostgreSQL start panicked")?
}

async fn stop_soak_cluster(cluster: Cluster) -> Result<()> {
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .context("the PostgreSQL stop panicked")?
}

/// The `parley` server the soak runs, its output going to a log file.
struct SoakServer {
    binary: PathBuf,
    child: tokio::process::Child,
    pid: u32,
    base: String,
    log: PathBuf,
}

impl SoakServer {
    async fn start(
        binary: &Path,
        database_url: &str,
        extra: &[String],
        log: PathBuf,
    ) -> Result<Self> {
        Self::start_on(binary, database_url, "127.0.0.1:0", extra, log).await
    }

    /// On `listen` (`storm` restarts the server on the port it had).
    async fn start_on(
        binary: &Path,
        database_url: &str,
        listen: &str,
        extra: &[String],
        log: PathBuf,
    ) -> Result<Self> {
        let file =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let mut child = tokio::process::Command::new(binary)
            .arg("--database-url")
            .arg(database_url)
            .args(["--listen", listen])
            .args(extra)
            // With these set, every error captures a backtrace, and the first one symbolized
            // keeps the debug symbols in memory: a step of tens of MiB at the first database
            // error, which is the environment's doing, not the server's.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("run {}", binary.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("the server exited at once"))?;
        let deadline = Instant::now() + SOAK_START_TIMEOUT;
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            // The server logs `listening on http://<address>` once it accepts connections.
            if let Some(address) = text
                .split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
            {
                let base = format!("http://{address}");
                let binary = binary.to_owned();
                return Ok(Self {
                    binary,
                    child,
                    pid,
                    base,
                    log,
                });
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the server exited ({status}) before listening; its log:\n{}",
                    tail(&text)
                );
            }
            ensure!(
                Instant::now() < deadline,
                "the server did not listen within {SOAK_START_TIMEOUT:?}; its log:\n{}",
                tail(&text)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then a bounded wait for the graceful exit; SIGKILL if it does not come.
    async fn stop(mut self) -> Result<String> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(format!("had already exited: {status}"));
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid).context("pid")?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).context("SIGTERM")?;
        match tokio::time::timeout(REQUEST_TIMEOUT, self.child.wait()).await {
            Ok(status) => Ok(format!("exited after SIGTERM: {}", status?)),
            Err(_) => {
                self.child.kill().await?;
                Ok(format!(
                    "did not exit within {REQUEST_TIMEOUT:?} of SIGTERM; killed"
                ))
            }
        }
    }
}

/// The last 20 lines of a log.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

struct RssSample {
    at: Duration,
    rss_kib: u64,
    open_files: usize,
    /// Each thread may hold a malloc arena of its own: a step in RSS often comes with more
    /// threads (say, blocking database calls waiting out an outage).
    threads: u64,
}

/// Reads the server's VmRSS every `every` from `start` up to `start + duration`, both
/// included. Stops early if the server is gone, and then says so.
async fn sample_rss(
    pid: u32,
    start: tokio::time::Instant,
    every: Duration,
    duration: Duration,
) -> (Vec<RssSample>, bool) {
    let mut ticks = tokio::time::interval_at(start, every);
    let mut samples = Vec::new();
    loop {
        if ticks.tick().await.duration_since(start) > duration {
            return (samples, false);
        }
        let read = (
            vm_rss_kib(pid),
            open_fds(pid),
            proc_status_number(pid, "Threads:"),
        );
        let (Ok(rss_kib), Ok(open_files), Ok(threads)) = read else {
            return (samples, true);
        };
        samples.push(RssSample {
            at: start.elapsed(),
            rss_kib,
            open_files,
            threads,
        });
    }
}

/// When the database went away and came back, since the start of the run.
struct Outage {
    /// The fast shutdown was asked for.
    stopping: Duration,
    /// PostgreSQL had exited.
    stopped: Duration,
    /// PostgreSQL accepted connections again.
    started: Duration,
    /// The server's `/readyz` answered 200 again.
    ready: Duration,
}

impl Outage {
    fn window(&self) -> (Duration, Duration) {
        (self.stopping, self.ready)
    }
}

struct OutagePlan {
    client: reqwest::Client,
    base: String,
    dir: PathBuf,
    options: ClusterOptions,
    start: Instant,
    at: Duration,
    length: Duration,
}

/// Stops the cluster at `at`, starts it again on the same data directory `length` later,
/// and waits until the server is ready again. Returns the running cluster.
async fn soak_outage(plan: OutagePlan, cluster: Cluster) -> (Result<Cluster>, Option<Outage>) {
    let since = |instant: Instant| instant.duration_since(plan.start);
    tokio::time::sleep_until(tokio::time::Instant::from_std(plan.start + plan.at)).await;
    let stopping = since(Instant::now());
    eprintln!("soak: {:.1} s: stopping PostgreSQL", stopping.as_secs_f64());
    if let Err(error) = stop_soak_cluster(cluster).await {
        return (Err(error.context("stop PostgreSQL")), None);
    }
    let stopped = since(Instant::now());
    tokio::time::sleep_until(tokio::time::Instant::from_std(
        plan.start + plan.at + plan.length,
    ))
    .await;
    let cluster = match start_soak_cluster(plan.dir.clone(), plan.options.clone()).await {
        Ok(cluster) => cluster,
        Err(error) => return (Err(error.context("start PostgreSQL again")), None),
    };
    let started = since(Instant::now());
    eprintln!(
        "soak: {:.1} s: PostgreSQL started again",
        started.as_secs_f64()
    );
    let deadline = Instant::now() + SOAK_START_TIMEOUT;
    let url = format!("{}/readyz", plan.base);
    loop {
        let answer = plan.client.get(&url).timeout(REQUEST_TIMEOUT).send().await;
        if answer.is_ok_and(|response| response.status() == StatusCode::OK) {
            break;
        }
        if Instant::now() > deadline {
            let error =
                anyhow!("/readyz did not answer 200 within {SOAK_START_TIMEOUT:?} of the restart");
            return (Err(error), None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outage = Outage {
        stopping,
        stopped,
        started,
        ready: since(Instant::now()),
    };
    (Ok(cluster), Some(outage))
}

/// CPU counters at one moment, for the bench, the server and PostgreSQL (the bench's
/// other descendants, alive or reaped: the cluster is restarted in the middle).
struct SoakCpu {
    at: Instant,
    bench: Duration,
    parley: u64,
    descendants: u64,
    machine: u64,
}

impl SoakCpu {
    fn now(server: u32) -> Result<Self> {
        let (user, system) = rusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?;
        let (_, descendants) = server_cpu_ticks(std::process::id())?;
        let (_, parley, _) = proc_stat(server)?;
        Ok(Self {
            at: Instant::now(),
            bench: user + system,
            parley,
            descendants,
            machine: machine_busy_ticks()?,
        })
    }

    fn print_since(&self, start: &Self) {
        let wall = self.at.duration_since(start.at).as_secs_f64().max(1e-6);
        let share = |cpu: Duration| 100.0 * cpu.as_secs_f64() / wall;
        let bench = self.bench.saturating_sub(start.bench);
        let parley = ticks(self.parley.saturating_sub(start.parley));
        let descendants = ticks(self.descendants.saturating_sub(start.descendants));
        let postgres = descendants.saturating_sub(parley);
        let machine = ticks(self.machine.saturating_sub(start.machine));
        let others = machine.saturating_sub(bench + descendants);
        println!(
            "CPU over the run, % of one core: bench {:.0}%, parley {:.0}%, PostgreSQL {:.0}%, \
             other processes {:.0}%; the machine was {:.0}% busy of {}00%",
            share(bench),
            share(parley),
            share(postgres),
            share(others),
            share(machine),
            cores()
        );
    }
}

/// The RSS table, every sample, then the slope after the warm-up; with an outage, also the
/// slopes before and after it and the step across it, since a one-time step in the middle
/// of the fitted part tilts the overall slope without being a leak.
fn print_rss(
    samples: &[RssSample],
    args: &SoakArgs,
    window: Option<(Duration, Duration)>,
    pid: u32,
) {
    let in_outage = |at: Duration| window.is_some_and(|(from, to)| at >= from && at <= to);
    println!(
        "server VmRSS every {} (pid {pid}, /proc/<pid>/status):",
        humantime::format_duration(args.sample_every)
    );
    println!(
        "{:>8} {:>12} {:>11} {:>8}",
        "t (s)", "VmRSS (MiB)", "open files", "threads"
    );
    for sample in samples {
        let note = match (in_outage(sample.at), sample.at < args.warmup) {
            (true, _) => "  database down",
            (false, true) => "  warm-up",
            (false, false) => "",
        };
        println!(
            "{:>8.0} {:>12.1} {:>11} {:>8}{note}",
            sample.at.as_secs_f64(),
            mib(sample.rss_kib),
            sample.open_files,
            sample.threads
        );
    }
    let fitted: Vec<&RssSample> = samples.iter().filter(|s| s.at >= args.warmup).collect();
    let Some(overall) = rss_slope(&fitted) else {
        println!("RSS slope: too few samples after the warm-up");
        return;
    };
    let rss = |sample: Option<&&RssSample>| sample.map_or(0.0, |s| mib(s.rss_kib));
    println!(
        "RSS slope: {overall:+.2} MiB/h ({:+.2} MB/h), least squares over the {} samples from {} \
         s (after the {} warm-up) to the end; over them VmRSS went {:.1} → {:.1} MiB, min {:.1}, \
         max {:.1}",
        overall * 1.048_576,
        fitted.len(),
        args.warmup.as_secs(),
        humantime::format_duration(args.warmup),
        rss(fitted.first()),
        rss(fitted.last()),
        rss(fitted.iter().min_by_key(|s| s.rss_kib)),
        rss(fitted.iter().max_by_key(|s| s.rss_kib)),
    );
    let Some((from, to)) = window else {
        return;
    };
    let before: Vec<&RssSample> = fitted.iter().copied().filter(|s| s.at < from).collect();
    let after: Vec<&RssSample> = fitted.iter().copied().filter(|s| s.at > to).collect();
    let part = |part: &[&RssSample]| match rss_slope(part) {
        Some(slope) => format!("{slope:+.2} MiB/h over {} samples", part.len()),
        None => format!("- ({} samples)", part.len()),
    };
    println!(
        "  the same fit before the outage (warm-up to {} s): {}; after it ({} s to the end): {}; \
         across it VmRSS went {:.1} → {:.1} MiB (last sample before, first after)",
        duration_cell(from),
        part(&before),
        duration_cell(to),
        part(&after),
        rss(samples.iter().rfind(|s| s.at < from).as_ref()),
        rss(samples.iter().find(|s| s.at > to).as_ref()),
    );
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The least-squares slope of VmRSS over time, in MiB per hour.
fn rss_slope(samples: &[&RssSample]) -> Option<f64> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| (s.at.as_secs_f64() / 3600.0, mib(s.rss_kib)))
        .collect();
    least_squares_slope(&points)
}

/// Least-squares slope of `(x, y)` points; `None` under two distinct x.
fn least_squares_slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// What the subscribers received, against what the writers got acknowledged.
#[derive(Default)]
struct SoakTally {
    expected: u64,
    delivered: u64,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    /// Deliveries of writes whose answer was an error (they committed all the same).
    unacknowledged: u64,
    resets: u64,
    other_events: u64,
    connections: u64,
    drops: u64,
    /// Subscribers that never reached `ready` at all.
    never_connected: u64,
}

impl SoakTally {
    /// `rank`: each acknowledged write of the subscriber's room, and its place in the
    /// room's order.
    fn add(&mut self, received: &Received, rank: &HashMap<Delivery, usize>) {
        let mut seen: HashMap<Delivery, u32> = HashMap::with_capacity(rank.len());
        let mut highest: Option<usize> = None;
        for delivery in &received.order {
            let count = seen.entry(*delivery).or_default();
            *count += 1;
            if *count > 1 {
                self.duplicated += 1;
                continue;
            }
            match rank.get(delivery) {
                Some(&place) => {
                    self.delivered += 1;
                    if highest.is_some_and(|highest| place < highest) {
                        self.out_of_order += 1;
                    }
                    highest = highest.max(Some(place));
                }
                None => self.unacknowledged += 1,
            }
        }
        self.expected += rank.len() as u64;
        self.lost += rank.keys().filter(|d| !seen.contains_key(d)).count() as u64;
        self.resets += received.resets;
        self.other_events += received.other_events;
        self.connections += received.connections;
        self.drops += received.drops;
        self.never_connected += u64::from(received.connections == 0);
    }
}

fn check_soak_args(args: &SoakArgs) -> Result<()> {
    ensure!(
        args.duration >= Duration::from_secs(30) && args.duration <= Duration::from_secs(86_400),
        "--duration must be from 30s to 24h"
    );
    ensure!(
        args.sample_every >= Duration::from_secs(1) && args.sample_every * 3 <= args.duration,
        "--sample-every must be at least 1s and at most a third of --duration"
    );
    ensure!(
        args.warmup + args.sample_every * 2 <= args.duration,
        "--warmup must leave at least two samples before the end of --duration"
    );
    ensure!(
        args.outage * 2 < args.duration,
        "--outage starts at the middle of --duration and must end before it does"
    );
    ensure!(
        (1.0..=2_000.0).contains(&args.write_rate) && (0.0..=2_000.0).contains(&args.read_rate),
        "--write-rate must be from 1 to 2000 and --read-rate from 0 to 2000 per second"
    );
    ensure!(
        args.write_rate / args.rooms as f64 >= 0.1,
        "--write-rate must give each room at least 0.1 writes per second"
    );
    ensure!(
        args.subscribers >= args.rooms,
        "--subscribers must be at least --rooms, so that every room is watched"
    );
    ensure!(
        args.drop_every >= Duration::from_secs(1),
        "--drop-every must be at least 1s"
    );
    Ok(())
}

/// The rooms: even ones chat rooms, odd ones notes (created here), named after `tag`.
async fn soak_rooms(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    tag: &str,
    rooms: u64,
) -> Result<Vec<Arc<SoakRoom>>> {
    let mut created = Vec::new();
    for i in 0..rooms {
        let name = format!("soak-{tag}-{i}");
        let room = if i % 2 == 0 {
            SoakRoom {
                events: format!("{base}/api/rooms/chat/{name}/events"),
                writes: RoomWrites::Chat {
                    messages: format!("{base}/api/rooms/chat/{name}/messages"),
                },
            }
        } else {
            let note = json!({ "key": name, "title": "Soak note", "body": "soak" });
            let request = client.post(format!("{base}/api/notes")).bearer_auth(token);
            exchange(request.json(&note), StatusCode::CREATED, "POST note").await?;
            SoakRoom {
                events: format!("{base}/api/rooms/notes/{name}/events"),
                writes: RoomWrites::Note {
                    note: format!("{base}/api/notes/{name}"),
                    comments: format!("{base}/api/rooms/notes/{name}/messages"),
                },
            }
        };
        created.push(Arc::new(room));
    }
    Ok(created)
}

/// What the report's first lines describe.
struct SoakSetup<'a> {
    args: &'a SoakArgs,
    scratch: &'a Scratch,
    server: &'a SoakServer,
    tag: &'a str,
    opened_in: Duration,
    writers_done: Duration,
}

impl SoakSetup<'_> {
    fn print(&self, outage: Option<&Outage>, outage_error: Option<&anyhow::Error>) {
        println!(
            "soak: {} of mixed load on a private server and PostgreSQL cluster in {}",
            humantime::format_duration(self.args.duration),
            self.scratch.path.display()
        );
        println!(
            "server: {} (pid {}) at {}, with --database-url on the cluster's socket{}, without \
             RUST_BACKTRACE and RUST_LIB_BACKTRACE in its environment",
            self.server.binary.display(),
            self.server.pid,
            self.server.base,
            if self.args.own.server_arg.is_empty() {
                String::new()
            } else {
                format!(" and {}", self.args.own.server_arg.join(" "))
            }
        );
        let (chats, tag) = (self.args.rooms.div_ceil(2), self.tag);
        println!(
            "writes: {} per second over {} rooms, one writer per room sending each write when the \
             previous one is answered ({chats} chat rooms chat/soak-{tag}-<even>: messages; {} notes \
             notes/soak-{tag}-<odd>: note updates and comments in turn)",
            self.args.write_rate,
            self.args.rooms,
            self.args.rooms - chats
        );
        println!(
            "reads: {} lists per second from {SOAK_READERS} readers (?limit=20 of each room's \
             messages, and of the notes)",
            self.args.read_rate
        );
        println!(
            "subscribers: {} ({} per room), live on their room {:.2} s after the start; each drops \
             its stream {}–{} after `ready` and resumes with Last-Event-ID 0–{} later",
            self.args.subscribers,
            self.args.subscribers as f64 / self.args.rooms as f64,
            self.opened_in.as_secs_f64(),
            humantime::format_duration(self.args.drop_every / 2),
            humantime::format_duration(self.args.drop_every * 3 / 2),
            humantime::format_duration(self.args.offline)
        );
        match outage {
            Some(outage) => println!(
                "database outage: fast shutdown asked at {} s, PostgreSQL gone at {} s, started again \
                 at {} s on the same data directory, /readyz 200 again at {} s; \"in outage\" below \
                 means a request that overlapped {}–{} s",
                duration_cell(outage.stopping),
                duration_cell(outage.stopped),
                duration_cell(outage.started),
                duration_cell(outage.ready),
                duration_cell(outage.stopping),
                duration_cell(outage.ready)
            ),
            None if self.args.outage.is_zero() => println!("database outage: none (--outage 0s)"),
            None => println!("database outage: did not complete"),
        }
        if let Some(error) = outage_error {
            println!("database restart failed: {error:#}");
        }
        println!(
            "writers and readers stopped at {} s",
            duration_cell(self.writers_done)
        );
    }
}

/// The requests table: answers by kind, failures in and outside the outage, and the first
/// failures outside it. Returns the 5xx outside the outage, and every failure outside it.
fn print_requests(
    kinds: &mut HashMap<SoakKind, KindTally>,
    window: Option<(Duration, Duration)>,
) -> (u64, u64) {
    let line = |cells: [&str; 8]| {
        println!(
            "{:<13} {:>8} {:>8} {:>6} {:>14} {:>12} {:>15} {:>13}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]
        );
    };
    line([
        "requests",
        "sent",
        "ok",
        "4xx",
        "5xx in outage",
        "5xx outside",
        "other in outage",
        "other outside",
    ]);
    let mut failures_outside = 0u64;
    let mut server_errors_outside = 0u64;
    let mut first_outside: Vec<String> = Vec::new();
    for kind in SoakKind::ALL {
        let tally = kinds.entry(kind).or_default();
        let count = |server: bool, during: bool| {
            tally
                .failures
                .iter()
                .filter(|f| {
                    !f.client_error() && f.server_error() == server && f.during(window) == during
                })
                .count()
        };
        let client_errors = tally.failures.iter().filter(|f| f.client_error()).count();
        let (server_in, server_out) = (count(true, true), count(true, false));
        let (other_in, other_out) = (count(false, true), count(false, false));
        server_errors_outside += server_out as u64;
        failures_outside += (client_errors + server_out + other_out) as u64;
        for failure in tally
            .failures
            .iter()
            .filter(|f| f.client_error() || !f.during(window))
            .take(3)
        {
            first_outside.push(format!(
                "{} at {} s: {}{}",
                kind.name(),
                duration_cell(failure.sent),
                failure
                    .status
                    .map_or(String::new(), |status| format!("{status} ")),
                failure.detail
            ));
        }
        let sent = tally.latencies.len() + tally.failures.len();
        let counts = [
            sent,
            tally.latencies.len(),
            client_errors,
            server_in,
            server_out,
            other_in,
            other_out,
        ]
        .map(|n| n.to_string());
        let [sent, ok, client, server_in, server_out, other_in, other_out] = counts;
        line([
            kind.name(),
            &sent,
            &ok,
            &client,
            &server_in,
            &server_out,
            &other_in,
            &other_out,
        ]);
    }
    println!(
        "(\"open stream\": ok = connections that reached `ready`; its failures include \
         connections that ended before `ready`, and streams the server ended after it)"
    );
    for line in &first_outside {
        println!("  {line}");
    }
    (server_errors_outside, failures_outside)
}

/// Latency of the successful requests of each kind.
fn print_latencies(kinds: &mut HashMap<SoakKind, KindTally>) {
    print_header();
    for kind in SoakKind::ALL {
        if let Some(tally) = kinds.get_mut(&kind) {
            let name = match kind {
                SoakKind::Message => "message",
                SoakKind::NoteUpdate => "note",
                SoakKind::Comment => "comment",
                SoakKind::List => "list",
                SoakKind::Stream => "ready",
            };
            print_row(name, &mut tally.latencies);
        }
    }
    println!(
        "(successful requests over the whole run; `ready`: from the request to the `ready` \
         event, replay included)"
    );
}

/// A subscriber's room, and what it has received so far.
type Progress = (usize, Arc<std::sync::Mutex<Received>>);

/// Starts the subscribers and waits until each is live on its room.
async fn start_subscribers(
    args: &SoakArgs,
    client: &reqwest::Client,
    rooms: &[Arc<SoakRoom>],
    ledger: &Arc<Ledger>,
    phase: &watch::Receiver<Phase>,
) -> Result<(JoinSet<()>, Vec<Progress>)> {
    let mut subscribers = JoinSet::new();
    let mut progress = Vec::new();
    for i in 0..args.subscribers {
        let room = (i % args.rooms) as usize;
        let received = Arc::new(std::sync::Mutex::new(Received::default()));
        progress.push((room, Arc::clone(&received)));
        let subscriber = SoakSubscriber {
            client: client.clone(),
            url: rooms[room].events.clone(),
            ledger: Arc::clone(ledger),
            received,
            phase: phase.clone(),
            drop_every: args.drop_every,
            offline: args.offline,
        };
        subscribers.spawn(subscriber.run());
    }
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    while progress
        .iter()
        .any(|(_, received)| locked(received).connections == 0)
    {
        ensure!(
            Instant::now() < deadline,
            "the subscribers did not all reach `ready` within {REQUEST_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((subscribers, progress))
}

/// The lists readers cycle through: each room's recent messages, and the notes.
fn soak_read_urls(base: &str, tag: &str, rooms: u64) -> Arc<[String]> {
    let mut urls = vec![format!("{base}/api/notes?limit=20")];
    for i in 0..rooms {
        let namespace = if i % 2 == 0 { "chat" } else { "notes" };
        urls.push(format!(
            "{base}/api/rooms/{namespace}/soak-{tag}-{i}/messages?limit=20"
        ));
    }
    urls.into()
}

fn duration_cell(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64())
}

async fn soak(args: SoakArgs) -> Result<bool> {
    check_soak_args(&args)?;
    let binary = args.own.binary()?;
    let scratch = Scratch::create(args.own.keep)?;
    let options = args.own.cluster_options();
    let cluster = start_soak_cluster(scratch.path.clone(), options.clone()).await?;
    let log = scratch.path.join("parley.log");
    let server =
        SoakServer::start(&binary, &cluster.url("parley"), &args.own.server_arg, log).await?;
    let log = server.log.clone();
    let result = soak_run(&args, &scratch, &server, options, cluster).await;
    let stopped = server.stop().await;
    let (clean, cluster) = result?;
    println!("server: {}", stopped?);
    if !clean && !args.own.keep {
        // The scratch directory goes away: keep the log, where the reasons are.
        let kept = scratch.path.with_extension("log");
        match std::fs::copy(&log, &kept) {
            Ok(_) => println!("server log: {}", kept.display()),
            Err(error) => println!("could not keep the server log: {error}"),
        }
    }
    let cluster_stopped = match cluster {
        Some(cluster) => stop_soak_cluster(cluster).await,
        None => Ok(()),
    };
    if let Err(error) = &cluster_stopped {
        println!("could not stop PostgreSQL at the end: {error:#}");
    }
    if args.own.keep {
        println!("kept {} (cluster and server log)", scratch.path.display());
    }
    Ok(clean && cluster_stopped.is_ok())
}

/// The run itself, against a started server and cluster. Returns whether it was clean, and
/// the cluster if it is still running.
async fn soak_run(
    args: &SoakArgs,
    scratch: &Scratch,
    server: &SoakServer,
    options: ClusterOptions,
    cluster: Cluster,
) -> Result<(bool, Option<Cluster>)> {
    let base = server.base.clone();
    let client = http_client()?;
    let token: Arc<str> = sign_up(&client, &base).await?.into();
    let tag = random_hex(4)?;
    let rooms = soak_rooms(&client, &base, &token, &tag, args.rooms).await?;

    let ledger = Arc::new(Ledger::new());
    let start = ledger.start;
    let tokio_start = tokio::time::Instant::from_std(start);
    let cpu_start = SoakCpu::now(server.pid)?;
    let sampler = tokio::spawn(sample_rss(
        server.pid,
        tokio_start,
        args.sample_every,
        args.duration,
    ));

    // Subscribers first: each must be live on its room before the first write.
    let (phase_tx, phase_rx) = watch::channel(Phase::Load);
    let (mut subscribers, progress) =
        start_subscribers(args, &client, &rooms, &ledger, &phase_rx).await?;
    let opened_in = start.elapsed();
    let outage = (!args.outage.is_zero()).then(|| OutagePlan {
        client: client.clone(),
        base: base.clone(),
        dir: scratch.path.clone(),
        options,
        start,
        at: args.duration / 2,
        length: args.outage,
    });
    let (outage_task, mut cluster) = match outage {
        Some(plan) => (Some(tokio::spawn(soak_outage(plan, cluster))), None),
        None => (None, Some(cluster)),
    };

    let context = SoakContext {
        client: client.clone(),
        token,
        ledger: Arc::clone(&ledger),
        until: tokio_start + args.duration,
    };
    let mut writers = JoinSet::new();
    let per_room = args.write_rate / args.rooms as f64;
    for (index, room) in rooms.iter().enumerate() {
        let (context, room) = (context.clone(), Arc::clone(room));
        writers.spawn(async move { (index, soak_writer(context, room, per_room).await) });
    }
    let mut readers = JoinSet::new();
    if args.read_rate > 0.0 {
        let urls = soak_read_urls(&base, &tag, args.rooms);
        let rate = args.read_rate / SOAK_READERS as f64;
        for reader in 0..SOAK_READERS {
            let offset = reader as usize * urls.len() / SOAK_READERS as usize;
            readers.spawn(soak_reader(
                context.clone(),
                Arc::clone(&urls),
                offset,
                rate,
            ));
        }
    }

    eprintln!(
        "soak: subscribers live; writing and reading for {} (progress on stderr, the report on \
         stdout at the end)",
        humantime::format_duration(args.duration)
    );
    let mut acknowledged: Vec<Vec<Delivery>> = vec![Vec::new(); rooms.len()];
    while let Some(joined) = writers.join_next().await {
        let (index, writes) = joined.context("a writer panicked")?;
        acknowledged[index] = writes;
    }
    while let Some(joined) = readers.join_next().await {
        joined.context("a reader panicked")?;
    }
    let writers_done = start.elapsed();
    eprintln!(
        "soak: {:.1} s: writers done; waiting up to {} for the last deliveries",
        writers_done.as_secs_f64(),
        humantime::format_duration(args.grace)
    );

    // Every subscriber stays connected now, until it has its room's last write.
    let _ = phase_tx.send(Phase::Settle);
    let grace = Instant::now() + args.grace;
    let complete = |(room, received): &Progress| {
        let received = locked(received);
        received.connected
            && acknowledged[*room]
                .last()
                .is_none_or(|last| received.distinct.contains(last))
    };
    while Instant::now() < grace && !progress.iter().all(complete) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A moment more, to catch late duplicates.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = phase_tx.send(Phase::Stop);
    while let Some(joined) = subscribers.join_next().await {
        joined.context("a subscriber panicked")?;
    }
    let cpu_end = SoakCpu::now(server.pid);
    let (samples, server_gone) = sampler.await.context("the sampler panicked")?;
    let mut outage = None;
    let mut outage_error = None;
    if let Some(task) = outage_task {
        let (restarted, times) = task.await.context("the outage task panicked")?;
        outage = times;
        match restarted {
            Ok(restarted) => cluster = Some(restarted),
            Err(error) => outage_error = Some(error),
        }
    }
    let window = outage.as_ref().map(Outage::window);

    let report = SoakSetup {
        args,
        scratch,
        server,
        tag: &tag,
        opened_in,
        writers_done,
    };
    report.print(outage.as_ref(), outage_error.as_ref());
    println!();
    print_rss(&samples, args, window, server.pid);
    if server_gone {
        println!("the samples stop early: the server's /proc entry went away");
    }

    let mut kinds = ledger.take();
    println!();
    let (server_errors_outside, failures_outside) = print_requests(&mut kinds, window);
    println!();
    print_latencies(&mut kinds);

    let mut tally = SoakTally::default();
    let ranks: Vec<HashMap<Delivery, usize>> = acknowledged
        .iter()
        .map(|writes| writes.iter().enumerate().map(|(i, d)| (*d, i)).collect())
        .collect();
    for (room, received) in &progress {
        tally.add(&locked(received), &ranks[*room]);
    }
    let writes: usize = acknowledged.iter().map(Vec::len).sum();
    println!();
    println!(
        "deliveries: {writes} writes acknowledged; {} of {} expected deliveries (each \
         acknowledged write × the subscribers of its room)",
        tally.delivered, tally.expected
    );
    println!(
        "lost: {}   duplicated: {}   out of order: {}   resets: {}   other events: {}",
        tally.lost, tally.duplicated, tally.out_of_order, tally.resets, tally.other_events
    );
    println!(
        "delivered though the write's answer was an error (it committed all the same): {}",
        tally.unacknowledged
    );
    println!(
        "subscriber connections that reached `ready`: {} ({} first, {} resumes); dropped on \
         purpose: {}",
        tally.connections,
        args.subscribers - tally.never_connected,
        tally
            .connections
            .saturating_sub(args.subscribers - tally.never_connected),
        tally.drops
    );
    match cpu_end {
        Ok(cpu_end) => cpu_end.print_since(&cpu_start),
        Err(error) => println!("CPU over the run: unknown ({error:#})"),
    }

    let recovered = args.outage.is_zero() || outage.is_some();
    let clean = tally.lost == 0
        && tally.duplicated == 0
        && tally.out_of_order == 0
        && tally.resets == 0
        && tally.other_events == 0
        && tally.never_connected == 0
        && failures_outside == 0
        && writes > 0
        && recovered
        && !server_gone;
    println!(
        "verdict: {} (lost {}, duplicated {}, out of order {}, 5xx outside the outage {}, other \
         failures outside it {}, database restart {})",
        if clean { "clean" } else { "NOT clean" },
        tally.lost,
        tally.duplicated,
        tally.out_of_order,
        server_errors_outside,
        failures_outside - server_errors_outside,
        if recovered { "ok" } else { "failed" }
    );
    Ok((clean, cluster))
}
