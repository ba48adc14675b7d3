//! Who may use the control API: it can close any connection and read every client
//! message, so by default only this machine may (loopback peers), a token opens it to
//! anyone who has it, and it is off when the server listens beyond loopback without one.

use std::net::{IpAddr, SocketAddr};

/// Who may call `/__pawmock/…`, decided at start-up from `--host`, `--admin-token` and
/// `--no-admin`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Access {
    /// Requests from loopback addresses only.
    #[default]
    Loopback,
    /// Requests carrying `Authorization: Bearer TOKEN`, from anywhere.
    Token(String),
    /// The control API answers nothing (404, as if it did not exist).
    Off,
}

impl Access {
    /// The rule for these flags: `--no-admin` wins; a token is required when given;
    /// without one the API is on for a loopback `--host` only.
    pub(crate) fn from_flags(host: &str, token: Option<&str>, no_admin: bool) -> Access {
        if no_admin {
            return Access::Off;
        }
        match token.filter(|t| !t.is_empty()) {
            Some(t) => Access::Token(t.to_owned()),
            None if is_loopback_host(host) => Access::Loopback,
            None => Access::Off,
        }
    }

    /// One line for the start-up log.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Access::Loopback => "control API on /__pawmock/ for loopback clients only",
            Access::Token(_) => {
                "control API on /__pawmock/ for requests with the --admin-token bearer token"
            }
            Access::Off => "control API off",
        }
    }

    /// Whether a request from `peer` with this `Authorization` header may pass.
    pub(crate) fn allows(&self, peer: Option<SocketAddr>, authorization: Option<&str>) -> Verdict {
        match self {
            Access::Off => Verdict::Hidden,
            Access::Loopback => match peer {
                Some(p) if is_loopback(p.ip()) => Verdict::Allowed,
                _ => Verdict::Hidden,
            },
            Access::Token(token) => {
                let given = authorization
                    .and_then(|h| {
                        h.strip_prefix("Bearer ")
                            .or_else(|| h.strip_prefix("bearer "))
                    })
                    .map(str::trim);
                if given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
                    Verdict::Allowed
                } else {
                    Verdict::Unauthorized
                }
            }
        }
    }
}

/// What a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// 401: a token is required and this one is missing or wrong.
    Unauthorized,
    /// 404: the API does not exist for this caller.
    Hidden,
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether `--host` listens on loopback only (`0.0.0.0` and `::` listen everywhere).
fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
        .is_ok_and(is_loopback)
}

/// Compares without stopping at the first difference, so timing says nothing of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_flags_decide_the_rule() {
        assert_eq!(
            Access::from_flags("127.0.0.1", None, false),
            Access::Loopback
        );
        assert_eq!(Access::from_flags("::1", None, false), Access::Loopback);
        assert_eq!(
            Access::from_flags("localhost", None, false),
            Access::Loopback
        );
        assert_eq!(Access::from_flags("0.0.0.0", None, false), Access::Off);
        assert_eq!(Access::from_flags("192.168.1.5", None, false), Access::Off);
        assert_eq!(
            Access::from_flags("0.0.0.0", Some("s3cret"), false),
            Access::Token("s3cret".into())
        );
        assert_eq!(
            Access::from_flags("127.0.0.1", Some("t"), true),
            Access::Off
        );
        assert_eq!(Access::from_flags("0.0.0.0", Some(""), false), Access::Off);
    }

    #[test]
    fn loopback_only_hides_the_api_from_other_addresses() {
        let a = Access::Loopback;
        assert_eq!(a.allows(peer("127.0.0.1:5000"), None), Verdict::Allowed);
        assert_eq!(a.allows(peer("[::1]:5000"), None), Verdict::Allowed);
        assert_eq!(
            a.allows(peer("[::ffff:127.0.0.1]:5000"), None),
            Verdict::Allowed
        );
        assert_eq!(a.allows(peer("10.0.0.7:5000"), None), Verdict::Hidden);
        assert_eq!(a.allows(peer("[2001:db8::1]:5000"), None), Verdict::Hidden);
        assert_eq!(a.allows(None, None), Verdict::Hidden);
    }

    #[test]
    fn a_token_is_required_from_everywhere_once_set() {
        let a = Access::Token("abc".into());
        assert_eq!(a.allows(peer("127.0.0.1:1"), None), Verdict::Unauthorized);
        assert_eq!(
            a.allows(peer("127.0.0.1:1"), Some("Bearer abd")),
            Verdict::Unauthorized
        );
        assert_eq!(
            a.allows(peer("127.0.0.1:1"), Some("Bearer ab")),
            Verdict::Unauthorized
        );
        assert_eq!(
            a.allows(peer("10.0.0.7:1"), Some("Bearer abc")),
            Verdict::Allowed
        );
        assert_eq!(
            Access::Off.allows(peer("127.0.0.1:1"), None),
            Verdict::Hidden
        );
    }
}
