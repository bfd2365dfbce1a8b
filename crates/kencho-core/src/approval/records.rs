//! 公文書管理, pure: retention classes and when each may be disposed of, and the holds that stop
//! a disposal (a pending disclosure request, lawsuit or audit).

use serde::{Deserialize, Serialize};
use time::Date;

use super::doc::retention_ends;

/// A retention class (保存期間), as a 文書管理規程's 保存期間表 lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionClass {
    /// 1年未満: copies whose original is kept elsewhere, routine notices and the like
    /// (「行政文書の管理に関するガイドライン」第4 整理 3 保存期間). It need not wait for the
    /// next 1 April: it may be disposed of once its business is done.
    UnderOneYear,
    /// 1, 3, 5, 10 or 30 years from the 1 April after completion (公文書管理法施行令 8条).
    Years(u32),
    /// 常用: kept at hand while in use, never disposed of while that lasts.
    InUse,
}

/// The year counts offices use.
pub const YEARS: [u32; 5] = [1, 3, 5, 10, 30];

/// What [`RetentionClass::code`] stores for 1年未満 and 常用 (the year classes store their count).
const UNDER_ONE_YEAR: i64 = 0;
const IN_USE: i64 = -1;

impl RetentionClass {
    /// Every class in display order.
    pub fn all() -> Vec<RetentionClass> {
        let mut v = vec![RetentionClass::UnderOneYear];
        v.extend(YEARS.map(RetentionClass::Years));
        v.push(RetentionClass::InUse);
        v
    }

    /// The stored number: years, 0 for 1年未満, -1 for 常用.
    pub fn code(self) -> i64 {
        match self {
            RetentionClass::UnderOneYear => UNDER_ONE_YEAR,
            RetentionClass::Years(y) => i64::from(y),
            RetentionClass::InUse => IN_USE,
        }
    }

    pub fn from_code(code: i64) -> Option<RetentionClass> {
        match code {
            UNDER_ONE_YEAR => Some(RetentionClass::UnderOneYear),
            IN_USE => Some(RetentionClass::InUse),
            y => YEARS.into_iter().find(|c| i64::from(*c) == y).map(RetentionClass::Years),
        }
    }

    /// Reads a form or API value: `1年未満` / `under_one_year` / `0`, `常用` / `in_use` / `-1`,
    /// or a year count (`5`, `5年`).
    pub fn parse(s: &str) -> Option<RetentionClass> {
        let s = s.trim();
        match s {
            "1年未満" | "under_one_year" => Some(RetentionClass::UnderOneYear),
            "常用" | "in_use" => Some(RetentionClass::InUse),
            _ => s.trim_end_matches('年').parse::<i64>().ok().and_then(RetentionClass::from_code),
        }
    }

    /// `1年未満`, `5年`, `常用`.
    pub fn label(self) -> String {
        match self {
            RetentionClass::UnderOneYear => "1年未満".into(),
            RetentionClass::Years(y) => format!("{y}年"),
            RetentionClass::InUse => "常用".into(),
        }
    }

    /// The first day a record completed on `completed` may be disposed of; `None` for 常用,
    /// which has no such day while it is in use.
    pub fn disposable_from(self, completed: Date) -> Option<Date> {
        match self {
            RetentionClass::UnderOneYear => Some(completed),
            RetentionClass::Years(y) => Some(retention_ends(completed, y)),
            RetentionClass::InUse => None,
        }
    }
}

/// Why a record is held (廃棄の留保).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// 開示請求 pending (情報公開条例; 行政機関情報公開法 is the national model).
    Disclosure,
    /// 訴訟 pending or expected (the record may be evidence).
    Lawsuit,
    /// 監査 (監査委員監査, 会計検査) pending.
    Audit,
}

crate::names!(HoldKind, "hold kind" { Disclosure = "disclosure", Lawsuit = "lawsuit", Audit = "audit" });

impl HoldKind {
    pub fn label(self) -> &'static str {
        match self {
            HoldKind::Disclosure => "開示請求",
            HoldKind::Lawsuit => "訴訟",
            HoldKind::Audit => "監査",
        }
    }
}

/// Where a record stands (`records.state`): kept until a disposal 起案 is carried out, then
/// destroyed (廃棄) or transferred to the archives (移管); either is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// 保存中: on the disposal lists when its retention ends, and may be held.
    Kept,
    /// 廃棄済: personal data and files removed; that it existed is kept.
    Disposed,
    /// 移管済: exported as an archive package, then removed here.
    Transferred,
}

