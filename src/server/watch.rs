//! Hot reload: watching the recordings directory and swapping in new library snapshots.
//!
//! notify (inotify, FSEvents, … or its polling watcher) feeds notify-debouncer-full,
//! whose callback runs on notify's own thread and only pushes each debounced batch into
//! an unbounded tokio channel: it never blocks and never enters the runtime. A tokio task
//! drains the channel, merges what queued up meanwhile into one batch, lets
//! [`Reloader::apply`] re-read the changed files on a blocking thread, swaps the new
//! [`Library`](crate::library::Library) into the [`App`] whole, and logs what happened.
//!
//! The directory is watched, never single files: editors save by writing a temp file and
//! renaming it over the original, which replaces the inode a file watch would follow.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, PollWatcher, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, DebouncedEvent, Debouncer, NoCache, RecommendedCache, new_debouncer,
    new_debouncer_opt,
};
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, error, info, warn};

use crate::app::App;
use crate::library::reload::{Applied, Reloader, Report};

/// The debounce used when none is given: short enough to feel instant, long enough to
/// merge the several events of one save (open, truncate, write, close, or write a temp
/// file and rename it).
pub(crate) const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(100);

/// Shorter debounces (or poll intervals) make the debouncer's thread spin for nothing.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    /// How long after a change its event is delivered; the events of a path that arrive
    /// within this time are merged (notify-debouncer-full delays each event, it does not
    /// wait for a quiet period).
    pub debounce: Duration,
    /// Poll every this often instead of using the platform's change events (for network
    /// mounts and containers that deliver none).
    pub poll: Option<Duration>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            debounce: DEFAULT_DEBOUNCE,
            poll: None,
        }
    }
}

/// Watching could not start; the server can still serve the library it loaded.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("hot reload must be started from within a tokio runtime")]
    NoRuntime,
    #[error("{what} must be at least {MIN_INTERVAL:?}, not {value:?}")]
    TooShort { what: &'static str, value: Duration },
    #[error("cannot watch {}: {source}; {hint}", dir.display())]
    Watch {
        dir: PathBuf,
        source: notify::Error,
        hint: &'static str,
    },
}

/// Keeps the watcher alive. Dropping it (or [`WatchHandle::stop`]) stops watching: the
/// debouncer's thread ends within one tick and the OS watch (an inotify instance on
/// Linux, of which a user has 128) is released.
pub struct WatchHandle {
    guard: Option<Guard>,
    task: tokio::task::JoinHandle<()>,
    reports: broadcast::Sender<Arc<Report>>,
}

/// The debouncer in use; kept only to be dropped.
enum Guard {
    Native(#[allow(dead_code)] Debouncer<RecommendedWatcher, RecommendedCache>),
    Poll(#[allow(dead_code)] Debouncer<PollWatcher, NoCache>),
}

impl WatchHandle {
    /// Every reload that changed something, from now on (tests wait on it; a receiver
    /// that falls more than 64 reports behind skips the oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Report>> {
        self.reports.subscribe()
    }

    /// Stops watching. The library being served stays as it is.
    pub fn stop(self) {}
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        // Dropping the debouncer tells its thread to stop and drops the OS watcher.
        self.guard.take();
        self.task.abort();
    }
}

/// Starts watching the directory `reloader` was scanned from, and reloading `app`'s
/// library on every change, until the handle is dropped or the app shuts down.
///
/// Edits made between the scan and this call are picked up at once: the first thing the
/// reload task does is a rescan (which only re-reads files whose size or modification
/// time changed).
pub fn spawn(
    app: Arc<App>,
    reloader: Reloader,
    config: WatchConfig,
) -> Result<WatchHandle, WatchError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| WatchError::NoRuntime)?;
    if config.debounce < MIN_INTERVAL {
        return Err(WatchError::TooShort {
            what: "the debounce",
            value: config.debounce,
        });
    }
    if let Some(poll) = config.poll.filter(|p| *p < MIN_INTERVAL) {
        return Err(WatchError::TooShort {
            what: "the poll interval",
            value: poll,
        });
    }
    let (tx, rx) = mpsc::unbounded_channel();
    // Runs on the debouncer's thread: hand the batch over and return at once.
    let handler = move |result: DebounceEventResult| {
        let _ = tx.send(result);
    };
    let dir = reloader.canonical_root().to_owned();
    let failed = |source: notify::Error| WatchError::Watch {
        dir: dir.clone(),
        hint: hint(&source),
        source,
    };
    let guard = match config.poll {
        None => {
            let mut debouncer = new_debouncer(config.debounce, None, handler).map_err(failed)?;
            debouncer
                .watch(&dir, RecursiveMode::Recursive)
                .map_err(failed)?;
            Guard::Native(debouncer)
        }
        Some(interval) => {
            // Modification times are compared in whole seconds by the poll watcher, so
            // two saves in one second would look alike: compare contents as well.
            let poll_config = notify::Config::default()
                .with_poll_interval(interval)
                .with_compare_contents(true);
            let mut debouncer = new_debouncer_opt::<_, PollWatcher, NoCache>(
                config.debounce,
                None,
                handler,
                NoCache,
                poll_config,
            )
            .map_err(failed)?;
            debouncer
                .watch(&dir, RecursiveMode::Recursive)
                .map_err(failed)?;
            Guard::Poll(debouncer)
        }
    };
    match config.poll {
        None => info!(
            "watching {} for changes (debounce {:?})",
            reloader.root().display(),
            config.debounce
        ),
        Some(p) => info!(
            "polling {} for changes every {p:?} (debounce {:?})",
            reloader.root().display(),
            config.debounce
        ),
    }
    let (reports, _) = broadcast::channel(64);
    let settle = (config.debounce * 3).max(std::time::Duration::from_millis(300));
    let task = runtime.spawn(run(app, reloader, rx, reports.clone(), settle));
    Ok(WatchHandle {
        guard: Some(guard),
        task,
        reports,
    })
}

