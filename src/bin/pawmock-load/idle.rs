//! Connections and memory: many idle connections, the server's memory per connection,
//! then some of them streaming while the rest stay open.
//!
//! Memory per connection is the growth of the server's VmRSS divided by the number of
//! connections: what a test suite that leaves sockets open really costs. Kernel socket
//! buffers are not in VmRSS and not counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::client;
use crate::fidelity::{self, Lateness, PACED_QUERY};
use crate::report::{Goal, Row};
use crate::target::Target;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub client: crate::args::Client,
    /// Idle connections to open (each process may hold up to `ulimit -n` sockets).
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// How many of them then play a turn at once (0: none).
    #[arg(long, default_value_t = 2000)]
    pub stream: usize,
    /// One streaming phase per value, each with fresh connections from the idle ones:
    /// 0s starts the phase's turns together, 50ms spreads their starts over 50 ms.
    #[arg(long, value_delimiter = ',', default_value = "0s", value_parser = humantime::parse_duration)]
    pub spread: Vec<Duration>,
    #[command(flatten)]
    pub cadence: crate::args::Cadence,
    /// Added to the URL's query string of every connection.
    #[arg(long, default_value = PACED_QUERY)]
    pub query: String,
    #[command(flatten)]
    pub out: crate::args::JsonOut,
}

/// Between streaming phases.
const PHASE_PAUSE: Duration = Duration::from_secs(1);

pub struct Outcome {
    pub connections: usize,
    pub connect_time: Duration,
    pub rss_before_kib: Option<u64>,
    pub rss_idle_kib: Option<u64>,
    pub rss_streaming_peak_kib: Option<u64>,
    /// Each streaming phase's spread and lateness.
    pub lateness: Vec<(Duration, Lateness)>,
}

impl Outcome {
    pub fn per_connection_kib(&self) -> Option<f64> {
        let (a, b) = (self.rss_before_kib?, self.rss_idle_kib?);
        Some(b.saturating_sub(a) as f64 / self.connections.max(1) as f64)
    }
}

/// Reads VmRSS until it stops moving (the server may still be finishing handshakes
/// when the last client returns), for at most 3 s.
async fn settled_rss(pid: u32) -> Option<u64> {
    let mut last = crate::process::rss_kib(pid).ok()?;
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = crate::process::rss_kib(pid).ok()?;
        if now == last {
            break;
        }
        last = now;
    }
    Some(last)
}

/// How one run streams after opening its idle connections.
#[derive(Debug, Clone)]
pub struct Streaming {
    /// Connections per phase.
    pub connections: usize,
    pub chunks: usize,
    pub interval: Duration,
    /// One phase per spread (see `--spread`).
    pub spreads: Vec<Duration>,
}

pub async fn measure(
    target: &Target,
    connections: usize,
    streaming: &Streaming,
    message: &str,
    server_pid: Option<u32>,
) -> anyhow::Result<Outcome> {
    let needed = streaming.connections * streaming.spreads.len();
    anyhow::ensure!(
        needed <= connections,
        "{} streaming phases of {} connections need {needed} of the idle ones, but only {connections} are opened",
        streaming.spreads.len(),
        streaming.connections
    );
    let rss_before_kib = match server_pid {
        Some(pid) => settled_rss(pid).await,
        None => None,
    };
    let (mut sockets, connect_time) =
        client::connect_many(target, connections, fidelity::READ_BUFFER).await?;
    let rss_idle_kib = match server_pid {
        Some(pid) => settled_rss(pid).await,
        None => None,
    };
    let mut out = Outcome {
        connections,
        connect_time,
        rss_before_kib,
        rss_idle_kib,
        rss_streaming_peak_kib: None,
        lateness: Vec::new(),
    };
    if streaming.connections > 0 && !streaming.spreads.is_empty() {
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = server_pid.map(|pid| {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    if let Ok(kib) = crate::process::rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            })
        });
        let mut played = Ok(());
        for (i, &spread) in streaming.spreads.iter().enumerate() {
            if i > 0 {
                // The last phase's connections have just closed: let the server finish
                // with them, so each phase is measured on its own.
                tokio::time::sleep(PHASE_PAUSE).await;
            }
            let phase: Vec<_> = sockets.drain(..streaming.connections).collect();
            let lateness =
                fidelity::play_all(phase, message, streaming.chunks, streaming.interval, spread)
                    .await;
            match lateness {
                Ok(l) => out.lateness.push((spread, l)),
                Err(e) => {
                    played = Err(e);
                    break;
                }
            }
        }
        if let Some(s) = sampler {
            s.abort();
            out.rss_streaming_peak_kib = Some(peak.load(Ordering::Relaxed)).filter(|k| *k > 0);
        }
        played?;
    }
    // The idle rest just go: a bulk close would only measure the server's teardown.
    drop(sockets);
    Ok(out)
}

