//! `parley-bench`: measures a running Parley server over loopback.
//!
//! - `latency`: posts messages one at a time to a fresh room and measures, per
//!   subscriber, the time from just before each POST is sent to the moment the
//!   subscriber has parsed the event; also the POST round trip, lost and duplicated
//!   deliveries, and the bench's own CPU time.
//! - `idle`: opens many idle event streams and reports the server's resident memory
//!   before and after, then checks every stream still delivers.
//!
//! Every run is bounded in count and time and stops by itself.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

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
    /// Idle streams: memory per open stream, then check every stream still delivers.
    Idle(IdleArgs),
}

#[derive(Debug, Args)]
struct LatencyArgs {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Messages to post, one at a time.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    messages: u64,
    /// Subscribers on the room, each its own SSE connection.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    subscribers: u64,
    /// How long after the last POST a delivery may still arrive before it counts as lost.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    grace: Duration,
    /// Optional PID of the server, to report its CPU time too: its own, and its child
    /// processes' (the private PostgreSQL cluster it started, if any).
    #[arg(long)]
    pid: Option<u32>,
}

#[derive(Debug, Args)]
struct IdleArgs {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Event streams to open.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    streams: u64,
    /// PID of the server process, whose VmRSS is read from /proc.
    #[arg(long)]
    pid: u32,
    /// Streams being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=5_000))]
    concurrency: u64,
    /// Bound on the whole opening phase, and separately on the delivery check.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    phase_timeout: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e}; write durations like `10s`"))
}

/// Bound on one HTTP exchange (a POST, or opening a stream up to its `ready`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `latency` stops posting after this many failed POSTs in a row.
const GIVE_UP_AFTER_FAILED_POSTS: u32 = 10;
/// Rooms the idle streams are spread over.
const IDLE_ROOMS: u64 = 100;

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
            Command::Idle(args) => idle(args).await,
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

#[derive(Deserialize)]
struct SessionBody {
    token: String,
}

/// Registers a fresh random user and signs in; returns the bearer token.
async fn sign_up(client: &reqwest::Client, base: &str) -> Result<String> {
    let username = format!("bench-{}", random_hex(8)?);
    let credentials = json!({ "username": username, "password": random_hex(16)? });
    let response = client
        .post(format!("{base}/api/users"))
        .json(&credentials)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .with_context(|| format!("POST {base}/api/users: is the server running?"))?;
    check_status(response, reqwest::StatusCode::CREATED, "POST /api/users").await?;
    let response = client
        .post(format!("{base}/api/sessions"))
        .json(&credentials)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .context("POST /api/sessions")?;
    let response =
        check_status(response, reqwest::StatusCode::CREATED, "POST /api/sessions").await?;
    let session: SessionBody = response.json().await.context("read the session")?;
    Ok(session.token)
}

async fn check_status(
    response: reqwest::Response,
    expected: reqwest::StatusCode,
    what: &str,
) -> Result<reqwest::Response> {
    if response.status() == expected {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    bail!("{what}: expected {expected}, got {status}: {body}")
}

async fn post_message(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    text: String,
) -> Result<()> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "message": text }))
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .context("POST message")?;
    let response = check_status(response, reqwest::StatusCode::CREATED, "POST message").await?;
    // Read the body so the connection goes back to the pool for the next POST.
    response.bytes().await.context("read the POST response")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// A minimal SSE client (adapted from tests/api/sse.rs): parses `event` and `data`, skips
// `id`, comments and `retry`.

#[derive(Debug, Clone, PartialEq)]
struct SseEvent {
    event: String,
    data: String,
}

struct SseStream {
    response: reqwest::Response,
    /// Raw bytes not yet split into events (a chunk may end inside a UTF-8 character).
    buffer: Vec<u8>,
}

