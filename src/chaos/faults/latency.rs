//! `latency`: extra delay before the event: `delay`, or a `distribution` (`uniform`
//! min/max, `normal` mean/stddev, `lognormal` median/sigma). Later events keep their
//! schedule but never overtake a late one, as on one TCP stream.

use std::time::Duration;

use rand::RngExt;
use rand_distr::{Distribution as _, LogNormal, Normal};

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::{Distribution, FaultSpec};
use crate::chaos::trigger::Position;
use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Latency(pub Delay);

/// An extra delay: fixed or drawn from a named distribution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delay {
    Fixed(Duration),
    Uniform(Duration, Duration),
    Normal { mean: Duration, stddev: Duration },
    LogNormal { median: Duration, sigma: f64 },
}

impl Delay {
    /// Draws one delay (never negative).
    pub(crate) fn sample(&self, rng: &mut Rng) -> Duration {
        let secs = match self {
            Delay::Fixed(d) => return *d,
            Delay::Uniform(lo, hi) if lo >= hi => return *lo,
            Delay::Uniform(lo, hi) => rng.random_range(lo.as_secs_f64()..hi.as_secs_f64()),
            Delay::Normal { mean, stddev } => Normal::new(mean.as_secs_f64(), stddev.as_secs_f64())
                .map_or(mean.as_secs_f64(), |n| n.sample(rng)),
            Delay::LogNormal { median, sigma } => {
                LogNormal::new(median.as_secs_f64().max(1e-9).ln(), *sigma)
                    .map_or(median.as_secs_f64(), |n| n.sample(rng))
            }
        };
        Duration::try_from_secs_f64(secs.max(0.0))
            .map_or(Duration::ZERO, |d| d.min(crate::located::duration::MAX))
    }
}

impl Kind for Latency {
    const PARAMS: &'static [&'static str] = &[
        "delay",
        "distribution",
        "min",
        "max",
        "mean",
        "stddev",
        "median",
        "sigma",
    ];
    const TEXT_PARAMS: &'static [&'static str] = &["distribution"];

    fn compile(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Self> {
        compile_delay(spec, check).map(Latency)
    }

    fn apply(&self, m: &mut Moment<'_>) {
        // This event is late; later ones keep their schedule but cannot overtake it
        // (in-order delivery), so latency does not accumulate. After the event, the
        // delay holds back what follows.
        let d = self.0.sample(m.rng);
        match m.position() {
            Position::Before => m.delay_event(d),
            Position::After => m.shift += d,
        }
        let note = m.op(m.at, Delivery::Nothing);
        m.place(note);
    }
}

fn compile_delay(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Delay> {
    let d = |v: Option<crate::located::duration::Dur>| v.map(|d| d.0);
    let need = |check: &mut Check<'_>, key: &str, what: &str| {
        check.bad("", format!("a {what} latency needs `{key}`"), None);
    };
    match (spec.distribution, d(spec.delay)) {
        (None, Some(delay)) => Some(Delay::Fixed(delay)),
        (None, None) => {
            check.bad(
                "",
                "a `latency` fault needs a `delay` or a `distribution`".into(),
                Some(r#"e.g. "delay": "200ms", or "distribution": "normal", "mean": "200ms", "stddev": "50ms""#.into()),
            );
            None
        }
        (Some(_), Some(_)) => {
            check.bad(
                "delay",
                "give `delay` or `distribution`, not both".into(),
                None,
            );
            None
        }
        (Some(Distribution::Uniform), None) => match (d(spec.min), d(spec.max)) {
            (Some(lo), Some(hi)) if lo <= hi => Some(Delay::Uniform(lo, hi)),
            (Some(_), Some(_)) => {
                check.bad("max", "`max` must not be below `min`".into(), None);
                None
            }
            (lo, _) => {
                need(check, if lo.is_none() { "min" } else { "max" }, "uniform");
                None
            }
        },
        (Some(Distribution::Normal), None) => match (d(spec.mean), d(spec.stddev)) {
            (Some(mean), Some(stddev)) => Some(Delay::Normal { mean, stddev }),
            (mean, _) => {
                need(check, if mean.is_none() { "mean" } else { "stddev" }, "normal");
                None
            }
        },
        (Some(Distribution::Lognormal), None) => match (d(spec.median), spec.sigma) {
            (Some(median), Some(sigma)) if sigma.is_finite() && sigma >= 0.0 => {
                Some(Delay::LogNormal { median, sigma })
            }
            (Some(_), Some(_)) => {
                check.bad("sigma", "`sigma` must be a number ≥ 0".into(), None);
                None
            }
            (median, _) => {
                need(
                    check,
                    if median.is_none() { "median" } else { "sigma" },
                    "lognormal",
                );
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Delay;
    use crate::chaos::faults::testing::{parse, run};
    use crate::rng::derive;

    #[test]
    fn latency_delays_one_event_and_later_ones_never_overtake_it() {
        let ops = run("latency:delay=25ms:events=text_chunk:at_step=1");
        let times: Vec<u128> = ops
            .iter()
            .filter(|o| o.fault.is_none())
            .map(|o| o.at.as_millis())
            .collect();
        // stream_start 0; "one " 10+25=35; "two " 20 → held to 35; marker; "three" 35 (30 < 35); end 40.
        assert_eq!(times, [0, 35, 35, 35, 35, 40]);
    }

    #[test]
    fn latency_distributions_stay_in_their_bounds() {
        let ms = Duration::from_millis;
        let mut rng = derive(3, "latency", 0);
        let uniform = Delay::Uniform(ms(100), ms(200));
        assert!(
            (0..2000)
                .map(|_| uniform.sample(&mut rng))
                .all(|d| d >= ms(100) && d < ms(200))
        );
        let normal = Delay::Normal {
            mean: ms(100),
            stddev: ms(10),
        };
        let mean = (0..5000)
            .map(|_| normal.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / 5000.0;
        assert!((mean - 0.1).abs() < 0.002, "mean {mean}");
        let lognormal = Delay::LogNormal {
            median: ms(100),
            sigma: 0.5,
        };
        let mut draws: Vec<Duration> = (0..5001).map(|_| lognormal.sample(&mut rng)).collect();
        draws.sort();
        let median = draws[2500].as_secs_f64();
        assert!((median - 0.1).abs() < 0.01, "median {median}");
    }

    #[test]
    fn a_latency_needs_one_way_to_say_how_long() {
        assert!(
            parse("latency")
                .unwrap_err()
                .contains("needs a `delay` or a `distribution`")
        );
        assert!(
            parse("latency:distribution=normal:mean=5ms")
                .unwrap_err()
                .contains("a normal latency needs `stddev`")
        );
        assert!(
            parse("latency:distribution=uniform:min=5ms:max=1ms")
                .unwrap_err()
                .contains("`max` must not be below `min`")
        );
    }
}
