//! Size caps on what the dashboard stores during a run (reminders, intentions), so a
//! client cannot make pawmock hold, or build replies of, unbounded size: 2,000
//! `add_reminder` of 50 KB once held 210 MB and one `get_reminders` built a 200 MB frame.
//!
//! Each stored text field and each JSON value is capped in bytes and each list in count,
//! so a list reply is bounded by their product. A frame over a cap gets an `error` frame
//! naming the limit, and nothing is stored.

use serde_json::{Map, Value};

use super::{Ctx, error};

/// The largest stored text field or JSON value (a reminder's sentence, an intention's
/// prompt or trigger), in bytes.
pub(crate) const MAX_FIELD_BYTES: usize = 4096;
/// The most reminders, and the most intentions, listed at once.
pub(crate) const MAX_ITEMS: usize = 500;

/// `Some(error frame)` when `frame` would store more than the caps allow.
pub(crate) fn refuse(ctx: &Ctx, name: &str, frame: &Map<String, Value>) -> Option<Value> {
    let (fields, count): (&[&str], Option<usize>) = match name {
        "add_reminder" => (&["message"], Some(ctx.state.reminders(ctx.data).len())),
        "create_intention" => (
            &["name", "prompt", "trigger", "context_sources"],
            Some(ctx.state.intentions(ctx.data).len()),
        ),
        "update_intention" => (&["updates"], None),
        "settings" => return refuse_settings(ctx, frame),
        _ => return None,
    };
    for field in fields {
        let bytes = match frame.get(*field) {
            None => 0,
            Some(Value::String(s)) => s.len(),
            Some(v) => v.to_string().len(),
        };
        // `updates` carries several fields: each may use the cap.
        let limit = if *field == "updates" {
            4 * MAX_FIELD_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        if bytes > limit {
            return Some(error(format!(
                "{name} refused: `{field}` is {bytes} bytes; the limit is {limit} bytes"
            )));
        }
    }
    match count {
        Some(n) if n >= MAX_ITEMS => Some(error(format!(
            "{name} refused: {n} are stored and the limit is {MAX_ITEMS}; delete some first"
        ))),
        _ => None,
    }
}

/// The most settings keys stored (canned ones included).
pub(crate) const MAX_SETTINGS: usize = 500;

/// `settings` stores every key it is sent: each value is capped, and so is the key count.
fn refuse_settings(ctx: &Ctx, frame: &Map<String, Value>) -> Option<Value> {
    for (key, value) in frame {
        let bytes = key.len() + value.to_string().len();
        if bytes > MAX_FIELD_BYTES {
            return Some(error(format!(
                "settings refused: `{key}` is {bytes} bytes; the limit is {MAX_FIELD_BYTES} bytes"
            )));
        }
    }
    let stored = ctx.state.settings(ctx.data);
    let new = frame.keys().filter(|k| !stored.contains_key(*k)).count();
    (stored.len() + new > MAX_SETTINGS).then(|| {
        error(format!(
            "settings refused: it would store more than {MAX_SETTINGS} settings"
        ))
    })
}