/// What a watch error means for the user.
fn hint(e: &notify::Error) -> &'static str {
    let limit = matches!(e.kind, notify::ErrorKind::MaxFilesWatch)
        || matches!(&e.kind, notify::ErrorKind::Io(io)
            if io.raw_os_error() == Some(24) || io.raw_os_error() == Some(28));
    if limit {
        "the inotify limits are reached: raise fs.inotify.max_user_instances or \
         fs.inotify.max_user_watches, or watch with --poll 1s"
    } else {
        "on file systems without change events use --poll 1s; --no-watch serves without hot reload"
    }
}

/// The paths to look at after a group of debounced events, and whether to rescan all.
#[derive(Debug, Default, PartialEq)]
struct Batch {
    paths: BTreeSet<PathBuf>,
    rescan: bool,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.paths.is_empty() && !self.rescan
    }

    /// Adds the paths of `events` that may mean new content. Opening or reading a file
    /// (pawmock's own reads included: inotify reports them) is not a change; closing a
    /// file written to is.
    fn add(&mut self, events: &[DebouncedEvent]) {
        for event in events {
            if event.need_rescan() {
                // The OS dropped events: only a look at everything is safe.
                self.rescan = true;
                continue;
            }
            let relevant = match event.kind {
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
                EventKind::Access(_) | EventKind::Other => false,
                EventKind::Any
                | EventKind::Create(_)
                | EventKind::Modify(_)
                | EventKind::Remove(_) => true,
            };
            if relevant {
                // A rename has both paths: the old name is gone, the new one appears.
                self.paths.extend(event.paths.iter().cloned());
            }
        }
    }
}

/// Settling rescans that may follow each other with no event in between.
const MAX_SETTLING_RESCANS: u32 = 3;

