//! The wire protocol, dialect-free in the middle and dialect-specific at the edges.
//!
//! Client frames are decoded into an [`Action`]; everything the server sends is an
//! [`Event`] until [`dialect::render`] turns it into the JSON frame one dialect expects.

pub(crate) mod action;
pub(crate) mod dialect;
pub(crate) mod event;
pub(crate) mod raw;

pub(crate) use action::{Action, PlanAnswer};
pub(crate) use dialect::{Dialect, DialectChoice};
pub(crate) use event::{Event, HistoryMessage, Scheduled};
