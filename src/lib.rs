//! pawmock: a mock/replay server for chat frontends that speak PocketPaw's `/ws`
//! WebSocket protocol.
//!
//! Data flows one way (see ARCHITECTURE.md): files → [`library`] → [`choose`] →
//! [`playback`] (pure: turn → schedule) → [`connection`] (time and I/O) → socket,
//! with [`protocol`] rendering events in the connection's dialect.

pub mod app;
pub mod backend;
pub mod chaos;
pub mod choose;
pub mod cli;
pub mod connection;
pub mod control;
pub mod inspector;
pub mod library;
pub mod metrics;
pub mod playback;
pub mod protocol;
pub mod server;
pub mod sessions;
pub mod timestamp;
