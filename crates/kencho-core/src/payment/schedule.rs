//! 手数料条例 as data: a tenant's fee schedule (地方自治法228条1項: 手数料 are fixed by 条例), its
//! items (条・別表 and amount in integer yen) and its 減免 grounds (減免事由, each with the
//! article that allows it). A fee is computed from an item, never typed; a 減免 names a ground,
//! never free text.
//!
//! ```toml
//! ordinance = "南相馬市手数料条例"
//!
//! [[items]]
//! code = "inu-toroku"
//! name = "犬の登録手数料"
//! article = "別表第1 第3項"
//! amount = 3000
//! revenue_code = "14-02-01 犬登録手数料"
//!
//! [[grounds]]
//! code = "seikatsu-hogo"
//! text = "生活保護法による保護を受けている者"
//! article = "第5条第1号"
//! percent = 100          # or amount_off = 1500 (yen)
//! items = ["inu-toroku"] # absent: every item
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::fee::MAX_YEN;
use crate::check::Finding;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// 条例名.
    pub ordinance: String,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub grounds: Vec<Ground>,
}

/// One fee of the 条例 (a line of its 別表).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub code: String,
    pub name: String,
    /// Where the 条例 sets it (条 or 別表 and 項).
    pub article: String,
    /// Integer yen (per unit where a procedure lets the resident choose a quantity).
    pub amount: i64,
    /// 歳入科目 the fee is booked to.
    pub revenue_code: String,
}

/// One 減免事由 of the 条例.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ground {
    pub code: String,
    pub text: String,
    /// The article that allows the 減免.
    pub article: String,
    /// The share waived, 1–100 (exactly one of `percent` and `amount_off`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<i64>,
    /// Or a fixed number of yen waived (never more than the fee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<i64>,
    /// The items it applies to; empty: every item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

/// Why a fee cannot be computed; `code()` is the stable code clients see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the fee schedule has no item {0:?}")]
    UnknownItem(String),
    #[error("the fee schedule has no 減免 ground {0:?}")]
    UnknownGround(String),
    #[error("the 減免 ground {ground:?} does not apply to {item:?}")]
    GroundNotForItem { ground: String, item: String },
    #[error("the quantity must be between 1 and {max}")]
    Quantity { max: i64 },
    #[error("the fee would exceed 10,000,000 yen")]
    TooLarge,
}

impl ScheduleError {
    pub fn code(&self) -> &'static str {
        match self {
            ScheduleError::UnknownItem(_) => "fee_item_unknown",
            ScheduleError::UnknownGround(_) => "reduction_ground_unknown",
            ScheduleError::GroundNotForItem { .. } => "reduction_ground_not_for_item",
            ScheduleError::Quantity { .. } => "fee_quantity",
            ScheduleError::TooLarge => "fee_too_large",
        }
    }
}

/// A fee as computed from the schedule: the 調定 is made for `net`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Computed {
    pub item: String,
    pub units: i64,
    pub gross: i64,
    /// The 減免 in yen (0 without a ground).
    pub reduction: i64,
    pub net: i64,
    pub ground: Option<String>,
}

impl Ground {
    pub fn applies_to(&self, item: &str) -> bool {
        self.items.is_empty() || self.items.iter().any(|i| i == item)
    }

    /// The yen waived from `gross`: a share rounded up (in the resident's favour), or a fixed
    /// amount; never more than `gross`.
    pub fn reduction(&self, gross: i64) -> i64 {
        let off = match (self.percent, self.amount_off) {
            (Some(p), _) => (gross * p.clamp(0, 100) + 99) / 100,
            (None, Some(a)) => a.max(0),
            (None, None) => 0,
        };
        off.min(gross)
    }
}

fn ok_code(c: &str) -> bool {
    crate::procedure::is_code(c)
}

