//! Builds the application the same way for `main`, the tests and the benchmarks.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::{Method, header};
use actix_web::middleware::{Condition, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::{Context, Result, anyhow, bail};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{Hashing, KnownDevices};
use crate::config::{Config, DatabaseConfig};
use crate::db::cluster::{self, Cluster, ClusterOptions};
use crate::db::readiness::Readiness;
use crate::db::{Db, event_log, migrations};
use crate::rate_limit::{LoginLimiter, RegistrationLimiter, TypingLimiter};
use crate::realtime::ephemeral::Ephemeral;
use crate::realtime::hub::Hub;
use crate::realtime::presence::{Presence, PresenceSettings};
use crate::realtime::reader::Reader;
use crate::realtime::recent::{Recent, RecentLimits, RecentStats};
use crate::realtime::replay::{ReplayBudget, Replays};
use crate::state::AppState;
use crate::stream_limits::{self, StreamLimits};
use crate::{extract, metrics, openapi, routes, telemetry, tls};

/// HTTP/2's initial flow-control window (RFC 9113 §6.9.2), for streams and connections.
const H2_WINDOW: u32 = 65_535;

/// The database the private cluster serves Parley from.
const DATABASE_NAME: &str = "parley";

pub struct Application {
    port: u16,
    server: Server,
    hub: Arc<Hub>,
    presence: Arc<Presence>,
    recent: Arc<Recent>,
    streams: Arc<StreamLimits>,
    reader: Reader,
    cluster: Option<Cluster>,
}

/// Stops a running application: event streams end first (so clients reconnect
/// elsewhere at once), then the server finishes in-flight requests.
#[derive(Clone)]
pub struct AppHandle {
    server: ServerHandle,
    hub: Arc<Hub>,
    presence: Arc<Presence>,
    streams: Arc<StreamLimits>,
    recent: Arc<Recent>,
}

impl AppHandle {
    pub fn stop(&self, graceful: bool) -> impl std::future::Future<Output = ()> + use<> {
        // Before the streams end: their members' leaves are left to the grace period and
        // another process's sweep, so that clients that reconnect produce none.
        self.presence.stop();
        self.hub.close();
        self.server.stop(graceful)
    }

    /// How many event streams are open (for tests and metrics).
    pub fn open_streams(&self) -> usize {
        self.hub.subscriber_count()
    }

    /// Streams counted against the caps now: from the moment a stream is accepted until its
    /// task has ended and given its slot back.
    pub fn stream_slots(&self) -> usize {
        self.streams.open()
    }

    /// The most event streams the server holds at once (`--max-streams`, or what the
    /// open-file limit allows).
    pub fn max_streams(&self) -> usize {
        self.streams.max()
    }

    /// The most event streams one client address may hold (0: no limit).
    pub fn max_streams_per_address(&self) -> usize {
        self.streams.max_per_address()
    }

    /// What the recent messages kept in memory hold and have answered (for tests).
    pub fn recent_stats(&self) -> RecentStats {
        self.recent.stats()
    }
}

impl Application {
    /// Opens the database (starting the private cluster if no URL is configured), applies
    /// migrations, and binds the listener. The server runs once `run_until_stopped` is
    /// awaited.
    pub async fn build(config: Config) -> Result<Self> {
        for origin in &config.cors_origins {
            check_origin(origin)?;
        }
        // Before the database, so that a taken address fails at once and creates nothing.
        let listener = bind(config.listen)?;
        let address = listener.local_addr()?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
            _ => None,
        };
        let (database_url, cluster) = open_database(&config.database).await?;
        let url = database_url.clone();
        tokio::task::spawn_blocking(move || migrations::run(&url)).await??;

        let db = Db::new(
            &database_url,
            config.database.db_pool_size,
            config.database.db_timeout,
        )
        .with_write_batches(config.database.db_write_batches);
        let head = db.run(|conn| Ok(event_log::head(conn)?)).await?;
        let hub = Hub::new(head);
        let limits = RecentLimits {
            rooms: config.recent.recent_rooms,
            messages: usize::from(config.recent.recent_messages),
            bytes: config.recent.recent_memory as usize,
        };
        let recent = Recent::new(head, limits, db.commits());
        let ephemeral = Ephemeral::new(Arc::clone(&hub), db.clone());
        let reader = Reader::start(
            db.clone(),
            Arc::clone(&hub),
            Arc::clone(&recent),
            database_url.clone(),
            config.retention,
            Arc::clone(&ephemeral),
        );
        let presence = Presence::start(
            db.clone(),
            Arc::clone(&ephemeral),
            PresenceSettings {
                grace: config.presence_grace,
                heartbeat: config.presence_heartbeat,
                server_timeout: config.presence_server_timeout,
                large_room: config.presence_large_room,
            },
        )
        .await
        .context("could not register this server for presence")?;
        let workers = workers();
        let (streams, max_connections) = stream_limits(&config, workers)?;
        let state = web::Data::new(AppState {
            db: db.clone(),
            hub: Arc::clone(&hub),
            recent: Arc::clone(&recent),
            session_ttl: config.session_ttl,
            secure_cookies: config.secure_cookies,
            sse_keep_alive: config.sse_keep_alive,
            body_timeout: config.body_timeout,
            streams: Arc::clone(&streams),
            trusted_proxies: config.trusted_proxies.clone(),
            readiness: Readiness::default(),
            login_limiter: LoginLimiter::default(),
            known_devices: KnownDevices::new(config.secure_cookies)?,
            hashing: Hashing::new(config.hash_queue),
            registrations: RegistrationLimiter::new(config.registrations_per_minute),
            replays: Arc::new(Replays::new(
                db.clone(),
                ReplayBudget::new(
                    config.replay_page_bytes,
                    config.replay_memory,
                    config.replay_stall_timeout,
                ),
            )),
            presence: Arc::clone(&presence),
            ephemeral,
            typing: TypingLimiter::default(),
        });
        let spec = openapi::spec();
        let origins = config.cors_origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(extract::query_config())
                .app_data(extract::path_config())
                .wrap(problems())
                .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
                // Again outside CORS, for the refusals actix-cors answers itself (inside it,
                // CORS headers are added to errors the handlers and actix return).
                .wrap(problems())
                .wrap(from_fn(metrics::record))
                .wrap(from_fn(telemetry::trace_request))
                .configure(routes::configure)
                .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", spec.clone()))
                .default_service(web::to(routes::fallback::not_found))
        })
        // actix-http gives each connection an 8 KiB write buffer and, by default, fills it
        // up to 32 KiB before writing. A stream that replays a backlog would then grow its
        // buffer, and keep the larger one for as long as it stays open (hours, for an idle
        // stream). Writing at 4 KiB keeps frames of up to 4 KiB in the first buffer; a body
        // that arrives in one large piece is written as before.
        .h1_write_buffer_size(4 * 1024)
        // A client that closes its side of the connection has gone: end its response at
        // once, as Go's and hyper's servers do, instead of streaming on until a write
        // fails (for an idle event stream, two keep-alives later). Without this, a closed
        // stream keeps its slot and hub subscription for ~30 s, and a browser that
        // reloads meets the per-address cap. The connection's reader already watches the
        // socket, so this costs nothing per stream. The price: a client that half-closes
        // after sending its request gets no response; no browser or common client does.
        // HTTP/1.1 only: over HTTP/2, a stream the client resets (RST_STREAM), or whose
        // connection closes, is noticed at its next write, so within one `--sse-keep-alive`:
        // actix-http's HTTP/2 dispatcher waits for the body's next chunk before it looks at
        // the stream again.
        .h1_allow_half_closed(false)
        // The connections the open-file limit has room for (see `stream_limits`). Streams
        // are refused (503) well before this, so it is only reached by connections that
        // hold no stream; those end within `client_request_timeout` or `keep_alive` (5 s
        // each, actix's defaults). Meanwhile actix-server stops accepting, and new
        // connections wait in the listen backlog (128), which costs no descriptor; actix
        // offers no way to refuse them outright. Without this limit, accept() fails with
        // EMFILE: actix-server logs it and retries every 500 ms, so new connections wait
        // just the same, and the database pool, the LISTEN connection and log files fail.
        // HTTP/2 buffers a request body the handler has not read yet up to the flow-control
        // windows, which actix raises to 1 MiB per stream and 2 MiB per connection; HTTP/2's
        // own 64 KiB keeps that per connection near what an HTTP/1.1 connection buffers.
        // Responses (event streams) are not affected: the client's windows pace them.
        .h2_initial_window_size(H2_WINDOW)
        .h2_initial_connection_window_size(H2_WINDOW)
        .workers(workers)
        .max_connections(max_connections);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            // ALPN offers h2 and http/1.1; browsers take h2, so one connection carries all of
            // a browser's streams and requests to this server.
            Some(tls) => server.listen_rustls_0_23(listener, tls)?,
            // HTTP/1.1, and HTTP/2 from a client that starts with its preface.
            None if config.h2c => server.listen_auto_h2c(listener)?,
            None => server.listen(listener)?,
        }
        // main decides when to stop (see `handle`), so that streams can be closed first.
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_millis().div_ceil(1000) as u64)
        .run();
        // Scripts and tests read the address from the end of this line.
        tracing::info!("listening on {scheme}://{address}");
        Ok(Self {
            port: address.port(),
            server,
            hub,
            presence,
            recent,
            streams,
            reader,
            cluster,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> AppHandle {
        AppHandle {
            server: self.server.handle(),
            hub: Arc::clone(&self.hub),
            presence: Arc::clone(&self.presence),
            streams: Arc::clone(&self.streams),
            recent: Arc::clone(&self.recent),
        }
    }

    /// Serves until stopped, then stops the event reader and the private cluster if this
    /// process started it.
    pub async fn run_until_stopped(self) -> Result<()> {
        self.server.await?;
        self.presence.stop();
        self.hub.close();
        self.reader.stop();
        if let Some(cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// actix's default: one worker per available core.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// The stream caps, and the connections each worker may hold, from the open-file limit
/// (which main has raised to the hard limit) unless `--max-streams` is given.
fn stream_limits(config: &Config, workers: usize) -> Result<(Arc<StreamLimits>, usize)> {
    let fd_limit =
        stream_limits::open_file_limit().context("could not read the open file limit")?;
    let budget = stream_limits::fd_budget(fd_limit, config.database.db_pool_size, workers);
    let max_streams = match config.max_streams {
        Some(max) => {
            if max > budget.streams {
                tracing::warn!(
                    max_streams = max,
                    fd_limit,
                    fits = budget.streams,
                    "--max-streams is more than the open file limit leaves room for: past that, new connections wait instead of being refused"
                );
            }
            max
        }
        None if budget.streams == 0 => bail!(
            "the open file limit ({fd_limit}) leaves no room for event streams; raise it (ulimit -n) or set --max-streams"
        ),
        None => budget.streams,
    };
    tracing::info!(
        fd_limit,
        max_streams,
        max_streams_per_address = config.max_streams_per_address,
        max_connections = budget.connections,
        "event stream limits"
    );
    let per_worker = (budget.connections / workers).max(1);
    Ok((
        Arc::new(StreamLimits::new(
            max_streams,
            config.max_streams_per_address,
        )),
        per_worker,
    ))
}

/// Binds the API's address, with an error that says what to do about the usual causes.
fn bind(address: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address).map_err(|error| {
        let cause = match error.kind() {
            io::ErrorKind::AddrInUse => {
                "address already in use (is another Parley running?)".to_owned()
            }
            io::ErrorKind::PermissionDenied => {
                "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)".to_owned()
            }
            _ => error.to_string(),
        };
        anyhow!(
            "could not listen on {address}: {cause}; choose another address with --listen or \
             PARLEY_LISTEN"
        )
    })
}

/// Runs the migrations, starting and stopping the private cluster if needed.
pub async fn migrate(config: &DatabaseConfig) -> Result<()> {
    let (url, cluster) = open_database(config).await?;
    tokio::task::spawn_blocking(move || {
        migrations::run(&url)?;
        cluster.map(Cluster::stop).transpose()
    })
    .await??;
    Ok(())
}

async fn open_database(config: &DatabaseConfig) -> Result<(String, Option<Cluster>)> {
    if let Some(url) = &config.database_url {
        return Ok((url.clone(), None));
    }
    let chosen = config.data_dir.clone();
    let options = ClusterOptions {
        bin_dir: config.pg_bin_dir.clone(),
        ..ClusterOptions::default()
    };
    let cluster = tokio::task::spawn_blocking(move || -> Result<Cluster> {
        // A directory the operator named is used or refused, never swapped for another.
        let dir = match chosen {
            Some(dir) => dir,
            None => cluster::default_data_dir()?,
        };
        let cluster = Cluster::start(&dir, &options)?;
        cluster.ensure_database(DATABASE_NAME)?;
        Ok(cluster)
    })
    .await??;
    Ok((cluster.url(DATABASE_NAME), Some(cluster)))
}

/// Every error response as problem+json.
fn problems<B: actix_web::body::MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(routes::fallback::problem_for_bare_errors)
}

/// Browsers on the listed origins may call the API with credentials; others get no CORS
/// headers (and so no access), but their requests are not rejected outright because
/// same-origin pages also send `Origin`.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("stream-position"),
        ])
        .supports_credentials()
        .max_age(3600)
        .block_on_origin_mismatch(false)
}

fn check_origin(origin: &str) -> Result<()> {
    let uri: actix_web::http::Uri = origin
        .parse()
        .with_context(|| format!("--cors-origin {origin:?} is not a URL"))?;
    let plain = matches!(uri.scheme_str(), Some("http" | "https"))
        && uri.authority().is_some()
        && matches!(uri.path(), "" | "/")
        && uri.query().is_none()
        && !origin.ends_with('/');
    if !plain {
        bail!(
            "--cors-origin {origin:?} must be an origin such as https://app.example.com (scheme, host, optional port; no path)"
        );
    }
    Ok(())
}
