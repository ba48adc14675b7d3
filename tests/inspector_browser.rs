//! The inspector's browser test: `tests/browser/inspector.mjs` starts the real binary on
//! the bundled recordings and drives `/__pawmock/` in Debian's headless Chromium through
//! playwright-core (scenarios, Try it, the timeline, pause/resume, a fault injected from
//! the page, no console errors). A failure saves `target/inspector-failure.png`.
//!
//! Prerequisites and skipping work as in `tests/browser.rs`: without `/usr/bin/chromium`
//! or `tests/browser/node_modules` it says how to install them and is not run, unless
//! `PAWMOCK_REQUIRE_BROWSER=1` (set by `.ci/run`) makes that a failure;
//! `PAWMOCK_SKIP_BROWSER=1` skips it on purpose.

use std::path::Path;
use std::process::Command;

#[test]
fn the_inspector_works_in_headless_chromium() {
    if std::env::var("PAWMOCK_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("inspector browser test skipped: PAWMOCK_SKIP_BROWSER=1");
        return;
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
            "the inspector browser test needs {}; or set PAWMOCK_SKIP_BROWSER=1 to skip it",
            missing.join(" and ")
        );
        assert!(
            std::env::var("PAWMOCK_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{message}"
        );
        eprintln!("inspector browser test NOT RUN: {message}");
        return;
    }
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
