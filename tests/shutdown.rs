//! Ctrl-C on the real binary: open connections are closed with 1001 while a turn plays,
//! the process exits 0, and the log's last lines (written by the log thread) are not lost.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Client, Ending};

#[tokio::test]
async fn ctrl_c_closes_connections_with_1001_and_flushes_the_log() {
    let mut child = common::ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_pawmock"))
            .args(["--port", "0", "--recordings"])
            .arg(common::fixtures())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let url = loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("log line");
        if let Some(at) = line.find("ws://localhost:") {
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };

    // A slow answer at speed 1, so the turn is still playing when the signal comes.
    let mut c = Client::connect(&format!("{url}?dialect=docs&scenario=slow")).await;
    c.send(serde_json::json!({"action": "message", "content": "slow"}))
        .await;
    let first = c.next().await;
    assert_eq!(first["type"], "response_chunk", "{first}");

    let pid = child.0.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success(), "kill -INT {pid}");

    let (_, ending) = c.until_closed().await;
    assert!(
        matches!(&ending, Ending::Closed(1001, _)),
        "expected a 1001 close, got {ending:?}"
    );
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "pawmock exited with {exit}");

    // The process has exited, so everything it logged is in the pipe by now.
    let rest: Vec<String> = rx.try_iter().collect();
    for want in ["shutting down", "connection closed"] {
        assert!(
            rest.iter().any(|l| l.contains(want)),
            "no `{want}` line after Ctrl-C in:\n{}",
            rest.join("\n")
        );
    }
}
