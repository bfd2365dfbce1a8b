//! The words of a route: roles, steps, stages, states, acts and their history, and the ways an
//! act can be refused.

use super::*;

/// What a step is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 回議: approve and pass on.
    Kaigi,
    /// 合議: another division agrees (or not).
    Aigi,
    /// 決裁: the deciding step.
    Decide,
}

/// How a step was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    Approved,
    Agreed,
    /// Holder absent (or post vacant): passed over, holder gets 後閲.
    Skipped,
    /// A superior acted ahead (引上げ): holder gets 後閲.
    TakenOver,
    /// 代決 by a registered substitute: holder gets 後閲.
    Substituted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub post: PostId,
    pub role: Role,
    pub done: Option<Done>,
}

impl Step {
    pub(super) fn new(post: PostId, role: Role) -> Step {
        Step { post, role, done: None }
    }
}

/// Steps that run together; more than one only for a parallel 合議.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub steps: Vec<Step>,
}

impl Stage {
    pub(super) fn complete(&self) -> bool {
        self.steps.iter().all(|s| s.done.is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum State {
    /// Proposed, not yet submitted (起案中).
    Draft,
    /// Waiting on the pending steps of this stage.
    InProgress { stage: usize },
    /// 差戻し to the drafter (also after a 合議 disagreement).
    SentBack,
    /// 引戻し by the drafter.
    Withdrawn,
    /// 却下: dead.
    Rejected,
    /// 廃案 by the drafter: dead.
    Abandoned,
    /// 決裁 on this date.
    Decided { on: Date },
}

impl State {
    /// The state without its data, as stored beside the route and shown in lists.
    pub fn kind(&self) -> StateKind {
        match self {
            State::Draft => StateKind::Draft,
            State::InProgress { .. } => StateKind::InProgress,
            State::SentBack => StateKind::SentBack,
            State::Withdrawn => StateKind::Withdrawn,
            State::Rejected => StateKind::Rejected,
            State::Abandoned => StateKind::Abandoned,
            State::Decided { .. } => StateKind::Decided,
        }
    }
}

/// Which [`State`] a route is in, without the stage or the date: what a 起案's row and an
/// inbox line carry, since neither holds the route itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    Draft,
    InProgress,
    SentBack,
    Withdrawn,
    Rejected,
    Abandoned,
    Decided,
}

impl StateKind {
    pub const ALL: [StateKind; 7] = [
        StateKind::Draft,
        StateKind::InProgress,
        StateKind::SentBack,
        StateKind::Withdrawn,
        StateKind::Rejected,
        StateKind::Abandoned,
        StateKind::Decided,
    ];

    /// The stored name (also the locale key's last part, `approval.state_<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Draft => "draft",
            StateKind::InProgress => "in_progress",
            StateKind::SentBack => "sent_back",
            StateKind::Withdrawn => "withdrawn",
            StateKind::Rejected => "rejected",
            StateKind::Abandoned => "abandoned",
            StateKind::Decided => "decided",
        }
    }

    pub fn parse(s: &str) -> Option<StateKind> {
        StateKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Before submission or after it came back: the route may be changed.
    pub fn is_editable(self) -> bool {
        matches!(self, StateKind::Draft | StateKind::SentBack | StateKind::Withdrawn)
    }

    /// Not yet decided and not dead: files may still be added.
    pub fn is_open(self) -> bool {
        matches!(self, StateKind::Draft | StateKind::InProgress | StateKind::SentBack | StateKind::Withdrawn)
    }

    /// Rejected (却下) or abandoned (廃案): nothing more happens to it.
    pub fn is_dead(self) -> bool {
        matches!(self, StateKind::Rejected | StateKind::Abandoned)
    }
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a 差戻し goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendBackTo {
    Drafter,
    /// An earlier stage, which acts again.
    Stage(usize),
}

/// What someone asks the route to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// 起案 / 再提出 by the drafter.
    Submit,
    /// 承認 of a 回議 or deciding step.
    Approve { comment: Option<String> },
    /// 合議 agreement.
    Agree { comment: Option<String> },
    /// 合議 disagreement: goes back to the drafter.
    Disagree { comment: String },
    /// 差戻し.
    SendBack { to: SendBackTo, comment: String },
    /// 引戻し by the drafter.
    Recall,
    /// 却下 by whoever holds a pending step.
    Reject { comment: String },
    /// 廃案 by the drafter.
    Abandon { comment: Option<String> },
    /// 代決 at the deciding step while its holder is absent.
    SubstituteDecide { comment: Option<String> },
    /// 引上げ: a superior acts ahead of the current 回議 step(s).
    TakeOver { comment: Option<String> },
    /// 供覧 or 後閲: read, acknowledging; never blocks anything.
    Read,
}

/// What happened, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    Submitted,
    Approved,
    Agreed,
    Disagreed,
    SentBack(SendBackTo),
    Recalled,
    Rejected,
    Abandoned,
    SubstituteDecided,
    TookOver,
    /// A step passed over because its holder was absent (no actor).
    SkippedAbsent,
    /// A step passed over by a superior's 引上げ.
    Superseded,
    Read,
}

