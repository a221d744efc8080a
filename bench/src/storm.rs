//! `storm`: a reconnect storm. Starts its own PostgreSQL cluster and `parley` server,
//! opens many streams over many rooms, writes messages at a steady rate, and restarts the
//! server in the middle of the writes: every stream is cut at once, and all come back with
//! `Last-Event-ID` after the `retry:` delay. Reports how long until every stream is live
//! again, the new server's peak memory, PostgreSQL's CPU and work per resumed stream, and
//! checks that every stream got every acknowledged message exactly once, in the order of
//! the log.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::Args;
use parley_testing::sse::SseClient;
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::{
    OwnServer, REQUEST_TIMEOUT, Scratch, SoakServer, created_text, expected_in_room, http_client,
    mib, prepare_open_files, random_fraction, random_hex, server_cpu_ticks, sign_up,
    start_soak_cluster, stop_soak_cluster, summary, ticks, vm_rss_kib,
};

/// A reconnect storm: the server restarted under many resuming streams.
#[derive(Debug, Args)]
pub struct StormArgs {
    /// Subscribers, each its own SSE connection; subscriber i follows room i % rooms.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=15_000))]
    subscribers: u64,
    /// Rooms; message k goes to room k % rooms.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    rooms: u64,
    /// Messages written in all, one at a time, each retried until acknowledged when the
    /// server is down.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    messages: u64,
    /// Writes per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// The server is restarted (SIGTERM, then started again on the same port and
    /// database) once this many messages are acknowledged.
    #[arg(long, default_value_t = 250)]
    restart_after: u64,
    /// A stream that ends, or cannot open, tries again after a delay drawn uniformly from
    /// this to `--retry-max`: what the server's `retry:` hint asks of a browser (2 s plus
    /// up to 1 s of jitter).
    #[arg(long, default_value = "2s", value_parser = super::parse_duration)]
    retry_min: Duration,
    #[arg(long, default_value = "3s", value_parser = super::parse_duration)]
    retry_max: Duration,
    /// Streams being opened at once at the start (the resumes are not limited).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=5_000))]
    open_concurrency: u64,
    /// Bound on each phase: opening the streams, the writes, and after the last write,
    /// every stream live and every message received.
    #[arg(long, default_value = "120s", value_parser = super::parse_duration)]
    phase_timeout: Duration,
    #[command(flatten)]
    own: OwnServer,
}

/// What one subscriber saw over the whole run.
#[derive(Default)]
struct Seen {
    room: u64,
    /// Sequence numbers of `message.created` events, in arrival order.
    received: Vec<u64>,
    /// Connections opened after the first (each with `Last-Event-ID`).
    resumes: u64,
    /// Attempts that did not get a stream (the server was down, or refused).
    failed_opens: u64,
    resets: u64,
}

struct Subscriber {
    client: reqwest::Client,
    url: String,
    expected: u64,
    retry: (Duration, Duration),
    opening: Arc<Semaphore>,
    first_ready: oneshot::Sender<()>,
    /// Sends when a resumed stream reaches `ready` (live again).
    live_again: mpsc::UnboundedSender<Instant>,
    done: mpsc::UnboundedSender<()>,
    stop: watch::Receiver<bool>,
}

async fn subscriber(me: Subscriber, room: u64) -> Seen {
    let Subscriber {
        client,
        url,
        expected,
        retry,
        opening,
        first_ready,
        live_again,
        done,
        mut stop,
    } = me;
    let mut seen = Seen {
        room,
        ..Seen::default()
    };
    let mut first_ready = Some(first_ready);
    let mut last_id: Option<String> = None;
    let mut distinct = std::collections::HashSet::new();
    let mut reported = false;
    loop {
        let permit = match first_ready {
            Some(_) => opening.acquire().await.ok(),
            None => None,
        };
        let opened = tokio::select! {
            opened = tokio::time::timeout(REQUEST_TIMEOUT, SseClient::open(&client, &url, last_id.as_deref())) => opened,
            _ = stop.changed() => return seen,
        };
        drop(permit);
        match opened {
            Ok(Ok(mut stream)) => {
                let resumed = first_ready.is_none();
                if resumed {
                    seen.resumes += 1;
                }
                loop {
                    let event = tokio::select! {
                        event = stream.next() => event,
                        _ = stop.changed() => return seen,
                    };
                    let Ok(Some(event)) = event else { break };
                    match event.event.as_str() {
                        "ready" => match first_ready.take() {
                            Some(ready) => {
                                let _ = ready.send(());
                            }
                            None => {
                                let _ = live_again.send(Instant::now());
                            }
                        },
                        "reset" => seen.resets += 1,
                        _ => {
                            let seq =
                                created_text(&event).and_then(|text| text.parse::<u64>().ok());
                            if let Some(seq) = seq {
                                seen.received.push(seq);
                                if distinct.insert(seq)
                                    && distinct.len() as u64 == expected
                                    && !reported
                                {
                                    reported = true;
                                    let _ = done.send(());
                                }
                            }
                        }
                    }
                }
                last_id.clone_from(&stream.last_id);
            }
            _ => seen.failed_opens += 1,
        }
        // As a browser does with the server's `retry:` hint.
        let (low, high) = retry;
        let delay = low + (high.saturating_sub(low)).mul_f64(random_fraction());
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return seen,
        }
    }
}

