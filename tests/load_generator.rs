//! `pawmock-load`, the benchmark client: it refuses targets off this machine, and its
//! short runs end on their own with a table. (The suite itself is not run in CI.)

mod common;

use assert_cmd::cargo::cargo_bin_cmd;
use common::Server;
use pawmock::ServeConfig;
use predicates::prelude::*;

#[test]
fn a_target_that_is_not_loopback_is_refused_before_any_connection() {
    for url in ["ws://192.0.2.1/ws", "ws://10.1.2.3:8000/ws"] {
        cargo_bin_cmd!("pawmock-load")
            .args(["throughput", url, "--duration", "1s"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("not a loopback address"));
    }
    cargo_bin_cmd!("pawmock-load")
        .args(["fidelity", "wss://127.0.0.1:9/ws"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wss:// is not supported"));
}

/// Runs `pawmock-load ARGS…` off the runtime, so the in-process server keeps serving.
async fn load(args: Vec<String>) -> assert_cmd::assert::Assert {
    tokio::task::spawn_blocking(move || cargo_bin_cmd!("pawmock-load").args(args).assert())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_runs_end_by_themselves_and_print_their_figures() {
    let server = Server::start(&common::bundled(), ServeConfig::default()).await;
    let url = server.url("");
    let args = |a: &str| -> Vec<String> { a.split(' ').map(str::to_owned).collect() };

    load(args(&format!(
        "throughput {url} --connections 2 --duration 300ms"
    )))
    .await
    .success()
    .stdout(
        predicate::str::contains("frames/s").and(predicate::str::contains("frames per answer")),
    );

    load(args(&format!(
        "fidelity {url} --connections 3 --chunks 4 --interval 20ms --query scenario=long-markdown&chunk_delay=20ms&jitter=0&first_token=0ms"
    )))
    .await
    .success()
    .stdout(predicate::str::contains("lateness p99"));

    load(args(&format!(
        "idle {url} --connections 20 --stream 2 --chunks 3 --interval 20ms --query scenario=long-markdown&chunk_delay=20ms&jitter=0&first_token=0ms --server-pid {}",
        std::process::id()
    )))
    .await
    .success()
    .stdout(predicate::str::contains("RSS per connection").and(predicate::str::contains("streaming (2 of 20 conns")));
}

#[test]
fn the_reload_benchmark_writes_rows_the_suite_can_add_to_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("reload.json");
    cargo_bin_cmd!("pawmock-reload-bench")
        .args(["--saves", "2", "--files", "20", "--rounds", "1", "--json"])
        .arg(&json)
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success()
        .stdout(predicate::str::contains("served p50"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = doc["rows"].as_array().expect("a `rows` array");
    let p95 = rows
        .iter()
        .find(|r| r["metric"] == "served p95")
        .expect("a served p95 row");
    assert_eq!(p95["target"]["kind"], "at_most", "{p95}");
    assert_eq!(p95["target"]["value"], 150.0, "debounce + 50 ms: {p95}");
    assert!(p95["value"].as_f64().unwrap() > 0.0, "{p95}");
    let full: Vec<_> = rows
        .iter()
        .filter(|r| r["benchmark"] == "reload: full reload (20 files)")
        .collect();
    assert_eq!(full.len(), 4, "{rows:#?}");
}
