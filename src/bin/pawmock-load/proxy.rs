//! The recorder's cost: round trips of small JSON frames to an echo server, straight
//! and through `pawmock record`, on the same connections count and frame count.
//!
//! The echo server runs in this process (plain tokio-tungstenite, answering each text
//! frame with itself), so both paths end at the same upstream; the recorder is the real
//! `pawmock record` binary, writing every frame (both ways) to a recording as it passes.
//! Each connection sends a frame and waits for its echo before the next, so every round
//! trip is measured alone: added latency, not queueing.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::client;
use crate::process::{Log, ServerProcess};
use crate::report::{Goal, Row};
use crate::target::Target;

/// A frame the size of a streamed answer chunk.
const FRAME: &str = r#"{"type":"message","content":"a chunk of an answer, about as long as a streamed token group","is_stream_chunk":true,"metadata":{}}"#;

/// Round trips measured on one path.
pub struct Trips {
    /// Microseconds.
    hist: Histogram<u64>,
    secs: f64,
}

impl Trips {
    fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    fn per_sec(&self) -> f64 {
        self.hist.len() as f64 / self.secs.max(1e-9)
    }
}

/// Starts the echo upstream on a free loopback port; it runs until the process ends.
pub async fn echo_server() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() || m.is_binary() {
                        if ws.send(m).await.is_err() {
                            return;
                        }
                    } else if m.is_close() {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

/// `connections` connections each doing `frames` round trips at once.
pub async fn measure(target: &Target, connections: usize, frames: usize) -> anyhow::Result<Trips> {
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(client::connect(target, 1 << 16).await?);
    }
    let started = Instant::now();
    let runs = sockets.into_iter().map(|mut ws| async move {
        let mut hist = Histogram::<u64>::new(3)?;
        for _ in 0..frames {
            let sent = Instant::now();
            ws.send(Message::text(FRAME)).await?;
            loop {
                match ws.next().await.context("the connection ended")?? {
                    Message::Text(t) if t.as_str() == FRAME => break,
                    Message::Text(t) => anyhow::bail!("the echo changed the frame: {t}"),
                    _ => {}
                }
            }
            hist.record(sent.elapsed().as_micros() as u64)?;
        }
        client::close(ws).await;
        anyhow::Ok(hist)
    });
    let mut hist = Histogram::<u64>::new(3)?;
    for h in futures_util::future::join_all(runs).await {
        hist.add(h?)?;
    }
    Ok(Trips {
        hist,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// Starts `pawmock record` in front of `upstream`, writing into `out`.
pub async fn recorder(
    pawmock: &Path,
    upstream: SocketAddr,
    out: &Path,
) -> anyhow::Result<ServerProcess> {
    let upstream = format!("ws://{upstream}/ws");
    let out = out.to_str().context("the output path is not UTF-8")?;
    ServerProcess::start(
        pawmock,
        &[
            "record",
            "--port",
            "0",
            "--upstream",
            &upstream,
            "--out",
            out,
            "--log-level",
            "info",
        ],
        Log::File,
    )
    .await
}

/// The rows: round trips through the recorder (value) against straight (baseline).
pub fn rows(label: &str, through: &Trips, direct: &Trips) -> Vec<Row> {
    let added = through.ms(0.99) - direct.ms(0.99);
    vec![
        Row::new(label, "round trip p50", "ms", through.ms(0.5)).baseline(Some(direct.ms(0.5))),
        Row::new(label, "round trip p99", "ms", through.ms(0.99)).baseline(Some(direct.ms(0.99))),
        Row::new(label, "added latency p99 (through − straight)", "ms", added)
            .target(Goal::AtMost(1.0)),
        Row::new(label, "round trips/s", "frames/s", through.per_sec())
            .baseline(Some(direct.per_sec())),
    ]
}

/// Most the whole benchmark may take.
pub fn budget(connections: usize, frames: usize) -> Duration {
    crate::CONNECT_BUDGET
        + Duration::from_millis((connections * frames) as u64 / 2)
        + Duration::from_secs(30)
}
