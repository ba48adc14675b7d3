//! Chaos profiles: the bundled ones, choosing them (`--chaos`, `?chaos=`), reproducibility,
//! unknown names, and `check` on a broken profile.

mod common;

use std::time::{Duration, Instant};

use common::{Ending, Server, types};
use pawmock::Library;
use pawmock::ServeConfig;
use pawmock::{Context, Delivery, TurnState, apply_chaos as apply};
use pawmock::{Timing, expand_turn};
use serde_json::json;

async fn bundled(config: ServeConfig) -> Server {
    Server::start(
        &common::bundled(),
        ServeConfig {
            speed: pawmock::Speed::INSTANT,
            ..config
        },
    )
    .await
}

#[tokio::test]
async fn every_documented_profile_exists() {
    let server = bundled(ServeConfig::default()).await;
    let lib = server.app.library();
    for name in [
        "flaky-network",
        "disconnect-mid-stream",
        "server-error",
        "auth-rejected",
        "handshake-403",
        "rate-limited",
        "malformed-frames",
        "slow-tools",
        "stall",
        "reconnect-storm",
    ] {
        assert!(
            lib.chaos_profile(name).is_some(),
            "bundled profile `{name}` is missing"
        );
    }
}

#[tokio::test]
async fn the_bundled_profiles_do_what_their_names_say() {
    let server = bundled(ServeConfig::default()).await;

    let mut c = server
        .connect("dialect=docs&scenario=long-markdown&chaos=disconnect-mid-stream")
        .await;
    c.send(json!({"action": "message", "content": "go"})).await;
    let (texts, ending) = c.until_closed().await;
    assert_eq!((texts.len(), ending), (5, Ending::Abnormal));

    let mut c = server
        .connect("dialect=docs&scenario=tool-call&chaos=server-error")
        .await;
    c.send(json!({"action": "message", "content": "go"})).await;
    let (texts, ending) = c.until_closed().await;
    assert!(texts.last().unwrap().contains("tool_start"));
    assert_eq!(ending, Ending::Closed(1011, "Internal server error".into()));

    let (texts, ending) = server
        .connect("dialect=dashboard&chaos=auth-rejected")
        .await
        .until_closed()
        .await;
    assert_eq!(
        (texts.len(), ending),
        (0, Ending::Closed(4003, "Unauthorized".into())),
        "closed at once, before any greeting"
    );

    let (_, ending) = server
        .connect("chaos=rate-limited")
        .await
        .until_closed()
        .await;
    assert_eq!(ending, Ending::Closed(4029, "Too many connections".into()));

    assert_eq!(
        common::handshake_status(&server.url("chaos=handshake-403"))
            .await
            .map(|s| s.0),
        Some(403)
    );

    let storm = server.url("chaos=reconnect-storm&scenario=hello");
    for _ in 0..3 {
        assert_eq!(
            common::handshake_status(&storm).await.map(|s| s.0),
            Some(503)
        );
    }
    assert_eq!(common::handshake_status(&storm).await, None);

    let mut c = server
        .connect("dialect=docs&scenario=long-markdown&chaos=stall")
        .await;
    c.send(json!({"action": "message", "content": "go"})).await;
    for _ in 0..3 {
        assert_eq!(c.next().await["type"], "response_chunk");
    }
    assert!(c.silent_for(Duration::from_millis(300)).await);

    // 5% of ~600 chunks: a handful are not JSON.
    let mut c = server
        .connect("dialect=docs&scenario=long-markdown&chaos=malformed-frames")
        .await;
    c.send(json!({"action": "message", "content": "go"})).await;
    let mut broken = 0;
    loop {
        let Some(tokio_tungstenite::tungstenite::Message::Text(t)) = c.raw().await else {
            panic!()
        };
        match serde_json::from_str::<serde_json::Value>(&t) {
            Ok(v) if v["type"] == "stream_end" => break,
            Ok(_) => {}
            Err(_) => broken += 1,
        }
    }
    assert!((5..=80).contains(&broken), "{broken} corrupted chunks");
}

#[tokio::test]
async fn slow_tools_keep_their_delay_at_speed_zero() {
    let server = bundled(ServeConfig::default()).await;
    let mut c = server
        .connect("dialect=docs&scenario=tool-call&speed=0&chaos=slow-tools")
        .await;
    let started = Instant::now();
    c.send(json!({"action": "message", "content": "go"})).await;
    let mut f = Vec::new();
    // The tool takes 5–15 s: read with more patience than usual.
    while f
        .last()
        .is_none_or(|x: &serde_json::Value| x["type"] != "stream_end")
    {
        let Some(tokio_tungstenite::tungstenite::Message::Text(t)) =
            c.raw_within(Duration::from_secs(30)).await
        else {
            panic!("text expected")
        };
        f.push(serde_json::from_str::<serde_json::Value>(&t).unwrap());
    }
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(types(&f).contains(&"tool_result".to_owned()));
}

