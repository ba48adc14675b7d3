//! The recordings directory: file formats, loading with located errors, and the
//! immutable [`Library`] snapshot every connection reads from.

pub(crate) mod dashboard_notes;
pub(crate) mod format;
pub(crate) mod raw;
pub(crate) mod recording;
pub(crate) mod reload;
pub(crate) mod scenario;
pub(crate) mod schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) use crate::located::problem::{JsonPath, Problem};
pub(crate) use scenario::Scenario;

use crate::backend::BackendData;

use crate::located::source::Source;
use crate::located::{file_problem, read_text};
use format::ScenarioFile;

/// What a file in the recordings directory is, judged by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Scenario,
    Recording,
    /// `chaos/*.json`: fault profiles.
    ChaosProfile,
    /// `backend.json`: canned data for the dashboard's REST calls and legacy actions.
    Backend,
    /// Editor temp and swap files, hidden files, anything not `.json` / `.jsonl`.
    Ignored,
}

/// Classifies `rel`, a path relative to the recordings directory.
pub(crate) fn classify(rel: &Path) -> FileKind {
    let Some(file_name) = rel.file_name().and_then(|n| n.to_str()) else {
        return FileKind::Ignored;
    };
    let hidden = rel
        .components()
        .any(|c| c.as_os_str().to_str().is_some_and(|s| s.starts_with('.')));
    if hidden || file_name.ends_with('~') || file_name == "4913" || file_name.ends_with(".tmp") {
        return FileKind::Ignored;
    }
    let in_chaos = rel
        .components()
        .next()
        .is_some_and(|c| c.as_os_str() == "chaos");
    match rel.extension().and_then(|e| e.to_str()) {
        Some("json") if in_chaos => FileKind::ChaosProfile,
        Some("json") if rel == Path::new("backend.json") => FileKind::Backend,
        Some("json") => FileKind::Scenario,
        Some("jsonl") if !in_chaos => FileKind::Recording,
        _ => FileKind::Ignored,
    }
}

/// The scenario name of a file: its path under the directory, without the extension,
/// with `/` between folders (`demo/weather.json` → `demo/weather`).
pub(crate) fn scenario_name(rel: &Path) -> String {
    let stem = rel.with_extension("");
    stem.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// One good file of the recordings directory, ready to serve.
///
/// The library is built from entries (and a reload rebuilds it from the last good entry
/// of every file), so each file kind adds one variant here and one arm in [`load_file`].
#[derive(Debug, Clone)]
pub enum Entry {
    Scenario(Arc<Scenario>),
    Chaos(Arc<crate::chaos::Profile>),
    /// `backend.json`: what the dashboard shows besides chat.
    Backend(Arc<BackendData>),
}

/// Reads and compiles one file; `None` for files pawmock does not read (by [`classify`]).
pub(crate) fn load_file(dir: &Path, rel: &Path) -> Option<Result<Entry, Vec<Problem>>> {
    match classify(rel) {
        FileKind::Scenario | FileKind::Recording => {
            Some(load_scenario(dir, rel).map(|s| Entry::Scenario(Arc::new(s))))
        }
        FileKind::ChaosProfile => {
            Some(crate::chaos::load_profile(dir, rel).map(|p| Entry::Chaos(Arc::new(p))))
        }
        FileKind::Backend => {
            Some(crate::backend::data::load(dir, rel).map(|b| Entry::Backend(Arc::new(b))))
        }
        FileKind::Ignored => None,
    }
}

/// Reads and compiles one scenario or recording file.
pub(crate) fn load_scenario(dir: &Path, rel: &Path) -> Result<Scenario, Vec<Problem>> {
    let path = dir.join(rel);
    let text = read_text(&path)?;
    scenario_from_text(rel, &path, &text)
}

/// What [`load_file`] makes of `text` as the file at `rel` (read from `path`), without
/// reading anything: the parsers' one entry point (the fuzz tests call it).
pub fn compile_text(rel: &Path, path: &Path, text: &str) -> Option<Result<Entry, Vec<Problem>>> {
    match classify(rel) {
        FileKind::Scenario | FileKind::Recording => {
            Some(scenario_from_text(rel, path, text).map(|s| Entry::Scenario(Arc::new(s))))
        }
        FileKind::ChaosProfile => Some(
            crate::chaos::profile_from_text(rel, path.to_owned(), text)
                .map(|p| Entry::Chaos(Arc::new(p))),
        ),
        FileKind::Backend => {
            Some(crate::backend::data::from_text(path, text).map(|b| Entry::Backend(Arc::new(b))))
        }
        FileKind::Ignored => None,
    }
}

/// Compiles the text of the scenario or recording at `rel` (read from `path`).
pub(crate) fn scenario_from_text(
    rel: &Path,
    path: &Path,
    text: &str,
) -> Result<Scenario, Vec<Problem>> {
    let name = scenario_name(rel);
    match classify(rel) {
        FileKind::Recording => recording::compile(&name, path, text),
        _ => {
            let src = Source::new(path, text);
            let value = src.parse().map_err(|p| vec![p])?;
            let file: ScenarioFile = src.deserialize(value).map_err(|p| vec![p])?;
            scenario::compile(&name, &src, file)
        }
    }
}

/// Every file under `dir` (recursively), relative to it, in file-name order.
pub(crate) fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    list_files_reporting(dir).map(|(files, _)| files)
}

