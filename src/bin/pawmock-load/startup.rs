//! Start-up: from starting the pawmock process to the first frame of an answer, with a
//! given recordings directory (the bundled one, and 1,000 generated scenario files).
//!
//! The clock starts before the process is spawned and stops when the first reply frame
//! to a chat message arrives, so it covers loading and validating every file, binding,
//! the handshake and the first turn: everything a test suite waits for.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::client;
use crate::process::{Log, ServerProcess};
use crate::report::{Goal, Row};
use crate::target::Target;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub binary: crate::args::PawmockBinary,
    /// The library measured first, and the files the generated library is made from.
    #[arg(long, default_value = "recordings")]
    pub recordings: PathBuf,
    /// Scenario files in the generated library.
    #[arg(long, default_value_t = 1000)]
    pub generated: usize,
    /// Starts measured per library.
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    #[command(flatten)]
    pub out: crate::args::JsonOut,
}

/// The start-up times of several runs.
pub struct Times {
    pub handshake: Vec<Duration>,
    pub first_frame: Vec<Duration>,
}

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s.get(s.len() / 2).copied().unwrap_or_default()
}

impl Times {
    pub fn median_ms(&self) -> f64 {
        median(&self.first_frame).as_secs_f64() * 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.first_frame
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0
    }

    pub fn handshake_median_ms(&self) -> f64 {
        median(&self.handshake).as_secs_f64() * 1000.0
    }
}

/// A directory of generated scenario files, removed when dropped.
pub struct Generated {
    pub dir: PathBuf,
}

impl Drop for Generated {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `count` files into a fresh temporary directory, copying the files of
/// `template` in turn under new names (`0000-hello.json`, `0001-inbox.json`, …): a large
/// library made of the kinds of file people really write.
pub fn generate(template: &Path, count: usize) -> anyhow::Result<Generated> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(template)
        .with_context(|| format!("cannot read {}", template.display()))?
    {
        let path = entry?.path();
        let ext = path.extension().and_then(|e| e.to_str());
        if matches!(ext, Some("json" | "jsonl")) && path.is_file() {
            sources.push(path);
        }
    }
    sources.sort();
    anyhow::ensure!(
        !sources.is_empty(),
        "{} has no .json or .jsonl files to generate a library from",
        template.display()
    );
    let dir = std::env::temp_dir().join(format!("pawmock-startup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let generated = Generated { dir };
    for i in 0..count {
        let src = &sources[i % sources.len()];
        let name = format!(
            "{i:04}-{}",
            src.file_name().and_then(|n| n.to_str()).unwrap_or("x.json")
        );
        std::fs::copy(src, generated.dir.join(name))
            .with_context(|| format!("cannot copy {}", src.display()))?;
    }
    Ok(generated)
}

/// One start: spawn, wait for the URL, connect, ask, first frame.
async fn once(pawmock: &Path, dir: &Path) -> anyhow::Result<(Duration, Duration)> {
    let dir = dir.to_str().context("the recordings path is not UTF-8")?;
    let started = Instant::now();
    let server = ServerProcess::start(
        pawmock,
        &["--port", "0", "--recordings", dir, "--log-level", "info"],
        Log::Pipe,
    )
    .await?;
    let target = Target::parse(&server.url, "speed=0").await?;
    let mut ws = client::connect(&target, 4096).await?;
    let handshake = started.elapsed();
    client::send(
        &mut ws,
        &client::chat_frame(r#"{"action":"message","content":"hello"}"#),
    )
    .await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .context("no answer within 10 s")?
        {
            Some(Ok(Message::Text(_))) => break,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(anyhow::Error::new(e).context("socket error")),
            None => anyhow::bail!("the server closed the connection without answering"),
        }
    }
    let first = started.elapsed();
    drop(ws);
    drop(server);
    Ok((handshake, first))
}

pub async fn measure(pawmock: &Path, dir: &Path, runs: usize) -> anyhow::Result<Times> {
    let mut t = Times {
        handshake: Vec::with_capacity(runs),
        first_frame: Vec::with_capacity(runs),
    };
    for _ in 0..runs {
        let (h, f) = once(pawmock, dir).await?;
        t.handshake.push(h);
        t.first_frame.push(f);
    }
    Ok(t)
}

pub fn rows(label: &str, times: &Times, target_ms: f64) -> Vec<Row> {
    vec![
        Row::new(label, "to first frame, median", "ms", times.median_ms())
            .target(Goal::AtMost(target_ms)),
        Row::new(label, "to first frame, max", "ms", times.max_ms()),
        Row::new(
            label,
            "to handshake, median",
            "ms",
            times.handshake_median_ms(),
        ),
    ]
}

/// Runs both libraries; the second is generated from the first.
pub async fn both(
    pawmock: &Path,
    recordings: &Path,
    generated: usize,
    runs: usize,
) -> anyhow::Result<Vec<Row>> {
    let bundled = measure(pawmock, recordings, runs).await?;
    let lib = generate(recordings, generated)?;
    let big = measure(pawmock, &lib.dir, runs).await?;
    let mut rows = rows(
        &format!("startup ({})", recordings.display()),
        &bundled,
        100.0,
    );
    rows.extend(self::rows(
        &format!("startup ({generated} generated files)"),
        &big,
        300.0,
    ));
    Ok(rows)
}

/// Every start is bounded by the server's start timeout and the answer's 10 s.
pub fn budget(runs: usize) -> Duration {
    Duration::from_secs(35) * (2 * runs as u32)
}

/// `pawmock-load startup`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let pawmock = match args.binary.pawmock {
        Some(p) => p,
        None => crate::process::sibling("pawmock")?,
    };
    println!(
        "startup: {} runs of {} with {} and with {} generated files",
        args.runs,
        pawmock.display(),
        args.recordings.display(),
        args.generated
    );
    let machine = crate::machine::Machine::now();
    let meter = crate::machine::Meter::start(&[]);
    let rows = crate::bounded(
        budget(args.runs),
        both(&pawmock, &args.recordings, args.generated, args.runs),
    )
    .await?;
    let others = meter.others_share();
    let rows: Vec<Row> = rows.into_iter().map(|r| r.others_cpu(others)).collect();
    crate::report::finish(&rows, args.out.json.as_deref(), machine.finished())
}
