//! One payment's ledger: its state machine and its money, moved only by verified provider
//! events ([`super::event::ProviderEvent`]).
//!
//! ```text
//! Created ─pending─▶ Pending ─paid─▶ Paid ─refunded…─▶ (partially / fully refunded)
//!    │                 │  └─failed─▶ Failed ─pending─▶ Pending   (the resident tries again)
//!    └──expired / cancelled (from Created, Pending, Failed)──▶ Expired / Cancelled
//! ```
//! Money events win over bookkeeping: a `paid` that arrives after `expired` (the provider took
//! the money, then its late webhook came) still records the money, so the office sees it and
//! can refund it. Every event id counts once; a stale status event (older than the status it
//! would replace) changes nothing; a payment is paid at most once; refunds are counted once
//! per refund id and never beyond what was paid, so the balance (paid − refunded) is never
//! negative.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::event::{EventKind, ProviderEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Created,
    Pending,
    Paid,
    Failed,
    Expired,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Pending => "pending",
            State::Paid => "paid",
            State::Failed => "failed",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        use State::*;
        [Created, Pending, Paid, Failed, Expired, Cancelled].into_iter().find(|x| x.as_str() == s)
    }

    /// Still open: the resident may pay it (a failed attempt may be tried again).
    pub fn is_open(self) -> bool {
        matches!(self, State::Created | State::Pending | State::Failed)
    }
}

/// How much of a paid payment went back (not a refund order's state: that is
/// [`super::refund::RefundState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundedShare {
    None,
    Partial,
    Full,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Applied {
    /// The state or the money changed.
    Changed,
    /// This event id was applied before.
    Duplicate,
    /// Valid but changes nothing now, with why (stale, already paid, refund beyond payment …).
    Ignored(String),
}

