//! Everything a connection takes from its URL: browsers cannot set headers on a
//! WebSocket handshake, so a Storybook story or a test picks its behaviour here.

use std::str::FromStr;

use crate::library::format::{ChunkUnit, TimingSpec};
use crate::located::duration;
use crate::protocol::DialectChoice;
use crate::speed::Speed;

/// The query parameters of `/ws`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub(crate) scenario: Option<String>,
    pub(crate) dialect: Option<DialectChoice>,
    pub(crate) speed: Option<Speed>,
    pub(crate) seed: Option<u64>,
    pub(crate) resume_session: Option<String>,
    /// Timing overrides: `first_token`, `chunk`, `chunk_size`, `chunk_delay`, `jitter`.
    pub(crate) timing: TimingSpec,
    /// `?chaos=a,b`: chaos profiles by name (`none` for none); replaces `--chaos`.
    pub(crate) chaos: Option<Vec<String>>,
    /// `?fault=KIND:key=value…`: inline faults (the parameter may repeat).
    pub(crate) faults: Vec<String>,
    /// `?run=LABEL`: groups a test's connections in the control API and the journal.
    pub(crate) run: Option<String>,
    /// `?freeze=MARKER`: a turn holds (state `frozen`) when it reaches this marker.
    pub(crate) freeze: Option<String>,
    /// The raw query string, kept for logs.
    pub(crate) query: String,
}

/// Names accepted in the query string (`token` is the dashboard's and is ignored).
pub const KNOWN: &[&str] = &[
    "scenario",
    "dialect",
    "speed",
    "seed",
    "resume_session",
    "token",
    "first_token",
    "chunk",
    "chunk_size",
    "chunk_delay",
    "jitter",
    "chaos",
    "fault",
    "run",
    "freeze",
];

/// Parses the query string. Bad values are reported (to be sent to the client as
/// `error` frames) and ignored; the connection still opens.
pub fn parse(query: &str) -> (Params, Vec<String>) {
    let mut p = Params {
        query: query.to_owned(),
        ..Params::default()
    };
    let mut errors = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    // Values stay borrowed from the query unless they are kept (or were percent-encoded):
    // every connection parses its URL, so a copy per parameter adds up.
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let mut bad =
            |what: &str| errors.push(format!("?{key}={value} is not {what}; it was ignored"));
        match key.as_ref() {
            "scenario" => p.scenario = Some(value.into_owned()).filter(|v| !v.is_empty()),
            "resume_session" => {
                p.resume_session = Some(value.into_owned()).filter(|v| !v.is_empty())
            }
            "token" => {}
            "chaos" => {
                p.chaos = Some(
                    value
                        .split(',')
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty())
                        .collect(),
                )
            }
            "fault" => p.faults.push(value.into_owned()),
            // A label for one run: it counts in the URL attempts are counted by, and
            // not in the one faults are seeded from (see `without_run`).
            "run" => p.run = Some(value.into_owned()).filter(|v| !v.is_empty()),
            "freeze" => p.freeze = Some(value.into_owned()).filter(|v| !v.is_empty()),
            "dialect" => match DialectChoice::from_str(&value) {
                Ok(d) => p.dialect = Some(d),
                Err(_) => bad("a dialect (auto, docs or dashboard)"),
            },
            "speed" => match value.parse::<Speed>() {
                Ok(s) => p.speed = Some(s),
                Err(_) => bad(&format!("a speed ({})", Speed::RULE)),
            },
            "seed" => match value.parse::<u64>() {
                Ok(s) => p.seed = Some(s),
                Err(_) => bad("a seed (a whole number ≥ 0)"),
            },
            "first_token" => match duration::parse(&value) {
                Ok(d) => p.timing.first_token = Some(duration::Dur(d)),
                Err(_) => bad("a duration such as 300ms"),
            },
            "chunk_delay" => match duration::parse(&value) {
                Ok(d) => p.timing.chunk_delay = Some(duration::Dur(d)),
                Err(_) => bad("a duration such as 50ms"),
            },
            "jitter" => match value.parse::<f64>() {
                Ok(j) if (0.0..=1.0).contains(&j) => p.timing.jitter = Some(j),
                _ => bad("a jitter fraction between 0 and 1"),
            },
            "chunk_size" => match value.parse::<u32>() {
                Ok(n) if n >= 1 => p.timing.chunk_size = Some(n),
                _ => bad("a chunk size (a whole number ≥ 1)"),
            },
            "chunk" => match value.as_ref() {
                "char" => p.timing.chunk = Some(ChunkUnit::Char),
                "word" => p.timing.chunk = Some(ChunkUnit::Word),
                "token" => p.timing.chunk = Some(ChunkUnit::Token),
                "sentence" => p.timing.chunk = Some(ChunkUnit::Sentence),
                _ => bad("a chunk unit (char, word, token or sentence)"),
            },
            other => unknown.push(other.to_owned()),
        }
    }
    if !unknown.is_empty() {
        errors.push(unknown_parameters(&unknown));
    }
    (p, errors)
}

