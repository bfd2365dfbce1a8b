//! Roles as data: which staff roles (and, optionally, which divisions) may do the sensitive
//! acts of a tenant. A tenant administrator keeps the table as a small TOML document; actions it
//! does not mention keep their defaults.
//!
//! ```toml
//! [refund_order]
//! roles = ["kakaricho", "kacho", "admin"]
//! own_division = true            # only payments of the staff member's own division
//!
//! [alert_issue_5]
//! roles = ["kacho"]
//! divisions = ["kikikanri"]      # division codes; empty or absent: any division
//! ```
//!
//! A grant never needs one person twice: where an act needs approval (levels 4 and 5 of an
//! evacuation alert), the approver must be someone else than the requester, which the caller
//! checks.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::application::Role;
use crate::check::Finding;

/// The acts whose roles are data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// 手数料の決定: set what an application owes (an item of the 手数料条例; the amount is
    /// computed, never typed). Makes the 調定 (施行令154条).
    FeeSet,
    /// 減免の決定: apply a 減免事由 of the 手数料条例 to a fee.
    FeeReduce,
    /// 現金の収納 at the counter: the 会計管理者 and 出納員 keep cash (地方自治法170条2項1号,
    /// 171条).
    CashReceive,
    /// 還付の支出命令: order a refund of a paid fee (232条の4第1項).
    RefundOrder,
    /// 支出命令の審査: the 会計管理者 reviews a refund order before it is paid (232条の4第2項);
    /// never the person who ordered it.
    RefundReview,
    /// Issue (level 3) or request (levels 4, 5) an evacuation alert of a level.
    AlertIssue(u8),
    /// Approve a requested level 4 or 5 alert (a different person from the requester).
    AlertApprove(u8),
    /// Lift (解除) an evacuation alert.
    AlertLift,
    /// Open, make and change 個別避難計画 (a vulnerable person's health and mobility needs).
    IndividualPlans,
    /// Open 見守り records (watched people, their contacts and alarms).
    WatchRecords,
    /// 鳥獣 work: register capture permits (鳥獣保護管理法 第9条), read their reports, and be
    /// told at once of a 錯誤捕獲.
    Wildlife,
    /// 施行: carry out a decided 起案 (a notice to the resident, a disposal). By default the
    /// drafting section's (`own_division`): after the April reshuffle the drafter may sit
    /// elsewhere, and the decision must still go out.
    KianExecute,
    /// Place or lift a hold (開示請求・訴訟・監査) that stops a record's disposal.
    RecordHold,
}

pub const ALL: [Action; 16] = [
    Action::FeeSet,
    Action::FeeReduce,
    Action::CashReceive,
    Action::RefundOrder,
    Action::RefundReview,
    Action::AlertIssue(3),
    Action::AlertIssue(4),
    Action::AlertIssue(5),
    Action::AlertApprove(4),
    Action::AlertApprove(5),
    Action::AlertLift,
    Action::IndividualPlans,
    Action::WatchRecords,
    Action::Wildlife,
    Action::KianExecute,
    Action::RecordHold,
];

impl Action {
    pub fn key(self) -> String {
        match self {
            Action::FeeSet => "fee_set".into(),
            Action::FeeReduce => "fee_reduce".into(),
            Action::CashReceive => "cash_receive".into(),
            Action::RefundOrder => "refund_order".into(),
            Action::RefundReview => "refund_review".into(),
            Action::AlertIssue(l) => format!("alert_issue_{l}"),
            Action::AlertApprove(l) => format!("alert_approve_{l}"),
            Action::AlertLift => "alert_lift".into(),
            Action::IndividualPlans => "individual_plans".into(),
            Action::WatchRecords => "watch_records".into(),
            Action::Wildlife => "wildlife".into(),
            Action::KianExecute => "kian_execute".into(),
            Action::RecordHold => "record_hold".into(),
        }
    }

    /// Whether the act is on something of a division (so `own_division` means something).
    pub fn on_division(self) -> bool {
        matches!(self, Action::RefundOrder | Action::KianExecute)
    }

    pub fn parse(key: &str) -> Option<Action> {
        // `refund` is how tables written before the 支出命令 and its review were split name it.
        if key == "refund" {
            return Some(Action::RefundOrder);
        }
        all().into_iter().find(|a| a.key() == key)
    }
}