/// One act: who, as what post, on whose behalf, when, with what comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: OffsetDateTime,
    /// `None` for what the route does by itself (skipping an absent approver).
    pub actor: Option<PersonId>,
    pub as_post: Option<PostId>,
    /// The person acted for or passed over, when not the actor.
    pub on_behalf_of: Option<PersonId>,
    pub stage: Option<usize>,
    pub act: Act,
    pub comment: Option<String>,
}

/// Someone who must read the decision afterwards (後閲).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kouetsu {
    pub person: PersonId,
    pub post: PostId,
    /// The event that passed them over or acted for them.
    pub event: usize,
    pub read: bool,
}

/// Everything an act needs from outside: the organisation, the time, who is away that day.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub org: &'a Org,
    pub at: OffsetDateTime,
    pub absent: &'a BTreeSet<PersonId>,
}

impl Ctx<'_> {
    pub(super) fn date(&self) -> Date {
        self.at.date()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ProposeError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("the drafter does not hold post {0:?} on that date")]
    NotDrafterPost(PostId),
    #[error("division {0:?} has no post to answer a 合議")]
    NoPostInDivision(DivisionId),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum EditError {
    #[error("the deciding step cannot be removed")]
    CannotRemoveDecider,
    #[error("the route can only be changed before submission or after it came back")]
    NotEditable,
    #[error("no such step")]
    NoSuchStep,
    #[error("steps can only be added before the deciding step, and not as a deciding step")]
    BadPosition,
}

impl EditError {
    /// Stable code (`error.<code>` in the locales).
    pub fn code(&self) -> &'static str {
        match self {
            EditError::CannotRemoveDecider => "cannot_remove_decider",
            EditError::NotEditable => "not_editable",
            EditError::NoSuchStep => "no_such_step",
            EditError::BadPosition => "bad_position",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ActError {
    #[error("not possible in the current state")]
    WrongState,
    #[error("this person may not do that here")]
    NotAllowed,
    #[error("someone has already acted; it can no longer be recalled")]
    AlreadyActed,
    #[error("the decision-maker is not absent")]
    NotAbsent,
    #[error("代決 is only for urgent (急施) matters")]
    NotUrgent,
    #[error("a 重要・異例 matter is never decided by 代決")]
    ImportantMatter,
    #[error("a 合議 disagreed on this matter; it is never decided by 代決")]
    AigiDisagreed,
    #[error("a 合議 cannot be passed over")]
    WouldSkipAigi,
    #[error("no such earlier step")]
    BadTarget,
}

impl ActError {
    /// Stable code (`error.<code>` in the locales).
    pub fn code(&self) -> &'static str {
        match self {
            ActError::WrongState => "wrong_state",
            ActError::NotAllowed => "not_allowed",
            ActError::AlreadyActed => "already_acted",
            ActError::NotAbsent => "not_absent",
            ActError::NotUrgent => "daiketsu_not_urgent",
            ActError::ImportantMatter => "daiketsu_important",
            ActError::AigiDisagreed => "daiketsu_disagreed",
            ActError::WouldSkipAigi => "would_skip_aigi",
            ActError::BadTarget => "bad_target",
        }
    }
}
