//! Shared test harness: a real pawmock server on a loopback port, and a real
//! WebSocket client (tokio-tungstenite) that reads JSON frames.
#![allow(dead_code)]

pub mod control;
pub mod http;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pawmock::Library;
use pawmock::{App, ServeConfig};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a frame before failing. Generous: CI machines are loaded.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings")
}

pub struct Server {
    pub addr: std::net::SocketAddr,
    pub app: Arc<App>,
}

impl Server {
    /// Serves `dir` on an ephemeral loopback port.
    pub async fn start(dir: &Path, config: ServeConfig) -> Server {
        let loaded = Library::load(dir).expect("recordings dir");
        assert!(
            loaded.problems.is_empty(),
            "fixture problems: {:?}",
            loaded.problems
        );
        let app = App::new(loaded.library, config);
        let listener = pawmock::bind("127.0.0.1", 0).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        pawmock::spawn(app.clone(), listener);
        Server { addr, app }
    }

    /// Serves `dir` at speed 0 (no delays) unless the URL says otherwise.
    pub async fn instant(dir: &Path) -> Server {
        Server::start(
            dir,
            ServeConfig {
                speed: pawmock::Speed::INSTANT,
                ..ServeConfig::default()
            },
        )
        .await
    }

    /// Serves the test fixtures at speed 0 (no delays) unless the URL says otherwise.
    pub async fn fixtures() -> Server {
        Server::instant(&fixtures()).await
    }

    pub fn url(&self, query: &str) -> String {
        if query.is_empty() {
            format!("ws://{}/ws", self.addr)
        } else {
            format!("ws://{}/ws?{query}", self.addr)
        }
    }

    pub async fn connect(&self, query: &str) -> Client {
        Client::connect(&self.url(query)).await
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Client { ws }
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("send");
    }

    /// The next text frame, parsed as JSON. Panics on timeout, close or non-JSON.
    pub async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection ended")
                .expect("socket error");
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).expect("server frame is JSON"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// Frames up to and including the next `stream_end`.
    pub async fn until_stream_end(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let f = self.next().await;
            let end = f["type"] == "stream_end";
            frames.push(f);
            if end {
                return frames;
            }
        }
    }

    /// True when nothing arrives within `wait`.
    pub async fn silent_for(&mut self, wait: Duration) -> bool {
        match tokio::time::timeout(wait, self.ws.next()).await {
            Err(_) => true,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => true,
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }

    /// Sends a docs-dialect message and returns the reply frames.
    pub async fn ask(&mut self, text: &str) -> Vec<Value> {
        self.send(serde_json::json!({"action": "message", "content": text}))
            .await;
        self.until_stream_end().await
    }

    /// Sends a dashboard `chat` and returns the reply frames.
    pub async fn chat(&mut self, text: &str) -> Vec<Value> {
        self.send(serde_json::json!({"action": "chat", "message": text}))
            .await;
        self.until_stream_end().await
    }
}

/// The `type` of each frame.
pub fn types(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["type"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The concatenated text of the answer chunks of either dialect.
pub fn answer_text(frames: &[Value]) -> String {
    frames
        .iter()
        .filter(|f| {
            f["type"] == "response_chunk"
                || (f["type"] == "message" && f["is_stream_chunk"] == true)
        })
        .map(|f| f["content"].as_str().unwrap())
        .collect()
}

/// What a client saw when the server ended the connection.
#[derive(Debug, PartialEq)]
pub enum Ending {
    /// A close frame with this code and reason.
    Closed(u16, String),
    /// The TCP connection ended without a close frame (a browser reports 1006).
    Abnormal,
}

impl Client {
    /// The next message of any kind (raw text included), or `None` when the stream ended.
    pub async fn raw(&mut self) -> Option<Message> {
        self.raw_within(PATIENCE).await
    }

    /// Like [`Client::raw`], waiting up to `patience` for each message.
    pub async fn raw_within(&mut self, patience: Duration) -> Option<Message> {
        loop {
            match tokio::time::timeout(patience, self.ws.next())
                .await
                .expect("timed out waiting for a message")
            {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(m)) => return Some(m),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Reads until the connection ends; returns the text frames seen and how it ended.
    pub async fn until_closed(&mut self) -> (Vec<String>, Ending) {
        let mut texts = Vec::new();
        loop {
            match self.raw().await {
                Some(Message::Text(t)) => texts.push(t.to_string()),
                Some(Message::Close(frame)) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    return (texts, Ending::Closed(code, reason));
                }
                Some(other) => panic!("unexpected message {other:?}"),
                None => return (texts, Ending::Abnormal),
            }
        }
    }
}

/// Connects and returns the HTTP status of a refused handshake (or `None` if accepted).
pub async fn handshake_status(url: &str) -> Option<(u16, String)> {
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => None,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Some((response.status().as_u16(), body))
        }
        Err(e) => panic!("unexpected handshake error {e}"),
    }
}

/// A child process that is killed when the test ends, even when it panics (a leftover
/// server would hold the test's output pipe open).
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real `pawmock` binary serving the fixtures, with its log read line by line.
pub struct LoggedServer {
    pub child: ChildGuard,
    /// Every line the server logs, in order.
    pub lines: std::sync::mpsc::Receiver<String>,
    /// `ws://localhost:PORT/ws`, from the line that announces it.
    pub url: String,
}

impl LoggedServer {
    /// Starts `pawmock --port 0 ARGS… --recordings FIXTURES` and waits for its URL.
    pub fn start(args: &[&str]) -> LoggedServer {
        let (child, lines) = logged(
            std::process::Command::new(env!("CARGO_BIN_EXE_pawmock"))
                .args(["--port", "0"])
                .args(args)
                .arg("--recordings")
                .arg(fixtures()),
        );
        let mut server = LoggedServer {
            child,
            lines,
            url: String::new(),
        };
        let announce = server.line_with("ws://localhost:");
        let at = announce.find("ws://localhost:").expect("checked");
        server.url = announce[at..]
            .split_whitespace()
            .next()
            .expect("a URL")
            .to_owned();
        server
    }

    /// The next log line that contains `want` (lines before it are skipped).
    pub fn line_with(&self, want: &str) -> String {
        line_with(&self.lines, want)
    }
}

/// Starts `command` (with `NO_COLOR`) and reads its stdout line by line on a thread.
pub fn logged(
    command: &mut std::process::Command,
) -> (ChildGuard, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = ChildGuard(
        command
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start pawmock"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, lines)
}

/// The next line of `lines` that contains `want` (lines before it are skipped).
pub fn line_with(lines: &std::sync::mpsc::Receiver<String>, want: &str) -> String {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no log line with `{want}` within 30 s"));
        if line.contains(want) {
            return line;
        }
    }
}

/// Runs `pawmock check DIR`, which must fail (exit 1), and returns what it printed.
pub fn failed_check(dir: &Path) -> String {
    let out = assert_cmd::cargo::cargo_bin_cmd!("pawmock")
        .arg("check")
        .arg(dir)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("check prints UTF-8")
}
