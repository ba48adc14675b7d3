//! Chaos profiles as files (`recordings/chaos/NAME.json`) and inline faults, as serde
//! types. Like steps, a fault is a flat struct: `kind` names it and the other fields are
//! its parameters, so serde names a wrong field and `compile` checks the combination.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::located::duration::Dur;

/// A chaos profile: faults applied, in order, to every connection that uses it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileFile {
    /// Path of the JSON Schema, for editors: `../../schema/chaos.schema.json`.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<String>,
    /// What the profile simulates.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// The faults, applied in this order.
    pub(crate) faults: Vec<FaultSpec>,
}

/// The kinds of fault: one file each under `faults/`.
pub(crate) use super::faults::FaultKind;

/// One fault: its kind, which events it may touch, when it fires, and its parameters.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    pub(crate) kind: Option<FaultKind>,
    /// Event kinds this fault may touch (default: all): `text_chunk`, `thinking`,
    /// `tool_start`, `tool_result`, `plan`, `inbox`, `error`, `frame`, `stream_start`, `stream_end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) events: Option<Vec<String>>,
    /// When it fires (default: at every matching event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) trigger: Option<TriggerSpec>,
    /// `error`: the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    /// `error`: stop the turn after the error (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) end_turn: Option<bool>,
    /// `error` with `end_turn`: send `stream_end` after it (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stream_end: Option<bool>,
    /// `latency`: a fixed delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delay: Option<Dur>,
    /// `latency`: `uniform`, `normal` or `lognormal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) distribution: Option<Distribution>,
    /// `latency` uniform: lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) min: Option<Dur>,
    /// `latency` uniform: upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max: Option<Dur>,
    /// `latency` normal: mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mean: Option<Dur>,
    /// `latency` normal: standard deviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stddev: Option<Dur>,
    /// `latency` lognormal: median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) median: Option<Dur>,
    /// `latency` lognormal: shape (σ of the underlying normal, e.g. 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sigma: Option<f64>,
    /// `slice` / `fragment`: into how many pieces (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pieces: Option<u32>,
    /// `slice`: time between the pieces (default 100ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) interval: Option<Dur>,
    /// `stall`: how long (absent: for good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration: Option<Dur>,
    /// `close`: the close code, 1000–4999 (default 1011).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<u16>,
    /// `close`: the close reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// `reject` / `refuse_first`: the HTTP status (default 403 / 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    /// `reject` / `refuse_first`: the HTTP body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<String>,
    /// `refuse_first`: how many attempts to refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) count: Option<u32>,
}

impl FaultSpec {
    /// Each parameter (not `kind`, `events`, `trigger`) and whether it is given, in the
    /// order problems with them are reported.
    pub(crate) fn given(&self) -> [(&'static str, bool); 19] {
        [
            ("message", self.message.is_some()),
            ("end_turn", self.end_turn.is_some()),
            ("stream_end", self.stream_end.is_some()),
            ("delay", self.delay.is_some()),
            ("distribution", self.distribution.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
            ("mean", self.mean.is_some()),
            ("stddev", self.stddev.is_some()),
            ("median", self.median.is_some()),
            ("sigma", self.sigma.is_some()),
            ("pieces", self.pieces.is_some()),
            ("interval", self.interval.is_some()),
            ("duration", self.duration.is_some()),
            ("code", self.code.is_some()),
            ("reason", self.reason.is_some()),
            ("status", self.status.is_some()),
            ("body", self.body.is_some()),
            ("count", self.count.is_some()),
        ]
    }
}

/// Named latency distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Distribution {
    Uniform,
    Normal,
    Lognormal,
}

/// When a fault fires. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TriggerSpec {
    /// Chance per matching event (per connection for `reject`), 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) probability: Option<f64>,
    /// At the Nth matching event of a turn, before it is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) at_step: Option<u32>,
    /// Right after the Nth matching event of a turn is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) after_step: Option<u32>,
    /// At the first matching event after the marker with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) after_marker: Option<String>,
    /// At the first matching event this long after the turn started (or the connection
    /// opened, with `"from": "connect"`; `close`/`abort` without `events` then fire on a
    /// timer, even when no turn plays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<Dur>,
    /// What `after` counts from: `turn` (default) or `connect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<From>,
    /// Only in the Nth turn of the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) turn: Option<u32>,
    /// Only on the Nth connection attempt to the same URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) attempt: Option<u32>,
    /// At every Nth matching event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) every: Option<u32>,
}

/// What `after` counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum From {
    #[default]
    Turn,
    Connect,
}
