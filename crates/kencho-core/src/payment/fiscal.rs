//! 会計年度 and 出納整理期間. A fiscal year runs from 4月1日 to 3月31日 (地方自治法208条1項); its
//! accounts close on 5月31日 of the next year (出納の閉鎖, 235条の5), so from 4月1日 to 5月31日
//! (出納整理期間) money can still be received for a 調定 of the old year. Money received after
//! the closing is revenue of the year it arrives in (過年度収入, 施行令160条).

use time::{Date, Month};

/// The fiscal year (年度, by its starting calendar year) a date falls in.
pub fn fiscal_year(d: Date) -> i32 {
    if (d.month() as u8) >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// First and last day of a fiscal year.
pub fn bounds(fy: i32) -> (Date, Date) {
    let first = Date::from_calendar_date(fy, Month::April, 1).unwrap_or(Date::MIN);
    let last = Date::from_calendar_date(fy + 1, Month::March, 31).unwrap_or(Date::MAX);
    (first, last)
}

/// Last day money can be received for fiscal year `fy` (出納閉鎖: 翌年度5月31日).
pub fn closing_day(fy: i32) -> Date {
    Date::from_calendar_date(fy + 1, Month::May, 31).unwrap_or(Date::MAX)
}

/// Whether `d` lies in the 出納整理期間 of fiscal year `fy` (翌年度4月1日–5月31日).
pub fn in_closing_period(fy: i32, d: Date) -> bool {
    d > bounds(fy).1 && d <= closing_day(fy)
}

/// The fiscal year a receipt on `received` for a 調定 of fiscal year `chotei_fy` is booked to:
/// the 調定's year until its accounts close, the year of receipt after that.
pub fn booking_year(chotei_fy: i32, received: Date) -> i32 {
    if received <= closing_day(chotei_fy) && received >= bounds(chotei_fy).0 {
        chotei_fy
    } else {
        fiscal_year(received)
    }
}

/// Parses `令和7年度`-free input: a fiscal year as its starting calendar year (2025).
pub fn parse_year(s: &str) -> Option<i32> {
    s.trim().parse::<i32>().ok().filter(|y| (2000..=2200).contains(y))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn d(y: i32, m: u8, day: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap()
    }

    #[test]
    fn april_to_march_with_closing_in_may() {
        assert_eq!(fiscal_year(d(2026, 3, 31)), 2025);
        assert_eq!(fiscal_year(d(2026, 4, 1)), 2026);
        assert!(in_closing_period(2025, d(2026, 5, 31)));
        assert!(!in_closing_period(2025, d(2026, 6, 1)));
        assert!(!in_closing_period(2025, d(2026, 3, 31)));
        assert_eq!(booking_year(2025, d(2026, 5, 20)), 2025, "出納整理期間: the old year");
        assert_eq!(booking_year(2025, d(2026, 6, 1)), 2026, "after closing: 過年度収入 of the new year");
    }

    proptest! {
        #[test]
        fn every_day_is_in_one_year_and_the_closing_period_follows_it(days in 0i64..40_000) {
            let day = d(2000, 1, 1) + time::Duration::days(days);
            let fy = fiscal_year(day);
            let (first, last) = bounds(fy);
            prop_assert!(first <= day && day <= last);
            // In the closing period of the previous year exactly in April and May.
            let m = day.month() as u8;
            prop_assert_eq!(in_closing_period(fy - 1, day), m == 4 || m == 5);
            prop_assert!(!in_closing_period(fy, day));
            // Booked to the 調定's year, or a later one; never an earlier one.
            for chotei in [fy - 2, fy - 1, fy] {
                let b = booking_year(chotei, day);
                prop_assert!(b == chotei || b == fy);
                prop_assert_eq!(b == chotei, chotei == fy || in_closing_period(chotei, day));
            }
        }
    }
}
