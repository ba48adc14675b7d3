//! Figures as rows: the one table every command prints, and the JSON `--json` writes.
//!
//! The JSON is `{"date", "machine", "rows": [Row, …]}`. Another benchmark binary that
//! writes the same shape can be merged into the suite's table (see `suite::EXTERNAL`).

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::machine::Machine;

/// One measured figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The benchmark and its load, e.g. `throughput (100 conns, 10 s)`.
    pub benchmark: String,
    /// What was measured, e.g. `frames/s` or `lateness p99`.
    pub metric: String,
    /// `frames/s`, `ms`, `KiB`, …
    pub unit: String,
    /// The figure of the server under test (pawmock in the suite).
    pub value: f64,
    /// The same figure for the baseline server, measured in the same run.
    #[serde(default)]
    pub baseline: Option<f64>,
    #[serde(default)]
    pub target: Option<Goal>,
    /// Share of the machine's CPU time used by processes other than the benchmark's own
    /// while this figure was measured (0–100 %): the noise it was measured in.
    #[serde(default)]
    pub others_cpu: Option<f64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// What a figure should be.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Goal {
    AtMost(f64),
    AtLeast(f64),
    /// `value / baseline` at least this.
    RatioAtLeast(f64),
}

impl Row {
    pub fn new(benchmark: &str, metric: &str, unit: &str, value: f64) -> Row {
        Row {
            benchmark: benchmark.to_owned(),
            metric: metric.to_owned(),
            unit: unit.to_owned(),
            value,
            baseline: None,
            target: None,
            others_cpu: None,
            note: None,
        }
    }

    pub fn baseline(mut self, b: Option<f64>) -> Row {
        self.baseline = b;
        self
    }

    pub fn target(mut self, goal: Goal) -> Row {
        self.target = Some(goal);
        self
    }

    pub fn others_cpu(mut self, share: Option<f64>) -> Row {
        self.others_cpu = share;
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.baseline.filter(|b| *b > 0.0).map(|b| self.value / b)
    }

    /// Whether the target is met; `None` without a target (or a baseline for a ratio).
    pub fn met(&self) -> Option<bool> {
        match self.target? {
            Goal::AtMost(t) => Some(self.value <= t),
            Goal::AtLeast(t) => Some(self.value >= t),
            Goal::RatioAtLeast(t) => self.ratio().map(|r| r >= t),
        }
    }
}

/// A number the way a reader scans a table: 3 significant digits, thousands separated.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let whole = v.round() as i64;
        let digits = whole.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if whole < 0 { format!("-{out}") } else { out }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn goal_text(g: Goal, unit: &str) -> String {
    match g {
        Goal::AtMost(t) => format!("≤ {} {unit}", number(t)),
        Goal::AtLeast(t) => format!("≥ {} {unit}", number(t)),
        Goal::RatioAtLeast(t) => format!("ratio ≥ {}", number(t)),
    }
}

/// The table, with a column per field and the benchmark name only where it changes.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "benchmark",
        "metric",
        "pawmock",
        "baseline",
        "ratio",
        "target",
        "result",
        "others' CPU",
    ];
    let mut cells: Vec<[String; 8]> = Vec::new();
    let mut previous = "";
    for r in rows {
        let name = if r.benchmark == previous {
            String::new()
        } else {
            r.benchmark.clone()
        };
        previous = &r.benchmark;
        cells.push([
            name,
            r.metric.clone(),
            format!("{} {}", number(r.value), r.unit),
            r.baseline
                .map(|b| format!("{} {}", number(b), r.unit))
                .unwrap_or_default(),
            r.ratio().map(|x| format!("{x:.2}")).unwrap_or_default(),
            r.target.map(|g| goal_text(g, &r.unit)).unwrap_or_default(),
            match r.met() {
                Some(true) => "met".into(),
                Some(false) => "MISSED".into(),
                None => String::new(),
            },
            r.others_cpu
                .map(|c| format!("{c:.0} %"))
                .unwrap_or_default(),
        ]);
    }
    let mut width = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| -> String {
        let mut out = String::new();
        for (i, (c, w)) in row.iter().zip(width).enumerate() {
            let pad = w - c.chars().count();
            // Figures right-aligned, words left-aligned.
            if (2..5).contains(&i) {
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            } else {
                out.push_str(c);
                out.push_str(&" ".repeat(pad));
            }
            out.push_str("  ");
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header.map(str::to_owned));
    out.push_str(&line(&width.map(|w| "-".repeat(w))));
    for row in &cells {
        out.push_str(&line(row));
    }
    for r in rows.iter().filter(|r| r.note.is_some()) {
        out.push_str(&format!(
            "note ({}, {}): {}\n",
            r.benchmark,
            r.metric,
            r.note.as_deref().unwrap_or_default()
        ));
    }
    out
}

/// What `--json FILE` writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Document {
    pub date: String,
    pub machine: Machine,
    pub rows: Vec<Row>,
}

pub fn write_json(path: &Path, rows: &[Row], machine: Machine) -> anyhow::Result<()> {
    let doc = Document {
        date: crate::machine::utc_now(),
        machine,
        rows: rows.to_vec(),
    };
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the figures to {}", path.display()))
}

/// Prints the table (and writes `--json FILE` if asked): the end of every command.
pub fn finish(rows: &[Row], json: Option<&Path>, machine: Machine) -> anyhow::Result<()> {
    println!("{}", machine.summary());
    print!("{}", table(rows));
    if let Some(path) = json {
        write_json(path, rows, machine)?;
        println!("figures written to {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(123456.7), "123,457");
        assert_eq!(number(1000.0), "1,000");
        assert_eq!(number(512.4), "512");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(0.8123), "0.81");
        assert_eq!(number(-2500.0), "-2,500");
    }

    #[test]
    fn targets_are_judged() {
        let r = Row::new("t", "frames/s", "frames/s", 80.0)
            .baseline(Some(100.0))
            .target(Goal::RatioAtLeast(0.8));
        assert_eq!(r.met(), Some(true));
        let r = Row::new("f", "p99", "ms", 6.0).target(Goal::AtMost(5.0));
        assert_eq!(r.met(), Some(false));
        assert!(table(&[r]).contains("MISSED"));
    }
}
