//! Time as people in Japan read it: Japan Standard Time, today's date there, and the formats
//! pages, mails and reports show. Every capability reads dates this one way; nothing here does
//! I/O or knows any capability.

use time::{Date, OffsetDateTime, UtcOffset};

/// Japan Standard Time (UTC+9, no daylight saving).
pub fn jst() -> UtcOffset {
    UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Epoch milliseconds as a moment in JST (the epoch itself for a value out of range).
pub fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(jst()))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The date in Japan at epoch milliseconds `ms`: the date rules, deadlines and fiscal years are
/// read at.
pub fn date_at(ms: i64) -> Date {
    at(ms).date()
}

/// Today in Japan.
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(jst()).date()
}

/// Epoch milliseconds of the first moment of `d` in Japan.
pub fn start_of(d: Date) -> i64 {
    d.midnight().assume_offset(jst()).unix_timestamp() * 1000
}

/// `2026-12-04 09:30` (JST), or `-` for a value out of range.
pub fn fmt_time(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => {
            let t = t.to_offset(jst());
            format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
        }
        Err(_) => "-".into(),
    }
}

/// `2026-12-04` (JST).
pub fn fmt_date(ms: i64) -> String {
    fmt_time(ms).chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japan_is_nine_hours_ahead() {
        // 2026-03-31 15:00 UTC is already 1 April in Japan: a new fiscal year.
        let ms = 1_774_969_200_000;
        assert_eq!(fmt_time(ms), "2026-04-01 00:00");
        assert_eq!(date_at(ms), Date::from_calendar_date(2026, time::Month::April, 1).unwrap());
        assert_eq!(start_of(date_at(ms)), ms);
        assert_eq!(fmt_date(ms), "2026-04-01");
        assert_eq!(fmt_time(i64::MAX), "-");
    }
}
