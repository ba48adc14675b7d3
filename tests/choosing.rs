//! Which conversation answers: pinned scenarios, scenario names, `when` rules, fallback.

mod common;

use common::{Server, answer_text};

#[tokio::test]
async fn unpinned_messages_match_when_rules_in_file_name_order() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    assert_eq!(
        answer_text(&c.ask("Weather in Paris?").await),
        "It's **18°C** and cloudy in Paris."
    );
    assert_eq!(
        answer_text(&c.ask("a TOOL ERROR please").await),
        "The file is missing."
    );
    // `equals` ignores case and outer spaces.
    assert!(answer_text(&c.ask("  Inbox Please ").await).contains("You have mail."));
}

#[tokio::test]
async fn a_message_that_is_a_scenario_name_plays_that_scenario() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    assert_eq!(
        answer_text(&c.ask("everything").await),
        "Here is the answer you asked for, in several words."
    );
}

#[tokio::test]
async fn a_pinned_scenario_answers_with_its_any_turn_and_counts_turns() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=everything").await;
    assert_eq!(
        answer_text(&c.ask("hello").await),
        "Here is the answer you asked for, in several words."
    );
    assert_eq!(
        answer_text(&c.ask("hello again").await),
        "This is your second message here."
    );
    assert_eq!(
        answer_text(&c.ask("and again").await),
        "Here is the answer you asked for, in several words."
    );
}

#[tokio::test]
async fn nothing_matching_gets_a_reply_that_says_how_to_pick_a_scenario() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    let text = answer_text(&c.ask("tell me a joke").await);
    assert!(text.contains("?scenario=NAME"), "{text}");
    assert!(
        text.contains("everything, plan, slow, weather-recorded, weather"),
        "{text}"
    );
}

#[tokio::test]
async fn markers_are_never_sent_and_raw_frames_pass_through() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=everything").await;
    let frames = c.ask("raw").await;
    assert_eq!(
        frames[0],
        serde_json::json!({"type": "token_usage", "input_tokens": 12})
    );
    assert!(frames.iter().all(|f| f["type"] != "marker"));
}

#[tokio::test]
async fn a_when_list_picks_by_text_unpinned_and_answers_everything_once_pinned() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("umbrella.json"),
        r#"{"turns": [{"when": [{"contains": "umbrella"}, {"equals": "rain?"}, "any"],
                      "reply": [{"say": "Take an umbrella."}]}]}"#,
    )
    .unwrap();
    let server = Server::instant(dir.path()).await;
    let mut c = server.connect("dialect=docs").await;
    assert_eq!(
        answer_text(&c.ask("Do I need an UMBRELLA?").await),
        "Take an umbrella."
    );
    assert_eq!(answer_text(&c.ask(" Rain? ").await), "Take an umbrella.");
    // `any` in the list does not make the scenario answer every unpinned message.
    assert!(answer_text(&c.ask("tell me a joke").await).contains("?scenario=NAME"));
    let mut pinned = server.connect("dialect=docs&scenario=umbrella").await;
    assert_eq!(
        answer_text(&pinned.ask("tell me a joke").await),
        "Take an umbrella."
    );
}

#[tokio::test]
async fn a_recording_is_picked_by_the_text_rules_of_its_header_only() {
    let dir = tempfile::tempdir().unwrap();
    let exchange = "[0, \"in\", {\"action\": \"chat\", \"message\": \"q\"}]\n[0, \"out\", {\"type\": \"message\", \"content\": \"From the tape.\", \"is_stream_chunk\": true}]\n[0, \"out\", {\"type\": \"stream_end\"}]\n";
    std::fs::write(
        dir.path().join("tape.jsonl"),
        format!("{{\"version\": 1, \"when\": [{{\"contains\": \"tape\"}}, \"any\", {{\"turn\": 1}}]}}\n{exchange}"),
    )
    .unwrap();
    let server = Server::instant(dir.path()).await;
    let mut c = server.connect("dialect=docs").await;
    // `any` and `turn` in the header do not make it answer every unpinned message…
    assert!(answer_text(&c.ask("hello").await).contains("?scenario=NAME"));
    // …its text rule does.
    assert_eq!(answer_text(&c.ask("play the tape").await), "From the tape.");
}
