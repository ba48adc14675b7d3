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

use std::path::Path;
use std::process::Command;

const NAME: &str = "a_dashboard_like_page_served_with_static_works_in_headless_chromium";

fn main() {
    // As libtest would: `--list` lists, a filter that does not match runs nothing.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{NAME}: test");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| NAME.contains(f.as_str())) {
        return;
    }
    println!("\nrunning 1 test (browser)");
    match run() {
        Ok(()) => println!("test {NAME} ... ok"),
        Err(skipped) => println!("test {NAME} ... SKIPPED: {skipped}"),
    }
}

/// Runs the browser test; `Err(why)` when it was skipped. Failures panic, so the test
/// binary exits non-zero.
fn run() -> Result<(), String> {
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
    let out = Command::new("node")
        .arg(dir.join("run.mjs"))
        .env("PAWMOCK_BIN", env!("CARGO_BIN_EXE_pawmock"))
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    Ok(())
}
