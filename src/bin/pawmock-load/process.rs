//! A server under test, run as a child process: started on port 0, its URL read from its
//! log, its memory read from `/proc`, killed when dropped.
//!
//! Server and load generator run as separate processes so that the server's RSS is its
//! own and neither shares a runtime with the other.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::error::Elapsed;

use anyhow::{Context, bail};

/// How long a server may take to print its URL.
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct ServerProcess {
    child: Child,
    /// `ws://127.0.0.1:PORT/ws`.
    pub url: String,
    pub pid: u32,
    /// The file its stdout went to, removed with it.
    log: Option<PathBuf>,
}

/// Where a server's stdout (its log) goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// A pipe read by this process: the URL is seen the moment it is written (for
    /// timing start-up), and the few lines a start writes never fill it.
    Pipe,
    /// A temporary file, polled for the URL every millisecond. For servers under load:
    /// pawmock logs from the threads that send the frames being timed, and a pipe that
    /// this busy process drains late would block them (with 10,000 connections opening
    /// it does: first chunks then waited tens of ms on a full pipe, not on pawmock).
    File,
}

impl ServerProcess {
    /// Starts `program args…` and waits until its log shows a `ws://` URL.
    pub async fn start(program: &Path, args: &[&str], log: Log) -> anyhow::Result<ServerProcess> {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit());
        let file = match log {
            Log::Pipe => {
                command.stdout(Stdio::piped());
                None
            }
            Log::File => {
                static RUNS: AtomicU32 = AtomicU32::new(0);
                let path = std::env::temp_dir().join(format!(
                    "pawmock-load-{}-{}.log",
                    std::process::id(),
                    RUNS.fetch_add(1, Ordering::Relaxed)
                ));
                let f = std::fs::File::create(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                command.stdout(Stdio::from(f));
                Some(path)
            }
        };
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let mut server = ServerProcess {
            pid: child.id(),
            child,
            url: String::new(),
            log: file,
        };
        let port = match &server.log {
            None => server.port_from_pipe().await,
            Some(path) => server.port_from_file(&path.clone()).await,
        };
        let port = match port {
            Ok(Some(port)) => port,
            Ok(None) => {
                let status = server.child.wait().ok();
                bail!(
                    "{} exited ({}) before printing its ws:// URL",
                    program.display(),
                    status.map_or("unknown status".into(), |s| s.to_string())
                );
            }
            Err(_) => bail!(
                "{} printed no ws:// URL within {START_TIMEOUT:?}",
                program.display()
            ),
        };
        server.url = format!("ws://127.0.0.1:{port}/ws");
        Ok(server)
    }

    /// The port from the piped stdout; the rest is drained (in large reads) on a thread.
    async fn port_from_pipe(&mut self) -> Result<Option<u16>, Elapsed> {
        let stdout = self.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if let Some(port) = port_in(&line) {
                    let _ = tx.send(port);
                    break;
                }
            }
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        tokio::time::timeout(START_TIMEOUT, rx)
            .await
            .map(|r| r.ok())
    }

    /// The port from the log file, read every millisecond until it shows up.
    async fn port_from_file(&mut self, path: &Path) -> Result<Option<u16>, Elapsed> {
        tokio::time::timeout(START_TIMEOUT, async {
            loop {
                if let Ok(text) = std::fs::read_to_string(path)
                    && let Some(port) = text.lines().find_map(port_in)
                {
                    return Some(port);
                }
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = &self.log {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Resident memory (VmRSS) of a process, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status (Linux only)"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// The port of the first `ws://host:PORT/…` in a log line.
fn port_in(line: &str) -> Option<u16> {
    let after = &line[line.find("ws://")? + 5..];
    let authority = after.split(['/', ' ']).next()?;
    authority.rsplit(':').next()?.parse().ok()
}

/// A binary built next to this one (`target/release/pawmock` beside
/// `target/release/pawmock-load`), or a clear error saying how to build it.
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program's own path")?;
    let path = exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} does not exist; build it with `cargo build --release --bins` (or pass its path)",
            path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::port_in;

    #[test]
    fn the_port_is_read_from_either_servers_log_line() {
        assert_eq!(
            port_in(
                "2026-11-25T20:00:00Z  INFO pawmock 0.1.0 serving 9 scenarios from recordings on ws://localhost:41234/ws (dialect auto, speed 1, seed 1)"
            ),
            Some(41234)
        );
        assert_eq!(
            port_in("baseline serving ws://127.0.0.1:5000/ws"),
            Some(5000)
        );
        assert_eq!(port_in("no url here"), None);
    }
}
