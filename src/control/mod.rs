//! The control plane (DESIGN §11): a registry of live connections with a command
//! channel into each, the journal of what happened, the verification summary read from
//! it, and the `/__pawmock/` routes over them, guarded by [`auth::Access`].

pub mod auth;
pub mod commands;
pub mod journal;
pub mod registry;
pub mod routes;
pub mod summary;

use serde::Serialize;

pub use auth::Access;
pub use journal::{Journal, JournalConfig, What};
pub use registry::{ConnState, Registry};

/// What the control plane shares between the connections and the routes.
pub struct Control {
    pub registry: Registry,
    pub journal: Journal,
    pub access: Access,
}

impl Control {
    pub fn new(access: Access, journal: JournalConfig) -> Control {
        Control {
            registry: Registry::default(),
            journal: Journal::new(journal),
            access,
        }
    }
}

/// A refused request: a 4xx status, what is wrong and what to do instead.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    pub error: String,
    pub hint: String,
}

impl ApiError {
    pub fn new(status: u16, error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            hint: hint.into(),
        }
    }

    pub fn bad_request(error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(400, error, hint)
    }

    pub fn not_found(error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(404, error, hint)
    }

    /// The command reached the connection but there is nothing for it to act on.
    pub fn conflict(error: impl Into<String>, hint: impl Into<String>) -> ApiError {
        ApiError::new(409, error, hint)
    }
}
