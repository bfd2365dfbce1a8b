//! The life of an application (申請) as a state machine, without I/O.
//!
//! ```text
//! draft ──submit──▶ submitted ──accept──▶ accepted ──decide──▶ approved / denied
//!                      │   ▲                 │
//!                      │   └──resubmit── correction_requested ◀─request_correction─┘
//!                      └─request_correction─▶ (same)
//! submitted / accepted / correction_requested ──reject──▶ rejected
//!                                            ──withdraw─▶ withdrawn (applicant, as allowed)
//! ```
//!
//! The decision is one step here. Multi-step approval routes (電子決裁) slot in between
//! `accepted` and the decision: the route produces the `Decide` action when it completes, so
//! the statuses residents see do not change.

use serde::{Deserialize, Serialize};

use crate::procedure::Withdrawal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Accepted,
    CorrectionRequested,
    Approved,
    Denied,
    Rejected,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Draft,
        Status::Submitted,
        Status::Accepted,
        Status::CorrectionRequested,
        Status::Approved,
        Status::Denied,
        Status::Rejected,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::CorrectionRequested => "correction_requested",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Approved | Status::Denied | Status::Rejected | Status::Withdrawn)
    }

    /// Whether the office's clock (標準処理期間) runs in this status.
    pub fn is_open_for_office(self) -> bool {
        matches!(self, Status::Submitted | Status::Accepted)
    }
}

/// Staff roles within a tenant, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 担当
    Tanto,
    /// 係長
    Kakaricho,
    /// 課長
    Kacho,
    /// テナント管理者
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Tanto => "tanto",
            Role::Kakaricho => "kakaricho",
            Role::Kacho => "kacho",
            Role::Admin => "admin",
        }
    }
    pub const ALL: [Role; 4] = [Role::Tanto, Role::Kakaricho, Role::Kacho, Role::Admin];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// Whether the role sees every division's applications, not just its own.
    pub fn sees_all_divisions(self) -> bool {
        self == Role::Admin
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Applicant,
    Staff(Role),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Submit,
    Accept,
    RequestCorrection { message: String },
    Resubmit,
    Reject { reason: String },
    Decide { approve: bool, notice: String },
    Withdraw,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Accept => "accept",
            Action::RequestCorrection { .. } => "request_correction",
            Action::Resubmit => "resubmit",
            Action::Reject { .. } => "reject",
            Action::Decide { .. } => "decide",
            Action::Withdraw => "withdraw",
        }
    }

    /// What was done, telling an approval from a denial (`decide` is both): the suffix of the
    /// action's label key in the web layer.
    pub fn outcome(&self) -> &'static str {
        match self {
            Action::Decide { approve: true, .. } => "approve",
            Action::Decide { approve: false, .. } => "deny",
            other => other.name(),
        }
    }

    /// The free text the action carries, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Action::RequestCorrection { message } => Some(message),
            Action::Reject { reason } => Some(reason),
            Action::Decide { notice, .. } => Some(notice),
            _ => None,
        }
    }
}

/// What the state machine needs to know about an application besides its status.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub status: Status,
    /// Whether the office has accepted it at some point (a resubmission then returns to review).
    pub was_accepted: bool,
    pub withdrawal: Withdrawal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("this action is not possible while the application is {0:?}")]
    WrongStatus(Status),
    #[error("your role may not do this")]
    Forbidden,
    #[error("a message is required")]
    MessageRequired,
    #[error("the message is too long (at most 2000 characters)")]
    MessageTooLong,
}

