//! Timing fidelity: many connections each play a turn with a fixed chunk delay and no
//! jitter; the client measures how late each chunk arrives against the cadence.
//!
//! Lateness of chunk k = its arrival − (arrival of chunk 0 + k × interval). Measuring
//! from chunk 0's arrival on the same connection takes the start-up of the turn (and the
//! order in which a burst of turns was started) out of the figure: what remains is how
//! far the cadence the browser sees strays from the configured one.

use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Kind, Ws};
use crate::report::{Goal, Row};
use crate::target::Target;

/// Chunks arrive one at a time: a small client read buffer is enough.
pub const READ_BUFFER: usize = 4096;

/// What pawmock needs to play `long-markdown` (~600 words) at a 50 ms cadence from its
/// first word: ~30 s of chunks, more than any run reads.
pub const PACED_QUERY: &str = "scenario=long-markdown&chunk_delay=50ms&jitter=0&first_token=0ms";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub client: crate::args::Client,
    /// Connections, each playing one turn.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    #[command(flatten)]
    pub cadence: crate::args::Cadence,
    /// Start the turns spread evenly over this time instead of all at once.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub spread: Duration,
    /// Added to the URL's query string (pawmock's per-connection parameters).
    #[arg(long, default_value = PACED_QUERY)]
    pub query: String,
    #[command(flatten)]
    pub out: crate::args::JsonOut,
}

/// Lateness of every chunk after the first, over all connections.
pub struct Lateness {
    /// Microseconds late; early arrivals count as 0 here and in `earliest_us`.
    late: Histogram<u64>,
    /// The most negative lateness seen (a chunk earlier than its slot, because chunk 0
    /// itself was late), in microseconds; 0 if none was early.
    pub earliest_us: i64,
    /// From sending the chat frame to chunk 0, in microseconds.
    first: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min at 3 significant digits: exact enough at every scale seen here.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Lateness {
    pub fn samples(&self) -> u64 {
        self.late.len()
    }

    pub fn p50_ms(&self) -> f64 {
        ms(self.late.value_at_quantile(0.5))
    }

    pub fn p99_ms(&self) -> f64 {
        ms(self.late.value_at_quantile(0.99))
    }

    pub fn max_ms(&self) -> f64 {
        ms(self.late.max())
    }

    pub fn first_chunk_p99_ms(&self) -> f64 {
        ms(self.first.value_at_quantile(0.99))
    }
}

/// One connection's measurements.
struct Played {
    first_us: u64,
    lateness_us: Vec<i64>,
}

/// Plays one turn per socket, all started together (or spread over `spread`), and reads
/// `chunks` chunks on each. Bounded: every read gives up after `interval` + 10 s.
pub async fn play_all(
    sockets: Vec<Ws>,
    message: &str,
    chunks: usize,
    interval: Duration,
    spread: Duration,
) -> anyhow::Result<Lateness> {
    let frame = client::chat_frame(message);
    let n = sockets.len();
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            let delay = spread.mul_f64(i as f64 / n.max(1) as f64);
            tokio::spawn(play(ws, frame.clone(), chunks, interval, delay))
        })
        .collect();
    let mut out = Lateness {
        late: histogram(),
        earliest_us: 0,
        first: histogram(),
    };
    let mut first_error = None;
    for t in tasks {
        match t.await? {
            Ok(p) => {
                out.first.saturating_record(p.first_us.max(1));
                for l in p.lateness_us {
                    out.earliest_us = out.earliest_us.min(l);
                    out.late.saturating_record(l.max(0) as u64);
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e.context("a connection failed while its turn played"));
    }
    Ok(out)
}

async fn play(
    mut ws: Ws,
    frame: Message,
    chunks: usize,
    interval: Duration,
    delay: Duration,
) -> anyhow::Result<Played> {
    tokio::time::sleep(delay).await;
    let asked = Instant::now();
    client::send(&mut ws, &frame).await?;
    let patience = interval + Duration::from_secs(10);
    let mut first: Option<Instant> = None;
    let mut out = Played {
        first_us: 0,
        lateness_us: Vec::with_capacity(chunks),
    };
    let mut k = 0u32;
    while (k as usize) < chunks {
        let msg = tokio::time::timeout(patience, ws.next())
            .await
            .with_context(|| format!("no chunk for {patience:?} (after {k} chunks)"))?;
        // Timestamp first: anything done before it would count as lateness.
        let now = Instant::now();
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(anyhow::Error::new(e).context("socket error")),
            None => bail!("the server closed the connection after {k} chunks"),
        };
        match client::kind(&text) {
            Kind::Chunk => {}
            Kind::End => bail!(
                "the turn ended after {k} chunks, fewer than the {chunks} asked for; ask for a longer answer or fewer --chunks"
            ),
            Kind::Other => continue,
        }
        match first {
            None => {
                first = Some(now);
                out.first_us = (now - asked).as_micros() as u64;
            }
            Some(t0) => {
                let slot = t0 + interval * k;
                let late = if now >= slot {
                    (now - slot).as_micros() as i64
                } else {
                    -((slot - now).as_micros() as i64)
                };
                out.lateness_us.push(late);
            }
        }
        k += 1;
    }
    client::close(ws).await;
    Ok(out)
}

