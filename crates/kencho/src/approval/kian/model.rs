//! The 起案's types: the 起案 as stored and its by-name decoder, what a drafter fills in, the
//! history, files and inbox lines handed out, and the inputs of the acts. No SQL, no I/O.

use kencho_core::approval::org::PostId;
use kencho_core::approval::route::{Act, Role, Route, State, StateKind};
use kencho_core::security::policy::{Action as PolicyAction, Policy, Who};
use serde::Serialize;
use sqlx::Row;

use crate::actor::Staff;
use crate::error::{AppError, Result};

/// Where a 起案 comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The decision on a resident's application.
    Application,
    /// An internal decision (a purchase, a notice, a plan).
    Internal,
    /// Approval to dispose of records whose retention has ended.
    Disposal,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Application => "application",
            Source::Internal => "internal",
            Source::Disposal => "disposal",
        }
    }

    pub(super) fn parse(s: &str) -> Source {
        match s {
            "application" => Source::Application,
            "disposal" => Source::Disposal,
            _ => Source::Internal,
        }
    }
}

/// A 起案 as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Kian {
    pub id: i64,
    pub tenant_id: i64,
    pub division_code: String,
    pub source: Source,
    pub application_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub matter_kind: String,
    pub amount: Option<i64>,
    pub important: bool,
    /// 急施: the only matters 代決 may decide.
    pub urgent: bool,
    /// For an application: `approve` or `deny`.
    pub decision: Option<String>,
    pub drafter_id: i64,
    pub drafter_post: String,
    pub route: Route,
    /// The state as stored beside the route (what lists and searches read).
    pub state: StateKind,
    pub number: Option<String>,
    pub decided_on: Option<String>,
    pub executed_at: Option<i64>,
    pub retention_years: i64,
    pub disposal: String,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Kian {
    pub fn is_decided(&self) -> bool {
        matches!(self.route.state(), State::Decided { .. })
    }

    /// Who may carry it out (施行): roles as data (`kian_execute` in the tenant's table; by
    /// default anyone of the drafting section — after the April reshuffle the drafter may sit
    /// elsewhere, and the decision must still go out), and the drafter where their role is
    /// granted.
    pub fn may_execute(&self, policy: &Policy, staff: &Staff) -> bool {
        let who = Who { role: staff.role, division: &staff.division_code };
        self.tenant_id == staff.tenant_id
            && (policy.allows(PolicyAction::KianExecute, who, Some(&self.division_code))
                || (self.drafter_id == staff.id && policy.allows(PolicyAction::KianExecute, who, None)))
    }
}

impl Kian {
    /// Decodes a 起案 from a row holding its columns (by name).
    pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<Kian> {
        let route: String = r.try_get("route")?;
        let mut route: Route = serde_json::from_str(&route).map_err(|e| AppError::failed("stored route", e))?;
        let important = r.try_get::<i64, _>("important")? != 0;
        let urgent = r.try_get::<i64, _>("urgent")? != 0;
        // The 起案's columns are the record of 重要・異例 and 急施 (routes stored before issue 18
        // do not carry them).
        route.set_flags(important, urgent);
        Ok(Kian {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            division_code: r.try_get("division_code")?,
            source: Source::parse(&r.try_get::<String, _>("source")?),
            application_id: r.try_get("application_id")?,
            title: r.try_get("title")?,
            body: r.try_get("body")?,
            matter_kind: r.try_get("matter_kind")?,
            amount: r.try_get("amount")?,
            important,
            urgent,
            decision: r.try_get("decision")?,
            drafter_id: r.try_get("drafter_id")?,
            drafter_post: r.try_get("drafter_post")?,
            route,
            state: crate::db::parsed(r, "state", StateKind::parse)?,
            number: r.try_get("number")?,
            decided_on: r.try_get("decided_on")?,
            executed_at: r.try_get("executed_at")?,
            retention_years: r.try_get("retention_years")?,
            disposal: r.try_get("disposal")?,
            revision: r.try_get("revision")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

pub fn act_name(a: &Act) -> &'static str {
    match a {
        Act::Submitted => "submitted",
        Act::Approved => "approved",
        Act::Agreed => "agreed",
        Act::Disagreed => "disagreed",
        Act::SentBack(_) => "sent_back",
        Act::Recalled => "recalled",
        Act::Rejected => "rejected",
        Act::Abandoned => "abandoned",
        Act::SubstituteDecided => "substitute_decided",
        Act::TookOver => "took_over",
        Act::SkippedAbsent => "skipped_absent",
        Act::Superseded => "superseded",
        Act::Read => "read",
    }
}

/// What a drafter fills in.
#[derive(Debug, Clone)]
pub struct Draft {
    pub source: Source,
    pub application_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub matter_kind: String,
    pub amount: Option<i64>,
    pub important: bool,
    /// 急施 (see [`Kian::urgent`]).
    pub urgent: bool,
    pub decision: Option<String>,
    /// The post the drafter drafts as; `None`: their only (or first) post today.
    pub drafter_post: Option<String>,
    /// 合議 with these divisions, in order; `true` joins the previous one in a parallel group.
    pub consult: Vec<(String, bool)>,
    pub retention_years: i64,
    pub disposal: String,
}

/// What [`super::insert`] needs once the route is proposed.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(super) post: PostId,
    pub(super) division: String,
    pub(super) route_json: String,
    pub(super) now: i64,
}

/// A recorded act, for the history table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryLine {
    pub seq: i64,
    pub at: i64,
    pub actor_name: String,
    pub as_post: Option<String>,
    pub on_behalf_of: Option<String>,
    pub stage: Option<i64>,
    pub act: String,
    pub comment: Option<String>,
}

impl HistoryLine {
    pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<HistoryLine> {
        Ok(HistoryLine {
            seq: r.try_get("seq")?,
            at: r.try_get("at")?,
            actor_name: r.try_get("actor_name")?,
            as_post: r.try_get("as_post")?,
            on_behalf_of: r.try_get("on_behalf_of")?,
            stage: r.try_get("stage")?,
            act: r.try_get("act")?,
            comment: r.try_get("comment")?,
        })
    }
}

/// What a 施行 left to do after its commit.
#[derive(Debug, Default)]
pub struct Executed {
    /// The application whose signed notice is now to be issued.
    pub application: Option<i64>,
    /// Files and archive packages of a disposal (see [`crate::approval::records::Released`]).
    pub released: crate::approval::records::Released,
}

/// A change to the route before submission (or after it came back).
#[derive(Debug, Clone)]
pub enum RouteEdit {
    AddStep { at: usize, post: String, role: Role },
    AddParallel { stage: usize, post: String },
    Remove { stage: usize, index: usize },
    AddReader { post: String },
}

/// A file attached to a 起案.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KianFile {
    pub public_id: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub added_by: String,
    pub added_at: i64,
}

