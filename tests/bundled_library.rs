//! The bundled `recordings/`: its scenario names are an interface (the README documents
//! them for Storybook users), so each one is played and checked for what it promises.

mod common;

use common::{Server, answer_text};
use serde_json::{Value, json};

async fn server() -> Server {
    Server::instant(&common::bundled()).await
}

/// Plays one turn of a pinned scenario in the docs dialect; plans are approved.
async fn play(server: &Server, name: &str) -> Vec<Value> {
    let mut c = server
        .connect(&format!("dialect=docs&scenario={name}"))
        .await;
    c.send(json!({"action": "message", "content": "show me"}))
        .await;
    let mut frames = Vec::new();
    loop {
        let f = c.next().await;
        let kind = f["type"].as_str().unwrap().to_owned();
        frames.push(f);
        match kind.as_str() {
            "plan_created" => {
                c.send(json!({"action": "plan_response", "response": "approve"}))
                    .await
            }
            "stream_end" => return frames,
            _ => {}
        }
    }
}

fn count(frames: &[Value], kind: &str) -> usize {
    frames.iter().filter(|f| f["type"] == kind).count()
}

#[tokio::test]
async fn every_documented_scenario_exists_and_plays_to_stream_end() {
    let server = server().await;
    let lib = server.app.library();
    for name in [
        "hello",
        "long-markdown",
        "tool-call",
        "multi-tool",
        "tool-error",
        "error-mid-stream",
        "plan-approval",
        "inbox",
        "recorded-weather",
    ] {
        assert!(
            lib.get(name).is_some(),
            "bundled scenario `{name}` is missing"
        );
        let frames = play(&server, name).await;
        assert_eq!(frames.last().unwrap()["type"], "stream_end", "{name}");
    }
}

#[tokio::test]
async fn each_scenario_shows_what_its_name_promises() {
    let server = server().await;

    let hello = play(&server, "hello").await;
    assert!(!answer_text(&hello).is_empty() && count(&hello, "tool_start") == 0);

    let long = answer_text(&play(&server, "long-markdown").await);
    let words = long.split_whitespace().count();
    assert!((450..=900).contains(&words), "about 600 words, got {words}");
    assert!(long.contains("\n#") || long.starts_with('#'), "headings");
    assert!(
        long.contains("|---") || long.contains("| ---") || long.contains("|:--"),
        "a table"
    );
    assert!(long.matches("```").count() >= 4, "code blocks");
    assert!(long.contains("\n- ") || long.contains("\n* "), "a list");

    let tool = play(&server, "tool-call").await;
    assert_eq!(
        (
            count(&tool, "thinking") >= 1,
            count(&tool, "tool_start"),
            count(&tool, "tool_result")
        ),
        (true, 1, 1)
    );

    let multi = play(&server, "multi-tool").await;
    assert_eq!(
        (count(&multi, "tool_start"), count(&multi, "tool_result")),
        (3, 3)
    );

    let mut c = server
        .connect("dialect=dashboard&scenario=tool-error")
        .await;
    c.next().await;
    let failed = c.chat("go").await;
    assert!(
        failed
            .iter()
            .any(|f| f["event_type"] == "tool_result" && f["data"]["status"] == "error"),
        "a failing tool"
    );
    assert!(!answer_text(&failed).is_empty(), "an answer that recovers");

    let broken = play(&server, "error-mid-stream").await;
    let error_at = broken
        .iter()
        .position(|f| f["type"] == "error")
        .expect("an error frame");
    assert!(
        broken[..error_at]
            .iter()
            .any(|f| f["type"] == "response_chunk"),
        "part of an answer first"
    );

    let plan = play(&server, "plan-approval").await;
    assert_eq!(count(&plan, "plan_created"), 1);

    let inbox = play(&server, "inbox").await;
    let channels: std::collections::BTreeSet<_> = inbox
        .iter()
        .filter(|f| f["type"] == "inbox_update")
        .map(|f| f["channel"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        channels.len() >= 2,
        "inbox updates from two channels: {channels:?}"
    );

    let weather = server.app.library();
    let rec = weather.get("recorded-weather").unwrap();
    assert_eq!(rec.kind, pawmock::ScenarioKind::Recorded);
    let frames = play(&server, "recorded-weather").await;
    assert!(count(&frames, "tool_start") >= 1 && !answer_text(&frames).is_empty());
}
