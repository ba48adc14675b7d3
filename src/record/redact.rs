//! Keeping secrets out of recordings: the rules every recorded or imported frame goes
//! through before it is written.
//!
//! Default rules replace values that look like API keys or bearer tokens, and the values
//! of object keys that name a secret (`api_key`, `password`, `access_token`, …), with
//! `[redacted]`. Users add rules with `--redact`: a JSONPath (`$.user.email`,
//! `$..phone`) replaces every value it selects; anything else is a regular expression
//! whose matches are replaced, in JSON strings and in text frames that are not JSON.

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

/// What a redacted value becomes.
pub(crate) const REDACTED: &str = "[redacted]";

/// Values that are secrets whatever key holds them: provider API keys, bearer tokens
/// and JWTs. Each pattern matches the secret only, so the text around it stays readable.
const SECRET_PATTERNS: &[&str] = &[
    // "Bearer <token>" keeps the word, loses the token.
    r"(?i)(?P<keep>\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*",
    // OpenAI / Anthropic style keys: sk-…, sk-ant-…, sk-proj-…
    r"\bsk-[A-Za-z0-9_\-]{16,}",
    // AWS access key ids.
    r"\bAKIA[0-9A-Z]{16}\b",
    // GitHub tokens.
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    // Slack tokens.
    r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
    // Google API keys.
    r"\bAIza[0-9A-Za-z_\-]{35}",
    // JSON Web Tokens (three base64url parts, the first a JSON header).
    r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
];

/// Object keys whose string values are secrets, compared lower-cased without `_` and
/// `-`. A bare `token` is not among them: streaming protocols call answer text a token.
const SECRET_KEYS: &[&str] = &[
    "apikey",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "sessiontoken",
    "secret",
    "clientsecret",
    "password",
    "passwd",
    "authorization",
    "privatekey",
    "cookie",
    "setcookie",
];

/// The redaction rules in force.
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<Regex>,
    paths: Vec<JsonPath>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor {
            patterns: SECRET_PATTERNS
                .iter()
                .map(|p| Regex::new(p).expect("built-in pattern"))
                .collect(),
            paths: Vec::new(),
        }
    }
}

impl Redactor {
    /// The default rules plus the user's (`--redact`): a rule starting with `$` is a
    /// JSONPath, any other a regular expression.
    pub fn with_rules(rules: &[String]) -> Result<Redactor, String> {
        let mut r = Redactor::default();
        for rule in rules {
            r.add(rule)?;
        }
        Ok(r)
    }

    fn add(&mut self, rule: &str) -> Result<(), String> {
        if rule.starts_with('$') {
            let path = JsonPath::parse(rule).map_err(|e| {
                format!("--redact `{rule}` is not a JSONPath ({e}); write e.g. `$.user.email` or `$..api_key`")
            })?;
            self.paths.push(path);
        } else {
            let re = Regex::new(rule).map_err(|e| {
                format!("--redact `{rule}` is not a regular expression ({e}); a rule starting with `$` is a JSONPath, any other a regex")
            })?;
            self.patterns.push(re);
        }
        Ok(())
    }

    /// A text frame with its secrets replaced. JSON frames keep their shape (and, when
    /// nothing was replaced, their exact bytes).
    pub(crate) fn text(&self, text: &str) -> String {
        match serde_json::from_str::<Value>(text) {
            Ok(mut value) => {
                if self.value(&mut value) {
                    value.to_string()
                } else {
                    text.to_owned()
                }
            }
            Err(_) => self.plain(text).unwrap_or_else(|| text.to_owned()),
        }
    }

    /// Redacts a JSON value in place; true when anything changed.
    pub(crate) fn value(&self, value: &mut Value) -> bool {
        let mut changed = self.walk(value);
        for path in &self.paths {
            let pointers: Vec<String> = path
                .query_located(value)
                .locations()
                .map(|l| l.to_json_pointer())
                .collect();
            for p in pointers {
                if let Some(v) = value.pointer_mut(&p)
                    && *v != Value::String(REDACTED.into())
                {
                    *v = Value::String(REDACTED.into());
                    changed = true;
                }
            }
        }
        changed
    }

