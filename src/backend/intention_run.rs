//! What a `run_intention` sets off besides its toast (addendum C.5): the real backend
//! runs the intention and tells every dashboard socket `intention_started`, then
//! `intention_completed` (its agent output never reaches the dashboard, and nothing is
//! stored in a chat session).
//!
//! This file decides what the run is (which intention, how long, the frames); pushing
//! them to every dashboard is `App::announce_intention_run`'s, so `backend` stays below
//! `app`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Ctx, text};
use crate::speed::Speed;
use crate::timestamp::iso8601;

/// How long a run takes at speed 1 (the URL's or server's speed does not reach here;
/// `--speed` scales it, and speed 0 completes at once).
const RUN_TIME: Duration = Duration::from_secs(1);

/// One intention's run: its two pushes and the wait between them.
pub(crate) struct IntentionRun {
    id: String,
    name: String,
    /// How long after `intention_started` the run completes.
    pub(crate) wait: Duration,
}

impl IntentionRun {
    /// The run of the intention the frame names, at the server's `speed`; `None` for an
    /// unknown id (whose reply is the error frame the action already answered with).
    pub(crate) fn start(ctx: &Ctx, frame: &Map<String, Value>, speed: Speed) -> Option<Self> {
        let id = text(frame, "id").unwrap_or("");
        let intention = ctx
            .state
            .intentions(ctx.data)
            .into_iter()
            .find(|i| i.id == id)?;
        let wait = speed.scale(RUN_TIME);
        Some(IntentionRun {
            id: intention.id,
            name: intention.name,
            wait,
        })
    }

    /// The `intention_started` or `intention_completed` frame, stamped now.
    pub(crate) fn frame(&self, kind: &str) -> String {
        json!({
            "type": kind,
            "intention_id": self.id,
            "intention_name": self.name,
            "timestamp": iso8601(std::time::SystemTime::now()),
        })
        .to_string()
    }
}
