//! `pawmock record` and `pawmock import` as commands: the real binary, its exit codes
//! and messages, and what a recorder killed with SIGKILL leaves behind.

mod common;

use std::process::Command;

use common::{ChildGuard, Client, Server};
use pawmock::ServeConfig;
use serde_json::json;

fn pawmock() -> assert_cmd::Command {
    assert_cmd::cargo::cargo_bin_cmd!("pawmock")
}

/// The real `pawmock record` binary in front of `upstream`, its log read line by line.
struct RecordProcess {
    child: ChildGuard,
    lines: std::sync::mpsc::Receiver<String>,
    /// `127.0.0.1:PORT`, from the line that announces it.
    addr: String,
}

impl RecordProcess {
    fn start(upstream: &str, out: &std::path::Path) -> RecordProcess {
        let (child, lines) = common::logged(
            Command::new(env!("CARGO_BIN_EXE_pawmock"))
                .args(["record", "--port", "0", "--upstream", upstream])
                .arg("--out")
                .arg(out),
        );
        let mut p = RecordProcess {
            child,
            lines,
            addr: String::new(),
        };
        let announce = p.line_with("pawmock record on ws://");
        p.addr = announce
            .split("pawmock record on ws://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap()
            .to_owned();
        p
    }

    /// The next log line that contains `want`.
    fn line_with(&self, want: &str) -> String {
        common::line_with(&self.lines, want)
    }
}

#[tokio::test]
async fn the_log_names_an_upstream_that_cannot_be_reached_and_why() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = gone.local_addr().unwrap();
    drop(gone);
    let out = tempfile::tempdir().unwrap();
    let recorder = RecordProcess::start(&format!("ws://{dead}/ws"), out.path());
    let refused =
        common::handshake_status(&format!("ws://{}/ws?token=LOGSECRET", recorder.addr)).await;
    assert_eq!(refused.map(|(s, _)| s), Some(502));
    let line = recorder.line_with("cannot reach the upstream");
    assert!(line.contains(&format!("ws://{dead}/ws")), "{line}");
    assert!(line.to_lowercase().contains("refused"), "{line}");
    assert!(
        !line.contains("LOGSECRET"),
        "the token stays out of the log: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_killed_mid_conversation_leaves_a_recording_that_loads() {
    let upstream = Server::start(&common::bundled(), ServeConfig::default()).await;
    let out = tempfile::tempdir().unwrap();
    let RecordProcess {
        mut child, addr, ..
    } = RecordProcess::start(&format!("ws://{}/ws", upstream.addr), out.path());
    let mut c = Client::connect(&format!("ws://{addr}/ws")).await;
    c.send(json!({"action": "message", "content": "long-markdown"}))
        .await;
    for _ in 0..10 {
        assert_eq!(c.next().await["type"], "response_chunk");
    }
    child.0.kill().unwrap(); // SIGKILL: no chance to finish anything
    child.0.wait().unwrap();

    let files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.lines().count() >= 12,
        "every frame that passed was written:\n{text}"
    );
    let loaded = pawmock::Library::load(out.path()).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let s = &loaded.library.scenarios()[0];
    assert_eq!(s.turns.len(), 1);

    // Killed while writing a line: the cut line is skipped, with a warning naming it.
    let cut = &text[..text.len() - 10];
    std::fs::write(&files[0], cut).unwrap();
    let loaded = pawmock::Library::load(out.path()).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let warnings = &loaded.library.scenarios()[0].warnings;
    let last = cut.lines().count();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!(":{last}: the last line is cut short")),
        "{warnings:?}"
    );
    let check = pawmock().arg("check").arg(out.path()).assert().success();
    let printed = String::from_utf8_lossy(&check.get_output().stdout).into_owned();
    assert!(
        printed.contains("warning:") && printed.contains("cut short"),
        "{printed}"
    );
}

#[test]
fn record_refuses_a_bad_upstream_or_rule_with_a_reason() {
    let wss = pawmock()
        .args([
            "record",
            "--port",
            "0",
            "--upstream",
            "wss://example.test/ws",
        ])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&wss.get_output().stderr).into_owned();
    assert!(err.contains("TLS upstreams"), "{err}");
    let rule = pawmock()
        .args([
            "record",
            "--port",
            "0",
            "--upstream",
            "ws://127.0.0.1:9/ws",
            "--redact",
            "$.[",
        ])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&rule.get_output().stderr).into_owned();
    assert!(err.contains("--redact `$.[` is not a JSONPath"), "{err}");
}

