//! HAR files (HTTP Archive 1.2) as Chromium's and Firefox's developer tools save them:
//! each WebSocket is an entry whose `_webSocketMessages` lists its frames
//! (`type` send/receive, `time` in epoch seconds, `opcode` 1 text / 2 binary, `data`).
//!
//! Every entry with messages becomes one recording. The whole file is read and checked
//! first and the recordings are written to temporary files renamed into place at the
//! end, so a malformed HAR writes nothing and a failed write leaves nothing half done.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::record::Redactor;
use crate::record::line::{self, Direction};

/// One recording written.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) path: PathBuf,
    pub(crate) url: String,
    pub(crate) frames: usize,
}

/// A recording made from one WebSocket entry, not yet written.
#[derive(Debug)]
pub(crate) struct Converted {
    /// File name, `<har name>-<n>.jsonl`.
    pub(crate) name: String,
    /// The entry's URL, its query redacted.
    pub(crate) url: String,
    pub(crate) text: String,
    pub(crate) frames: usize,
}

/// Reads `har`, converts every WebSocket in it and writes the recordings into `out`.
pub(crate) fn import(har: &Path, out: &Path, redactor: &Redactor) -> Result<Vec<Written>, String> {
    let text = std::fs::read_to_string(har).map_err(|e| {
        format!(
            "cannot read {}: {e}; give the path of a .har file",
            har.display()
        )
    })?;
    let stem = har
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    let converted =
        convert(&text, &stem, redactor).map_err(|e| format!("{}: {e}", har.display()))?;
    write_all(out, &converted)
}

/// Converts a HAR's text; the error names the JSON path of the first problem.
pub(crate) fn convert(
    text: &str,
    stem: &str,
    redactor: &Redactor,
) -> Result<Vec<Converted>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        let what = e.to_string();
        let what = what.rsplit_once(" at line ").map_or(what.as_str(), |(w, _)| w);
        format!(
            "line {}, column {}: not JSON ({what}); a HAR file is the JSON that DevTools' \"Save all as HAR\" writes",
            e.line(),
            e.column()
        )
    })?;
    let entries = doc
        .get("log")
        .and_then(|l| l.get("entries"))
        .ok_or("no log.entries: this is not a HAR file (HTTP Archive 1.2 has {\"log\": {\"entries\": […]}})")?
        .as_array()
        .ok_or("log.entries is not an array")?;
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(messages) = entry.get("_webSocketMessages") else {
            continue;
        };
        let at = format!("log.entries[{i}]");
        let messages = messages
            .as_array()
            .ok_or_else(|| format!("{at}._webSocketMessages is not an array"))?;
        let url = entry
            .get("request")
            .and_then(|r| r.get("url"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!("{at}.request.url is missing: every HAR entry has the URL it requested")
            })?;
        let url = redact_url(url, redactor);
        let started = entry.get("startedDateTime").and_then(Value::as_str);
        let n = out.len() + 1;
        let (body, frames) = lines(messages, &at, redactor)?;
        let header = json!({
            "version": 1,
            "title": format!("Imported from {url}"),
            "recorded_at": started,
            "meta": {"imported_from": format!("{stem}.har"), "url": url, "har_entry": i},
        });
        out.push(Converted {
            name: format!("{stem}-{n}.jsonl"),
            url,
            text: format!("{header}\n{body}"),
            frames,
        });
    }
    if out.is_empty() {
        return Err("the HAR holds no WebSocket messages (no entry has `_webSocketMessages`). In Chromium's DevTools, open the Network panel before the page connects, then export the HAR (\"Export HAR\"); Firefox: \"Save All As HAR\"".into());
    }
    Ok(out)
}

/// The recording lines of one entry's messages, and how many frames they hold.
fn lines(messages: &[Value], at: &str, redactor: &Redactor) -> Result<(String, usize), String> {
    let mut body = String::new();
    let mut previous: Option<f64> = None;
    let mut frames = 0;
    for (j, m) in messages.iter().enumerate() {
        let here = format!("{at}._webSocketMessages[{j}]");
        let direction = match m.get("type").and_then(Value::as_str) {
            Some("send") => Direction::In,
            Some("receive") => Direction::Out,
            other => {
                return Err(format!(
                    "{here}.type must be \"send\" or \"receive\", got {}",
                    other.map_or_else(|| "nothing".to_owned(), |t| format!("\"{t}\""))
                ));
            }
        };
        let time = m
            .get("time")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| {
                format!("{here}.time must be a number of seconds (the message's epoch time)")
            })?;
        let opcode = m.get("opcode").and_then(Value::as_u64).unwrap_or(1);
        let data = m.get("data").and_then(Value::as_str).ok_or_else(|| {
            format!("{here}.data must be a string (the frame's text, or base64 for binary)")
        })?;
        // Messages are in time order in both browsers; a clock step back is a 0 delay.
        let delay = previous.map_or(0.0, |p| (time - p).max(0.0));
        previous = Some(time);
        let delay = Duration::from_secs_f64(delay.min(1e9));
        let line = match opcode {
            1 => line::text(delay, direction, &redactor.text(data)),
            2 => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|e| format!("{here}.data: a binary message (opcode 2) is base64, and this is not ({e})"))?;
                line::binary(delay, direction, &bytes)
            }
            // Control frames are not conversation; browsers do not save them anyway.
            _ => continue,
        };
        body.push_str(&line);
        body.push('\n');
        frames += 1;
    }
    Ok((body, frames))
}

