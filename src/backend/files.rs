//! The file browser over a made-up home directory: `browse` (the sidebar tree and the
//! file modal), and the older `navigate` and `tool: fetch`, which answer with text.
//!
//! Paths are resolved the way the real backend does for the user's home: `~`, a path
//! relative to home, or an absolute path inside it; anything that leaves home is
//! "Access denied". Nothing here touches the real file system.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::data::FileNode;
use super::{Ctx, message, text};

/// The real backend lists at most this many entries of a folder.
const MAX_ENTRIES: usize = 50;

/// A folder found by [`resolve`]: its `~`-relative display path and its entries.
struct Folder<'a> {
    shown: String,
    entries: &'a BTreeMap<String, FileNode>,
}

pub(crate) fn browse(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let path = text(frame, "path").unwrap_or("~");
    let mut reply = match resolve(ctx, path) {
        Ok(folder) => json!({
            "type": "files",
            "path": folder.shown,
            "files": entries(folder.entries),
        }),
        Err(e) => json!({"type": "files", "error": e}),
    };
    // The dashboard routes the reply by `context` (sidebar tree, Deep Work outputs,
    // or the file modal), so it goes back exactly as it came.
    if let Some(context) = frame.get("context") {
        reply["context"] = context.clone();
    }
    vec![reply]
}

pub(crate) fn navigate(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    vec![message(listing(ctx, text(frame, "path").unwrap_or("~")))]
}

/// A folder as text, for `navigate` and `tool: fetch`.
pub(crate) fn listing(ctx: &Ctx, path: &str) -> String {
    match resolve(ctx, path) {
        Ok(folder) => {
            let mut out = format!("📁 **{}**\n\n", folder.shown);
            let listed = entries(folder.entries);
            if listed.is_empty() {
                out.push_str("(empty)\n");
            }
            for e in listed {
                let name = e["name"].as_str().unwrap_or("");
                match e.get("size").and_then(Value::as_str) {
                    Some(size) => out.push_str(&format!("📄 {name} ({size})\n")),
                    None => out.push_str(&format!("📁 {name}/\n")),
                }
            }
            out
        }
        Err(e) => format!("❌ {e}"),
    }
}

fn resolve<'a>(ctx: &'a Ctx, path: &str) -> Result<Folder<'a>, String> {
    let home = ctx.data.home_path.as_str();
    let path = path.trim();
    let relative = if path.is_empty() || path == "~" {
        ""
    } else if let Some(rest) = path.strip_prefix("~/") {
        rest
    } else if path.starts_with('/') {
        match path.strip_prefix(home) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => return Err(format!("Access denied: {path} is outside {home}")),
        }
    } else {
        path
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in relative.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("Access denied: {path} is outside {home}"));
                }
            }
            p => parts.push(p),
        }
    }
    let mut entries = &ctx.data.home;
    for (i, part) in parts.iter().enumerate() {
        match entries.get(*part) {
            Some(FileNode::Folder(children)) => entries = children,
            Some(FileNode::File { .. }) if i + 1 == parts.len() => {
                return Err("Not a directory".to_owned());
            }
            _ => return Err("Path does not exist".to_owned()),
        }
    }
    let shown = if parts.is_empty() {
        "~".to_owned()
    } else {
        format!("~/{}", parts.join("/"))
    };
    Ok(Folder { shown, entries })
}

/// Visible entries, folders first, then by name ignoring case; at most [`MAX_ENTRIES`].
fn entries(folder: &BTreeMap<String, FileNode>) -> Vec<Value> {
    let mut visible: Vec<(&String, &FileNode)> =
        folder.iter().filter(|(n, _)| !n.starts_with('.')).collect();
    visible.sort_by_key(|(name, node)| (!matches!(node, FileNode::Folder(_)), name.to_lowercase()));
    visible
        .into_iter()
        .take(MAX_ENTRIES)
        .map(|(name, node)| match node {
            FileNode::Folder(_) => json!({"name": name, "isDir": true}),
            FileNode::File { size } => {
                json!({"name": name, "isDir": false, "size": human_size(*size)})
            }
        })
        .collect()
}

/// `512 B`, `1.2 KB`, `5.0 MB`, `2.3 GB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_the_real_browser() {
        assert_eq!(human_size(120), "120 B");
        assert_eq!(human_size(1229), "1.2 KB");
        assert_eq!(human_size(5_242_880), "5.0 MB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GB");
    }
}
