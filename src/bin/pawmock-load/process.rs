//! A server under test, run as a child process: started on port 0, its URL read from its
//! log, its memory read from `/proc`, killed when dropped.
//!
//! Server and load generator run as separate processes so that the server's RSS is its
//! own and neither shares a runtime with the other.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// How long a server may take to print its URL.
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct ServerProcess {
    child: Child,
    /// `ws://127.0.0.1:PORT/ws`.
    pub url: String,
    pub pid: u32,
}

impl ServerProcess {
    /// Starts `program args…` and waits for the first stdout line with a `ws://` URL.
    /// The rest of stdout is read (and dropped) on a thread, so a server that logs every
    /// connection never blocks on a full pipe.
    pub async fn start(program: &Path, args: &[&str]) -> anyhow::Result<ServerProcess> {
        let mut child = Command::new(program)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = tx.as_ref().and_then(|_| port_in(&line))
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let mut server = ServerProcess {
            child,
            url: String::new(),
            pid,
        };
        let port = match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(port)) => port,
            Ok(Err(_)) => {
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

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