    fn walk(&self, value: &mut Value) -> bool {
        match value {
            Value::String(s) => match self.plain(s) {
                Some(r) => {
                    *s = r;
                    true
                }
                None => false,
            },
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, v| self.walk(v) | changed),
            Value::Object(map) => {
                let mut changed = false;
                for (k, v) in map.iter_mut() {
                    if is_secret_key(k) && v.is_string() {
                        if v.as_str() != Some(REDACTED) {
                            *v = Value::String(REDACTED.into());
                            changed = true;
                        }
                    } else {
                        changed |= self.walk(v);
                    }
                }
                changed
            }
            _ => false,
        }
    }

    /// `text` with every pattern's matches replaced, or `None` when none matched.
    fn plain(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for re in &self.patterns {
            let current = out.as_deref().unwrap_or(text);
            if re.is_match(current) {
                let replaced = re
                    .replace_all(current, |c: &regex::Captures| {
                        let keep = c.name("keep").map_or("", |m| m.as_str());
                        format!("{keep}{REDACTED}")
                    })
                    .into_owned();
                out = Some(replaced);
            }
        }
        out
    }

    /// A query string without `token` (never recorded) and with the text rules applied
    /// to the values left.
    pub(crate) fn query(&self, query: &str) -> String {
        let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| !k.eq_ignore_ascii_case("token") && !is_secret_key(k))
            .map(|(k, v)| {
                let v = self.plain(&v).unwrap_or_else(|| v.into_owned());
                (k.into_owned(), v)
            })
            .collect();
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish()
    }
}

fn is_secret_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEYS.contains(&norm.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_keys_and_bearer_tokens_are_redacted_and_the_rest_kept() {
        let r = Redactor::default();
        let frame = json!({"action":"save_api_key","provider":"anthropic","key":"sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
            "note":"use Bearer abcdefghijklmnop please","token":"Hello"}).to_string();
        let out = r.text(&frame);
        assert!(!out.contains("abcdefghijklmnopqrstuvwxyz"), "{out}");
        assert!(!out.contains("abcdefghijklmnop please"), "{out}");
        assert!(out.contains("Bearer [redacted] please"), "{out}");
        assert!(out.contains(r#""provider":"anthropic""#), "{out}");
        // A bare `token` is answer text in many streaming protocols.
        assert!(out.contains(r#""token":"Hello""#), "{out}");
    }

    #[test]
    fn secret_keys_lose_their_values_whatever_the_case() {
        let r = Redactor::default();
        let mut v = json!({"data":{"API-Key":"abc123","Password":"hunter2","access_token":"x"}});
        assert!(r.value(&mut v));
        assert_eq!(
            v,
            json!({"data":{"API-Key":REDACTED,"Password":REDACTED,"access_token":REDACTED}})
        );
    }

    #[test]
    fn user_rules_are_json_paths_or_regexes() {
        let r = Redactor::with_rules(&["$..email".into(), r"\b\d{4}-\d{4}\b".into()]).unwrap();
        let out = r.text(r#"{"user":{"email":"a@b.c"},"card":"pin 1234-5678 ok"}"#);
        assert_eq!(
            out,
            r#"{"user":{"email":"[redacted]"},"card":"pin [redacted] ok"}"#
        );
        assert_eq!(r.text("plain 1234-5678 text"), "plain [redacted] text");
        let e = Redactor::with_rules(&["$.[".into()]).unwrap_err();
        assert!(e.contains("not a JSONPath"), "{e}");
        let e = Redactor::with_rules(&["(".into()]).unwrap_err();
        assert!(e.contains("not a regular expression"), "{e}");
    }

    #[test]
    fn untouched_json_keeps_its_exact_bytes() {
        let text = r#"{ "type": "chunk",  "n": 1.50 }"#;
        assert_eq!(Redactor::default().text(text), text);
    }

    #[test]
    fn the_token_parameter_never_survives_a_query() {
        let r = Redactor::default();
        assert_eq!(
            r.query("token=s3cret&resume_session=abc&x=Bearer%20abcdefghijkl"),
            "resume_session=abc&x=Bearer+%5Bredacted%5D"
        );
    }
}
