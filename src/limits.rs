//! The server's resource limits: their flags, and raising the open-file limit at start-up.
//!
//! Every limit is in bytes or time as well as in count, so no input or load can make
//! pawmock hold unbounded memory or sockets.

use std::time::Duration;

use clap::Args;

/// Flags for the limits (`pawmock serve --help` lists them with the other flags).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// A socket that has not sent its first request's headers within this is closed (so
    /// silent or trickling sockets cannot use up the file limit).
    #[arg(
        long,
        env = "PAWMOCK_HANDSHAKE_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    pub handshake_timeout: Duration,
    /// Most sockets at once that have not finished their HTTP request or WebSocket
    /// handshake; past it new sockets are closed at once. Open WebSockets do not count.
    #[arg(long, env = "PAWMOCK_MAX_PENDING", default_value_t = 1024, value_parser = parse_count)]
    pub max_pending: usize,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = crate::library::duration::parse(s)?;
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
pub fn raise_open_file_limit() -> Result<u64, String> {
    rlimit::increase_nofile_limit(u64::MAX).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_open_file_limit_is_raised_to_the_hard_limit() {
        let raised = raise_open_file_limit().unwrap();
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        assert_eq!((raised, soft), (hard, hard));
    }
}
