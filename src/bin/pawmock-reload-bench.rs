//! Hot-reload benchmark (not a test): how long from a file's save until the new content
//! is served, and how long a full reload of a 1,000-file library takes.
//!
//! ```sh
//! cargo run --release --bin pawmock-reload-bench -- [--json FILE]
//! ```
//!
//! Save → served: a real server with the real watcher on loopback, one pinned client.
//! Each save (alternately in place and as an editor's temp file + rename) starts the
//! clock once the write has returned; the client then asks every 2 ms until the answer
//! is the new text. The server listens with pawmock's own `server::bind` (TCP_NODELAY,
//! so no delayed-ACK stall hides in the probes). "Swapped" is the time to the new
//! library being in place, without the network.
//!
//! Full reload: a generated library of 1,000 realistic scenario files, read and
//! compiled whole, with a `regex` rule in 1 file of 10 and in every file.
//!
//! Targets: p95 ≤ debounce + 50 ms; full reload ≤ 200 ms. Takes about 20 s.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use pawmock::Reloader;
use pawmock::WatchConfig;
use pawmock::{App, ServeConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Parser)]
#[command(about = "Measures pawmock's hot reload: save → served latency and full reload time")]
struct Args {
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Debounce of the watcher under test.
    #[arg(long, default_value = "100ms", value_parser = pawmock::parse_duration)]
    debounce: Duration,
    /// How many saves to time.
    #[arg(long, default_value_t = 50)]
    saves: usize,
    /// Files in the generated library for the full reload.
    #[arg(long, default_value_t = 1000)]
    files: usize,
    /// Full reloads to time (the median is reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

/// A scratch directory removed on drop (tempfile is only a dev-dependency).
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!(
            "pawmock-reload-bench-{what}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn says(text: &str) -> String {
    format!(r#"{{"turns": [{{"when": "any", "reply": [{{"say": "{text}"}}]}}]}}"#)
}

/// A scenario of realistic size: timing, history, three turns with thinking and a tool.
/// With `regex`, the second turn is chosen by a `regex` rule, else by `equals`.
fn realistic(i: usize, regex: bool) -> String {
    let rule = if regex {
        r#"{ "regex": "^fix (.*)" }"#
    } else {
        r#"{ "equals": "fix it" }"#
    };
    format!(
        r#"{{
  "title": "Generated scenario {i}",
  "description": "Benchmark input: a few turns with thinking, a tool call and markdown.",
  "timing": {{ "first_token": "300ms", "chunk": "word", "chunk_delay": "30ms", "jitter": 0.2 }},
  "history": [ {{ "role": "user", "content": "hello {i}" }}, {{ "role": "assistant", "content": "Hi! How can I help?" }} ],
  "turns": [
    {{ "when": {{ "contains": ["weather", "forecast"] }},
      "reply": [
        {{ "think": "The user wants the weather for case {i}." }},
        {{ "tool": "web_search", "input": {{ "query": "weather {i}" }}, "result": "18°C, cloudy", "duration": "1.2s" }},
        {{ "say": "It's **18°C** and cloudy. Here is a table:\n\n| day | temp |\n|---|---|\n| Mon | 18 |\n| Tue | 20 |" }} ] }},
    {{ "when": {rule},
      "reply": [ {{ "say": "Fixing it now." }}, {{ "pause": "200ms" }}, {{ "say": "Done." }} ] }},
    {{ "when": "any", "reply": [ {{ "say": "Scenario {i} answers everything else with this sentence." }} ] }}
  ]
}}
"#
    )
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Latencies of one run of saves, in milliseconds, sorted.
struct Saves {
    /// From the save to a client receiving the new content.
    served: Vec<f64>,
    /// From the save to the new library being swapped in (the next turn of any
    /// connection plays it); no network in it.
    swapped: Vec<f64>,
    /// Round trips of the client's probes.
    probes: Vec<f64>,
}

/// Times `args.saves` saves against a real server with the real watcher.
async fn save_latencies(args: &Args) -> Result<Saves> {
    let scratch = Scratch::new("latency")?;
    let file = scratch.0.join("bench.json");
    std::fs::write(&file, says("v0"))?;
    let (reloader, loaded) = Reloader::scan(&scratch.0)?;
    let app = App::new(
        loaded.library,
        ServeConfig {
            speed: pawmock::Speed::INSTANT,
            ..ServeConfig::default()
        },
    );
    let listener = pawmock::bind("127.0.0.1", 0).await?;
    let addr = listener.local_addr()?;
    let server = pawmock::spawn(app.clone(), listener);
    let watching = pawmock::watch(
        app.clone(),
        reloader,
        WatchConfig {
            debounce: args.debounce,
            poll: None,
        },
    )?;
    // When each reload was published (right after the swap).
    let swaps = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let mut reports = watching.subscribe();
    let recorder = tokio::spawn({
        let swaps = swaps.clone();
        async move {
            while let Ok(_report) = reports.recv().await {
                swaps.lock().expect("not poisoned").push(Instant::now());
            }
        }
    });
    // Nagle off on the client, as browsers do.
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/ws?scenario=bench"),
        None,
        true,
    )
    .await?;
    let mut ask = async || -> Result<String> {
        ws.send(Message::text(
            json!({"action": "message", "content": "x"}).to_string(),
        ))
        .await?;
        let mut text = String::new();
        loop {
            let Some(msg) = ws.next().await else {
                bail!("the server closed the connection");
            };
            let Message::Text(t) = msg? else { continue };
            let frame: Value = serde_json::from_str(&t)?;
            match frame["type"].as_str() {
                Some("response_chunk") => text.push_str(frame["content"].as_str().unwrap_or("")),
                Some("stream_end") => return Ok(text),
                _ => {}
            }
        }
    };
    let mut out = Saves {
        served: Vec::with_capacity(args.saves),
        swapped: Vec::with_capacity(args.saves),
        probes: Vec::new(),
    };
    for i in 1..=args.saves {
        let want = format!("v{i}");
        // Alternately in place and as editors save (temp file, then rename).
        if i % 2 == 0 {
            std::fs::write(&file, says(&want))?;
        } else {
            let temp = scratch.0.join("bench.json.tmp");
            std::fs::write(&temp, says(&want))?;
            std::fs::rename(&temp, &file)?;
        }
        let saved = Instant::now();
        loop {
            let asked = Instant::now();
            let answer = ask().await?;
            out.probes.push(ms(asked.elapsed()));
            if answer == want {
                out.served.push(ms(saved.elapsed()));
                break;
            }
            if saved.elapsed() > Duration::from_secs(5) {
                bail!("save {i} was not served within 5 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let swapped = swaps
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|at| **at >= saved)
            .map(|at| ms(at.duration_since(saved)));
        out.swapped.extend(swapped);
        // Let the save's trailing events settle so saves are timed one at a time.
        tokio::time::sleep(Duration::from_millis(20)).await;
        swaps.lock().expect("not poisoned").clear();
    }
    watching.stop();
    recorder.abort();
    app.shutdown.cancel();
    let _ = server.await;
    for v in [&mut out.served, &mut out.swapped, &mut out.probes] {
        v.sort_by(f64::total_cmp);
    }
    Ok(out)
}

/// Medians of full reloads, in milliseconds.
struct Full {
    /// The start-up scan (`Reloader::scan`: list, read, compile, build).
    scan: f64,
    /// A batch naming every file (what a `git checkout` touching everything gives).
    batch: f64,
    served: usize,
}

/// Full reload of a generated library of `args.files` scenarios, one in `regex_every`
/// with a `regex` rule (compiling those dominates).
fn full_reload(args: &Args, regex_every: usize) -> Result<Full> {
    let scratch = Scratch::new(&format!("library-{regex_every}"))?;
    let mut all = Vec::with_capacity(args.files);
    for i in 0..args.files {
        let rel = Path::new(&format!("group{:02}", i % 20)).join(format!("scenario{i:04}.json"));
        let path = scratch.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        std::fs::write(&path, realistic(i, i % regex_every == 0))?;
        all.push(path);
    }
    let mut scans = Vec::new();
    let mut batches = Vec::new();
    let mut served = 0;
    for _ in 0..args.rounds.max(1) {
        let started = Instant::now();
        let (mut reloader, loaded) = Reloader::scan(&scratch.0)?;
        scans.push(ms(started.elapsed()));
        if let Some(p) = loaded.problems.first() {
            bail!("generated files have problems: {p}");
        }
        let started = Instant::now();
        let applied = reloader
            .apply(&all, false)
            .context("a full batch reloads")?;
        batches.push(ms(started.elapsed()));
        served = applied.library.map_or(0, |l| l.scenarios().len());
    }
    Ok(Full {
        scan: median(scans),
        batch: median(batches),
        served,
    })
}

fn summary(v: &[f64]) -> Value {
    json!({
        "n": v.len(),
        "p50": percentile(v, 0.5),
        "p95": percentile(v, 0.95),
        "max": v.last().copied().unwrap_or(0.0),
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let budget = ms(args.debounce) + 50.0;
    let verdict = |ok: bool| if ok { "met" } else { "missed" };
    let mut figures = serde_json::Map::new();
    // Rows in the shape `pawmock-load --json` writes, so `pawmock-load suite` (and so
    // `just bench`) puts them in its table.
    let mut rows = Vec::new();
    let row = |benchmark: &str, metric: &str, value: f64, target: Option<f64>| {
        json!({
            "benchmark": benchmark,
            "metric": metric,
            "unit": "ms",
            "value": value,
            "target": target.map(|t| json!({"kind": "at_most", "value": t})),
        })
    };
    println!(
        "save → served, {} saves, debounce {:?} (target p95 ≤ {budget:.0} ms):",
        args.saves, args.debounce
    );
    {
        let saves = runtime.block_on(save_latencies(&args))?;
        let p95 = percentile(&saves.served, 0.95);
        println!(
            "  served p50 {:.1} ms, p95 {p95:.1} ms ({}); swapped in p50 {:.1} ms, p95 {:.1} ms; probe round trip p50 {:.2} ms",
            percentile(&saves.served, 0.5),
            verdict(p95 <= budget),
            percentile(&saves.swapped, 0.5),
            percentile(&saves.swapped, 0.95),
            percentile(&saves.probes, 0.5),
        );
        let bench = format!(
            "reload: save → served ({} saves, debounce {:?})",
            args.saves, args.debounce
        );
        rows.push(row(
            &bench,
            "served p50",
            percentile(&saves.served, 0.5),
            None,
        ));
        rows.push(row(&bench, "served p95", p95, Some(budget)));
        rows.push(row(
            &bench,
            "swapped in p95",
            percentile(&saves.swapped, 0.95),
            None,
        ));
        figures.insert(
            "save_to_served".to_owned(),
            json!({
                "served_ms": summary(&saves.served),
                "swapped_ms": summary(&saves.swapped),
                "probe_round_trip_ms": summary(&saves.probes),
            }),
        );
    }
    println!(
        "full reload of {} files, median of {} (target ≤ 200 ms):",
        args.files, args.rounds
    );
    for (key, every, label) in [
        ("regex_in_1_of_10", 10, "a regex rule in 1 file of 10"),
        ("regex_in_every_file", 1, "a regex rule in every file  "),
    ] {
        let full = full_reload(&args, every)?;
        println!(
            "  {label}: batch of every file {:.1} ms ({}), start-up scan {:.1} ms, {} served",
            full.batch,
            verdict(full.batch <= 200.0),
            full.scan,
            full.served
        );
        let bench = format!("reload: full reload ({} files)", args.files);
        let what = label.trim();
        rows.push(row(
            &bench,
            &format!("{what}: batch of every file"),
            full.batch,
            Some(200.0),
        ));
        rows.push(row(
            &bench,
            &format!("{what}: start-up scan"),
            full.scan,
            None,
        ));
        figures.insert(
            format!("full_reload_{key}"),
            json!({"batch_ms": full.batch, "scan_ms": full.scan, "files": args.files, "served": full.served}),
        );
    }
    if let Some(path) = &args.json {
        figures.insert(
            "settings".to_owned(),
            json!({
                "saves": args.saves,
                "debounce_ms": ms(args.debounce),
                "target_p95_ms": budget,
                "full_reload_target_ms": 200.0,
                "rounds": args.rounds,
                "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            }),
        );
        let doc = json!({"rows": rows, "details": figures});
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
