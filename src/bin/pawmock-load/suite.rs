//! The whole suite: every benchmark against a freshly started pawmock and a freshly
//! started baseline, one after the other, then one table (and `--json FILE`).
//!
//! Each server is a child process started for one benchmark and killed after it, so no
//! figure inherits another's sockets, sessions or memory. Progress goes to stderr; the
//! table is all that goes to stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::args::MESSAGE;
use crate::fidelity::PACED_QUERY;
use crate::machine::{Machine, Meter};
use crate::process::{Log, ServerProcess, sibling};
use crate::report::{Goal, Row};
use crate::target::Target;
use crate::{fidelity, idle, proxy, soak, startup, throughput};

/// Benchmark binaries built on other branches whose figures join the table when they
/// exist next to this one. Each is run as `NAME --json FILE` (with the time limit given
/// here) and must write `{"rows": [Row, …]}`, the shape `--json` writes (see
/// `report::Row`); their rows are appended to the table as they are.
const EXTERNAL: &[(&str, Duration)] = &[("pawmock-reload-bench", Duration::from_secs(120))];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Bench {
    Startup,
    Throughput,
    Fidelity,
    Idle,
    /// Round trips through `pawmock record` against straight to the same upstream.
    Proxy,
    Soak,
    External,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub out: crate::args::JsonOut,
    #[command(flatten)]
    pub binary: crate::args::PawmockBinary,
    /// The recordings directory both servers serve.
    #[arg(long, default_value = "recordings")]
    pub recordings: PathBuf,
    /// Which benchmarks to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "startup,throughput,fidelity,idle,proxy,soak,external"
    )]
    pub only: Vec<Bench>,
    /// Turns the soak plays (default 1,000,000; 10,000 with --quick).
    #[arg(long)]
    pub soak_turns: Option<u64>,
    /// Connect/disconnect cycles the soak makes (default 100,000; 1,000 with --quick).
    #[arg(long)]
    pub soak_cycles: Option<u64>,
    /// A tenth of the load for a few seconds each: checks the harness, not the server.
    #[arg(long)]
    pub quick: bool,
}

/// The loads the issue asks for (or a tenth of them with `--quick`).
struct Plan {
    throughput_connections: usize,
    throughput_time: Duration,
    fidelity_connections: usize,
    chunks: usize,
    idle_connections: usize,
    streaming: usize,
    startup_runs: usize,
    generated: usize,
    proxy_connections: usize,
    proxy_frames: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                throughput_connections: 10,
                throughput_time: Duration::from_secs(2),
                fidelity_connections: 100,
                chunks: 20,
                idle_connections: 1000,
                streaming: 200,
                startup_runs: 3,
                generated: 100,
                proxy_connections: 2,
                proxy_frames: 200,
            }
        } else {
            Plan {
                throughput_connections: 100,
                throughput_time: Duration::from_secs(10),
                fidelity_connections: 1000,
                chunks: 100,
                idle_connections: 10_000,
                streaming: 2000,
                startup_runs: 10,
                generated: 1000,
                proxy_connections: 10,
                proxy_frames: 2000,
            }
        }
    }
}

const INTERVAL: Duration = Duration::from_millis(50);

/// The servers, by how to start them.
struct Servers {
    pawmock: PathBuf,
    baseline: PathBuf,
    recordings: String,
}

/// A figure measured on several servers, and the noise it was measured in.
struct Runs<T> {
    /// In the order of the sides asked for.
    values: Vec<T>,
    others_cpu: Option<f64>,
}

impl Servers {
    async fn start(&self, which: Side) -> anyhow::Result<ServerProcess> {
        let rec = self.recordings.as_str();
        let baseline = [
            "baseline",
            "--port",
            "0",
            "--recordings",
            rec,
            "--lifetime",
            "15m",
        ];
        match which {
            Side::Pawmock => {
                ServerProcess::start(
                    &self.pawmock,
                    &["--port", "0", "--recordings", rec, "--log-level", "info"],
                    Log::File,
                )
                .await
            }
            Side::Baseline => ServerProcess::start(&self.baseline, &baseline, Log::File).await,
            Side::RenderingBaseline => {
                let mut args = baseline.to_vec();
                args.push("--render-each-frame");
                ServerProcess::start(&self.baseline, &args, Log::File).await
            }
        }
    }

    /// Runs `bench` against a fresh server of each side, one after the other.
    async fn compare<T>(
        &self,
        sides: &[Side],
        query: &str,
        budget: Duration,
        bench: impl AsyncFn(Target, u32) -> anyhow::Result<T>,
    ) -> anyhow::Result<Runs<T>> {
        let mut values = Vec::new();
        let mut others: Option<f64> = None;
        for &side in sides {
            let server = self.start(side).await?;
            let target = Target::parse(&server.url, query).await?;
            let meter = Meter::start(&[server.pid]);
            let value = crate::bounded(budget, bench(target, server.pid))
                .await
                .with_context(|| format!("against {}", side.name()))?;
            if let Some(share) = meter.others_share() {
                others = Some(others.map_or(share, |o: f64| o.max(share)));
            }
            drop(server);
            values.push(value);
            // Let the sockets of the run close before the next one starts.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok(Runs {
            values,
            others_cpu: others,
        })
    }
}

