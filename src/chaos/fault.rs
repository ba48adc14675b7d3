//! Faults as the server applies them: validated, with defaults decided.

use std::time::Duration;

use rand::RngExt;
use rand_distr::{Distribution as _, LogNormal, Normal};

use super::format::{Distribution, FaultKind, FaultSpec, From, TriggerSpec};
use crate::located::problem::{JsonPath, Problem};
use crate::located::source::Source;
use crate::rng::Rng;

/// Event kinds a fault can be limited to: the `Event::kind` names of the events a turn
/// plays (greetings and session replies never pass through chaos).
pub const EVENT_KINDS: &[&str] = &[
    "stream_start",
    "text_chunk",
    "thinking",
    "tool_start",
    "tool_result",
    "error",
    "plan",
    "inbox",
    "frame",
    "stream_end",
];

/// One fault, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Event kinds it may touch; `None` is all.
    pub events: Option<Vec<String>>,
    pub trigger: Trigger,
    pub effect: Effect,
}

impl Fault {
    /// Whether this fault may touch an event of `kind`.
    pub fn touches(&self, kind: &str) -> bool {
        self.events
            .as_ref()
            .is_none_or(|e| e.iter().any(|k| k == kind))
    }

    /// The name used in logs and counts: `drop`, `latency`, …
    pub fn name(&self) -> &'static str {
        kind_name(self.kind)
    }

    /// Faults decided at the handshake, before any WebSocket exists.
    pub fn is_handshake(&self) -> bool {
        matches!(self.kind, FaultKind::Reject | FaultKind::RefuseFirst)
    }

    /// Connection faults that fire on a timer from connect rather than at an event.
    pub fn is_connect_timer(&self) -> bool {
        self.trigger.from == From::Connect
            && self.events.is_none()
            && matches!(self.kind, FaultKind::Close | FaultKind::Abort)
    }
}

pub fn kind_name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Error => "error",
        FaultKind::Drop => "drop",
        FaultKind::Duplicate => "duplicate",
        FaultKind::Reorder => "reorder",
        FaultKind::Corrupt => "corrupt",
        FaultKind::Latency => "latency",
        FaultKind::Slice => "slice",
        FaultKind::Stall => "stall",
        FaultKind::Fragment => "fragment",
        FaultKind::Close => "close",
        FaultKind::Abort => "abort",
        FaultKind::Reject => "reject",
        FaultKind::RefuseFirst => "refuse_first",
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Error {
        message: String,
        end_turn: bool,
        stream_end: bool,
    },
    Drop,
    Duplicate,
    Reorder,
    Corrupt,
    Latency(Delay),
    Slice {
        pieces: u32,
        interval: Duration,
    },
    /// `None`: for good.
    Stall(Option<Duration>),
    Fragment {
        pieces: u32,
    },
    Close {
        code: u16,
        reason: String,
    },
    Abort,
    Reject {
        status: u16,
        body: String,
    },
    RefuseFirst {
        count: u32,
        status: u16,
        body: String,
    },
}

/// An extra delay: fixed or drawn from a named distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum Delay {
    Fixed(Duration),
    Uniform(Duration, Duration),
    Normal { mean: Duration, stddev: Duration },
    LogNormal { median: Duration, sigma: f64 },
}

impl Delay {
    /// Draws one delay (never negative).
    pub fn sample(&self, rng: &mut Rng) -> Duration {
        let secs = match self {
            Delay::Fixed(d) => return *d,
            Delay::Uniform(lo, hi) if lo >= hi => return *lo,
            Delay::Uniform(lo, hi) => rng.random_range(lo.as_secs_f64()..hi.as_secs_f64()),
            Delay::Normal { mean, stddev } => Normal::new(mean.as_secs_f64(), stddev.as_secs_f64())
                .map_or(mean.as_secs_f64(), |n| n.sample(rng)),
            Delay::LogNormal { median, sigma } => {
                LogNormal::new(median.as_secs_f64().max(1e-9).ln(), *sigma)
                    .map_or(median.as_secs_f64(), |n| n.sample(rng))
            }
        };
        Duration::try_from_secs_f64(secs.max(0.0))
            .map_or(Duration::ZERO, |d| d.min(crate::located::duration::MAX))
    }
}

