//! Pause and resume over real sockets on tokio's paused clock: virtual time only moves
//! when everything waits on a timer, so the offsets a client sees are exact.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Server, http};
use pawmock::ServeConfig;
use serde_json::json;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn resume_goes_on_where_pause_stopped_shifted_by_exactly_the_time_paused() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures_control");
    let s = Server::start(&dir, ServeConfig::default()).await;
    let mut c = s.connect("scenario=stream&run=v&jitter=0").await;
    let list = http::get(s.addr, "/__pawmock/connections?run=v", &[])
        .await
        .json();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let sent = Instant::now();
    c.send(json!({"action": "message", "content": "go"})).await;
    // first_token 100 ms, then a word every 100 ms (jitter 0).
    let mut at = Vec::new();
    for _ in 0..2 {
        c.next().await;
        at.push(sent.elapsed());
    }
    let pause = format!("/__pawmock/connections/{id}/pause");
    assert_eq!(
        http::request(s.addr, "POST", &pause, &[], b"").await.status,
        200
    );
    let paused_at = sent.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let resume = format!("/__pawmock/connections/{id}/resume");
    assert_eq!(
        http::request(s.addr, "POST", &resume, &[], b"")
            .await
            .status,
        200
    );
    let held = sent.elapsed() - paused_at;
    let third = c.next().await;
    assert_eq!(third["content"], "three ");
    let ms = |d: Duration| d.as_millis();
    assert_eq!((ms(at[0]), ms(at[1])), (100, 200));
    // The third word was due at 300 ms; it comes exactly `held` later.
    assert_eq!(ms(sent.elapsed()), 300 + ms(held));
}

#[tokio::test(start_paused = true)]
async fn steps_release_one_frame_each_and_speed_stretches_what_is_left() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures_control");
    let s = Server::start(&dir, ServeConfig::default()).await;
    let mut c = s.connect("scenario=stream&run=w&jitter=0").await;
    let list = http::get(s.addr, "/__pawmock/connections?run=w", &[])
        .await
        .json();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let post = |action: &'static str, body: &'static str| {
        let path = format!("/__pawmock/connections/{id}/{action}");
        let addr = s.addr;
        async move { http::request(addr, "POST", &path, &[], body.as_bytes()).await }
    };
    assert_eq!(post("pause", "").await.status, 200);
    c.send(json!({"action": "message", "content": "go"})).await;
    assert!(
        c.silent_for(Duration::from_secs(60)).await,
        "held before its first frame"
    );
    for word in ["one ", "two "] {
        let r = post("step", "").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(c.next().await["content"], word);
    }
    assert!(
        c.silent_for(Duration::from_secs(60)).await,
        "a step sends one frame"
    );
    assert_eq!(post("speed", r#"{"speed": 0.5}"#).await.status, 200);
    let resumed = Instant::now();
    assert_eq!(post("resume", "").await.status, 200);
    // The playhead stood at "two " (200 ms); "three " is 100 ms on, 200 ms at half speed.
    assert_eq!(c.next().await["content"], "three ");
    assert_eq!(resumed.elapsed().as_millis(), 200);
    assert_eq!(c.next().await["content"], "four ");
    assert_eq!(resumed.elapsed().as_millis(), 400);
}
