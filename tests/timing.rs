//! Timing over real sockets: same seed → same frames; speed 0 → no delay; the cadence
//! never runs ahead of the schedule. Bounds are one-sided or generous, so they hold on a
//! loaded 2-core machine (timers never fire early; they may fire late).

mod common;

use std::time::{Duration, Instant};

use common::{Server, answer_text};
use pawmock::ServeConfig;
use serde_json::json;

#[tokio::test]
async fn two_connections_with_the_same_seed_receive_identical_frames() {
    let server = Server::start(&common::fixtures(), ServeConfig::default()).await;
    // Fresh session ids are random (two tabs must not share one), so both resume one.
    // The docs dialect: dashboard connections also receive each other's system_events
    // (as on the real backend), which would interleave the two turns.
    let url = "dialect=docs&scenario=weather&seed=42&speed=20&resume_session=websocket_same";
    let (mut a, mut b) = (server.connect(url).await, server.connect(url).await);
    for c in [&mut a, &mut b] {
        assert_eq!(c.next().await["type"], "session_switched");
    }
    let (fa, fb) = tokio::join!(a.ask("weather"), b.ask("weather"));
    assert_eq!(fa, fb);
    assert!(fa.len() > 6);
}

#[tokio::test]
async fn speed_zero_plays_a_whole_turn_without_delay() {
    // The `slow` fixture takes over 4 s at speed 1.
    let server = Server::start(&common::fixtures(), ServeConfig::default()).await;
    let mut c = server.connect("dialect=docs&scenario=slow&speed=0").await;
    let started = Instant::now();
    let frames = c.ask("go").await;
    assert_eq!(frames.len(), 21);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_cadence_never_runs_ahead_of_the_schedule() {
    let server = Server::start(&common::fixtures(), ServeConfig::default()).await;
    // At speed 4 the first chunk is due 2.5 ms after the turn starts and the 20th
    // 19 × 50 ms later: 952.5 ms. The clock starts before the message is sent, so the
    // turn cannot have started earlier, and timers never fire early.
    let mut c = server.connect("dialect=docs&scenario=slow&speed=4").await;
    let sent = Instant::now();
    c.send(json!({"action": "message", "content": "go"})).await;
    let frames = c.until_stream_end().await;
    let elapsed = sent.elapsed();
    assert_eq!(frames.len(), 21);
    assert!(
        elapsed >= Duration::from_millis(952),
        "ran ahead: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(6),
        "far too slow: {elapsed:?}"
    );
}

#[tokio::test]
async fn url_timing_overrides_apply_per_connection() {
    let server = Server::start(&common::fixtures(), ServeConfig::default()).await;
    // The fixture says 200 ms per chunk; the URL says 1 ms with no jitter.
    let mut c = server
        .connect("dialect=docs&scenario=slow&chunk_delay=1ms&jitter=0&first_token=0ms")
        .await;
    let started = Instant::now();
    let frames = c.ask("go").await;
    assert_eq!(answer_text(&frames).split_whitespace().count(), 20);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unanswered_plan_times_out_into_its_timeout_branch() {
    // Real time on purpose: a paused clock auto-advances while socket I/O is in flight.
    // The pure version of this is in src/connection/turn.rs.
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=plan").await;
    c.send(json!({"action": "message", "content": "refactor"}))
        .await;
    let started = Instant::now();
    let frames = c.until_stream_end().await;
    assert!(frames.iter().any(|f| f["type"] == "plan_created"));
    assert!(answer_text(&frames).ends_with("No answer, so I did nothing."));
    assert!(started.elapsed() >= Duration::from_secs(3));
}