#[tokio::test]
async fn the_server_default_applies_unless_the_url_chooses() {
    let server = bundled(ServeConfig {
        chaos: vec!["server-error".into()],
        ..Default::default()
    })
    .await;
    let mut c = server.connect("dialect=docs&scenario=tool-call").await;
    c.send(json!({"action": "message", "content": "go"})).await;
    assert_eq!(
        c.until_closed().await.1,
        Ending::Closed(1011, "Internal server error".into())
    );
    let mut c = server
        .connect("dialect=docs&scenario=tool-call&chaos=none")
        .await;
    assert_eq!(c.ask("go").await.last().unwrap()["type"], "stream_end");
}

#[tokio::test]
async fn an_unknown_profile_is_named_in_an_error_with_the_known_ones() {
    let server = bundled(ServeConfig::default()).await;
    let mut c = server.connect("dialect=docs&chaos=flakey").await;
    let e = c.next().await;
    assert_eq!(e["type"], "error");
    let text = e["message"].as_str().unwrap();
    assert!(text.contains("unknown chaos profile `flakey`"), "{text}");
    assert!(
        text.contains("flaky-network") && text.contains("reconnect-storm"),
        "{text}"
    );
    let e = server
        .connect("dialect=docs&fault=explode")
        .await
        .next()
        .await;
    assert!(
        e["message"].as_str().unwrap().contains("?fault=explode"),
        "{e}"
    );
}

#[tokio::test]
async fn the_same_url_and_seed_give_the_same_faults_however_many_others_run() {
    let server = bundled(ServeConfig::default()).await;
    let url = "dialect=docs&scenario=long-markdown&seed=5&fault=drop:events=text_chunk:probability=0.1&fault=duplicate:events=text_chunk:probability=0.05&resume_session=s1";
    let observe = |noise: usize| {
        let server = &server;
        async move {
            // Other connections with chaos run at the same time.
            let others: Vec<_> = (0..noise)
                .map(|i| async move {
                    let mut o = server
                        .connect(&format!("dialect=docs&scenario=long-markdown&fault=drop:events=text_chunk:probability=0.2&seed={i}"))
                        .await;
                    o.ask("x").await.len()
                })
                .collect();
            let mut c = server.connect(url).await;
            c.next().await; // session_switched
            let (mine, _) = tokio::join!(c.ask("go"), futures_util::future::join_all(others));
            mine
        }
    };
    let quiet = observe(0).await;
    let busy = observe(8).await;
    assert_eq!(quiet, busy);
    // And the faults did act: without them the same turn has other frames.
    let mut plain = server
        .connect("dialect=docs&scenario=long-markdown&seed=5&resume_session=s2")
        .await;
    plain.next().await;
    let without = plain.ask("go").await;
    assert_ne!(
        quiet.len(),
        without.len(),
        "drops and duplicates change the frame count"
    );
}

#[test]
fn check_reports_a_broken_profile_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("chaos")).unwrap();
    std::fs::write(
        dir.path().join("chaos/bad.json"),
        "{\n  \"faults\": [\n    { \"kind\": \"close\", \"code\": 1006 },\n    { \"kind\": \"drop\", \"trigger\": { \"probability\": 7 } },\n    { \"kind\": \"latency\" }\n  ]\n}\n",
    )
    .unwrap();
    let out = common::failed_check(dir.path());
    let d = dir.path().display();
    for expected in [
        format!("{d}/chaos/bad.json:3:32: faults[0].code: close code 1006 cannot be sent"),
        format!(
            "{d}/chaos/bad.json:4:51: faults[1].trigger.probability: `probability` is between 0 and 1"
        ),
        format!(
            "{d}/chaos/bad.json:5:5: faults[2]: a `latency` fault needs a `delay` or a `distribution`"
        ),
    ] {
        assert!(out.contains(&expected), "missing `{expected}` in:\n{out}");
    }
}

/// Guards the seeded fault sequence: if the RNG or the sampling changes, this snapshot
/// changes, and seeded chaos runs would no longer repeat.
#[test]
fn a_seeded_fault_sequence_is_pinned() {
    let lib = Library::load(&common::bundled()).unwrap().library;
    let s = lib.get("long-markdown").unwrap();
    let timing = Timing::default().with(&s.timing);
    let segment = expand_turn(
        &s.turns[0].body,
        &timing,
        &mut pawmock::derive_rng(1, "long-markdown", 1),
    );
    let faults = &lib.chaos_profile("flaky-network").unwrap().faults;
    let ctx = Context {
        turn: 1,
        attempt: 1,
        since_connect: Duration::ZERO,
    };
    let ops = apply(
        segment.events,
        faults,
        &mut TurnState::default(),
        ctx,
        &mut pawmock::derive_rng(1, "/ws?chaos=flaky-network", 0),
    );
    let summary: Vec<String> = ops
        .iter()
        .filter_map(|o| {
            o.fault
                .as_ref()
                .filter(|f| f.kind != "latency")
                .map(|f| (o, f))
        })
        .map(|(o, f)| {
            format!(
                "{} at event {} ({} ms): {}",
                f.kind,
                f.event_index,
                o.at.as_millis(),
                matches!(o.delivery, Delivery::Nothing)
            )
        })
        .collect();
    let last = ops.last().unwrap().at.as_millis();
    insta::assert_snapshot!(format!("{}\nlast op at {last} ms", summary.join("\n")));
}
