//! Reloading the recordings directory, the part without a watcher: the last known state
//! of every file, and what a batch of changed paths does to it.
//!
//! [`Reloader`] keeps, per relative path, the last good [`Entry`] and the file's current
//! problems. [`Reloader::apply`] re-reads only the paths of a batch (a directory in the
//! batch is reconciled: its new files are read, its vanished files dropped), then
//! rebuilds the [`Library`] from the last good entry of every file with
//! [`Library::from_entries`]. It never looks inside an entry, so new file kinds reload
//! without changes here.
//!
//! Nothing here logs: [`Applied`] carries a [`Report`] (what happened, and the problems
//! not reported before) for the caller (`watch.rs`) to log. So a file that stays broken
//! across batches is reported once, and the tests can check it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::{Entry, FileKind, Library, Loaded, Problem, classify, list_files, load_file};

/// What the reloader knows about one file it reads.
#[derive(Debug, Clone)]
struct FileState {
    /// The last version that loaded without problems; it keeps serving while the file
    /// on disk is broken.
    good: Option<Entry>,
    /// The problems of the version on disk (empty when it is the good one). Compared on
    /// the next read so an unchanged error is not reported twice.
    problems: Vec<Problem>,
    /// Size and modification time when last read; a directory rescan re-reads only
    /// files whose stamp differs.
    stamp: Option<Stamp>,
}

/// Size and modification time of a file: cheap to get, and changed by every write that
/// a rescan must notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path).ok().map(|m| Stamp {
        len: m.len(),
        modified: m.modified().ok(),
    })
}

/// The per-file state of a recordings directory, and the library built from it.
#[derive(Debug)]
pub struct Reloader {
    /// The directory as the user gave it: file names in problems and logs start with it.
    root: PathBuf,
    /// The same directory canonicalized: watchers report canonical paths (macOS turns
    /// `/var/...` into `/private/var/...`), so prefixes are stripped with both.
    canonical: PathBuf,
    files: BTreeMap<PathBuf, FileState>,
    /// Duplicate-name problems of the current library, so each is reported once.
    duplicates: Vec<Problem>,
}

/// The result of a batch that changed something.
#[derive(Debug)]
pub struct Applied {
    /// The new snapshot, when the set of good entries changed (a batch that only found
    /// broken files keeps serving the current one).
    pub library: Option<Library>,
    pub report: Report,
}

/// What one reload did, file by file (paths relative to the recordings directory).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// New files now served.
    pub added: Vec<PathBuf>,
    /// Files re-read and now served in their new version.
    pub changed: Vec<PathBuf>,
    /// Files gone from the directory (or no longer a file pawmock reads).
    pub removed: Vec<PathBuf>,
    /// Broken files whose last good version keeps serving.
    pub kept: Vec<PathBuf>,
    /// Broken files with no good version to serve (new, or broken since start-up).
    pub failed: Vec<PathBuf>,
    /// Files that were broken and are good again (also in `added` or `changed`).
    pub recovered: Vec<PathBuf>,
    /// Problems not reported before: each new error of a broken file, and new
    /// duplicate scenario names. An error that stays the same is not repeated.
    pub problems: Vec<Problem>,
    /// Time to re-read the files and build the new library.
    pub(crate) elapsed: Duration,
}

impl Report {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.kept.is_empty()
            && self.failed.is_empty()
            && self.problems.is_empty()
    }

    /// Every file the reload touched, in path order.
    pub fn files(&self) -> BTreeSet<&Path> {
        [
            &self.added,
            &self.changed,
            &self.removed,
            &self.kept,
            &self.failed,
        ]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect()
    }
}

