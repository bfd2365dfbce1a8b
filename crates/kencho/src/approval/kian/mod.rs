//! 起案 (decision documents) in storage: drafting, the route's acts, 施行, inboxes and search.
//!
//! The route and its history are the core state machine (`kencho_core::approval::route`),
//! stored whole as JSON in `kian.route`; each act also appends its events to `kian_events`
//! and rewrites `kian_waiting` (who it waits for), so inboxes, search and figures are queries.
//! Every act runs in one transaction with the row locked, so two people acting at once are
//! applied one after the other against the state the other left.

use std::collections::{BTreeSet, HashMap};

use kencho_core::approval::doc::{fiscal_year, format_date};
use kencho_core::approval::org::{DivisionId, Org, PostId};
use kencho_core::approval::records::RetentionClass;
use kencho_core::approval::route::{self, Act, Action, Ctx, Role, Route, SendBackTo, State, StateKind};
use kencho_core::search;
use kencho_core::security::policy::{Action as PolicyAction, Policy, Who};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::setup::{absent_on, person_of, staff_id_of, Setup, SetupCache};
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{AppError, Result};
use crate::mail;

mod acts;
mod files;
mod inbox;
mod links;

pub use acts::*;
pub use files::*;
pub use inbox::*;
pub use links::{Archived, Links, Matter, RouteDecision};

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

    fn parse(s: &str) -> Source {
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

const COLS: &str = "id, tenant_id, division_code, source, application_id, title, body, matter_kind, amount, important, \
    decision, drafter_id, drafter_post, route, state, number, decided_on, executed_at, retention_years, disposal, revision, \
    created_at, updated_at, urgent";

/// [`COLS`] of the 起案 aliased `k`, for joins; [`from_row`] reads rows of either.
const COLS_K: &str =
    "k.id, k.tenant_id, k.division_code, k.source, k.application_id, k.title, k.body, k.matter_kind, k.amount, \
    k.important, k.decision, k.drafter_id, k.drafter_post, k.route, k.state, k.number, k.decided_on, k.executed_at, \
    k.retention_years, k.disposal, k.revision, k.created_at, k.updated_at, k.urgent";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Kian> {
    let route: String = r.try_get("route")?;
    let mut route: Route =
        serde_json::from_str(&route).map_err(|e| AppError::Internal(format!("stored route: {e}")))?;
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

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
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

fn check_text(field: &str, s: &str, max: usize, multiline: bool) -> Result<()> {
    if s.trim().is_empty() {
        return Err(AppError::BadRequest(format!("{field} is empty")));
    }
    if s.chars().count() > max || kencho_core::text::has_control_chars(s, multiline) {
        return Err(AppError::BadRequest(format!("{field} must be text of at most {max} characters")));
    }
    Ok(())
}

impl Draft {
    fn check(&self) -> Result<()> {
        check_text("title", &self.title, 200, false)?;
        check_text("body", &self.body, 20_000, true)?;
        check_text("kind of matter", &self.matter_kind, 100, false)?;
        if self.amount.is_some_and(|a| a < 0) {
            return Err(AppError::BadRequest("the amount cannot be negative".into()));
        }
        if RetentionClass::from_code(self.retention_years).is_none() {
            return Err(AppError::BadRequest(
                "retention must be 1年未満 (0), 1, 3, 5, 10 or 30 years, or 常用 (-1)".into(),
            ));
        }
        if kencho_core::procedure::Disposal::parse(&self.disposal).is_none() {
            return Err(AppError::BadRequest("disposal must be haiki or ikan".into()));
        }
        if self.consult.len() > 20 {
            return Err(AppError::BadRequest("at most 20 合議 divisions".into()));
        }
        Ok(())
    }
}

/// The drafter's post: the one named, which they must hold today, or their first.
fn drafter_post(org: &Org, staff: &Staff, wanted: Option<&str>, date: Date) -> Result<PostId> {
    let mine = org.posts_of(&person_of(staff.id), date);
    match wanted.filter(|w| !w.is_empty()) {
        Some(w) => mine
            .into_iter()
            .find(|p| p.0 == w)
            .ok_or_else(|| AppError::BadRequest(format!("you do not hold post {w} today"))),
        None => mine.into_iter().next().ok_or_else(|| {
            AppError::Refused("no_post", "you hold no post in the organisation today; ask an administrator".into())
        }),
    }
}

fn propose_error(e: route::ProposeError) -> AppError {
    AppError::Refused("no_route", e.to_string())
}

fn act_error(e: route::ActError) -> AppError {
    AppError::Refused(e.code(), e.to_string())
}

fn edit_error(e: route::EditError) -> AppError {
    AppError::Refused(e.code(), e.to_string())
}

fn search_text(title: &str, body: &str) -> String {
    search::normalise(&format!("{title}\n{body}"))
}

/// What [`insert`] needs once the route is proposed.
#[derive(Debug, Clone)]
pub struct Prepared {
    post: PostId,
    division: String,
    route_json: String,
    now: i64,
}

/// Checks a draft and proposes its route (outside any transaction: it reads the setup). For
/// an application, [`create`] has filled in what the procedure decides (the kind of matter,
/// retention and disposal) before this; only the decision is the drafter's.
pub async fn prepare(db: &Db, cache: &SetupCache, staff: &Staff, d: &mut Draft) -> Result<Prepared> {
    if d.application_id.is_some() {
        if !matches!(d.decision.as_deref(), Some("approve" | "deny")) {
            return Err(AppError::BadRequest("the decision must be approve (承認) or deny (不承認)".into()));
        }
    } else if d.source == Source::Application {
        return Err(AppError::BadRequest("an application 起案 needs its application".into()));
    } else {
        d.decision = None;
    }
    d.check()?;
    let setup = cache.get(db, staff.tenant_id).await?;
    let now = now_ms();
    let date = crate::clock::date_at(now);
    let post = drafter_post(&setup.org, staff, d.drafter_post.as_deref(), date)?;
    let consult: Vec<(DivisionId, bool)> = d.consult.iter().map(|(c, p)| (DivisionId(c.clone()), *p)).collect();
    let mut route = route::propose(
        &setup.org,
        &setup.rules,
        &person_of(staff.id),
        &post,
        d.matter_kind.trim(),
        d.amount,
        d.important,
        date,
        &consult,
    )
    .map_err(propose_error)?;
    route.set_flags(d.important, d.urgent);
    let division =
        setup.org.post(&post, date).map(|p| p.division.0.clone()).ok_or_else(|| AppError::Internal("post".into()))?;
    let route_json = serde_json::to_string(&route).map_err(AppError::unexpected)?;
    Ok(Prepared { post, division, route_json, now })
}

/// Stores a prepared 起案 in the caller's transaction; returns its id. An application gets at
/// most one live 起案: [`create`] locks its row (through [`Links`]) before this checks.
pub async fn insert(conn: &mut AnyConnection, staff: &Staff, d: &Draft, prep: &Prepared) -> Result<i64> {
    if let Some(app_id) = d.application_id {
        let live =
            sqlx::query("SELECT id FROM kian WHERE application_id = $1 AND state NOT IN ('rejected', 'abandoned')")
                .bind(app_id)
                .fetch_optional(&mut *conn)
                .await?;
        if live.is_some() {
            return Err(AppError::Refused("already_drafted", "this application already has a 起案".into()));
        }
    }
    let id: i64 = sqlx::query(
        "INSERT INTO kian (tenant_id, division_code, source, application_id, title, body, matter_kind, amount, important, \
         decision, drafter_id, drafter_post, route, state, retention_years, disposal, search_text, created_at, updated_at, \
         urgent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $15, $16, $17, $17, $18) \
         RETURNING id",
    )
    .bind(staff.tenant_id)
    .bind(&prep.division)
    .bind(d.source.as_str())
    .bind(d.application_id)
    .bind(d.title.trim())
    .bind(d.body.trim())
    .bind(d.matter_kind.trim())
    .bind(d.amount)
    .bind(i64::from(d.important))
    .bind(&d.decision)
    .bind(staff.id)
    .bind(&prep.post.0)
    .bind(&prep.route_json)
    .bind(d.retention_years)
    .bind(&d.disposal)
    .bind(search_text(&d.title, &d.body))
    .bind(prep.now)
    .bind(i64::from(d.urgent))
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    audit::append(
        conn,
        staff.tenant_id,
        &format!("staff:{}", staff.id),
        "kian.drafted",
        &format!("kian:{id}"),
        serde_json::json!({"title": d.title.trim(), "kind": d.matter_kind.trim(), "amount": d.amount, "source": d.source.as_str(), "application": d.application_id, "important": d.important, "urgent": d.urgent}),
    )
    .await?;
    Ok(id)
}

/// Starts a 起案 with the route kencho proposes; returns its id. It stays a draft until the
/// drafter submits it, so the route can be changed first. For an application, its procedure
/// decides the kind of matter, retention and disposal, and the drafter must be allowed to see
/// it.
pub async fn create<L: Links>(db: &Db, links: L, cache: &SetupCache, staff: &Staff, mut d: Draft) -> Result<i64> {
    if let Some(app_id) = d.application_id {
        let m = links.application_matter(db, staff, app_id).await?;
        d.matter_kind = m.kind;
        d.retention_years = m.retention_years;
        d.disposal = m.disposal;
        d.source = Source::Application;
    }
    let prep = prepare(db, cache, staff, &mut d).await?;
    let (staff, keys) = (staff.clone(), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            if let Some(app_id) = d.application_id {
                links.lock_application(conn, &keys, &staff, app_id).await?;
            }
            insert(conn, &staff, &d, &prep).await
        })
    })
    .await
}

