//! Ctrl-C on the real binary: open connections are closed with 1001 while a turn plays,
//! the process exits 0, and the log's last lines (written by the log thread) are not lost.

mod common;

use std::process::Command;

use common::{Client, Ending};

#[tokio::test]
async fn ctrl_c_closes_connections_with_1001_and_flushes_the_log() {
    let mut server = common::LoggedServer::start(&[]);
    let url = server.url.clone();

    // A slow answer at speed 1, so the turn is still playing when the signal comes.
    let mut c = Client::connect(&format!("{url}?dialect=docs&scenario=slow")).await;
    c.send(serde_json::json!({"action": "message", "content": "slow"}))
        .await;
    let first = c.next().await;
    assert_eq!(first["type"], "response_chunk", "{first}");

    let pid = server.child.0.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success(), "kill -INT {pid}");

    let (_, ending) = c.until_closed().await;
    assert!(
        matches!(&ending, Ending::Closed(1001, _)),
        "expected a 1001 close, got {ending:?}"
    );
    let exit = server.child.0.wait().unwrap();
    assert!(exit.success(), "pawmock exited with {exit}");

    // The process has exited: the reader thread ends at the pipe's end, and with it
    // the channel, so this takes every line the log thread wrote before the exit.
    let rest: Vec<String> = server.lines.iter().collect();
    for want in ["shutting down", "connection closed"] {
        assert!(
            rest.iter().any(|l| l.contains(want)),
            "no `{want}` line after Ctrl-C in:\n{}",
            rest.join("\n")
        );
    }
}
