//! Every setting the server reads, from flags or the environment, in one typed struct.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::cidr::Cidr;

/// Parley: realtime notes and messages over HTTP, streamed as Server-Sent Events.
///
/// With no configuration it runs its own private PostgreSQL cluster in `--data-dir`
/// and serves on 127.0.0.1:8080.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default when no command is given).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Print the OpenAPI document to standard output, then exit (no database needed).
    Openapi,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port (the chosen address is logged).
    #[arg(
        global = true,
        long,
        env = "PARLEY_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub recent: RecentConfig,

    /// How often an idle event stream sends a keep-alive comment.
    #[arg(global = true, long, env = "PARLEY_SSE_KEEP_ALIVE", default_value = "15s", value_parser = parse_duration)]
    pub sse_keep_alive: Duration,

    /// How long the event log keeps events for clients that resume.
    #[arg(global = true, long, env = "PARLEY_RETENTION", default_value = "24h", value_parser = parse_duration)]
    pub retention: Duration,

    /// How long a login session lasts.
    #[arg(global = true, long, env = "PARLEY_SESSION_TTL", default_value = "30days", value_parser = parse_duration)]
    pub session_ttl: Duration,

    /// Browser origin allowed to call the API with credentials (repeatable;
    /// comma-separated in the environment variable), e.g. `https://app.example.com`.
    #[arg(
        global = true,
        long = "cors-origin",
        env = "PARLEY_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Mark the session cookie `Secure` (set this when clients reach Parley over HTTPS).
    #[arg(global = true, long, env = "PARLEY_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// How long a client may take to send a request body before getting 408.
    #[arg(global = true, long, env = "PARLEY_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Most event streams open at once, from all clients; one more gets 503. Each stream
    /// holds a socket: this keeps descriptors for API requests, health checks and the
    /// database. Default: the open-file limit, less what the server keeps for itself and
    /// the database, less a tenth (at least 64) for other requests; logged at start. Set
    /// it only to go lower.
    #[arg(global = true, long, env = "PARLEY_MAX_STREAMS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_streams: Option<usize>,

    /// Most event streams one client address may hold open at once; one more gets 429
    /// (0: no limit). Defends the other clients' share of `--max-streams`. A browser holds
    /// at most 6 connections per server (HTTP/1.1) in all its tabs, so 64 leaves room for
    /// several people behind one NAT; over HTTP/2 (`--tls-cert`) a browser has no such limit,
    /// and this cap is what bounds it. Behind a reverse proxy every client has the proxy's
    /// address unless the proxy is trusted to forward the client's.
    #[arg(
        global = true,
        long,
        env = "PARLEY_MAX_STREAMS_PER_ADDRESS",
        default_value_t = 64
    )]
    pub max_streams_per_address: usize,

    /// A reverse proxy whose `X-Forwarded-For` names the client (repeatable; comma-separated
    /// in the environment variable): a network such as `10.0.0.0/8` or one address. Default:
    /// none, and forwarded headers are ignored. Behind a proxy, set it so that per-address
    /// limits count each client rather than the proxy; only list proxies you run, since a
    /// listed peer can claim any client address.
    #[arg(
        global = true,
        long = "trusted-proxy",
        env = "PARLEY_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub trusted_proxies: Vec<Cidr>,

    /// Password checks (logins) that may wait or run at once, and separately
    /// registrations; the next one gets 503 with Retry-After at once. Defends memory and
    /// latency against floods of logins or registrations: each hash takes tens of
    /// milliseconds of a core and 19 MiB, at most one per core runs at a time, so a
    /// request waits at most about depth / cores hashes. Default: 8 per core.
    #[arg(global = true, long, env = "PARLEY_HASH_QUEUE")]
    pub hash_queue: Option<NonZeroUsize>,

    /// Registrations one client address may make in a burst, then one every 60 s / N
    /// (0: no limit). Defends CPU (each registration is a password hash) and storage
    /// against one host creating accounts at will. IPv6 addresses count by their /64.
    #[arg(
        global = true,
        long,
        env = "PARLEY_REGISTRATIONS_PER_MINUTE",
        default_value_t = 5
    )]
    pub registrations_per_minute: u32,

    /// Most bytes of event data one catch-up page (a replay after `Last-Event-ID`, or a
    /// slow subscriber catching up) reads from the log; a stream reads its next page only
    /// once its socket has taken this one. An event larger than this goes out alone.
    /// Defends against resuming streams that never read: each holds at most a page.
    /// Accepts `KiB`, `MiB` and `GiB`.
    #[arg(global = true, long, env = "PARLEY_REPLAY_PAGE_BYTES", default_value = "1MiB", value_parser = parse_bytes)]
    pub replay_page_bytes: u32,

    /// Most bytes of event data all catch-ups together hold while their sockets take them;
    /// beyond it, catch-ups wait (live streams do not). Defends against many resuming
    /// streams together. Accepts `KiB`, `MiB` and `GiB`.
    #[arg(global = true, long, env = "PARLEY_REPLAY_MEMORY", default_value = "64MiB", value_parser = parse_bytes)]
    pub replay_memory: u32,

    /// How long a catch-up page may wait for its socket to take it before the stream is
    /// ended (its client resumes from its last event), so that clients that never read
    /// cannot hold `--replay-memory` for ever.
    #[arg(global = true, long, env = "PARLEY_REPLAY_STALL_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub replay_stall_timeout: Duration,

    /// PEM file with the TLS certificate chain (the server's certificate first). With
    /// `--tls-key`, Parley serves HTTPS, and browsers speak HTTP/2 to it: all of a browser's
    /// event streams and API calls share one connection, instead of six HTTP/1.1 connections
    /// per server in all its tabs. Default: none (plain HTTP). Both files are read and checked
    /// at start-up.
    #[arg(
        global = true,
        long,
        env = "PARLEY_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM file with the private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1). Default: none.
    #[arg(
        global = true,
        long,
        env = "PARLEY_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Also accept HTTP/2 without TLS from clients that speak it first ("prior knowledge",
    /// h2c), on the same port as HTTP/1.1: for a reverse proxy that talks HTTP/2 to Parley
    /// (Caddy's `h2c://`). Default: off. Off, a connection must send its request within 5 s
    /// or is closed; on, one that sends nothing stays open until it does (actix-http waits
    /// for its first bytes without a deadline), so turn it on only where the proxy is the
    /// only peer that can connect.
    #[arg(global = true, long, env = "PARLEY_H2C", conflicts_with = "tls_cert")]
    pub h2c: bool,

    /// How long a member stays present after their last stream of a room closes: a reload
    /// or a reconnect within it produces no `presence.left` and no `presence.joined`.
    #[arg(global = true, long, env = "PARLEY_PRESENCE_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub presence_grace: Duration,

    /// How often this process records in the database that it is alive (and looks for
    /// processes that stopped doing so).
    #[arg(global = true, long, env = "PARLEY_PRESENCE_HEARTBEAT", default_value = "2s", value_parser = parse_duration)]
    pub presence_heartbeat: Duration,

    /// A server process whose last heartbeat is older than this is taken for dead (killed,
    /// frozen): another announces its members' leaves. The leave of a member of a killed
    /// process comes within this plus one `--presence-heartbeat` (docs/presence.md).
    #[arg(global = true, long, env = "PARLEY_PRESENCE_SERVER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub presence_server_timeout: Duration,

    /// Above this many members, a room's streams get `presence.count` every 5 s (when it
    /// changed) instead of each join and leave, and its snapshot leaves out the member
    /// list: a mass reconnect of a big room then costs each stream nothing.
    #[arg(
        global = true,
        long,
        env = "PARLEY_PRESENCE_LARGE_ROOM",
        default_value_t = 100
    )]
    pub presence_large_room: u32,

    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    #[arg(global = true, long, env = "PARLEY_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

