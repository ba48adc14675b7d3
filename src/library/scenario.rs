//! Scenarios as the server plays them: validated, with regexes compiled and defaults
//! decided, built from a [`ScenarioFile`] or a recording.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use super::format::{
    ChunkUnit, DashboardError, DashboardPlan, ScenarioFile, StepSpec, TimingSpec, TurnSpec,
};
use crate::located::problem::{JsonPath, Problem};
use crate::located::source::Source;
use crate::protocol::{Event, HistoryMessage};
use crate::speed::Speed;

/// How long a plan waits for the client's answer when the file does not say.
pub(crate) const DEFAULT_PLAN_WAIT: Duration = Duration::from_secs(300);

/// One conversation of the library.
#[derive(Debug)]
pub struct Scenario {
    /// File path relative to the recordings directory, without the extension.
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub(crate) file: PathBuf,
    pub timing: TimingSpec,
    pub history: Vec<HistoryMessage>,
    /// Session that holds `history`.
    pub session_id: String,
    pub turns: Vec<Turn>,
    /// For recordings: what selects it when unpinned (scripted scenarios use their turns).
    pub(crate) selector: Option<When>,
    pub kind: ScenarioKind,
    /// Faults applied to this scenario's turns.
    pub(crate) chaos: Vec<crate::chaos::Fault>,
    /// Steps played after the handshake on connections pinned to this scenario.
    pub(crate) on_connect: Vec<Step>,
    /// A `raw` recording's frames (its `turns` are empty): replayed by
    /// `connection::raw` when a connection pins it.
    pub(crate) raw: Option<Arc<super::raw::RawScript>>,
    /// What loading noticed without refusing the file (a recording's cut-off last line).
    pub warnings: Vec<String>,
}