async fn lock(conn: &mut AnyConnection, id: i64) -> Result<Kian> {
    let sql = format!("SELECT {COLS} FROM kian WHERE id = $1{}", crate::db::for_update(conn));
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await?.ok_or(AppError::NotFound)?;
    from_row(&row)
}

/// Loads a 起案 for a staff member of its tenant who may see it.
pub async fn get(db: &Db, setup: &Setup, staff: &Staff, id: i64) -> Result<Kian> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM kian WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    let k = from_row(&row)?;
    if k.tenant_id != staff.tenant_id || !may_see(&setup.org, staff, &k) {
        return Err(AppError::NotFound);
    }
    Ok(k)
}

/// The drafter, whoever holds (or acted in) a step or reads it, owes it a 後閲, and
/// administrators see a 起案; nobody else in the office does.
fn may_see(org: &Org, staff: &Staff, k: &Kian) -> bool {
    if staff.id == k.drafter_id || staff.role == kencho_core::application::Role::Admin {
        return true;
    }
    let me = person_of(staff.id);
    let today = crate::clock::date_at(now_ms());
    // The posts held today, once: this runs for every row a search looks at.
    let mine = org.posts_of(&me, today);
    let holds = |p: &PostId| {
        org.holder(p, today).as_ref() == Some(&me)
            || org.is_substitute(&me, p, today)
            || mine.iter().any(|m| org.is_above(m, p, today))
    };
    k.route.stages().iter().flat_map(|s| s.steps.iter()).any(|s| holds(&s.post))
        || k.route.readers().iter().any(holds)
        || k.route.events().iter().any(|e| e.actor.as_ref() == Some(&me))
        || k.route.kouetsu().iter().any(|x| x.person == me)
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

pub async fn history(db: &Db, id: i64) -> Result<Vec<HistoryLine>> {
    let rows = sqlx::query(
        "SELECT e.seq, e.at, e.actor_name, e.as_post, s.name AS on_behalf_of, e.stage, e.act, e.comment FROM kian_events e \
         LEFT JOIN staff s ON s.id = e.on_behalf_of WHERE e.kian_id = $1 ORDER BY e.seq",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
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
        })
        .collect()
}

