//! The soak benchmark (issue 11): a long run that must leave the server as it found it.
//!
//! Turns at speed 0 across sessions that keep changing (a new session every
//! [`TURNS_PER_SESSION`] turns, so the session store fills up and has to evict), then
//! connect/disconnect cycles. Before and after: resident memory, open file descriptors
//! and the time to the first frame of an answer (p99 over a sample of turns). RSS at the
//! end must stay within the history budget plus a fixed overhead, descriptors must be
//! back to where they started, and the first-frame p99 within 1.5x of the start.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Kind, Ws};
use crate::process::rss_kib;
use crate::report::{Goal, Row};
use crate::target::Target;

/// The query every soak connection opens: a short scenario at speed 0, docs dialect.
pub const QUERY: &str = "scenario=hello&speed=0&dialect=docs";
/// Turns asked in one session before the connection moves to a new one.
const TURNS_PER_SESSION: u64 = 10;
/// Connections that play turns at once, and that cycle at once.
const TURN_CONNECTIONS: u64 = 50;
const CYCLERS: u64 = 32;
/// Turns in each first-frame latency sample.
const SAMPLE_TURNS: u64 = 2_000;
/// The memory pawmock may hold beyond its history budget (runtime, library, schedules,
/// allocator slack): the "fixed overhead" of the goal.
pub const OVERHEAD_MIB: f64 = 64.0;

/// The load of one soak run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub turns: u64,
    pub cycles: u64,
    /// The server's `--history-budget`, in MiB.
    pub budget_mib: f64,
}

#[derive(Debug)]
pub struct Outcome {
    rss_start_kib: u64,
    rss_end_kib: u64,
    fds_start: usize,
    fds_end: usize,
    p99_start_ms: f64,
    p99_end_ms: f64,
    turns_secs: f64,
    cycles_secs: f64,
}

/// Open file descriptors of a process (Linux).
fn fds(pid: u32) -> anyhow::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("cannot list /proc/{pid}/fd (Linux only)"))?
        .count())
}

/// One turn: sends `message`, reads to `stream_end`; returns the time to the first frame.
async fn turn(ws: &mut Ws, message: Message) -> anyhow::Result<Duration> {
    let sent = Instant::now();
    client::send(ws, &message).await?;
    let mut first = None;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .context("no frame within 10 s")?
            .context("the server closed the connection")??;
        first.get_or_insert_with(|| sent.elapsed());
        if let Message::Text(t) = &frame
            && client::kind(t) == Kind::End
        {
            return Ok(first.unwrap_or_default());
        }
    }
}

fn message(session: &str) -> Message {
    Message::text(
        serde_json::json!({"action": "message", "content": "hello", "session_id": session})
            .to_string(),
    )
}

/// First-frame p99 (ms) over [`SAMPLE_TURNS`] turns on a few fresh connections.
async fn first_frame_p99(target: &Target, label: &str) -> anyhow::Result<f64> {
    let mut hist = Histogram::<u64>::new(3)?;
    let mut conns = Vec::new();
    for _ in 0..4 {
        conns.push(client::connect(target, 64 * 1024).await?);
    }
    for i in 0..SAMPLE_TURNS {
        let ws = &mut conns[(i % 4) as usize];
        let d = turn(ws, message(&format!("soak-sample-{label}-{}", i % 4))).await?;
        hist.record(d.as_micros().max(1) as u64)?;
    }
    for ws in conns {
        client::close(ws).await;
    }
    Ok(hist.value_at_quantile(0.99) as f64 / 1000.0)
}

pub async fn measure(target: &Target, pid: u32, load: Load) -> anyhow::Result<Outcome> {
    // Warm up (first schedules, allocator) before the figures to compare are taken.
    first_frame_p99(target, "warm").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_start_kib = rss_kib(pid)?;
    let fds_start = fds(pid)?;
    let p99_start_ms = first_frame_p99(target, "start").await?;

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..TURN_CONNECTIONS)
        .map(|w| {
            let (target, next) = (target.clone(), next.clone());
            tokio::spawn(async move {
                let mut ws = client::connect(&target, 64 * 1024).await?;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= load.turns {
                        break;
                    }
                    let session =
                        format!("soak-{w}-{}", n / (TURN_CONNECTIONS * TURNS_PER_SESSION));
                    turn(&mut ws, message(&session)).await?;
                }
                client::close(ws).await;
                anyhow::Ok(())
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    let turns_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let cyclers: Vec<_> = (0..CYCLERS)
        .map(|_| {
            let (target, next) = (target.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < load.cycles {
                    let ws = client::connect(&target, 4096).await?;
                    client::close(ws).await;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for c in cyclers {
        c.await??;
    }
    let cycles_secs = started.elapsed().as_secs_f64();

    // Let the last sockets close before counting descriptors.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let p99_end_ms = first_frame_p99(target, "end").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Outcome {
        rss_start_kib,
        rss_end_kib: rss_kib(pid)?,
        fds_start,
        fds_end: fds(pid)?,
        p99_start_ms,
        p99_end_ms,
        turns_secs,
        cycles_secs,
    })
}

pub fn rows(load: Load, o: &Outcome) -> Vec<Row> {
    let label = format!(
        "soak ({} turns, {} cycles)",
        crate::report::number(load.turns as f64),
        crate::report::number(load.cycles as f64)
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    let mut rss = Row::new(&label, "RSS at the end", "MiB", mib(o.rss_end_kib))
        .target(Goal::AtMost(load.budget_mib + OVERHEAD_MIB));
    rss.note = Some(format!(
        "{:.1} MiB after warm-up; budget {} MiB + {} MiB overhead",
        mib(o.rss_start_kib),
        load.budget_mib,
        OVERHEAD_MIB
    ));
    let mut fd = Row::new(&label, "open fds at the end", "fds", o.fds_end as f64)
        .target(Goal::AtMost(o.fds_start as f64));
    fd.note = Some(format!("{} after warm-up", o.fds_start));
    let ratio = o.p99_end_ms / o.p99_start_ms.max(0.001);
    let mut p99 =
        Row::new(&label, "first-frame p99, end / start", "x", ratio).target(Goal::AtMost(1.5));
    p99.note = Some(format!(
        "{:.2} ms at the start, {:.2} ms at the end ({} turns each)",
        o.p99_start_ms, o.p99_end_ms, SAMPLE_TURNS
    ));
    vec![
        rss,
        fd,
        p99,
        Row::new(
            &label,
            "turns/s",
            "turns/s",
            load.turns as f64 / o.turns_secs,
        ),
        Row::new(
            &label,
            "connect/disconnect cycles/s",
            "cycles/s",
            load.cycles as f64 / o.cycles_secs,
        ),
    ]
}

/// Time the soak may take: generous, it runs at whatever pace the machine allows.
pub fn budget(load: Load) -> Duration {
    Duration::from_secs(120 + load.turns / 1_000 + load.cycles / 200)
}