impl Scenario {
    /// The names of its marker steps (turns, plan branches, `on_connect`, a raw
    /// recording's marker lines), each once, in order of appearance: what `?freeze=`
    /// may name, and what `pawmock list` shows.
    pub fn markers(&self) -> Vec<String> {
        fn walk(steps: &[Step], out: &mut Vec<String>) {
            for step in steps {
                match &step.kind {
                    StepKind::Marker(name) if !out.contains(name) => out.push(name.clone()),
                    StepKind::Plan(plan) => {
                        walk(&plan.approve, out);
                        walk(&plan.reject, out);
                        walk(&plan.timeout, out);
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.on_connect, &mut out);
        for turn in &self.turns {
            match &turn.body {
                Body::Script(steps) => walk(steps, &mut out),
                Body::Recorded(frames) => {
                    for (_, event) in frames {
                        if let Event::Marker { name } = event
                            && !out.contains(name)
                        {
                            out.push(name.clone());
                        }
                    }
                }
            }
        }
        if let Some(raw) = &self.raw {
            out.extend(raw.markers());
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioKind {
    Scripted,
    Recorded,
    /// A recording of a protocol pawmock does not know (see [`Scenario::raw`]).
    Raw,
}

#[derive(Debug)]
pub struct Turn {
    pub(crate) when: When,
    pub body: Body,
}

/// What a turn plays.
#[derive(Debug)]
pub enum Body {
    Script(Vec<Step>),
    /// Frames with their recorded delay since the previous frame.
    Recorded(Vec<(Duration, Event)>),
}

/// Which user message selects a turn.
#[derive(Debug, Clone)]
pub(crate) enum When {
    Any,
    /// Any of these (lower-cased) fragments.
    Contains(Vec<String>),
    /// The whole message, lower-cased and trimmed.
    Equals(String),
    Regex(Regex),
    /// The Nth (1-based) message a connection sends to this scenario.
    Turn(u32),
    /// Any of these rules: one reply for several conditions, so a reply that answers
    /// both its keywords and everything once pinned is written once.
    AnyOf(Vec<When>),
}

impl When {
    /// Whether `text`, the `turn_no`-th message to this scenario, matches.
    pub(crate) fn matches(&self, text: &str, turn_no: u32) -> bool {
        match self {
            When::Any => true,
            When::Contains(parts) => {
                let t = text.to_lowercase();
                parts.iter().any(|p| t.contains(p.as_str()))
            }
            When::Equals(s) => text.trim().to_lowercase() == *s,
            When::Regex(r) => r.is_match(text),
            When::Turn(n) => *n == turn_no,
            When::AnyOf(rules) => rules.iter().any(|r| r.matches(text, turn_no)),
        }
    }

    /// Whether `text` picks this turn's scenario when no scenario is pinned: only rules
    /// that look at the text do, so `"any"` and `{"turn": N}` never steal every message.
    pub(crate) fn matches_text(&self, text: &str) -> bool {
        match self {
            When::Any | When::Turn(_) => false,
            When::AnyOf(rules) => rules.iter().any(|r| r.matches_text(text)),
            textual => textual.matches(text, 0),
        }
    }
}

/// One step of a scripted reply, with its optional extra delay before it.
#[derive(Debug, Clone)]
pub struct Step {
    pub delay: Duration,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Say(SayText),
    Think {
        text: String,
        duration: Option<Duration>,
    },
    Tool {
        name: String,
        input: Value,
        outcome: Result<Value, String>,
        duration: Option<Duration>,
    },
    Error {
        message: String,
        /// How the dashboard dialect shows it.
        dashboard: DashboardError,
    },
    Plan(Plan),
    Inbox {
        channel: String,
        message: String,
        session_id: String,
    },
    Pause(Duration),
    Marker(String),
    Frame(Value),
}

/// The text of a `say` step, and the ways it has been cut into chunks so far.
///
/// Every connection that plays the step with the same chunk unit and size gets the same
/// pieces, so they are cut once and shared: a thousand connections starting the same
/// long answer together then copy a list of shared pointers each instead of cutting and
/// allocating hundreds of strings each. The cuts live as long as the library snapshot.
pub struct SayText {
    pub text: String,
    cuts: Mutex<Vec<Cut>>,
}

/// One way of cutting a text: unit, units per chunk, the pieces.
type Cut = (ChunkUnit, usize, Arc<[Arc<str>]>);

/// Different cuts kept per text; more (from URLs asking for many chunk sizes) are cut
/// each time instead of growing the snapshot.
const MAX_CUTS: usize = 4;

impl SayText {
    pub fn new(text: String) -> Self {
        SayText {
            text,
            cuts: Mutex::new(Vec::new()),
        }
    }

    /// The pieces for `unit` and `size`, cut by `cut` the first time they are asked for.
    pub(crate) fn pieces(
        &self,
        unit: ChunkUnit,
        size: usize,
        cut: impl FnOnce(&str) -> Vec<String>,
    ) -> Arc<[Arc<str>]> {
        let mut cuts = self.cuts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, pieces)) = cuts.iter().find(|(u, n, _)| *u == unit && *n == size) {
            return pieces.clone();
        }
        let pieces: Arc<[Arc<str>]> = cut(&self.text).into_iter().map(Arc::from).collect();
        if cuts.len() < MAX_CUTS {
            cuts.push((unit, size, pieces.clone()));
        }
        pieces
    }
}

impl Clone for SayText {
    fn clone(&self) -> Self {
        SayText::new(self.text.clone())
    }
}

impl std::fmt::Debug for SayText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text.fmt(f)
    }
}

/// A plan waiting for approval and the three ways it can go on.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) text: String,
    pub(crate) approve: Vec<Step>,
    pub(crate) reject: Vec<Step>,
    pub(crate) timeout: Vec<Step>,
    pub(crate) wait: Duration,
    /// The branch the dashboard dialect plays at once (`None`: the file did not say,
    /// so `approve`; `pawmock check` mentions it).
    pub(crate) dashboard: Option<DashboardPlan>,
}

/// Turns a parsed scenario file into a [`Scenario`], or every problem found in it.
pub(crate) fn compile(
    name: &str,
    src: &Source,
    file: ScenarioFile,
) -> Result<Scenario, Vec<Problem>> {
    let mut problems = Vec::new();
    check_timing(
        src,
        &JsonPath::root().key("timing"),
        &file.timing,
        &mut problems,
    );
    if file.turns.is_empty() {
        problems.push(src.problem(
            JsonPath::root().key("turns"),
            "a scenario needs at least one turn".into(),
            Some(r#"add {"when": "any", "reply": [{"say": "Hello!"}]}"#.into()),
        ));
    }
    let chaos = crate::chaos::compile_all(
        src,
        &JsonPath::root().key("chaos"),
        file.chaos.unwrap_or_default(),
        &mut problems,
    );
    let turns: Vec<Turn> = file
        .turns
        .into_iter()
        .enumerate()
        .filter_map(|(i, t)| {
            compile_turn(
                src,
                &JsonPath::root().key("turns").index(i),
                t,
                &mut problems,
            )
        })
        .collect();
    let on_connect_path = JsonPath::root().key("on_connect");
    for (i, step) in file.on_connect.iter().enumerate() {
        if step.plan.is_some() {
            problems.push(src.problem(
                on_connect_path.index(i),
                "a `plan` waits for an answer to a chat message, so it cannot be in `on_connect`".into(),
                Some("put the plan in a turn's reply".into()),
            ));
        }
    }
    let on_connect = compile_steps(src, &on_connect_path, file.on_connect, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Scenario {
        on_connect: on_connect.unwrap_or_default(),
        name: name.to_owned(),
        title: file.title.unwrap_or_else(|| name.to_owned()),
        description: file.description,
        file: src.file.to_owned(),
        timing: file.timing,
        history: file.history,
        session_id: file
            .session_id
            .unwrap_or_else(|| format!("websocket_{name}")),
        turns,
        selector: None,
        kind: ScenarioKind::Scripted,
        chaos,
        raw: None,
        warnings: Vec::new(),
    })
}

fn compile_turn(
    src: &Source,
    path: &JsonPath,
    t: TurnSpec,
    problems: &mut Vec<Problem>,
) -> Option<Turn> {
    let when = compile_when(src, &path.key("when"), t.when.as_ref(), problems);
    let steps = compile_steps(src, &path.key("reply"), t.reply, problems);
    Some(Turn {
        when: when?,
        body: Body::Script(steps?),
    })
}

const WHEN_HINT: &str = r#"write "any", {"contains": "text"}, {"contains": ["a", "b"]}, {"equals": "text"}, {"regex": "pattern"}, {"turn": 2}, or a list of these such as [{"contains": "weather"}, "any"]"#;

/// Reads a `when` value; `None` (absent) means `any`. A list means any of its rules.
pub(crate) fn compile_when(
    src: &Source,
    path: &JsonPath,
    when: Option<&Value>,
    problems: &mut Vec<Problem>,
) -> Option<When> {
    let Some(when) = when else {
        return Some(When::Any);
    };
    let Value::Array(items) = when else {
        return compile_rule(src, path, when, problems);
    };
    if items.is_empty() {
        problems.push(src.problem(
            path.clone(),
            "a `when` list needs at least one rule".into(),
            Some(WHEN_HINT.into()),
        ));
        return None;
    }
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = path.index(i);
        if item.is_array() {
            problems.push(src.problem(
                at,
                "a `when` list cannot hold another list".into(),
                Some("put all the rules in one list".into()),
            ));
            continue;
        }
        if let Some(rule) = compile_rule(src, &at, item, problems) {
            rules.push(rule);
        }
    }
    (rules.len() == items.len()).then_some(When::AnyOf(rules))
}

/// Reads one rule of a `when`: `"any"` or an object with exactly one rule.
fn compile_rule(
    src: &Source,
    path: &JsonPath,
    when: &Value,
    problems: &mut Vec<Problem>,
) -> Option<When> {
    let bad = |msg: String| src.problem(path.clone(), msg, Some(WHEN_HINT.into()));
    let rule = match when {
        Value::String(s) if s == "any" => return Some(When::Any),
        Value::Object(map) if map.len() == 1 => map.iter().next().expect("one entry"),
        Value::Object(map) => {
            problems.push(bad(format!(
                "`when` must have exactly one rule, found {}",
                map.len()
            )));
            return None;
        }
        other => {
            problems.push(bad(format!("`when` cannot be {other}")));
            return None;
        }
    };
    let strings = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.to_lowercase()]),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_lowercase))
                .collect(),
            _ => None,
        }
    };
    let result = match (rule.0.as_str(), rule.1) {
        ("contains", v) => strings(v).filter(|s| !s.is_empty()).map(When::Contains),
        ("equals", Value::String(s)) => Some(When::Equals(s.trim().to_lowercase())),
        ("regex", Value::String(s)) => match Regex::new(s) {
            Ok(r) => Some(When::Regex(r)),
            Err(e) => {
                problems.push(src.problem(
                    path.key("regex"),
                    // regex's message spans lines; its last line says what is wrong.
                    format!(
                        "invalid regular expression: {}",
                        e.to_string().lines().last().unwrap_or("").trim_start_matches("error: ")
                    ),
                    Some("see https://docs.rs/regex for the syntax".into()),
                ));
                return None;
            }
        },
        ("turn", Value::Number(n)) => n
            .as_u64()
            .filter(|n| *n >= 1)
            .and_then(|n| u32::try_from(n).ok())
            .map(When::Turn),
        (key, _) if !["contains", "equals", "regex", "turn"].contains(&key) => {
            problems.push(bad(format!("unknown `when` rule `{key}`")));
            return None;
        }
        _ => None,
    };
    if result.is_none() {
        let (key, value) = rule;
        let expected = match key.as_str() {
            "contains" => "a string or a non-empty array of strings",
            "turn" => "a whole number ≥ 1",
            _ => "a string",
        };
        problems.push(src.problem(
            path.key(key),
            format!("`{key}` must be {expected}, got {value}"),
            None,
        ));
    }
    result
}

