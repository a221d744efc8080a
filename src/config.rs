//! Every setting the server reads, from flags or the environment, in one typed struct.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
    #[arg(long, env = "PARLEY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseConfig,

    /// How often an idle event stream sends a keep-alive comment.
    #[arg(long, env = "PARLEY_SSE_KEEP_ALIVE", default_value = "15s", value_parser = parse_duration)]
    pub sse_keep_alive: Duration,

    /// How long the event log keeps events for clients that resume.
    #[arg(long, env = "PARLEY_RETENTION", default_value = "24h", value_parser = parse_duration)]
    pub retention: Duration,

    /// How long a login session lasts.
    #[arg(long, env = "PARLEY_SESSION_TTL", default_value = "30days", value_parser = parse_duration)]
    pub session_ttl: Duration,

    /// Browser origin allowed to call the API with credentials (repeatable;
    /// comma-separated in the environment variable), e.g. `https://app.example.com`.
    #[arg(
        long = "cors-origin",
        env = "PARLEY_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Mark the session cookie `Secure` (set this when clients reach Parley over HTTPS).
    #[arg(long, env = "PARLEY_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// How long a client may take to send a request body before getting 408.
    #[arg(long, env = "PARLEY_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Most event streams one client address may hold open at once (0: no limit). Behind a
    /// reverse proxy every client has the proxy's address: leave it at 0 there.
    #[arg(long, env = "PARLEY_MAX_STREAMS_PER_ADDRESS", default_value_t = 0)]
    pub max_streams_per_address: usize,

    /// Most bytes of event data one catch-up page (a replay after `Last-Event-ID`, or a
    /// slow subscriber catching up) reads from the log; a stream reads its next page only
    /// once its socket has taken this one. An event larger than this goes out alone.
    /// Defends against resuming streams that never read: each holds at most a page.
    /// Accepts `KiB`, `MiB` and `GiB`.
    #[arg(long, env = "PARLEY_REPLAY_PAGE_BYTES", default_value = "1MiB", value_parser = parse_bytes)]
    pub replay_page_bytes: u32,

    /// Most bytes of event data all catch-ups together hold while their sockets take them;
    /// beyond it, catch-ups wait (live streams do not). Defends against many resuming
    /// streams together. Accepts `KiB`, `MiB` and `GiB`.
    #[arg(long, env = "PARLEY_REPLAY_MEMORY", default_value = "64MiB", value_parser = parse_bytes)]
    pub replay_memory: u32,

    /// How long a catch-up page may wait for its socket to take it before the stream is
    /// ended (its client resumes from its last event), so that clients that never read
    /// cannot hold `--replay-memory` for ever.
    #[arg(long, env = "PARLEY_REPLAY_STALL_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub replay_stall_timeout: Duration,

    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    #[arg(long, env = "PARLEY_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL. When unset, Parley runs its own cluster in `--data-dir`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the private PostgreSQL cluster (used only without `--database-url`).
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory holding `initdb` and `postgres`. Default: `PATH`, then
    /// `pg_config --bindir`, then `/usr/lib/postgresql/*/bin` (newest first).
    #[arg(long, env = "PARLEY_PG_BIN_DIR")]
    pub pg_bin_dir: Option<PathBuf>,

    /// Maximum number of database connections in the pool.
    #[arg(long, env = "PARLEY_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// How long a request waits for a free database connection before answering 503.
    #[arg(long, env = "PARLEY_DB_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub db_timeout: Duration,
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