/// Default of `--db-write-batches`, chosen by measurement (docs/performance.md).
pub const DEFAULT_DB_WRITE_BATCHES: usize = 2;

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL. When unset, Parley runs its own cluster in `--data-dir`.
    #[arg(global = true, long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the private PostgreSQL cluster (used only without `--database-url`).
    /// Default: `data`; as root, when the `postgres` user cannot enter it, a directory
    /// under `/var/lib/parley` instead (the path is logged).
    #[arg(global = true, long, env = "PARLEY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Directory holding `initdb` and `postgres`. Default: `PATH`, then
    /// `pg_config --bindir`, then `/usr/lib/postgresql/*/bin` (newest first).
    #[arg(global = true, long, env = "PARLEY_PG_BIN_DIR")]
    pub pg_bin_dir: Option<PathBuf>,

    /// Maximum number of database connections in the pool.
    #[arg(global = true, long, env = "PARLEY_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// How long a request waits for a free database connection before answering 503.
    #[arg(global = true, long, env = "PARLEY_DB_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub db_timeout: Duration,

    /// Batches of message posts (and, separately, of note creations) that may run at
    /// once, each one transaction on a connection of its own; posts that arrive while
    /// they run wait and go together in the next batch.
    #[arg(global = true, long, env = "PARLEY_DB_WRITE_BATCHES", default_value_t = DEFAULT_DB_WRITE_BATCHES,
        value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..=64), usize::from))]
    pub db_write_batches: usize,
}