const STEP_KINDS: [&str; 9] = [
    "say", "think", "tool", "error", "plan", "inbox", "pause", "marker", "frame",
];

/// Compiles steps given outside a file (the control API's `send`): `value` is one step
/// object or a list of them; problems come back as `path: message` lines with hints.
pub(crate) fn compile_loose_steps(value: &Value) -> Result<Vec<Step>, Vec<Problem>> {
    let list = match value {
        Value::Array(_) => value.clone(),
        other => Value::Array(vec![other.clone()]),
    };
    let text = list.to_string();
    let label = std::path::Path::new("request body");
    let src = Source::new(label, &text);
    let specs: Vec<StepSpec> = src.deserialize(list).map_err(|p| vec![p])?;
    let mut problems = Vec::new();
    match compile_steps(&src, &JsonPath::root(), specs, &mut problems) {
        Some(steps) if problems.is_empty() => Ok(steps),
        _ => Err(problems),
    }
}

fn compile_steps(
    src: &Source,
    path: &JsonPath,
    specs: Vec<StepSpec>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Step>> {
    let before = problems.len();
    let steps: Vec<Step> = specs
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| compile_step(src, &path.index(i), s, problems))
        .collect();
    (problems.len() == before).then_some(steps)
}

fn compile_step(
    src: &Source,
    path: &JsonPath,
    s: StepSpec,
    problems: &mut Vec<Problem>,
) -> Option<Step> {
    let present: Vec<&str> = [
        ("say", s.say.is_some()),
        ("think", s.think.is_some()),
        ("tool", s.tool.is_some()),
        // With `tool`, `error` is the tool's failure, not a step kind of its own.
        ("error", s.error.is_some() && s.tool.is_none()),
        ("plan", s.plan.is_some()),
        ("inbox", s.inbox.is_some()),
        ("pause", s.pause.is_some()),
        ("marker", s.marker.is_some()),
        ("frame", s.frame.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, on)| on.then_some(k))
    .collect();
    let kind = match present.as_slice() {
        [one] => *one,
        [] => {
            problems.push(src.problem(
                path.clone(),
                "a step needs one kind".into(),
                Some(format!("use one of: {}", STEP_KINDS.join(", "))),
            ));
            return None;
        }
        many => {
            problems.push(src.problem(
                path.clone(),
                format!("a step has one kind, this one has {}", many.join(" and ")),
                Some("split it into several steps".into()),
            ));
            return None;
        }
    };
    let allowed: &[&str] = match kind {
        "think" => &["duration"],
        "tool" => &["input", "result", "error", "duration"],
        "plan" => &["approve", "reject", "timeout", "wait", "dashboard_plan"],
        "error" => &["dashboard_error"],
        _ => &[],
    };
    let extras = [
        ("input", s.input.is_some()),
        ("result", s.result.is_some()),
        ("error", s.error.is_some() && kind != "error"),
        ("duration", s.duration.is_some()),
        ("approve", s.approve.is_some()),
        ("reject", s.reject.is_some()),
        ("timeout", s.timeout.is_some()),
        ("wait", s.wait.is_some()),
        ("dashboard_plan", s.dashboard_plan.is_some()),
        ("dashboard_error", s.dashboard_error.is_some()),
    ];
    for (field, on) in extras {
        if on && !allowed.contains(&field) {
            problems.push(src.problem(
                path.key(field),
                format!("`{field}` does not belong to a `{kind}` step"),
                Some(if allowed.is_empty() {
                    format!("a `{kind}` step takes only `{kind}` and `delay`")
                } else {
                    format!("a `{kind}` step takes {}", allowed.join(", "))
                }),
            ));
        }
    }
    if kind == "tool" && s.result.is_some() && s.error.is_some() {
        problems.push(src.problem(
            path.key("error"),
            "a tool has either a `result` or an `error`, not both".into(),
            None,
        ));
    }
    let dur = |d: Option<crate::located::duration::Dur>| d.map(|d| d.0);
    let step_kind = match kind {
        "say" => StepKind::Say(SayText::new(s.say?)),
        "think" => StepKind::Think {
            text: s.think?,
            duration: dur(s.duration),
        },
        "tool" => StepKind::Tool {
            name: s.tool?,
            input: s.input.unwrap_or_else(|| Value::Object(Default::default())),
            outcome: match s.error {
                Some(e) => Err(e),
                None => Ok(s.result.unwrap_or(Value::String(String::new()))),
            },
            duration: dur(s.duration),
        },
        "error" => StepKind::Error {
            message: s.error?,
            dashboard: s.dashboard_error.unwrap_or_default(),
        },
        "plan" => {
            let mut branch = |key: &str, specs: Option<Vec<StepSpec>>| {
                compile_steps(src, &path.key(key), specs.unwrap_or_default(), problems)
            };
            let approve = branch("approve", s.approve);
            let reject = branch("reject", s.reject);
            let timeout = branch("timeout", s.timeout);
            StepKind::Plan(Plan {
                text: s.plan?,
                approve: approve?,
                reject: reject?,
                timeout: timeout?,
                wait: dur(s.wait).unwrap_or(DEFAULT_PLAN_WAIT),
                dashboard: s.dashboard_plan,
            })
        }
        "inbox" => {
            let inbox = s.inbox?;
            StepKind::Inbox {
                session_id: inbox
                    .session_id
                    .unwrap_or_else(|| format!("{}_inbox", inbox.channel)),
                channel: inbox.channel,
                message: inbox.message,
            }
        }
        "pause" => StepKind::Pause(s.pause?.0),
        "marker" => StepKind::Marker(s.marker?),
        "frame" => StepKind::Frame(s.frame?),
        _ => unreachable!("kinds come from the list above"),
    };
    Some(Step {
        delay: dur(s.delay).unwrap_or_default(),
        kind: step_kind,
    })
}