/// One line: `reload of 2 files in 1.3ms: added 1 (a.json), changed 1 (b.json), removed 0,
/// kept with errors 0`.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Names beyond this many are counted, not listed, so a rescan of a large
        /// library stays one readable line.
        const LISTED: usize = 8;
        fn list(f: &mut fmt::Formatter<'_>, what: &str, files: &[PathBuf]) -> fmt::Result {
            write!(f, "{what} {}", files.len())?;
            if !files.is_empty() {
                let names: Vec<String> = files
                    .iter()
                    .take(LISTED)
                    .map(|p| p.display().to_string())
                    .collect();
                write!(f, " ({}", names.join(", "))?;
                if files.len() > LISTED {
                    write!(f, ", and {} more", files.len() - LISTED)?;
                }
                f.write_str(")")?;
            }
            Ok(())
        }
        let n = self.files().len();
        write!(
            f,
            "reload of {n} file{} in {:.1?}: ",
            if n == 1 { "" } else { "s" },
            self.elapsed
        )?;
        list(f, "added", &self.added)?;
        f.write_str(", ")?;
        list(f, "changed", &self.changed)?;
        f.write_str(", ")?;
        list(f, "removed", &self.removed)?;
        f.write_str(", ")?;
        list(f, "kept with errors", &self.kept)?;
        if !self.failed.is_empty() {
            f.write_str(", ")?;
            list(f, "not loaded (errors)", &self.failed)?;
        }
        Ok(())
    }
}

impl Reloader {
    /// Loads every file under `dir`, as [`Library::load`] does, and remembers each
    /// file's state for later batches. The problems in the returned [`Loaded`] count as
    /// reported: the caller prints them, and later batches only report new ones.
    pub fn scan(dir: &Path) -> io::Result<(Reloader, Loaded)> {
        let canonical = std::fs::canonicalize(dir)?;
        let mut reloader = Reloader {
            root: dir.to_owned(),
            canonical,
            files: BTreeMap::new(),
            duplicates: Vec::new(),
        };
        let (listed, mut problems) = super::list_files_reporting(dir)?;
        for (rel, stamp, loaded) in load_all(dir, listed) {
            let (good, p) = match loaded {
                None => continue,
                Some(Ok(entry)) => (Some(entry), Vec::new()),
                Some(Err(p)) => (None, p),
            };
            problems.extend(p.iter().cloned());
            reloader.files.insert(
                rel,
                FileState {
                    good,
                    problems: p,
                    stamp,
                },
            );
        }
        let files = reloader.files.len();
        let (library, duplicates) = reloader.build();
        problems.extend(duplicates.iter().cloned());
        reloader.duplicates = duplicates;
        Ok((
            reloader,
            Loaded {
                library,
                problems,
                files,
            },
        ))
    }

    /// The problems of every file that does not load as it is on disk now, and the
    /// duplicate names of the current library (what the inspector lists).
    pub(crate) fn problems(&self) -> Vec<Problem> {
        self.files
            .values()
            .flat_map(|f| f.problems.iter().cloned())
            .chain(self.duplicates.iter().cloned())
            .collect()
    }

    /// The directory as given to [`Reloader::scan`].
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The canonical form of the directory: the path to hand to a watcher.
    pub(crate) fn canonical_root(&self) -> &Path {
        &self.canonical
    }

