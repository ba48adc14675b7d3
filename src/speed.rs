//! The playback speed: what `--speed`, `?speed=`, a scenario's `timing.speed` and the
//! control API's `{"speed": …}` all mean, checked and combined in one place.
//!
//! A speed divides script time: 1 is the script's (or recording's) pace, 2 twice as fast,
//! 0 no delays at all. Speeds layer by multiplying: a scenario at speed 2 played with
//! `?speed=0.5` (or `--speed 0.5`, the server's default for the URL's) runs at 1
//! ([`Speed::times`]). The control API's live speed is not multiplied in: it replaces
//! the rate at which the connection's (already scaled) schedule plays from now on.
//!
//! It is its own module, below `library`, `playback`, `connection` and `cli`, because
//! all of them check or apply speeds and none of them should import another for it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The longest a scaled duration gets (ten years): a tiny speed cannot overflow offsets.
const FAR: Duration = Duration::from_secs(10 * 365 * 86400);

/// A valid speed: 0 (no delays) or a finite number from [`Speed::MIN`] up. In JSON (the
/// control API's replies) it is the plain number.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Speed(f64);

impl Speed {
    /// The slowest pace accepted besides 0 (which means no delays): slower ones would
    /// stretch a one-day pause past anything a test could wait for.
    pub(crate) const MIN: f64 = 0.001;
    /// The script's own pace.
    pub const NORMAL: Speed = Speed(1.0);
    /// No delays: everything is due at once.
    pub const INSTANT: Speed = Speed(0.0);
    /// What a valid speed is, in the words every error message uses.
    pub(crate) const RULE: &'static str = "0 (no delays) or a number from 0.001 up";

    /// `value` as a speed, if pawmock accepts it: 0, or a finite number from [`MIN`](Self::MIN) up.
    pub fn new(value: f64) -> Option<Speed> {
        (value == 0.0 || (value.is_finite() && value >= Self::MIN)).then_some(Speed(value))
    }

    /// The number (1 is the script's pace).
    pub fn get(self) -> f64 {
        self.0
    }

    /// Whether nothing waits at this speed (speed 0).
    pub(crate) fn is_instant(self) -> bool {
        self.0 <= 0.0
    }

    /// Both speeds applied: a scenario's speed times the URL's (or the server's).
    pub(crate) fn times(self, other: Speed) -> Speed {
        Speed(self.0 * other.0)
    }

    /// Script time as wall time at this speed (speed 0: no time at all).
    pub(crate) fn scale(self, d: Duration) -> Duration {
        if self.is_instant() {
            Duration::ZERO
        } else if self.0 == 1.0 {
            d
        } else {
            // As `div_f64`, without its panic when a tiny speed overflows.
            // Capped far below overflow, so offsets summed from it stay representable.
            Duration::try_from_secs_f64(d.as_secs_f64() / self.0).map_or(FAR, |d| d.min(FAR))
        }
    }

    /// Wall time as script time at this speed: how much of the script plays in `d`.
    pub(crate) fn script_time(self, d: Duration) -> Duration {
        if self.0 == 1.0 {
            d
        } else {
            Duration::try_from_secs_f64(d.as_secs_f64() * self.0).map_or(FAR, |d| d.min(FAR))
        }
    }
}

impl Default for Speed {
    fn default() -> Self {
        Speed::NORMAL
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Parses `--speed` and `PAWMOCK_SPEED`; the error says what to give instead.
impl FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Speed, String> {
        s.parse::<f64>().ok().and_then(Speed::new).ok_or_else(|| {
            format!(
                "`{s}` is not a speed: give {} (1 = recorded pace)",
                Speed::RULE
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_numbers_from_the_minimum_up_are_speeds() {
        for ok in [0.0, 0.001, 0.5, 1.0, 2.0, 1e9] {
            assert_eq!(Speed::new(ok).map(Speed::get), Some(ok), "{ok}");
        }
        for bad in [
            -1.0,
            -0.0001,
            0.0009,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert!(Speed::new(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parsing_names_the_value_and_the_rule() {
        assert_eq!("0.5".parse::<Speed>(), Ok(Speed(0.5)));
        assert_eq!("0".parse::<Speed>(), Ok(Speed::INSTANT));
        let err = "fast".parse::<Speed>().unwrap_err();
        assert_eq!(
            err,
            "`fast` is not a speed: give 0 (no delays) or a number from 0.001 up (1 = recorded pace)"
        );
        assert!("-2".parse::<Speed>().is_err());
        assert!("inf".parse::<Speed>().is_err());
        assert!(" 2".parse::<Speed>().is_err(), "as --speed always did");
    }

    #[test]
    fn in_json_a_speed_is_its_number() {
        let half = Speed::new(0.5).unwrap();
        assert_eq!(
            serde_json::json!({"speed": half}).to_string(),
            r#"{"speed":0.5}"#
        );
    }

    #[test]
    fn speeds_layer_by_multiplying_and_divide_script_time() {
        let scenario = Speed::new(2.0).unwrap();
        let url = Speed::new(0.5).unwrap();
        assert_eq!(scenario.times(url), Speed::NORMAL);
        assert_eq!(scenario.times(Speed::INSTANT), Speed::INSTANT);
        let second = Duration::from_secs(1);
        assert_eq!(scenario.scale(second), Duration::from_millis(500));
        assert_eq!(Speed::INSTANT.scale(second), Duration::ZERO);
        assert_eq!(Speed::NORMAL.scale(second), second);
        assert_eq!(scenario.script_time(second), Duration::from_secs(2));
        // The product of two tiny speeds is below MIN but still scales, capped.
        let tiny = Speed::new(Speed::MIN)
            .unwrap()
            .times(Speed::new(Speed::MIN).unwrap());
        assert_eq!(tiny.scale(Duration::from_secs(86_400 * 365)), FAR);
    }
}
