//! Arguments several subcommands share, declared once and flattened into each
//! (`#[command(flatten)]`), so their names, defaults and help cannot drift apart.

use std::path::PathBuf;
use std::time::Duration;

/// The chat frame a turn starts with, unless `--message` says otherwise (the suite's).
pub const MESSAGE: &str = r#"{"action":"message","content":"long markdown"}"#;

/// The server a client benchmark (`throughput`, `fidelity`, `idle`) loads, and what it sends.
#[derive(Debug, clap::Args)]
pub struct Client {
    /// The server, e.g. ws://127.0.0.1:8000/ws (loopback only).
    pub url: String,
    /// The chat frame each turn starts with.
    #[arg(long, default_value = MESSAGE)]
    pub message: String,
    /// The server's process id, if it runs on this machine: its CPU time then counts as
    /// the benchmark's own, not as others' load, and `idle` reads its memory (VmRSS)
    /// from /proc (without it, `idle` has no memory figure).
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// A paced answer read chunk by chunk (`fidelity`, `idle`).
#[derive(Debug, clap::Args)]
pub struct Cadence {
    /// Chunks read on each playing connection before it closes (a turn read lasts
    /// chunks × interval).
    #[arg(long, default_value_t = 100)]
    pub chunks: usize,
    /// The cadence the server was asked for (must match the query's chunk_delay).
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    pub interval: Duration,
}

/// Where the figures go besides the table on stdout.
#[derive(Debug, clap::Args)]
pub struct JsonOut {
    /// Write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The pawmock binary a benchmark starts itself (`startup`, `suite`).
#[derive(Debug, clap::Args)]
pub struct PawmockBinary {
    /// The pawmock binary (default: the one built next to this program).
    #[arg(long)]
    pub pawmock: Option<PathBuf>,
}