    /// Applies a batch of changed paths (absolute, as a watcher reports them, or
    /// relative to the working directory with the root as given). Paths outside the
    /// directory, hidden paths and editor temp files are ignored. `rescan` reconciles
    /// the whole directory (a watcher that lost events asks for it).
    ///
    /// Returns `None` when nothing pawmock serves or reports changed.
    pub fn apply<I, P>(&mut self, paths: I, rescan: bool) -> Option<Applied>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let started = Instant::now();
        let mut rels: BTreeSet<PathBuf> = paths
            .into_iter()
            .filter_map(|p| self.relative(p.as_ref()))
            .collect();
        if rescan {
            rels.insert(PathBuf::new());
        }
        let before = self.good_set();
        let mut pass = Pass::default();
        for rel in &rels {
            self.visit(rel, &mut pass);
        }
        let to_read = std::mem::take(&mut pass.to_read);
        for (rel, stamp, loaded) in load_all(&self.root, to_read.into_iter().collect()) {
            self.record(&rel, stamp, loaded, &mut pass);
        }
        let mut report = pass.report;
        let library = if self.good_set() != before || !report.changed.is_empty() {
            let (library, duplicates) = self.build();
            report.problems.extend(
                duplicates
                    .iter()
                    .filter(|d| !self.duplicates.contains(d))
                    .cloned(),
            );
            self.duplicates = duplicates;
            Some(library)
        } else {
            None
        };
        report.elapsed = started.elapsed();
        if report.is_empty() && library.is_none() {
            return None;
        }
        for list in [
            &mut report.added,
            &mut report.changed,
            &mut report.removed,
            &mut report.kept,
            &mut report.failed,
            &mut report.recovered,
        ] {
            list.sort();
            list.dedup();
        }
        Some(Applied { library, report })
    }

    /// `path` relative to the root, or `None` when it is outside or hidden.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let rel = path
            .strip_prefix(&self.canonical)
            .or_else(|_| path.strip_prefix(&self.root))
            .ok()?;
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_str().is_some_and(|s| s.starts_with('.')));
        (!hidden).then(|| rel.to_owned())
    }

    /// Brings the state of `rel` (a file or a directory, present or gone) up to date.
    fn visit(&mut self, rel: &Path, pass: &mut Pass) {
        let path = self.root.join(rel);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => self.reconcile(rel, pass),
            Ok(_) => {
                if classify(rel) != FileKind::Ignored {
                    pass.to_read.insert(rel.to_owned());
                }
            }
            Err(e) if gone(&e) => self.forget(rel, pass),
            // Exists but cannot be examined (permissions): reading says why, and the
            // last good version stays.
            Err(_) => {
                if classify(rel) != FileKind::Ignored {
                    pass.to_read.insert(rel.to_owned());
                }
            }
        }
    }

    /// A directory changed (created, moved in, or its listing changed): read its files
    /// that are new or whose stamp changed, and forget the ones that are gone. Files it
    /// still has with the same stamp are not re-read; their own events cover edits.
    fn reconcile(&mut self, rel: &Path, pass: &mut Pass) {
        let listed: BTreeSet<PathBuf> = match list_files(&self.root.join(rel)) {
            Ok(files) => files
                .into_iter()
                .map(|f| rel.join(f))
                .filter(|f| classify(f) != FileKind::Ignored)
                .collect(),
            Err(e) if gone(&e) => return self.forget(rel, pass),
            // Unreadable for now: keep what we have; the next event retries.
            Err(_) => return,
        };
        let vanished: Vec<PathBuf> = self
            .under(rel)
            .filter(|known| !listed.contains(*known))
            .cloned()
            .collect();
        for file in vanished {
            self.forget(&file, pass);
        }
        for file in listed {
            let unchanged = self.files.get(&file).is_some_and(|state| {
                state.stamp.is_some() && state.stamp == stamp(&self.root.join(&file))
            });
            if !unchanged {
                pass.to_read.insert(file);
            }
        }
    }

    /// Records what reading one file gave; a broken version keeps the last good entry.
    fn record(
        &mut self,
        rel: &Path,
        stamp: Option<Stamp>,
        loaded: Option<Result<Entry, Vec<Problem>>>,
        pass: &mut Pass,
    ) {
        let Some(loaded) = loaded else {
            // Not a file pawmock reads (any more).
            if self.files.remove(rel).is_some() {
                pass.report.removed.push(rel.to_owned());
            }
            return;
        };
        if loaded.is_err() && matches!(std::fs::metadata(self.root.join(rel)), Err(e) if gone(&e)) {
            // It vanished between the event and the read: a deletion, not an error.
            return self.forget(rel, pass);
        }
        let report = &mut pass.report;
        let previous = self.files.remove(rel);
        let (had_good, had_problems) = previous.as_ref().map_or((false, false), |s| {
            (s.good.is_some(), !s.problems.is_empty())
        });
        let state = match loaded {
            Ok(entry) => {
                if had_good {
                    report.changed.push(rel.to_owned());
                } else {
                    report.added.push(rel.to_owned());
                }
                if had_problems {
                    report.recovered.push(rel.to_owned());
                }
                FileState {
                    good: Some(entry),
                    problems: Vec::new(),
                    stamp,
                }
            }
            Err(problems) => {
                let good = previous.as_ref().and_then(|s| s.good.clone());
                if good.is_some() {
                    report.kept.push(rel.to_owned());
                } else {
                    report.failed.push(rel.to_owned());
                }
                let old: &[Problem] = previous.as_ref().map_or(&[], |s| &s.problems);
                if old != problems.as_slice() {
                    report.problems.extend(problems.iter().cloned());
                }
                FileState {
                    good,
                    problems,
                    stamp,
                }
            }
        };
        self.files.insert(rel.to_owned(), state);
    }

    /// Drops `rel` and everything under it: the file or directory is gone. A file
    /// deleted while broken goes too, with its last good version.
    fn forget(&mut self, rel: &Path, pass: &mut Pass) {
        pass.to_read.retain(|queued| !queued.starts_with(rel));
        let gone: Vec<PathBuf> = self.under(rel).cloned().collect();
        for file in gone {
            self.files.remove(&file);
            pass.report.removed.push(file);
        }
    }

    /// Known files at or under `rel` (`rel` empty: all of them).
    fn under<'a>(&'a self, rel: &'a Path) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.files.keys().filter(move |k| k.starts_with(rel))
    }

    /// Which files currently have a good entry (to tell whether the library changes).
    fn good_set(&self) -> BTreeSet<PathBuf> {
        self.files
            .iter()
            .filter(|(_, s)| s.good.is_some())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The library of the last good entry of every file, in relative-path order.
    fn build(&self) -> (Library, Vec<Problem>) {
        Library::from_entries(self.files.values().filter_map(|s| s.good.clone()))
    }
}

