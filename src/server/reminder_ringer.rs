//! The reminder ringer: rings one-time reminders when they come due. Every dashboard
//! connection gets the real backend's two `reminder` frames ([`reminders::frames`]), and
//! the reminder leaves the list.
//!
//! It lives in the server layer, not in `backend/`, because it reaches the `App` (the
//! library's canned data, the run state, the pushes channel, shutdown): `backend` stays
//! below `app` and answers actions from what it is given.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tracing::info;

use crate::app::{App, Push};
use crate::backend::reminders::{self, to_json};

/// The longest the ringer sleeps before looking again, so a reminder added (or a
/// `backend.json` reloaded) meanwhile is seen in time to ring on the second.
const LOOK_AGAIN: Duration = Duration::from_secs(1);

/// Rings due reminders until the server shuts down.
pub(crate) async fn ring(app: Arc<App>) {
    loop {
        let data = app.library().backend();
        let now = SystemTime::now();
        for r in app.backend.take_due(&data, now) {
            let frames: Push = reminders::frames(&to_json(&r, now))
                .iter()
                .map(Value::to_string)
                .collect();
            let listeners = app.pushes.send(frames).unwrap_or(0);
            info!(id = %r.id, listeners, "reminder rang: {}", r.text);
        }
        let wait = app
            .backend
            .next_due(&data)
            .map_or(LOOK_AGAIN, |at| at.duration_since(now).unwrap_or_default())
            .min(LOOK_AGAIN);
        tokio::select! {
            _ = app.shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
