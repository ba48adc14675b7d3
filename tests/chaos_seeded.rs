//! Seeded faults are byte-identical for the same seed: these tests pin what a few seeds
//! decide, over every kind of fault and every stage (handshake, connect timer, event),
//! so that a change to how chaos is built or applied cannot move them unnoticed.

mod common;

use std::fmt::Write as _;
use std::time::Duration;

use common::{Ending, Server, handshake_status};
use pawmock::Event;
use pawmock::Library;
use pawmock::{Context, Delivery, TurnState, apply_chaos as apply};
use pawmock::{Timing, expand_turn};

/// One line per delivery of a turn: its time, what is sent, and the fault behind it.
fn describe(spec: &str, seed: u64) -> String {
    let lib = Library::load(&common::bundled()).unwrap().library;
    let s = lib.get("long-markdown").unwrap();
    let timing = Timing::default().with(&s.timing);
    let segment = expand_turn(
        &s.turns[0].body,
        &timing,
        &mut pawmock::derive_rng(seed, "long-markdown", 1),
    );
    let faults: Vec<_> = spec
        .split(' ')
        .map(|f| pawmock::parse_fault(f).unwrap())
        .collect();
    let ctx = Context {
        turn: 1,
        attempt: 1,
        since_connect: Duration::ZERO,
    };
    let ops = apply(
        segment.events,
        &faults,
        &mut TurnState::default(),
        ctx,
        &mut pawmock::derive_rng(seed, &format!("/ws?fault={spec}"), 0),
    );
    let mut out = format!("{spec} (seed {seed}): {} ops\n", ops.len());
    let mut total = 0u128;
    for o in &ops {
        total += o.at.as_micros();
        let Some(f) = &o.fault else { continue };
        let what = match &o.delivery {
            Delivery::Send(Event::TextChunk { text }) => format!("chunk {:?}", text.len()),
            Delivery::Send(e) => e.kind().to_owned(),
            Delivery::Corrupt(e) => format!("corrupt {}", e.kind()),
            Delivery::Fragmented(e, n) => format!("fragmented {} in {n}", e.kind()),
            Delivery::Close { code, reason } => format!("close {code} {reason}"),
            Delivery::Abort => "abort".into(),
            Delivery::Halt => "halt".into(),
            Delivery::Nothing => "nothing".into(),
        };
        let _ = writeln!(
            out,
            "  {} at event {} ({} us): {what}",
            f.kind,
            f.event_index,
            o.at.as_micros()
        );
    }
    let _ = writeln!(
        out,
        "  sum of times {total} us, last at {} us",
        ops.last().map_or(0, |o| o.at.as_micros())
    );
    out
}

#[test]
fn seeded_deliveries_of_every_event_fault_kind_are_pinned() {
    let specs = [
        "drop:events=text_chunk:probability=0.05",
        "duplicate:events=text_chunk|thinking:probability=0.04",
        "reorder:events=text_chunk:probability=0.03",
        "corrupt:events=text_chunk:every=97",
        "fragment:pieces=4:events=text_chunk:probability=0.02",
        "slice:pieces=3:interval=7ms:events=text_chunk:probability=0.03",
        "latency:distribution=uniform:min=5ms:max=50ms:events=text_chunk:probability=0.1",
        "latency:distribution=normal:mean=40ms:stddev=15ms:events=text_chunk:every=25",
        "latency:distribution=lognormal:median=30ms:sigma=0.7:after_step=5",
        "stall:duration=300ms:events=text_chunk:probability=0.01",
        "error:message=boom:events=text_chunk:probability=0.02",
        "error:message=over:end_turn=true:after_marker=mid-answer:probability=0.5",
        "close:code=4001:reason=bye:events=text_chunk:probability=0.01",
        "abort:events=text_chunk:probability=0.005",
        "stall:events=text_chunk:probability=0.004",
        // Several faults at once draw from one RNG, in order.
        "drop:events=text_chunk:probability=0.05 latency:distribution=uniform:min=1ms:max=9ms:probability=0.2 duplicate:probability=0.03 reorder:events=text_chunk:probability=0.02",
    ];
    let mut all = String::new();
    for spec in specs {
        for seed in [1, 7] {
            all.push_str(&describe(spec, seed));
        }
    }
    insta::assert_snapshot!(all);
}

/// What one connection to `query` met: a refused handshake, a close timed from connect,
/// or the chunks of an answer that a probabilistic `drop` left.
async fn outcome(server: &Server, query: &str) -> String {
    let url = server.url(query);
    if let Some((status, _)) = handshake_status(&url).await {
        return format!("refused {status}");
    }
    let mut client = server.connect(query).await;
    client
        .send_text(r#"{"action":"message","content":"weather"}"#)
        .await;
    let (texts, ending) = until_closed_or_stream_end(&mut client).await;
    match ending {
        Some(Ending::Closed(code, _)) => format!("closed {code} after {} frames", texts.len()),
        Some(Ending::Abnormal) => format!("aborted after {} frames", texts.len()),
        None => {
            let chunks: Vec<String> = texts
                .iter()
                .filter_map(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                .filter(|f| f["type"] == "response_chunk")
                .map(|f| f["content"].as_str().unwrap_or("").to_owned())
                .collect();
            format!("answered {chunks:?}")
        }
    }
}

/// Text frames until the turn's `stream_end` (`None`) or the end of the connection.
async fn until_closed_or_stream_end(client: &mut common::Client) -> (Vec<String>, Option<Ending>) {
    use tokio_tungstenite::tungstenite::Message;
    let mut texts = Vec::new();
    loop {
        match client.raw().await {
            Some(Message::Text(t)) => {
                let end = t.contains("\"stream_end\"");
                texts.push(t.to_string());
                if end {
                    return (texts, None);
                }
            }
            Some(Message::Close(frame)) => {
                let code = frame.map_or(1005, |f| u16::from(f.code));
                return (texts, Some(Ending::Closed(code, String::new())));
            }
            Some(other) => panic!("unexpected message {other:?}"),
            None => return (texts, Some(Ending::Abnormal)),
        }
    }
}

#[tokio::test]
async fn seeded_handshake_and_connect_decisions_are_pinned() {
    let server = Server::fixtures().await;
    let mut all = String::new();
    for seed in 1..=8 {
        // The handshake draws first, then the connect timer, then the turn's faults: one
        // RNG per connection, so each decision moves the ones after it.
        let query = format!(
            "dialect=docs&scenario=weather&seed={seed}\
             &fault=reject:status=429:probability=0.3\
             &fault=close:code=4002:after=0s:from=connect:probability=0.3\
             &fault=drop:events=text_chunk:probability=0.5"
        );
        let got = outcome(&server, &query).await;
        let _ = writeln!(all, "seed {seed}: {got}");
    }
    insta::assert_snapshot!(all);
}
