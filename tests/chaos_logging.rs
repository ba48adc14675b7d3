//! Every injected fault is logged with its connection, kind and event index, and the
//! connection's close line counts faults by kind.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[tokio::test]
async fn faults_are_logged_and_counted_on_the_close_line() {
    let mut child = common::ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_pawmock"))
            .args(["--port", "0", "--speed", "0", "--recordings"])
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
    let next_line = |want: &'static str| {
        let rx = &rx;
        move || loop {
            let line = rx.recv_timeout(Duration::from_secs(30)).expect("log line");
            if line.contains(want) {
                return line;
            }
        }
    };
    let announce = next_line("ws://localhost:")();
    let at = announce.find("ws://localhost:").unwrap();
    let url = announce[at..].split_whitespace().next().unwrap().to_owned();

    let mut c = common::Client::connect(&format!(
        "{url}?dialect=docs&scenario=weather&fault=drop:events=text_chunk:every=2"
    ))
    .await;
    c.ask("weather").await;
    c.ws.close(None).await.unwrap();

    let mut faults = Vec::new();
    let closed = loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("log line");
        if line.contains("fault injected") {
            faults.push(line);
        } else if line.contains("connection closed") {
            break line;
        }
    };
    assert_eq!(faults.len(), 3, "{faults:#?}");
    // Events 1–4 are stream_start, thinking, tool_start, tool_result; chunks are 5–10.
    for (line, event) in faults.iter().zip(["event=6", "event=8", "event=10"]) {
        assert!(
            line.contains("conn=c1") && line.contains("fault=\"drop\""),
            "{line}"
        );
        assert!(line.contains(event), "{line} should name {event}");
    }
    assert!(closed.contains("faults=drop=3"), "{closed}");
}
