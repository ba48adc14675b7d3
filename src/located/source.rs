//! Reading JSON text so that every later error can point at a line and column.
//!
//! Files are parsed once into a syntax tree that keeps byte ranges (jsonc-parser, which
//! also tolerates `//` comments and trailing commas in hand-written files), then turned
//! into a `serde_json::Value` for typed deserialisation. When deserialisation or
//! validation fails with a JSON path, [`Source::locate`] walks the tree to find where
//! that path starts in the text.

use std::path::Path;

use jsonc_parser::ast::Value as Node;
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::problem::{JsonPath, Problem, Segment};

/// The text of one JSON document (or one line of a JSON Lines file) and where it came from.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
    /// Added to every reported line (for lines of a `.jsonl` file).
    pub(crate) line_offset: usize,
}

impl<'a> Source<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Source {
            file,
            text,
            line_offset: 0,
        }
    }

    /// Parses the text into a JSON value, or a problem at the syntax error.
    pub(crate) fn parse(&self) -> Result<Value, Problem> {
        match jsonc_parser::parse_to_ast(self.text, &CollectOptions::default(), &parse_options()) {
            Ok(result) => match result.value {
                Some(node) => Ok(Value::from(node)),
                None => Err(self.problem_at(
                    0,
                    JsonPath::root(),
                    "the file is empty".into(),
                    Some("write a JSON object; run `pawmock schema` for the format".into()),
                )),
            },
            Err(e) => Err(self.problem_at(
                e.range().start,
                JsonPath::root(),
                format!("invalid JSON: {}", e.kind()),
                Some("fix the syntax at this position".into()),
            )),
        }
    }

    /// Deserialises `value` into `T`, reporting a failure at the JSON path serde stopped at.
    pub(crate) fn deserialize<T: DeserializeOwned>(&self, value: Value) -> Result<T, Problem> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = JsonPath(
                e.path()
                    .iter()
                    .filter_map(|seg| match seg {
                        serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                        serde_path_to_error::Segment::Map { key } => {
                            Some(Segment::Key(key.clone()))
                        }
                        _ => None,
                    })
                    .collect(),
            );
            let message = e.inner().to_string();
            let hint = hint_for(&message);
            self.problem(path, message, hint)
        })
    }

    /// A problem at the start of the value `path` names (or of its nearest existing parent).
    pub(crate) fn problem(&self, path: JsonPath, message: String, hint: Option<String>) -> Problem {
        let offset = self.locate(&path);
        self.problem_at(offset, path, message, hint)
    }

    fn problem_at(
        &self,
        offset: usize,
        path: JsonPath,
        message: String,
        hint: Option<String>,
    ) -> Problem {
        let (line, column) = line_column(self.text, offset);
        Problem {
            file: self.file.to_owned(),
            line: line + self.line_offset,
            column,
            path,
            message,
            hint,
        }
    }

    /// Byte offset where the value at `path` starts.
    pub(crate) fn locate(&self, path: &JsonPath) -> usize {
        let Ok(parsed) =
            jsonc_parser::parse_to_ast(self.text, &CollectOptions::default(), &parse_options())
        else {
            return 0;
        };
        let Some(mut node) = parsed.value.as_ref() else {
            return 0;
        };
        for seg in &path.0 {
            let next = match (seg, node) {
                (Segment::Key(k), Node::Object(obj)) => obj.get(k).map(|p| &p.value),
                (Segment::Index(i), Node::Array(arr)) => arr.elements.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.start()
    }
}

fn parse_options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..ParseOptions::default()
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn hint_for(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        Some("remove the field or fix its spelling; the `$schema` in the file lets editors complete field names".into())
    } else if message.starts_with("missing field") {
        Some("add the field; see the README for an example".into())
    } else if message.contains("duration") {
        Some("write durations like \"150ms\", \"1.5s\", \"2m\" or a number of seconds".into())
    } else {
        Some("see the README or the JSON Schema in schema/ for the expected shape".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_points_at_the_value_of_a_path() {
        let text = "{\n  \"turns\": [\n    {\"reply\": 5}\n  ]\n}";
        let src = Source::new(Path::new("x.json"), text);
        let p = src.problem(
            JsonPath::root().key("turns").index(0).key("reply"),
            "m".into(),
            None,
        );
        assert_eq!((p.line, p.column), (3, 15));
        assert_eq!(p.to_string(), "x.json:3:15: turns[0].reply: m");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let src = Source::new(Path::new("x.json"), "{\n  \"a\": ,\n}");
        let p = src.parse().unwrap_err();
        assert_eq!(p.line, 2);
        assert!(p.message.starts_with("invalid JSON"), "{p}");
    }
}