/// The reload task: one batch at a time, until the channel closes or the app shuts down.
///
/// `settle`: some time after every reload that changed something, the directory is
/// rescanned once more (cheap: only files whose size or time changed are read). The
/// debouncer can swallow an event that follows another closely on the same file (a file
/// deleted right after an editor's atomic save stayed served without this), and the
/// rescan catches what it lost.
async fn run(
    app: Arc<App>,
    mut reloader: Reloader,
    mut rx: mpsc::UnboundedReceiver<DebounceEventResult>,
    reports: broadcast::Sender<Arc<Report>>,
    settle: std::time::Duration,
) {
    let mut settle_at: Option<tokio::time::Instant> = None;
    let mut rescans_in_a_row = 0;
    let root = reloader.root().to_owned();
    let mut errors_seen = HashSet::new();
    // Catch up with edits made between the initial scan and the watch starting.
    let mut batch = Batch {
        paths: BTreeSet::new(),
        rescan: true,
    };
    loop {
        if !batch.is_empty() {
            let todo = std::mem::take(&mut batch);
            let started = tokio::time::Instant::now();
            let by_events = !todo.paths.is_empty();
            debug!(paths = ?todo.paths, rescan = todo.rescan, "reloading");
            // Reading and parsing is blocking work: keep it off the async workers.
            let done = tokio::task::spawn_blocking(move || {
                let applied = reloader.apply(&todo.paths, todo.rescan);
                (reloader, applied)
            })
            .await;
            match done {
                Ok((back, applied)) => {
                    reloader = back;
                    // A settling rescan after a reload driven by events, and after a
                    // rescan that changed what is served: that rescan may have read a
                    // file while the debouncer still held its events, which it can then
                    // cancel out (renamed into place, then deleted) so that none
                    // arrives. A rescan that changes nothing served ends the chain (a
                    // file that fails on every read must not rescan for ever), and so
                    // does a third rescan in a row.
                    let served_changed = applied.as_ref().is_some_and(|a| a.library.is_some());
                    rescans_in_a_row = if by_events { 0 } else { rescans_in_a_row + 1 };
                    let settle_again =
                        by_events || (served_changed && rescans_in_a_row < MAX_SETTLING_RESCANS);
                    settle_at = settle_again.then_some(started + settle);
                    if let Some(applied) = applied {
                        app.inspector.set_problems(reloader.problems());
                        publish(&app, &root, applied, &reports);
                    }
                }
                Err(e) => {
                    error!(
                        "hot reload stopped: reloading failed ({e}); restart pawmock to pick up edits"
                    );
                    return;
                }
            }
        }
        let first = tokio::select! {
            _ = app.shutdown.cancelled() => return,
            next = rx.recv() => match next {
                Some(result) => result,
                None => return,
            },
            _ = sleep_until(settle_at), if settle_at.is_some() => {
                settle_at = None;
                batch.rescan = true;
                continue;
            }
        };
        take(first, &mut batch, &mut errors_seen);
        // Batches that queued while the last reload ran become one reload.
        while let Ok(more) = rx.try_recv() {
            take(more, &mut batch, &mut errors_seen);
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Adds a debouncer delivery to `batch`; logs each distinct watcher error once.
fn take(result: DebounceEventResult, batch: &mut Batch, errors_seen: &mut HashSet<String>) {
    match result {
        Ok(events) => batch.add(&events),
        Err(errors) => {
            for e in errors {
                let text = e.to_string();
                if errors_seen.len() >= 256 {
                    // Errors naming ever new paths must not grow this forever.
                    errors_seen.clear();
                }
                if errors_seen.insert(text.clone()) {
                    warn!("file watching: {text}; {}", hint(&e));
                } else {
                    debug!("file watching: {text}");
                }
            }
        }
    }
}

/// Swaps the new library in and logs the reload: each new problem, each fixed file, and
/// one summary line.
fn publish(app: &App, root: &Path, applied: Applied, reports: &broadcast::Sender<Arc<Report>>) {
    let Applied { library, report } = applied;
    for problem in &report.problems {
        warn!("{problem}");
    }
    for file in &report.recovered {
        info!("{}: fixed; reloaded", root.join(file).display());
    }
    if let Some(library) = library {
        app.replace_library(library);
    }
    app.metrics.reloaded(report.problems.len());
    info!("{report}");
    if !report.removed.is_empty() && !root.is_dir() {
        // The OS watch went with the directory: nothing more will be seen.
        warn!(
            "the recordings directory {} is gone; hot reload stops until pawmock is restarted",
            root.display()
        );
    }
    // No subscriber is the normal case outside tests.
    let _ = reports.send(Arc::new(report));
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode};
    use notify::{Event, event::Flag};
    use std::time::Instant;

    fn event(kind: EventKind, paths: &[&str]) -> DebouncedEvent {
        let mut e = Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        DebouncedEvent::new(e, Instant::now())
    }

    #[test]
    fn reads_and_opens_are_not_changes_but_writes_renames_and_removals_are() {
        let mut batch = Batch::default();
        batch.add(&[
            event(
                EventKind::Access(AccessKind::Open(AccessMode::Any)),
                &["/r/read.json"],
            ),
            event(
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                &["/r/read.json"],
            ),
            event(EventKind::Other, &["/r/other.json"]),
            event(EventKind::Create(CreateKind::File), &["/r/new.json"]),
            event(
                EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                &["/r/edit.json"],
            ),
            event(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                &["/r/closed.json"],
            ),
            event(
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
                &["/r/old.json", "/r/renamed.json"],
            ),
            // A rename the debouncer could not pair arrives as its two halves.
            event(
                EventKind::Modify(ModifyKind::Name(RenameMode::From)),
                &["/r/moved-out.json"],
            ),
            event(
                EventKind::Modify(ModifyKind::Name(RenameMode::To)),
                &["/r/moved-in.json"],
            ),
            event(EventKind::Remove(RemoveKind::File), &["/r/gone.json"]),
        ]);
        let expected: BTreeSet<PathBuf> = [
            "/r/new.json",
            "/r/edit.json",
            "/r/closed.json",
            "/r/old.json",
            "/r/renamed.json",
            "/r/moved-out.json",
            "/r/moved-in.json",
            "/r/gone.json",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(batch.paths, expected);
        assert!(!batch.rescan);
    }

    #[test]
    fn a_watcher_that_lost_events_asks_for_a_rescan() {
        let mut batch = Batch::default();
        let mut lost = event(EventKind::Other, &[]);
        lost.event = lost.event.clone().set_flag(Flag::Rescan);
        batch.add(&[lost]);
        assert!(batch.rescan);
        assert!(!batch.is_empty());
    }

    #[test]
    fn too_short_intervals_are_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (reloader, loaded) = Reloader::scan(dir.path()).unwrap();
        let app = App::new(loaded.library, Default::default());
        let _guard = rt.enter();
        let err = spawn(
            app,
            reloader,
            WatchConfig {
                debounce: Duration::from_millis(1),
                poll: None,
            },
        )
        .err()
        .expect("refused");
        assert!(
            err.to_string().contains("debounce must be at least 10ms"),
            "{err}"
        );
    }

    #[test]
    fn watching_needs_a_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let (reloader, loaded) = Reloader::scan(dir.path()).unwrap();
        let app = App::new(loaded.library, Default::default());
        assert!(matches!(
            spawn(app, reloader, WatchConfig::default()),
            Err(WatchError::NoRuntime)
        ));
    }
}
