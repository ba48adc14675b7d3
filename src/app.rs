//! What every connection shares: the current library snapshot, the session store, the
//! server's defaults, and the shutdown signal.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::RunState;
use crate::library::Library;
use crate::playback::SharedSchedules;
use crate::protocol::DialectChoice;
use crate::sessions::Sessions;

/// Server-wide defaults; a connection's URL can override most of them.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub dialect: DialectChoice,
    pub speed: crate::speed::Speed,
    pub seed: u64,
    /// Largest client frame or message accepted; larger ones close the socket with 1009.
    pub max_frame_size: usize,
    /// Chaos profiles applied to connections whose URL names none (`--chaos`).
    pub chaos: Vec<String>,
    /// `--static DIR`: a built frontend served from the same origin as `/ws`
    /// (canonicalized, so requests can be checked against it).
    pub static_dir: Option<PathBuf>,
    /// Who may use the control API (`--admin-token`, `--no-admin`, `--host`).
    pub admin: crate::control::Access,
    /// The journal's bounds (`--journal-size`, `--journal-frames`).
    pub journal: crate::control::JournalConfig,
    /// A socket must send its first request's headers within this (`--handshake-timeout`).
    pub handshake_timeout: std::time::Duration,
    /// Most sockets at once that have not finished their handshake (`--max-pending`).
    pub max_pending: usize,
    /// Bytes of chat history the session store keeps (`--history-budget`).
    pub history_budget: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            dialect: DialectChoice::Auto,
            speed: crate::speed::Speed::NORMAL,
            seed: crate::rng::DEFAULT_SEED,
            max_frame_size: 1 << 20,
            chaos: Vec::new(),
            static_dir: None,
            admin: crate::control::Access::default(),
            journal: crate::control::JournalConfig::default(),
            handshake_timeout: std::time::Duration::from_secs(10),
            max_pending: 1024,
            history_budget: crate::sessions::DEFAULT_BUDGET,
        }
    }
}

/// Text frames pushed to every dashboard connection (see [`App::pushes`]), except the
/// one they came `from` (which sent them to its own socket already, in turn order).
#[derive(Debug, Clone)]
pub(crate) struct Push {
    pub(crate) from: Option<Arc<str>>,
    /// Whose frames these are. A connection's frames (its turn's `system_event`s, the
    /// rest of a turn whose socket dropped) reach only the dashboard connections of the
    /// same `?run=` label, so tests and stories that label their runs never see each
    /// other's turns; the server's own (a reminder ringing) reach every one.
    pub(crate) audience: Audience,
    pub(crate) frames: Arc<[String]>,
}

/// Which dashboard connections a [`Push`] is for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Audience {
    Everyone,
    /// Connections whose `?run=` label is this one (`None`: those without a label).
    Run(Option<Arc<str>>),
}

impl Audience {
    /// Whether a connection with this `run` label receives the push.
    pub(crate) fn includes(&self, run: Option<&str>) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Run(label) => label.as_deref() == run,
        }
    }
}

impl Push {
    /// Frames for the dashboard connections of run `run`, but the one with id `from`.
    pub(crate) fn from_connection(from: &str, run: Option<&str>, frames: Arc<[String]>) -> Push {
        Push {
            from: Some(from.into()),
            audience: Audience::Run(run.map(Arc::from)),
            frames,
        }
    }

    /// Frames for the dashboard connections of run `run` (a turn whose socket dropped).
    pub(crate) fn for_run(run: Option<&str>, frames: Vec<String>) -> Push {
        Push {
            from: None,
            audience: Audience::Run(run.map(Arc::from)),
            frames: frames.into(),
        }
    }
}

/// Collecting frames makes a push for every dashboard connection.
impl FromIterator<String> for Push {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Push {
            from: None,
            audience: Audience::Everyone,
            frames: iter.into_iter().collect(),
        }
    }
}

/// Pushes a connection may fall behind by before it skips the oldest.
const PUSH_BACKLOG: usize = 16;

/// Shared state of a running server.
pub struct App {
    library: RwLock<Arc<Library>>,
    pub sessions: Sessions,
    /// Reminders, intentions and settings the dashboard changed during this run; they
    /// outlive reloads of `backend.json` (the canned data lives in the library).
    pub(crate) backend: RunState,
    /// What the dashboard's panels changed during this run (`/api/...` calls).
    pub(crate) panels: crate::backend::panels::PanelState,
    /// Turn expansions shared by the connections that play the same turn the same way.
    pub(crate) schedules: SharedSchedules,
    pub(crate) config: ServeConfig,
    /// Cancelled on shutdown; connections close with 1001.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for their close frames.
    pub(crate) tracker: TaskTracker,
    /// Connection attempts per URL (chaos `attempt` triggers and `refuse_first`).
    pub(crate) attempts: crate::chaos::handshake::Attempts,
    /// Frames for every dashboard connection at once, as the real backend broadcasts
    /// them (a reminder that rings), serialised once for all of them.
    pub(crate) pushes: tokio::sync::broadcast::Sender<Push>,
    /// `--state DIR`, once opened: where changed sessions are written.
    pub(crate) state: std::sync::OnceLock<Arc<crate::persist::StateDir>>,
    /// What `/metrics` exports (see `metrics.rs`).
    pub(crate) metrics: crate::metrics::Metrics,
    /// The inspector page's view of load problems and library changes.
    pub(crate) inspector: crate::inspector::State,
    /// The control plane: live connections, the journal (DESIGN §11).
    pub(crate) control: crate::control::Control,
    next_connection: AtomicU64,
}

impl App {
    pub fn new(library: Library, config: ServeConfig) -> Arc<App> {
        let sessions = Sessions::seeded_from(&library);
        let control = crate::control::Control::new(config.admin.clone(), config.journal);
        sessions.set_budget(config.history_budget);
        Arc::new(App {
            library: RwLock::new(Arc::new(library)),
            sessions,
            backend: RunState::default(),
            panels: Default::default(),
            schedules: SharedSchedules::default(),
            config,
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            attempts: Default::default(),
            pushes: tokio::sync::broadcast::channel(PUSH_BACKLOG).0,
            state: std::sync::OnceLock::new(),
            metrics: crate::metrics::Metrics::new(),
            inspector: crate::inspector::State::default(),
            control,
            next_connection: AtomicU64::new(1),
        })
    }

    /// The current snapshot. A turn keeps the one it started with.
    pub fn library(&self) -> Arc<Library> {
        self.library
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Swaps in a new snapshot whole: readers see the old one or the new one, never a mix.
    pub(crate) fn replace_library(&self, library: Library) {
        self.sessions.seed(&library);
        *self.library.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(library);
        self.inspector.changed();
    }

    /// Pushes a `run_intention`'s `intention_started` to every dashboard now and its
    /// `intention_completed` when the run ends (a tracked task; shutdown cancels it).
    /// Here rather than in `backend/` because it needs the pushes channel and the tracker.
    pub(crate) fn announce_intention_run(
        self: &Arc<Self>,
        run: crate::backend::intention_run::IntentionRun,
    ) {
        let _ = self
            .pushes
            .send(std::iter::once(run.frame("intention_started")).collect::<Push>());
        let app = self.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = app.shutdown.cancelled() => {}
                _ = tokio::time::sleep(run.wait) => {
                    let _ = app.pushes.send(std::iter::once(run.frame("intention_completed")).collect::<Push>());
                }
            }
        });
    }

    /// A short id for logs: `c1`, `c2`, …
    pub(crate) fn next_connection_id(&self) -> String {
        format!("c{}", self.next_connection.fetch_add(1, Ordering::Relaxed))
    }
}
