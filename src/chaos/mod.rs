//! Chaos: faults injected into whole protocol events and into the connection, chosen
//! per connection from its URL and replayed identically from a seed.
//!
//! Faults come from profiles (`recordings/chaos/NAME.json`), from a scenario's own
//! `chaos` list, or inline in the URL (`?fault=drop:events=text_chunk:probability=0.1`).
//! Each fault kind lives in one file under `faults/` (parameters, validation, what it
//! does); `fault` holds what every fault shares (typed kind, stage, event filter) and
//! `trigger` when it fires. `connection` is one connection's chaos, built once at the
//! handshake (refusal, connect timer, RNG, each turn's faults); `apply` turns a turn's
//! schedule into deliveries (pure); `handshake` decides refusals before a socket exists.
//! The connection executes the deliveries and logs every fault.

pub(crate) mod apply;
pub(crate) mod connection;
pub(crate) mod fault;
pub(crate) mod faults;
pub(crate) mod format;
pub(crate) mod handshake;
pub(crate) mod inline;
pub(crate) mod trigger;

use std::path::{Path, PathBuf};

pub(crate) use apply::{Delivery, Op, apply};
pub(crate) use connection::{ConnectionChaos, TurnChaos};
pub(crate) use fault::{Fault, Stage};
pub(crate) use faults::FaultKind;

use crate::located::problem::{JsonPath, Problem};
use crate::located::read_text;
use crate::located::source::Source;

/// A named chaos profile.
#[derive(Debug)]
pub struct Profile {
    /// The file's path under `chaos/`, without `.json` (`chaos/flaky.json` → `flaky`).
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub faults: Vec<Fault>,
}

/// Where profiles are looked up by name: the library snapshot a turn starts with. A trait
/// so that `chaos` stays below `library`, which implements it (and tests, with a map).
pub(crate) trait Profiles {
    fn profile(&self, name: &str) -> Option<&Profile>;
    /// Every profile's name, sorted (for the message about an unknown one).
    fn profile_names(&self) -> Vec<&str>;
}

/// Reads and validates `chaos/<rel>`.
pub(crate) fn load_profile(dir: &Path, rel: &Path) -> Result<Profile, Vec<Problem>> {
    let path = dir.join(rel);
    let text = read_text(&path)?;
    profile_from_text(rel, path, &text)
}

/// Compiles the text of the profile at `rel` (read from `path`).
pub(crate) fn profile_from_text(
    rel: &Path,
    path: PathBuf,
    text: &str,
) -> Result<Profile, Vec<Problem>> {
    let src = Source::new(&path, text);
    let value = src.parse().map_err(|p| vec![p])?;
    let file: format::ProfileFile = src.deserialize(value).map_err(|p| vec![p])?;
    let mut problems = Vec::new();
    let faults = compile_all(
        &src,
        &JsonPath::root().key("faults"),
        file.faults,
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    let name = rel
        .strip_prefix("chaos")
        .unwrap_or(rel)
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    Ok(Profile {
        name,
        description: file.description,
        faults,
    })
}

/// Compiles a list of fault specs found at `path`.
pub(crate) fn compile_all(
    src: &Source,
    path: &JsonPath,
    specs: Vec<format::FaultSpec>,
    problems: &mut Vec<Problem>,
) -> Vec<Fault> {
    specs
        .into_iter()
        .enumerate()
        .filter_map(|(i, spec)| fault::compile(src, &path.index(i), spec, problems))
        .collect()
}

/// The named profiles' faults and the inline faults, apart, each parsed once; and the
/// messages for the client about unknown names and bad inline faults.
fn resolve_parts(
    library: &impl Profiles,
    names: &[String],
    inline: &[String],
) -> (Vec<Fault>, Vec<Fault>, Vec<String>) {
    let mut errors = Vec::new();
    let faults = profile_faults(library, names, |name| {
        errors.push(format!(
            "unknown chaos profile `{name}`; known profiles: {}",
            library.profile_names().join(", ")
        ))
    });
    let mut parsed = Vec::new();
    for spec in inline {
        match inline::parse(spec) {
            Ok(f) => parsed.push(f),
            Err(e) => errors.push(e),
        }
    }
    (faults, parsed, errors)
}

/// The faults of the named profiles in `library`, in order; `missing` hears of names it
/// does not have. Connections call this at every turn, so an edited profile takes effect
/// on the next turn.
pub(crate) fn profile_faults(
    library: &impl Profiles,
    names: &[String],
    mut missing: impl FnMut(&str),
) -> Vec<Fault> {
    let mut faults = Vec::new();
    for name in names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty() && *n != "none")
    {
        match library.profile(name) {
            Some(p) => faults.extend(p.faults.iter().cloned()),
            None => missing(name),
        }
    }
    faults
}
