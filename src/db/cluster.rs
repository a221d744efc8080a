//! A private PostgreSQL cluster run as a child process, for when no `DATABASE_URL` is given.
//!
//! The cluster lives in `<data-dir>/postgres`, listens only on a unix socket inside that
//! directory (`listen_addresses=''`), so it never clashes with a system PostgreSQL, and
//! is stopped when the server stops. PostgreSQL refuses to run as root: when we are root,
//! `initdb` and `postgres` run as the unprivileged `postgres` (or `nobody`) user, and the
//! default data directory moves under `/var/lib/parley` if that user cannot reach it.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use diesel::{Connection, PgConnection, RunQueryDsl};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};

/// The database role `initdb` creates; it owns everything in the private cluster.
const SUPERUSER: &str = "parley";
const CLUSTER_SUBDIR: &str = "postgres";
const LOG_FILE: &str = "postgres.log";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// The data directory when the operator names none, relative to the working directory.
const DEFAULT_DATA_DIR: &str = "data";
/// Where the default data directory goes when PostgreSQL's user cannot reach it: kept
/// across reboots (unlike `/tmp`), writable only by root, and short enough for the socket.
const FALLBACK_ROOT: &str = "/var/lib/parley";

#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Where `initdb` and `postgres` are; found automatically when `None`.
    pub bin_dir: Option<PathBuf>,
    /// Trade durability for speed (no fsync): for throwaway test clusters only.
    pub ephemeral: bool,
    pub max_connections: Option<u32>,
}

/// A running private cluster. Stopped (fast shutdown) by `stop` or on drop when this
/// process started it; a cluster another live process started is only borrowed.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    postmaster: Option<Postmaster>,
}

#[derive(Debug)]
struct Postmaster {
    pid: Pid,
    supervisor: JoinHandle<io::Result<ExitStatus>>,
}

impl Cluster {
    /// Creates the cluster on first use (`initdb`), starts it, and waits until it accepts
    /// connections. Blocking: call it before the async runtime serves requests.
    ///
    /// A start that fails removes the directories it created, unless they now hold a
    /// cluster, so a failed first run leaves nothing behind.
    pub fn start(data_dir: &Path, options: &ClusterOptions) -> Result<Self> {
        let bin_dir = find_bin_dir(options.bin_dir.as_deref())?;
        let data_dir = resolve(data_dir)?;
        let run_as = RunAs::for_current_user()?;
        check_socket_path_length(&data_dir.join(CLUSTER_SUBDIR))?;
        let created = create_dirs(&data_dir, run_as.as_ref())?;
        let started = Self::start_in(&bin_dir, &data_dir, run_as.as_ref(), options);
        if started.is_err()
            && let Some(top) = created
        {
            remove_what_a_failed_start_left(&data_dir, &top);
        }
        started
    }

    fn start_in(
        bin_dir: &Path,
        data_dir: &Path,
        run_as: Option<&RunAs>,
        options: &ClusterOptions,
    ) -> Result<Self> {
        if let Some(user) = run_as {
            user.check_can_reach(data_dir)?;
        }
        let dir = data_dir.join(CLUSTER_SUBDIR);
        if !dir.join("PG_VERSION").exists() {
            init_cluster(bin_dir, data_dir, &dir, run_as, options)?;
        }
        let log_path = data_dir.join(LOG_FILE);

        let postmaster = match running_postmaster(&dir)? {
            Some(pid) => {
                tracing::info!(%pid, dir = %dir.display(), "using the PostgreSQL cluster another process already runs");
                None
            }
            None => Some(spawn_postmaster(bin_dir, &dir, &log_path, run_as, options)?),
        };
        let cluster = Self { dir, postmaster };
        cluster.wait_until_ready(&log_path)?;
        Ok(cluster)
    }