/// Checks the ranges serde cannot express.
pub(crate) fn check_timing(
    src: &Source,
    path: &JsonPath,
    t: &TimingSpec,
    problems: &mut Vec<Problem>,
) {
    let mut bad =
        |key: &str, msg: &str| problems.push(src.problem(path.key(key), msg.into(), None));
    if t.jitter.is_some_and(|j| !(0.0..=1.0).contains(&j)) {
        bad(
            "jitter",
            "`jitter` is a fraction between 0 and 1 (0.25 means ±25%)",
        );
    }
    if t.chunk_size == Some(0) {
        bad("chunk_size", "`chunk_size` must be at least 1");
    }
    // 1/86400 is one chunk a day: the longest gap any duration may be.
    if t.chunks_per_second
        .is_some_and(|c| !(c.is_finite() && (1.0 / 86_400.0..=1e6).contains(&c)))
    {
        bad(
            "chunks_per_second",
            "`chunks_per_second` must be between one a day (0.0000116) and 1000000",
        );
    }
    if t.chunks_per_second.is_some() && t.chunk_delay.is_some() {
        bad(
            "chunks_per_second",
            "give `chunk_delay` or `chunks_per_second`, not both",
        );
    }
    if t.speed.is_some_and(|s| Speed::new(s).is_none()) {
        bad("speed", &format!("`speed` must be {}", Speed::RULE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn when(json: &str) -> Result<When, Vec<String>> {
        let value: Value = serde_json::from_str(json).unwrap();
        let text = format!("{{\"when\": {json}}}");
        let src = Source::new(Path::new("t.json"), &text);
        let mut problems = Vec::new();
        let path = JsonPath::root().key("when");
        compile_when(&src, &path, Some(&value), &mut problems).ok_or_else(|| {
            problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect()
        })
    }

    #[test]
    fn a_when_list_matches_any_of_its_rules_but_only_text_rules_pick_unpinned() {
        let w = when(r#"[{"contains": ["weather", "rain"]}, {"turn": 3}, "any"]"#).unwrap();
        assert!(w.matches("Any rain today?", 1));
        assert!(w.matches("something else", 2), "`any` answers once pinned");
        assert!(w.matches_text("WEATHER in Paris"));
        assert!(
            !w.matches_text("something else"),
            "`any` never picks unpinned"
        );
        let turn_only = when(r#"[{"turn": 2}, {"equals": "go"}]"#).unwrap();
        assert!(turn_only.matches("x", 2) && !turn_only.matches("x", 1));
        assert!(turn_only.matches_text(" Go ") && !turn_only.matches_text("x"));
        assert!(!when(r#""any""#).unwrap().matches_text("anything"));
    }

    #[test]
    fn a_bad_when_list_names_each_bad_rule_by_its_index() {
        assert_eq!(
            when(r#"[{"contains": 3}, "any", [ "any" ], {"nope": 1}]"#).unwrap_err(),
            [
                "when[0].contains: `contains` must be a string or a non-empty array of strings, got 3",
                "when[2]: a `when` list cannot hold another list",
                "when[3]: unknown `when` rule `nope`",
            ]
        );
        assert_eq!(
            when("[]").unwrap_err(),
            ["when: a `when` list needs at least one rule"]
        );
    }

    #[test]
    fn a_say_text_is_cut_once_per_unit_and_size_and_the_pieces_are_shared() {
        let say = SayText::new("one two three".into());
        let words = |t: &str| t.split_inclusive(' ').map(str::to_owned).collect();
        let a = say.pieces(ChunkUnit::Word, 1, words);
        let b = say.pieces(ChunkUnit::Word, 1, |_| panic!("cut twice"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.len(), 3);
        let c = say.pieces(ChunkUnit::Word, 2, |t| vec![t.to_owned()]);
        assert_eq!(&*c[0], "one two three");
        // Past the limit, cuts are still right, just not kept.
        for size in 3..10 {
            let p = say.pieces(ChunkUnit::Char, size, |t| vec![t.to_owned()]);
            assert_eq!(p.len(), 1);
        }
        assert_eq!(say.cuts.lock().unwrap().len(), MAX_CUTS);
    }
}
