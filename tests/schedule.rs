//! Schedules as pure functions of (turn, timing, seed): no sockets, no clock.

mod common;

use std::time::Duration;

use pawmock::Body;
use pawmock::Event;
use pawmock::Library;
use pawmock::TimingSpec;
use pawmock::{Timing, expand_turn};

fn library() -> Library {
    Library::load(&common::fixtures()).unwrap().library
}

fn schedule(name: &str, turn: usize, timing: &Timing, seed: u64) -> Vec<(Duration, Event)> {
    let lib = library();
    let s = lib.get(name).unwrap();
    let mut r = pawmock::derive_rng(seed, name, 1);
    expand_turn(&s.turns[turn].body, timing, &mut r)
        .events
        .into_iter()
        .map(|e| (e.at, e.event))
        .collect()
}

fn weather_timing() -> Timing {
    let lib = library();
    Timing::default().with(&lib.get("weather").unwrap().timing)
}

#[test]
fn the_same_seed_gives_the_same_frames_and_the_same_offsets() {
    let t = weather_timing();
    assert_eq!(schedule("weather", 0, &t, 7), schedule("weather", 0, &t, 7));
    let other = schedule("weather", 0, &t, 8);
    assert_ne!(
        schedule("weather", 0, &t, 7),
        other,
        "jitter depends on the seed"
    );
    let events = |s: Vec<(Duration, Event)>| s.into_iter().map(|(_, e)| e).collect::<Vec<_>>();
    assert_eq!(
        events(schedule("weather", 0, &t, 7)),
        events(other),
        "the frames themselves do not"
    );
}

#[test]
fn offsets_follow_the_timing_model() {
    // weather: first_token 600ms, think 400ms (default), tool 1.2s, chunks 35ms ±30%.
    let t = weather_timing();
    let s = schedule("weather", 0, &t, 1);
    let at = |i: usize| s[i].0;
    assert_eq!(s[0], (Duration::ZERO, Event::StreamStart));
    assert_eq!(at(1), Duration::from_millis(600), "thinking at first_token");
    assert!(matches!(s[2].1, Event::ToolStart { .. }));
    assert_eq!(
        at(2),
        Duration::from_millis(1000),
        "tool after the thinking time"
    );
    assert_eq!(
        at(3),
        Duration::from_millis(2200),
        "tool result after its duration"
    );
    let chunks: Vec<Duration> = s
        .iter()
        .filter(|(_, e)| matches!(e, Event::TextChunk { .. }))
        .map(|(d, _)| *d)
        .collect();
    assert_eq!(chunks[0], Duration::from_millis(2200));
    for pair in chunks.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_micros(24_500) && gap <= Duration::from_micros(45_500),
            "gap {gap:?} outside 35ms ±30%"
        );
    }
    assert_eq!(s.last().unwrap().1, Event::StreamEnd);
}

#[test]
fn without_jitter_chunk_k_is_exactly_k_delays_after_the_first() {
    let t = Timing::default().with(&TimingSpec {
        chunk_delay: Some(pawmock::Dur(Duration::from_millis(50))),
        jitter: Some(0.0),
        ..Default::default()
    });
    let s = schedule("slow", 0, &t, 3);
    let chunks: Vec<Duration> = s
        .iter()
        .filter(|(_, e)| matches!(e, Event::TextChunk { .. }))
        .map(|(d, _)| *d)
        .collect();
    assert_eq!(chunks.len(), 20);
    for (k, at) in chunks.iter().enumerate() {
        assert_eq!(
            *at,
            chunks[0] + Duration::from_millis(50) * k as u32,
            "offsets are absolute, no drift"
        );
    }
}

#[test]
fn speed_divides_every_offset_and_zero_removes_them() {
    let t = weather_timing();
    let normal = schedule("weather", 0, &t, 5);
    let mut fast = t.clone();
    fast.speed = pawmock::Speed::new(2.0).unwrap();
    for ((a, e1), (b, e2)) in normal.iter().zip(schedule("weather", 0, &fast, 5)) {
        assert_eq!(*e1, e2);
        assert!(
            a.abs_diff(b * 2) <= Duration::from_nanos(2),
            "{a:?} vs {b:?}"
        );
    }
    let mut instant = t.clone();
    instant.speed = pawmock::Speed::INSTANT;
    assert!(
        schedule("weather", 0, &instant, 5)
            .iter()
            .all(|(d, _)| d.is_zero())
    );
}

#[test]
fn recorded_delays_are_capped_by_max_gap_and_kept_otherwise() {
    let lib = library();
    let s = lib.get("weather-recorded").unwrap();
    let t = Timing::default().with(&s.timing); // max_gap 50ms
    let Body::Recorded(_) = &s.turns[0].body else {
        panic!("a recording")
    };
    let mut r = pawmock::derive_rng(1, "weather-recorded", 1);
    let events = expand_turn(&s.turns[0].body, &t, &mut r).events;
    let offsets: Vec<u128> = events.iter().map(|e| e.at.as_millis()).collect();
    // 10ms, +200ms capped to 50, +5s capped to 50, marker +0, +30, +40 capped? no (40<50), +10, +10
    assert_eq!(offsets, [10, 60, 110, 110, 140, 180, 190, 200]);
    assert_eq!(
        events[3].event,
        Event::Marker {
            name: "answer".into()
        }
    );
    assert!(matches!(&events[6].event, Event::Raw(v) if v["type"] == "token_usage_extra"));
}

#[test]
fn chunks_per_second_sets_the_chunk_delay() {
    let t = Timing::default().with(&TimingSpec {
        chunks_per_second: Some(20.0),
        ..Default::default()
    });
    assert_eq!(t.chunk_delay, Duration::from_millis(50));
}

#[test]
fn max_gap_caps_the_silence_the_client_sees_whatever_the_speed() {
    let lib = library();
    let s = lib.get("weather-recorded").unwrap();
    let mut t = Timing::default().with(&s.timing); // max_gap 50ms
    t.speed = pawmock::Speed::new(0.5).unwrap();
    let mut r = pawmock::derive_rng(1, "weather-recorded", 1);
    let events = expand_turn(&s.turns[0].body, &t, &mut r).events;
    // The 5 s tool wait, slowed down, still shows as at most 50 ms of silence.
    let gaps: Vec<Duration> = events.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps.iter().all(|g| *g <= Duration::from_millis(50)),
        "{gaps:?}"
    );
    assert_eq!(gaps[1], Duration::from_millis(50));
}