impl SseStream {
    /// Opens `url`; fails unless the server answers 200 with `text/event-stream`.
    async fn open(client: &reqwest::Client, url: &str) -> Result<Self> {
        let response = client
            .get(url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let response = check_status(response, reqwest::StatusCode::OK, url).await?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type != "text/event-stream" {
            bail!("{url}: content-type is {content_type:?}, not text/event-stream");
        }
        Ok(Self {
            response,
            buffer: Vec::new(),
        })
    }

    /// Opens `url` and reads up to its `ready` event, within [`REQUEST_TIMEOUT`].
    async fn open_ready(client: &reqwest::Client, url: &str) -> Result<Self> {
        tokio::time::timeout(REQUEST_TIMEOUT, async {
            let mut stream = Self::open(client, url).await?;
            loop {
                match stream.next().await? {
                    Some(event) if event.event == "ready" => return Ok(stream),
                    Some(_) => {}
                    None => bail!("{url}: the stream ended before `ready`"),
                }
            }
        })
        .await
        .with_context(|| format!("{url}: no `ready` within {REQUEST_TIMEOUT:?}"))?
    }

    /// The next event, or `None` when the server ended the stream.
    async fn next(&mut self) -> Result<Option<SseEvent>> {
        loop {
            if let Some(end) = find_blank_line(&self.buffer) {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8(block).context("the stream is not UTF-8")?;
                if let Some(event) = parse(&block) {
                    return Ok(Some(event));
                }
                continue;
            }
            match self.response.chunk().await.context("read the stream")? {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => return Ok(None),
            }
        }
    }
}

fn find_blank_line(buffer: &[u8]) -> Option<usize> {
    buffer.windows(2).position(|w| w == b"\n\n")
}

fn parse(block: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if event.is_none() && data.is_empty() {
        return None;
    }
    Some(SseEvent {
        event: event.unwrap_or_else(|| "message".to_owned()),
        data: data.join("\n"),
    })
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
// CPU time and memory

/// This process's user and system CPU time.
fn own_cpu() -> Result<(Duration, Duration)> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).context("getrusage")?;
    let to_duration = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(tv.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(tv.tv_usec()).unwrap_or(0))
    };
    Ok((
        to_duration(usage.user_time()),
        to_duration(usage.system_time()),
    ))
}

/// A process's parent and its user + system CPU time in clock ticks, from /proc/<pid>/stat.
fn proc_stat(pid: u32) -> Result<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name may contain spaces: fields are counted after its closing paren.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("/proc/{pid}/stat: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is index 0, ppid 1, utime 11 and stime 12 (fields 4, 14, 15).
    let field = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .ok_or_else(|| anyhow!("/proc/{pid}/stat: too few fields"))?
            .parse::<u64>()
            .with_context(|| format!("/proc/{pid}/stat: field {i}"))
    };
    let ppid = u32::try_from(field(1)?).context("ppid out of range")?;
    Ok((ppid, field(11)? + field(12)?))
}

/// CPU ticks of the server process itself, and of its descendants alive now (the
/// private PostgreSQL cluster it started, if any).
fn server_cpu_ticks(pid: u32) -> Result<(u64, u64)> {
    let (_, own) = proc_stat(pid)?;
    let mut children: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").context("read /proc")? {
        let Some(child) = entry
            .ok()
            .and_then(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        else {
            continue;
        };
        // A process may exit while we look: skip it.
        if let Ok((ppid, ticks)) = proc_stat(child) {
            children.entry(ppid).or_default().push((child, ticks));
        }
    }
    let mut descendants = 0;
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        for (child, ticks) in children.get(&parent).into_iter().flatten() {
            descendants += ticks;
            queue.push(*child);
        }
    }
    Ok((own, descendants))
}

/// Linux reports /proc CPU times in USER_HZ ticks, which is 100 on every mainstream
/// architecture.
const USER_HZ: u64 = 100;

/// VmRSS of a process, in KiB.
fn vm_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status: is {pid} the server's PID?"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow!("/proc/{pid}/status has no VmRSS line"))?;
    line.trim_start_matches("VmRSS:")
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

