//! Every injected fault is logged with its connection, kind and event index, and the
//! connection's close line counts faults by kind.

mod common;

use std::time::Duration;

#[tokio::test]
async fn faults_are_logged_and_counted_on_the_close_line() {
    let server = common::LoggedServer::start(&["--speed", "0"]);
    let url = &server.url;

    let mut c = common::Client::connect(&format!(
        "{url}?dialect=docs&scenario=weather&fault=drop:events=text_chunk:every=2"
    ))
    .await;
    c.ask("weather").await;
    c.ws.close(None).await.unwrap();

    let mut faults = Vec::new();
    let closed = loop {
        let line = server
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("log line");
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
