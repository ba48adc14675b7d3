//! ISO 8601 timestamps, as the dashboard's REST and WebSocket payloads carry them.
//!
//! The real backend writes Python `isoformat()` strings; the dashboard only hands them
//! to `new Date(…)`. A small civil-calendar conversion here saves a date-time crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-25T20:19:03.123456+00:00`: UTC with microseconds, the shape Python's
/// `datetime.now(timezone.utc).isoformat()` gives. Times before 1970 print as the epoch.
pub(crate) fn iso8601(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// Seconds since midnight UTC of `t`.
pub(crate) fn seconds_of_day(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        % 86_400
}

/// Year, month and day of the `days`-th day after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, valid far beyond any date pawmock meets).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_like_python_isoformat() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000000+00:00");
        // 2000-02-29 (a leap day) 12:34:56.789
        let t = UNIX_EPOCH + Duration::from_millis(951_827_696_789);
        assert_eq!(iso8601(t), "2000-02-29T12:34:56.789000+00:00");
        // 2026-11-25 20:19:03
        let t = UNIX_EPOCH + Duration::from_secs(1_795_637_943);
        assert_eq!(iso8601(t), "2026-11-25T20:19:03.000000+00:00");
        assert_eq!(seconds_of_day(t), 20 * 3600 + 19 * 60 + 3);
    }
}
