//! 和暦 (Japanese era) display of Gregorian dates.

use time::{Date, Month};

struct Era {
    name: &'static str,
    name_en: &'static str,
    start: (i32, u8, u8),
    /// Gregorian year of the era's first year (明治 counts from 1868 although the solar
    /// calendar, and so our mapping, starts in 1873).
    first_year: i32,
}

// Gregorian start dates of the modern eras.
const ERAS: [Era; 5] = [
    Era { name: "令和", name_en: "Reiwa", first_year: 2019, start: (2019, 5, 1) },
    Era { name: "平成", name_en: "Heisei", first_year: 1989, start: (1989, 1, 8) },
    Era { name: "昭和", name_en: "Showa", first_year: 1926, start: (1926, 12, 25) },
    Era { name: "大正", name_en: "Taisho", first_year: 1912, start: (1912, 7, 30) },
    Era { name: "明治", name_en: "Meiji", first_year: 1868, start: (1873, 1, 1) },
];

fn era_of(d: Date) -> Option<(&'static Era, i32)> {
    for era in &ERAS {
        let (y, m, day) = era.start;
        let month = Month::try_from(m).ok()?;
        let start = Date::from_calendar_date(y, month, day).ok()?;
        if d >= start {
            return Some((era, d.year() - era.first_year + 1));
        }
    }
    None
}

/// The era a date falls in, with the Gregorian year of that era's first year
/// (2026-06-01 → (令和, 2019)); `None` before 1873.
pub fn era_of_date(d: Date) -> Option<(&'static str, i32)> {
    era_of(d).map(|(era, _)| (era.name, era.first_year))
}

/// `令和6年5月1日`, with 元年 for the first year; dates before 1873 (the solar calendar) get
/// no era.
pub fn format_ja(d: Date) -> String {
    match era_of(d) {
        Some((era, 1)) => format!("{}元年{}月{}日", era.name, d.month() as u8, d.day()),
        Some((era, y)) => format!("{}{}年{}月{}日", era.name, y, d.month() as u8, d.day()),
        None => format!("{}年{}月{}日", d.year(), d.month() as u8, d.day()),
    }
}

/// `2024年5月1日（令和6年5月1日）`: both calendars, as forms show dates.
pub fn format_both(d: Date) -> String {
    format!("{}年{}月{}日（{}）", d.year(), d.month() as u8, d.day(), format_ja(d))
}

/// `1 May 2024 (Reiwa 6)`.
pub fn format_en(d: Date) -> String {
    let m = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][d.month() as usize - 1];
    match era_of(d) {
        Some((era, y)) => format!("{} {} {} ({} {})", d.day(), m, d.year(), era.name_en, y),
        None => format!("{} {} {}", d.day(), m, d.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn era_boundaries() {
        assert_eq!(format_ja(date!(2019 - 04 - 30)), "平成31年4月30日");
        assert_eq!(format_ja(date!(2019 - 05 - 01)), "令和元年5月1日");
        assert_eq!(format_ja(date!(2024 - 05 - 01)), "令和6年5月1日");
        assert_eq!(format_ja(date!(1989 - 01 - 07)), "昭和64年1月7日");
        assert_eq!(format_ja(date!(1989 - 01 - 08)), "平成元年1月8日");
        assert_eq!(format_ja(date!(1926 - 12 - 25)), "昭和元年12月25日");
        assert_eq!(format_ja(date!(1912 - 07 - 29)), "明治45年7月29日");
        assert_eq!(format_both(date!(2026 - 11 - 28)), "2026年11月28日（令和8年11月28日）");
        assert_eq!(format_en(date!(2026 - 11 - 28)), "28 November 2026 (Reiwa 8)");
    }
}