/// The recent messages kept in memory (`realtime::recent`), which answer the first page of
/// a room's list without the database.
#[derive(Debug, Clone, Args)]
pub struct RecentConfig {
    /// Most rooms whose newest messages are kept in memory, the least recently read
    /// going first; a room is kept once it has been read twice. 0 keeps none: every list
    /// reads the database.
    #[arg(
        global = true,
        long,
        env = "PARLEY_RECENT_ROOMS",
        default_value_t = 1000
    )]
    pub recent_rooms: usize,

    /// Messages kept per room: the first page of a list with a `limit` up to this is
    /// answered from memory (1–100).
    #[arg(global = true, long, env = "PARLEY_RECENT_MESSAGES", default_value_t = 100,
        value_parser = clap::value_parser!(u16).range(1..=100))]
    pub recent_messages: u16,

    /// Most bytes the kept rooms hold together, message text included; beyond it the
    /// least recently read rooms are let go. Accepts `KiB`, `MiB` and `GiB`.
    #[arg(global = true, long, env = "PARLEY_RECENT_MEMORY", default_value = "64MiB", value_parser = parse_bytes)]
    pub recent_memory: u32,
}

impl Config {
    /// The configuration a test or embedding program starts from: every default, with the
    /// given database.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let cli = Cli::parse_from(["parley"]);
        let mut config = cli.config;
        config.database.database_url = Some(database_url.into());
        config
    }
}

/// Durations are written like `500ms`, `15s`, `24h` or `30days`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}; write durations like `500ms`, `15s`, `24h`"))
}

/// Sizes are written like `65536`, `512KiB`, `1MiB` or `1GiB` (at most 4 GiB - 1), and at
/// least one byte.
pub fn parse_bytes(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let unit: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit {other:?}; write sizes like `512KiB`, `1MiB`"
            ));
        }
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|number| number.checked_mul(unit))
        .ok_or_else(|| format!("{text:?} is not a size; write sizes like `512KiB`, `1MiB`"))?;
    match u32::try_from(bytes) {
        Ok(0) => Err("the size must be at least one byte".to_owned()),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(format!("{text} is more than 4 GiB - 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_documented_forms() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn trusted_proxies_are_checked_at_start_up() {
        let cli = Cli::try_parse_from([
            "parley",
            "--trusted-proxy",
            "10.0.0.0/8,192.168.0.0/16",
            "--trusted-proxy",
            "::1",
        ])
        .expect("valid networks");
        assert_eq!(cli.config.trusted_proxies.len(), 3);
        let error = Cli::try_parse_from(["parley", "--trusted-proxy", "10.0.0.1/8"])
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("--trusted-proxy"), "{error}");
        assert!(error.contains("prefix"), "{error}");
    }

    #[test]
    fn tls_takes_a_certificate_and_a_key_together_and_excludes_h2c() {
        let both = Cli::try_parse_from(["parley", "--tls-cert", "c.pem", "--tls-key", "k.pem"])
            .expect("both files");
        assert_eq!(both.config.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(both.config.tls_key, Some(PathBuf::from("k.pem")));
        for alone in [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"]] {
            let error = Cli::try_parse_from(["parley", alone[0], alone[1]])
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default();
            assert!(error.contains("required"), "{alone:?}: {error}");
        }
        let error = Cli::try_parse_from([
            "parley",
            "--h2c",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ])
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
        assert!(error.contains("--h2c"), "{error}");
    }

    #[test]
    fn settings_are_accepted_after_a_subcommand() {
        let cli = Cli::try_parse_from([
            "parley",
            "migrate",
            "--data-dir",
            "elsewhere",
            "--database-url",
            "postgres://db/parley",
        ])
        .expect("flags after the subcommand");
        assert!(matches!(cli.command, Some(Command::Migrate)));
        assert_eq!(
            cli.config.database.data_dir,
            Some(PathBuf::from("elsewhere"))
        );
        assert_eq!(
            cli.config.database.database_url.as_deref(),
            Some("postgres://db/parley")
        );
    }

    /// A flag added without `global = true` would be refused after `serve` or `migrate`.
    #[test]
    fn every_setting_is_global() {
        use clap::CommandFactory;
        let command = Cli::command();
        let local: Vec<_> = command
            .get_arguments()
            .filter(|arg| !arg.is_global_set())
            .map(|arg| arg.get_id().to_string())
            .collect();
        assert!(local.is_empty(), "add `global = true` to {local:?}");
    }

    #[test]
    fn sizes_parse_in_the_documented_forms() {
        assert_eq!(parse_bytes("65536"), Ok(65_536));
        assert_eq!(parse_bytes("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_bytes("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        for bad in ["", "0", "MiB", "1MB", "-1", "4GiB", "1.5MiB"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