/// Applies an action; returns the new status or why it is refused.
pub fn transition(facts: Facts, actor: Actor, action: &Action) -> Result<Status, TransitionError> {
    use Status::*;
    if let Some(m) = action.message() {
        if m.trim().is_empty() {
            return Err(TransitionError::MessageRequired);
        }
        if m.chars().count() > 2000 {
            return Err(TransitionError::MessageTooLong);
        }
    }
    let s = facts.status;
    let staff = |min: Role| match actor {
        Actor::Staff(r) if r >= min => Ok(()),
        _ => Err(TransitionError::Forbidden),
    };
    let applicant = || match actor {
        Actor::Applicant => Ok(()),
        _ => Err(TransitionError::Forbidden),
    };
    let wrong = Err(TransitionError::WrongStatus(s));
    match action {
        Action::Submit => {
            applicant()?;
            if s == Draft {
                Ok(Submitted)
            } else {
                wrong
            }
        }
        Action::Accept => {
            staff(Role::Tanto)?;
            if s == Submitted {
                Ok(Accepted)
            } else {
                wrong
            }
        }
        Action::RequestCorrection { .. } => {
            staff(Role::Tanto)?;
            if matches!(s, Submitted | Accepted) {
                Ok(CorrectionRequested)
            } else {
                wrong
            }
        }
        Action::Resubmit => {
            applicant()?;
            if s != CorrectionRequested {
                return wrong;
            }
            Ok(if facts.was_accepted { Accepted } else { Submitted })
        }
        Action::Reject { .. } => {
            staff(Role::Kakaricho)?;
            if matches!(s, Submitted | Accepted | CorrectionRequested) {
                Ok(Rejected)
            } else {
                wrong
            }
        }
        Action::Decide { approve, .. } => {
            staff(Role::Kakaricho)?;
            if s != Accepted {
                return wrong;
            }
            Ok(if *approve { Approved } else { Denied })
        }
        Action::Withdraw => {
            applicant()?;
            if !matches!(s, Submitted | Accepted | CorrectionRequested) {
                return wrong;
            }
            // Until the 処分 (see [`Withdrawal`]).
            Ok(Withdrawn)
        }
    }
}

/// The 標準処理期間 clock of an application (行政手続法 6条, 7条): when it arrived and when the
/// period ends. A 補正 (request for correction) stops the clock and the resubmission starts it
/// again where it stopped: the period is the office's time, not the applicant's, and the
/// arrival date is the first submission's (the 到達 the law counts from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub submitted_at: i64,
    pub due_at: i64,
}

/// The clock after a submission at `now`: a first submission starts it; a resubmission after
/// a 補正 (`earlier`, stopped at `paused_at`) keeps the arrival date and adds the time the
/// application spent with the applicant.
pub fn clock_after_submission(earlier: Option<Clock>, paused_at: Option<i64>, now: i64, standard_days: u32) -> Clock {
    match earlier {
        None => Clock { submitted_at: now, due_at: now.saturating_add(i64::from(standard_days) * 86_400_000) },
        Some(c) => {
            let paused = paused_at.map_or(0, |p| now.saturating_sub(p).max(0));
            Clock { submitted_at: c.submitted_at, due_at: c.due_at.saturating_add(paused) }
        }
    }
}

/// Whether the applicant may withdraw now (to show or hide the button).
pub fn can_withdraw(facts: Facts) -> bool {
    transition(facts, Actor::Applicant, &Action::Withdraw).is_ok()
}

/// Whom an application's mails go to and what they name: the resident, the procedure and the
/// office (read by the binary's `applications`, used by `payments` for its fee mails).
#[derive(Debug, Clone)]
pub struct Addressee {
    pub email: String,
    pub resident_name: String,
    pub receipt_number: Option<String>,
    pub procedure_title: String,
    pub tenant_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(status: Status) -> Facts {
        Facts { status, was_accepted: false, withdrawal: Withdrawal::UntilDecision }
    }

    #[test]
    fn happy_path_and_correction() {
        let kacho = Actor::Staff(Role::Kacho);
        let mut f = facts(Status::Draft);
        f.status = transition(f, Actor::Applicant, &Action::Submit).unwrap();
        f.status = transition(f, kacho, &Action::Accept).unwrap();
        f.was_accepted = true;
        f.status = transition(f, kacho, &Action::RequestCorrection { message: "添付が不鮮明です".into() }).unwrap();
        assert_eq!(f.status, Status::CorrectionRequested);
        f.status = transition(f, Actor::Applicant, &Action::Resubmit).unwrap();
        assert_eq!(f.status, Status::Accepted);
        let done = transition(f, kacho, &Action::Decide { approve: true, notice: "交付します".into() }).unwrap();
        assert_eq!(done, Status::Approved);
    }

