//! `reject`: the WebSocket handshake is refused with HTTP `status` and `body`, as a
//! real backend does for bad auth (403), rate limits (429) or an outage (503).

use rand::RngExt;

use super::{Check, Kind};
use crate::chaos::format::FaultSpec;
use crate::chaos::trigger::Trigger;
use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reject {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Kind for Reject {
    const PARAMS: &'static [&'static str] = &["status", "body"];
    const TEXT_PARAMS: &'static [&'static str] = &["body"];
    const AT_HANDSHAKE: bool = true;

    fn compile(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Self> {
        let (status, body) = refusal(spec, check, 403);
        Some(Reject { status, body })
    }

    /// Draws from `rng` only when it has a probability and its attempt matches.
    fn refuses(&self, trigger: &Trigger, attempt: u32, rng: &mut Rng) -> Option<(u16, String)> {
        allows(trigger, attempt, rng).then(|| (self.status, self.body.clone()))
    }
}

/// Whether a handshake fault's trigger lets it refuse this attempt: its `attempt`
/// matches (when given), then its `probability` draws (only then, so an attempt that
/// does not match draws nothing).
pub(crate) fn allows(trigger: &Trigger, attempt: u32, rng: &mut Rng) -> bool {
    !(trigger.attempt.is_some_and(|n| n != attempt)
        || trigger.probability.is_some_and(|p| !rng.random_bool(p)))
}

/// The HTTP status (4xx or 5xx, `default` when absent) and body of a refusal.
pub(crate) fn refusal(spec: &FaultSpec, check: &mut Check<'_>, default: u16) -> (u16, String) {
    let status = spec.status.unwrap_or(default);
    if !(400..=599).contains(&status) {
        check.bad(
            "status",
            format!("HTTP status {status} does not refuse a handshake"),
            Some("use a 4xx or 5xx status such as 403, 429, 500 or 503".into()),
        );
    }
    let body = spec
        .body
        .clone()
        .unwrap_or_else(|| format!("pawmock chaos: handshake refused ({status})"));
    (status, body)
}

#[cfg(test)]
mod tests {
    use crate::chaos::fault::Stage;
    use crate::chaos::faults::testing::parse;
    use crate::rng::derive;

    #[test]
    fn a_reject_refuses_at_the_handshake_on_its_attempt() {
        let f = parse("reject:attempt=2").unwrap();
        assert_eq!(f.stage(), Stage::Handshake);
        let mut rng = derive(1, "x", 0);
        assert_eq!(f.effect.refuses(&f.trigger, 1, &mut rng), None);
        assert_eq!(
            f.effect.refuses(&f.trigger, 2, &mut rng),
            Some((403, "pawmock chaos: handshake refused (403)".into()))
        );
        assert!(
            parse("reject:status=200")
                .unwrap_err()
                .contains("HTTP status 200 does not refuse a handshake")
        );
        assert!(
            parse("reject:turn=2")
                .unwrap_err()
                .contains("a `reject` fault happens at the handshake")
        );
    }
}