/// One message for every unknown parameter (a URL with 5,000 of them gets one `error`
/// frame, not 5,000), naming the first few.
fn unknown_parameters(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut listed: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{}`", n.chars().take(64).collect::<String>()))
        .collect();
    if names.len() > SHOWN {
        listed.push(format!("and {} more", names.len() - SHOWN));
    }
    let (what, were) = if names.len() == 1 {
        ("parameter", "was")
    } else {
        ("parameters", "were")
    };
    format!(
        "unknown URL {what} {} {were} ignored; known: {}",
        listed.join(", "),
        KNOWN.join(", ")
    )
}

/// The query without its `run` parameters, as given otherwise: what the connection's
/// faults are seeded from, so a new run label counts attempts afresh but replays the same
/// faults.
pub(crate) fn without_run(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            form_urlencoded::parse(key.as_bytes())
                .next()
                .is_none_or(|(k, _)| k != "run")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_values() {
        let (p, errors) = parse(
            "scenario=hello&speed=0&seed=7&dialect=dashboard&chunk_delay=50ms&jitter=0&token=x",
        );
        assert_eq!(p.scenario.as_deref(), Some("hello"));
        assert_eq!(p.speed, Some(Speed::INSTANT));
        assert_eq!(p.seed, Some(7));
        assert_eq!(p.dialect, Some(DialectChoice::Dashboard));
        assert_eq!(p.timing.jitter, Some(0.0));
        assert!(errors.is_empty(), "{errors:?}");
        let (p, errors) = parse("speed=fast&dialect=klingon&colour=red");
        assert_eq!(p.speed, None);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("?speed=fast"));
        assert!(errors[2].contains("unknown URL parameter `colour`"));
    }

    /// Issue 11 #7: each unknown parameter was an error frame of its own.
    #[test]
    fn every_unknown_parameter_is_named_in_one_message() {
        let (_, errors) = parse("a=1&seed=2&b=2&c=3");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("unknown URL parameters `a`, `b`, `c` were ignored"),
            "{errors:?}"
        );
        let many: Vec<String> = (0..5000).map(|i| format!("p{i}=1")).collect();
        let (_, errors) = parse(&many.join("&"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("and 4990 more"), "{}", errors[0]);
        assert!(errors[0].len() < 1000);
    }

    #[test]
    fn the_run_label_is_kept_out_of_the_seeded_url() {
        assert_eq!(
            without_run("chaos=stall&run=3&seed=2&ru%6E=4&runs=5"),
            "chaos=stall&seed=2&runs=5"
        );
        assert_eq!(without_run("run=1"), "");
        let (_, errors) = parse("run=story-7");
        assert!(errors.is_empty(), "{errors:?}");
    }
}
