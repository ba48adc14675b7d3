//! The wire protocol, dialect-free in the middle and dialect-specific at the edges.
//!
//! Client frames are decoded into an [`Action`]; everything the server sends is an
//! [`Event`] until [`dialect::render`] turns it into the JSON frame one dialect expects.

pub mod action;
pub mod dialect;
pub mod event;
pub mod raw;

pub use action::{Action, ActionError, PlanAnswer};
pub use dialect::{Dialect, DialectChoice};
pub use event::{Event, HistoryMessage, Scheduled};
