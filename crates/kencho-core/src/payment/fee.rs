//! 手数料: what a procedure charges. Integer yen everywhere.

use serde::{Deserialize, Serialize};

/// How the amount is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FeeRule {
    /// The same for everyone.
    Fixed { amount: i64 },
    /// A unit price times a quantity the resident chooses (certificates × ¥400).
    PerUnit { unit_price: i64, max_units: i64 },
    /// Staff set it during review (事後決済 only).
    SetByStaff,
}

/// When the resident pays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Before the application can be submitted.
    #[default]
    BeforeSubmission,
    /// After review: the office sets the amount and mails a link (事後決済).
    AfterReview,
}

/// 減免: a reduction with its reason (and evidence, kept as an attachment by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    /// 0–100: the share waived; 100 waives the whole fee.
    pub percent: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeError {
    #[error("the quantity must be between 1 and {max}")]
    Quantity { max: i64 },
    #[error("staff must set the amount (0 or more yen, at most 10,000,000)")]
    StaffAmount,
    #[error("an exemption needs a reason and a share of 1–100 %")]
    Exemption,
    #[error("a fee set by staff can only be paid after review")]
    SetByStaffBeforeReview,
    #[error("amounts must be whole yen from 0 to 10,000,000")]
    Amount,
}

/// Largest fee kencho takes in one payment.
pub const MAX_YEN: i64 = 10_000_000;

/// Checks a rule as written in a procedure definition.
pub fn check_rule(rule: FeeRule, timing: Timing) -> Result<(), FeeError> {
    match rule {
        FeeRule::Fixed { amount } if !(0..=MAX_YEN).contains(&amount) => Err(FeeError::Amount),
        FeeRule::PerUnit { unit_price, max_units }
            if !(1..=MAX_YEN).contains(&unit_price) || !(1..=1000).contains(&max_units) =>
        {
            Err(FeeError::Amount)
        }
        FeeRule::SetByStaff if timing == Timing::BeforeSubmission => Err(FeeError::SetByStaffBeforeReview),
        _ => Ok(()),
    }
}

/// The amount due: the rule applied to the resident's quantity or the staff's amount, less an
/// exemption (rounded down to the yen in the resident's favour: the waived part is rounded up).
pub fn amount_due(
    rule: FeeRule,
    units: Option<i64>,
    staff_amount: Option<i64>,
    exemption: Option<&Exemption>,
) -> Result<i64, FeeError> {
    let gross = match rule {
        FeeRule::Fixed { amount } => amount,
        FeeRule::PerUnit { unit_price, max_units } => {
            let n = units.filter(|n| (1..=max_units).contains(n)).ok_or(FeeError::Quantity { max: max_units })?;
            unit_price.checked_mul(n).filter(|a| *a <= MAX_YEN).ok_or(FeeError::Amount)?
        }
        FeeRule::SetByStaff => staff_amount.filter(|a| (0..=MAX_YEN).contains(a)).ok_or(FeeError::StaffAmount)?,
    };
    match exemption {
        None => Ok(gross),
        Some(x) if !(1..=100).contains(&x.percent) || x.reason.trim().is_empty() => Err(FeeError::Exemption),
        Some(x) => {
            // Integer arithmetic only: waived = ceil(gross × percent / 100).
            let waived = (gross * x.percent + 99) / 100;
            Ok(gross - waived.min(gross))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn certificates_times_unit_price() {
        let rule = FeeRule::PerUnit { unit_price: 400, max_units: 10 };
        assert_eq!(amount_due(rule, Some(3), None, None), Ok(1200));
        assert_eq!(amount_due(rule, Some(11), None, None), Err(FeeError::Quantity { max: 10 }));
        assert_eq!(amount_due(rule, None, None, None), Err(FeeError::Quantity { max: 10 }));
        let half = Exemption { percent: 50, reason: "生活保護受給".into() };
        assert_eq!(amount_due(FeeRule::Fixed { amount: 301 }, None, None, Some(&half)), Ok(150));
        let all = Exemption { percent: 100, reason: "災害".into() };
        assert_eq!(amount_due(FeeRule::Fixed { amount: 301 }, None, None, Some(&all)), Ok(0));
        assert_eq!(amount_due(FeeRule::SetByStaff, None, Some(2500), None), Ok(2500));
        assert_eq!(check_rule(FeeRule::SetByStaff, Timing::BeforeSubmission), Err(FeeError::SetByStaffBeforeReview));
    }

    proptest! {
        #[test]
        fn an_exemption_never_raises_nor_goes_below_zero(gross in 0i64..MAX_YEN, percent in 1i64..=100) {
            let x = Exemption { percent, reason: "r".into() };
            let due = amount_due(FeeRule::Fixed { amount: gross }, None, None, Some(&x)).expect("valid");
            prop_assert!((0..=gross).contains(&due));
        }
    }
}
