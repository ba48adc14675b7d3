//! The server's resource limits: their flags, and raising the open-file limit at start-up.
//!
//! Every limit is in bytes or time as well as in count, so no input or load can make
//! pawmock hold unbounded memory or sockets.

use std::time::Duration;

use clap::Args;

/// Flags for the limits (`pawmock serve --help` lists them with the other flags).
#[derive(Debug, Clone, Args)]
pub(crate) struct LimitArgs {
    /// A socket that has not sent its first request's headers within this is closed (so
    /// silent or trickling sockets cannot use up the file limit).
    #[arg(
        long,
        env = "PAWMOCK_HANDSHAKE_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    pub(crate) handshake_timeout: Duration,
    /// Most sockets at once that have not finished their HTTP request or WebSocket
    /// handshake; past it new sockets are closed at once. Open WebSockets do not count.
    #[arg(long, env = "PAWMOCK_MAX_PENDING", default_value_t = 1024, value_parser = parse_count)]
    pub(crate) max_pending: usize,
    /// Bytes of chat history the session store keeps (e.g. `64MiB`); past it the least
    /// recently active sessions are forgotten.
    #[arg(
        long,
        env = "PAWMOCK_HISTORY_BUDGET",
        default_value = "64MiB",
        value_name = "BYTES",
        value_parser = parse_bytes
    )]
    pub(crate) history_budget: usize,
}

/// A size: a whole number of bytes, or with a unit: `512KiB`, `64MiB`, `1GiB` (`KB`,
/// `MB`, `GB` are read as the same powers of two).
pub(crate) fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "`{s}` is not a size: write e.g. 64MiB, 512KiB or 1048576"
            ));
        }
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("`{s}` is not a size: write e.g. 64MiB, 512KiB or 1048576"))
}

/// `--max-frame-size`: at least 1 byte (0 would close every frame with 1009).
pub(crate) fn parse_frame_size(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err(
            "0 would refuse every client frame (closing with 1009); give a size in bytes, e.g. 1048576".into(),
        ),
        Err(_) => Err(format!("`{s}` is not a size in bytes, e.g. 1048576")),
    }
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = crate::located::duration::parse(s)?;
    if d.is_zero() {
        return Err(format!(
            "`{s}` would close every socket at once: give a duration such as 10s"
        ));
    }
    Ok(d)
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a count: give a whole number ≥ 1")),
    }
}

/// Raises the soft limit on open files to the hard limit, so thousands of connections
/// work without `ulimit -n`. Returns the limit now in force (or why it is unknown).
pub(crate) fn raise_open_file_limit() -> Result<u64, String> {
    rlimit::increase_nofile_limit(u64::MAX).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_refuse_values_that_would_refuse_everything() {
        assert!(
            parse_timeout("0s")
                .unwrap_err()
                .contains("every socket at once")
        );
        assert!(parse_timeout("25h").unwrap_err().contains("24h"));
        assert_eq!(parse_timeout("10s"), Ok(Duration::from_secs(10)));
        assert!(parse_count("0").is_err());
        assert!(parse_frame_size("0").unwrap_err().contains("1009"));
        assert_eq!(parse_frame_size("1024"), Ok(1024));
    }

    #[test]
    fn sizes_read_with_units() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("512kb"), Ok(512 << 10));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("99999999999999999999GiB").is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let raised = raise_open_file_limit().unwrap();
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        assert_eq!((raised, soft), (hard, hard));
    }
}
