//! Warnings `pawmock check` prints about how a scenario plays in the dashboard dialect:
//! valid files that behave differently there than a reader might expect.

use super::Library;
use super::scenario::{Body, Step, StepKind};

/// One line per plan step that leaves its dashboard branch to the default.
///
/// The shipped dashboard has no plan UI (addendum C.9), so a plan there plays a branch
/// at once instead of waiting: `approve` unless the step's `dashboard_plan` says.
pub(crate) fn dashboard_notes(library: &Library) -> Vec<String> {
    let mut notes = Vec::new();
    for s in library.scenarios() {
        for (t, turn) in s.turns.iter().enumerate() {
            if let Body::Script(steps) = &turn.body {
                walk(steps, &format!("turns[{t}].reply"), &mut |at| {
                    notes.push(format!(
                        "warning: {}: {at}: in the dashboard dialect this plan does not wait (the dashboard has no plan UI) and plays its `approve` branch at once; set \"dashboard_plan\" to approve, reject or timeout to choose",
                        s.file.display()
                    ));
                });
            }
        }
    }
    notes
}

fn walk(steps: &[Step], path: &str, found: &mut impl FnMut(String)) {
    for (i, step) in steps.iter().enumerate() {
        if let StepKind::Plan(plan) = &step.kind {
            let here = format!("{path}[{i}]");
            if plan.dashboard.is_none() {
                found(here.clone());
            }
            for (key, branch) in [
                ("approve", &plan.approve),
                ("reject", &plan.reject),
                ("timeout", &plan.timeout),
            ] {
                walk(branch, &format!("{here}.{key}"), found);
            }
        }
    }
}
