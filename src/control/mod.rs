//! The control plane (DESIGN §11): a registry of live connections with a command
//! channel into each, the journal of what happened, the verification summary read from
//! it, and the `/__pawmock/` routes over them, guarded by [`auth::Access`].

pub(crate) mod auth;
pub(crate) mod commands;
pub(crate) mod journal;
pub(crate) mod registry;
pub(crate) mod summary;

use serde::Serialize;

pub(crate) use auth::Access;
pub(crate) use journal::{Journal, JournalConfig, What};
pub(crate) use registry::{ConnState, Registry};

/// What the control plane shares between the connections and the routes.
pub(crate) struct Control {
    pub(crate) registry: Registry,
    pub(crate) journal: Journal,
    pub(crate) access: Access,
}

impl Control {
    pub(crate) fn new(access: Access, journal: JournalConfig) -> Control {
        Control {
            registry: Registry::default(),
            journal: Journal::new(journal),
            access,
        }
    }
}

/// A refused request: a 4xx status, what is wrong and what to do instead.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct ApiError {
    #[serde(skip)]
    pub(crate) status: u16,
    pub(crate) error: String,
    pub(crate) hint: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn bad_request(error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(400, error, hint)
    }

    pub(crate) fn not_found(error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(404, error, hint)
    }

    /// The command reached the connection but there is nothing for it to act on.
    pub(crate) fn conflict(error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(409, error, hint)
    }
}