/// What a 施行 left to do after its commit.
#[derive(Debug, Default)]
pub struct Executed {
    /// The application whose signed notice is now to be issued.
    pub application: Option<i64>,
    /// Files and archive packages of a disposal (see [`super::records::Released`]).
    pub released: super::records::Released,
}

/// 施行: the drafter, or anyone of the drafting section, carries out a decided 起案. For an application the decision reaches the
/// resident (status, mail; the caller then issues the signed notice); for a disposal the
/// records are disposed of (files leave the disk after the commit).
pub async fn execute<L: Links>(
    db: &Db,
    links: L,
    cache: &SetupCache,
    base_url: &str,
    data_dir: &std::path::Path,
    staff: &Staff,
    id: i64,
) -> Result<Executed> {
    let (policy, _) = crate::security::policy::load(db, staff.tenant_id).await?;
    let setup = cache.get(db, staff.tenant_id).await?;
    let (staff, base_url, dir, db2) = (staff.clone(), base_url.to_string(), data_dir.to_path_buf(), db.clone());
    let outcome = db
        .transact(move |conn| {
            Box::pin(async move {
                let k = lock(conn, id).await?;
                if k.tenant_id != staff.tenant_id {
                    return Err(AppError::NotFound);
                }
                // Who may 施行 is the roles table's (`kian_execute`): a refusal of the role, 403.
                if !k.may_execute(&policy, &staff) {
                    return Err(AppError::NotPermitted("kian_execute".into()));
                }
                if !k.is_decided() {
                    return Err(AppError::Refused("wrong_state", "only a decided 起案 can be carried out".into()));
                }
                if k.executed_at.is_some() {
                    return Err(AppError::Refused("wrong_state", "this 起案 has already been carried out".into()));
                }
                let now = now_ms();
                sqlx::query("UPDATE kian SET executed_at = $1, revision = revision + 1, updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                let done = carry_out_source(&db2, links, conn, (&base_url, &dir), &staff, &setup, &k).await?;
                audit::append(
                    conn,
                    k.tenant_id,
                    &format!("staff:{}", staff.id),
                    "kian.executed",
                    &format!("kian:{id}"),
                    serde_json::json!({"number": k.number, "application": k.application_id}),
                )
                .await?;
                Ok(done)
            })
        })
        .await;
    match outcome {
        Ok(done) => {
            super::records::finish(db, data_dir, &done.released).await;
            Ok(done)
        }
        Err(e) => {
            // Packages written for a disposal that did not commit hold personal data: remove them.
            super::records::discard_partial(data_dir, id).await;
            Err(e)
        }
    }
}

/// What 施行 does, by the kind of 起案 (inside the 施行 transaction).
async fn carry_out_source<L: Links>(
    db: &Db,
    links: L,
    conn: &mut AnyConnection,
    (base_url, dir): (&str, &std::path::Path),
    staff: &Staff,
    setup: &Setup,
    k: &Kian,
) -> Result<Executed> {
    let mut done = Executed::default();
    match k.source {
        Source::Application => {
            let app_id =
                k.application_id.ok_or_else(|| AppError::Internal("application 起案 without application".into()))?;
            let decision = RouteDecision {
                application_id: app_id,
                approve: k.decision.as_deref() == Some("approve"),
                notice: &k.body,
                number: k.number.as_deref(),
            };
            links.decide_application(db, conn, base_url, staff, decision).await?;
            done.application = Some(app_id);
        }
        Source::Disposal => {
            done.released = super::records::carry_out(conn, &links, &db.keys(), dir, staff, setup, k).await?;
        }
        // A refund above the tenant's limit waited for this 決裁.
        Source::Internal => links.internal_executed(conn, k.id).await?,
    }
    Ok(done)
}

/// The live 起案 of an application, if any.
pub async fn of_application(db: &Db, application_id: i64) -> Result<Option<(i64, StateKind)>> {
    let row = sqlx::query(
        "SELECT id, state FROM kian WHERE application_id = $1 AND state NOT IN ('rejected', 'abandoned') ORDER BY id DESC LIMIT 1",
    )
    .bind(application_id)
    .fetch_optional(&db.read)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("id")?, crate::db::parsed(&r, "state", StateKind::parse)?)),
        None => None,
    })
}