/// Raises this process's soft open-file limit to the hard limit; returns the limit now.
fn raise_open_file_limit() -> Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit")?;
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

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn print_row(name: &str, samples: &mut [Duration]) {
    match summary(samples) {
        Some((count, [p50, p90, p99, max])) => println!(
            "{name:<10} {count:>8} {:>10} {:>10} {:>10} {:>10}",
            ms(p50),
            ms(p90),
            ms(p99),
            ms(max)
        ),
        None => println!(
            "{name:<10} {:>8} {:>10} {:>10} {:>10} {:>10}",
            0, "-", "-", "-", "-"
        ),
    }
}

// ---------------------------------------------------------------------------------------
// latency

/// What one subscriber saw: when each sequence number arrived (every arrival, so
/// duplicates show), plus anything unexpected.
#[derive(Default)]
struct Arrivals {
    received: Vec<(u64, Instant)>,
    /// Events of our run that arrived with a smaller sequence number than one before them.
    out_of_order: u64,
    /// Why the stream stopped early, if it did.
    error: Option<String>,
}

async fn latency(args: LatencyArgs) -> Result<bool> {
    let base = args.url.trim_end_matches('/').to_owned();
    let client = http_client()?;
    let epoch = Instant::now();
    let token = sign_up(&client, &base).await?;
    let room = format!("bench-{}", random_hex(6)?);
    let events_url = format!("{base}/api/rooms/chat/{room}/events");
    let messages_url = format!("{base}/api/rooms/chat/{room}/messages");
    let expected = args.messages;

    // Subscribers: each opens its stream, reports `ready`, then records arrivals until
    // told to stop. `done` tells the main task when one has seen every message, or its
    // stream has failed: either way it has nothing more to wait for.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(args.subscribers as usize);
    let mut ready = Vec::new();
    let mut subscribers = JoinSet::new();
    for _ in 0..args.subscribers {
        let (ready_tx, ready_rx) = oneshot::channel::<Result<()>>();
        ready.push(ready_rx);
        let client = client.clone();
        let url = events_url.clone();
        let stop = stop_rx.clone();
        let done = done_tx.clone();
        subscribers.spawn(subscribe(client, url, expected, stop, ready_tx, done));
    }
    drop(done_tx);
    for (i, ready_rx) in ready.into_iter().enumerate() {
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error.context(format!("subscriber {i}"))),
            Err(_) => bail!("subscriber {i} stopped before `ready`"),
        }
    }
    let cpu_before = own_cpu()?;
    let server_before = args.pid.map(server_cpu_ticks).transpose()?;
    let started = Instant::now();

    // Post one at a time. `sent[seq]` is the instant just before the POST of `seq`.
    let mut sent: HashMap<u64, Instant> = HashMap::with_capacity(expected as usize);
    let mut post_latency = Vec::with_capacity(expected as usize);
    let mut post_errors = 0u64;
    let mut first_post_error = None;
    let mut failing_in_a_row = 0;
    for seq in 0..expected {
        if failing_in_a_row == GIVE_UP_AFTER_FAILED_POSTS {
            println!("stopped posting after {GIVE_UP_AFTER_FAILED_POSTS} failed POSTs in a row");
            break;
        }
        let now = Instant::now();
        // "<seq> <send time>", the send time in microseconds since the bench started, on
        // the same monotonic clock as `sent`.
        let text = format!("{seq} {}", now.duration_since(epoch).as_micros());
        match post_message(&client, &messages_url, &token, text).await {
            Ok(()) => {
                post_latency.push(now.elapsed());
                sent.insert(seq, now);
                failing_in_a_row = 0;
            }
            Err(error) => {
                post_errors += 1;
                failing_in_a_row += 1;
                first_post_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    let last_post = Instant::now();
    let posting = last_post.duration_since(started);

    // Wait for every subscriber to have everything, at most `grace` after the last POST;
    // then linger a moment to catch late duplicates, and stop them.
    let deadline = tokio::time::Instant::from_std(last_post + args.grace);
    let mut done = 0;
    while done < args.subscribers {
        match tokio::time::timeout_at(deadline, done_rx.recv()).await {
            Ok(Some(())) => done += 1,
            Ok(None) | Err(_) => break,
        }
    }
    let finished = Instant::now();
    let cpu_after = own_cpu()?;
    // The server may have gone away during the run: then there is no figure for it.
    let server_after = args.pid.and_then(|pid| server_cpu_ticks(pid).ok());
    let linger = tokio::time::Instant::now() + Duration::from_millis(500);
    tokio::time::sleep_until(linger.min(deadline)).await;
    let _ = stop_tx.send(true);

    let mut delivery =
        Vec::with_capacity(expected.saturating_mul(args.subscribers).min(10_000_000) as usize);
    let mut lost = 0u64;
    let mut duplicated = 0u64;
    let mut out_of_order = 0u64;
    let mut unexpected = 0u64;
    let mut stream_errors = Vec::new();
    while let Some(joined) = subscribers.join_next().await {
        let arrivals = joined.context("a subscriber panicked")?;
        let mut seen: HashMap<u64, u32> = HashMap::with_capacity(expected as usize);
        for (seq, at) in &arrivals.received {
            let count = seen.entry(*seq).or_default();
            *count += 1;
            if *count > 1 {
                duplicated += 1;
                continue;
            }
            match sent.get(seq) {
                Some(sent_at) => delivery.push(at.duration_since(*sent_at)),
                // An event for a POST that reported failure (it may have committed).
                None => unexpected += 1,
            }
        }
        lost += sent.keys().filter(|seq| !seen.contains_key(seq)).count() as u64;
        out_of_order += arrivals.out_of_order;
        stream_errors.extend(arrivals.error);
    }

    println!(
        "latency: {expected} messages posted one at a time, {} subscriber(s), room chat/{room}",
        args.subscribers
    );
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "(ms)", "count", "p50", "p90", "p99", "max"
    );
    print_row("delivery", &mut delivery);
    print_row("POST", &mut post_latency);
    println!(
        "lost: {lost}   duplicated: {duplicated}   out of order: {out_of_order}   \
         POST errors: {post_errors}   stream errors: {}",
        stream_errors.len()
    );
    if unexpected > 0 {
        println!("deliveries of messages whose POST failed: {unexpected}");
    }
    if let Some(error) = &first_post_error {
        println!("first POST error: {error}");
    }
    if let Some(error) = stream_errors.first() {
        println!("first stream error: {error}");
    }
    let (user, system) = (
        cpu_after.0.saturating_sub(cpu_before.0),
        cpu_after.1.saturating_sub(cpu_before.1),
    );
    let measured = finished.duration_since(started);
    let cpu = user + system;
    println!(
        "posting took {:.2} s ({:.0} POST/s); bench CPU from the first POST to the last delivery ({:.2} s): user {:.2} s + system {:.2} s = {:.2} s ({:.0}% of one core)",
        posting.as_secs_f64(),
        post_latency.len() as f64 / posting.as_secs_f64(),
        measured.as_secs_f64(),
        user.as_secs_f64(),
        system.as_secs_f64(),
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / measured.as_secs_f64()
    );
    if let (Some(before), Some(after), Some(pid)) = (server_before, server_after, args.pid) {
        let seconds =
            |after: u64, before: u64| after.saturating_sub(before) as f64 / USER_HZ as f64;
        let (own, children) = (seconds(after.0, before.0), seconds(after.1, before.1));
        let share = |s: f64| 100.0 * s / measured.as_secs_f64();
        println!(
            "server CPU over the same time: parley (pid {pid}) {own:.2} s ({:.0}% of one core) + its child processes (PostgreSQL) {children:.2} s ({:.0}%)",
            share(own),
            share(children)
        );
    }
    Ok(lost == 0 && duplicated == 0 && post_errors == 0 && stream_errors.is_empty())
}

async fn subscribe(
    client: reqwest::Client,
    url: String,
    expected: u64,
    mut stop: watch::Receiver<bool>,
    ready: oneshot::Sender<Result<()>>,
    done: mpsc::Sender<()>,
) -> Arrivals {
    let mut arrivals = Arrivals::default();
    let mut stream = match SseStream::open_ready(&client, &url).await {
        Ok(stream) => stream,
        Err(error) => {
            arrivals.error = Some(format!("{error:#}"));
            let _ = ready.send(Err(error));
            return arrivals;
        }
    };
    let _ = ready.send(Ok(()));
    let mut distinct = std::collections::HashSet::with_capacity(expected as usize);
    let mut highest: Option<u64> = None;
    let mut signalled = false;
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            _ = stop.changed() => break,
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
        // "<seq> <send time>"; the room is fresh, so every message in it is ours.
        let seq = text.split(' ').next().and_then(|s| s.parse::<u64>().ok());
        let Some(seq) = seq else {
            continue;
        };
        arrivals.received.push((seq, at));
        if highest.is_some_and(|h| seq < h) {
            arrivals.out_of_order += 1;
        }
        highest = highest.max(Some(seq));
        if distinct.insert(seq) && distinct.len() as u64 == expected && !signalled {
            signalled = true;
            let _ = done.send(()).await;
        }
    }
    if !signalled {
        // The stream failed (or the run is over): nothing more will arrive here.
        let _ = done.send(()).await;
    }
    arrivals
}

