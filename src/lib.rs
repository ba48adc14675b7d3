//! pawmock: a mock/replay server for chat frontends that speak PocketPaw's `/ws`
//! WebSocket protocol.
//!
//! Data flows one way (see ARCHITECTURE.md): files → [`library`] → [`choose`] →
//! [`playback`] (pure: turn → schedule) → [`chaos`] (faults) → [`connection`] (time and
//! I/O) → socket, with [`protocol`] rendering events in the connection's dialect.
//!
//! Imports go one way too, with no circle (ARCHITECTURE.md's "Layers"): [`server`] →
//! [`connection`] → [`app`] → [`control`] → [`metrics`] → [`playback`] → [`library`] →
//! [`chaos`] → [`backend`] → [`protocol`] → the leaves ([`located`], [`speed`], [`rng`],
//! [`timestamp`], `recency`, `session_changes`).
//! `tests/layers.rs` checks the imports against that page.

#![warn(unreachable_pub)]

mod app;
mod backend;
mod chaos;
mod choose;
mod cli;
mod commands;
mod connection;
mod control;
mod import;
mod import_sessions;
mod inspector;
mod library;
mod limits;
mod located;
mod metrics;
mod persist;
mod playback;
mod protocol;
mod recency;
mod record;
mod rng;
mod server;
mod session_changes;
mod sessions;
mod sessions_disk;
mod speed;
mod timestamp;

pub use commands::main;

// What the integration tests and the benchmark binaries use (`src/main.rs` only calls
// `main`). Everything else is `pub(crate)`, and `unreachable_pub` keeps it that way.
pub use app::{App, ServeConfig};
pub use chaos::apply::{Context, Delivery, TurnState, apply as apply_chaos};
pub use chaos::inline::parse as parse_fault;
pub use connection::params::{KNOWN as URL_PARAMETERS, parse as parse_url};
pub use control::auth::Access;
pub use control::journal::JournalConfig;
pub use library::format::{ChunkUnit, TimingSpec};
pub use library::reload::{Reloader, Report};
pub use library::scenario::{Body, SayText, ScenarioKind, Step, StepKind};
pub use library::{Entry, Library, compile_text};
pub use located::duration::{Dur, MAX as MAX_DURATION, parse as parse_duration};
pub use playback::schedule::expand_turn;
pub use playback::timing::Timing;
pub use protocol::action::decode as decode_action;
pub use protocol::dialect::{
    Dialect, DialectChoice, render as render_event, render_text as render_event_text,
};
pub use protocol::event::Event;
pub use record::redact::Redactor;
pub use record::upstream::Upstream;
pub use record::{Recorder, spawn as spawn_recorder};
pub use rng::{DEFAULT_SEED, derive as derive_rng};
pub use server::static_files::static_root;
pub use server::watch::{WatchConfig, WatchHandle, spawn as watch};
pub use server::{bind, spawn};
pub use sessions::new_session_id;
pub use speed::Speed;
