//! Property tests over every parser pawmock feeds with outside input: scenario,
//! recording, chaos profile and backend files, client frames, the `/ws` query string,
//! inline fault specs and durations. For any input: no panic, and an error says where;
//! a scenario that compiles also expands (plays) without a panic.
//!
//! `cargo test` runs 256 cases of each; `just fuzz` (PROPTEST_CASES=112000, nine
//! properties: about a million cases) is the long run recorded in BENCHMARKS.md.
//! Inputs are arbitrary strings, and the bundled files and valid frames mutated with
//! the tokens that broke pawmock before (huge numbers, negative ones, wrong types).

use std::path::Path;

use pawmock::{Dur, MAX_DURATION as MAX};
use proptest::prelude::*;

const SCENARIOS: &[&str] = &[
    include_str!("../recordings/hello.json"),
    include_str!("../recordings/tool-call.json"),
    include_str!("../recordings/plan-approval.json"),
    include_str!("../recordings/inbox.json"),
    include_str!("../tests/fixtures/everything.json"),
];
const RECORDINGS: &[&str] = &[
    include_str!("../recordings/recorded-weather.jsonl"),
    include_str!("../tests/fixtures/weather-recorded.jsonl"),
];
const PROFILES: &[&str] = &[
    include_str!("../recordings/chaos/flaky-network.json"),
    include_str!("../recordings/chaos/reconnect-storm.json"),
    include_str!("../recordings/chaos/slow-tools.json"),
    include_str!("../recordings/chaos/auth-rejected.json"),
];
const BACKENDS: &[&str] = &[include_str!("../recordings/backend.json")];
const FRAMES: &[&str] = &[
    r#"{"action": "message", "content": "hi", "session_id": "s1"}"#,
    r#"{"action": "chat", "message": "hi"}"#,
    r#"{"action": "switch_session", "session_id": "s1"}"#,
    r#"{"action": "plan_response", "response": "approve"}"#,
    r#"{"action": "add_reminder", "message": "remind me in 5 minutes to stretch"}"#,
    r#"{"action": "create_intention", "name": "n", "prompt": "p", "trigger": {"type": "cron"}}"#,
    r#"{"action": "stop"}"#,
];

/// What a mutation inserts: the shapes that found bugs, and JSON's own punctuation.
const TOKENS: &[&str] = &[
    "18446744073709551615",
    "1e19",
    "1e308",
    "-1",
    "-0.5",
    "0",
    "NaN",
    "\"25h\"",
    "\"0.000001ms\"",
    "\"99999999999h\"",
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"pause\": 18446744073709551615",
    "\"delay\": 1e19",
    "\"speed\": 1e-300",
    "\"chunks_per_second\": 1e-300",
    "\"regex\": \"(\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "//",
    "\u{0}",
    "é",
    "\u{1F600}",
];

/// A seed text with a few tokens inserted or spans deleted at char boundaries.
fn mutated(seeds: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        prop::sample::select(seeds),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop::sample::select(TOKENS),
                0usize..8,
            ),
            1..5,
        ),
    )
        .prop_map(|(seed, edits)| {
            let mut text = seed.to_owned();
            for (at, token, delete) in edits {
                let mut i = at.index(text.len() + 1);
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                let mut end = (i + delete).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(i..end, token);
            }
            text
        })
}

fn input(seeds: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![1 => any::<String>(), 4 => mutated(seeds)]
}

