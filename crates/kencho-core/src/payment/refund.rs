//! 過誤納還付: a refund is money paid out, so it follows the path of a payment out of the
//! treasury. The 長's side orders it (支出命令, 地方自治法232条の4第1項), the 会計管理者 reviews
//! the order before paying (232条の4第2項: no payment until the 会計管理者 has confirmed it is
//! lawful and the debt fixed) — and the reviewer is never the person who ordered it — and only
//! then is it sent to the provider. A refund above the tenant's limit is first decided by a
//! 決裁 (起案); a refused review changes nothing.
//!
//! ```text
//! AwaitingApproval ─kian executed─▶ Ordered ─review ok (another person)─▶ ToSend ─sent─▶ Requested
//!                                     └─review refused─▶ Rejected              Requested ─▶ Succeeded / Failed
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Waiting for the 決裁 above the tenant's limit.
    AwaitingApproval,
    /// 支出命令 made; waiting for the 会計管理者's review.
    Ordered,
    /// Reviewed and approved; to be sent to the provider.
    ToSend,
    /// Sent; the provider's answer is awaited.
    Requested,
    Succeeded,
    Failed,
    /// The review refused the order (or its 決裁 was refused): nothing is paid.
    Rejected,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::AwaitingApproval => "awaiting_approval",
            RefundState::Ordered => "ordered",
            RefundState::ToSend => "to_send",
            RefundState::Requested => "requested",
            RefundState::Succeeded => "succeeded",
            RefundState::Failed => "failed",
            RefundState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<RefundState> {
        use RefundState::*;
        [AwaitingApproval, Ordered, ToSend, Requested, Succeeded, Failed, Rejected]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Money is still earmarked for it (counts against what is left to refund).
    pub fn pending(self) -> bool {
        matches!(
            self,
            RefundState::AwaitingApproval | RefundState::Ordered | RefundState::ToSend | RefundState::Requested
        )
    }
}

/// What happens to a refund order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "act")]
pub enum RefundAct {
    /// The 起案 for a refund above the limit was carried out (施行).
    KianExecuted,
    /// The 起案 was refused or abandoned.
    KianRefused,
    /// The 会計管理者's review, by staff `reviewer`.
    Review { reviewer: i64, approve: bool },
    /// Handed to the provider.
    Sent,
    /// The provider's answer.
    Settled { ok: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("the person who ordered a refund cannot review it")]
    SamePerson,
    #[error("not possible while the refund is {0}")]
    WrongState(&'static str),
}

impl RefundError {
    pub fn code(&self) -> &'static str {
        match self {
            RefundError::SamePerson => "refund_same_person",
            RefundError::WrongState(_) => "refund_wrong_state",
        }
    }
}

/// The state an order starts in: ordered, or waiting for its 決裁.
pub fn initial(needs_kian: bool) -> RefundState {
    if needs_kian {
        RefundState::AwaitingApproval
    } else {
        RefundState::Ordered
    }
}

/// One step of a refund ordered by staff `ordered_by`.
pub fn step(state: RefundState, ordered_by: i64, act: RefundAct) -> Result<RefundState, RefundError> {
    use RefundAct as A;
    use RefundState as S;
    match (state, act) {
        (S::AwaitingApproval, A::KianExecuted) => Ok(S::Ordered),
        (S::AwaitingApproval, A::KianRefused) => Ok(S::Rejected),
        (S::Ordered, A::Review { reviewer, .. }) if reviewer == ordered_by => Err(RefundError::SamePerson),
        (S::Ordered, A::Review { approve: true, .. }) => Ok(S::ToSend),
        (S::Ordered, A::Review { approve: false, .. }) => Ok(S::Rejected),
        (S::ToSend, A::Sent) => Ok(S::Requested),
        (S::Requested | S::ToSend, A::Settled { ok: true }) => Ok(S::Succeeded),
        (S::Requested | S::ToSend, A::Settled { ok: false }) => Ok(S::Failed),
        (s, _) => Err(RefundError::WrongState(s.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn order_review_send() {
        let s = initial(false);
        assert_eq!(step(s, 1, RefundAct::Review { reviewer: 1, approve: true }), Err(RefundError::SamePerson));
        assert_eq!(step(s, 1, RefundAct::Sent), Err(RefundError::WrongState("ordered")));
        let s = step(s, 1, RefundAct::Review { reviewer: 2, approve: true }).unwrap();
        assert_eq!(s, RefundState::ToSend);
        assert_eq!(step(s, 1, RefundAct::Sent), Ok(RefundState::Requested));
        let k = initial(true);
        assert_eq!(
            step(k, 1, RefundAct::Review { reviewer: 2, approve: true }),
            Err(RefundError::WrongState("awaiting_approval"))
        );
        assert_eq!(step(k, 1, RefundAct::KianExecuted), Ok(RefundState::Ordered));
    }

    fn arb_act() -> impl Strategy<Value = RefundAct> {
        prop_oneof![
            Just(RefundAct::KianExecuted),
            Just(RefundAct::KianRefused),
            (0i64..3, any::<bool>()).prop_map(|(reviewer, approve)| RefundAct::Review { reviewer, approve }),
            Just(RefundAct::Sent),
            any::<bool>().prop_map(|ok| RefundAct::Settled { ok }),
        ]
    }

    proptest! {
        /// Nothing reaches the provider without an approving review by someone other than the
        /// orderer; a refused order never moves again; a refused step changes nothing.
        #[test]
        fn nothing_is_sent_unreviewed(kian in any::<bool>(), acts in proptest::collection::vec(arb_act(), 0..12)) {
            let orderer = 0;
            let mut s = initial(kian);
            let mut approved_by_other = false;
            for a in acts {
                let before = s;
                match step(s, orderer, a) {
                    Ok(next) => {
                        if let RefundAct::Review { reviewer, approve: true } = a {
                            prop_assert_ne!(reviewer, orderer);
                            approved_by_other = true;
                        }
                        prop_assert_ne!(before, RefundState::Rejected);
                        s = next;
                    }
                    Err(_) => prop_assert_eq!(s, before),
                }
                if matches!(s, RefundState::ToSend | RefundState::Requested | RefundState::Succeeded | RefundState::Failed) {
                    prop_assert!(approved_by_other);
                }
            }
        }
    }
}