impl RecordState {
    pub const ALL: [RecordState; 3] = [RecordState::Kept, RecordState::Disposed, RecordState::Transferred];

    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Kept => "kept",
            RecordState::Disposed => "disposed",
            RecordState::Transferred => "transferred",
        }
    }

    /// Reads a stored value; `None` for anything else.
    pub fn parse(s: &str) -> Option<RecordState> {
        RecordState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The state a record is left in by its disposal (`disposal` as stored: `ikan` transfers,
    /// anything else destroys).
    pub fn after_disposal(disposal: &str) -> RecordState {
        if disposal == "ikan" {
            RecordState::Transferred
        } else {
            RecordState::Disposed
        }
    }
}

/// Why a record may not be disposed of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeepReason {
    #[error("the record is 常用 (in use) and is never disposed of while in use")]
    InUse,
    #[error("its retention has not ended")]
    NotExpired,
    #[error("a {0:?} hold is in place")]
    Held(HoldKind),
}

/// Whether a record of `class`, completed on `completed`, with the `holds` still in place, may
/// be disposed of on `today`. Any hold stops it: 公文書管理法施行令 9条1項 keeps a record past
/// its retention while it is the object of an audit, needed for a pending lawsuit, or asked for
/// in a disclosure request (until the hold is lifted; whoever lifts it judges the period).
pub fn may_dispose(class: RetentionClass, completed: Date, holds: &[HoldKind], today: Date) -> Result<(), KeepReason> {
    if let Some(k) = holds.first() {
        return Err(KeepReason::Held(*k));
    }
    match class.disposable_from(completed) {
        None => Err(KeepReason::InUse),
        Some(d) if today < d => Err(KeepReason::NotExpired),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    #[test]
    fn hold_kinds_round_trip() {
        crate::name::check_names::<HoldKind>();
    }

    #[test]
    fn classes_read_and_store() {
        assert_eq!(RetentionClass::parse("1年未満"), Some(RetentionClass::UnderOneYear));
        assert_eq!(RetentionClass::parse("常用"), Some(RetentionClass::InUse));
        assert_eq!(RetentionClass::parse("10"), Some(RetentionClass::Years(10)));
        assert_eq!(RetentionClass::parse("7"), None);
        for c in RetentionClass::all() {
            assert_eq!(RetentionClass::from_code(c.code()), Some(c));
            assert_eq!(RetentionClass::parse(&c.label()), Some(c));
        }
        // 1年未満 need not wait for 1 April; a one-year record does.
        let d = date!(2026 - 06 - 10);
        assert_eq!(RetentionClass::UnderOneYear.disposable_from(d), Some(d));
        assert_eq!(RetentionClass::Years(1).disposable_from(d), Some(date!(2028 - 04 - 01)));
        assert_eq!(RetentionClass::InUse.disposable_from(d), None);
    }

    #[test]
    fn record_states_read_what_they_store() {
        for s in RecordState::ALL {
            assert_eq!(RecordState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::from(s.as_str()));
        }
        assert_eq!(RecordState::parse("kept"), Some(RecordState::Kept));
        assert_eq!(RecordState::parse("Kept"), None);
        assert_eq!(RecordState::parse(""), None);
        assert_eq!(RecordState::after_disposal("ikan"), RecordState::Transferred);
        assert_eq!(RecordState::after_disposal("haiki"), RecordState::Disposed);
    }

    fn class() -> impl Strategy<Value = RetentionClass> {
        (0usize..7).prop_map(|i| RetentionClass::all()[i])
    }

    fn hold() -> impl Strategy<Value = HoldKind> {
        prop_oneof![Just(HoldKind::Disclosure), Just(HoldKind::Lawsuit), Just(HoldKind::Audit)]
    }

    proptest! {
        /// A held or 常用 record is never disposable; otherwise it is exactly when its day came;
        /// and only 1年未満 may go before the 1 April after completion.
        #[test]
        fn disposal_rule(
            c in class(),
            holds in proptest::collection::vec(hold(), 0..3),
            done in 0i64..4000,
            later in 0i64..12000,
        ) {
            let completed = date!(2015 - 01 - 01) + time::Duration::days(done);
            let today = completed + time::Duration::days(later);
            let r = may_dispose(c, completed, &holds, today);
            if !holds.is_empty() || c == RetentionClass::InUse {
                prop_assert!(r.is_err());
            } else {
                let from = c.disposable_from(completed).expect("a day");
                prop_assert_eq!(r.is_ok(), today >= from);
                let next_april = retention_ends(completed, 0);
                if c != RetentionClass::UnderOneYear {
                    prop_assert!(from > next_april);
                }
            }
        }
    }
}
