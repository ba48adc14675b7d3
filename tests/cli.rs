//! The `pawmock` binary: check, list, schema, serve, and the errors users meet.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;

#[test]
fn check_accepts_a_valid_directory() {
    cargo_bin_cmd!("pawmock")
        .args(["check", common::fixtures().to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("5 files, all valid"));
}

#[test]
fn check_accepts_the_bundled_library() {
    cargo_bin_cmd!("pawmock")
        .args(["check", common::bundled().to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("all valid"));
}

#[test]
fn check_reports_every_problem_with_file_line_column_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "syntax.json",
        "{\n  \"turns\": [\n    { \"reply\": [ { \"say\": \"hi\" } ], }\n  ,\n}\n",
    );
    write(
        "types.json",
        "{\n  \"turns\": [\n    { \"when\": \"any\",\n      \"reply\": [ { \"say\": \"a\" }, { \"tool\": \"x\", \"duration\": \"soon\" } ] }\n  ]\n}\n",
    );
    write(
        "semantics.json",
        "{\n  \"timing\": { \"jitter\": 3 },\n  \"turns\": [\n    { \"when\": { \"regex\": \"(\" }, \"reply\": [ { \"say\": \"a\", \"think\": \"b\" } ] }\n  ]\n}\n",
    );
    write(
        "rec.jsonl",
        "{\"version\": 1}\n[0, \"in\", {\"action\": \"chat\", \"message\": \"hi\"}]\n[0.1, \"sideways\", {}]\n",
    );
    write(
        "list.json",
        "{\"turns\": [\n  {\"when\": [\"any\", {\"equal\": \"x\"}], \"reply\": []}\n]}\n",
    );
    write(
        "good.json",
        "{\"turns\": [{\"reply\": [{\"say\": \"fine\"}]}]}",
    );
    let out = common::failed_check(dir.path());
    let d = dir.path().display();
    for expected in [
        format!("{d}/syntax.json:5:1: $: invalid JSON: Unexpected close brace"),
        format!("{d}/types.json:4:61: turns[0].reply[1].duration: invalid duration \"soon\""),
        format!("{d}/semantics.json:2:25: timing.jitter: `jitter` is a fraction between 0 and 1"),
        format!(
            "{d}/semantics.json:4:26: turns[0].when.regex: invalid regular expression: unclosed group"
        ),
        format!(
            "{d}/semantics.json:4:44: turns[0].reply[0]: a step has one kind, this one has say and think"
        ),
        format!(
            "{d}/rec.jsonl:3:7: [1]: the direction must be \"in\", \"out\", \"marker\", \"in_binary\", \"out_binary\" or \"close\""
        ),
        format!("{d}/list.json:2:20: turns[0].when[1]: unknown `when` rule `equal`"),
        "hint:".to_owned(),
        "6 files, 7 problem(s)".to_owned(),
    ] {
        assert!(out.contains(&expected), "missing `{expected}` in:\n{out}");
    }
    assert!(!out.contains("good.json"), "{out}");
}

#[test]
fn check_reports_backend_json_problems_with_file_line_column_and_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("backend.json"),
        "{\n  \"reminders\": [ { \"text\": \"x\", \"in\": \"soon\" } ]\n}\n",
    )
    .unwrap();
    let out = common::failed_check(dir.path());
    let expected = format!(
        "{}/backend.json:2:39: reminders[0].in: invalid duration \"soon\"",
        dir.path().display()
    );
    assert!(out.contains(&expected), "missing `{expected}` in:\n{out}");
    assert!(out.contains("1 files, 1 problem(s)"), "{out}");
}