impl Applied {
    /// `changed`, `duplicate` or `ignored: why`, as stored and answered.
    pub fn describe(&self) -> String {
        match self {
            Applied::Changed => "changed".into(),
            Applied::Duplicate => "duplicate".into(),
            Applied::Ignored(why) => format!("ignored: {why}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub due: i64,
    state: State,
    /// When the current state was reached, by the provider's clock.
    state_at: i64,
    paid: i64,
    refunds: BTreeMap<String, i64>,
    seen: BTreeSet<String>,
}

impl Ledger {
    pub fn new(due: i64) -> Ledger {
        Ledger {
            due,
            state: State::Created,
            state_at: i64::MIN,
            paid: 0,
            refunds: BTreeMap::new(),
            seen: BTreeSet::new(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn paid(&self) -> i64 {
        self.paid
    }

    pub fn refunded(&self) -> i64 {
        self.refunds.values().sum()
    }

    /// Paid minus refunded; never negative.
    pub fn balance(&self) -> i64 {
        self.paid - self.counted_refunds()
    }

    pub fn refunded_share(&self) -> RefundedShare {
        match self.counted_refunds() {
            0 => RefundedShare::None,
            r if r >= self.paid => RefundedShare::Full,
            _ => RefundedShare::Partial,
        }
    }

    fn set(&mut self, state: State, at: i64) -> Applied {
        self.state = state;
        self.state_at = at;
        Applied::Changed
    }

    /// Applies one verified event. The same event id twice is a [`Applied::Duplicate`].
    pub fn apply(&mut self, e: &ProviderEvent) -> Applied {
        if self.seen.contains(&e.event_id) {
            return Applied::Duplicate;
        }
        let out = self.apply_new(e);
        // Remember every event, applied or ignored, so a retry of it is a duplicate.
        self.seen.insert(e.event_id.clone());
        out
    }

    fn apply_new(&mut self, e: &ProviderEvent) -> Applied {
        let stale = e.at_unix < self.state_at;
        match &e.kind {
            EventKind::Paid { amount } => {
                if self.state == State::Paid {
                    return Applied::Ignored("already paid; a payment is counted once".into());
                }
                if *amount <= 0 {
                    return Applied::Ignored("a paid amount must be positive".into());
                }
                self.paid = *amount;
                // Refunds reported before the payment (out of order) are kept within the paid
                // amount.
                self.clamp_refunds();
                self.set(State::Paid, e.at_unix)
            }
            EventKind::Refunded { refund_ref, amount } => {
                if *amount <= 0 {
                    return Applied::Ignored("a refund must be positive".into());
                }
                let before = self.refunds.get(refund_ref).copied().unwrap_or(0);
                // Providers may report one refund more than once, or its running total: the
                // largest figure for a refund id is the refund.
                if *amount <= before {
                    return Applied::Ignored("this refund was already counted".into());
                }
                let others = self.refunded() - before;
                if self.state == State::Paid && others + amount > self.paid {
                    return Applied::Ignored("refunds cannot exceed what was paid".into());
                }
                self.refunds.insert(refund_ref.clone(), *amount);
                if self.state == State::Paid {
                    Applied::Changed
                } else {
                    // Kept until the payment's own event arrives; counts nothing meanwhile.
                    Applied::Ignored("refund before payment: kept until the payment is confirmed".into())
                }
            }
            _ if self.state == State::Paid => Applied::Ignored("already paid".into()),
            _ if stale => Applied::Ignored("older than the current state".into()),
            EventKind::Pending => match self.state {
                State::Created | State::Failed => self.set(State::Pending, e.at_unix),
                State::Pending => Applied::Ignored("already pending".into()),
                _ => Applied::Ignored("closed".into()),
            },
            EventKind::Failed { .. } => match self.state {
                State::Created | State::Pending => self.set(State::Failed, e.at_unix),
                State::Failed => Applied::Ignored("already failed".into()),
                _ => Applied::Ignored("closed".into()),
            },
            EventKind::Expired | EventKind::Cancelled => match self.state {
                State::Created | State::Pending | State::Failed => {
                    let to = if matches!(e.kind, EventKind::Expired) { State::Expired } else { State::Cancelled };
                    self.set(to, e.at_unix)
                }
                _ => Applied::Ignored("closed".into()),
            },
        }
    }

    /// Drops refunds that would take the balance below zero (reported before the payment).
    fn clamp_refunds(&mut self) {
        while self.refunded() > self.paid {
            let Some(last) = self.refunds.keys().next_back().cloned() else { break };
            self.refunds.remove(&last);
        }
    }

    /// Refunds counted now (only once paid).
    pub fn counted_refunds(&self) -> i64 {
        if self.state == State::Paid {
            self.refunded()
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ev(id: &str, at: i64, kind: EventKind) -> ProviderEvent {
        ProviderEvent { event_id: id.into(), at_unix: at, payment_ref: "p".into(), kind }
    }

    #[test]
    fn decline_then_success() {
        let mut l = Ledger::new(400);
        assert_eq!(l.apply(&ev("1", 1, EventKind::Pending)), Applied::Changed);
        assert_eq!(l.apply(&ev("2", 2, EventKind::Failed { reason: "declined".into() })), Applied::Changed);
        assert_eq!(l.apply(&ev("3", 3, EventKind::Pending)), Applied::Changed);
        assert_eq!(l.apply(&ev("4", 4, EventKind::Paid { amount: 400 })), Applied::Changed);
        assert_eq!(l.apply(&ev("4", 4, EventKind::Paid { amount: 400 })), Applied::Duplicate);
        assert_eq!((l.state(), l.balance()), (State::Paid, 400));
        // A late failure of the first attempt changes nothing.
        assert!(matches!(l.apply(&ev("5", 2, EventKind::Failed { reason: "late".into() })), Applied::Ignored(_)));
        assert_eq!(
            l.apply(&ev("6", 9, EventKind::Refunded { refund_ref: "r1".into(), amount: 100 })),
            Applied::Changed
        );
        assert_eq!(l.refunded_share(), RefundedShare::Partial);
        assert!(matches!(
            l.apply(&ev("7", 9, EventKind::Refunded { refund_ref: "r2".into(), amount: 301 })),
            Applied::Ignored(_)
        ));
        assert_eq!(
            l.apply(&ev("8", 9, EventKind::Refunded { refund_ref: "r2".into(), amount: 300 })),
            Applied::Changed
        );
        assert_eq!((l.balance(), l.refunded_share()), (0, RefundedShare::Full));
    }

    #[test]
    fn money_that_arrives_after_expiry_is_recorded() {
        let mut l = Ledger::new(400);
        l.apply(&ev("1", 10, EventKind::Expired));
        assert_eq!(l.apply(&ev("2", 5, EventKind::Paid { amount: 400 })), Applied::Changed);
        assert_eq!(l.state(), State::Paid);
    }

    /// A true history: attempts that fail, then maybe a payment, then refunds. Providers deliver
    /// it with duplicates and in any order.
    fn history() -> impl Strategy<Value = (i64, Vec<ProviderEvent>)> {
        (1i64..100_000, 0usize..3, any::<bool>(), prop::collection::vec(1i64..50_000, 0..4), any::<bool>()).prop_map(
            |(due, fails, pays, refunds, expires)| {
                let mut t = 0;
                let mut out = Vec::new();
                let mut id = 0;
                let mut push = |kind: EventKind, t: &mut i64| {
                    *t += 1;
                    id += 1;
                    out.push(ev(&format!("e{id}"), *t, kind));
                };
                for _ in 0..fails {
                    push(EventKind::Pending, &mut t);
                    push(EventKind::Failed { reason: "declined".into() }, &mut t);
                }
                if pays {
                    push(EventKind::Pending, &mut t);
                    push(EventKind::Paid { amount: due }, &mut t);
                    let mut left = due;
                    for (i, r) in refunds.iter().enumerate() {
                        let r = (*r).min(left);
                        if r > 0 {
                            left -= r;
                            push(EventKind::Refunded { refund_ref: format!("r{i}"), amount: r }, &mut t);
                        }
                    }
                } else if expires {
                    push(EventKind::Expired, &mut t);
                }
                (due, out)
            },
        )
    }

    proptest! {
        #[test]
        fn duplicates_and_reordering_never_count_money_twice(
            (due, events) in history(),
            order in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
            dups in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let paid: i64 = events.iter().map(|e| match e.kind { EventKind::Paid { amount } => amount, _ => 0 }).sum();
            let refunded: i64 = events.iter().map(|e| match &e.kind { EventKind::Refunded { amount, .. } => *amount, _ => 0 }).sum();
            // Deliver with duplicates, shuffled.
            let mut delivered = events.clone();
            if !events.is_empty() {
                for d in &dups {
                    delivered.push(d.get(&events).clone());
                }
                for (i, j) in order.iter().enumerate() {
                    let n = delivered.len();
                    delivered.swap(i % n, j.index(n));
                }
            }
            let mut l = Ledger::new(due);
            for e in &delivered {
                l.apply(e);
                prop_assert!(l.balance() >= 0);
                prop_assert!(l.paid() <= due);
                prop_assert_eq!(l.counted_refunds() <= l.paid(), true);
            }
            // Everything delivered: the books match the true history exactly.
            prop_assert_eq!(l.paid(), paid);
            prop_assert_eq!(l.counted_refunds(), refunded);
            prop_assert_eq!(l.balance(), paid - refunded);
            prop_assert_eq!(l.state() == State::Paid, paid > 0);
        }
    }
}
