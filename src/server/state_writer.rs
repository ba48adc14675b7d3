//! The `--state` writer task: writes the sessions the store marked changed, shortly after
//! each change, through [`StateDir::flush`]. In the server layer, not in `persist.rs`,
//! because it reaches the `App`'s session store; `persist` stays below `app`.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::persist::StateDir;

/// How long the writer waits after a change for more before writing: a streamed turn
/// changes its session twice (question, answer) and many turns may end together.
const SETTLE: Duration = Duration::from_millis(50);

/// Writes changes as they come. Runs until aborted; the server then calls
/// [`StateDir::flush`] once more, after every connection has stored its last answer.
pub(crate) async fn write_changes(app: Arc<App>, state: Arc<StateDir>) {
    loop {
        state.changed().await;
        tokio::time::sleep(SETTLE).await;
        let (app, state) = (app.clone(), state.clone());
        // File writes block: off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || state.flush(&app.sessions)).await;
    }
}
