//! `spawn_app()`: a server on a free port, over a fresh database cloned from a migrated
//! template in a throwaway cluster (or on the server `DATABASE_URL` names).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};
use parley::config::Config;
use parley::db::cluster::{Cluster, ClusterOptions, quote_ident};
use parley::startup::{AppHandle, Application};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

use crate::user::{TestUser, credentials};

struct TestServer {
    /// Kept alive for the whole run; the kernel stops it when this process exits.
    _cluster: Option<Cluster>,
    admin_url: String,
    base_url: String,
    template: String,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            parley::telemetry::init();
        }
        let (cluster, base_url) = match std::env::var("DATABASE_URL") {
            Ok(url) => (None, url),
            Err(_) => {
                let dir = cluster_dir();
                let options = ClusterOptions {
                    ephemeral: true,
                    max_connections: Some(300),
                    ..ClusterOptions::default()
                };
                let cluster =
                    Cluster::start(&dir, &options).expect("start a throwaway PostgreSQL cluster");
                let url = cluster.url("postgres");
                (Some(cluster), url)
            }
        };
        let admin_url = base_url.clone();
        let template = format!("parley_template_{}", std::process::id());
        let mut admin = PgConnection::establish(&admin_url).expect("connect to the test server");
        diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&template)))
            .execute(&mut admin)
            .expect("create the template database");
        parley::db::migrations::run(&with_database(&base_url, &template))
            .expect("migrate the template");
        TestServer {
            _cluster: cluster,
            admin_url,
            base_url,
            template,
        }
    })
}

/// `/tmp/parley-test-<pid>`, readable by the unprivileged user PostgreSQL runs as when
/// tests run as root. Directories of earlier runs whose process has gone are removed.
fn cluster_dir() -> PathBuf {
    let tmp = std::env::temp_dir();
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("parley-test-")
            && !PathBuf::from(format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = tmp.join(format!("parley-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the test cluster directory");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The same server, another database: works for libpq keyword strings and URLs.
fn with_database(url: &str, database: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (rest, query) = rest
            .split_once('?')
            .map_or((rest, None), |(r, q)| (r, Some(q)));
        let host = rest.split('/').next().unwrap_or(rest);
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        format!("{scheme}://{host}/{database}{query}")
    } else {
        format!("{url} dbname={database}")
    }
}

fn create_test_database() -> (String, String) {
    let server = server();
    let name = format!(
        "parley_test_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::establish(&server.admin_url).expect("connect to the test server");
    diesel::sql_query(format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quote_ident(&name),
        quote_ident(&server.template)
    ))
    .execute(&mut admin)
    .expect("clone the template database");
    (with_database(&server.base_url, &name), name)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    database: String,
    pub handle: AppHandle,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A fresh, migrated database of its own, for a test that runs the binary itself.
/// Returns its URL and name.
pub fn fresh_database() -> (String, String) {
    create_test_database()
}

/// `spawn_app` with settings changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let (database_url, database) = tokio::task::spawn_blocking(create_test_database)
        .await
        .expect("create a test database");
    let mut app = spawn_app_on(&database_url, configure).await;
    app.database = database;
    app
}

/// Another server on an existing database (a second instance of the same service).
/// Only the `TestApp` from `spawn_app` drops the database.
pub async fn spawn_app_on(database_url: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_database(database_url);
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.database.db_pool_size = 4;
    configure(&mut config);
    let app = Application::build(config).await.expect("build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client(),
        database_url: database_url.to_owned(),
        database: String::new(),
        handle,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        drop(handle.stop(false));
        if self.database.is_empty() {
            return;
        }
        let admin_url = server().admin_url.clone();
        let database = self.database.clone();
        // Dropping from a plain thread: Drop cannot await, and the runtime may be ending.
        let dropped = std::thread::spawn(move || {
            let mut admin = PgConnection::establish(&admin_url)?;
            diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&database)
            ))
            .execute(&mut admin)
            .map(drop)
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        });
        let _ = dropped.join();
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None)
            .send()
            .await
            .expect("GET")
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn register(&self, username: &str) -> Response {
        self.send_json(Method::POST, "/api/users", None, &credentials(username))
            .await
    }

    pub async fn login(&self, username: &str) -> Response {
        self.send_json(Method::POST, "/api/sessions", None, &credentials(username))
            .await
    }

    /// Registers `username` and logs in: a user whose requests carry its bearer token.
    pub async fn signed_in(&self, username: &str) -> TestUser {
        TestUser::sign_up(&self.client, &self.address, username).await
    }

    /// A new session of `username`, registered before.
    pub async fn logged_in(&self, username: &str) -> TestUser {
        TestUser::log_in(&self.client, &self.address, username).await
    }

    /// Every note key, following cursors to the end.
    pub async fn all_note_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut path = "/api/notes?limit=100".to_owned();
        loop {
            let page: Value = self.get(&path).await.json().await.expect("page");
            for item in page["items"].as_array().expect("items") {
                keys.push(item["key"].as_str().expect("key").to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/notes?limit=100&cursor={cursor}"),
                None => return keys,
            }
        }
    }
}

/// The tests' HTTP client. It drops pooled connections idle for 2 s, well inside the
/// server's 5 s keep-alive: a connection reused just as the server closes it for being
/// idle fails with `IncompleteMessage` (a race of HTTP/1.1 keep-alive itself, which a
/// test that waits ~5 s for a count between two requests hit once in CI).
pub fn client() -> reqwest::Client {
    client_builder().build().expect("an HTTP client")
}

/// [`client`]'s settings, for clients that add their own (a user's bearer token).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(2))
}
