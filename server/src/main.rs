//! The `elysium` binary.

use clap::Parser;
use elysium_server::commands::{Cli, Command, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match runtime(&cli) {
        Ok(runtime) => runtime.block_on(start(cli)),
        Err(error) => {
            eprintln!("elysium: cannot start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `elysium worker` runs on one async thread and as many blocking threads as it has workers:
/// its CPU work already has each worker's own pool (`ELYSIUM_INTRA_THREADS`), and reading a
/// series from the object store on spare threads besides would let one worker process spread
/// over cores that the next process on the machine is meant to have. Everything else gets
/// tokio's defaults.
fn runtime(cli: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Command::Worker { screening, .. } = &cli.command {
        builder.worker_threads(1).max_blocking_threads(screening.workers.max(1));
    }
    builder.enable_all().build()
}

async fn start(cli: Cli) -> std::process::ExitCode {
    elysium_server::logging::init(cli.log_format);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("elysium: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
