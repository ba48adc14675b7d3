//! The browser test: `tests/browser/run.mjs` serves `tests/browser/site` (a page that
//! behaves like the PocketPaw dashboard) with the real binary's `--static`, drives it in
//! Debian's headless Chromium through playwright-core, and checks what it renders.
//!
//! It needs `/usr/bin/chromium` and `tests/browser/node_modules`. Without them, a plain
//! `cargo test` on a fresh machine says how to install them and skips the browser part
//! (so the README's test command passes anywhere); with `PAWMOCK_REQUIRE_BROWSER=1`, as
//! `.ci/run` sets after installing them, their absence is a failure, so CI cannot skip it.
//! `PAWMOCK_SKIP_BROWSER=1` skips it on purpose.

use std::path::Path;
use std::process::Command;

#[test]
fn a_dashboard_like_page_served_with_static_works_in_headless_chromium() {
    if std::env::var("PAWMOCK_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("browser test skipped: PAWMOCK_SKIP_BROWSER=1");
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
            "the browser test needs {}; or set PAWMOCK_SKIP_BROWSER=1 to skip it",
            missing.join(" and ")
        );
        assert!(
            std::env::var("PAWMOCK_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{message}"
        );
        eprintln!("browser test NOT RUN: {message}");
        return;
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
}
