//! `pawmock import-sessions DIR`: a real backend's sessions folder (addendum D, the
//! fixture in tests/sessions-fixture) becomes scenarios that resume those sessions.

mod common;

use std::path::Path;

use common::Server;
use common::http::get_json;
use serde_json::json;

const CAT: &str = "websocket_1e0c4a2b-5d6e-4f70-8a9b-0c1d2e3f4a5b";

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sessions-fixture")
}

fn import(dir: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let o = assert_cmd::cargo::cargo_bin_cmd!("pawmock")
        .arg("import-sessions")
        .arg(dir)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_sessions_folder_becomes_scenarios_that_resume_each_session() {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = import(&fixture(), out.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let mut written: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "telegram_12345.json".to_owned(),
            format!("{CAT}.json"),
            format!("{CAT}_a1b2c3d4.json"),
        ],
        "no index, aliases, compaction cache or .tmp: {stdout}"
    );
    assert!(stdout.contains("3 session(s) imported"), "{stdout}");

    // They are valid scenarios, titled from the index (the user's rename first).
    let loaded = pawmock::Library::load(out.path()).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let cat = loaded.library.get(CAT).unwrap();
    assert_eq!(cat.title, "Naming the cat");
    assert_eq!(cat.session_id, CAT);
    assert_eq!(cat.history.len(), 4);
    assert!(
        cat.description
            .as_deref()
            .unwrap()
            .contains("last activity 2026-02-10 14:05 UTC"),
        "naive times read as UTC: {:?}",
        cat.description
    );

    // Served, the session is in the sidebar and resumes with its history.
    let server = Server::instant(out.path()).await;
    let list = get_json(server.addr, "/api/sessions?limit=100", 200).await;
    let listed: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&CAT) && listed.contains(&"telegram_12345"),
        "{listed:?}"
    );
    let mut c = server
        .connect(&format!(
            "dialect=dashboard&scenario={CAT}&resume_session={CAT}"
        ))
        .await;
    assert_eq!(c.next().await["id"], CAT);
    let history = c.next().await;
    assert_eq!(history["type"], "session_history");
    assert_eq!(
        history["messages"][1]["content"],
        "How about **Miso**, **Ash** or **Pebble**?"
    );
    // Asking again replays the session's answers in order.
    let first = c.chat("a name for a grey cat?").await;
    assert_eq!(
        common::answer_text(&first),
        "How about **Miso**, **Ash** or **Pebble**?"
    );
    let second = c.chat("feeding?").await;
    assert!(common::answer_text(&second).starts_with("Two small meals a day"));
}

#[tokio::test]
async fn existing_files_are_kept_without_force_and_a_broken_session_is_reported() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(import(&fixture(), out.path(), &[]).0, 0);
    let (code, _, stderr) = import(&fixture(), out.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("already exists, not replaced; pass --force"),
        "{stderr}"
    );
    assert_eq!(import(&fixture(), out.path(), &["--force"]).0, 0);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("websocket_ok.json"),
        json!([{"role": "user", "content": "hi", "timestamp": "2026-02-10T14:03:22"}]).to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("websocket_bad.json"), "{not an array").unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = import(dir.path(), out.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("websocket_bad.json: not a session file"),
        "{stderr}"
    );
    assert!(
        stdout.contains("1 session(s) imported"),
        "the good one still is: {stdout}"
    );

    let (code, _, stderr) = import(Path::new("/nonexistent/sessions"), out.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot read /nonexistent/sessions"),
        "{stderr}"
    );
}
