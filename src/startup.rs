//! Builds the application the same way for `main`, the tests and the benchmarks.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::{Method, header};
use actix_web::middleware::{Condition, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::{Context, Result, bail};
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{Config, DatabaseConfig};
use crate::db::cluster::{Cluster, ClusterOptions};
use crate::db::{Db, events, migrations};
use crate::events::hub::Hub;
use crate::events::reader::Reader;
use crate::events::stream::ReplayBudget;
use crate::rate_limit::{LoginLimiter, StreamLimiter};
use crate::{extract, metrics, openapi, routes};

/// The database the private cluster serves Parley from.
const DATABASE_NAME: &str = "parley";

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub hub: Arc<Hub>,
    pub session_ttl: Duration,
    pub secure_cookies: bool,
    pub sse_keep_alive: Duration,
    pub login_limiter: LoginLimiter,
    pub body_timeout: Duration,
    pub streams_per_address: StreamLimiter,
    pub replay: ReplayBudget,
}

pub struct Application {
    port: u16,
    server: Server,
    hub: Arc<Hub>,
    reader: Reader,
    cluster: Option<Cluster>,
}

/// Stops a running application: event streams end first (so clients reconnect
/// elsewhere at once), then the server finishes in-flight requests.
#[derive(Clone)]
pub struct AppHandle {
    server: ServerHandle,
    hub: Arc<Hub>,
}

impl AppHandle {
    pub fn stop(&self, graceful: bool) -> impl std::future::Future<Output = ()> + use<> {
        self.hub.close();
        self.server.stop(graceful)
    }

    /// How many event streams are open (for tests and metrics).
    pub fn open_streams(&self) -> usize {
        self.hub.subscriber_count()
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
        let (database_url, cluster) = open_database(&config.database).await?;
        let url = database_url.clone();
        tokio::task::spawn_blocking(move || migrations::run(&url)).await??;

        let db = Db::new(
            &database_url,
            config.database.db_pool_size,
            config.database.db_timeout,
        );
        let head = db.run(|conn| Ok(events::head(conn)?)).await?;
        let hub = Hub::new(head);
        let reader = Reader::start(
            db.clone(),
            Arc::clone(&hub),
            database_url.clone(),
            config.retention,
        );
        let state = web::Data::new(AppState {
            db,
            hub: Arc::clone(&hub),
            session_ttl: config.session_ttl,
            secure_cookies: config.secure_cookies,
            sse_keep_alive: config.sse_keep_alive,
            login_limiter: LoginLimiter::default(),
            body_timeout: config.body_timeout,
            streams_per_address: StreamLimiter::new(config.max_streams_per_address),
            replay: ReplayBudget::new(
                config.replay_page_bytes,
                config.replay_memory,
                config.replay_stall_timeout,
            ),
        });
        let listener = TcpListener::bind(config.listen)
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        let spec = openapi::spec();
        let origins = config.cors_origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(extract::query_config())
                .app_data(extract::path_config())
                .wrap(
                    ErrorHandlers::new().default_handler(routes::fallback::problem_for_bare_errors),
                )
                .wrap(from_fn(metrics::record))
                .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
                .wrap(TracingLogger::default())
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
        .listen(listener)?
        // main decides when to stop (see `handle`), so that streams can be closed first.
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_millis().div_ceil(1000) as u64)
        .run();
        tracing::info!("listening on http://{address}");
        Ok(Self {
            port: address.port(),
            server,
            hub,
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
        }
    }

    /// Serves until stopped, then stops the event reader and the private cluster if this
    /// process started it.
    pub async fn run_until_stopped(self) -> Result<()> {
        self.server.await?;
        self.hub.close();
        self.reader.stop();
        if let Some(cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
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
    let dir = config.data_dir.clone();
    let options = ClusterOptions {
        bin_dir: config.pg_bin_dir.clone(),
        ..ClusterOptions::default()
    };
    let cluster = tokio::task::spawn_blocking(move || -> Result<Cluster> {
        let cluster = Cluster::start(&dir, &options)?;
        cluster.ensure_database(DATABASE_NAME)?;
        Ok(cluster)
    })
    .await??;
    Ok((cluster.url(DATABASE_NAME), Some(cluster)))
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
