//! Client → server actions of both dialects, decoded from one text frame.
//!
//! Decoding never fails silently: every frame that cannot be understood becomes an
//! [`ActionError`] whose message says what was wrong and what to send instead, and the
//! connection answers it with an `error` frame and carries on.

use serde_json::{Map, Value};

use super::dialect::Dialect;

/// The client's answer to a plan that waits for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAnswer {
    Approve,
    Reject,
}

/// One decoded client action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A user message: docs `message{content, session_id?}` or dashboard `chat{message}`.
    Chat {
        text: String,
        session_id: Option<String>,
        via: Dialect,
    },
    Stop,
    SwitchSession {
        session_id: String,
    },
    NewSession,
    /// docs `plan_response{response}` or dashboard `approve_plan` / `reject_plan`.
    Plan {
        answer: PlanAnswer,
        via: Dialect,
    },
    /// The dashboard's first frame when a token is stored; the real backend ignores it.
    Authenticate,
    /// One of the dashboard's legacy actions (settings, reminders, tools, …), answered
    /// from canned backend data; `frame` is the whole client frame.
    Legacy {
        name: String,
        frame: Map<String, Value>,
    },
}

/// Legacy actions the shipped dashboard sends (or the real backend handles).
pub(crate) const LEGACY_ACTIONS: &[&str] = &[
    "tool",
    "toggle_agent",
    "get_settings",
    "settings",
    "save_api_key",
    "get_reminders",
    "add_reminder",
    "delete_reminder",
    "get_intentions",
    "create_intention",
    "update_intention",
    "toggle_intention",
    "delete_intention",
    "run_intention",
    "get_skills",
    "run_skill",
    "get_health",
    "run_health_check",
    "get_health_errors",
    "browse",
    "navigate",
];

const CORE_ACTIONS: &[&str] = &[
    "message",
    "chat",
    "stop",
    "switch_session",
    "new_session",
    "plan_response",
    "approve_plan",
    "reject_plan",
    "authenticate",
];

impl Action {
    /// The dialect this action reveals the client speaks, if it is dialect-specific.
    pub(crate) fn implied_dialect(&self) -> Option<Dialect> {
        match self {
            Action::Chat { via, .. } | Action::Plan { via, .. } => Some(*via),
            Action::Authenticate | Action::Legacy { .. } => Some(Dialect::Dashboard),
            Action::Stop | Action::SwitchSession { .. } | Action::NewSession => None,
        }
    }
}

/// Why a client frame was not understood. The text goes to the client as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ActionError(pub String);

const EXAMPLE: &str = r#"{"action":"message","content":"hello"}"#;

/// Decodes one text frame.
pub fn decode(text: &str) -> Result<Action, ActionError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ActionError(format!(
            "frame is not valid JSON ({e}); send a JSON object such as {EXAMPLE}"
        ))
    })?;
    let Value::Object(frame) = value else {
        return Err(ActionError(format!(
            "frame must be a JSON object with an `action` field, got {}; send e.g. {EXAMPLE}",
            type_name(&value)
        )));
    };
    let name = match frame.get("action") {
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(ActionError(format!(
                "`action` must be a string, got {}",
                type_name(other)
            )));
        }
        None => {
            return Err(ActionError(format!(
                "frame has no `action` field; send e.g. {EXAMPLE}"
            )));
        }
    };
    let fields = Fields {
        action: &name,
        frame: &frame,
    };
    Ok(match name.as_str() {
        "message" => Action::Chat {
            text: fields.string("content")?,
            // A blank id names no session: the current one answers.
            session_id: fields
                .optional_string("session_id")?
                .filter(|s| !s.trim().is_empty()),
            via: Dialect::Docs,
        },
        "chat" => Action::Chat {
            text: fields.string("message")?,
            session_id: None,
            via: Dialect::Dashboard,
        },
        "stop" => Action::Stop,
        "switch_session" => {
            let session_id = fields.string("session_id")?;
            if session_id.trim().is_empty() {
                return Err(ActionError(
                    "`switch_session` needs a non-empty `session_id`; send e.g. {\"action\": \"switch_session\", \"session_id\": \"session_abc123\"}".into(),
                ));
            }
            Action::SwitchSession { session_id }
        }
        "new_session" => Action::NewSession,
        "plan_response" => Action::Plan {
            answer: plan_answer(&fields.string("response")?)?,
            via: Dialect::Docs,
        },
        "approve_plan" => Action::Plan {
            answer: PlanAnswer::Approve,
            via: Dialect::Dashboard,
        },
        "reject_plan" => Action::Plan {
            answer: PlanAnswer::Reject,
            via: Dialect::Dashboard,
        },
        "authenticate" => Action::Authenticate,
        legacy if LEGACY_ACTIONS.contains(&legacy) => Action::Legacy {
            name: name.clone(),
            frame,
        },
        unknown => {
            return Err(ActionError(format!(
                "unknown action `{unknown}`; known actions: {}",
                CORE_ACTIONS
                    .iter()
                    .chain(LEGACY_ACTIONS)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    })
}

fn plan_answer(response: &str) -> Result<PlanAnswer, ActionError> {
    match response.to_ascii_lowercase().as_str() {
        "approve" | "approved" | "yes" => Ok(PlanAnswer::Approve),
        "reject" | "rejected" | "no" => Ok(PlanAnswer::Reject),
        other => Err(ActionError(format!(
            "`response` of action `plan_response` must be \"approve\" or \"reject\", got \"{other}\""
        ))),
    }
}

struct Fields<'a> {
    action: &'a str,
    frame: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn string(&self, key: &str) -> Result<String, ActionError> {
        self.optional_string(key)?.ok_or_else(|| {
            ActionError(format!(
                "action `{}` needs a string field `{key}`",
                self.action
            ))
        })
    }

    fn optional_string(&self, key: &str) -> Result<Option<String>, ActionError> {
        match self.frame.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ActionError(format!(
                "field `{key}` of action `{}` must be a string, got {}",
                self.action,
                type_name(other)
            ))),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_chat_shapes_decode() {
        assert_eq!(
            decode(r#"{"action":"message","content":"hi","session_id":"s1"}"#),
            Ok(Action::Chat {
                text: "hi".into(),
                session_id: Some("s1".into()),
                via: Dialect::Docs
            })
        );
        assert_eq!(
            decode(r#"{"action":"chat","message":"hi"}"#),
            Ok(Action::Chat {
                text: "hi".into(),
                session_id: None,
                via: Dialect::Dashboard
            })
        );
    }

    #[test]
    fn errors_say_what_was_wrong() {
        let e = |t: &str| decode(t).unwrap_err().0;
        assert!(e("nope").contains("not valid JSON"));
        assert!(e("[1]").contains("must be a JSON object"));
        assert!(e(r#"{"content":"x"}"#).contains("no `action`"));
        assert!(e(r#"{"action":5}"#).contains("`action` must be a string"));
        assert!(e(r#"{"action":"dance"}"#).contains("unknown action `dance`"));
        assert!(
            e(r#"{"action":"message","content":3}"#).contains("must be a string, got a number")
        );
        assert!(e(r#"{"action":"message"}"#).contains("needs a string field `content`"));
        assert!(e(r#"{"action":"plan_response","response":"maybe"}"#).contains("approve"));
    }
}