/// Like [`list_files`], and what could not be listed: an unreadable subdirectory (named,
/// and skipped: the rest is served), a name that is not UTF-8, a directory symlink that
/// loops. Directory symlinks are followed. Only `dir` itself being unreadable is an error.
pub(crate) fn list_files_reporting(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<Problem>)> {
    struct Walk<'a> {
        root: &'a Path,
        out: Vec<PathBuf>,
        problems: Vec<Problem>,
        /// Canonical directories entered, so a symlink loop is entered once.
        seen: std::collections::HashSet<PathBuf>,
    }
    impl Walk<'_> {
        fn dir(&mut self, sub: &Path) -> std::io::Result<()> {
            let path = self.root.join(sub);
            if let Ok(canonical) = std::fs::canonicalize(&path)
                && !self.seen.insert(canonical)
            {
                self.problems.push(file_problem(
                    &path,
                    "this directory was already read through another path (a symlink loop?); it was skipped".into(),
                    "remove the symlink that leads back into the recordings",
                ));
                return Ok(());
            }
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if sub.as_os_str().is_empty() => return Err(e),
                Err(e) => {
                    self.problems.push(file_problem(
                        &path,
                        format!("cannot read the directory: {e}; it was skipped"),
                        "check its permissions (the rest of the recordings are served)",
                    ));
                    return Ok(());
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        self.problems.push(file_problem(
                            &path,
                            format!("cannot list the directory: {e}"),
                            "check its permissions",
                        ));
                        continue;
                    }
                };
                let name = entry.file_name();
                let rel = sub.join(&name);
                if name.to_str().is_none() {
                    self.problems.push(file_problem(
                        &self.root.join(&rel),
                        "the name is not UTF-8, so pawmock cannot tell what it is; it was skipped"
                            .into(),
                        "rename it with UTF-8 characters",
                    ));
                    continue;
                }
                let Ok(file_type) = entry.file_type() else {
                    continue;
                };
                // A symlink to a directory is followed; to anything else it is a file.
                let is_dir = file_type.is_dir()
                    || (file_type.is_symlink()
                        && std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()));
                if is_dir {
                    if !name.to_string_lossy().starts_with('.') {
                        self.dir(&rel)?;
                    }
                } else {
                    self.out.push(rel);
                }
            }
            Ok(())
        }
    }
    let mut walk = Walk {
        root: dir,
        out: Vec::new(),
        problems: Vec::new(),
        seen: Default::default(),
    };
    walk.dir(Path::new(""))?;
    walk.out.sort();
    Ok((walk.out, walk.problems))
}

/// An immutable snapshot of the recordings directory. Connections hold an `Arc` of the
/// snapshot a turn started with, so a reload never changes a turn in flight.
#[derive(Debug, Default)]
pub struct Library {
    scenarios: Vec<Arc<Scenario>>,
    by_name: HashMap<String, usize>,
    chaos: std::collections::BTreeMap<String, Arc<crate::chaos::Profile>>,
    /// `backend.json`, or `None` for the built-in data.
    backend: Option<Arc<BackendData>>,
}

/// What loading a directory found: the library of every good file, and the problems.
pub struct Loaded {
    pub library: Library,
    pub problems: Vec<Problem>,
    /// How many files were read (scenarios, recordings, profiles, backend data).
    pub(crate) files: usize,
}

