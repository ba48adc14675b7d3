//! The module layers ARCHITECTURE.md declares are the ones the code imports.
//!
//! The graph is built from the source: for every file under `src/` (the library, not the
//! binaries), each `crate::X` path and each `super::` path that climbs out of its
//! top-level module is an edge from the file's top-level module to `X`. Comments are
//! dropped first, so a doc link is not an import. ARCHITECTURE.md's `layers` block lists
//! every top-level module, highest layer first; this test fails when
//! - a module imports one on a higher layer (a circle, or the start of one),
//! - modules on one line that are declared independent (separated by spaces) import
//!   each other,
//! - a line declared as a circle (`a ⇄ b ⇄ c`) is no longer one (someone broke it:
//!   the document must say so),
//! - a module is missing from the block, or the block names one that does not exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// One line of the declared order.
#[derive(Debug)]
struct Layer {
    modules: Vec<String>,
    /// `a ⇄ b`: the modules import each other and the document says so.
    circle: bool,
}

/// Reads the fenced block opened by "```text layers" in ARCHITECTURE.md.
fn declared_layers(doc: &str) -> Vec<Layer> {
    let start = doc
        .find("```text layers")
        .expect("ARCHITECTURE.md has a ```text layers block");
    let body = &doc[start..];
    let body = &body[body.find('\n').expect("a line after the fence") + 1..];
    let end = body.find("```").expect("the layers block is closed");
    body[..end]
        .lines()
        .filter_map(|line| {
            let names = line.split('│').next().unwrap_or("").trim();
            if names.is_empty() {
                return None;
            }
            Some(Layer {
                circle: names.contains('⇄'),
                modules: names
                    .split(|c: char| c.is_whitespace() || c == '⇄')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// Drops comments (doc comments included) and the text of string literals (raw ones
/// too), so only code remains.
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if rest.starts_with("'\"'") {
            out.push_str("' '");
            i += 3;
        } else if let Some(hashes) =
            raw_string_start(rest).filter(|_| !out.trim_end_matches('b').ends_with(is_ident))
        {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = &rest[hashes + 2..];
            out.push_str("\"\"");
            i += hashes + 2 + body.find(&close).map_or(body.len(), |e| e + close.len());
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            out.push_str("\"\"");
            i += (j + 1).min(rest.len());
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `r"`, `r#"`, `r##"`…: how many `#` the raw string at the start of `s` has.
fn raw_string_start(s: &str) -> Option<usize> {
    let after_r = s.strip_prefix('r')?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    after_r[hashes..].starts_with('"').then_some(hashes)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The names right after `crate::`, including each first name inside `crate::{…}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(is_ident) {
            continue; // `pawmock_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: depth-1 words before `::`, `,` or `}`.
            let mut depth = 1;
            let mut word = String::new();
            let mut at_item_start = true;
            for c in group.chars() {
                if is_ident(c) {
                    if depth == 1 && at_item_start {
                        word.push(c);
                    }
                    continue;
                }
                if !word.is_empty() {
                    found.push(std::mem::take(&mut word));
                    at_item_start = false;
                }
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => at_item_start = true,
                    _ => {}
                }
            }
            if !word.is_empty() {
                found.push(word);
            }
        } else {
            found.push(rest.chars().take_while(|c| is_ident(*c)).collect());
        }
    }
    found
}

/// The names `super::` paths reach at the crate root from a file `depth` modules deep
/// (`src/a.rs` is 1, `src/a/b.rs` 2). Inline modules (`mod tests { … }`) are not
/// counted: a `super::super::x` inside one is read one level too high, which can invent
/// an edge (the test then fails loudly: write such paths from `crate::`) or miss one.
fn super_paths(code: &str, depth: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        if rest[..i].chars().next_back().is_some_and(is_ident) {
            rest = &rest[i + 7..];
            continue;
        }
        let mut n = 0;
        while rest[i..]
            .get(n * 7..)
            .is_some_and(|s| s.starts_with("super::"))
        {
            n += 1;
        }
        let after = &rest[i + n * 7..];
        if n >= depth {
            found.push(after.chars().take_while(|c| is_ident(*c)).collect());
        }
        rest = after;
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The import graph of the library's top-level modules.
fn import_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        let top = parts[0].clone();
        if top == "bin" || top == "main" || top == "lib" {
            continue;
        }
        let depth = if parts.last().is_some_and(|p| p == "mod") {
            parts.len() - 1
        } else {
            parts.len()
        };
        let code = code_only(&std::fs::read_to_string(&file).expect("read a source file"));
        let targets = graph.entry(top.clone()).or_default();
        for to in crate_paths(&code)
            .into_iter()
            .chain(super_paths(&code, depth))
        {
            if to != top && !to.is_empty() {
                targets.insert(to);
            }
        }
    }
    // Names that are not modules (`crate::Foo` of a re-export at the root) are not edges.
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for targets in graph.values_mut() {
        targets.retain(|t| modules.contains(t));
    }
    graph
}

/// `crate::X` paths in `src/` (outside `lib.rs`, `main.rs`, `bin/`) whose `X` is not a
/// module: a root re-export (`crate::Library`) would take the import out of the graph,
/// so the layers could be broken unseen. Each is `file: crate::X`.
fn imports_through_the_root(src: &Path, modules: &BTreeSet<String>) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let top = rel
            .iter()
            .next()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned());
        if matches!(top.as_deref(), Some("bin" | "main" | "lib")) {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&file).expect("read a source file"));
        for to in crate_paths(&code) {
            if !to.is_empty() && !modules.contains(&to) {
                found.push(format!("{}: crate::{to}", rel.display()));
            }
        }
    }
    found
}