#[derive(Clone, Copy)]
enum Side {
    Pawmock,
    Baseline,
    /// The baseline rendering every frame as it sends it (`--render-each-frame`).
    RenderingBaseline,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Pawmock => "pawmock",
            Side::Baseline => "the baseline",
            Side::RenderingBaseline => "the rendering baseline",
        }
    }
}

fn progress(what: &str) {
    eprintln!("pawmock-load suite: {what}");
}

fn with_others(rows: Vec<Row>, others: Option<f64>) -> Vec<Row> {
    rows.into_iter().map(|r| r.others_cpu(others)).collect()
}

/// `pawmock-load suite`.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let plan = Plan::new(args.quick);
    let servers = Servers {
        pawmock: match &args.binary.pawmock {
            Some(p) => p.clone(),
            None => sibling("pawmock")?,
        },
        baseline: std::env::current_exe().context("cannot find this program's own path")?,
        recordings: args
            .recordings
            .to_str()
            .context("the recordings path is not UTF-8")?
            .to_owned(),
    };
    let machine = Machine::now();
    progress(&machine.summary());
    let mut rows = Vec::new();

    if args.only.contains(&Bench::Startup) {
        progress(&format!(
            "startup: {} starts with {} and {} with {} generated files",
            plan.startup_runs,
            args.recordings.display(),
            plan.startup_runs,
            plan.generated
        ));
        let meter = Meter::start(&[]);
        let r = crate::bounded(
            startup::budget(plan.startup_runs),
            startup::both(
                &servers.pawmock,
                &args.recordings,
                plan.generated,
                plan.startup_runs,
            ),
        )
        .await?;
        rows.extend(with_others(r, meter.others_share()));
    }

    if args.only.contains(&Bench::Throughput) {
        progress(&format!(
            "throughput: {} connections for {:?}, baseline, rendering baseline, pawmock",
            plan.throughput_connections, plan.throughput_time
        ));
        let (n, time) = (plan.throughput_connections, plan.throughput_time);
        let runs = servers
            .compare(
                &[Side::Baseline, Side::RenderingBaseline, Side::Pawmock],
                "scenario=long-markdown&speed=0",
                time + crate::CONNECT_BUDGET,
                async |t, _| throughput::measure(&t, n, time, MESSAGE).await,
            )
            .await?;
        let [baseline, rendering, pawmock] = &runs.values[..] else {
            unreachable!("three sides")
        };
        let label = format!(
            "throughput ({n} conns, {})",
            humantime::format_duration(time)
        );
        let mut r = throughput::rows(&label, pawmock, Some(baseline));
        r[0] = r[0].clone().target(Goal::RatioAtLeast(0.8));
        if pawmock.frames_per_turn() != baseline.frames_per_turn() {
            r[1].note = Some(
                "the servers sent answers of different lengths: the ratio compares unlike answers"
                    .into(),
            );
        }
        r.push(
            Row::new(
                &label,
                "frames/s vs a baseline that renders",
                "frames/s",
                pawmock.frames_per_sec(),
            )
            .baseline(Some(rendering.frames_per_sec())),
        );
        rows.extend(with_others(r, runs.others_cpu));
    }

    if args.only.contains(&Bench::Fidelity) {
        let (n, chunks) = (plan.fidelity_connections, plan.chunks);
        progress(&format!(
            "fidelity: {n} connections, {chunks} chunks each at {INTERVAL:?}, turns started together then spread over {INTERVAL:?}; baseline then pawmock"
        ));
        let spreads = [Duration::ZERO, INTERVAL];
        let budget: Duration = spreads
            .iter()
            .map(|s| fidelity::budget(chunks, INTERVAL, *s) + Duration::from_secs(1))
            .sum();
        let runs = servers
            .compare(
                &[Side::Baseline, Side::Pawmock],
                PACED_QUERY,
                budget,
                async |t, _| {
                    let mut out = Vec::new();
                    for spread in spreads {
                        if !out.is_empty() {
                            // Let the server finish with the last run's connections.
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                        out.push(
                            fidelity::measure(&t, n, chunks, INTERVAL, spread, MESSAGE).await?,
                        );
                    }
                    Ok(out)
                },
            )
            .await?;
        let [baseline, pawmock] = &runs.values[..] else {
            unreachable!("two sides")
        };
        for (i, spread) in spreads.iter().enumerate() {
            let label = format!(
                "fidelity ({n} conns, 50 ms cadence, {})",
                fidelity::start_label(*spread)
            );
            rows.extend(with_others(
                fidelity::rows(&label, &pawmock[i], Some(&baseline[i]), 5.0),
                runs.others_cpu,
            ));
        }
    }

    if args.only.contains(&Bench::Idle) {
        let n = plan.idle_connections;
        let streaming = idle::Streaming {
            connections: plan.streaming,
            chunks: plan.chunks,
            interval: INTERVAL,
            spreads: vec![Duration::ZERO, INTERVAL],
        };
        progress(&format!(
            "idle: {n} connections, then {} of them streaming with turns started together, then {} more with starts spread over {INTERVAL:?}; baseline then pawmock",
            streaming.connections, streaming.connections
        ));
        let runs = servers
            .compare(
                &[Side::Baseline, Side::Pawmock],
                PACED_QUERY,
                idle::budget(&streaming),
                async |t, pid| idle::measure(&t, n, &streaming, MESSAGE, Some(pid)).await,
            )
            .await?;
        let [baseline, pawmock] = &runs.values[..] else {
            unreachable!("two sides")
        };
        rows.extend(with_others(
            idle::rows(n, &streaming, pawmock, Some(baseline)),
            runs.others_cpu,
        ));
    }

    if args.only.contains(&Bench::Proxy) {
        let (n, frames) = (plan.proxy_connections, plan.proxy_frames);
        progress(&format!(
            "proxy: {n} connections × {frames} echoed frames, straight to an echo server, then through `pawmock record`"
        ));
        let out = std::env::temp_dir().join(format!("pawmock-load-record-{}", std::process::id()));
        let result = crate::bounded(proxy::budget(n, frames), async {
            let echo = proxy::echo_server().await?;
            let direct = proxy::measure(
                &Target::parse(&format!("ws://{echo}/ws"), "").await?,
                n,
                frames,
            )
            .await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let recorder = proxy::recorder(&servers.pawmock, echo, &out).await?;
            let meter = Meter::start(&[recorder.pid]);
            let through =
                proxy::measure(&Target::parse(&recorder.url, "").await?, n, frames).await?;
            anyhow::Ok((direct, through, meter.others_share()))
        })
        .await;
        let _ = std::fs::remove_dir_all(&out);
        let (direct, through, others) = result?;
        let label = format!("record proxy ({n} conns × {frames} round trips)");
        rows.extend(with_others(proxy::rows(&label, &through, &direct), others));
    }

    if args.only.contains(&Bench::Soak) {
        let load = soak::Load {
            turns: args
                .soak_turns
                .unwrap_or(if args.quick { 10_000 } else { 1_000_000 }),
            cycles: args
                .soak_cycles
                .unwrap_or(if args.quick { 1_000 } else { 100_000 }),
            // Small enough that the byte budget, not the 10,000-session cap, is what
            // bounds the store: 100,000 sessions of `hello` turns are ~15 MB.
            budget_mib: 8.0,
        };
        progress(&format!(
            "soak: {} turns at speed 0 across changing sessions, then {} connect/disconnect cycles; pawmock only",
            load.turns, load.cycles
        ));
        let server = ServerProcess::start(
            &servers.pawmock,
            &[
                "--port",
                "0",
                "--recordings",
                &servers.recordings,
                // The URL line, but not a line per turn: the log is not what is measured.
                "--log-level",
                "warn,pawmock=info,pawmock::connection=warn",
                "--history-budget",
                "8MiB",
            ],
            Log::File,
        )
        .await?;
        let target = Target::parse(&server.url, soak::QUERY).await?;
        let meter = Meter::start(&[server.pid]);
        let outcome =
            crate::bounded(soak::budget(load), soak::measure(&target, server.pid, load)).await?;
        rows.extend(with_others(
            soak::rows(load, &outcome),
            meter.others_share(),
        ));
    }

    if args.only.contains(&Bench::External) {
        for (name, limit) in EXTERNAL {
            if let Ok(path) = sibling(name) {
                progress(&format!("{name}: running it (at most {limit:?})"));
                match external(&path, *limit).await {
                    Ok(r) => rows.extend(r),
                    Err(e) => progress(&format!("{name}: left out of the table: {e:#}")),
                }
            }
        }
    }

    crate::report::finish(&rows, args.out.json.as_deref(), machine.finished())
}

#[derive(Deserialize)]
struct External {
    rows: Vec<Row>,
}

/// Runs another benchmark binary with `--json FILE` and reads its rows back.
async fn external(path: &Path, limit: Duration) -> anyhow::Result<Vec<Row>> {
    let json = std::env::temp_dir().join(format!(
        "pawmock-external-{}-{}.json",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("bench")
    ));
    let mut child = Command::new(path)
        .arg("--json")
        .arg(&json)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", path.display()))?;
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("did not finish within {limit:?}; stopped");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    anyhow::ensure!(status.success(), "exited with {status}");
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("it wrote no {}", json.display()))?;
    let _ = std::fs::remove_file(&json);
    let doc: External = serde_json::from_str(&text)
        .context("its JSON is not {\"rows\": [...]} in the shape `pawmock-load --json` writes")?;
    Ok(doc.rows)
}
