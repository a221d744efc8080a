use std::process::ExitCode;

use clap::Parser;
use parley::config::{Cli, Command};
use parley::startup::{self, Application};
use tokio::signal::unix::{SignalKind, signal};

mod malloc;

fn main() -> ExitCode {
    // Before any other thread exists, so that every allocation follows the same rule.
    let tuned = malloc::return_large_blocks_to_the_system();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("parley: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(tuned))
}

async fn run(malloc_tuned: bool) -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", parley::openapi::spec_json());
        return ExitCode::SUCCESS;
    }
    parley::telemetry::init();
    if !malloc_tuned {
        tracing::warn!(
            "could not fix malloc's mmap threshold: each password hash may stay resident"
        );
    }
    let result = match cli.command {
        Some(Command::Migrate) => startup::migrate(&cli.config.database).await,
        _ => serve(cli.config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Once, on stderr: the log (stdout) says what led up to it.
            eprintln!("parley: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: parley::config::Config) -> anyhow::Result<()> {
    raise_open_file_limit();
    let app = Application::build(config).await?;
    let handle = app.handle();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
        }
        handle.stop(true).await;
    });
    app.run_until_stopped().await
}

/// Every event stream is an open socket: allow as many as the hard limit permits, not the
/// soft default (often 1024).
fn raise_open_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(%error, soft, hard, "could not raise the open file limit");
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not read the open file limit"),
    }
}
