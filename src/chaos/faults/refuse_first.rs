//! `refuse_first`: the first `count` connection attempts to the same URL are refused
//! with HTTP `status` (a backend that comes up late).

use super::reject::refusal;
use super::{Check, Kind};
use crate::chaos::format::FaultSpec;
use crate::chaos::trigger::Trigger;
use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RefuseFirst {
    pub(crate) count: u32,
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Kind for RefuseFirst {
    const PARAMS: &'static [&'static str] = &["count", "status", "body"];
    const TEXT_PARAMS: &'static [&'static str] = &["body"];
    const AT_HANDSHAKE: bool = true;

    fn compile(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Self> {
        let (status, body) = refusal(spec, check, 503);
        let Some(count) = spec.count else {
            check.bad(
                "",
                "`refuse_first` needs a `count`".into(),
                Some("e.g. \"count\": 3".into()),
            );
            return None;
        };
        Some(RefuseFirst {
            count,
            status,
            body,
        })
    }

    /// The first `count` attempts, when the trigger's `attempt` and `probability` (the
    /// two a handshake fault takes) allow it too.
    fn refuses(&self, trigger: &Trigger, attempt: u32, rng: &mut Rng) -> Option<(u16, String)> {
        (attempt <= self.count && super::reject::allows(trigger, attempt, rng))
            .then(|| (self.status, self.body.clone()))
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::parse;
    use crate::rng::derive;

    #[test]
    fn the_first_attempts_are_refused() {
        let f = parse("refuse_first:count=2:status=429").unwrap();
        let mut rng = derive(1, "x", 0);
        let refused: Vec<bool> = (1..=3)
            .map(|n| f.effect.refuses(&f.trigger, n, &mut rng).is_some())
            .collect();
        assert_eq!(refused, [true, true, false]);
        // Its trigger applies too (it was ignored): a probability of 0 never refuses,
        // and `attempt` picks one of the first `count`.
        let never = parse("refuse_first:count=2:probability=0").unwrap();
        assert!(never.effect.refuses(&never.trigger, 1, &mut rng).is_none());
        let second = parse("refuse_first:count=2:attempt=2").unwrap();
        let refused: Vec<bool> = (1..=3)
            .map(|n| second.effect.refuses(&second.trigger, n, &mut rng).is_some())
            .collect();
        assert_eq!(refused, [false, true, false]);
        assert!(
            parse("refuse_first")
                .unwrap_err()
                .contains("`refuse_first` needs a `count`")
        );
    }
}
