//! What a connection tells the control plane (src/control/): the journal entries and
//! the registry's facts. Kept here so the connection code calls one line per event.

use std::sync::Arc;

use crate::app::App;
use crate::control::What;
use crate::protocol::Action;

use super::Setup;

/// Journals a handshake, and its refusal when chaos refuses it.
pub(crate) fn handshake(app: &Arc<App>, setup: &Setup) {
    let journal = &app.control.journal;
    let run = setup.params.run.as_deref();
    let path_and_query = path_and_query(&setup.params.query);
    journal.record(
        &setup.id,
        run,
        What::Handshake {
            path_and_query: path_and_query.clone(),
            attempt: setup.chaos.attempt,
        },
    );
    if let Some(r) = &setup.refusal {
        journal.record(
            &setup.id,
            run,
            What::FaultApplied {
                fault: r.fault.to_owned(),
                stage: "handshake".into(),
                trigger: format!("attempt {}", setup.chaos.attempt),
            },
        );
        journal.record(
            &setup.id,
            run,
            What::Refused {
                path_and_query,
                status: r.status,
                fault: r.fault.to_owned(),
            },
        );
    }
}

pub(crate) fn path_and_query(query: &str) -> String {
    if query.is_empty() {
        "/ws".to_owned()
    } else {
        format!("/ws?{query}")
    }
}

/// The name a client action is journaled under.
pub(crate) fn action_name(action: &Action) -> String {
    match action {
        Action::Chat { .. } => "chat".into(),
        Action::Stop => "stop".into(),
        Action::SwitchSession { .. } => "switch_session".into(),
        Action::NewSession => "new_session".into(),
        Action::Plan { .. } => "plan".into(),
        Action::Authenticate => "authenticate".into(),
        Action::Legacy { name, .. } => name.clone(),
    }
}