impl KianFile {
    /// Decodes a file row (the adder's name as `added_by_name`).
    pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<KianFile> {
        Ok(KianFile {
            public_id: r.try_get("public_id")?,
            filename: r.try_get("filename")?,
            media_type: r.try_get("media_type")?,
            size: r.try_get("size")?,
            sha256: r.try_get("sha256")?,
            added_by: r.try_get("added_by_name")?,
            added_at: r.try_get("added_at")?,
        })
    }
}

/// A line of an inbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub id: i64,
    pub title: String,
    pub matter_kind: String,
    #[schema(value_type = String)]
    pub state: StateKind,
    pub number: Option<String>,
    pub drafter_name: String,
    pub since: i64,
}

/// The boxes of the staff menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inbox {
    /// 未処理: waiting for me (or for a decider I substitute for who is away).
    Pending,
    /// 起案中: mine, not finished (including decided and not yet 施行).
    Drafting,
    Kouetsu,
    Kyoran,
    /// 決裁済: decided documents I drafted or acted on.
    Decided,
}

impl Inbox {
    pub fn parse(s: &str) -> Option<Inbox> {
        Some(match s {
            "pending" => Inbox::Pending,
            "drafting" => Inbox::Drafting,
            "kouetsu" => Inbox::Kouetsu,
            "kyoran" => Inbox::Kyoran,
            "decided" => Inbox::Decided,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Inbox::Pending => "pending",
            Inbox::Drafting => "drafting",
            Inbox::Kouetsu => "kouetsu",
            Inbox::Kyoran => "kyoran",
            Inbox::Decided => "decided",
        }
    }

    pub const ALL: [Inbox; 5] = [Inbox::Pending, Inbox::Drafting, Inbox::Kouetsu, Inbox::Kyoran, Inbox::Decided];
}

impl Line {
    /// Decodes an inbox line (`since` chosen by each box).
    pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<Line> {
        Ok(Line {
            id: r.try_get("id")?,
            title: r.try_get("title")?,
            matter_kind: r.try_get("matter_kind")?,
            state: crate::db::parsed(r, "state", StateKind::parse)?,
            number: r.try_get("number")?,
            drafter_name: r.try_get("drafter_name")?,
            since: r.try_get("since")?,
        })
    }
}

/// How many are waiting in 未処理, 後閲 and 供覧, for the menu.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub pending: i64,
    pub kouetsu: i64,
    pub kyoran: i64,
}

/// Who a 起案 waits for, as stored in `kian_waiting`: the box, and the post or the person.
pub type Waiting = (String, Option<String>, Option<i64>);

/// A 起案 the search's narrowing found: its normalised text and title, read at once, and the
/// rest decoded only for the hits the scorer keeps (a route is parsed only when needed).
pub struct Found {
    pub search_text: String,
    pub title: String,
    row: sqlx::any::AnyRow,
}

impl Found {
    pub(super) fn from_row(row: sqlx::any::AnyRow) -> Result<Found> {
        Ok(Found { search_text: row.try_get("search_text")?, title: row.try_get("title")?, row })
    }

    pub fn kian(&self) -> Result<Kian> {
        Kian::from_row(&self.row)
    }

    pub fn line(&self) -> Result<Line> {
        Line::from_row(&self.row)
    }
}