impl Library {
    /// Loads every file pawmock reads under `dir`. A broken file is left out and its
    /// problems returned; a missing or unreadable directory is an error.
    pub fn load(dir: &Path) -> std::io::Result<Loaded> {
        let (listed, mut problems) = list_files_reporting(dir)?;
        let mut entries = Vec::new();
        for rel in listed {
            match load_file(dir, &rel) {
                None => {}
                Some(Ok(entry)) => entries.push(entry),
                Some(Err(p)) => problems.extend(p),
            }
        }
        let files = entries.len()
            + problems
                .iter()
                .map(|p| &p.file)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
        let (library, dup) = Library::from_entries(entries);
        problems.extend(dup);
        Ok(Loaded {
            library,
            problems,
            files,
        })
    }

    /// Builds a snapshot from good entries, in file-name order. Two files with the same
    /// scenario name (`x.json` and `x.jsonl`) keep the first; the second is a problem.
    pub(crate) fn from_entries(
        entries: impl IntoIterator<Item = Entry>,
    ) -> (Library, Vec<Problem>) {
        let mut by_name = HashMap::new();
        let mut kept: Vec<Arc<Scenario>> = Vec::new();
        let mut problems = Vec::new();
        let mut chaos = std::collections::BTreeMap::new();
        let mut backend = None;
        for entry in entries {
            match entry {
                Entry::Chaos(p) => {
                    chaos.insert(p.name.clone(), p);
                }
                Entry::Backend(b) => backend = Some(b),
                Entry::Scenario(s) => {
                    if let Some(&first) = by_name.get(&s.name) {
                        let first: &Arc<Scenario> = &kept[first];
                        problems.push(Problem {
                            file: s.file.clone(),
                            line: 1,
                            column: 1,
                            path: JsonPath::root(),
                            message: format!(
                                "scenario name `{}` is already used by {}",
                                s.name,
                                first.file.display()
                            ),
                            hint: Some("rename one of the two files".into()),
                        });
                        continue;
                    }
                    by_name.insert(s.name.clone(), kept.len());
                    kept.push(s);
                }
            }
        }
        (
            Library {
                scenarios: kept,
                by_name,
                chaos,
                backend,
            },
            problems,
        )
    }

    /// All scenarios in file-name order.
    pub fn scenarios(&self) -> &[Arc<Scenario>] {
        &self.scenarios
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Scenario>> {
        self.by_name.get(name).map(|&i| &self.scenarios[i])
    }

    pub fn names(&self) -> Vec<&str> {
        self.scenarios.iter().map(|s| s.name.as_str()).collect()
    }

    /// The chaos profile `name` (`chaos/<name>.json`).
    pub fn chaos_profile(&self, name: &str) -> Option<&Arc<crate::chaos::Profile>> {
        self.chaos.get(name)
    }

    /// Names of all chaos profiles, sorted.
    pub(crate) fn chaos_names(&self) -> Vec<&str> {
        self.chaos.keys().map(String::as_str).collect()
    }

    /// All chaos profiles, by name.
    pub(crate) fn chaos_profiles(&self) -> impl Iterator<Item = &Arc<crate::chaos::Profile>> {
        self.chaos.values()
    }

    /// The canned backend data: the directory's `backend.json`, else the built-in data.
    pub(crate) fn backend(&self) -> Arc<BackendData> {
        self.backend.clone().unwrap_or_else(BackendData::builtin)
    }
}

/// Turns look profiles up in the library snapshot they start with.
impl crate::chaos::Profiles for Library {
    fn profile(&self, name: &str) -> Option<&crate::chaos::Profile> {
        self.chaos_profile(name).map(|p| &**p)
    }

    fn profile_names(&self) -> Vec<&str> {
        self.chaos_names()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_classified_by_path() {
        assert_eq!(classify(Path::new("hello.json")), FileKind::Scenario);
        assert_eq!(classify(Path::new("demo/x.jsonl")), FileKind::Recording);
        assert_eq!(
            classify(Path::new("chaos/flaky.json")),
            FileKind::ChaosProfile
        );
        assert_eq!(classify(Path::new("backend.json")), FileKind::Backend);
        for ignored in [
            ".hello.json.swp",
            "hello.json~",
            "4913",
            ".#hello.json",
            "x.tmp",
            "notes.md",
        ] {
            assert_eq!(classify(Path::new(ignored)), FileKind::Ignored, "{ignored}");
        }
        assert_eq!(
            scenario_name(Path::new("demo/weather.json")),
            "demo/weather"
        );
    }
}