    #[test]
    fn roles_and_rules() {
        let tanto = Actor::Staff(Role::Tanto);
        assert_eq!(
            transition(facts(Status::Accepted), tanto, &Action::Decide { approve: true, notice: "x".into() }),
            Err(TransitionError::Forbidden)
        );
        assert_eq!(
            transition(facts(Status::Submitted), tanto, &Action::RequestCorrection { message: " ".into() }),
            Err(TransitionError::MessageRequired)
        );
        assert_eq!(transition(facts(Status::Submitted), tanto, &Action::Submit), Err(TransitionError::Forbidden));
        // Withdrawal stays open until the 処分, however far the office has come.
        let mut f = facts(Status::Accepted);
        f.was_accepted = true;
        assert!(can_withdraw(f));
        f.status = Status::CorrectionRequested;
        assert!(can_withdraw(f));
        f.status = Status::Approved;
        assert!(!can_withdraw(f));
    }

    fn any_action() -> impl Strategy<Value = (bool, Role, Action)> {
        let action = prop_oneof![
            Just(Action::Submit),
            Just(Action::Accept),
            Just(Action::RequestCorrection { message: "m".into() }),
            Just(Action::Resubmit),
            Just(Action::Reject { reason: "r".into() }),
            any::<bool>().prop_map(|approve| Action::Decide { approve, notice: "n".into() }),
            Just(Action::Withdraw),
        ];
        let role = prop_oneof![Just(Role::Tanto), Just(Role::Kakaricho), Just(Role::Kacho), Just(Role::Admin)];
        (any::<bool>(), role, action)
    }

    #[test]
    fn correction_pauses_the_clock() {
        let day = 86_400_000;
        let first = clock_after_submission(None, None, 10 * day, 14);
        assert_eq!(first, Clock { submitted_at: 10 * day, due_at: 24 * day });
        // 補正 requested on day 12, resubmitted on day 20: eight days with the applicant.
        let again = clock_after_submission(Some(first), Some(12 * day), 20 * day, 14);
        assert_eq!(again, Clock { submitted_at: 10 * day, due_at: 32 * day });
    }

    proptest! {
        /// The arrival date never moves, and the office never loses time it had.
        #[test]
        fn resubmission_keeps_arrival_and_never_shortens(
            start in 0i64..1_000_000_000_000, days in 0u32..400, pause in 0i64..100_000_000_000, wait in 0i64..100_000_000_000,
        ) {
            let first = clock_after_submission(None, None, start, days);
            let paused_at = start + pause;
            let again = clock_after_submission(Some(first), Some(paused_at), paused_at + wait, days);
            prop_assert_eq!(again.submitted_at, first.submitted_at);
            prop_assert_eq!(again.due_at, first.due_at + wait);
        }
    }

    proptest! {
        // Whatever anyone tries, a final status never changes, a draft never reaches the office
        // without being submitted, and only allowed actors move the application.
        #[test]
        fn final_states_are_final(steps in proptest::collection::vec(any_action(), 0..40)) {
            let mut f = Facts { status: Status::Draft, was_accepted: false, withdrawal: Withdrawal::UntilDecision };
            for (is_applicant, role, action) in steps {
                let actor = if is_applicant { Actor::Applicant } else { Actor::Staff(role) };
                let before = f.status;
                match transition(f, actor, &action) {
                    Ok(next) => {
                        prop_assert!(!before.is_final(), "moved out of final {:?}", before);
                        prop_assert!(before != Status::Draft || next == Status::Submitted);
                        if next == Status::Withdrawn { prop_assert!(matches!(actor, Actor::Applicant)); }
                        if matches!(next, Status::Approved | Status::Denied) {
                            prop_assert_eq!(before, Status::Accepted);
                            prop_assert!(matches!(actor, Actor::Staff(r) if r >= Role::Kakaricho));
                        }
                        if next == Status::Accepted && before == Status::Submitted { f.was_accepted = true; }
                        f.status = next;
                    }
                    Err(_) => prop_assert_eq!(f.status, before),
                }
            }
        }
    }
}
