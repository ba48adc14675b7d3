//! What a `run_intention` sets off besides its toast (addendum C.5): the real backend
//! runs the intention and tells every dashboard socket `intention_started`, then
//! `intention_completed` (its agent output never reaches the dashboard, and nothing is
//! stored in a chat session).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Ctx, text};
use crate::app::{App, Push};
use crate::timestamp::iso8601;

/// How long a run takes at speed 1 (the URL's or server's speed does not reach here;
/// `--speed` scales it, and speed 0 completes at once).
const RUN_TIME: Duration = Duration::from_secs(1);

/// Broadcasts the run of the intention the frame names; nothing for an unknown id
/// (whose reply is the error frame the action already answered with).
pub fn announce(app: &Arc<App>, ctx: &Ctx, frame: &Map<String, Value>) {
    let id = text(frame, "id").unwrap_or("");
    let Some(intention) = ctx
        .state
        .intentions(ctx.data)
        .into_iter()
        .find(|i| i.id == id)
    else {
        return;
    };
    let speed = app.config.speed;
    let wait = if speed > 0.0 {
        RUN_TIME.div_f64(speed)
    } else {
        Duration::ZERO
    };
    let frame = move |kind: &str| {
        json!({
            "type": kind,
            "intention_id": intention.id,
            "intention_name": intention.name,
            "timestamp": iso8601(std::time::SystemTime::now()),
        })
        .to_string()
    };
    let _ = app
        .pushes
        .send(std::iter::once(frame("intention_started")).collect::<Push>());
    let app = app.clone();
    app.tracker.clone().spawn(async move {
        tokio::select! {
            _ = app.shutdown.cancelled() => {}
            _ = tokio::time::sleep(wait) => {
                let _ = app.pushes.send(std::iter::once(frame("intention_completed")).collect::<Push>());
            }
        }
    });
}