/// Compiles `text` as the file `rel`; a failure must name that file and a real place.
fn located(rel: &str, text: &str) -> Result<(), TestCaseError> {
    let path = Path::new("/fuzz").join(rel);
    let Some(result) = pawmock::compile_text(Path::new(rel), &path, text) else {
        return Err(TestCaseError::fail(format!(
            "{rel} is not a file pawmock reads"
        )));
    };
    // What compiles also plays: expanding every turn (the scenario's own timing, at
    // speed 1) must not panic, whatever durations and speeds the file holds.
    if let Ok(pawmock::Entry::Scenario(s)) = &result {
        let timing = pawmock::Timing::default().with(&s.timing);
        for (i, turn) in s.turns.iter().enumerate() {
            let mut rng = pawmock::derive_rng(1, &s.name, i as u64);
            pawmock::expand_turn(&turn.body, &timing, &mut rng);
        }
    }
    if let Err(problems) = result {
        prop_assert!(!problems.is_empty());
        let lines = text.split('\n').count();
        for p in problems {
            prop_assert_eq!(&p.file, &path);
            prop_assert!(p.line >= 1 && p.line <= lines + 1, "{p}");
            prop_assert!(p.column >= 1, "{p}");
            prop_assert!(!p.message.trim().is_empty(), "{p}");
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn scenario_files(text in input(SCENARIOS)) {
        located("fuzzed.json", &text)?;
    }

    #[test]
    fn recording_files(text in input(RECORDINGS)) {
        located("fuzzed.jsonl", &text)?;
    }

    #[test]
    fn chaos_profile_files(text in input(PROFILES)) {
        located("chaos/fuzzed.json", &text)?;
    }

    #[test]
    fn backend_files(text in input(BACKENDS)) {
        located("backend.json", &text)?;
    }

    #[test]
    fn client_frames(text in input(FRAMES)) {
        if let Err(e) = pawmock::decode_action(&text) {
            prop_assert!(!e.0.trim().is_empty());
        }
    }

    #[test]
    fn query_strings(
        pairs in prop::collection::vec(
            (
                prop_oneof![
                    prop::sample::select(pawmock::URL_PARAMETERS).prop_map(str::to_owned),
                    any::<String>(),
                ],
                prop_oneof![prop::sample::select(TOKENS).prop_map(str::to_owned), any::<String>()],
            ),
            0..12,
        ),
        raw in any::<String>(),
    ) {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        for q in [query.as_str(), raw.as_str()] {
            let (_, errors) = pawmock::parse_url(q);
            // One error per bad value at most, and one for all the unknown names.
            prop_assert!(errors.len() <= pairs.len().max(q.split('&').count()) + 1);
            prop_assert!(errors.iter().all(|e| !e.trim().is_empty()));
        }
    }

    #[test]
    fn inline_fault_specs(
        kind in prop::sample::select(&[
            "latency", "drop", "duplicate", "corrupt", "stall", "slice", "fragment", "error",
            "close", "abort", "reject", "refuse_first", "explode",
        ][..]),
        params in prop::collection::vec(
            (
                prop::sample::select(&[
                    "delay", "duration", "interval", "min", "max", "mean", "stddev", "median",
                    "sigma", "after", "from", "probability", "at_step", "after_step", "every",
                    "code", "status", "count", "pieces", "events", "message", "end_turn", "x",
                ][..]),
                prop_oneof![prop::sample::select(TOKENS).prop_map(str::to_owned), any::<String>()],
            ),
            0..6,
        ),
    ) {
        let spec = std::iter::once(kind.to_owned())
            .chain(params.iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(":");
        if let Err(e) = pawmock::parse_fault(&spec) {
            prop_assert!(e.starts_with("?fault="), "{e}");
        }
    }

    #[test]
    fn duration_strings(text in prop_oneof![
        any::<String>(),
        prop::sample::select(TOKENS).prop_map(str::to_owned),
        (any::<f64>(), prop::sample::select(&["ms", "s", "m", "h", "", "d", " s"][..]))
            .prop_map(|(n, u)| format!("{n}{u}")),
        (any::<u64>(), prop::sample::select(&["ms", "s", "m", "h", ""][..]))
            .prop_map(|(n, u)| format!("{n}{u}")),
    ]) {
        match pawmock::parse_duration(&text) {
            Ok(d) => prop_assert!(d <= MAX),
            Err(e) => prop_assert!(e.contains("duration"), "{e}"),
        }
    }

    #[test]
    fn duration_numbers(n in prop_oneof![
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(serde_json::Value::Number)),
        any::<u64>().prop_map(|u| Some(serde_json::Value::from(u))),
        any::<i64>().prop_map(|i| Some(serde_json::Value::from(i))),
    ]) {
        if let Some(value) = n {
            let text = value.to_string();
            match serde_json::from_str::<Dur>(&text) {
                Ok(d) => prop_assert!(d.0 <= MAX, "{text}"),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
