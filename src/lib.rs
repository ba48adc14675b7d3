//! pawmock: a mock/replay server for chat frontends that speak PocketPaw's `/ws`
//! WebSocket protocol.
//!
//! Data flows one way (see ARCHITECTURE.md): files → [`library`] → [`choose`] →
//! [`playback`] (pure: turn → schedule) → [`chaos`] (faults) → [`connection`] (time and
//! I/O) → socket, with [`protocol`] rendering events in the connection's dialect.
//!
//! Imports go one way too, with two circles left that ARCHITECTURE.md's "Layers" names
//! (`library ⇄ chaos`; [`app`] and the parts whose routes take the `App` back):
//! [`server`] → [`connection`] → [`app`] → [`playback`] → [`library`] → [`backend`] →
//! [`protocol`] → the leaves ([`located`], [`speed`], [`rng`], [`timestamp`]).
//! `tests/layers.rs` checks the imports against that page.

pub mod app;
pub mod backend;
pub mod chaos;
pub mod choose;
pub mod cli;
pub mod connection;
pub mod control;
pub mod import;
pub mod import_sessions;
pub mod inspector;
pub mod library;
pub mod limits;
pub mod located;
pub mod metrics;
pub(crate) mod peer;
pub mod persist;
pub mod playback;
pub mod protocol;
mod recency;
pub mod record;
pub mod rng;
pub mod server;
pub mod session_changes;
pub mod sessions;
pub mod sessions_disk;
pub mod speed;
pub mod timestamp;