/// The writer's record: per room, the sequence numbers in the order acknowledged (one
/// writer, one write at a time: the log's order).
#[derive(Default)]
struct Written {
    order: HashMap<u64, Vec<u64>>,
    /// Attempts that failed before reaching the server (refused while it restarted, or a
    /// 503 while it shut down): retried.
    retried: u64,
    /// Attempts whose outcome is unknown (the connection closed under the request, a
    /// timeout, a 500): retried, so the message may exist twice, which the subscribers
    /// would show as a duplicate.
    ambiguous: u64,
}

async fn writer(
    client: reqwest::Client,
    base: String,
    token: String,
    tag: String,
    args: (u64, u64, f64),
    acknowledged: Arc<AtomicU64>,
    deadline: tokio::time::Instant,
) -> Result<Written> {
    let (messages, rooms, rate) = args;
    let mut written = Written::default();
    let started = tokio::time::Instant::now();
    for seq in 0..messages {
        tokio::time::sleep_until(started + Duration::from_secs_f64(seq as f64 / rate)).await;
        let room = seq % rooms;
        let url = format!("{base}/api/rooms/chat/storm-{tag}-{room}/messages");
        loop {
            ensure!(
                tokio::time::Instant::now() < deadline,
                "message {seq} was not acknowledged in time"
            );
            let sent = client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({ "message": seq.to_string() }))
                .timeout(REQUEST_TIMEOUT)
                .send()
                .await;
            match sent {
                Ok(response) if response.status() == StatusCode::CREATED => break,
                Ok(response) if response.status() == StatusCode::SERVICE_UNAVAILABLE => {
                    written.retried += 1;
                }
                Err(error) if error.is_connect() => written.retried += 1,
                _ => written.ambiguous += 1,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        written.order.entry(room).or_default().push(seq);
        acknowledged.fetch_add(1, Ordering::SeqCst);
    }
    Ok(written)
}

/// Counters of PostgreSQL's work: transactions committed, and scans of the event log.
async fn pg_counters(database_url: &str) -> Result<(i64, i64)> {
    let config: tokio_postgres::Config = database_url.parse().context("the cluster's URL")?;
    let (db, connection) = config.connect(tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    // Statistics reach the views within about a second of the transactions.
    db.batch_execute("SELECT pg_stat_clear_snapshot()").await?;
    let row = db
        .query_one(
            "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), \
             (SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables WHERE relname = 'events')",
            &[],
        )
        .await?;
    drop(db);
    let _ = connection.await;
    Ok((row.get(0), row.get(1)))
}

fn postmaster_pid(scratch: &Scratch) -> Option<u32> {
    let text = std::fs::read_to_string(scratch.path.join("postgres/postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr()?.port())
}

pub async fn storm(args: StormArgs) -> Result<bool> {
    ensure!(
        (0.1..=10_000.0).contains(&args.rate),
        "--rate must be from 0.1 to 10000 messages per second"
    );
    ensure!(
        args.restart_after < args.messages,
        "--restart-after must be below --messages"
    );
    ensure!(
        args.retry_min <= args.retry_max,
        "--retry-min must not exceed --retry-max"
    );
    let binary = args.own.binary()?;
    prepare_open_files(args.subscribers, None)?;
    let scratch = Scratch::create(args.own.keep)?;
    let cluster = start_soak_cluster(scratch.path.clone(), args.own.cluster_options()).await?;
    let database_url = cluster.url("parley");
    let result = storm_run(&args, &binary, &scratch, &database_url).await;
    if let Err(error) = stop_soak_cluster(cluster).await {
        println!("could not stop PostgreSQL at the end: {error:#}");
    }
    if args.own.keep {
        println!("kept {} (cluster and server logs)", scratch.path.display());
    }
    result
}

async fn storm_run(
    args: &StormArgs,
    binary: &std::path::Path,
    scratch: &Scratch,
    database_url: &str,
) -> Result<bool> {
    let listen = format!("127.0.0.1:{}", free_port()?);
    let mut extra = vec![
        "--max-streams-per-address".to_owned(),
        "0".to_owned(),
        "--registrations-per-minute".to_owned(),
        "0".to_owned(),
    ];
    extra.extend(args.own.server_arg.iter().cloned());
    let server = SoakServer::start_on(
        binary,
        database_url,
        &listen,
        &extra,
        scratch.path.join("parley-1.log"),
    )
    .await?;
    let base = server.base.clone();
    let client = http_client()?;
    let token = sign_up(&client, &base).await?;
    let tag = random_hex(4)?;

    // Subscribers, all live before the writes start.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (live_tx, mut live_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let opening = Arc::new(Semaphore::new(args.open_concurrency as usize));
    let mut readies = Vec::new();
    let mut subscribers = JoinSet::new();
    for i in 0..args.subscribers {
        let room = i % args.rooms;
        let (ready_tx, ready_rx) = oneshot::channel();
        readies.push(ready_rx);
        let me = Subscriber {
            client: client.clone(),
            url: format!("{base}/api/rooms/chat/storm-{tag}-{room}/events"),
            expected: expected_in_room(args.messages, args.rooms, room),
            retry: (args.retry_min, args.retry_max),
            opening: Arc::clone(&opening),
            first_ready: ready_tx,
            live_again: live_tx.clone(),
            done: done_tx.clone(),
            stop: stop_rx.clone(),
        };
        subscribers.spawn(subscriber(me, room));
    }
    drop((live_tx, done_tx));
    let opened = Instant::now();
    let all_ready = async {
        for ready in readies {
            ready
                .await
                .map_err(|_| anyhow!("a subscriber stopped before `ready`"))?;
        }
        Ok::<(), anyhow::Error>(())
    };
    tokio::time::timeout(args.phase_timeout, all_ready)
        .await
        .context("opening the streams took too long")??;
    println!(
        "storm: {} subscribers over {} rooms chat/storm-{tag}-<i % {}>, all live in {:.2} s",
        args.subscribers,
        args.rooms,
        args.rooms,
        opened.elapsed().as_secs_f64()
    );

    // The writes, and the restart in their middle.
    let acknowledged = Arc::new(AtomicU64::new(0));
    let writes_deadline = tokio::time::Instant::now()
        + Duration::from_secs_f64(args.messages as f64 / args.rate)
        + args.phase_timeout;
    let writes = tokio::spawn(writer(
        client.clone(),
        base.clone(),
        token,
        tag.clone(),
        (args.messages, args.rooms, args.rate),
        Arc::clone(&acknowledged),
        writes_deadline,
    ));
    while acknowledged.load(Ordering::SeqCst) < args.restart_after {
        ensure!(!writes.is_finished(), "the writer stopped early");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let counters_before = pg_counters(database_url).await?;
    let pg_pid = postmaster_pid(scratch);
    let pg_before = pg_pid.and_then(|pid| server_cpu_ticks(pid).ok());
    let stopping = Instant::now();
    let stopped = server.stop().await?;
    let down_for = stopping.elapsed();
    let server = SoakServer::start_on(
        binary,
        database_url,
        &listen,
        &extra,
        scratch.path.join("parley-2.log"),
    )
    .await?;
    let back = Instant::now();
    println!(
        "restart after {} acknowledged writes: old server {stopped} in {:.2} s; new one listening {:.2} s after the SIGTERM",
        args.restart_after,
        down_for.as_secs_f64(),
        back.duration_since(stopping).as_secs_f64()
    );

    // Until every stream is live again and has every message: the new server's RSS.
    let mut peak_rss = vm_rss_kib(server.pid).unwrap_or(0);
    let mut live_again: Vec<Duration> = Vec::with_capacity(args.subscribers as usize);
    let mut done = 0u64;
    let mut sample = tokio::time::interval(Duration::from_millis(100));
    let mut writes = Some(writes);
    let mut written = None;
    let mut last_live = None;
    let deadline = tokio::time::Instant::now() + args.phase_timeout * 2;
    while live_again.len() < args.subscribers as usize
        || done < args.subscribers
        || writes.is_some()
    {
        tokio::select! {
            at = live_rx.recv() => match at {
                Some(at) => {
                    live_again.push(at.saturating_duration_since(back));
                    last_live = Some(at);
                }
                None => break,
            },
            Some(()) = done_rx.recv() => done += 1,
            joined = async {
                match writes.as_mut() {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            }, if writes.is_some() => {
                writes = None;
                written = Some(joined.context("the writer panicked")??);
            }
            _ = sample.tick() => {
                peak_rss = peak_rss.max(vm_rss_kib(server.pid).unwrap_or(0));
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    let settled = Instant::now();
    let rss_end = vm_rss_kib(server.pid).unwrap_or(0);
    // Let the statistics collector see the last transactions.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let counters_after = pg_counters(database_url).await?;
    let pg_cpu = match (pg_pid, pg_before) {
        (Some(pid), Some(before)) => server_cpu_ticks(pid)
            .ok()
            .map(|after| ticks((after.0 + after.1).saturating_sub(before.0 + before.1))),
        _ => None,
    };
    let _ = stop_tx.send(true);
    let mut seen = Vec::new();
    while let Some(joined) = subscribers.join_next().await {
        seen.push(joined.context("a subscriber panicked")?);
    }
    let server_stopped = server.stop().await?;
    let Some(written) = written else {
        bail!("the writes did not finish within the phase timeout");
    };

    // Every stream: each acknowledged message of its room exactly once, in the order
    // acknowledged (which is the log's: one writer, one write at a time).
    let (mut lost, mut duplicated, mut misordered, mut resets) = (0u64, 0u64, 0u64, 0u64);
    let (mut resumes, mut failed_opens) = (0u64, 0u64);
    for stream in &seen {
        let order = written
            .order
            .get(&stream.room)
            .map_or(&[][..], Vec::as_slice);
        let mut counts: HashMap<u64, u32> = HashMap::new();
        let mut first_seen = Vec::with_capacity(stream.received.len());
        for seq in &stream.received {
            let count = counts.entry(*seq).or_default();
            *count += 1;
            if *count == 1 {
                first_seen.push(*seq);
            } else {
                duplicated += 1;
            }
        }
        lost += order.iter().filter(|seq| !counts.contains_key(seq)).count() as u64;
        let arrived: Vec<u64> = order
            .iter()
            .filter(|seq| counts.contains_key(seq))
            .copied()
            .collect();
        let acknowledged: std::collections::HashSet<u64> = order.iter().copied().collect();
        first_seen.retain(|seq| acknowledged.contains(seq));
        if first_seen != arrived {
            misordered += 1;
        }
        resets += stream.resets;
        resumes += stream.resumes;
        failed_opens += stream.failed_opens;
    }
    let resumed_streams = seen.iter().filter(|s| s.resumes > 0).count() as u64;
    let acked: u64 = written.order.values().map(|v| v.len() as u64).sum();
    println!(
        "writes: {acked} acknowledged; {} attempts retried (refused or 503 while restarting), {} with an unknown outcome",
        written.retried, written.ambiguous
    );
    println!(
        "streams live again: {} of {}; the last {:.2} s after the new server listened; all done {:.2} s after it",
        live_again.len(),
        args.subscribers,
        last_live.map_or(f64::NAN, |at| at.duration_since(back).as_secs_f64()),
        settled.duration_since(back).as_secs_f64()
    );
    if let Some((_, [p50, p90, p99, max])) = summary(&mut live_again) {
        println!(
            "time to `ready` again after the new server listened (s): p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
            p50.as_secs_f64(),
            p90.as_secs_f64(),
            p99.as_secs_f64(),
            max.as_secs_f64()
        );
    }
    println!(
        "resumes: {resumes} by {resumed_streams} streams; failed attempts to open (server down): {failed_opens}; resets: {resets}"
    );
    println!(
        "new server: peak VmRSS {:.1} MiB, {:.1} MiB when settled",
        mib(peak_rss),
        mib(rss_end)
    );
    let transactions = counters_after.0 - counters_before.0;
    let scans = counters_after.1 - counters_before.1;
    let per = |n: i64| n as f64 / resumed_streams.max(1) as f64;
    println!(
        "PostgreSQL from the restart to settled (writes included): {transactions} transactions ({:.2} per resumed stream), {scans} scans of the event log ({:.2} per resumed stream){}",
        per(transactions),
        per(scans),
        pg_cpu.map_or(String::new(), |cpu| format!(
            ", CPU {:.2} s ({:.2} ms per resumed stream)",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1000.0 / resumed_streams.max(1) as f64
        ))
    );
    println!("lost: {lost}   duplicated: {duplicated}   misordered streams: {misordered}");
    println!("server at the end: {server_stopped}");
    Ok(lost == 0
        && duplicated == 0
        && misordered == 0
        && resets == 0
        && live_again.len() as u64 == args.subscribers)
}
