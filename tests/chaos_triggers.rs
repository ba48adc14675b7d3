//! One test per trigger kind: when a fault fires.

mod common;

use std::time::{Duration, Instant};

use common::{Ending, Server, types};
use serde_json::json;

const WEATHER: &str = "dialect=docs&scenario=weather";

/// Indices (1-based) of the answer chunks that were dropped by a fault.
fn dropped_chunks(frames: &[serde_json::Value]) -> Vec<usize> {
    let words = ["It's ", "**18°C** ", "and ", "cloudy ", "in ", "Paris."];
    let got: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "response_chunk")
        .map(|f| f["content"].as_str().unwrap())
        .collect();
    words
        .iter()
        .enumerate()
        .filter(|(_, w)| !got.contains(w))
        .map(|(i, _)| i + 1)
        .collect()
}

async fn ask(server: &Server, query: &str) -> Vec<serde_json::Value> {
    server
        .connect(&format!("{WEATHER}&{query}"))
        .await
        .ask("weather")
        .await
}

#[tokio::test]
async fn probability_is_drawn_per_matching_event_from_the_seed() {
    let server = Server::fixtures().await;
    assert_eq!(
        dropped_chunks(&ask(&server, "fault=drop:events=text_chunk:probability=1").await),
        [1, 2, 3, 4, 5, 6]
    );
    assert!(
        dropped_chunks(&ask(&server, "fault=drop:events=text_chunk:probability=0").await)
            .is_empty()
    );
    let half = "fault=drop:events=text_chunk:probability=0.5&seed=11";
    let first = dropped_chunks(&ask(&server, half).await);
    assert!(
        !first.is_empty() && first.len() < 6,
        "some but not all: {first:?}"
    );
    assert_eq!(
        dropped_chunks(&ask(&server, half).await),
        first,
        "the same URL and seed drop the same chunks"
    );
}

#[tokio::test]
async fn probability_per_connection_for_a_handshake_reject() {
    let server = Server::fixtures().await;
    // Different seeds make different URLs, each with its own RNG: some are refused.
    let mut refused = Vec::new();
    for seed in 0..20 {
        let url = server.url(&format!(
            "fault=reject:status=503:probability=0.5&seed={seed}"
        ));
        refused.push(common::handshake_status(&url).await.is_some());
    }
    assert!(
        refused.iter().any(|r| *r) && refused.iter().any(|r| !*r),
        "{refused:?}"
    );
    // Deterministic per URL: the same seeds decide the same way again.
    for (seed, was) in refused.iter().enumerate() {
        let url = server.url(&format!(
            "fault=reject:status=503:probability=0.5&seed={seed}"
        ));
        assert_eq!(
            common::handshake_status(&url).await.is_some(),
            *was,
            "seed {seed}"
        );
    }
}

#[tokio::test]
async fn at_step_acts_before_the_nth_matching_event_and_after_step_after_it() {
    let server = Server::fixtures().await;
    assert_eq!(
        dropped_chunks(&ask(&server, "fault=drop:events=text_chunk:at_step=4").await),
        [4]
    );
    let f = ask(&server, "fault=error:message=x:events=text_chunk:at_step=2").await;
    assert_eq!(
        types(&f)[3..6],
        ["response_chunk", "error", "response_chunk"]
    );
    let f = ask(
        &server,
        "fault=error:message=x:events=text_chunk:after_step=2",
    )
    .await;
    assert_eq!(
        types(&f)[3..7],
        [
            "response_chunk",
            "response_chunk",
            "error",
            "response_chunk"
        ]
    );
}

#[tokio::test]
async fn after_marker_fires_at_the_first_matching_event_after_the_marker() {
    let server = Server::fixtures().await;
    // The recorded fixture has a marker "answer" right before its text chunks.
    let mut c = server.connect("dialect=docs&scenario=weather-recorded&fault=error:message=after-marker:after_marker=answer").await;
    let f = c.ask("x").await;
    assert_eq!(
        types(&f),
        [
            "tool_start",
            "tool_result",
            "error",
            "response_chunk",
            "response_chunk",
            "token_usage_extra",
            "stream_end"
        ]
    );
}

#[tokio::test]
async fn after_a_duration_from_the_turn_start() {
    let server = Server::fixtures().await;
    // The slow fixture at speed 1: a chunk every 200 ms from 10 ms; after 500 ms the 4th chunk is the first.
    let mut c = server.connect("dialect=docs&scenario=slow&speed=1&fault=error:message=late:after=500ms:events=text_chunk").await;
    let f = c.ask("go").await;
    let at = f.iter().position(|x| x["type"] == "error").unwrap();
    assert_eq!(at, 3, "three chunks (10, 210, 410 ms) come before 500 ms");
}

#[tokio::test]
async fn after_a_duration_from_connect_closes_even_when_nothing_plays() {
    let server = Server::fixtures().await;
    let started = Instant::now();
    let mut c = server
        .connect("fault=close:code=4001:reason=timeout:after=300ms:from=connect")
        .await;
    let (_, ending) = c.until_closed().await;
    assert_eq!(ending, Ending::Closed(4001, "timeout".into()));
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn turn_limits_a_fault_to_the_nth_turn() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect(&format!("{WEATHER}&fault=drop:events=tool_start:turn=2"))
        .await;
    assert!(types(&c.ask("weather").await).contains(&"tool_start".to_owned()));
    assert!(!types(&c.ask("weather").await).contains(&"tool_start".to_owned()));
    assert!(types(&c.ask("weather").await).contains(&"tool_start".to_owned()));
}

#[tokio::test]
async fn attempt_limits_a_fault_to_the_nth_connection_attempt() {
    let server = Server::fixtures().await;
    let url = server.url("fault=reject:status=500:attempt=2");
    assert_eq!(common::handshake_status(&url).await, None);
    assert_eq!(common::handshake_status(&url).await.map(|s| s.0), Some(500));
    assert_eq!(common::handshake_status(&url).await, None);
}

#[tokio::test]
async fn every_fires_at_every_nth_matching_event() {
    let server = Server::fixtures().await;
    assert_eq!(
        dropped_chunks(&ask(&server, "fault=drop:events=text_chunk:every=2").await),
        [2, 4, 6]
    );
}

#[tokio::test]
async fn several_faults_combine_in_order() {
    let server = Server::fixtures().await;
    let f = ask(&server, "fault=drop:events=thinking&fault=duplicate:events=tool_start&fault=drop:events=text_chunk:every=3").await;
    assert_eq!(types(&f)[..3], ["tool_start", "tool_start", "tool_result"]);
    assert_eq!(dropped_chunks(&f), [3, 6]);
}

#[tokio::test]
async fn a_scenarios_own_chaos_applies_to_its_turns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken-tool.json"),
        r#"{"chaos": [{"kind": "drop", "events": ["tool_result"]}],
            "turns": [{"reply": [{"tool": "t", "result": "r"}, {"say": "done"}]}]}"#,
    )
    .unwrap();
    let server = Server::instant(dir.path()).await;
    let mut c = server.connect("dialect=docs&scenario=broken-tool").await;
    c.send(json!({"action": "message", "content": "x"})).await;
    let f = c.until_stream_end().await;
    assert_eq!(types(&f), ["tool_start", "response_chunk", "stream_end"]);
}