    /// A libpq connection string for `database` over the cluster's private socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "host={} user={SUPERUSER} dbname={}",
            conninfo_quote(&self.dir.to_string_lossy()),
            conninfo_quote(database)
        )
    }

    /// Creates `database` unless it exists.
    pub fn ensure_database(&self, database: &str) -> Result<()> {
        let mut conn = PgConnection::establish(&self.url("postgres"))
            .context("could not connect to the private PostgreSQL cluster")?;
        let exists = diesel::select(diesel::dsl::exists(
            pg_database::table.filter(pg_database::datname.eq(database)),
        ))
        .get_result::<bool>(&mut conn)?;
        if !exists {
            diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(database)))
                .execute(&mut conn)
                .with_context(|| format!("could not create database {database}"))?;
            tracing::info!(database, "created database");
        }
        Ok(())
    }

    /// Fast shutdown: open sessions are ended, committed work is kept.
    pub fn stop(mut self) -> Result<()> {
        self.stop_postmaster()
    }

    fn stop_postmaster(&mut self) -> Result<()> {
        let Some(postmaster) = self.postmaster.take() else {
            return Ok(());
        };
        // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        if kill(postmaster.pid, Signal::SIGINT).is_err() {
            return Ok(()); // already gone
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while !postmaster.supervisor.is_finished() {
            if Instant::now() > deadline {
                tracing::warn!("PostgreSQL did not stop in time; sending SIGQUIT");
                let _ = kill(postmaster.pid, Signal::SIGQUIT);
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let status = postmaster
            .supervisor
            .join()
            .map_err(|_| anyhow::anyhow!("the PostgreSQL supervisor thread panicked"))??;
        tracing::info!(%status, "PostgreSQL stopped");
        Ok(())
    }

    fn wait_until_ready(&self, log_path: &Path) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = self.url("postgres");
        loop {
            match PgConnection::establish(&url) {
                Ok(_) => return Ok(()),
                Err(error) => {
                    let exited = self
                        .postmaster
                        .as_ref()
                        .is_some_and(|p| p.supervisor.is_finished());
                    if exited || Instant::now() > deadline {
                        bail!(
                            "PostgreSQL did not start ({error}). Its log, {}, ends with:\n{}",
                            log_path.display(),
                            log_tail(log_path)
                        );
                    }
                    thread::sleep(Duration::from_millis(25));
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(error) = self.stop_postmaster() {
            tracing::error!(error = ?error, "could not stop PostgreSQL");
        }
    }
}

diesel::table! {
    pg_database (datname) {
        datname -> Text,
    }
}
use diesel::{ExpressionMethods, QueryDsl};

/// The unprivileged user PostgreSQL runs as when this process is root.
struct RunAs {
    name: String,
    uid: Uid,
    gid: Gid,
}

impl RunAs {
    fn for_current_user() -> Result<Option<Self>> {
        if !Uid::effective().is_root() {
            return Ok(None);
        }
        for name in ["postgres", "nobody"] {
            if let Some(user) = User::from_name(name)? {
                return Ok(Some(Self {
                    name: user.name,
                    uid: user.uid,
                    gid: user.gid,
                }));
            }
        }
        bail!(
            "PostgreSQL refuses to run as root, and neither a `postgres` nor a `nobody` user exists \
             to run it as. Create one (`useradd --system postgres`) or set DATABASE_URL."
        )
    }

    /// Every directory above the cluster must be searchable by the unprivileged user.
    fn check_can_reach(&self, dir: &Path) -> Result<()> {
        if let Some(closed) = self.first_closed_ancestor(dir)? {
            bail!(
                "PostgreSQL must run as the unprivileged user `{}` (it refuses root), but that user \
                 cannot enter {}. Make it searchable (`chmod o+x {}`), choose another --data-dir \
                 (without one, Parley keeps its cluster under {FALLBACK_ROOT}), or set DATABASE_URL.",
                self.name,
                closed.display(),
                closed.display()
            );
        }
        Ok(())
    }

    /// The first directory on the way to `dir` that this user may not enter. Directories
    /// that do not exist yet are skipped: root creates them enterable (see `create_dirs`).
    fn first_closed_ancestor(&self, dir: &Path) -> Result<Option<PathBuf>> {
        for ancestor in dir.ancestors() {
            let meta = match fs::metadata(ancestor) {
                Ok(meta) => meta,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("could not read {}", ancestor.display()));
                }
            };
            let mode = meta.permissions().mode();
            let searchable = mode & 0o001 != 0
                || (std::os::unix::fs::MetadataExt::uid(&meta) == self.uid.as_raw()
                    && mode & 0o100 != 0);
            if !searchable {
                return Ok(Some(ancestor.to_owned()));
            }
        }
        Ok(None)
    }

    fn apply(&self, command: &mut Command) {
        command.uid(self.uid.as_raw()).gid(self.gid.as_raw());
    }

    fn own(&self, path: &Path) -> Result<()> {
        chown(path, Some(self.uid.as_raw()), Some(self.gid.as_raw()))
            .with_context(|| format!("could not give {} to user {}", path.display(), self.name))
    }
}

/// Where the cluster goes when the operator named no data directory: `./data`, unless we
/// are root and PostgreSQL's user cannot reach it (a checkout under `/root`, or any `0700`
/// directory). Then a directory under `/var/lib/parley` named after the absolute path of
/// `./data` takes its place, so each checkout keeps its own cluster there. Wherever a
/// cluster already exists wins, so the choice never changes under existing data.
pub fn default_data_dir() -> Result<PathBuf> {
    let local = resolve(Path::new(DEFAULT_DATA_DIR))?;
    let Some(user) = RunAs::for_current_user()? else {
        return Ok(local);
    };
    let fallback = Path::new(FALLBACK_ROOT).join(path_digest(&local));
    let has_cluster = |dir: &Path| dir.join(CLUSTER_SUBDIR).join("PG_VERSION").exists();
    if has_cluster(&local) {
        return Ok(local);
    }
    let reason = if has_cluster(&fallback) {
        "an earlier run created it there".to_owned()
    } else {
        match user.first_closed_ancestor(&local)? {
            None => return Ok(local),
            Some(closed) => format!(
                "PostgreSQL runs as `{}`, who cannot enter {}",
                user.name,
                closed.display()
            ),
        }
    };
    tracing::info!(
        "the private PostgreSQL cluster for {} is in {} ({reason})",
        local.display(),
        fallback.display()
    );
    Ok(fallback)
}

/// A stable name for a directory: the first 16 hex digits of the SHA-256 of its path
/// (`printf %s PATH | sha256sum | cut -c1-16`).
fn path_digest(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    use std::os::unix::ffi::OsStrExt;
    Sha256::digest(path.as_os_str().as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `dir` as an absolute path with the symlinks of its existing part resolved, so that one
/// directory has one name (the fallback directory is named after it).
fn resolve(dir: &Path) -> Result<PathBuf> {
    let absolute =
        std::path::absolute(dir).with_context(|| format!("could not resolve {}", dir.display()))?;
    for ancestor in absolute.ancestors() {
        if let (Ok(real), Ok(rest)) = (ancestor.canonicalize(), absolute.strip_prefix(ancestor)) {
            return Ok(if rest.as_os_str().is_empty() {
                real
            } else {
                real.join(rest)
            });
        }
    }
    Ok(absolute)
}

/// Creates `dir` and its missing parents, returning the topmost one it created. As root,
/// they are made enterable by all (`0755`), whatever the umask: PostgreSQL's user must
/// pass through them, and the cluster inside is `0700`.
fn create_dirs(dir: &Path, run_as: Option<&RunAs>) -> Result<Option<PathBuf>> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
    fs::create_dir_all(dir)
        .with_context(|| format!("could not create the data directory {}", dir.display()))?;
    if run_as.is_some() {
        for created in &missing {
            fs::set_permissions(created, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("could not open up {}", created.display()))?;
        }
    }
    Ok(missing.last().map(|top| top.to_path_buf()))
}

/// After a failed start: removes a half-made cluster and every directory from `dir` up to
/// `top` that this run created and that is now empty. A cluster that exists stays, with
/// its log, whatever the error was.
fn remove_what_a_failed_start_left(dir: &Path, top: &Path) {
    let _ = fs::remove_dir_all(dir.join(format!("{CLUSTER_SUBDIR}.initdb")));
    for created in dir.ancestors() {
        if fs::remove_dir(created).is_err() || created == top {
            break;
        }
    }
}

fn init_cluster(
    bin_dir: &Path,
    data_dir: &Path,
    dir: &Path,
    run_as: Option<&RunAs>,
    options: &ClusterOptions,
) -> Result<()> {
    // initdb into a scratch directory and rename it into place, so a run interrupted
    // half-way never leaves a directory that looks like a cluster but is not one.
    let scratch = data_dir.join(format!("{CLUSTER_SUBDIR}.initdb"));
    if scratch.exists() {
        fs::remove_dir_all(&scratch)
            .with_context(|| format!("could not remove {}", scratch.display()))?;
    }
    fs::create_dir(&scratch)?;
    fs::set_permissions(&scratch, fs::Permissions::from_mode(0o700))?;
    if let Some(user) = run_as {
        user.own(&scratch)?;
    }
    tracing::info!(dir = %dir.display(), "creating a private PostgreSQL cluster (first run)");
    let mut initdb = Command::new(bin_dir.join("initdb"));
    initdb
        .arg("--pgdata")
        .arg(&scratch)
        .args([
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
        ])
        .args(["--no-locale", "--no-instructions"])
        .current_dir(&scratch)
        .stdin(Stdio::null());
    if options.ephemeral {
        initdb.arg("--no-sync");
    }
    if let Some(user) = run_as {
        user.apply(&mut initdb);
    }
    let output = initdb
        .output()
        .with_context(|| format!("could not run {}", bin_dir.join("initdb").display()))?;
    if !output.status.success() {
        bail!(
            "initdb failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::rename(&scratch, dir)
        .with_context(|| format!("could not move the new cluster to {}", dir.display()))?;
    Ok(())
}

/// The pid of a live postmaster that owns `dir`, if any. A lock file left by a crashed run
/// (its pid dead, or reused by something that is not PostgreSQL) is removed, because
/// PostgreSQL itself refuses to start when the pid was reused.
fn running_postmaster(dir: &Path) -> Result<Option<Pid>> {
    let lock = dir.join("postmaster.pid");
    let Ok(contents) = fs::read_to_string(&lock) else {
        return Ok(None);
    };
    let pid = contents
        .lines()
        .next()
        .and_then(|line| line.trim().parse::<i32>().ok())
        .filter(|pid| *pid > 0)
        .map(Pid::from_raw);
    if let Some(pid) = pid
        && is_postgres_process(pid)
    {
        return Ok(Some(pid));
    }
    tracing::warn!(lock = %lock.display(), "removing a stale PostgreSQL lock file from a run that did not stop cleanly");
    fs::remove_file(&lock).with_context(|| format!("could not remove {}", lock.display()))?;
    let socket_lock = dir.join(".s.PGSQL.5432.lock");
    if socket_lock.exists() {
        fs::remove_file(&socket_lock)
            .with_context(|| format!("could not remove {}", socket_lock.display()))?;
    }
    Ok(None)
}

fn is_postgres_process(pid: Pid) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|name| matches!(name.trim(), "postgres" | "postmaster"))
        .unwrap_or(false)
}

fn spawn_postmaster(
    bin_dir: &Path,
    dir: &Path,
    log_path: &Path,
    run_as: Option<&RunAs>,
    options: &ClusterOptions,
) -> Result<Postmaster> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("could not open {}", log_path.display()))?;
    let mut command = Command::new(bin_dir.join("postgres"));
    command
        .arg("-D")
        .arg(dir)
        .arg("-c")
        .arg("listen_addresses=")
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .args(["-c", "unix_socket_permissions=0700"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal reaches only Parley, which then
        // finishes in-flight requests before stopping PostgreSQL.
        .process_group(0);
    if let Some(max) = options.max_connections {
        command.arg("-c").arg(format!("max_connections={max}"));
    }
    if options.ephemeral {
        for setting in [
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ] {
            command.args(["-c", setting]);
        }
    }
    if let Some(user) = run_as {
        user.apply(&mut command);
    }
    set_parent_death_signal(&mut command);

    // The death signal follows the *thread* that spawned the child, so spawn it from a
    // thread that lives exactly as long as the postmaster.
    let (pid_tx, pid_rx) = mpsc::channel();
    let supervisor = thread::Builder::new().name("postgres".into()).spawn(
        move || -> io::Result<ExitStatus> {
            let mut child = match command.spawn() {
                Ok(child) => child,
                Err(error) => {
                    let _ = pid_tx.send(Err(error));
                    return Ok(ExitStatus::default());
                }
            };
            let _ = pid_tx.send(Ok(child.id()));
            child.wait()
        },
    )?;
    let pid = pid_rx
        .recv()
        .context("the PostgreSQL supervisor thread ended early")?
        .with_context(|| format!("could not run {}", bin_dir.join("postgres").display()))?;
    let pid = Pid::from_raw(i32::try_from(pid).context("pid out of range")?);
    tracing::info!(%pid, dir = %dir.display(), "started private PostgreSQL");
    Ok(Postmaster { pid, supervisor })
}

/// If this process dies without stopping the cluster (even `kill -9`), the kernel sends
/// the postmaster SIGINT, a fast shutdown, so no orphan keeps the data directory locked.
#[allow(unsafe_code)]
fn set_parent_death_signal(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only makes the
    // async-signal-safe prctl(2) system call.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Some(Signal::SIGINT)).map_err(io::Error::from)
        });
    }
}