/// Where a fault's own action goes relative to the event that triggered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Position {
    #[default]
    Before,
    After,
}

/// When a fault fires; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trigger {
    pub probability: Option<f64>,
    /// The Nth matching event of a turn (`at_step` or `after_step`).
    pub step: Option<u32>,
    pub position: Position,
    pub after_marker: Option<String>,
    pub after: Option<Duration>,
    pub from: From,
    pub turn: Option<u32>,
    pub attempt: Option<u32>,
    pub every: Option<u32>,
}

impl Trigger {
    /// Triggers that fire once per turn (a step, a marker, a time) rather than at every
    /// matching event.
    pub fn is_once(&self) -> bool {
        self.step.is_some() || self.after_marker.is_some() || self.after.is_some()
    }
}

/// Validates one fault spec; problems are reported at `path` inside `src`.
pub fn compile(
    src: &Source,
    path: &JsonPath,
    spec: FaultSpec,
    problems: &mut Vec<Problem>,
) -> Option<Fault> {
    let before = problems.len();
    let mut bad = |key: &str, msg: String, hint: Option<String>| {
        let at = if key.is_empty() {
            path.clone()
        } else {
            path.key(key)
        };
        problems.push(src.problem(at, msg, hint));
    };
    let Some(kind) = spec.kind else {
        bad(
            "",
            "a fault needs a `kind`".into(),
            Some("one of error, drop, duplicate, reorder, corrupt, latency, slice, stall, fragment, close, abort, reject, refuse_first".into()),
        );
        return None;
    };
    let name = kind_name(kind);
    // Parameters each kind takes; anything else given is a mistake worth reporting.
    let allowed: &[&str] = match kind {
        FaultKind::Error => &["message", "end_turn", "stream_end"],
        FaultKind::Latency => &[
            "delay",
            "distribution",
            "min",
            "max",
            "mean",
            "stddev",
            "median",
            "sigma",
        ],
        FaultKind::Slice => &["pieces", "interval"],
        FaultKind::Fragment => &["pieces"],
        FaultKind::Stall => &["duration"],
        FaultKind::Close => &["code", "reason"],
        FaultKind::Reject => &["status", "body"],
        FaultKind::RefuseFirst => &["count", "status", "body"],
        FaultKind::Drop
        | FaultKind::Duplicate
        | FaultKind::Reorder
        | FaultKind::Corrupt
        | FaultKind::Abort => &[],
    };
    let given = [
        ("message", spec.message.is_some()),
        ("end_turn", spec.end_turn.is_some()),
        ("stream_end", spec.stream_end.is_some()),
        ("delay", spec.delay.is_some()),
        ("distribution", spec.distribution.is_some()),
        ("min", spec.min.is_some()),
        ("max", spec.max.is_some()),
        ("mean", spec.mean.is_some()),
        ("stddev", spec.stddev.is_some()),
        ("median", spec.median.is_some()),
        ("sigma", spec.sigma.is_some()),
        ("pieces", spec.pieces.is_some()),
        ("interval", spec.interval.is_some()),
        ("duration", spec.duration.is_some()),
        ("code", spec.code.is_some()),
        ("reason", spec.reason.is_some()),
        ("status", spec.status.is_some()),
        ("body", spec.body.is_some()),
        ("count", spec.count.is_some()),
    ];
    for (key, on) in given {
        if on && !allowed.contains(&key) {
            bad(
                key,
                format!("`{key}` is not a parameter of a `{name}` fault"),
                Some(if allowed.is_empty() {
                    format!("a `{name}` fault takes only `events` and `trigger`")
                } else {
                    format!("a `{name}` fault takes {}", allowed.join(", "))
                }),
            );
        }
    }
    if let Some(events) = &spec.events {
        for (i, e) in events.iter().enumerate() {
            if !EVENT_KINDS.contains(&e.as_str()) {
                problems.push(src.problem(
                    path.key("events").index(i),
                    format!("unknown event kind `{e}`"),
                    Some(format!("use one of {}", EVENT_KINDS.join(", "))),
                ));
            }
        }
    }
    let trigger = compile_trigger(
        src,
        &path.key("trigger"),
        kind,
        spec.trigger.clone().unwrap_or_default(),
        problems,
    );
    let pieces = |problems: &mut Vec<Problem>| match spec.pieces {
        Some(p) if p < 2 => {
            problems.push(src.problem(
                path.key("pieces"),
                "`pieces` must be at least 2".into(),
                None,
            ));
            2
        }
        Some(p) => p.min(1000),
        None => 3,
    };
    let effect = match kind {
        FaultKind::Error => Effect::Error {
            message: spec
                .message
                .clone()
                .unwrap_or_else(|| "Injected error (pawmock chaos)".into()),
            end_turn: spec.end_turn.unwrap_or(false),
            stream_end: spec.stream_end.unwrap_or(true),
        },
        FaultKind::Drop => Effect::Drop,
        FaultKind::Duplicate => Effect::Duplicate,
        FaultKind::Reorder => Effect::Reorder,
        FaultKind::Corrupt => Effect::Corrupt,
        FaultKind::Latency => Effect::Latency(compile_delay(src, path, &spec, problems)?),
        FaultKind::Slice => Effect::Slice {
            pieces: pieces(problems),
            interval: spec.interval.map_or(Duration::from_millis(100), |d| d.0),
        },
        FaultKind::Fragment => Effect::Fragment {
            pieces: pieces(problems),
        },
        FaultKind::Stall => Effect::Stall(spec.duration.map(|d| d.0)),
        FaultKind::Close => {
            let code = spec.code.unwrap_or(1011);
            // 1004–1006 and 1015 are reserved: they must never appear in a close frame.
            if !(1000..=4999).contains(&code) || matches!(code, 1004..=1006 | 1015) {
                problems.push(src.problem(
                    path.key("code"),
                    format!("close code {code} cannot be sent"),
                    Some("use 1000–4999 except 1004, 1005, 1006 and 1015 (e.g. 1000, 1001, 1011, 4003, 4029)".into()),
                ));
            }
            let reason = spec.reason.clone().unwrap_or_default();
            // A close frame's payload is at most 125 bytes: the 2-byte code and the reason.
            if reason.len() > 123 {
                problems.push(
                    src.problem(
                        path.key("reason"),
                        format!(
                            "the close reason is {} bytes; a close frame holds at most 123",
                            reason.len()
                        ),
                        Some(
                            "shorten it (browsers fail a connection whose close frame is too long)"
                                .into(),
                        ),
                    ),
                );
            }
            Effect::Close { code, reason }
        }
        FaultKind::Abort => Effect::Abort,
        FaultKind::Reject | FaultKind::RefuseFirst => {
            let default_status = if kind == FaultKind::Reject { 403 } else { 503 };
            let status = spec.status.unwrap_or(default_status);
            if !(400..=599).contains(&status) {
                problems.push(src.problem(
                    path.key("status"),
                    format!("HTTP status {status} does not refuse a handshake"),
                    Some("use a 4xx or 5xx status such as 403, 429, 500 or 503".into()),
                ));
            }
            let body = spec
                .body
                .clone()
                .unwrap_or_else(|| format!("pawmock chaos: handshake refused ({status})"));
            if kind == FaultKind::Reject {
                Effect::Reject { status, body }
            } else {
                let Some(count) = spec.count else {
                    problems.push(src.problem(
                        path.clone(),
                        "`refuse_first` needs a `count`".into(),
                        Some("e.g. \"count\": 3".into()),
                    ));
                    return None;
                };
                Effect::RefuseFirst {
                    count,
                    status,
                    body,
                }
            }
        }
    };
    (problems.len() == before).then(|| Fault {
        kind,
        events: spec.events,
        trigger: trigger.unwrap_or_default(),
        effect,
    })
}

