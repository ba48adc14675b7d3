//! Issue 11: whatever the input or the load, no panic, no hang, bounded memory. Each
//! test here reproduced a defect on the code before its fix.

mod common;

use common::{Server, answer_text};
use serde_json::Value;

/// The connection answers a normal chat after whatever came before.
async fn still_answers(c: &mut common::Client) {
    let frames = c.ask("weather").await;
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
}

fn error_text(f: &Value) -> String {
    assert_eq!(f["type"], "error", "{f}");
    f["message"]
        .as_str()
        .or(f["content"].as_str())
        .unwrap()
        .to_owned()
}

// ---- #1 durations: one 24 h bound from every source --------------------------------

#[tokio::test]
async fn huge_numeric_fault_durations_are_refused_at_connect_instead_of_panicking() {
    let server = Server::fixtures().await;
    for fault in [
        "latency:delay=18446744073709551615",
        "latency:delay=1000000000000000",
        "stall:duration=18446744073709551615",
        "slice:interval=18446744073709551615",
        "latency:distribution=uniform:min=1:max=18446744073709551615",
        "close:after=18446744073709551615:from=connect",
    ] {
        let mut c = server
            .connect(&format!("dialect=docs&scenario=weather&fault={fault}"))
            .await;
        let e = error_text(&c.next().await);
        assert!(e.contains("24h"), "{fault}: {e}");
        still_answers(&mut c).await;
    }
}

#[test]
fn check_reports_huge_numeric_durations_in_scenarios_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("long.json"),
        "{\n  \"timing\": { \"first_token\": 1e19 },\n  \"turns\": [ { \"reply\": [ { \"say\": \"a\" } ] } ]\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pause.json"),
        "{\n  \"turns\": [ { \"reply\": [ { \"pause\": 18446744073709551615 } ] } ]\n}\n",
    )
    .unwrap();
    let out = common::failed_check(dir.path());
    let d = dir.path().display();
    for expected in [
        format!(
            "{d}/long.json:2:30: timing.first_token: duration 10000000000000000000 is longer than the 24h"
        ),
        format!(
            "{d}/pause.json:2:38: turns[0].reply[0].pause: duration 18446744073709551615 is longer than the 24h"
        ),
    ] {
        assert!(out.contains(&expected), "missing `{expected}` in:\n{out}");
    }
    assert!(out.contains("24h"), "{out}");
}
