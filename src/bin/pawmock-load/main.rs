//! `pawmock-load`: the load generator, the baseline server and the benchmark suite
//! (BENCHMARKS.md says how to run each and what the figures mean).
//!
//! Every run is bounded: it opens no more connections than asked, sends only to
//! loopback addresses, and stops by itself within the time it announces. The client
//! subcommands take any `ws://` URL, so the same load can be run against another server.

mod args;
mod baseline;
mod client;
mod fidelity;
mod idle;
mod machine;
mod process;
mod proxy;
mod report;
mod soak;
mod startup;
mod suite;
mod target;
mod throughput;

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// The most any benchmark may spend opening its connections.
pub const CONNECT_BUDGET: Duration = Duration::from_secs(60);

#[derive(Debug, Parser)]
#[command(
    name = "pawmock-load",
    version,
    about = "Load generator and benchmark suite for pawmock (and any ws:// server on loopback)",
    long_about = "Load generator and benchmark suite for pawmock.\n\n\
`suite` starts pawmock and a baseline server itself, runs every benchmark and prints one \
table. The other subcommands run one benchmark against any ws:// URL on this machine."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Everything, against a fresh pawmock and a fresh baseline; one table.
    Suite(suite::Args),
    /// Frames per second: N connections asking for a long answer at speed 0, repeatedly.
    Throughput(throughput::Args),
    /// Lateness of each chunk against a fixed cadence, over many connections at once.
    Fidelity(fidelity::Args),
    /// Memory per idle connection, then some of them streaming.
    Idle(idle::Args),
    /// Time from starting pawmock to its first answer.
    Startup(startup::Args),
    /// Serve pre-rendered frames with plain tokio-tungstenite: the machine's limit.
    Baseline(baseline::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pawmock-load: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Cmd::Suite(a) => suite::run(a).await,
            Cmd::Throughput(a) => throughput::run(a).await,
            Cmd::Fidelity(a) => fidelity::run(a).await,
            Cmd::Idle(a) => idle::run(a).await,
            Cmd::Startup(a) => startup::run(a).await,
            Cmd::Baseline(a) => baseline::run(a).await,
        }
    });
    // Connection tasks still running (after an error) are dropped, not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pawmock-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `work`, or fails once `limit` has passed: no benchmark outlives its budget.
pub async fn bounded<T>(
    limit: Duration,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => anyhow::bail!("did not finish within {limit:?}; stopped"),
    }
}
