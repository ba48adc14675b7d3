//! One recording file per proxied connection, written as frames pass.
//!
//! Each line is written with a single `write` of the whole line and no buffering in
//! between, so a recorder killed at any moment leaves every frame that passed in the
//! file, at most the line being written cut short (the loader skips such a last line
//! with a warning). Timestamps are taken under the same lock as the write, so lines
//! are in time order even though two tasks (one per direction) write.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use serde_json::json;
use tracing::warn;

use super::line::{self, Direction};
use super::redact::Redactor;

/// The recording of one connection.
pub(crate) struct RecordingFile {
    path: PathBuf,
    redactor: std::sync::Arc<Redactor>,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    last: Instant,
    /// Client frames written: a recording without any has nothing to replay.
    client_frames: u64,
    /// Set after the first failed write: the connection goes on, the log says it once.
    failed: bool,
}

/// What the header says about where a recording comes from.
pub(crate) struct Origin<'a> {
    pub(crate) upstream: &'a str,
    pub(crate) path: &'a str,
    /// Already redacted.
    pub(crate) query: &'a str,
    pub(crate) connection: &'a str,
}

/// `2026-11-30-024501` (UTC): sorts by time, and is a valid file name everywhere.
pub(crate) fn file_stamp(t: SystemTime) -> String {
    let iso = crate::timestamp::iso8601(t);
    // 2026-11-30T02:45:01.123456+00:00
    format!(
        "{}-{}{}{}",
        &iso[..10],
        &iso[11..13],
        &iso[14..16],
        &iso[17..19]
    )
}

impl RecordingFile {
    /// Creates `dir/<date>-<connection>.jsonl` (never overwriting a file) and writes the
    /// header line.
    pub(crate) fn create(
        dir: &Path,
        origin: &Origin,
        redactor: std::sync::Arc<Redactor>,
    ) -> std::io::Result<RecordingFile> {
        let now = SystemTime::now();
        let stem = format!("{}-{}", file_stamp(now), origin.connection);
        let mut n = 1;
        let (path, file) = loop {
            let name = if n == 1 {
                format!("{stem}.jsonl")
            } else {
                format!("{stem}-{n}.jsonl")
            };
            let path = dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => break (path, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        };
        let query = if origin.query.is_empty() {
            String::new()
        } else {
            format!("?{}", origin.query)
        };
        let header = json!({
            "version": 1,
            "title": format!("Recorded from {}{}", origin.upstream, origin.path),
            "recorded_at": crate::timestamp::iso8601(now),
            "meta": {
                "recorded_by": concat!("pawmock record ", env!("CARGO_PKG_VERSION")),
                "upstream": origin.upstream,
                "url": format!("{}{query}", origin.path),
                "connection": origin.connection,
            },
        });
        let mut file = file;
        file.write_all(format!("{header}\n").as_bytes())?;
        Ok(RecordingFile {
            path,
            redactor,
            inner: Mutex::new(Inner {
                file,
                last: Instant::now(),
                client_frames: 0,
                failed: false,
            }),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a text frame (redacted).
    pub(crate) fn text(&self, direction: Direction, text: &str) {
        let text = self.redactor.text(text);
        self.append(direction == Direction::In, |delay| {
            line::text(delay, direction, &text)
        });
    }

    /// Appends a binary frame (written as it is: rules cannot read binary payloads).
    pub(crate) fn binary(&self, direction: Direction, bytes: &[u8]) {
        self.append(direction == Direction::In, |delay| {
            line::binary(delay, direction, bytes)
        });
    }

    /// Called when the connection is over: a recording in which the client sent nothing
    /// (a page that connected and left) has nothing to replay, and is removed rather
    /// than left for `check` to refuse. True when it was removed.
    pub(crate) fn finish(&self) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.client_frames > 0 {
            return false;
        }
        std::fs::remove_file(&self.path).is_ok()
    }

    /// Appends a close by `by` (1006: the connection was lost without a close frame).
    pub(crate) fn close(&self, by: Direction, code: u16, reason: &str) {
        let reason = self.redactor.text(reason);
        self.append(false, |delay| line::close(delay, by, code, &reason));
    }

    fn append(&self, client_frame: bool, make: impl FnOnce(std::time::Duration) -> String) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.client_frames += u64::from(client_frame);
        let now = Instant::now();
        let delay = now.saturating_duration_since(inner.last);
        inner.last = now;
        let mut text = make(delay);
        text.push('\n');
        if let Err(e) = inner.file.write_all(text.as_bytes())
            && !std::mem::replace(&mut inner.failed, true)
        {
            warn!(
                "cannot write to the recording {}: {e}; the connection goes on unrecorded",
                self.path.display()
            );
        }
    }
}