/// The state of one [`Reloader::apply`].
#[derive(Default)]
struct Pass {
    report: Report,
    /// Files to read once every path of the batch has been looked at (all together, in
    /// parallel); a file named in the batch and found again in its reconciled directory
    /// is read once.
    to_read: BTreeSet<PathBuf>,
}

/// What reading one file gave: its stamp taken just before, and [`load_file`]'s answer.
type Read = (PathBuf, Option<Stamp>, Option<Result<Entry, Vec<Problem>>>);

/// Below this many files one thread reads them all: starting threads costs more.
const PARALLEL_FROM: usize = 64;

/// Reads and compiles `rels` (relative to `root`), on every core when there are many
/// (compiling `regex` rules dominates a full reload). Results keep the order of `rels`.
fn load_all(root: &Path, rels: Vec<PathBuf>) -> Vec<Read> {
    let read = |rel: PathBuf| -> Read {
        // Stamp first: a write after it makes the stamp stale, so a rescan reads again.
        let stamp = stamp(&root.join(&rel));
        let loaded = load_file(root, &rel);
        (rel, stamp, loaded)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads == 1 || rels.len() < PARALLEL_FROM {
        return rels.into_iter().map(read).collect();
    }
    let per_thread = rels.len().div_ceil(threads);
    let chunks: Vec<Vec<PathBuf>> = rels.chunks(per_thread).map(<[PathBuf]>::to_vec).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(read).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(reads) => reads,
                // As if it happened on this thread: the reload task reports it.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// The path no longer exists (or a parent stopped being a directory).
fn gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> String {
        format!(r#"{{"turns": [{{"reply": [{{"say": "{text}"}}]}}]}}"#)
    }

    /// A temp directory with files, and helpers to change it.
    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new(files: &[(&str, &str)]) -> Dir {
            let dir = Dir(tempfile::tempdir().unwrap());
            for (rel, text) in files {
                dir.write(rel, text);
            }
            dir
        }
        fn path(&self, rel: &str) -> PathBuf {
            self.0.path().join(rel)
        }
        fn write(&self, rel: &str, text: &str) {
            let path = self.path(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    /// The text the scenario `name` says in its first turn.
    fn says(library: &Library, name: &str) -> Option<String> {
        use crate::library::scenario::{Body, StepKind};
        let s = library.get(name)?;
        match &s.turns[0].body {
            Body::Script(steps) => steps.iter().find_map(|st| match &st.kind {
                StepKind::Say(t) => Some(t.text.clone()),
                _ => None,
            }),
            _ => None,
        }
    }

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn a_scan_loads_what_library_load_loads() {
        let dir = Dir::new(&[
            ("a.json", &scenario("A")),
            ("demo/b.json", &scenario("B")),
            ("broken.json", "{"),
            ("notes.md", "not read"),
        ]);
        let (reloader, loaded) = Reloader::scan(dir.0.path()).unwrap();
        let reference = Library::load(dir.0.path()).unwrap();
        assert_eq!(loaded.library.names(), reference.library.names());
        assert_eq!(loaded.problems, reference.problems);
        assert_eq!(loaded.files, reference.files);
        assert_eq!(reloader.files.len(), 3, "a, demo/b and the broken file");
    }

    #[test]
    fn only_the_files_in_the_batch_are_re_read() {
        let dir = Dir::new(&[("a.json", &scenario("A1")), ("b.json", &scenario("B1"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        dir.write("a.json", &scenario("A2"));
        // b.json changes on disk too, but is not in the batch: it must not be re-read.
        dir.write("b.json", "{ broken");
        let applied = reloader.apply([dir.path("a.json")], false).unwrap();
        assert_eq!(applied.report.changed, paths(&["a.json"]));
        assert!(applied.report.problems.is_empty());
        let library = applied.library.expect("a new library");
        assert_eq!(says(&library, "a").as_deref(), Some("A2"));
        assert_eq!(says(&library, "b").as_deref(), Some("B1"));
    }

    #[test]
    fn a_broken_edit_keeps_the_last_good_version_and_is_reported_once() {
        let dir = Dir::new(&[("a.json", &scenario("A1"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        dir.write(
            "a.json",
            "{\n  \"turns\": [ { \"reply\": [ { \"say\": 1 } ] } ]\n}\n",
        );
        let applied = reloader.apply([dir.path("a.json")], false).unwrap();
        assert!(
            applied.library.is_none(),
            "the served library does not change"
        );
        assert_eq!(applied.report.kept, paths(&["a.json"]));
        assert_eq!(applied.report.problems.len(), 1);
        let shown = applied.report.problems[0].to_string();
        assert!(shown.contains("a.json:2:"), "{shown}");
        assert!(shown.contains("turns[0].reply[0].say"), "{shown}");
        // The same broken content again (a second save, a duplicate event): still kept,
        // not reported again.
        let again = reloader.apply([dir.path("a.json")], false).unwrap();
        assert_eq!(again.report.kept, paths(&["a.json"]));
        assert!(
            again.report.problems.is_empty(),
            "{:?}",
            again.report.problems
        );
        // A different error is new, so it is reported.
        dir.write("a.json", "{");
        let other = reloader.apply([dir.path("a.json")], false).unwrap();
        assert_eq!(other.report.problems.len(), 1);
        // Fixed: served again and marked as recovered.
        dir.write("a.json", &scenario("A2"));
        let fixed = reloader.apply([dir.path("a.json")], false).unwrap();
        assert_eq!(fixed.report.changed, paths(&["a.json"]));
        assert_eq!(fixed.report.recovered, paths(&["a.json"]));
        assert_eq!(says(&fixed.library.unwrap(), "a").as_deref(), Some("A2"));
    }

    #[test]
    fn one_broken_file_does_not_empty_the_rest() {
        let dir = Dir::new(&[("a.json", &scenario("A")), ("b.json", &scenario("B"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        dir.write("a.json", "");
        dir.write("c.json", &scenario("C"));
        let applied = reloader
            .apply([dir.path("a.json"), dir.path("c.json")], false)
            .unwrap();
        assert_eq!(applied.report.kept, paths(&["a.json"]));
        assert_eq!(applied.report.added, paths(&["c.json"]));
        let library = applied.library.unwrap();
        assert_eq!(library.names(), ["a", "b", "c"]);
    }

    #[test]
    fn a_new_broken_file_is_not_served_until_fixed() {
        let dir = Dir::new(&[("a.json", &scenario("A"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        dir.write("new.json", "{");
        let applied = reloader.apply([dir.path("new.json")], false).unwrap();
        assert_eq!(applied.report.failed, paths(&["new.json"]));
        assert_eq!(applied.report.problems.len(), 1);
        assert!(applied.library.is_none());
        dir.write("new.json", &scenario("N"));
        let fixed = reloader.apply([dir.path("new.json")], false).unwrap();
        assert_eq!(fixed.report.added, paths(&["new.json"]));
        assert_eq!(fixed.report.recovered, paths(&["new.json"]));
        assert_eq!(says(&fixed.library.unwrap(), "new").as_deref(), Some("N"));
    }

    #[test]
    fn a_file_deleted_while_broken_is_removed_with_its_last_good_version() {
        let dir = Dir::new(&[("a.json", &scenario("A")), ("b.json", &scenario("B"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        dir.write("a.json", "{");
        reloader.apply([dir.path("a.json")], false).unwrap();
        std::fs::remove_file(dir.path("a.json")).unwrap();
        let applied = reloader.apply([dir.path("a.json")], false).unwrap();
        assert_eq!(applied.report.removed, paths(&["a.json"]));
        assert_eq!(applied.library.unwrap().names(), ["b"]);
        assert!(!reloader.files.contains_key(Path::new("a.json")));
    }

    #[test]
    fn a_rename_removes_the_old_name_and_adds_the_new_one() {
        let dir = Dir::new(&[("a.json", &scenario("A"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        std::fs::rename(dir.path("a.json"), dir.path("z.json")).unwrap();
        let applied = reloader
            .apply([dir.path("a.json"), dir.path("z.json")], false)
            .unwrap();
        assert_eq!(applied.report.removed, paths(&["a.json"]));
        assert_eq!(applied.report.added, paths(&["z.json"]));
        assert_eq!(says(&applied.library.unwrap(), "z").as_deref(), Some("A"));
    }

    #[test]
    fn a_new_directory_is_read_whole_and_a_removed_one_dropped_whole() {
        let dir = Dir::new(&[("a.json", &scenario("A"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        dir.write("team/x.json", &scenario("X"));
        dir.write("team/deep/y.json", &scenario("Y"));
        dir.write("team/.x.json.swp", "swap");
        // The directory and one of its files are in the batch; the other file arrived
        // before the watch on the new directory and has no event of its own.
        let applied = reloader
            .apply([dir.path("team"), dir.path("team/x.json")], false)
            .unwrap();
        assert_eq!(
            applied.report.added,
            paths(&["team/deep/y.json", "team/x.json"])
        );
        assert!(applied.report.changed.is_empty(), "each file is read once");
        assert_eq!(
            applied.library.unwrap().names(),
            ["a", "team/deep/y", "team/x"]
        );
        std::fs::remove_dir_all(dir.path("team")).unwrap();
        let removed = reloader.apply([dir.path("team")], false).unwrap();
        assert_eq!(
            removed.report.removed,
            paths(&["team/deep/y.json", "team/x.json"])
        );
        assert_eq!(removed.library.unwrap().names(), ["a"]);
    }

    #[test]
    fn a_large_batch_read_on_several_threads_gives_the_same_library() {
        let names: Vec<String> = (0..150)
            .map(|i| format!("g{}/s{i:03}.json", i % 7))
            .collect();
        let files: Vec<(&str, String)> = names.iter().map(|n| (n.as_str(), scenario(n))).collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let dir = Dir::new(&refs);
        let (mut reloader, loaded) = Reloader::scan(dir.0.path()).unwrap();
        let reference = Library::load(dir.0.path()).unwrap().library;
        assert_eq!(loaded.library.names(), reference.names());
        let applied = reloader
            .apply(names.iter().map(|n| dir.path(n)), false)
            .unwrap();
        assert_eq!(applied.report.changed.len(), 150);
        let library = applied.library.unwrap();
        assert_eq!(library.names(), reference.names());
        assert_eq!(says(&library, "g3/s010").as_deref(), Some("g3/s010.json"));
    }

    #[test]
    fn a_rescan_re_reads_only_files_whose_stamp_changed() {
        let dir = Dir::new(&[("a.json", &scenario("A1")), ("b.json", &scenario("B1"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        assert!(
            reloader.apply(Vec::<PathBuf>::new(), true).is_none(),
            "nothing changed on disk"
        );
        dir.write("a.json", &scenario("A2 longer"));
        std::fs::remove_file(dir.path("b.json")).unwrap();
        dir.write("c.json", &scenario("C"));
        let applied = reloader.apply(Vec::<PathBuf>::new(), true).unwrap();
        assert_eq!(applied.report.changed, paths(&["a.json"]));
        assert_eq!(applied.report.removed, paths(&["b.json"]));
        assert_eq!(applied.report.added, paths(&["c.json"]));
    }

    #[test]
    fn editor_temp_files_and_paths_outside_are_ignored() {
        let dir = Dir::new(&[("a.json", &scenario("A"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        let temp = [
            ".a.json.swp",
            ".a.json.swx",
            "a.json~",
            "4913",
            "demo/4913",
            ".#a.json",
            "demo/.#a.json",
            "a.json.tmp",
            ".git/config.json",
        ];
        for rel in temp {
            dir.write(rel, "{ not json");
        }
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.json"), scenario("X")).unwrap();
        let mut batch: Vec<PathBuf> = temp.iter().map(|t| dir.path(t)).collect();
        batch.push(outside.path().join("x.json"));
        assert!(reloader.apply(&batch, false).is_none());
        for rel in temp {
            std::fs::remove_file(dir.path(rel)).unwrap();
        }
        assert!(reloader.apply(&batch, false).is_none());
    }

    #[test]
    fn canonical_paths_from_the_watcher_are_matched_to_the_root_as_given() {
        // The root is reached through a symlink, as /tmp is on macOS: the watcher
        // reports canonical paths, problems keep the user's spelling.
        let real = Dir::new(&[("a.json", &scenario("A1"))]);
        let holder = tempfile::tempdir().unwrap();
        let link = holder.path().join("link");
        std::os::unix::fs::symlink(real.0.path(), &link).unwrap();
        let (mut reloader, _) = Reloader::scan(&link).unwrap();
        real.write("a.json", "{");
        let canonical = std::fs::canonicalize(real.path("a.json")).unwrap();
        let applied = reloader.apply([canonical], false).unwrap();
        assert_eq!(applied.report.kept, paths(&["a.json"]));
        assert!(applied.report.problems[0].file.starts_with(&link));
    }

    #[test]
    fn a_new_duplicate_name_is_reported_once() {
        let dir = Dir::new(&[("x.json", &scenario("X"))]);
        let (mut reloader, _) = Reloader::scan(dir.0.path()).unwrap();
        let recording = "{\"version\": 1}\n[0, \"in\", {\"action\": \"message\", \"content\": \"hi\"}]\n[0, \"out\", {\"type\": \"stream_end\"}]\n";
        dir.write("x.jsonl", recording);
        let applied = reloader.apply([dir.path("x.jsonl")], false).unwrap();
        assert_eq!(applied.report.problems.len(), 1);
        assert!(
            applied.report.problems[0]
                .message
                .contains("already used by"),
            "{}",
            applied.report.problems[0]
        );
        dir.write("y.json", &scenario("Y"));
        let later = reloader.apply([dir.path("y.json")], false).unwrap();
        assert!(
            later.report.problems.is_empty(),
            "{:?}",
            later.report.problems
        );
    }

    #[test]
    fn the_report_is_one_line_naming_files_per_outcome() {
        let report = Report {
            added: paths(&["n.json"]),
            changed: paths(&["a.json", "b.json"]),
            kept: paths(&["k.json"]),
            elapsed: Duration::from_micros(1500),
            ..Report::default()
        };
        assert_eq!(
            report.to_string(),
            "reload of 4 files in 1.5ms: added 1 (n.json), changed 2 (a.json, b.json), removed 0, kept with errors 1 (k.json)"
        );
        let many = Report {
            removed: (0..10)
                .map(|i| PathBuf::from(format!("{i}.json")))
                .collect(),
            ..Report::default()
        };
        assert!(many.to_string().contains("7.json, and 2 more)"), "{many}");
    }
}