#[test]
fn import_converts_each_websocket_of_a_har_and_check_accepts_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("session.har");
    std::fs::write(
        &har,
        json!({"log": {"version": "1.2", "entries": [
            {"request": {"url": "http://localhost:8888/", "method": "GET"}},
            {"request": {"url": "ws://localhost:8888/ws?token=HARSECRET", "method": "GET"},
             "_webSocketMessages": [
                {"type": "send", "time": 10.0, "opcode": 1, "data": "{\"action\":\"message\",\"content\":\"hi\"}"},
                {"type": "receive", "time": 10.5, "opcode": 1, "data": "{\"type\":\"response_chunk\",\"content\":\"Hello\",\"session_id\":\"s\"}"},
                {"type": "receive", "time": 10.6, "opcode": 1, "data": "{\"type\":\"stream_end\",\"session_id\":\"s\"}"}
             ]},
            {"request": {"url": "ws://other.test/socket", "method": "GET"},
             "_webSocketMessages": [
                {"type": "receive", "time": 1.0, "opcode": 1, "data": "welcome"},
                {"type": "send", "time": 2.0, "opcode": 1, "data": "PING"},
                {"type": "receive", "time": 2.1, "opcode": 2, "data": "AAEC"}
             ]}
        ]}})
        .to_string(),
    )
    .unwrap();
    let out = dir.path().join("recordings");
    let ok = pawmock()
        .arg("import")
        .arg(&har)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let printed = String::from_utf8_lossy(&ok.get_output().stdout).into_owned();
    assert!(
        printed.contains("session-1.jsonl (3 frames from ws://localhost:8888/ws)"),
        "{printed}"
    );
    assert!(
        printed.contains("session-2.jsonl (3 frames from ws://other.test/socket)"),
        "{printed}"
    );
    let all: String = ["session-1.jsonl", "session-2.jsonl"]
        .iter()
        .map(|n| std::fs::read_to_string(out.join(n)).unwrap())
        .collect();
    assert!(!all.contains("HARSECRET"), "{all}");
    pawmock().arg("check").arg(&out).assert().success();
    let listed = pawmock().arg("list").arg(&out).assert().success();
    let listed = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    assert!(
        listed.contains("ws://localhost:8000/ws?scenario=session-2"),
        "{listed}"
    );
}

#[test]
fn a_malformed_har_is_refused_with_its_place_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (name, text, expected) in [
        (
            "broken.har",
            "{\"log\": {\"entries\": [",
            "broken.har: line 1, column 21: not JSON (EOF while parsing a list)",
        ),
        (
            "empty.har",
            "{\"log\": {\"entries\": []}}",
            "no WebSocket messages",
        ),
        (
            "bad-type.har",
            r#"{"log":{"entries":[{"request":{"url":"ws://x/ws"},"_webSocketMessages":[
                {"type":"send","time":1,"opcode":1,"data":"a"},
                {"type":"sent","time":2,"opcode":1,"data":"b"}]}]}}"#,
            "log.entries[0]._webSocketMessages[1].type must be \"send\" or \"receive\", got \"sent\"",
        ),
    ] {
        let har = dir.path().join(name);
        std::fs::write(&har, text).unwrap();
        let failed = pawmock()
            .arg("import")
            .arg(&har)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
        assert!(err.contains(expected), "{name}: {err}");
    }
    assert!(
        !out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing was written"
    );
}

/// `--out` and `--redact` are one flattened struct for `record` and `import`, but each
/// command keeps its own default folder and its own help, and `--redact` works in both.
#[test]
fn record_and_import_share_out_and_redact_with_their_own_default_folders() {
    let help = |cmd: &str| {
        let out = pawmock().args([cmd, "--help"]).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let record = help("record");
    assert!(
        record.contains("one `<date>-<connection>.jsonl` per connection")
            && record.contains("[default: recordings/recorded]"),
        "{record}"
    );
    let import = help("import");
    assert!(
        import.contains("one per WebSocket of the HAR")
            && import.contains("[default: recordings/imported]"),
        "{import}"
    );
    for text in [&record, &import] {
        assert!(text.contains("--redact <RULE>") && text.contains("[env: PAWMOCK_OUT="));
    }

    // Without --out, import writes to its own default folder (relative to where it runs),
    // redacting with a rule given the same way as record's.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.har"),
        json!({"log": {"version": "1.2", "entries": [
            {"request": {"url": "ws://localhost:8888/ws", "method": "GET"},
             "_webSocketMessages": [
                {"type": "receive", "time": 1.0, "opcode": 1, "data": "{\"type\":\"response_chunk\",\"content\":\"call 555-0100\",\"session_id\":\"s\"}"}
             ]}
        ]}})
        .to_string(),
    )
    .unwrap();
    pawmock()
        .current_dir(dir.path())
        .env_remove("PAWMOCK_OUT")
        .args(["import", "s.har", "--redact", "555-[0-9]+"])
        .assert()
        .success();
    let written = std::fs::read_to_string(dir.path().join("recordings/imported/s-1.jsonl"))
        .expect("import's default folder");
    assert!(
        written.contains("[redacted]") && !written.contains("555-0100"),
        "{written}"
    );
}
