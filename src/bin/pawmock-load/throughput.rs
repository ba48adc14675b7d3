//! Throughput: N connections each asking for a long answer at speed 0, again and again,
//! for a fixed time. The figure is frames delivered per second, counted by the client.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Kind, Ws};
use crate::report::Row;
use crate::target::Target;

/// Frames of ~100 bytes arrive in bursts of hundreds: a large read buffer keeps the
/// client's read calls few, so the client is not what limits the figure.
const READ_BUFFER: usize = 64 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub client: crate::args::Client,
    /// Connections, all open for the whole run.
    #[arg(long, default_value_t = 100)]
    pub connections: usize,
    /// How long frames are counted (after every connection is open).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Added to the URL's query string (pawmock's per-connection parameters).
    #[arg(long, default_value = "scenario=long-markdown&speed=0")]
    pub query: String,
    #[command(flatten)]
    pub out: crate::args::JsonOut,
}

/// What one run delivered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub frames: u64,
    pub turns: u64,
    /// Frames of the turns that ended within the run (the last turn of each connection
    /// is cut off by the deadline, so `frames / turns` would overstate an answer).
    pub answer_frames: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn frames_per_sec(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64()
    }

    /// Frames in one answer, to check two servers answered with the same turn.
    pub fn frames_per_turn(&self) -> Option<f64> {
        (self.turns > 0).then(|| self.answer_frames as f64 / self.turns as f64)
    }
}

/// Opens the connections, then counts frames for `duration`. Bounded: the run ends at
/// the deadline whatever the server does.
pub async fn measure(
    target: &Target,
    connections: usize,
    duration: Duration,
    message: &str,
) -> anyhow::Result<Outcome> {
    let (sockets, _) = client::connect_many(target, connections, READ_BUFFER).await?;
    let started = Instant::now();
    let deadline = started + duration;
    let frame = client::chat_frame(message);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(drive(ws, frame.clone(), deadline)))
        .collect();
    let mut total = Outcome::default();
    let mut first_error = None;
    for t in tasks {
        match t.await? {
            Ok(o) => {
                total.frames += o.frames;
                total.turns += o.turns;
                total.answer_frames += o.answer_frames;
                total.bytes += o.bytes;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e.context("a connection failed during the throughput run"));
    }
    total.elapsed = duration;
    Ok(total)
}

/// One connection: ask, read to `stream_end`, ask again, until the deadline.
async fn drive(mut ws: Ws, frame: Message, deadline: Instant) -> anyhow::Result<Outcome> {
    let mut out = Outcome::default();
    let mut in_turn = 0;
    let stop = tokio::time::sleep_until(deadline);
    tokio::pin!(stop);
    'turns: loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            sent = client::send(&mut ws, &frame) => sent?,
        }
        loop {
            let msg = tokio::select! {
                biased;
                _ = &mut stop => break 'turns,
                msg = ws.next() => msg,
            };
            match msg {
                Some(Ok(Message::Text(text))) => {
                    out.frames += 1;
                    in_turn += 1;
                    out.bytes += text.len() as u64;
                    if client::kind(&text) == Kind::End {
                        out.turns += 1;
                        out.answer_frames += std::mem::take(&mut in_turn);
                        continue 'turns;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(anyhow::Error::new(e).context("socket error")),
                None => anyhow::bail!("the server closed the connection mid-run"),
            }
        }
    }
    client::close(ws).await;
    Ok(out)
}

pub fn rows(label: &str, server: &Outcome, baseline: Option<&Outcome>) -> Vec<Row> {
    vec![
        Row::new(label, "frames/s", "frames/s", server.frames_per_sec())
            .baseline(baseline.map(Outcome::frames_per_sec)),
        Row::new(
            label,
            "frames per answer",
            "frames",
            server.frames_per_turn().unwrap_or(0.0),
        )
        .baseline(baseline.and_then(Outcome::frames_per_turn)),
        Row::new(
            label,
            "MB/s",
            "MB/s",
            server.bytes as f64 / 1e6 / server.elapsed.as_secs_f64(),
        )
        .baseline(baseline.map(|b| b.bytes as f64 / 1e6 / b.elapsed.as_secs_f64())),
    ]
}

/// `pawmock-load throughput URL`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.client.url, &args.query).await?;
    println!(
        "throughput: {} connections to {} for {:?} (plus at most {:?} to connect)",
        args.connections,
        target.url(),
        args.duration,
        crate::CONNECT_BUDGET
    );
    let machine = crate::machine::Machine::now();
    let meter = args
        .client
        .server_pid
        .map(|pid| crate::machine::Meter::start(&[pid]));
    let outcome = crate::bounded(
        args.duration + crate::CONNECT_BUDGET,
        measure(
            &target,
            args.connections,
            args.duration,
            &args.client.message,
        ),
    )
    .await?;
    let label = format!(
        "throughput ({} conns, {})",
        args.connections,
        humantime::format_duration(args.duration)
    );
    let rows: Vec<Row> = rows(&label, &outcome, None)
        .into_iter()
        .map(|r| r.others_cpu(meter.as_ref().and_then(|m| m.others_share())))
        .collect();
    crate::report::finish(&rows, args.out.json.as_deref(), machine.finished())
}