// ---------------------------------------------------------------------------------------
// idle

async fn idle(args: IdleArgs) -> Result<bool> {
    let base = args.url.trim_end_matches('/').to_owned();
    vm_rss_kib(args.pid)?;
    let nofile = raise_open_file_limit()?;
    if args.streams + 100 > nofile {
        println!(
            "warning: this process may open at most {nofile} files; {} streams need more",
            args.streams
        );
    }
    if let Some(server_limit) = open_file_soft_limit(args.pid)
        && args.streams + 100 > server_limit
    {
        println!(
            "warning: the server (pid {}) may open at most {server_limit} files; {} streams need more",
            args.pid, args.streams
        );
    }
    let client = http_client()?;
    // Sign up first: the argon2 hash of registering must not count as stream memory.
    let token = sign_up(&client, &base).await?;
    let run_tag = random_hex(6)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = vm_rss_kib(args.pid)?;
    let fds_before = open_fds(args.pid)?;

    let started = Instant::now();
    let opening = futures_util::stream::iter(0..args.streams)
        .map(|i| {
            let client = client.clone();
            let url = format!("{base}/api/rooms/chat/idle-{}/events", i % IDLE_ROOMS);
            async move { (i % IDLE_ROOMS, SseStream::open_ready(&client, &url).await) }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect::<Vec<_>>();
    let results = tokio::time::timeout(args.phase_timeout, opening)
        .await
        .with_context(|| format!("opening the streams took over {:?}", args.phase_timeout))?;
    let opened_in = started.elapsed();
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
    let rss_after = vm_rss_kib(args.pid)?;
    let fds_after = open_fds(args.pid)?;

    println!(
        "idle: {} streams requested over {IDLE_ROOMS} rooms chat/idle-<i % {IDLE_ROOMS}>, {} at a time",
        args.streams, args.concurrency
    );
    println!(
        "streams open (ready received): {open} in {:.2} s; failed to open: {}",
        opened_in.as_secs_f64(),
        args.streams - open
    );
    for (error, count) in &open_errors {
        println!("  {count} x {error}");
    }
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
    let check_started = Instant::now();
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
    let checked_in = check_started.elapsed();
    println!(
        "check: posted {} message(s), one per room ({} POST errors); {delivered} of {open} streams received their room's message in {:.2} s",
        rooms_in_use.len() - post_errors.len(),
        post_errors.len(),
        checked_in.as_secs_f64()
    );
    for error in &post_errors {
        println!("  {error}");
    }
    // The readers own the streams and have dropped them: every connection is closed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_closed = vm_rss_kib(args.pid)?;
    let fds_closed = open_fds(args.pid)?;
    println!(
        "all streams closed by the bench; 2 s later the server has VmRSS {:.1} MiB and {fds_closed} open files",
        rss_closed as f64 / 1024.0
    );
    Ok(open == args.streams && delivered == open && post_errors.is_empty())
}
