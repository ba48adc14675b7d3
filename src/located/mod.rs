//! Where a problem is: everything that reads a user's file (a scenario, a chaos profile,
//! `backend.json`, a flag or URL value) reports what is wrong *at a place* the user can
//! jump to, `file:line:col: path: message` plus a hint. This module is that shared
//! vocabulary: reading a file ([`read_text`]), parsing JSON with byte ranges
//! ([`source`]), JSON paths and problems ([`problem`]) and the durations people write
//! ([`duration`]).
//!
//! It sits below every module that loads or validates input (`library`, `chaos`,
//! `backend`, `playback`, `cli`, `limits`, `control`) and imports none of them, so those
//! modules can share it without importing each other.

pub(crate) mod duration;
pub(crate) mod problem;
pub(crate) mod source;

use std::path::Path;

use problem::{JsonPath, Problem};

/// The largest file pawmock reads: far above any scenario or recording, and a bound on
/// what one file can make the loader hold.
pub(crate) const MAX_FILE_BYTES: u64 = 256 << 20;

/// A problem at the start of a file (or directory) that cannot be used at all.
pub(crate) fn file_problem(path: &Path, message: String, hint: &str) -> Problem {
    Problem {
        file: path.to_owned(),
        line: 1,
        column: 1,
        path: JsonPath::root(),
        message,
        hint: Some(hint.into()),
    }
}

/// Reads a file as text, or a problem saying why it cannot be read.
///
/// Only regular files are read, and the check cannot block: the file is opened
/// non-blocking (opening a FIFO for reading would otherwise wait for a writer forever,
/// hanging `check`, start-up, every reload and Ctrl-C) and its type is checked on the
/// open handle.
pub(crate) fn read_text(path: &Path) -> Result<String, Vec<Problem>> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| {
        vec![file_problem(
            path,
            format!("cannot read the file: {e}"),
            "check that it exists, is readable and is UTF-8 text",
        )]
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(vec![file_problem(
            path,
            format!(
                "not a regular file ({}); it was skipped",
                describe_type(&meta.file_type())
            ),
            "pawmock reads only regular files; remove it or give it another extension",
        )]);
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(vec![file_problem(
            path,
            format!(
                "the file is {} bytes; pawmock reads files up to {} MiB",
                meta.len(),
                MAX_FILE_BYTES >> 20
            ),
            "split it into several files",
        )]);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    String::from_utf8(bytes).map_err(|e| {
        unreadable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is not UTF-8 ({e})"),
        ))
    })
}

fn describe_type(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}
