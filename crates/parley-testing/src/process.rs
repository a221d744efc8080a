//! The real `parley` binary as a child process, for tests that read its memory or its log,
//! run it under limits an in-process server cannot have, or stop it with a signal.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A bound on the wait for the server to listen, so a broken start fails the test.
const PATIENCE: Duration = Duration::from_secs(60);

/// A command for `program` without the caller's `PARLEY_*` and `DATABASE_URL` settings, so
/// that the server runs with exactly what the test gives it.
pub fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars() {
        if name.starts_with("PARLEY_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
}

/// A running server process; killed when dropped, however the test ends.
pub struct Process {
    pub child: Child,
    /// Where it listens: `http://127.0.0.1:<port>`.
    pub address: String,
    /// What it logged before it listened.
    pub log: Vec<String>,
    /// Every line it logs from then on, as raw bytes (see [`Process::take_lines`]).
    lines: mpsc::Receiver<Vec<u8>>,
}

impl Process {
    /// Spawns `command` with `RUST_LOG=info` and its standard output captured, and waits
    /// for the line that says where it listens. The output keeps being read, so the server
    /// never blocks on a full pipe.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run parley");
        let stdout = child.stdout.take().expect("parley's standard output");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let mut log = Vec::new();
        let address = loop {
            let line = lines
                .recv_timeout(PATIENCE)
                .expect("parley exited before it listened");
            let line = String::from_utf8_lossy(&line).into_owned();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().to_owned();
            }
            log.push(line);
        };
        Self {
            child,
            address,
            log,
            lines,
        }
    }

    /// `127.0.0.1:<port>`, for raw sockets.
    pub fn socket_address(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("a pid"))
    }

    /// The server's resident memory, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// The log lines written after it listened (only once: later calls get none).
    pub fn take_lines(&mut self) -> mpsc::Receiver<Vec<u8>> {
        std::mem::replace(&mut self.lines, mpsc::channel().1)
    }

    /// Stops it with SIGTERM, as an operator would, and returns how it exited.
    pub fn terminate(&mut self) -> ExitStatus {
        kill(self.pid(), Signal::SIGTERM).expect("SIGTERM");
        self.child.wait().expect("wait for parley")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