fn compile_delay(
    src: &Source,
    path: &JsonPath,
    spec: &FaultSpec,
    problems: &mut Vec<Problem>,
) -> Option<Delay> {
    let d = |v: Option<crate::located::duration::Dur>| v.map(|d| d.0);
    let mut need = |key: &str, what: &str| {
        problems.push(src.problem(
            path.clone(),
            format!("a {what} latency needs `{key}`"),
            None,
        ));
    };
    match (spec.distribution, d(spec.delay)) {
        (None, Some(delay)) => Some(Delay::Fixed(delay)),
        (None, None) => {
            problems.push(src.problem(
                path.clone(),
                "a `latency` fault needs a `delay` or a `distribution`".into(),
                Some(r#"e.g. "delay": "200ms", or "distribution": "normal", "mean": "200ms", "stddev": "50ms""#.into()),
            ));
            None
        }
        (Some(_), Some(_)) => {
            problems.push(src.problem(
                path.key("delay"),
                "give `delay` or `distribution`, not both".into(),
                None,
            ));
            None
        }
        (Some(Distribution::Uniform), None) => match (d(spec.min), d(spec.max)) {
            (Some(lo), Some(hi)) if lo <= hi => Some(Delay::Uniform(lo, hi)),
            (Some(_), Some(_)) => {
                problems.push(src.problem(
                    path.key("max"),
                    "`max` must not be below `min`".into(),
                    None,
                ));
                None
            }
            (lo, _) => {
                need(if lo.is_none() { "min" } else { "max" }, "uniform");
                None
            }
        },
        (Some(Distribution::Normal), None) => match (d(spec.mean), d(spec.stddev)) {
            (Some(mean), Some(stddev)) => Some(Delay::Normal { mean, stddev }),
            (mean, _) => {
                need(if mean.is_none() { "mean" } else { "stddev" }, "normal");
                None
            }
        },
        (Some(Distribution::Lognormal), None) => match (d(spec.median), spec.sigma) {
            (Some(median), Some(sigma)) if sigma.is_finite() && sigma >= 0.0 => {
                Some(Delay::LogNormal { median, sigma })
            }
            (Some(_), Some(_)) => {
                problems.push(src.problem(
                    path.key("sigma"),
                    "`sigma` must be a number ≥ 0".into(),
                    None,
                ));
                None
            }
            (median, _) => {
                need(
                    if median.is_none() { "median" } else { "sigma" },
                    "lognormal",
                );
                None
            }
        },
    }
}

fn compile_trigger(
    src: &Source,
    path: &JsonPath,
    kind: FaultKind,
    t: TriggerSpec,
    problems: &mut Vec<Problem>,
) -> Option<Trigger> {
    let before = problems.len();
    let mut bad = |key: &str, msg: String| problems.push(src.problem(path.key(key), msg, None));
    if t.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        bad("probability", "`probability` is between 0 and 1".into());
    }
    for (key, v) in [
        ("at_step", t.at_step),
        ("after_step", t.after_step),
        ("turn", t.turn),
        ("attempt", t.attempt),
        ("every", t.every),
    ] {
        if v == Some(0) {
            bad(key, format!("`{key}` counts from 1"));
        }
    }
    if t.at_step.is_some() && t.after_step.is_some() {
        bad(
            "after_step",
            "give `at_step` or `after_step`, not both".into(),
        );
    }
    if matches!(kind, FaultKind::Reject | FaultKind::RefuseFirst) {
        let per_event = [
            ("at_step", t.at_step.is_some()),
            ("after_step", t.after_step.is_some()),
            ("after_marker", t.after_marker.is_some()),
            ("after", t.after.is_some()),
            ("turn", t.turn.is_some()),
            ("every", t.every.is_some()),
        ];
        for (key, on) in per_event {
            if on {
                bad(
                    key,
                    format!(
                        "a `{}` fault happens at the handshake: only `probability` and `attempt` apply",
                        kind_name(kind)
                    ),
                );
            }
        }
    }
    if problems.len() != before {
        return None;
    }
    Some(Trigger {
        probability: t.probability,
        step: t.at_step.or(t.after_step),
        position: if t.after_step.is_some() {
            Position::After
        } else {
            Position::Before
        },
        after_marker: t.after_marker,
        after: t.after.map(|d| d.0),
        from: t.from.unwrap_or_default(),
        turn: t.turn,
        attempt: t.attempt,
        every: t.every,
    })
}
