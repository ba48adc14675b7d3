//! JSON Schemas of the file formats, generated from the serde types so they never drift.

use std::path::Path;

use super::format::{RecordingHeader, ScenarioFile};
use crate::backend::data::BackendFile;

/// `(file name, schema)` for every format.
pub(crate) fn all() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "scenario.schema.json",
            serde_json::to_value(schemars::schema_for!(ScenarioFile)).expect("schema is JSON"),
        ),
        (
            "recording-header.schema.json",
            serde_json::to_value(schemars::schema_for!(RecordingHeader)).expect("schema is JSON"),
        ),
        (
            "chaos.schema.json",
            serde_json::to_value(schemars::schema_for!(crate::chaos::format::ProfileFile))
                .expect("schema is JSON"),
        ),
        (
            "backend.schema.json",
            serde_json::to_value(schemars::schema_for!(BackendFile)).expect("schema is JSON"),
        ),
    ]
}

/// The text written for a schema: pretty JSON with a final newline.
pub(crate) fn render(schema: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).expect("schema is JSON");
    s.push('\n');
    s
}

/// Writes every schema into `dir` (each through a temp file and a rename, so an editor
/// never reads half a schema).
pub(crate) fn write_all(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, schema) in all() {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, render(&schema))?;
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}