impl Schedule {
    pub fn item(&self, code: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.code == code)
    }

    pub fn ground(&self, code: &str) -> Option<&Ground> {
        self.grounds.iter().find(|g| g.code == code)
    }

    /// The fee of `units` × item, less the 減免 of `ground`.
    pub fn compute(
        &self,
        item: &str,
        units: i64,
        max_units: i64,
        ground: Option<&str>,
    ) -> Result<Computed, ScheduleError> {
        let it = self.item(item).ok_or_else(|| ScheduleError::UnknownItem(item.to_string()))?;
        if !(1..=max_units.max(1)).contains(&units) {
            return Err(ScheduleError::Quantity { max: max_units.max(1) });
        }
        let gross = it.amount.checked_mul(units).filter(|a| *a <= MAX_YEN).ok_or(ScheduleError::TooLarge)?;
        let reduction = match ground {
            None => 0,
            Some(g) => {
                let gr = self.ground(g).ok_or_else(|| ScheduleError::UnknownGround(g.to_string()))?;
                if !gr.applies_to(item) {
                    return Err(ScheduleError::GroundNotForItem { ground: g.to_string(), item: item.to_string() });
                }
                gr.reduction(gross)
            }
        };
        Ok(Computed {
            item: item.to_string(),
            units,
            gross,
            reduction,
            net: gross - reduction,
            ground: ground.map(str::to_string),
        })
    }

    /// Reads a schedule and checks it whole; every problem is named with where it is.
    pub fn parse(text: &str) -> Result<Schedule, Vec<Finding>> {
        let s: Schedule = toml::from_str(text).map_err(|e| vec![Finding::of_toml(text, &e)])?;
        let problems = s.problems();
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(problems)
        }
    }

    fn problems(&self) -> Vec<Finding> {
        let mut p = Vec::new();
        let blank = |v: &str| v.trim().is_empty() || v.chars().count() > 200;
        if blank(&self.ordinance) {
            p.push(Finding::new("fee_ordinance", "ordinance"));
        }
        let mut codes = BTreeSet::new();
        for (n, i) in self.items.iter().enumerate() {
            let at = |field: &str| format!("items[{n}].{field}");
            if !ok_code(&i.code) {
                p.push(Finding::new("not_a_code", at("code")).with("code", format!("{:?}", i.code)));
            } else if !codes.insert(i.code.as_str()) {
                p.push(Finding::new("listed_twice", at("code")).with("code", &i.code));
            }
            if blank(&i.name) {
                p.push(Finding::new("fee_item_name", at("name")));
            }
            if blank(&i.article) {
                p.push(Finding::new("fee_item_article", at("article")));
            }
            if !(0..=MAX_YEN).contains(&i.amount) {
                p.push(Finding::new("yen_0_to_max", at("amount")));
            }
            if i.revenue_code.trim().is_empty() || i.revenue_code.chars().count() > 40 {
                p.push(Finding::new("fee_revenue_code", at("revenue_code")));
            }
        }
        let mut grounds = BTreeSet::new();
        for (n, g) in self.grounds.iter().enumerate() {
            let at = |field: &str| format!("grounds[{n}]{field}");
            if !ok_code(&g.code) {
                p.push(Finding::new("not_a_code", at(".code")).with("code", format!("{:?}", g.code)));
            } else if !grounds.insert(g.code.as_str()) {
                p.push(Finding::new("listed_twice", at(".code")).with("code", &g.code));
            }
            if blank(&g.text) {
                p.push(Finding::new("fee_ground_text", at(".text")));
            }
            if blank(&g.article) {
                p.push(Finding::new("fee_ground_article", at(".article")));
            }
            match (g.percent, g.amount_off) {
                (Some(x), None) if (1..=100).contains(&x) => {}
                (None, Some(a)) if (1..=MAX_YEN).contains(&a) => {}
                (Some(_), None) => p.push(Finding::new("fee_ground_percent", at(".percent"))),
                (None, Some(_)) => p.push(Finding::new("yen_1_to_max", at(".amount_off"))),
                _ => p.push(Finding::new("fee_ground_one_of", at(""))),
            }
            for i in &g.items {
                if !codes.contains(i.as_str()) {
                    p.push(Finding::new("fee_ground_item_unknown", at(".items")).with("item", format!("{i:?}")));
                }
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DOC: &str = r#"
ordinance = "南相馬市手数料条例"
[[items]]
code = "inu-toroku"
name = "犬の登録手数料"
article = "別表第1 第3項"
amount = 3000
revenue_code = "14-02-01 犬登録手数料"
[[items]]
code = "shomei"
name = "証明手数料"
article = "別表第1 第1項"
amount = 300
revenue_code = "14-01-01 証明手数料"
[[grounds]]
code = "seikatsu-hogo"
text = "生活保護法による保護を受けている者"
article = "第5条第1号"
percent = 50
items = ["inu-toroku"]
[[grounds]]
code = "saigai"
text = "災害により被害を受けた者"
article = "第5条第2号"
amount_off = 1000
"#;

    #[test]
    fn computes_from_items_and_grounds() {
        let s = Schedule::parse(DOC).unwrap();
        let c = s.compute("inu-toroku", 1, 1, Some("seikatsu-hogo")).unwrap();
        assert_eq!((c.gross, c.reduction, c.net), (3000, 1500, 1500));
        let c = s.compute("shomei", 2, 10, Some("saigai")).unwrap();
        assert_eq!((c.gross, c.reduction, c.net), (600, 600, 0), "never below zero");
        assert_eq!(
            s.compute("shomei", 1, 1, Some("seikatsu-hogo")).unwrap_err().code(),
            "reduction_ground_not_for_item"
        );
        assert_eq!(s.compute("nai", 1, 1, None).unwrap_err().code(), "fee_item_unknown");
        assert_eq!(s.compute("shomei", 1, 1, Some("free-text")).unwrap_err().code(), "reduction_ground_unknown");
        assert_eq!(s.compute("shomei", 11, 10, None).unwrap_err(), ScheduleError::Quantity { max: 10 });
    }

    #[test]
    fn names_every_problem() {
        let bad = r#"
ordinance = ""
[[items]]
code = "A"
name = "x"
article = ""
amount = -1
revenue_code = "r"
[[grounds]]
code = "g"
text = "t"
article = "a"
percent = 50
amount_off = 3
items = ["nai"]
"#;
        let e = Schedule::parse(bad).unwrap_err();
        assert_eq!(e.len(), 6, "{e:?}");
        assert_eq!(e[0].at, "ordinance", "{e:?}");
        assert!(e.iter().any(|f| f.at == "items[0].amount" && f.code == "yen_0_to_max"), "{e:?}");
        assert!(e.iter().any(|f| f.at == "grounds[0]" && f.code == "fee_ground_one_of"), "{e:?}");
        assert!(e.iter().any(|f| f.code == "fee_ground_item_unknown" && f.args[0].1 == "\"nai\""), "{e:?}");
        let e = Schedule::parse("ordinance = \"x\"\ncolour = 1\n").unwrap_err();
        assert!(e[0].code == "unreadable_at" && e[0].args[2].1.contains("unknown field"), "{e:?}");
    }

    proptest! {
        /// A 減免 never raises a fee nor takes it below zero; a share is rounded in the
        /// resident's favour (the waived part rounded up).
        #[test]
        fn reductions_stay_within_the_fee(amount in 0i64..=100_000, units in 1i64..=10, percent in 1i64..=100, off in 1i64..=MAX_YEN) {
            let mut s = Schedule::parse(DOC).unwrap();
            s.items[1].amount = amount;
            s.grounds[1].amount_off = Some(off);
            s.grounds[0].items.clear();
            s.grounds[0].percent = Some(percent);
            for g in ["seikatsu-hogo", "saigai"] {
                let c = s.compute("shomei", units, 10, Some(g)).unwrap();
                prop_assert_eq!(c.gross, amount * units);
                prop_assert!((0..=c.gross).contains(&c.net));
                prop_assert_eq!(c.gross - c.reduction, c.net);
            }
            let c = s.compute("shomei", units, 10, Some("seikatsu-hogo")).unwrap();
            prop_assert!(c.reduction * 100 >= c.gross * percent);
        }
    }
}
