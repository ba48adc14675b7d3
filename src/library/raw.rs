//! `raw` recordings: a protocol pawmock does not know, kept frame for frame.
//!
//! Server frames before the first client frame are the greeting, sent when a client
//! connects. Each recorded client frame then starts the server frames that followed it
//! (an exchange). A client frame is matched against the recorded client frames from
//! where the conversation is, so the exchanges replay in order, and a frame that
//! matches a later or earlier exchange jumps there.

use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::format::MatchSpec;
use crate::protocol::raw::RawFrame;

/// A server-side step of a raw recording.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawOut {
    Frame(RawFrame),
    /// A named point (not sent; chaos triggers can use it).
    Marker(String),
}

/// Recorded server frames, each with its delay since the previous line.
pub(crate) type Replies = Vec<(Duration, RawOut)>;

/// One recorded client frame and what the server sent after it.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) trigger: RawFrame,
    pub(crate) replies: Replies,
}

/// A `raw` recording, ready to replay.
#[derive(Debug)]
pub(crate) struct RawScript {
    pub(crate) greeting: Replies,
    pub(crate) exchanges: Vec<Exchange>,
    pub(crate) matcher: Matcher,
}

impl RawScript {
    /// The names of its marker lines, each once, in order: what `?freeze=` may name.
    pub(crate) fn markers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let replies =
            std::iter::once(&self.greeting).chain(self.exchanges.iter().map(|x| &x.replies));
        for (_, out_step) in replies.flatten() {
            if let RawOut::Marker(name) = out_step
                && !out.contains(name)
            {
                out.push(name.clone());
            }
        }
        out
    }

    /// The exchange a client frame starts, searching from `from` (the exchange after
    /// the last one played) round to the start; `None` when no recorded frame matches.
    pub(crate) fn find(&self, frame: &RawFrame, from: usize) -> Option<usize> {
        let n = self.exchanges.len();
        (0..n)
            .map(|k| (from + k) % n.max(1))
            .find(|&i| self.matcher.matches(&self.exchanges[i].trigger, frame))
    }
}

/// Compiled `match` rules of a recording's header.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    ignore: Vec<JsonPath>,
    only: Vec<JsonPath>,
    ignore_regex: Vec<Regex>,
}

impl Matcher {
    /// Compiles the rules; each error names the rule's place (`match.ignore[0]`) and why.
    pub(crate) fn compile(spec: &MatchSpec) -> Result<Matcher, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut paths = |list: &[String], field: &str| -> Vec<JsonPath> {
            list.iter()
                .enumerate()
                .filter_map(|(i, p)| match JsonPath::parse(p) {
                    Ok(path) => Some(path),
                    Err(e) => {
                        errors.push((
                            format!("{field}[{i}]"),
                            format!(
                                "`{p}` is not a JSONPath ({e}); write e.g. `$.id` or `$..timestamp`"
                            ),
                        ));
                        None
                    }
                })
                .collect()
        };
        let ignore = paths(&spec.ignore, "ignore");
        let only = paths(&spec.only, "only");
        let ignore_regex = spec
            .ignore_regex
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match Regex::new(r) {
                Ok(re) => Some(re),
                Err(e) => {
                    errors.push((
                        format!("ignore_regex[{i}]"),
                        format!("`{r}` is not a regular expression: {e}"),
                    ));
                    None
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(Matcher {
                ignore,
                only,
                ignore_regex,
            })
        } else {
            Err(errors)
        }
    }

    /// Whether a client frame matches a recorded one under these rules.
    pub(crate) fn matches(&self, recorded: &RawFrame, got: &RawFrame) -> bool {
        match (recorded, got) {
            (RawFrame::Text(a), RawFrame::Text(b)) => self.key(a) == self.key(b),
            (RawFrame::Binary(a), RawFrame::Binary(b)) => a == b,
            _ => false,
        }
    }

    /// What is compared of a text frame: its JSON value with the ignored parts removed
    /// (or only the selected parts), else its text with the regex matches blanked.
    fn key(&self, text: &str) -> Result<Value, String> {
        let mut text = text.to_owned();
        for re in &self.ignore_regex {
            text = re.replace_all(&text, "").into_owned();
        }
        let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
            return Err(text);
        };
        if !self.only.is_empty() {
            let picked: Vec<Value> = self
                .only
                .iter()
                .map(|p| Value::Array(p.query(&value).all().into_iter().cloned().collect()))
                .collect();
            return Ok(Value::Array(picked));
        }
        for path in &self.ignore {
            let pointers: Vec<String> = path
                .query_located(&value)
                .locations()
                .map(|l| l.to_json_pointer())
                .collect();
            for p in pointers {
                if let Some(v) = value.pointer_mut(&p) {
                    *v = Value::Null;
                }
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> RawFrame {
        RawFrame::Text(t.into())
    }

    #[test]
    fn exact_matching_compares_json_as_json() {
        let m = Matcher::default();
        assert!(m.matches(&text(r#"{"a":1,"b":2}"#), &text(r#"{ "b": 2, "a": 1 }"#)));
        assert!(!m.matches(&text(r#"{"a":1}"#), &text(r#"{"a":2}"#)));
        assert!(m.matches(&text("PING x"), &text("PING x")));
        assert!(!m.matches(&text("PING x"), &text("PING y")));
    }

    #[test]
    fn rules_ignore_paths_and_regexes_or_compare_only_some_parts() {
        let spec = MatchSpec {
            ignore: vec!["$.id".into()],
            ignore_regex: vec![r"ts=\d+".into()],
            only: vec![],
        };
        let m = Matcher::compile(&spec).unwrap();
        assert!(m.matches(&text(r#"{"id":1,"q":"hi"}"#), &text(r#"{"id":7,"q":"hi"}"#)));
        assert!(!m.matches(&text(r#"{"id":1,"q":"hi"}"#), &text(r#"{"id":1,"q":"ho"}"#)));
        assert!(m.matches(&text("GET ts=123"), &text("GET ts=999")));
        let only = Matcher::compile(&MatchSpec {
            only: vec!["$.op".into()],
            ..MatchSpec::default()
        })
        .unwrap();
        assert!(only.matches(
            &text(r#"{"op":"ask","q":"a"}"#),
            &text(r#"{"op":"ask","q":"b"}"#)
        ));
        assert!(!only.matches(&text(r#"{"op":"ask"}"#), &text(r#"{"op":"bye"}"#)));
    }

    #[test]
    fn bad_rules_name_their_place() {
        let e = Matcher::compile(&MatchSpec {
            ignore: vec!["$.ok".into(), "nope".into()],
            ignore_regex: vec!["(".into()],
            only: vec![],
        })
        .unwrap_err();
        assert_eq!(e[0].0, "ignore[1]");
        assert_eq!(e[1].0, "ignore_regex[0]");
    }
}
