use std::process::ExitCode;

use clap::Parser;
use parley::config::{Cli, Command};
use parley::startup::{self, Application};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", parley::openapi::spec_json());
        return ExitCode::SUCCESS;
    }
    parley::telemetry::init();
    let result = match cli.command {
        Some(Command::Migrate) => startup::migrate(&cli.config.database).await,
        _ => serve(cli.config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("parley: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: parley::config::Config) -> anyhow::Result<()> {
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
