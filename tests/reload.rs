//! Hot reload, end to end: real files in a temp directory, the real watcher (notify and
//! its debouncer), a real server and a real WebSocket client.
//!
//! Nothing here sleeps for a fixed time and hopes: a test either waits for the reload
//! report it expects (`Live::report`) or asks again every 50 ms until the answer changes
//! (`eventually`), and fails after 10 s.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, PATIENCE, Server, answer_text};
use pawmock::ServeConfig;
use pawmock::{Reloader, Report};
use pawmock::{WatchConfig, WatchHandle};
use serde_json::Value;
use tokio::sync::broadcast;

/// A scenario whose every turn says `text`.
fn says(text: &str) -> String {
    format!(r#"{{"turns": [{{"when": "any", "reply": [{{"say": "{text}"}}]}}]}}"#)
}

/// A server with hot reload on over a temp directory.
struct Live {
    dir: tempfile::TempDir,
    server: Server,
    reports: broadcast::Receiver<Arc<Report>>,
    /// Dropped with the test: watching stops and the inotify instance is released.
    _watch: WatchHandle,
}

impl Live {
    async fn start(files: &[(&str, &str)], config: WatchConfig) -> Live {
        Live::start_with(files, config, pawmock::Speed::INSTANT).await
    }

    async fn start_with(
        files: &[(&str, &str)],
        config: WatchConfig,
        speed: pawmock::Speed,
    ) -> Live {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            write(&dir.path().join(rel), text);
        }
        let server = Server::start(
            dir.path(),
            ServeConfig {
                speed,
                ..ServeConfig::default()
            },
        )
        .await;
        let (reloader, _) = Reloader::scan(dir.path()).unwrap();
        let watch = pawmock::watch(server.app.clone(), reloader, config).expect("watching starts");
        let reports = watch.subscribe();
        Live {
            dir,
            server,
            reports,
            _watch: watch,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes in place (truncate, then write), as `echo > file` and many tools do.
    fn write(&self, rel: &str, text: &str) {
        write(&self.path(rel), text);
    }

    /// Writes a temp file next to the target and renames it over the target, as vim,
    /// VS Code and most editors save.
    fn save_atomically(&self, rel: &str, text: &str) {
        let temp = self.path(&format!("{rel}.tmp"));
        write(&temp, text);
        std::fs::rename(temp, self.path(rel)).unwrap();
    }

    async fn connect(&self, query: &str) -> Client {
        self.server.connect(query).await
    }

    /// The next reload report that satisfies `want` (earlier ones are skipped).
    async fn report(&mut self, want: impl Fn(&Report) -> bool) -> Arc<Report> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.reports.recv()).await {
                Err(_) => panic!("no matching reload report within {PATIENCE:?}"),
                Ok(Ok(report)) if want(&report) => return report,
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(e)) => panic!("the reload task ended: {e}"),
            }
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn lists(files: &[PathBuf], rel: &str) -> bool {
    files.iter().any(|f| f == Path::new(rel))
}

/// Sends `message` every 50 ms until the reply satisfies `done`; returns that reply.
async fn eventually(
    client: &mut Client,
    message: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let frames = client.ask(message).await;
        if done(&frames) {
            return frames;
        }
        assert!(
            Instant::now() < deadline,
            "the reply to {message:?} did not change within {PATIENCE:?}; last answer: {:?}, errors: {:?}",
            answer_text(&frames),
            errors(&frames)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asks until the answer text is `text`.
async fn until_answer(client: &mut Client, message: &str, text: &str) {
    eventually(client, message, |f| answer_text(f) == text).await;
}

/// The text of the `error` frames of a reply.
fn errors(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["type"] == "error")
        .map(|f| f["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn is_fallback(frames: &[Value]) -> bool {
    answer_text(frames).contains("no scenario matching")
}

#[tokio::test]
async fn an_in_place_write_is_served_on_the_next_turn() {
    let mut live = Live::start(&[("a.json", &says("first"))], WatchConfig::default()).await;
    let mut c = live.connect("scenario=a").await;
    assert_eq!(answer_text(&c.ask("hi").await), "first");
    live.write("a.json", &says("second"));
    until_answer(&mut c, "hi", "second").await;
    let report = live.report(|r| lists(&r.changed, "a.json")).await;
    assert!(
        report.removed.is_empty() && report.added.is_empty(),
        "{report}"
    );
}

#[tokio::test]
async fn an_editor_style_atomic_save_is_served() {
    let mut live = Live::start(&[("a.json", &says("first"))], WatchConfig::default()).await;
    let mut c = live.connect("scenario=a").await;
    assert_eq!(answer_text(&c.ask("hi").await), "first");
    live.save_atomically("a.json", &says("second"));
    until_answer(&mut c, "hi", "second").await;
    // The temp file is never loaded or reported; the target is.
    let report = live.report(|r| !r.files().is_empty()).await;
    assert_eq!(
        report.files().into_iter().collect::<Vec<_>>(),
        [Path::new("a.json")],
        "{report}"
    );
}

#[tokio::test]
async fn a_write_in_several_pieces_serves_the_old_version_until_it_is_complete() {
    let old = says("old");
    let new = says("the complete new version");
    let mut live = Live::start(&[("a.json", &old)], WatchConfig::default()).await;
    let mut c = live.connect("scenario=a").await;
    let (head, tail) = new.split_at(new.len() / 2);
    let mut file = std::fs::File::create(live.path("a.json")).unwrap();
    file.write_all(head.as_bytes()).unwrap();
    file.flush().unwrap();
    // The half file is read (the watcher delivers it) and refused: the old version stays.
    let report = live.report(|r| lists(&r.kept, "a.json")).await;
    assert!(
        !report.problems.is_empty(),
        "the half file's error is logged"
    );
    assert_eq!(answer_text(&c.ask("hi").await), "old");
    file.write_all(tail.as_bytes()).unwrap();
    drop(file);
    until_answer(&mut c, "hi", "the complete new version").await;
    live.report(|r| lists(&r.recovered, "a.json")).await;
}

#[tokio::test]
async fn a_new_file_is_served() {
    let live = Live::start(&[("a.json", &says("a"))], WatchConfig::default()).await;
    let mut c = live.connect("").await;
    assert!(is_fallback(&c.ask("fresh").await));
    live.write("fresh.json", &says("fresh content"));
    until_answer(&mut c, "fresh", "fresh content").await;
    assert_eq!(answer_text(&c.ask("a").await), "a");
}

#[tokio::test]
async fn a_new_subdirectory_and_the_files_in_it_are_served_and_watched() {
    let live = Live::start(&[("a.json", &says("a"))], WatchConfig::default()).await;
    let mut c = live.connect("").await;
    // The files are written right after the directories are made, before a watch on
    // them can exist: the directory's own event must bring them in.
    std::fs::create_dir_all(live.path("team/deep")).unwrap();
    live.write("team/alpha.json", &says("alpha"));
    live.write(
        "team/deep/beta.jsonl",
        concat!(
            "{\"version\": 1}\n",
            "[0, \"in\", {\"action\": \"message\", \"content\": \"x\"}]\n",
            "[0, \"out\", {\"type\": \"response_chunk\", \"content\": \"beta\"}]\n",
            "[0, \"out\", {\"type\": \"stream_end\"}]\n",
        ),
    );
    until_answer(&mut c, "team/alpha", "alpha").await;
    until_answer(&mut c, "team/deep/beta", "beta").await;
    // The new directory is watched from now on.
    live.write("team/alpha.json", &says("alpha two"));
    until_answer(&mut c, "team/alpha", "alpha two").await;
}

#[tokio::test]
async fn a_directory_moved_in_is_served_whole_and_one_moved_out_is_dropped_whole() {
    let live = Live::start(&[("a.json", &says("a"))], WatchConfig::default()).await;
    let mut c = live.connect("").await;
    // Built outside (same file system), then moved in: only the directory has an event.
    let outside = tempfile::tempdir_in(live.dir.path().parent().unwrap()).unwrap();
    write(&outside.path().join("pack/one.json"), &says("one"));
    write(&outside.path().join("pack/inner/two.json"), &says("two"));
    std::fs::rename(outside.path().join("pack"), live.path("pack")).unwrap();
    until_answer(&mut c, "pack/one", "one").await;
    until_answer(&mut c, "pack/inner/two", "two").await;
    std::fs::rename(live.path("pack"), outside.path().join("gone")).unwrap();
    eventually(&mut c, "pack/one", is_fallback).await;
    eventually(&mut c, "pack/inner/two", is_fallback).await;
    assert_eq!(answer_text(&c.ask("a").await), "a");
}

#[tokio::test]
async fn a_deleted_file_is_no_longer_served() {
    let mut live = Live::start(
        &[("a.json", &says("a")), ("b.json", &says("b"))],
        WatchConfig::default(),
    )
    .await;
    let mut c = live.connect("").await;
    assert_eq!(answer_text(&c.ask("a").await), "a");
    std::fs::remove_file(live.path("a.json")).unwrap();
    eventually(&mut c, "a", is_fallback).await;
    assert_eq!(answer_text(&c.ask("b").await), "b");
    live.report(|r| lists(&r.removed, "a.json")).await;
}

#[tokio::test]
async fn a_renamed_file_is_served_under_its_new_name_only() {
    let mut live = Live::start(&[("a.json", &says("moved"))], WatchConfig::default()).await;
    let mut c = live.connect("").await;
    std::fs::rename(live.path("a.json"), live.path("b.json")).unwrap();
    until_answer(&mut c, "b", "moved").await;
    assert!(is_fallback(&c.ask("a").await));
    let report = live.report(|r| lists(&r.added, "b.json")).await;
    assert!(lists(&report.removed, "a.json"), "{report}");
}

#[tokio::test]
async fn a_broken_edit_keeps_the_old_version_serving_until_it_is_fixed() {
    let mut live = Live::start(&[("a.json", &says("good"))], WatchConfig::default()).await;
    let mut c = live.connect("scenario=a").await;
    let broken = "{\n  \"turns\": [\n    { \"reply\": [ { \"say\": \"x\", \"delay\": \"soon\" } ] }\n  ]\n}\n";
    live.save_atomically("a.json", broken);
    let report = live.report(|r| lists(&r.kept, "a.json")).await;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let shown = report.problems[0].to_string();
    let file = live.path("a.json");
    assert!(
        shown.starts_with(&format!(
            "{}:3:41: turns[0].reply[0].delay: invalid duration \"soon\"",
            file.display()
        )),
        "{shown}"
    );
    assert!(shown.contains("\n  hint: "), "{shown}");
    // Meanwhile the last good version serves.
    assert_eq!(answer_text(&c.ask("hi").await), "good");
    // Saving the same broken content again does not repeat the error.
    live.save_atomically("a.json", broken);
    let again = live.report(|r| lists(&r.kept, "a.json")).await;
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert_eq!(answer_text(&c.ask("hi").await), "good");
    // Fixed: the new version serves and the fix is reported.
    live.save_atomically("a.json", &says("fixed"));
    until_answer(&mut c, "hi", "fixed").await;
    live.report(|r| lists(&r.recovered, "a.json")).await;
}

#[tokio::test]
async fn a_pinned_connection_to_a_deleted_scenario_gets_an_error_and_stays_open() {
    let live = Live::start(
        &[("doomed.json", &says("here")), ("other.json", &says("o"))],
        WatchConfig::default(),
    )
    .await;
    let mut c = live.connect("scenario=doomed").await;
    assert_eq!(answer_text(&c.ask("hi").await), "here");
    std::fs::remove_file(live.path("doomed.json")).unwrap();
    let reply = eventually(&mut c, "hi", |f| !errors(f).is_empty()).await;
    let error = &errors(&reply)[0];
    assert!(error.contains("`doomed` does not exist"), "{error}");
    assert!(
        error.contains("other"),
        "names the known scenarios: {error}"
    );
    // Still open, and served again once the scenario comes back.
    live.write("doomed.json", &says("back"));
    until_answer(&mut c, "hi", "back").await;
}

#[tokio::test]
async fn an_open_connection_survives_ten_reloads() {
    let live = Live::start(&[("a.json", &says("version 0"))], WatchConfig::default()).await;
    let mut pinned = live.connect("scenario=a").await;
    let mut idle = live.connect("").await;
    for i in 1..=10 {
        let text = format!("version {i}");
        if i % 2 == 0 {
            live.write("a.json", &says(&text));
        } else {
            live.save_atomically("a.json", &says(&text));
        }
        // Served before the next save: each save is its own reload.
        until_answer(&mut pinned, "hi", &text).await;
    }
    // The connection that stayed quiet through all of it is still served.
    assert_eq!(answer_text(&idle.ask("a").await), "version 10");
}

#[tokio::test]
async fn a_turn_in_flight_finishes_on_the_snapshot_it_started_with() {
    let words = |prefix: &str| {
        (1..=20)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let slow = |text: &str, delay: &str| {
        format!(
            r#"{{"timing": {{"first_token": "0ms", "chunk": "word", "chunk_delay": "{delay}", "jitter": 0}},
                "turns": [{{"when": "any", "reply": [{{"say": "{text}"}}]}}]}}"#
        )
    };
    let mut live = Live::start_with(
        &[("slow.json", &slow(&words("old"), "150ms"))],
        WatchConfig::default(),
        pawmock::Speed::NORMAL,
    )
    .await;
    let mut c = live.connect("scenario=slow").await;
    c.send(serde_json::json!({"action": "message", "content": "go"}))
        .await;
    let mut before = vec![c.next().await];
    // The turn is playing (about 3 s); replace the scenario under it.
    live.write("slow.json", &slow(&words("new"), "1ms"));
    live.report(|r| lists(&r.changed, "slow.json")).await;
    // Everything up to here arrived before the reload; the rest after it.
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(
        Duration::from_millis(1),
        futures_util::StreamExt::next(&mut c.ws),
    )
    .await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            before.push(serde_json::from_str(&t).unwrap());
        }
    }
    let after = c.until_stream_end().await;
    assert!(
        after.iter().any(|f| f["type"] == "response_chunk"),
        "the reload must happen while the turn still plays"
    );
    let all: Vec<Value> = before.into_iter().chain(after).collect();
    assert_eq!(answer_text(&all), words("old"));
    // The next turn plays the new version.
    assert_eq!(answer_text(&c.ask("again").await), words("new"));
}

#[tokio::test]
async fn poll_mode_sees_edits_new_files_and_deletions() {
    let config = WatchConfig {
        debounce: Duration::from_millis(50),
        poll: Some(Duration::from_millis(100)),
    };
    let live = Live::start(&[("a.json", &says("v0"))], config).await;
    let mut c = live.connect("").await;
    live.write("a.json", &says("v1"));
    until_answer(&mut c, "a", "v1").await;
    // A second save within the same second (the poll watcher's mtime resolution) is
    // seen too: contents are compared.
    live.write("a.json", &says("v2"));
    until_answer(&mut c, "a", "v2").await;
    live.write("sub/b.json", &says("b"));
    until_answer(&mut c, "sub/b", "b").await;
    std::fs::remove_file(live.path("a.json")).unwrap();
    eventually(&mut c, "a", is_fallback).await;
}

#[tokio::test]
async fn editor_temp_and_swap_files_never_reach_the_library() {
    let mut live = Live::start(&[("a.json", &says("a"))], WatchConfig::default()).await;
    for temp in [".a.json.swp", "a.json~", "4913", ".#a.json", "a.json.tmp"] {
        live.write(temp, "{ not json");
    }
    live.write("b.json", &says("b"));
    // The first reload after all those writes is about b.json alone.
    let report = live.report(|_| true).await;
    assert_eq!(
        report.files().into_iter().collect::<Vec<_>>(),
        [Path::new("b.json")],
        "{report}"
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // A vim-style save: probe file, backup by rename, new file, backup removed.
    write(&live.path("4913"), "");
    std::fs::remove_file(live.path("4913")).unwrap();
    std::fs::rename(live.path("a.json"), live.path("a.json~")).unwrap();
    live.write("a.json", &says("a2"));
    std::fs::remove_file(live.path("a.json~")).unwrap();
    let mut c = live.connect("").await;
    until_answer(&mut c, "a", "a2").await;
}

/// Runs the `pawmock` binary and collects its log lines.
struct Binary {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Binary {
    fn start(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pawmock"))
            .args(args)
            .arg("--recordings")
            .arg(dir)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        // Read to the end, so the server never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Binary { child, lines }
    }

    /// Log lines up to and including the first that contains `text`.
    fn until(&self, text: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(_) => panic!("no log line with {text:?}; got:\n{}", seen.join("\n")),
            }
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The log waits block the test's thread; nothing else runs on its runtime meanwhile
/// (the server is another process).
#[tokio::test]
async fn the_server_reloads_and_logs_a_broken_file_once_then_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    write(&a, &says("good"));
    let server = Binary::start(
        &["--port", "0", "--speed", "0", "--debounce", "50ms"],
        dir.path(),
        &[],
    );
    let started = server.until("watching");
    let url = started
        .iter()
        .find_map(|l| {
            l.find("ws://")
                .map(|at| l[at..].split_whitespace().next().unwrap().to_owned())
        })
        .expect("the URL is announced before watching starts");
    // Broken: the error is logged as file:line:col: path: message, and the summary says
    // the old version is kept.
    let temp = dir.path().join("a.json.tmp");
    write(&temp, "{\"turns\": [{\"reply\": [{\"say\": 1}]}]}");
    std::fs::rename(&temp, &a).unwrap();
    let lines = server.until("kept with errors 1 (a.json)");
    let location = format!("{}:1:", a.display());
    let problem_lines = lines.iter().filter(|l| l.contains(&location)).count();
    assert_eq!(problem_lines, 1, "{lines:#?}");
    let mut c = Client::connect(&format!("{url}?scenario=a")).await;
    assert_eq!(answer_text(&c.ask("hi").await), "good");
    // Fixed: a line says it was reloaded.
    write(&temp, &says("fixed"));
    std::fs::rename(&temp, &a).unwrap();
    let lines = server.until("changed 1 (a.json)");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{}: fixed; reloaded", a.display()))),
        "{lines:#?}"
    );
    until_answer(&mut c, "hi", "fixed").await;
}

#[test]
fn no_watch_from_the_environment_turns_hot_reload_off() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.json"), &says("a"));
    // `1` (not only `true`) is accepted; a refused value would end the process instead.
    let server = Binary::start(&["--port", "0"], dir.path(), &[("PAWMOCK_NO_WATCH", "1")]);
    let lines = server.until("not watching");
    assert!(
        lines
            .last()
            .unwrap()
            .contains("edits take effect after a restart")
    );
}

#[tokio::test]
async fn an_edited_chaos_profile_applies_from_the_next_turn_of_an_open_connection() {
    let drop_tool_start = r#"{"faults": [{"kind": "drop", "events": ["tool_start"]}]}"#;
    let drop_tool_result = r#"{"faults": [{"kind": "drop", "events": ["tool_result"]}]}"#;
    let scenario = r#"{"turns": [{"reply": [{"tool": "t", "result": "r"}, {"say": "done"}]}]}"#;
    let live = Live::start(
        &[
            ("tools.json", scenario),
            ("chaos/flaky.json", drop_tool_start),
        ],
        WatchConfig::default(),
    )
    .await;
    let mut c = live
        .connect("dialect=docs&scenario=tools&chaos=flaky")
        .await;
    let kinds = |f: &[Value]| {
        f.iter()
            .map(|x| x["type"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&c.ask("x").await),
        ["tool_result", "response_chunk", "stream_end"]
    );
    live.save_atomically("chaos/flaky.json", drop_tool_result);
    let frames = eventually(&mut c, "x", |f| kinds(f)[0] == "tool_start").await;
    assert_eq!(
        kinds(&frames),
        ["tool_start", "response_chunk", "stream_end"]
    );
    // Deleted right after the save (the debouncer may swallow this event; the settling
    // rescan must catch it): the next turn plays without it, and the connection stays open.
    std::fs::remove_file(live.path("chaos/flaky.json")).unwrap();
    let frames = eventually(&mut c, "x", |f| kinds(f).len() == 4).await;
    assert_eq!(
        kinds(&frames),
        ["tool_start", "tool_result", "response_chunk", "stream_end"]
    );
}

#[tokio::test]
async fn an_edited_backend_json_changes_what_the_dashboard_is_told() {
    let mut live = Live::start(
        &[
            ("a.json", &says("hi")),
            (
                "backend.json",
                r#"{"settings": {"ollamaModel": "first-model"}}"#,
            ),
        ],
        WatchConfig::default(),
    )
    .await;
    let mut c = live.connect("dialect=dashboard").await;
    c.next().await; // connection_info
    assert_eq!(model(&mut c).await, "first-model");
    live.save_atomically(
        "backend.json",
        r#"{"settings": {"ollamaModel": "second-model"}}"#,
    );
    live.report(|r| lists(&r.changed, "backend.json")).await;
    let deadline = Instant::now() + PATIENCE;
    while model(&mut c).await != "second-model" {
        assert!(Instant::now() < deadline, "backend.json was not reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `ollamaModel` the dashboard is told by `get_settings`.
async fn model(c: &mut Client) -> String {
    c.send(serde_json::json!({"action": "get_settings"})).await;
    c.next().await["content"]["ollamaModel"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_file_that_fails_on_every_read_does_not_keep_the_watcher_rescanning() {
    let mut live = Live::start(&[("good.json", &says("fine"))], WatchConfig::default()).await;
    // A symlink to itself: reading it fails with ELOOP every time, and its stamp cannot
    // be read either, so each rescan reports it again.
    std::os::unix::fs::symlink("loop.json", live.path("loop.json")).unwrap();
    live.report(|r| lists(&r.failed, "loop.json")).await;
    // Settling rescans follow; they must stop by themselves.
    let mut more = 0;
    let quiet = Duration::from_secs(2);
    while let Ok(Ok(_)) = tokio::time::timeout(quiet, live.reports.recv()).await {
        more += 1;
        assert!(
            more <= 3,
            "the watcher keeps reporting the same broken file"
        );
    }
    let mut c = live.connect("dialect=docs&scenario=good").await;
    assert_eq!(answer_text(&c.ask("x").await), "fine");
}
