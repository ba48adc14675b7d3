//! The fault kinds, one file each (Toxiproxy's `toxics/` is the model): a kind's file
//! holds its parameters, their validation and defaults, what it does to a turn's events
//! (or to the handshake, or to the connection), and its own tests.
//!
//! Adding a kind: write its file (a type implementing [`Kind`]) and add one line to
//! [`registry!`] below, which declares the module and makes the kind's [`FaultKind`]
//! name (with its doc line, for the JSON Schema) and its [`Effect`] variant. A kind with
//! a parameter name no other kind uses also adds that field to `format::FaultSpec` and
//! to `FaultSpec::given()` (without it, the "not a parameter of this kind" check misses it).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::apply::{Delivery, Moment};
use super::fault::{EventKind, Stage, Trigger};
use super::format::FaultSpec;
use crate::located::problem::{JsonPath, Problem};
use crate::located::source::Source;
use crate::rng::Rng;

/// What every fault kind says about itself.
pub(crate) trait Kind: Sized {
    /// The parameters it takes besides `events` and `trigger` (anything else given is
    /// reported as a mistake).
    const PARAMS: &'static [&'static str];
    /// Its parameters whose `?fault=` values stay text even when they look like numbers.
    const TEXT_PARAMS: &'static [&'static str] = &[];
    /// Its parameters that are `true` or `false`.
    const FLAG_PARAMS: &'static [&'static str] = &[];
    /// Decided at the handshake, before a WebSocket exists (`reject`, `refuse_first`).
    const AT_HANDSHAKE: bool = false;

    /// Validates and completes its parameters; problems go to `check`.
    fn compile(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Self>;

    /// Where a fault of this kind acts, given its trigger and event filter.
    fn stage(_trigger: &Trigger, _events: Option<&[EventKind]>) -> Stage {
        if Self::AT_HANDSHAKE {
            Stage::Handshake
        } else {
            Stage::Event
        }
    }

    /// What it does to one matching event of a turn (the event stage).
    fn apply(&self, _moment: &mut Moment<'_>) {}

    /// The HTTP status and body it refuses handshake number `attempt` with, if it does
    /// (the handshake stage).
    fn refuses(&self, _trigger: &Trigger, _attempt: u32, _rng: &mut Rng) -> Option<(u16, String)> {
        None
    }

    /// What it does when its connect timer fires (the connect-timer stage).
    fn on_timer(&self) -> Delivery {
        Delivery::Nothing
    }
}

/// Where the problems of one fault spec are reported.
pub(crate) struct Check<'a> {
    pub(crate) src: &'a Source<'a>,
    pub(crate) path: &'a JsonPath,
    pub(crate) problems: &'a mut Vec<Problem>,
}

impl Check<'_> {
    /// A problem with parameter `key` (`""`: with the fault as a whole).
    pub(crate) fn bad(&mut self, key: &str, message: String, hint: Option<String>) {
        let at = if key.is_empty() {
            self.path.clone()
        } else {
            self.path.key(key)
        };
        self.problems.push(self.src.problem(at, message, hint));
    }
}

/// `pieces` of `slice` and `fragment`: at least 2, at most 1000, 3 when absent.
pub(crate) fn pieces(spec: &FaultSpec, check: &mut Check<'_>) -> u32 {
    match spec.pieces {
        Some(p) if p < 2 => {
            check.bad("pieces", "`pieces` must be at least 2".into(), None);
            2
        }
        Some(p) => p.min(1000),
        None => 3,
    }
}

#[cfg(test)]
pub(crate) mod testing;