/// Finds the directory with `initdb` and `postgres`: the explicit one, then `PATH`, then
/// `pg_config --bindir`, then `/usr/lib/postgresql/<newest>/bin`.
pub fn find_bin_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = explicit {
        if has_server(dir) {
            return Ok(dir.to_owned());
        }
        bail!(
            "--pg-bin-dir {} does not contain the PostgreSQL server programs initdb and postgres; \
             point it at their directory (Debian: /usr/lib/postgresql/<version>/bin), or use an \
             existing database with --database-url / DATABASE_URL",
            dir.display()
        );
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    debian.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    on_path
        .into_iter()
        .chain(from_pg_config)
        .chain(debian.into_iter().map(|(_, dir)| dir))
        .find(|dir| has_server(dir))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the PostgreSQL server programs (initdb, postgres) were not found on PATH, by \
                 `pg_config --bindir`, or under /usr/lib/postgresql/*/bin.\n\
                 Either install them (Debian/Ubuntu: `apt-get install postgresql`; Fedora: \
                 `dnf install postgresql-server`), or point \
                 Parley at them with --pg-bin-dir, or use an existing database with \
                 --database-url / DATABASE_URL=postgres://user@host/dbname"
            )
        })
}

fn check_socket_path_length(dir: &Path) -> Result<()> {
    // sockaddr_un holds 107 bytes of path.
    let socket = dir.join(".s.PGSQL.5432");
    if socket.as_os_str().len() > 107 {
        bail!(
            "the data directory path is too long for a unix socket ({} bytes, at most 107 with \
             `/postgres/.s.PGSQL.5432`): choose a shorter --data-dir",
            socket.as_os_str().len()
        );
    }
    Ok(())
}

fn log_tail(path: &Path) -> String {
    const TAIL: u64 = 2000;
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
        let _ = file.read_to_string(&mut text);
    }
    text
}

fn conninfo_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_values_are_quoted() {
        assert_eq!(conninfo_quote("/a b/it's"), r"'/a b/it\'s'");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident(r#"we"ird"#), r#""we""ird""#);
    }
}