/// Opens `connections`, then plays and measures.
pub async fn measure(
    target: &Target,
    connections: usize,
    chunks: usize,
    interval: Duration,
    spread: Duration,
    message: &str,
) -> anyhow::Result<Lateness> {
    let (sockets, _) = client::connect_many(target, connections, READ_BUFFER).await?;
    play_all(sockets, message, chunks, interval, spread).await
}

/// How the turns of a run were started, for row labels.
pub fn start_label(spread: Duration) -> String {
    if spread.is_zero() {
        "turns start together".into()
    } else {
        format!("starts spread over {} ms", spread.as_millis())
    }
}

/// p50, p99 (against `p99_target` ms) and max, plus the time to the first chunk.
pub fn rows(
    label: &str,
    server: &Lateness,
    baseline: Option<&Lateness>,
    p99_target: f64,
) -> Vec<Row> {
    let b = |f: fn(&Lateness) -> f64| baseline.map(f);
    vec![
        Row::new(label, "lateness p50", "ms", server.p50_ms()).baseline(b(Lateness::p50_ms)),
        Row::new(label, "lateness p99", "ms", server.p99_ms())
            .baseline(b(Lateness::p99_ms))
            .target(Goal::AtMost(p99_target)),
        Row::new(label, "lateness max", "ms", server.max_ms()).baseline(b(Lateness::max_ms)),
        Row::new(label, "first chunk p99", "ms", server.first_chunk_p99_ms())
            .baseline(b(Lateness::first_chunk_p99_ms)),
    ]
}

/// The bound on a whole run: connecting, the spread, the chunks, and closing.
pub fn budget(chunks: usize, interval: Duration, spread: Duration) -> Duration {
    crate::CONNECT_BUDGET + spread + interval * chunks as u32 + Duration::from_secs(15)
}

/// `pawmock-load fidelity URL`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.client.url, &args.query).await?;
    let budget = budget(args.cadence.chunks, args.cadence.interval, args.spread);
    println!(
        "fidelity: {} connections to {}, {} chunks each at {:?} (at most {:?} in all)",
        args.connections,
        target.url(),
        args.cadence.chunks,
        args.cadence.interval,
        budget
    );
    let machine = crate::machine::Machine::now();
    let meter = args
        .client
        .server_pid
        .map(|pid| crate::machine::Meter::start(&[pid]));
    let lateness = crate::bounded(
        budget,
        measure(
            &target,
            args.connections,
            args.cadence.chunks,
            args.cadence.interval,
            args.spread,
            &args.client.message,
        ),
    )
    .await?;
    let label = format!(
        "fidelity ({} conns, {} cadence, {})",
        args.connections,
        humantime::format_duration(args.cadence.interval),
        start_label(args.spread)
    );
    let others = meter.as_ref().and_then(|m| m.others_share());
    let rows: Vec<Row> = rows(&label, &lateness, None, 5.0)
        .into_iter()
        .map(|r| r.others_cpu(others))
        .collect();
    println!(
        "{} chunks measured; earliest chunk {:.2} ms before its slot",
        lateness.samples(),
        -(lateness.earliest_us as f64) / 1000.0
    );
    crate::report::finish(&rows, args.out.json.as_deref(), machine.finished())
}