/// The URL with its query's secrets removed (`token` and the text rules).
fn redact_url(url: &str, redactor: &Redactor) -> String {
    match url.split_once('?') {
        Some((base, query)) => {
            let q = redactor.query(query);
            if q.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{q}")
            }
        }
        None => url.to_owned(),
    }
}

/// Writes every recording to a temporary file, then renames them all into place; on
/// any failure the temporary files are removed and nothing is left behind.
pub(crate) fn write_all(out: &Path, converted: &[Converted]) -> Result<Vec<Written>, String> {
    std::fs::create_dir_all(out).map_err(|e| {
        format!(
            "cannot create the output directory {}: {e}; choose another with --out DIR",
            out.display()
        )
    })?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in temps {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for c in converted {
        let target = out.join(&c.name);
        // Hidden and `.tmp`: the library and its watcher ignore it until the rename.
        let tmp = out.join(format!(".{}.tmp", c.name));
        if let Err(e) = std::fs::write(&tmp, &c.text) {
            let _ = std::fs::remove_file(&tmp);
            cleanup(&temps);
            return Err(format!(
                "cannot write {}: {e}; nothing was imported",
                tmp.display()
            ));
        }
        temps.push((tmp, target));
    }
    let mut written = Vec::new();
    for ((tmp, target), c) in temps.iter().zip(converted) {
        if let Err(e) = std::fs::rename(tmp, target) {
            cleanup(&temps);
            return Err(format!("cannot move {} into place: {e}", target.display()));
        }
        written.push(Written {
            path: target.clone(),
            url: c.url.clone(),
            frames: c.frames,
        });
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn har(messages: Value) -> String {
        json!({"log": {"version": "1.2", "entries": [
            {"request": {"url": "https://example.test/page", "method": "GET"}},
            {"startedDateTime": "2026-11-30T01:00:00.000Z",
             "request": {"url": "ws://localhost:8888/ws?token=s3cret&x=1", "method": "GET"},
             "_resourceType": "websocket",
             "_webSocketMessages": messages}
        ]}})
        .to_string()
    }

    #[test]
    fn send_and_receive_become_in_and_out_with_their_gaps() {
        let text = har(json!([
            {"type": "receive", "time": 100.0, "opcode": 1, "data": "{\"type\":\"hello\"}"},
            {"type": "send", "time": 100.5, "opcode": 1, "data": "{\"action\":\"chat\",\"message\":\"hi\"}"},
            {"type": "receive", "time": 100.75, "opcode": 2, "data": "AP8="}
        ]));
        let out = convert(&text, "session", &Redactor::default()).unwrap();
        assert_eq!(out.len(), 1);
        let c = &out[0];
        assert_eq!(c.name, "session-1.jsonl");
        assert_eq!(c.frames, 3);
        assert!(!c.text.contains("s3cret"), "{}", c.text);
        let lines: Vec<&str> = c.text.lines().collect();
        assert_eq!(lines[1], r#"[0.0,"out",{"type":"hello"}]"#);
        assert_eq!(lines[2], r#"[0.5,"in",{"action":"chat","message":"hi"}]"#);
        assert_eq!(lines[3], r#"[0.25,"out_binary","AP8="]"#);
    }

    #[test]
    fn malformed_hars_say_where() {
        let r = Redactor::default();
        let cases = [
            ("{not json", "line 1, column 2: not JSON"),
            ("{}", "no log.entries"),
            (r#"{"log":{"entries":{}}}"#, "log.entries is not an array"),
            (r#"{"log":{"entries":[]}}"#, "no WebSocket messages"),
            (
                &har(json!([{"type": "upload", "time": 1, "data": ""}])),
                "log.entries[1]._webSocketMessages[0].type must be",
            ),
            (
                &har(json!([{"type": "send", "time": "soon", "data": ""}])),
                "._webSocketMessages[0].time must be a number",
            ),
            (
                &har(json!([{"type": "send", "time": 1}])),
                "._webSocketMessages[0].data must be a string",
            ),
            (
                &har(json!([{"type": "send", "time": 1, "opcode": 2, "data": "%%"}])),
                "is base64, and this is not",
            ),
            (
                &har(json!({"a": 1})),
                "log.entries[1]._webSocketMessages is not an array",
            ),
        ];
        for (text, expected) in cases {
            let e = convert(text, "x", &r).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
