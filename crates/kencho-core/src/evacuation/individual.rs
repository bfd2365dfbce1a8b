//! 個別避難計画 (災害対策基本法 49条の14–17): what a plan must record, and when it may be shared.
//!
//! - 49条の14第1項: the municipality makes a plan per 避難行動要支援者, with their consent.
//! - 49条の14第2項: before asking for consent, it explains how the plan will be shared
//!   (49条の15第2項・第3項).
//! - 49条の14第3項: the plan records the 名簿 items of 49条の10第2項 (氏名, 生年月日, 性別, 住所又は
//!   居所, 電話番号その他の連絡先, 避難支援等を必要とする事由), each 避難支援等実施者's name, address
//!   and phone, and the 避難場所 and 避難経路.
//! - 49条の15第2項: shared with 避難支援等関係者 before a disaster only with consent; 第3項: in a
//!   disaster, when specially needed, without it (a decision of the mayor, not kencho's).
//! - 49条の17: whoever receives the plan keeps its secrets (秘密保持義務).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    /// Neither, or the person prefers not to say.
    Other,
}

impl Sex {
    pub fn parse(s: &str) -> Option<Sex> {
        match s {
            "female" => Some(Sex::Female),
            "male" => Some(Sex::Male),
            "other" => Some(Sex::Other),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
        }
    }
}

/// One 避難支援等実施者 as the plan records them (49条の14第3項第1号).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Supporter {
    /// The address their alerts are mailed to (ties the record to the subscription).
    pub email: String,
    pub name: String,
    pub address: String,
    pub phone: String,
}

/// The items of 49条の14第3項 beyond the person's name and address (kept in `Answers`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Individual {
    /// 生年月日, YYYY-MM-DD.
    pub birth_date: String,
    pub sex: Option<Sex>,
    /// 電話番号その他の連絡先.
    pub phone: String,
    /// 避難支援等を必要とする事由.
    pub help_reason: String,
    /// 避難施設その他の避難場所.
    pub place: String,
    /// 避難路その他の避難経路.
    pub route: String,
    pub supporters: Vec<Supporter>,
}

/// An item of 49条の14第3項 not yet recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Name,
    Address,
    BirthDate,
    Sex,
    Phone,
    HelpReason,
    Supporter,
    Place,
    Route,
}

/// What the plan still lacks, in the law's order.
pub fn missing(person: &str, address: &str, i: &Individual) -> Vec<Item> {
    let blank = |s: &str| s.trim().is_empty();
    let mut v = Vec::new();
    for (lacks, item) in [
        (blank(person), Item::Name),
        (blank(address), Item::Address),
        (!is_date(&i.birth_date), Item::BirthDate),
        (i.sex.is_none(), Item::Sex),
        (blank(&i.phone), Item::Phone),
        (blank(&i.help_reason), Item::HelpReason),
        (!i.supporters.iter().any(|s| !blank(&s.name) && !blank(&s.address) && !blank(&s.phone)), Item::Supporter),
        (blank(&i.place), Item::Place),
        (blank(&i.route), Item::Route),
    ] {
        if lacks {
            v.push(item);
        }
    }
    v
}

/// A calendar date written YYYY-MM-DD (1900 onward).
pub fn is_date(s: &str) -> bool {
    crate::forms::parse_iso_date(s).is_some_and(|d| d.year() >= 1900)
}

/// Whether the person's consent to share the plan is in force: recorded, and not withdrawn
/// since (a consent recorded after a withdrawal is in force again). Times in ms.
pub fn consent_in_force(consent_at: Option<i64>, withdrawn_at: Option<i64>) -> bool {
    match (consent_at, withdrawn_at) {
        (Some(c), Some(w)) => c > w,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Consent may be recorded only after the person was told how the plan is shared (49条の14第2項).
pub fn may_record_consent(explained: bool) -> bool {
    explained
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_the_law_asks_is_listed_until_recorded() {
        let mut i = Individual::default();
        assert_eq!(
            missing("", "", &i),
            [
                Item::Name,
                Item::Address,
                Item::BirthDate,
                Item::Sex,
                Item::Phone,
                Item::HelpReason,
                Item::Supporter,
                Item::Place,
                Item::Route
            ]
        );
        i.birth_date = "1941-02-29".into();
        assert!(missing("相馬 花子", "原町区本町", &i).contains(&Item::BirthDate), "1941 is not a leap year");
        i.birth_date = "1940-02-29".into();
        i.sex = Some(Sex::Female);
        i.phone = "0244-00-0000".into();
        i.help_reason = "車いす、耳が聞こえにくい".into();
        i.supporters.push(Supporter { name: "民生委員 相馬".into(), address: "".into(), ..Default::default() });
        i.place = "原町第一小学校".into();
        i.route = "本町通りを北へ".into();
        assert_eq!(missing("相馬 花子", "原町区本町", &i), [Item::Supporter], "a supporter needs address and phone");
        i.supporters[0].address = "原町区旭町".into();
        i.supporters[0].phone = "090-0000-0000".into();
        assert!(missing("相馬 花子", "原町区本町", &i).is_empty());
        for bad in ["1940-13-01", "1940-00-10", "1940-04-31", "40-01-01", "1899-12-31", "１９４０-01-01", ""] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    proptest! {
        // Consent is in force exactly when the latest of the two records is a consent; without
        // an explanation none is recorded.
        #[test]
        fn consent_follows_the_latest_record(c in proptest::option::of(0i64..1000), w in proptest::option::of(0i64..1000)) {
            let latest_is_consent = match (c, w) { (Some(c), Some(w)) => c > w, (Some(_), None) => true, _ => false };
            prop_assert_eq!(consent_in_force(c, w), latest_is_consent);
            if let Some(c) = c {
                prop_assert!(!consent_in_force(Some(c), Some(c + 1)), "a later withdrawal ends it");
                prop_assert!(consent_in_force(Some(c + 1), Some(c)), "a later consent restores it");
            }
            prop_assert!(!may_record_consent(false));
        }

        #[test]
        fn dates_read_back(y in 1900u32..2100, m in 1u32..=12, d in 1u32..=28) {
            let s = format!("{y:04}-{m:02}-{d:02}");
            prop_assert!(is_date(&s));
        }
    }
}