#[test]
fn check_on_a_missing_directory_fails_clearly() {
    cargo_bin_cmd!("pawmock")
        .args(["check", "/no/such/dir"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read /no/such/dir"));
}

#[test]
fn list_prints_name_title_and_url() {
    cargo_bin_cmd!("pawmock")
        .args(["list", common::fixtures().to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^weather\s+Weather with one tool call\s+ws://localhost:8000/ws\?scenario=weather$").unwrap())
        .stdout(predicate::str::contains("ws://localhost:8000/ws?scenario=weather-recorded"));
}

#[test]
fn the_committed_schemas_match_the_types() {
    let dir = tempfile::tempdir().unwrap();
    cargo_bin_cmd!("pawmock")
        .args(["schema", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    for name in [
        "scenario.schema.json",
        "recording-header.schema.json",
        "chaos.schema.json",
        "backend.schema.json",
    ] {
        let fresh = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let old = std::fs::read_to_string(committed.join(name)).unwrap_or_default();
        assert!(
            fresh == old,
            "schema/{name} is stale: run `cargo run -- schema`"
        );
    }
}

/// Runs `pawmock ARGS…`, which must fail (exit 1) with one line on stderr and no panic;
/// returns that line.
fn one_line_error(args: &[&str]) -> String {
    let out = cargo_bin_cmd!("pawmock")
        .args(args)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_taken_port_is_a_one_line_error_naming_the_port_and_the_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let stderr = one_line_error(&[
        "serve",
        "--port",
        &port,
        "--recordings",
        common::fixtures().to_str().unwrap(),
    ]);
    assert!(
        stderr.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "{stderr}"
    );
    assert!(stderr.contains("--port"), "{stderr}");
}

#[test]
fn flags_can_come_from_pawmock_environment_variables() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    cargo_bin_cmd!("pawmock")
        .env("PAWMOCK_PORT", &port)
        .env("PAWMOCK_RECORDINGS", common::fixtures())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("port {port}")));
}

#[test]
fn bad_flag_values_are_refused_with_a_reason() {
    cargo_bin_cmd!("pawmock")
        .args(["--speed=-1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a speed"));
    cargo_bin_cmd!("pawmock")
        .args(["--dialect", "klingon"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("auto, docs, dashboard"));
}

#[tokio::test]
async fn serve_answers_on_the_port_it_announces() {
    let mut child = common::ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_pawmock"))
            .args(["--port", "0", "--speed", "0", "--recordings"])
            .arg(common::fixtures())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading the log to the end, so the server never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("ws://localhost:") {
                let _ = tx.send(line[at..].split_whitespace().next().unwrap().to_owned());
            }
        }
    });
    let url = tokio::task::spawn_blocking(move || {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the server announces its URL")
    })
    .await
    .unwrap();
    let mut c = common::Client::connect(&format!("{url}?dialect=docs")).await;
    let frames = c.ask("weather").await;
    assert_eq!(
        common::answer_text(&frames),
        "It's **18°C** and cloudy in Paris."
    );
}

#[test]
fn a_missing_static_directory_is_a_one_line_error() {
    let stderr = one_line_error(&["--port", "0", "--static", "/no/such/site"]);
    assert!(stderr.contains("--static /no/such/site"), "{stderr}");
    assert!(stderr.contains("index.html"), "{stderr}");
}

#[tokio::test]
async fn serving_a_frontend_defaults_to_the_dashboard_dialect() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>hi</p>").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pawmock"))
        .args(["--port", "0", "--speed", "0", "--recordings"])
        .arg(common::fixtures())
        .arg("--static")
        .arg(site.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
            let done = line.contains("serving the frontend in");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    let announce = lines
        .iter()
        .find(|l| l.contains("ws://localhost:"))
        .unwrap_or_else(|| panic!("no URL announced in {lines:?}"));
    assert!(announce.contains("dialect dashboard"), "{announce}");
    assert!(
        lines.iter().any(|l| l.contains("serving the frontend in")),
        "{lines:?}"
    );
    let at = announce.find("ws://localhost:").unwrap();
    let url = announce[at..].split_whitespace().next().unwrap().to_owned();
    let mut c = common::Client::connect(&url).await;
    assert_eq!(c.next().await["type"], "connection_info");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn an_unknown_chaos_profile_in_the_flag_refuses_to_start_and_names_the_known_ones() {
    cargo_bin_cmd!("pawmock")
        .args(["--port", "0", "--chaos", "flakey", "--recordings"])
        .arg(common::bundled())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown chaos profile `flakey` in --chaos",
        ))
        .stderr(predicate::str::contains("flaky-network"));
}
