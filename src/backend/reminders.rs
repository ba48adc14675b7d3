//! `get_reminders`, `add_reminder` and `delete_reminder`.
//!
//! `add_reminder` carries the user's sentence ("remind me in 5 minutes to stretch");
//! like the real backend, pawmock finds the time in it (`in N minutes|hours|…`, or
//! `at 3pm` / `at 15:30`, taken as UTC) and refuses a sentence without one.
//!
//! The ringer (`server/reminder_ringer.rs`, in the server layer because it pushes through
//! the `App`) rings one-time reminders when they come due: every dashboard connection gets
//! the real backend's two [`frames`], and the reminder leaves the list.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use regex::Regex;
use serde_json::{Map, Value, json};

use super::data::Reminder;
use super::{Ctx, error, short_id, text};
use crate::timestamp::{iso8601, seconds_of_day};

/// What the real backend sends when a reminder rings: the same reminder twice, once as
/// `content` (its broadcast) and once as `reminder` (the legacy frame the dashboard reads).
pub(crate) fn frames(reminder: &Value) -> Vec<Value> {
    vec![
        json!({"type": "reminder", "content": reminder}),
        json!({"type": "reminder", "reminder": reminder}),
    ]
}

pub(crate) fn list(ctx: &Ctx) -> Vec<Value> {
    let reminders: Vec<Value> = ctx
        .state
        .reminders(ctx.data)
        .iter()
        .map(|r| to_json(r, ctx.now))
        .collect();
    vec![json!({"type": "reminders", "reminders": reminders})]
}

pub(crate) fn add(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let original = text(frame, "message").unwrap_or("").trim();
    let Some((due, text)) = parse(original, ctx.now) else {
        return vec![error(
            "Could not parse time from message. Try 'in 5 minutes' or 'at 3pm'",
        )];
    };
    let reminder = Reminder {
        id: short_id(),
        text,
        original: original.to_owned(),
        trigger_at: due,
        created_at: ctx.now,
        kind: None,
        schedule: None,
    };
    let reply = json!({"type": "reminder_added", "reminder": to_json(&reminder, ctx.now)});
    ctx.state.add_reminder(reminder);
    vec![reply]
}

pub(crate) fn delete(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let id = text(frame, "id").unwrap_or("");
    if ctx.state.delete_reminder(ctx.data, id) {
        vec![json!({"type": "reminder_deleted", "id": id})]
    } else {
        vec![error("Reminder not found")]
    }
}

/// A reminder as the dashboard reads it.
pub(crate) fn to_json(r: &Reminder, now: SystemTime) -> Value {
    let mut v = json!({
        "id": r.id,
        "text": r.text,
        "original": r.original,
        "trigger_at": iso8601(r.trigger_at),
        "created_at": iso8601(r.created_at),
    });
    if let Some(kind) = &r.kind {
        v["type"] = Value::from(kind.as_str());
    }
    if let Some(schedule) = &r.schedule {
        v["schedule"] = Value::from(schedule.as_str());
    }
    v["time_remaining"] = Value::from(remaining(r.trigger_at, now));
    v
}

/// `4h 59m`, `44m`, `30s`, `2d 3h`; `now` once due.
fn remaining(at: SystemTime, now: SystemTime) -> String {
    let secs = at.duration_since(now).map_or(0, |d| d.as_secs());
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) if s == 0 => "now".to_owned(),
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn relative() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\bin\s+(\d+|an?|one)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b")
            .expect("valid regex")
    })
}

fn clock() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\bat\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b").expect("valid regex")
    })
}

fn preamble() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)^\s*remind\s+me\s+(to\s+|about\s+|that\s+)?").expect("valid regex")
    })
}

/// When the sentence says the reminder is due, and what it is about (the sentence
/// without the time and without "remind me to").
pub(crate) fn parse(message: &str, now: SystemTime) -> Option<(SystemTime, String)> {
    let (due, span) = if let Some(c) = relative().captures(message) {
        let n: u64 = match &c[1].to_ascii_lowercase()[..] {
            "a" | "an" | "one" => 1,
            digits => digits.parse().ok()?,
        };
        let unit = c[2].to_ascii_lowercase();
        let secs = match unit.chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            _ => 86_400,
        };
        let due = now.checked_add(Duration::from_secs(n.checked_mul(secs)?))?;
        (due, c.get(0)?.range())
    } else {
        let c = clock().captures(message)?;
        let mut hour: u64 = c[1].parse().ok()?;
        let minute: u64 = c.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
        match c.get(3).map(|m| m.as_str().to_ascii_lowercase()).as_deref() {
            Some("pm") if hour < 12 => hour += 12,
            Some("am") if hour == 12 => hour = 0,
            _ => {}
        }
        if hour > 23
            || minute > 59
            || (c.get(3).is_some() && !(1..=24).contains(&c[1].parse::<u64>().ok()?))
        {
            return None;
        }
        let target = hour * 3600 + minute * 60;
        let today = seconds_of_day(now);
        let wait = if target > today {
            target - today
        } else {
            target + 86_400 - today
        };
        (now + Duration::from_secs(wait), c.get(0)?.range())
    };
    let mut rest = format!("{} {}", &message[..span.start], &message[span.end..]);
    rest = preamble().replace(&rest, "").into_owned();
    let text = rest
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_owned();
    let text = if text.is_empty() {
        message.to_owned()
    } else {
        text
    };
    Some((due, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// 2026-11-25 10:00:00 UTC.
    fn ten_am() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_600_800)
    }

    #[test]
    fn relative_times_and_clock_times_are_found_and_removed_from_the_text() {
        let now = ten_am();
        let (due, text) = parse("remind me in 5 minutes to stretch", now).unwrap();
        assert_eq!(due, now + Duration::from_secs(300));
        assert_eq!(text, "stretch");
        let (due, text) = parse("Call mum in an hour!", now).unwrap();
        assert_eq!(due, now + Duration::from_secs(3600));
        assert_eq!(text, "Call mum");
        let (due, text) = parse("remind me to water the plants at 3pm", now).unwrap();
        assert_eq!(due, now + Duration::from_secs(5 * 3600));
        assert_eq!(text, "water the plants");
        let (due, _) = parse("standup at 9:30", now).unwrap();
        assert_eq!(
            due,
            now + Duration::from_secs(23 * 3600 + 30 * 60),
            "tomorrow"
        );
        assert!(parse("remind me to stretch", now).is_none());
        assert!(parse("at 25:00 do it", now).is_none());
        assert!(parse("in 99999999999999999999 days", now).is_none());
    }

    #[test]
    fn time_remaining_reads_like_a_countdown() {
        let now = ten_am();
        let at = |s: u64| now + Duration::from_secs(s);
        assert_eq!(remaining(at(0), now), "now");
        assert_eq!(remaining(now - Duration::from_secs(5), now), "now");
        assert_eq!(remaining(at(30), now), "30s");
        assert_eq!(remaining(at(44 * 60 + 5), now), "44m");
        assert_eq!(remaining(at(4 * 3600 + 59 * 60), now), "4h 59m");
        assert_eq!(remaining(at(2 * 86_400 + 3 * 3600), now), "2d 3h");
    }
}