/// Every way `graph` disagrees with `layers` (highest first); empty when they agree.
fn disagreements(graph: &Graph, layers: &[Layer]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut level = BTreeMap::new();
    for (i, layer) in layers.iter().enumerate() {
        for m in &layer.modules {
            // Lower layers have lower numbers.
            if level.insert(m.clone(), layers.len() - i).is_some() {
                problems.push(format!("`{m}` is on two lines of the layers block"));
            }
        }
    }
    for m in graph.keys() {
        if !level.contains_key(m) {
            problems.push(format!(
                "module `{m}` is not in ARCHITECTURE.md's layers block: add it to the line of its layer"
            ));
        }
    }
    for m in level.keys() {
        if !graph.contains_key(m) {
            problems.push(format!(
                "the layers block names `{m}`, which is not a module under src/"
            ));
        }
    }
    for (from, targets) in graph {
        let Some(&a) = level.get(from) else { continue };
        for to in targets {
            let Some(&b) = level.get(to) else { continue };
            let same_circle = a == b && layers[layers.len() - a].circle;
            if b > a {
                problems.push(format!(
                    "`{from}` imports `{to}`, which is on a higher layer: move what it needs down, or pass it in"
                ));
            } else if a == b && !same_circle {
                problems.push(format!(
                    "`{from}` imports `{to}`, declared independent of it (same line, no ⇄)"
                ));
            }
        }
    }
    for layer in layers.iter().filter(|l| l.circle) {
        let members: BTreeSet<&String> = layer.modules.iter().collect();
        let Some(first) = layer.modules.first() else {
            continue;
        };
        // Strongly connected among themselves: every member reaches every other and back.
        let reach = |from: &String, reverse: bool| {
            let mut seen = BTreeSet::from([from.clone()]);
            let mut todo = vec![from.clone()];
            while let Some(m) = todo.pop() {
                for n in &layer.modules {
                    let edge = if reverse {
                        graph.get(n).is_some_and(|t| t.contains(&m))
                    } else {
                        graph.get(&m).is_some_and(|t| t.contains(n))
                    };
                    if edge && seen.insert(n.clone()) {
                        todo.push(n.clone());
                    }
                }
            }
            seen
        };
        let both: BTreeSet<String> = reach(first, false)
            .intersection(&reach(first, true))
            .cloned()
            .collect();
        if both.len() != members.len() {
            problems.push(format!(
                "the circle `{}` is no longer one circle (only {} import each other both ways): \
                 list its modules as layers of their own",
                layer.modules.join(" ⇄ "),
                both.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    problems
}

#[test]
fn the_imports_follow_the_layers_architecture_md_declares() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let layers = declared_layers(&doc);
    let graph = import_graph(&root.join("src"));
    assert!(
        graph.len() > 10,
        "the graph should hold every module: {graph:?}"
    );
    let mut problems = disagreements(&graph, &layers);
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    problems.extend(
        imports_through_the_root(&root.join("src"), &modules)
            .into_iter()
            .map(|p| format!("{p} is not a module: import it from the module that defines it")),
    );
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's layers and src/ disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_graph_sees_use_lines_groups_super_paths_and_not_comments() {
    let code = code_only(
        "use crate::library::Library;\n\
         use crate::{app::App, speed, protocol::{Event, dialect}};\n\
         // use crate::commented;\n\
         /// [`crate::doc_link`]\n\
         let s = \"crate::in_a_string\";\n\
         let q = '\"'; let t = crate::timestamp::iso8601(now);\n\
         let r = r#\"{\"a\": \"crate::raw\"}\"#; /* crate::block */\n\
         use super::super::rng;\n\
         fn f() -> my_crate::Other {}\n",
    );
    assert_eq!(
        crate_paths(&code),
        ["library", "app", "speed", "protocol", "timestamp"]
    );
    assert_eq!(super_paths(&code, 2), ["rng"]);
    assert!(super_paths(&code, 3).is_empty());
}

#[test]
fn the_check_fails_on_a_circle_and_on_a_broken_declared_circle() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g = Graph::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    let layers = |doc: &str| declared_layers(&format!("```text layers\n{doc}```\n"));
    let circle = graph(&[("a", "b"), ("b", "a")]);
    // Declared one above the other: b → a goes up.
    let found = disagreements(&circle, &layers("a │ top\nb │ bottom\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`b` imports `a`, which is on a higher layer"));
    // Declared independent on one line: both edges are wrong.
    assert_eq!(disagreements(&circle, &layers("a b\n")).len(), 2);
    // Declared as the circle it is: agreed.
    assert!(disagreements(&circle, &layers("a ⇄ b │ known\n")).is_empty());
    // A declared circle someone broke must leave the document.
    let broken = graph(&[("a", "b")]);
    let found = disagreements(&broken, &layers("a ⇄ b\n"));
    assert!(found[0].contains("no longer one circle"), "{found:?}");
    // One way down is what layers are.
    assert!(disagreements(&broken, &layers("a\nb\n")).is_empty());
    // Every module must be placed, and only modules.
    let found = disagreements(&broken, &layers("a\nc\n"));
    assert_eq!(found.len(), 2, "{found:?}");
}