pub fn rows(
    connections: usize,
    streaming: &Streaming,
    server: &Outcome,
    baseline: Option<&Outcome>,
) -> Vec<Row> {
    let idle = format!("idle ({connections} conns)");
    let mut rows = Vec::new();
    if let Some(per) = server.per_connection_kib() {
        rows.push(
            Row::new(&idle, "RSS per connection", "KiB", per)
                .baseline(baseline.and_then(Outcome::per_connection_kib))
                .target(Goal::AtMost(8.0)),
        );
        rows.push(
            Row::new(
                &idle,
                "RSS idle (total)",
                "MiB",
                server.rss_idle_kib.unwrap_or(0) as f64 / 1024.0,
            )
            .baseline(
                baseline
                    .and_then(|b| b.rss_idle_kib)
                    .map(|k| k as f64 / 1024.0),
            ),
        );
    }
    rows.push(
        Row::new(
            &idle,
            "time to open all",
            "s",
            server.connect_time.as_secs_f64(),
        )
        .baseline(baseline.map(|b| b.connect_time.as_secs_f64())),
    );
    if let Some(peak) = server.rss_streaming_peak_kib {
        rows.push(
            Row::new(
                &idle,
                "peak RSS while streaming",
                "MiB",
                peak as f64 / 1024.0,
            )
            .baseline(
                baseline
                    .and_then(|b| b.rss_streaming_peak_kib)
                    .map(|k| k as f64 / 1024.0),
            ),
        );
    }
    for (i, (spread, l)) in server.lateness.iter().enumerate() {
        let label = format!(
            "streaming ({} of {connections} conns, {:.0} chunks/s, {})",
            streaming.connections,
            1.0 / streaming.interval.as_secs_f64(),
            fidelity::start_label(*spread)
        );
        rows.extend(fidelity::rows(
            &label,
            l,
            baseline.and_then(|b| b.lateness.get(i)).map(|(_, l)| l),
            10.0,
        ));
    }
    rows
}

pub fn budget(streaming: &Streaming) -> Duration {
    let phases: Duration = streaming
        .spreads
        .iter()
        .map(|s| fidelity::budget(streaming.chunks, streaming.interval, *s))
        .sum();
    crate::CONNECT_BUDGET
        + Duration::from_secs(6)
        + phases
        + PHASE_PAUSE * streaming.spreads.len() as u32
}

/// `pawmock-load idle URL`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.client.url, &args.query).await?;
    let streaming = Streaming {
        connections: args.stream,
        chunks: args.cadence.chunks,
        interval: args.cadence.interval,
        spreads: args.spread.clone(),
    };
    let budget = budget(&streaming);
    println!(
        "idle: {} connections to {}, then {} phase(s) of {} of them streaming {} chunks (at most {:?} in all)",
        args.connections,
        target.url(),
        streaming.spreads.len(),
        args.stream,
        args.cadence.chunks,
        budget
    );
    if args.client.server_pid.is_none() {
        println!("no --server-pid: the server's memory is not measured");
    }
    let machine = crate::machine::Machine::now();
    let meter = args
        .client
        .server_pid
        .map(|pid| crate::machine::Meter::start(&[pid]));
    let outcome = crate::bounded(
        budget,
        measure(
            &target,
            args.connections,
            &streaming,
            &args.client.message,
            args.client.server_pid,
        ),
    )
    .await?;
    let others = meter.as_ref().and_then(|m| m.others_share());
    let rows: Vec<Row> = rows(args.connections, &streaming, &outcome, None)
        .into_iter()
        .map(|r| r.others_cpu(others))
        .collect();
    crate::report::finish(&rows, args.out.json.as_deref(), machine.finished())
}