/// Declares the kinds: `module::Type => Variant` per kind, its doc line above it.
macro_rules! registry {
    ($($(#[doc = $doc:literal])+ $module:ident::$ty:ident => $variant:ident,)+) => {
        $(pub(crate) mod $module;)+

        /// The kinds of fault.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum FaultKind {
            $($(#[doc = $doc])+ $variant,)+
        }

        /// What a fault does: its kind's validated parameters.
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) enum Effect {
            $($variant($module::$ty),)+
        }

        impl FaultKind {
            /// Every kind, in the order the docs list them.
            pub(crate) const ALL: &[FaultKind] = &[$(FaultKind::$variant),+];

            /// The name used in files, URLs, logs and counts: its file's name (`drop`,
            /// `refuse_first`, …), which is also how serde spells it.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(FaultKind::$variant => stringify!($module),)+
                }
            }

            pub(crate) fn params(self) -> &'static [&'static str] {
                match self {
                    $(FaultKind::$variant => <$module::$ty as Kind>::PARAMS,)+
                }
            }

            pub(crate) fn texts(self) -> &'static [&'static str] {
                match self {
                    $(FaultKind::$variant => <$module::$ty as Kind>::TEXT_PARAMS,)+
                }
            }

            pub(crate) fn flags(self) -> &'static [&'static str] {
                match self {
                    $(FaultKind::$variant => <$module::$ty as Kind>::FLAG_PARAMS,)+
                }
            }

            pub(crate) fn at_handshake(self) -> bool {
                match self {
                    $(FaultKind::$variant => <$module::$ty as Kind>::AT_HANDSHAKE,)+
                }
            }

            pub(crate) fn compile(self, spec: &FaultSpec, check: &mut Check<'_>) -> Option<Effect> {
                match self {
                    $(FaultKind::$variant => <$module::$ty as Kind>::compile(spec, check).map(Effect::$variant),)+
                }
            }
        }

        impl Effect {
            pub(crate) fn kind(&self) -> FaultKind {
                match self {
                    $(Effect::$variant(_) => FaultKind::$variant,)+
                }
            }

            pub(crate) fn stage(&self, trigger: &Trigger, events: Option<&[EventKind]>) -> Stage {
                match self {
                    $(Effect::$variant(_) => <$module::$ty as Kind>::stage(trigger, events),)+
                }
            }

            pub(crate) fn apply(&self, moment: &mut Moment<'_>) {
                match self {
                    $(Effect::$variant(k) => k.apply(moment),)+
                }
            }

            pub(crate) fn refuses(&self, trigger: &Trigger, attempt: u32, rng: &mut Rng) -> Option<(u16, String)> {
                match self {
                    $(Effect::$variant(k) => k.refuses(trigger, attempt, rng),)+
                }
            }

            pub(crate) fn on_timer(&self) -> Delivery {
                match self {
                    $(Effect::$variant(k) => k.on_timer(),)+
                }
            }
        }
    };
}

registry! {
    /// Insert an `error` event (`message`); `end_turn` stops the turn there, with a
    /// `stream_end` unless `stream_end` is false.
    error::Error => Error,
    /// The event is never sent.
    drop::Drop => Drop,
    /// The event is sent twice.
    duplicate::Duplicate => Duplicate,
    /// The event is swapped with the next one.
    reorder::Reorder => Reorder,
    /// A text frame that is not valid JSON (the frame cut in half) is sent instead.
    corrupt::Corrupt => Corrupt,
    /// Extra delay before the event: `delay`, or a `distribution` (`uniform` min/max,
    /// `normal` mean/stddev, `lognormal` median/sigma). Later events keep their schedule
    /// but never overtake a late one, as on one TCP stream.
    latency::Latency => Latency,
    /// A text chunk is split into `pieces` smaller chunks, `interval` apart (slow drip).
    slice::Slice => Slice,
    /// Silence for `duration`, or for good (no `duration`: no `stream_end`); the socket stays open.
    stall::Stall => Stall,
    /// The frame is sent as a fragmented WebSocket message of `pieces` frames.
    fragment::Fragment => Fragment,
    /// Close the connection with `code` and `reason`.
    close::Close => Close,
    /// Drop the TCP connection without a close frame (the browser sees 1006).
    abort::Abort => Abort,
    /// Refuse the WebSocket handshake with HTTP `status` and `body`.
    reject::Reject => Reject,
    /// Refuse the first `count` connection attempts to the same URL with HTTP `status`.
    refuse_first::RefuseFirst => RefuseFirst,
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<str> for FaultKind {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

impl PartialEq<&str> for FaultKind {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_as_serde_spells_it() {
        for kind in FaultKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.name().into())
            );
        }
    }
}
