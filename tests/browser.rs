//! The browser test: `tests/browser/run.mjs` serves `tests/browser/site` (a page that
//! behaves like the PocketPaw dashboard) with the real binary's `--static`, drives it in
//! Debian's headless Chromium through playwright-core, and checks what it renders.
//!
//! It needs `/usr/bin/chromium` and `tests/browser/node_modules`. Without them, a plain
//! `cargo test` on a fresh machine says how to install them and skips the browser part
//! (so the README's test command passes anywhere); with `PAWMOCK_REQUIRE_BROWSER=1`, as
//! `.ci/run` sets after installing them, their absence is a failure, so CI cannot skip it.
//! `PAWMOCK_SKIP_BROWSER=1` skips it on purpose.
//!
//! It runs without libtest's harness (`harness = false` in Cargo.toml) so that a skip is
//! printed in the default `cargo test` output: libtest hides a passing test's output
//! unless `--nocapture` is given, and a skip must not look like "ok".

mod common;

use std::path::Path;
use std::process::Command;

/// The browser tests, by name, as libtest would list them.
const TESTS: &[(&str, fn())] = &[
    (
        "a_dashboard_like_page_served_with_static_works_in_headless_chromium",
        a_dashboard_like_page_served_with_static_works_in_headless_chromium,
    ),
    (
        "the_dashboard_like_page_works_through_the_recorder",
        the_dashboard_like_page_works_through_the_recorder,
    ),
    (
        "a_har_captured_from_chromium_imports_and_replays",
        a_har_captured_from_chromium_imports_and_replays,
    ),
    (
        "the_inspector_works_in_headless_chromium",
        the_inspector_works_in_headless_chromium,
    ),
];

fn main() {
    // As libtest would: `--list` lists, a filter that does not match runs nothing.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in TESTS {
            println!("{name}: test");
        }
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen: Vec<_> = TESTS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    if chosen.is_empty() {
        return;
    }
    println!("\nrunning {} tests (browser)", chosen.len());
    if let Err(skipped) = browser_available() {
        for (name, _) in &chosen {
            println!("test {name} ... SKIPPED: {skipped}");
        }
        return;
    }
    let mut failed = Vec::new();
    for (name, test) in &chosen {
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        chosen.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}

/// `Err(why)` when the browser tests cannot run here; panics instead under
/// `PAWMOCK_REQUIRE_BROWSER=1`, so CI cannot skip them.
fn browser_available() -> Result<(), String> {
    if std::env::var("PAWMOCK_SKIP_BROWSER").as_deref() == Ok("1") {
        return Err("PAWMOCK_SKIP_BROWSER=1".into());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let mut missing = Vec::new();
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("/usr/bin/chromium (install it with `apt-get install -y chromium`)");
    }
    if !dir.join("node_modules/playwright-core").exists() {
        missing
            .push("tests/browser/node_modules (install it with `npm ci --prefix tests/browser`)");
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node on PATH (install Node.js 20 or later)");
    }
    if !missing.is_empty() {
        let message = format!(
            "the browser test needs {}; or set PAWMOCK_SKIP_BROWSER=1 to skip it",
            missing.join(" and ")
        );
        assert!(
            std::env::var("PAWMOCK_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{message}"
        );
        return Err(format!("NOT RUN: {message}"));
    }
    Ok(())
}

fn a_dashboard_like_page_served_with_static_works_in_headless_chromium() {
    run_page_checks(None);
}

/// The same page and checks with `pawmock record` in between: its page, scripts and
/// `/api` calls are forwarded, its WebSocket proxied and recorded.
fn the_dashboard_like_page_works_through_the_recorder() {
    let out = tempfile::tempdir().unwrap();
    run_page_checks(Some(out.path()));
    let recorded: String = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        recorded.contains(r#""in",{"action":"chat","message":"What's the weather in Paris?""#),
        "{recorded}"
    );
    assert!(recorded.contains(r#""type":"stream_end""#), "{recorded}");
    let loaded = pawmock::Library::load(out.path()).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
}

/// Runs `tests/browser/run.mjs` (through a recorder writing into `record_out`, if given).
fn run_page_checks(record_out: Option<&Path>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let mut node = Command::new("node");
    node.arg(dir.join("run.mjs"))
        .env("PAWMOCK_BIN", env!("CARGO_BIN_EXE_pawmock"));
    if let Some(out) = record_out {
        node.env("PAWMOCK_RECORD_OUT", out);
    }
    let out = node.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(", 0 failed"), "{stdout}");
}

/// A HAR captured from real Chromium (its DevTools Protocol WebSocket events, written
/// as DevTools' HAR export writes them) imports with `pawmock import`, and the
/// recording replays what Chromium received.
fn a_har_captured_from_chromium_imports_and_replays() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(har_round_trip());
}

async fn har_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let upstream = common::Server::fixtures().await;
    let work = tempfile::tempdir().unwrap();
    let har = work.path().join("chromium.har");
    let mut node = Command::new("node");
    node.arg(dir.join("har.mjs"))
        .env(
            "PAWMOCK_WS_URL",
            upstream.url("scenario=weather&token=CHROMIUMSECRET"),
        )
        .env("PAWMOCK_HAR_OUT", &har);
    // The server runs on this test's runtime; node waits on a thread of its own.
    let out = tokio::task::spawn_blocking(move || node.output().expect("run node"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "capturing the HAR failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    let messages = doc["log"]["entries"][0]["_webSocketMessages"]
        .as_array()
        .unwrap()
        .clone();
    let received: Vec<serde_json::Value> = messages
        .iter()
        .filter(|m| m["type"] == "receive")
        .map(|m| serde_json::from_str(m["data"].as_str().unwrap()).unwrap())
        .collect();
    assert!(received.len() > 3, "{messages:?}");

    let recordings = work.path().join("recordings");
    assert_cmd::cargo::cargo_bin_cmd!("pawmock")
        .arg("import")
        .arg(&har)
        .arg("--out")
        .arg(&recordings)
        .assert()
        .success();
    let text = std::fs::read_to_string(recordings.join("chromium-1.jsonl")).unwrap();
    assert!(!text.contains("CHROMIUMSECRET"), "{text}");
    let replay = common::Server::instant(&recordings).await;
    let mut c = replay.connect("scenario=chromium-1").await;
    let replayed = c.ask("hi").await;
    let without_session = |f: &serde_json::Value| {
        let mut f = f.clone();
        f.as_object_mut().unwrap().remove("session_id");
        f
    };
    assert_eq!(
        replayed.iter().map(without_session).collect::<Vec<_>>(),
        received.iter().map(without_session).collect::<Vec<_>>()
    );
}

/// The inspector: `tests/browser/inspector.mjs` starts the real binary on the bundled
/// recordings and drives `/__pawmock/` (scenarios, Try it, the timeline, pause/resume, a
/// fault injected from the page, no console errors). A failure saves
/// `target/inspector-failure.png`.
fn the_inspector_works_in_headless_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let out = Command::new("node")
        .arg(dir.join("inspector.mjs"))
        .env("PAWMOCK_BIN", env!("CARGO_BIN_EXE_pawmock"))
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the inspector browser test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    assert!(
        stdout.contains("ok - the page logged no console errors"),
        "{stdout}"
    );
}