/// Every action once, in display order.
pub fn all() -> Vec<Action> {
    ALL.to_vec()
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Who may do one act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub roles: Vec<Role>,
    /// Division codes; empty: any division.
    pub divisions: Vec<String>,
    /// The act is on something of a division (a payment): only its own division's staff, and
    /// administrators, may do it.
    pub own_division: bool,
}

impl Grant {
    fn of(roles: &[Role]) -> Grant {
        Grant { roles: roles.to_vec(), divisions: Vec::new(), own_division: false }
    }
}

/// The division the 会計管理者 and the 出納員 belong to by default (会計課).
pub const KAIKEI: &str = "kaikei";

/// The tenant's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    grants: BTreeMap<Action, Grant>,
}

/// What the acting staff member is.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub role: Role,
    pub division: &'a str,
}

impl Default for Policy {
    fn default() -> Self {
        use Role::*;
        let mut grants = BTreeMap::new();
        grants.insert(Action::FeeSet, Grant::of(&[Tanto, Kakaricho, Kacho]));
        // 減免 is decided by the 課長 (a typical 事務決裁規程 leaves it to the 課長専決).
        grants.insert(Action::FeeReduce, Grant::of(&[Kacho]));
        // Cash and the review of payments belong to the 会計管理者 and 出納員: by default the
        // staff of the 会計課 (division `kaikei`); a tenant whose 出納員 sit in each division
        // lists them here.
        grants.insert(Action::CashReceive, Grant { divisions: vec![KAIKEI.into()], ..Grant::of(&[Kakaricho, Kacho]) });
        grants.insert(Action::RefundOrder, Grant { own_division: true, ..Grant::of(&[Kakaricho, Kacho, Admin]) });
        grants.insert(Action::RefundReview, Grant { divisions: vec![KAIKEI.into()], ..Grant::of(&[Kacho]) });
        grants.insert(Action::AlertIssue(3), Grant::of(&[Kakaricho, Kacho, Admin]));
        grants.insert(Action::AlertIssue(4), Grant::of(&[Kakaricho, Kacho, Admin]));
        grants.insert(Action::AlertIssue(5), Grant::of(&[Kacho, Admin]));
        grants.insert(Action::AlertApprove(4), Grant::of(&[Kacho, Admin]));
        grants.insert(Action::AlertApprove(5), Grant::of(&[Kacho, Admin]));
        grants.insert(Action::AlertLift, Grant::of(&[Kacho, Admin]));
        grants.insert(Action::IndividualPlans, Grant::of(&[Kakaricho, Kacho, Admin]));
        grants.insert(Action::WatchRecords, Grant::of(&[Kacho, Admin]));
        // A tenant narrows this to its 鳥獣 division (`divisions = ["kankyo"]`): everyone it
        // grants is also mailed each 錯誤捕獲.
        grants.insert(Action::Wildlife, Grant::of(&[Kakaricho, Kacho, Admin]));
        grants
            .insert(Action::KianExecute, Grant { own_division: true, ..Grant::of(&[Tanto, Kakaricho, Kacho, Admin]) });
        grants.insert(Action::RecordHold, Grant::of(&[Kakaricho, Kacho, Admin]));
        Policy { grants }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantDoc {
    roles: Vec<String>,
    #[serde(default)]
    divisions: Vec<String>,
    #[serde(default)]
    own_division: Option<bool>,
}

impl Policy {
    pub fn grant(&self, action: Action) -> Grant {
        self.grants.get(&action).cloned().unwrap_or_else(|| Grant::of(&[Role::Admin]))
    }

    /// May `who` do `action`? `on_division`: the division the thing acted on belongs to (for
    /// grants with `own_division`).
    pub fn allows(&self, action: Action, who: Who<'_>, on_division: Option<&str>) -> bool {
        let g = self.grant(action);
        if !g.roles.contains(&who.role) {
            return false;
        }
        if !g.divisions.is_empty() && !g.divisions.iter().any(|d| d == who.division) {
            return false;
        }
        // An administrator may refund for any division; 施行 stays with the drafting section
        // whatever the role, since only it answers for carrying the decision out.
        if g.own_division && (who.role != Role::Admin || action == Action::KianExecute) {
            if let Some(d) = on_division {
                return d == who.division;
            }
        }
        true
    }

    /// Reads a tenant's document; every problem is named with where it is. Actions left out
    /// keep their defaults.
    pub fn parse(text: &str) -> Result<Policy, Vec<Finding>> {
        let doc: BTreeMap<String, toml::Value> = toml::from_str(text).map_err(|e| vec![Finding::of_toml(text, &e)])?;
        let mut policy = Policy::default();
        let mut problems = Vec::new();
        for (key, value) in doc {
            let Some(action) = Action::parse(&key) else {
                let known: Vec<String> = all().iter().map(|a| a.key()).collect();
                problems.push(Finding::new("policy_not_an_action", format!("[{key}]")).with("known", known.join(", ")));
                continue;
            };
            let g: GrantDoc = match value.try_into() {
                Ok(g) => g,
                Err(e) => {
                    problems.push(Finding::unreadable(e).at(format!("[{key}]")));
                    continue;
                }
            };
            let mut roles = Vec::new();
            for r in &g.roles {
                match Role::parse(r) {
                    Some(role) if !roles.contains(&role) => roles.push(role),
                    Some(_) => problems.push(Finding::new("listed_twice", format!("[{key}].roles")).with("code", r)),
                    None => problems.push(
                        Finding::new("policy_not_a_role", format!("[{key}].roles")).with("role", format!("{r:?}")),
                    ),
                }
            }
            if g.roles.is_empty() {
                problems.push(Finding::new("policy_no_role", format!("[{key}].roles")));
            }
            for d in &g.divisions {
                if !crate::procedure::is_code(d) {
                    problems
                        .push(Finding::new("not_a_code", format!("[{key}].divisions")).with("code", format!("{d:?}")));
                }
            }
            if g.own_division.is_some() && !action.on_division() {
                problems.push(Finding::new("policy_own_division", format!("[{key}].own_division")));
            }
            let default_own = policy.grant(action).own_division;
            policy.grants.insert(
                action,
                Grant { roles, divisions: g.divisions, own_division: g.own_division.unwrap_or(default_own) },
            );
        }
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(problems)
        }
    }

    /// The whole table as a document (every action, defaults included).
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for action in all() {
            let g = self.grant(action);
            let roles: Vec<String> = g.roles.iter().map(|r| format!("\"{}\"", r.as_str())).collect();
            out.push_str(&format!("[{}]\nroles = [{}]\n", action.key(), roles.join(", ")));
            if !g.divisions.is_empty() {
                let d: Vec<String> = g.divisions.iter().map(|d| format!("\"{d}\"")).collect();
                out.push_str(&format!("divisions = [{}]\n", d.join(", ")));
            }
            if action.on_division() {
                out.push_str(&format!("own_division = {}\n", g.own_division));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn who(role: Role, division: &str) -> Who<'_> {
        Who { role, division }
    }

    #[test]
    fn defaults_keep_clerks_from_alerts_and_refunds_in_their_division() {
        let p = Policy::default();
        assert!(!p.allows(Action::AlertIssue(5), who(Role::Tanto, "x"), None));
        assert!(!p.allows(Action::AlertIssue(3), who(Role::Tanto, "x"), None));
        assert!(p.allows(Action::AlertIssue(3), who(Role::Kakaricho, "x"), None));
        assert!(!p.allows(Action::AlertLift, who(Role::Kakaricho, "x"), None));
        assert!(p.allows(Action::RefundOrder, who(Role::Kakaricho, "kankyo"), Some("kankyo")));
        assert!(!p.allows(Action::RefundOrder, who(Role::Kakaricho, "kodomo"), Some("kankyo")));
        assert!(p.allows(Action::RefundOrder, who(Role::Admin, "joho"), Some("kankyo")));
        // Cash and the review of refunds: the 会計課, not the division nor an administrator.
        assert!(p.allows(Action::CashReceive, who(Role::Kakaricho, KAIKEI), None));
        assert!(!p.allows(Action::CashReceive, who(Role::Kacho, "kankyo"), None));
        assert!(!p.allows(Action::CashReceive, who(Role::Admin, KAIKEI), None));
        assert!(p.allows(Action::RefundReview, who(Role::Kacho, KAIKEI), None));
        assert!(!p.allows(Action::RefundReview, who(Role::Kakaricho, KAIKEI), None));
        assert!(!p.allows(Action::FeeReduce, who(Role::Tanto, "kankyo"), None));
        assert!(p.allows(Action::FeeSet, who(Role::Tanto, "kankyo"), None));
        // A table written before the split still reads: `refund` is the order.
        let old = Policy::parse("[refund]\nroles = [\"kacho\"]\n").unwrap();
        assert!(!old.allows(Action::RefundOrder, who(Role::Kakaricho, "x"), Some("x")));
        assert!(!p.allows(Action::WatchRecords, who(Role::Kakaricho, "x"), None));
        // 施行: anyone of the drafting section, nobody outside it.
        assert!(p.allows(Action::KianExecute, who(Role::Tanto, "kankyo"), Some("kankyo")));
        assert!(!p.allows(Action::KianExecute, who(Role::Kacho, "kodomo"), Some("kankyo")));
        assert!(!p.allows(Action::KianExecute, who(Role::Admin, "joho"), Some("kankyo")));
        let p = Policy::parse("[kian_execute]\nroles = [\"kakaricho\", \"kacho\"]\n").unwrap();
        assert!(!p.allows(Action::KianExecute, who(Role::Tanto, "kankyo"), Some("kankyo")));
        assert!(p.allows(Action::KianExecute, who(Role::Kacho, "kankyo"), Some("kankyo")));
    }

    #[test]
    fn a_document_narrows_and_names_its_mistakes() {
        let p = Policy::parse("[alert_issue_5]\nroles = [\"kacho\"]\ndivisions = [\"kikikanri\"]\n").unwrap();
        assert!(p.allows(Action::AlertIssue(5), who(Role::Kacho, "kikikanri"), None));
        assert!(!p.allows(Action::AlertIssue(5), who(Role::Kacho, "kodomo"), None));
        assert!(!p.allows(Action::AlertIssue(5), who(Role::Admin, "kikikanri"), None));
        // Others keep their defaults.
        assert!(p.allows(Action::AlertIssue(3), who(Role::Kakaricho, "x"), None));
        let e = Policy::parse("[alert_issue_9]\nroles = [\"kacho\"]\n[refund]\nroles = [\"boss\"]\ncolour = 1\n")
            .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!((e[0].code, e[0].at.as_str()), ("policy_not_an_action", "[alert_issue_9]"), "{e:?}");
        assert!(e[1].code == "unreadable" && e[1].args[0].1.contains("unknown field `colour`"), "{e:?}");
        let e = Policy::parse("[refund]\nroles = []\n").unwrap_err();
        assert_eq!(e, vec![Finding::new("policy_no_role", "[refund].roles")]);
        let e = Policy::parse("[refund_review]\nroles = []\n").unwrap_err();
        assert_eq!(e, vec![Finding::new("policy_no_role", "[refund_review].roles")]);
        let e = Policy::parse("[alert_lift]\nroles = [\"kacho\"]\nown_division = true\n").unwrap_err();
        assert_eq!(e, vec![Finding::new("policy_own_division", "[alert_lift].own_division")]);
    }

    fn arb_role() -> impl Strategy<Value = Role> {
        prop_oneof![Just(Role::Tanto), Just(Role::Kakaricho), Just(Role::Kacho), Just(Role::Admin)]
    }

    proptest! {
        /// Writing a table out and reading it back gives the same table.
        #[test]
        fn round_trips(picks in proptest::collection::vec((0usize..16, proptest::collection::vec(arb_role(), 1..4), any::<bool>()), 0..12)) {
            let mut text = String::new();
            let actions = all();
            let mut seen = std::collections::HashSet::new();
            for (i, roles, narrow) in picks {
                let a = actions[i % actions.len()];
                if !seen.insert(a) { continue; }
                let mut rs: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                rs.dedup();
                let mut uniq = Vec::new();
                for r in rs { if !uniq.contains(&r) { uniq.push(r); } }
                let list: Vec<String> = uniq.iter().map(|r| format!("\"{r}\"")).collect();
                text.push_str(&format!("[{}]\nroles = [{}]\n", a.key(), list.join(", ")));
                if narrow { text.push_str("divisions = [\"kikikanri\"]\n"); }
            }
            let p = Policy::parse(&text).unwrap();
            prop_assert_eq!(Policy::parse(&p.to_toml()).unwrap(), p);
        }
    }
}
