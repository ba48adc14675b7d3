//! Durations as people write them in files: `"150ms"`, `"1.5s"`, `"2m"`, or seconds as a number.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The longest duration pawmock accepts anywhere (files, URLs, flags): a day. Longer
/// values are surely mistakes, and bounding them keeps every offset sum far from overflow.
pub const MAX: Duration = Duration::from_secs(24 * 3600);

/// Refuses durations above [`MAX`].
pub(crate) fn bounded(d: Duration, written: &str) -> Result<Duration, String> {
    if d > MAX {
        Err(format!(
            "duration {written} is longer than the 24h pawmock accepts"
        ))
    } else {
        Ok(d)
    }
}

/// A number of seconds as a bounded duration: finite, ≥ 0 and at most [`MAX`].
pub(crate) fn from_secs(n: f64) -> Result<Duration, String> {
    let d = Duration::try_from_secs_f64(n)
        .map_err(|_| format!("invalid duration {n}: seconds must be a finite number ≥ 0"))?;
    bounded(d, &n.to_string())
}

/// `t + d`, saturating: an instant too far ahead to represent becomes "in 30 years"
/// (what tokio itself uses for "never"), so no offset can make instant arithmetic panic.
pub(crate) fn later(t: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    t.checked_add(d)
        .unwrap_or_else(|| t + Duration::from_secs(86400 * 365 * 30))
}

/// A duration from any source (a file, the URL, a fault spec, a flag), never longer than
/// [`MAX`]: every constructor checks the bound, so code that adds durations never overflows.
///
/// (The inner value stays public for reading; new ones come from [`parse`], [`from_secs`]
/// or deserialization, all bounded.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"150ms\" or \"1.5s\", or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse(s).map(Dur).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Dur, E> {
                from_secs(n).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Dur, E> {
                bounded(
                    Duration::from_secs(n.min(MAX.as_secs() + 1)),
                    &n.to_string(),
                )
                .map(Dur)
                .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dur, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "invalid duration {n}: it must not be negative"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: \"150ms\", \"1.5s\", \"2m\", or a number of seconds; at most 24h.",
            "anyOf": [
                { "type": "string", "pattern": "^\\s*[0-9]" },
                { "type": "number", "minimum": 0, "maximum": 86400 }
            ]
        })
    }
}

/// Parses `"150ms"`, `"1.5s"`, `"2m 30s"`; humantime does not take fractions, so a
/// decimal number with one unit is handled here.
pub fn parse(s: &str) -> Result<Duration, String> {
    parse_unbounded(s).and_then(|d| bounded(d, &format!("\"{s}\"")))
}

fn parse_unbounded(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let err = || format!("invalid duration \"{s}\": write it like \"150ms\", \"1.5s\" or \"2m\"");
    if let Some(split) = t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let (num, unit) = t.split_at(split);
        if num.contains('.') {
            let n: f64 = num.parse().map_err(|_| err())?;
            let scale = match unit.trim() {
                "ms" => 1e-3,
                "s" | "sec" | "secs" => 1.0,
                "m" | "min" | "mins" => 60.0,
                "h" => 3600.0,
                _ => return Err(err()),
            };
            return Duration::try_from_secs_f64(n * scale).map_err(|_| err());
        }
    } else if !t.is_empty() {
        // A bare number in a string: seconds.
        let n: f64 = t.parse().map_err(|_| err())?;
        return Duration::try_from_secs_f64(n).map_err(|_| err());
    }
    humantime::parse_duration(t).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse("150ms"), Ok(Duration::from_millis(150)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m 30s"), Ok(Duration::from_secs(150)));
        assert_eq!(parse("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse("soon").unwrap_err().contains("\"soon\""));
        let d: Dur = serde_json::from_str("0.5").unwrap();
        assert_eq!(d.0, Duration::from_millis(500));
        assert!(serde_json::from_str::<Dur>("-1").is_err());
        assert!(parse("25h").unwrap_err().contains("24h"));
        assert!(parse("10000000000000000000s").is_err());
        assert!(serde_json::from_str::<Dur>("1e300").is_err());
    }

    /// Issue 11 #1: numbers skipped the 24 h bound that strings had.
    #[test]
    fn numbers_of_seconds_have_the_same_24h_bound_as_strings() {
        for n in ["18446744073709551615", "1e19", "86401", "1000000000000000"] {
            let e = serde_json::from_str::<Dur>(n).unwrap_err().to_string();
            assert!(e.contains("24h"), "{n}: {e}");
        }
        assert_eq!(serde_json::from_str::<Dur>("86400").unwrap().0, MAX);
        assert!(from_secs(f64::NAN).is_err());
        assert!(from_secs(1e19).unwrap_err().contains("24h"));
        let t = tokio::time::Instant::now();
        assert!(later(t, Duration::MAX) > t);
    }
}
