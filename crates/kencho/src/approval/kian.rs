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
use kencho_core::approval::route::{self, Act, Action, Ctx, Role, Route, SendBackTo, State};
use kencho_core::search;
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use time::{Date, OffsetDateTime};

use super::setup::{absent_on, person_of, staff_id_of, Setup, SetupCache};
use crate::accounts::Staff;
use crate::audit;
use crate::db::{now_ms, Arg, Batch, Db, Dialect};
use crate::error::{AppError, Result};
use crate::mail;

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
    /// For an application: `approve` or `deny`.
    pub decision: Option<String>,
    pub drafter_id: i64,
    pub drafter_post: String,
    pub route: Route,
    pub state: String,
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
}

const COLS: &str = "id, tenant_id, division_code, source, application_id, title, body, matter_kind, amount, important, \
    decision, drafter_id, drafter_post, route, state, number, decided_on, executed_at, retention_years, disposal, revision, \
    created_at, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Kian> {
    from_row_at(r, 0)
}

/// The state's name as stored and shown.
pub fn state_name(s: &State) -> &'static str {
    match s {
        State::Draft => "draft",
        State::InProgress { .. } => "in_progress",
        State::SentBack => "sent_back",
        State::Withdrawn => "withdrawn",
        State::Rejected => "rejected",
        State::Abandoned => "abandoned",
        State::Decided { .. } => "decided",
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

/// Today in Japan, which is the date rules and appointments are read at.
pub fn today_at(ms: i64) -> Date {
    at_time(ms).date()
}

pub fn at_time(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(crate::applications::jst()))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
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
        if !kencho_core::approval::doc::RETENTION_CLASSES.iter().any(|c| i64::from(*c) == self.retention_years) {
            return Err(AppError::BadRequest("retention must be 1, 3, 5, 10 or 30 years".into()));
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
    let code = match e {
        route::ActError::WrongState => "wrong_state",
        route::ActError::NotAllowed => "not_allowed",
        route::ActError::AlreadyActed => "already_acted",
        route::ActError::NotAbsent => "not_absent",
        route::ActError::WouldSkipAigi => "would_skip_aigi",
        route::ActError::BadTarget => "bad_target",
    };
    AppError::Refused(code, e.to_string())
}

fn edit_error(e: route::EditError) -> AppError {
    let code = match e {
        route::EditError::CannotRemoveDecider => "cannot_remove_decider",
        route::EditError::NotEditable => "not_editable",
        route::EditError::NoSuchStep => "no_such_step",
        route::EditError::BadPosition => "bad_position",
    };
    AppError::Refused(code, e.to_string())
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
/// an application, the procedure decides the kind of matter, retention and disposal — not the
/// drafter — and the drafter must be allowed to see the application.
pub async fn prepare(db: &Db, cache: &SetupCache, staff: &Staff, d: &mut Draft) -> Result<Prepared> {
    if let Some(app_id) = d.application_id {
        let a = crate::applications::open_for_staff(db, staff, app_id, "draft the decision (起案)").await?;
        let p = crate::applications::procedure_version(db, a.procedure_id).await?;
        d.matter_kind = p.def.matter.clone().ok_or_else(|| {
            AppError::Refused("no_route", "this procedure is decided by one staff member, not through a route".into())
        })?;
        d.retention_years = i64::from(p.def.retention_years);
        d.disposal = p.def.disposal.as_str().into();
        d.source = Source::Application;
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
    let date = today_at(now);
    let post = drafter_post(&setup.org, staff, d.drafter_post.as_deref(), date)?;
    let consult: Vec<(DivisionId, bool)> = d.consult.iter().map(|(c, p)| (DivisionId(c.clone()), *p)).collect();
    let route = route::propose(
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
    let division =
        setup.org.post(&post, date).map(|p| p.division.0.clone()).ok_or_else(|| AppError::Internal("post".into()))?;
    let route_json = serde_json::to_string(&route).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Prepared { post, division, route_json, now })
}

/// Stores a prepared 起案 in the caller's transaction; returns its id. An application gets at
/// most one live 起案: its row is locked while that is checked.
pub async fn insert(
    conn: &mut AnyConnection,
    keys: &crate::crypto::Keyring,
    staff: &Staff,
    d: &Draft,
    prep: &Prepared,
) -> Result<i64> {
    if let Some(app_id) = d.application_id {
        crate::applications::lock_row(conn, app_id).await?;
        let a = crate::applications::load(conn, keys, app_id).await?;
        if !crate::applications::staff_may_see(staff, &a) {
            return Err(AppError::NotFound);
        }
        if a.status != kencho_core::application::Status::Accepted {
            return Err(AppError::Refused("wrong_state", "only an accepted application can be decided".into()));
        }
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
         decision, drafter_id, drafter_post, route, state, retention_years, disposal, search_text, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $15, $16, $17, $17) RETURNING id",
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
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    audit::append(
        conn,
        staff.tenant_id,
        &format!("staff:{}", staff.id),
        "kian.drafted",
        &format!("kian:{id}"),
        serde_json::json!({"title": d.title.trim(), "kind": d.matter_kind.trim(), "amount": d.amount, "source": d.source.as_str(), "application": d.application_id}),
    )
    .await?;
    Ok(id)
}

/// Starts a 起案 with the route kencho proposes; returns its id. It stays a draft until the
/// drafter submits it, so the route can be changed first.
pub async fn create(db: &Db, cache: &SetupCache, staff: &Staff, mut d: Draft) -> Result<i64> {
    let prep = prepare(db, cache, staff, &mut d).await?;
    let (staff, keys) = (staff.clone(), db.keys());
    db.transact(move |conn| Box::pin(async move { insert(conn, &keys, &staff, &d, &prep).await })).await
}

async fn lock(conn: &mut AnyConnection, id: i64) -> Result<Kian> {
    let sql = if Dialect::of(conn) == Dialect::Postgres {
        format!("SELECT {COLS} FROM kian WHERE id = $1 FOR UPDATE")
    } else {
        format!("SELECT {COLS} FROM kian WHERE id = $1")
    };
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
    let today = today_at(now_ms());
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

/// A change to the route before submission (or after it came back).
#[derive(Debug, Clone)]
pub enum RouteEdit {
    AddStep { at: usize, post: String, role: Role },
    AddParallel { stage: usize, post: String },
    Remove { stage: usize, index: usize },
    AddReader { post: String },
}

pub async fn edit_route(
    db: &Db,
    cache: &SetupCache,
    base_url: &str,
    staff: &Staff,
    id: i64,
    edit: RouteEdit,
) -> Result<()> {
    let setup = cache.get(db, staff.tenant_id).await?;
    let (staff, base_url) = (staff.clone(), base_url.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let mut k = lock(conn, id).await?;
            if k.tenant_id != staff.tenant_id {
                return Err(AppError::NotFound);
            }
            let today = today_at(now_ms());
            let known = |p: &str| setup.org.post(&PostId(p.to_string()), today).is_some();
            let is_reader = matches!(edit, RouteEdit::AddReader { .. });
            if k.drafter_id != staff.id && !is_reader {
                return Err(AppError::Refused("not_allowed", "only the drafter changes the route".into()));
            }
            let detail = match &edit {
                RouteEdit::AddStep { at, post, role } => {
                    if !known(post) {
                        return Err(AppError::BadRequest(format!("no post {post} today")));
                    }
                    k.route.add_step(*at, PostId(post.clone()), *role).map_err(edit_error)?;
                    serde_json::json!({"add_step": post, "at": at})
                }
                RouteEdit::AddParallel { stage, post } => {
                    if !known(post) {
                        return Err(AppError::BadRequest(format!("no post {post} today")));
                    }
                    k.route.add_parallel(*stage, PostId(post.clone())).map_err(edit_error)?;
                    serde_json::json!({"add_parallel": post, "stage": stage})
                }
                RouteEdit::Remove { stage, index } => {
                    k.route.remove_step(*stage, *index).map_err(edit_error)?;
                    serde_json::json!({"remove": [stage, index]})
                }
                RouteEdit::AddReader { post } => {
                    if !known(post) {
                        return Err(AppError::BadRequest(format!("no post {post} today")));
                    }
                    // 供覧 is added by the drafter, or by anyone who may see the document.
                    if k.drafter_id != staff.id && !may_see(&setup.org, &staff, &k) {
                        return Err(AppError::NotFound);
                    }
                    k.route.add_reader(PostId(post.clone())).map_err(edit_error)?;
                    serde_json::json!({"add_reader": post})
                }
            };
            let mut batch = Batch::new();
            save(&mut batch, &k, now_ms())?;
            if is_reader {
                let told = rewrite_waiting(conn, &mut batch, &setup.org, &k, today, now_ms()).await?;
                let seq = k.route.events().len() + 10_000 * k.route.readers().len();
                notify(conn, &mut batch, &base_url, &k, &told, seq, false).await?;
            }
            audit::append_batched(
                conn,
                &mut batch,
                k.tenant_id,
                &format!("staff:{}", staff.id),
                "kian.route_changed",
                &format!("kian:{id}"),
                detail,
            )
            .await?;
            batch.run(conn).await
        })
    })
    .await
}

fn save(batch: &mut Batch, k: &Kian, now: i64) -> Result<()> {
    let json = serde_json::to_string(&k.route).map_err(|e| AppError::Internal(e.to_string()))?;
    batch.push(
        "UPDATE kian SET route = $1, state = $2, revision = revision + 1, updated_at = $3 WHERE id = $4",
        vec![Arg::Text(json), Arg::Text(state_name(k.route.state()).into()), Arg::Int(now), Arg::Int(k.id)],
    );
    Ok(())
}

/// Rewrites who the 起案 waits for; returns the staff ids newly waited on, with their box, so
/// they can be told.
async fn rewrite_waiting(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    org: &Org,
    k: &Kian,
    date: Date,
    now: i64,
) -> Result<Vec<(i64, &'static str)>> {
    let before = sqlx::query("SELECT box, post, person, since FROM kian_waiting WHERE kian_id = $1")
        .bind(k.id)
        .fetch_all(&mut *conn)
        .await?;
    let mut had: BTreeSet<(String, Option<String>, Option<i64>)> = BTreeSet::new();
    let mut since: HashMap<(String, Option<String>, Option<i64>), i64> = HashMap::new();
    for r in &before {
        let key = (r.try_get::<String, _>(0)?, r.try_get::<Option<String>, _>(1)?, r.try_get::<Option<i64>, _>(2)?);
        had.insert(key.clone());
        since.insert(key, r.try_get(3)?);
    }
    let mut now_waiting: Vec<(String, Option<String>, Option<i64>)> = Vec::new();
    for (st, i) in k.route.current_steps() {
        if let Some(step) = k.route.stages().get(st).and_then(|s| s.steps.get(i)) {
            now_waiting.push(("pending".into(), Some(step.post.0.clone()), None));
        }
    }
    for x in k.route.kouetsu().iter().filter(|x| !x.read) {
        if let Some(id) = staff_id_of(&x.person) {
            now_waiting.push(("kouetsu".into(), None, Some(id)));
        }
    }
    if matches!(k.route.state(), State::InProgress { .. } | State::Decided { .. }) {
        let read: BTreeSet<&PostId> =
            k.route.events().iter().filter(|e| e.act == Act::Read).filter_map(|e| e.as_post.as_ref()).collect();
        for p in k.route.readers().iter().filter(|p| !read.contains(p)) {
            now_waiting.push(("kyoran".into(), Some(p.0.clone()), None));
        }
    }
    now_waiting.sort();
    now_waiting.dedup();
    batch.push("DELETE FROM kian_waiting WHERE kian_id = $1", vec![Arg::Int(k.id)]);
    let mut new_people = Vec::new();
    for w in &now_waiting {
        let (boxname, post, person) = w;
        batch.push(
            "INSERT INTO kian_waiting (kian_id, tenant_id, box, post, person, since) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Arg::Int(k.id),
                Arg::Int(k.tenant_id),
                Arg::Text(boxname.clone()),
                Arg::OptText(post.clone()),
                Arg::OptInt(*person),
                Arg::Int(since.get(w).copied().unwrap_or(now)),
            ],
        );
        if had.contains(w) {
            continue;
        }
        let b: &'static str = match boxname.as_str() {
            "pending" => "pending",
            "kouetsu" => "kouetsu",
            _ => "kyoran",
        };
        match (post, person) {
            (_, Some(id)) => new_people.push((*id, b)),
            (Some(p), None) => {
                if let Some(id) = org.holder(&PostId(p.clone()), date).as_ref().and_then(staff_id_of) {
                    new_people.push((id, b));
                }
            }
            _ => {}
        }
    }
    Ok(new_people)
}

/// Applies an act by `staff`. A refused act changes nothing; an accepted one is committed with
/// its history rows, the inbox rows, the notices and the audit entry.
pub async fn act(
    db: &Db,
    cache: &SetupCache,
    base_url: &str,
    staff: &Staff,
    id: i64,
    action: Action,
) -> Result<String> {
    if let Some(c) = comment_of(&action) {
        if c.chars().count() > 2000 || kencho_core::text::has_control_chars(c, true) {
            return Err(AppError::BadRequest("the comment must be text of at most 2000 characters".into()));
        }
    }
    let needs_comment = matches!(action, Action::Disagree { .. } | Action::SendBack { .. } | Action::Reject { .. });
    if needs_comment && comment_of(&action).is_none_or(|c| c.trim().is_empty()) {
        return Err(AppError::BadRequest("a comment is required".into()));
    }
    let setup = cache.get(db, staff.tenant_id).await?;
    let (staff, base_url) = (staff.clone(), base_url.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let mut k = lock(conn, id).await?;
            if k.tenant_id != staff.tenant_id || !may_see(&setup.org, &staff, &k) {
                return Err(AppError::NotFound);
            }
            let now = now_ms();
            let at = at_time(now);
            let date = at.date();
            let absent = absent_on(conn, k.tenant_id, date).await?;
            let before = k.route.events().len();
            let was_decided = k.is_decided();
            let state_before = state_name(k.route.state());
            let ctx = Ctx { org: &setup.org, at, absent: &absent };
            let name = action_name(&action);
            k.route.act(&ctx, &person_of(staff.id), action).map_err(act_error)?;
            let mut batch = Batch::new();
            let names = staff_names(conn, &k.route.events()[before..]).await?;
            for (seq, e) in k.route.events().iter().enumerate().skip(before) {
                let actor = e.actor.as_ref().and_then(staff_id_of);
                batch.push(
                    "INSERT INTO kian_events (kian_id, seq, at, actor_id, actor_name, as_post, on_behalf_of, stage, act, comment) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    vec![
                        Arg::Int(k.id),
                        Arg::Int(i64::try_from(seq).unwrap_or(i64::MAX)),
                        Arg::Int(now),
                        Arg::OptInt(actor),
                        Arg::Text(actor.and_then(|a| names.get(&a).cloned()).unwrap_or_default()),
                        Arg::OptText(e.as_post.as_ref().map(|p| p.0.clone())),
                        Arg::OptInt(e.on_behalf_of.as_ref().and_then(staff_id_of)),
                        Arg::OptInt(e.stage.and_then(|s| i64::try_from(s).ok())),
                        Arg::Text(act_name(&e.act).into()),
                        Arg::OptText(e.comment.clone()),
                    ],
                );
            }
            save(&mut batch, &k, now)?;
            if let (State::Decided { on }, false) = (k.route.state(), was_decided) {
                let number = next_number(conn, k.tenant_id, &k.division_code, *on).await?;
                batch.push(
                    "UPDATE kian SET number = $1, decided_on = $2 WHERE id = $3",
                    vec![Arg::Text(number.clone()), Arg::Text(format_date(*on)), Arg::Int(k.id)],
                );
                k.number = Some(number);
                // 公文書管理: a decided 起案 is a record from its decision date.
                super::records::keep_batched(
                    &mut batch,
                    k.tenant_id,
                    &format!("kian:{id}"),
                    &k.title,
                    &k.division_code,
                    k.retention_years,
                    &k.disposal,
                    *on,
                    now,
                );
            }
            let told = rewrite_waiting(conn, &mut batch, &setup.org, &k, date, now).await?;
            let changed = state_name(k.route.state()) != state_before;
            notify(conn, &mut batch, &base_url, &k, &told, before, changed).await?;
            let events: Vec<serde_json::Value> = k.route.events()[before..]
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "act": act_name(&e.act),
                        "as_post": e.as_post.as_ref().map(|p| &p.0),
                        "on_behalf_of": e.on_behalf_of.as_ref().map(|p| &p.0),
                        "stage": e.stage,
                    })
                })
                .collect();
            audit::append_batched(
                conn,
                &mut batch,
                k.tenant_id,
                &format!("staff:{}", staff.id),
                &format!("kian.{name}"),
                &format!("kian:{id}"),
                serde_json::json!({"events": events, "state": state_name(k.route.state()), "number": k.number}),
            )
            .await?;
            batch.run(conn).await?;
            Ok(state_name(k.route.state()).to_string())
        })
    })
    .await
}

fn comment_of(a: &Action) -> Option<&str> {
    match a {
        Action::Approve { comment }
        | Action::Agree { comment }
        | Action::Abandon { comment }
        | Action::SubstituteDecide { comment }
        | Action::TakeOver { comment } => comment.as_deref(),
        Action::Disagree { comment } | Action::SendBack { comment, .. } | Action::Reject { comment } => Some(comment),
        Action::Submit | Action::Recall | Action::Read => None,
    }
}

pub fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Submit => "submit",
        Action::Approve { .. } => "approve",
        Action::Agree { .. } => "agree",
        Action::Disagree { .. } => "disagree",
        Action::SendBack { .. } => "send_back",
        Action::Recall => "recall",
        Action::Reject { .. } => "reject",
        Action::Abandon { .. } => "abandon",
        Action::SubstituteDecide { .. } => "substitute_decide",
        Action::TakeOver { .. } => "take_over",
        Action::Read => "read",
    }
}

/// Parses an act from its form or API name; comments go where the act takes one.
pub fn parse_action(name: &str, comment: Option<String>, to: Option<&str>) -> Result<Action> {
    let comment = comment.filter(|c| !c.trim().is_empty());
    let required = |c: Option<String>| c.ok_or_else(|| AppError::BadRequest("a comment is required".into()));
    Ok(match name {
        "submit" => Action::Submit,
        "approve" => Action::Approve { comment },
        "agree" => Action::Agree { comment },
        "disagree" => Action::Disagree { comment: required(comment)? },
        "send_back" => {
            let to = match to.unwrap_or("drafter") {
                "drafter" | "" => SendBackTo::Drafter,
                s => SendBackTo::Stage(
                    s.parse().map_err(|_| AppError::BadRequest("send back to the drafter or a step number".into()))?,
                ),
            };
            Action::SendBack { to, comment: required(comment)? }
        }
        "recall" => Action::Recall,
        "reject" => Action::Reject { comment: required(comment)? },
        "abandon" => Action::Abandon { comment },
        "substitute_decide" => Action::SubstituteDecide { comment },
        "take_over" => Action::TakeOver { comment },
        "read" => Action::Read,
        _ => return Err(AppError::BadRequest(format!("unknown act {name}"))),
    })
}

async fn staff_names(conn: &mut AnyConnection, events: &[route::Event]) -> Result<HashMap<i64, String>> {
    let ids: BTreeSet<i64> = events.iter().filter_map(|e| e.actor.as_ref().and_then(staff_id_of)).collect();
    staff_column(conn, "name", ids.into_iter().collect()).await
}

/// One column of several staff members in one query (inside an act's transaction).
async fn staff_column(conn: &mut AnyConnection, column: &str, ids: Vec<i64>) -> Result<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT id, {column} FROM staff WHERE id IN ({})", placeholders(1, ids.len()));
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(*id);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// 文書番号: `{division}-{fiscal year}-{sequence}`, counted per division and fiscal year. The
/// counter row is updated in the act's transaction, so numbers are unique and without gaps.
async fn next_number(conn: &mut AnyConnection, tenant_id: i64, division: &str, on: Date) -> Result<String> {
    let fy = fiscal_year(on);
    let key = format!("kian_number:{tenant_id}:{division}:{fy}");
    let row = sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, '1') \
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT) RETURNING value",
    )
    .bind(&key)
    .fetch_one(&mut *conn)
    .await?;
    let n: String = row.try_get(0)?;
    let n: i64 = n.parse().map_err(|_| AppError::Internal("document counter".into()))?;
    Ok(format!("{division}-{fy}-{n:05}"))
}

/// Mails everyone something newly arrived for (未処理, 後閲, 供覧), and the drafter when it
/// came back, was decided or ended.
async fn notify(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    base_url: &str,
    k: &Kian,
    told: &[(i64, &'static str)],
    seq: usize,
    state_changed: bool,
) -> Result<()> {
    let link = format!("{base_url}/staff/kessai/{}", k.id);
    let mut to: Vec<(i64, String)> = told
        .iter()
        .map(|(id, b)| {
            let what = match *b {
                "pending" => "決裁・合議の依頼が届きました（未処理）",
                "kouetsu" => "後閲をお願いします",
                _ => "供覧の文書が届きました",
            };
            (*id, what.to_string())
        })
        .collect();
    let drafter_note = match k.route.state() {
        _ if !state_changed => None,
        State::SentBack => Some("起案が差し戻されました"),
        State::Decided { .. } => Some("起案が決裁されました。施行してください"),
        State::Rejected => Some("起案が却下されました"),
        _ => None,
    };
    if let Some(n) = drafter_note {
        to.push((k.drafter_id, n.to_string()));
    }
    let emails = staff_column(conn, "email", to.iter().map(|(id, _)| *id).collect()).await?;
    for (i, (staff_id, what)) in to.iter().enumerate() {
        let Some(email) = emails.get(staff_id) else { continue };
        let subject = format!("【電子決裁】{what}：{}", k.title);
        let body = format!(
            "{what}\n\n件名：{}\n種別：{}\n\n次のページで確認してください。\n{link}\n\n（kencho 電子決裁）\n",
            k.title, k.matter_kind
        );
        mail::enqueue_batched(batch, &format!("kian:{}:{seq}:{staff_id}:{i}", k.id), email, &subject, &body);
    }
    Ok(())
}

/// A line of an inbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub id: i64,
    pub title: String,
    pub matter_kind: String,
    pub state: String,
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

/// Posts whose pending steps are mine today: the posts I hold, and posts I may 代決 for whose
/// holder is away.
async fn my_posts(db: &Db, org: &Org, staff: &Staff) -> Result<Vec<String>> {
    let today = today_at(now_ms());
    let me = person_of(staff.id);
    let mut posts: Vec<String> = org.posts_of(&me, today).into_iter().map(|p| p.0).collect();
    let subs: Vec<&PostId> = org
        .substitutes
        .iter()
        .filter(|s| s.period.contains(today) && org.holder(&s.by_post, today).as_ref() == Some(&me))
        .map(|s| &s.for_post)
        .collect();
    if !subs.is_empty() {
        let mut conn = db.read.acquire().await?;
        let absent = absent_on(&mut conn, staff.tenant_id, today).await?;
        for p in subs {
            if org.holder(p, today).is_some_and(|h| absent.contains(&h)) {
                posts.push(p.0.clone());
            }
        }
    }
    posts.sort();
    posts.dedup();
    Ok(posts)
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

const LINE: &str = "SELECT DISTINCT k.id, k.title, k.matter_kind, k.state, k.number, s.name, ";

fn line_of(r: &sqlx::any::AnyRow) -> Result<Line> {
    Ok(Line {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        matter_kind: r.try_get(2)?,
        state: r.try_get(3)?,
        number: r.try_get(4)?,
        drafter_name: r.try_get(5)?,
        since: r.try_get(6)?,
    })
}

/// One box, newest first (at most 500 lines).
pub async fn inbox(db: &Db, setup: &Setup, staff: &Staff, which: Inbox) -> Result<Vec<Line>> {
    let rows = match which {
        Inbox::Pending | Inbox::Kyoran => {
            let posts = my_posts(db, &setup.org, staff).await?;
            if posts.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "{LINE} w.since FROM kian_waiting w JOIN kian k ON k.id = w.kian_id JOIN staff s ON s.id = k.drafter_id \
                 WHERE w.tenant_id = $1 AND w.box = $2 AND w.post IN ({}) ORDER BY w.since DESC LIMIT 500",
                placeholders(3, posts.len())
            );
            let mut q = sqlx::query(&sql).bind(staff.tenant_id).bind(if which == Inbox::Pending { "pending" } else { "kyoran" });
            for p in &posts {
                q = q.bind(p);
            }
            q.fetch_all(&db.read).await?
        }
        Inbox::Kouetsu => {
            sqlx::query(&format!(
                "{LINE} w.since FROM kian_waiting w JOIN kian k ON k.id = w.kian_id JOIN staff s ON s.id = k.drafter_id \
                 WHERE w.tenant_id = $1 AND w.box = 'kouetsu' AND w.person = $2 ORDER BY w.since DESC LIMIT 500"
            ))
            .bind(staff.tenant_id)
            .bind(staff.id)
            .fetch_all(&db.read)
            .await?
        }
        Inbox::Drafting => {
            sqlx::query(&format!(
                "{LINE} k.updated_at FROM kian k JOIN staff s ON s.id = k.drafter_id WHERE k.drafter_id = $1 \
                 AND (k.state IN ('draft', 'in_progress', 'sent_back', 'withdrawn') OR (k.state = 'decided' AND k.executed_at IS NULL)) \
                 ORDER BY k.updated_at DESC LIMIT 500"
            ))
            .bind(staff.id)
            .fetch_all(&db.read)
            .await?
        }
        Inbox::Decided => {
            sqlx::query(&format!(
                "{LINE} k.updated_at FROM kian k JOIN staff s ON s.id = k.drafter_id WHERE k.tenant_id = $1 AND k.state = 'decided' \
                 AND (k.drafter_id = $2 OR EXISTS (SELECT 1 FROM kian_events e WHERE e.kian_id = k.id AND e.actor_id = $2)) \
                 ORDER BY k.updated_at DESC LIMIT 500"
            ))
            .bind(staff.tenant_id)
            .bind(staff.id)
            .fetch_all(&db.read)
            .await?
        }
    };
    rows.iter().map(line_of).collect()
}

/// How many are waiting in 未処理, 後閲 and 供覧, for the menu.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub pending: i64,
    pub kouetsu: i64,
    pub kyoran: i64,
}

pub async fn counts(db: &Db, setup: &Setup, staff: &Staff) -> Result<Counts> {
    let posts = my_posts(db, &setup.org, staff).await?;
    let mut c = Counts::default();
    if !posts.is_empty() {
        let sql = format!(
            "SELECT box, COUNT(DISTINCT kian_id) FROM kian_waiting WHERE tenant_id = $1 AND box IN ('pending', 'kyoran') \
             AND post IN ({}) GROUP BY box",
            placeholders(2, posts.len())
        );
        let mut q = sqlx::query(&sql).bind(staff.tenant_id);
        for p in &posts {
            q = q.bind(p);
        }
        for r in q.fetch_all(&db.read).await? {
            let b: String = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            if b == "pending" {
                c.pending = n;
            } else {
                c.kyoran = n;
            }
        }
    }
    c.kouetsu =
        sqlx::query("SELECT COUNT(*) FROM kian_waiting WHERE tenant_id = $1 AND box = 'kouetsu' AND person = $2")
            .bind(staff.tenant_id)
            .bind(staff.id)
            .fetch_one(&db.read)
            .await?
            .try_get(0)?;
    Ok(c)
}

/// Japanese search over titles and bodies of the 起案 the staff member may see.
pub async fn search(db: &Db, setup: &Setup, staff: &Staff, query: &str) -> Result<Vec<Line>> {
    // A match holds at least one bigram of the first term (the scorer lets a long term miss a
    // quarter of its bigrams, never all), so the database narrows with those, over all years.
    let first: Vec<char> = search::normalise(query).split_whitespace().next().unwrap_or("").chars().collect();
    let grams: Vec<String> = if first.len() < 2 {
        vec![first.iter().collect()]
    } else {
        first.windows(2).take(12).map(|w| w.iter().collect()).collect()
    };
    let like = grams.iter().enumerate().map(|(i, _)| format!("k.search_text LIKE ${}", i + 2)).collect::<Vec<_>>();
    let sql = format!(
        "SELECT k.id, k.title, k.matter_kind, k.state, k.number, s.name, k.updated_at, k.search_text, {COLS_K} \
         FROM kian k JOIN staff s ON s.id = k.drafter_id WHERE k.tenant_id = $1 AND ({}) ORDER BY k.updated_at DESC",
        like.join(" OR ")
    );
    let mut q = sqlx::query(&sql).bind(staff.tenant_id);
    for g in &grams {
        let escaped = g.replace(['%', '_'], "");
        q = q.bind(format!("%{escaped}%"));
    }
    let rows = q.fetch_all(&db.read).await?;
    let mut hits = Vec::new();
    for r in &rows {
        let text: String = r.try_get(7)?;
        let title = search::normalise(&r.try_get::<String, _>(1)?);
        let Some(score) = search::score(&title, &text, query) else { continue };
        let k = from_row_at(r, 8)?;
        if may_see(&setup.org, staff, &k) {
            hits.push((score, line_of(r)?));
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    Ok(hits.into_iter().take(200).map(|(_, l)| l).collect())
}

const COLS_K: &str =
    "k.id, k.tenant_id, k.division_code, k.source, k.application_id, k.title, k.body, k.matter_kind, k.amount, \
    k.important, k.decision, k.drafter_id, k.drafter_post, k.route, k.state, k.number, k.decided_on, k.executed_at, \
    k.retention_years, k.disposal, k.revision, k.created_at, k.updated_at";

/// [`from_row`] for rows whose 起案 columns start at `offset`.
fn from_row_at(r: &sqlx::any::AnyRow, offset: usize) -> Result<Kian> {
    let g = |i: usize| offset + i;
    let route: String = r.try_get(g(13))?;
    Ok(Kian {
        id: r.try_get(g(0))?,
        tenant_id: r.try_get(g(1))?,
        division_code: r.try_get(g(2))?,
        source: Source::parse(&r.try_get::<String, _>(g(3))?),
        application_id: r.try_get(g(4))?,
        title: r.try_get(g(5))?,
        body: r.try_get(g(6))?,
        matter_kind: r.try_get(g(7))?,
        amount: r.try_get(g(8))?,
        important: r.try_get::<i64, _>(g(9))? != 0,
        decision: r.try_get(g(10))?,
        drafter_id: r.try_get(g(11))?,
        drafter_post: r.try_get(g(12))?,
        route: serde_json::from_str(&route).map_err(|e| AppError::Internal(format!("stored route: {e}")))?,
        state: r.try_get(g(14))?,
        number: r.try_get(g(15))?,
        decided_on: r.try_get(g(16))?,
        executed_at: r.try_get(g(17))?,
        retention_years: r.try_get(g(18))?,
        disposal: r.try_get(g(19))?,
        revision: r.try_get(g(20))?,
        created_at: r.try_get(g(21))?,
        updated_at: r.try_get(g(22))?,
    })
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
        "SELECT e.seq, e.at, e.actor_name, e.as_post, s.name, e.stage, e.act, e.comment FROM kian_events e \
         LEFT JOIN staff s ON s.id = e.on_behalf_of WHERE e.kian_id = $1 ORDER BY e.seq",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryLine {
                seq: r.try_get(0)?,
                at: r.try_get(1)?,
                actor_name: r.try_get(2)?,
                as_post: r.try_get(3)?,
                on_behalf_of: r.try_get(4)?,
                stage: r.try_get(5)?,
                act: r.try_get(6)?,
                comment: r.try_get(7)?,
            })
        })
        .collect()
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

const FILE_COLS: &str =
    "SELECT f.public_id, f.filename, f.media_type, f.size, f.sha256, s.name, f.added_at FROM kian_files f \
    JOIN staff s ON s.id = f.added_by";

fn file_of(r: &sqlx::any::AnyRow) -> Result<KianFile> {
    Ok(KianFile {
        public_id: r.try_get(0)?,
        filename: r.try_get(1)?,
        media_type: r.try_get(2)?,
        size: r.try_get(3)?,
        sha256: r.try_get(4)?,
        added_by: r.try_get(5)?,
        added_at: r.try_get(6)?,
    })
}

pub async fn files(db: &Db, id: i64) -> Result<Vec<KianFile>> {
    let rows =
        sqlx::query(&format!("{FILE_COLS} WHERE f.kian_id = $1 ORDER BY f.id")).bind(id).fetch_all(&db.read).await?;
    rows.iter().map(file_of).collect()
}

/// The largest attachment accepted.
pub const MAX_FILE: usize = 10 * 1024 * 1024;

/// Attaches a file. Files are added while the 起案 is alive (drafting or on its route) by
/// anyone who may see it; they are stored by hash and never changed or deleted afterwards.
pub async fn attach(
    db: &Db,
    cache: &SetupCache,
    data_dir: &std::path::Path,
    staff: &Staff,
    id: i64,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<String> {
    if bytes.is_empty() {
        return Err(AppError::BadRequest("the file is empty".into()));
    }
    if bytes.len() > MAX_FILE {
        return Err(AppError::TooLarge);
    }
    let media = crate::applications::sniff(&bytes)
        .ok_or_else(|| AppError::UnsupportedMedia("only PDF, PNG, JPEG or plain text files".into()))?;
    let name: String =
        filename.rsplit(['/', '\\']).next().unwrap_or("file").chars().filter(|c| !c.is_control()).take(120).collect();
    if name.trim().is_empty() {
        return Err(AppError::BadRequest("the file needs a name".into()));
    }
    let setup = cache.get(db, staff.tenant_id).await?;
    let k = get(db, &setup, staff, id).await?;
    if !matches!(k.state.as_str(), "draft" | "in_progress" | "sent_back" | "withdrawn") {
        return Err(AppError::Refused("wrong_state", "files can only be added while the 起案 is on its route".into()));
    }
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    // Written (and synced) before the row that points at it is committed.
    crate::applications::store_file(data_dir, &sha, &bytes).await?;
    let public_id = crate::accounts::random_token()[..16].to_string();
    let (staff, pid, size) = (staff.clone(), public_id.clone(), i64::try_from(bytes.len()).unwrap_or(i64::MAX));
    db.transact(move |conn| {
        Box::pin(async move {
            let k = lock(conn, id).await?;
            if !matches!(k.state.as_str(), "draft" | "in_progress" | "sent_back" | "withdrawn") {
                return Err(AppError::Refused(
                    "wrong_state",
                    "files can only be added while the 起案 is on its route".into(),
                ));
            }
            sqlx::query(
                "INSERT INTO kian_files (public_id, kian_id, filename, media_type, size, sha256, added_by, added_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&pid)
            .bind(id)
            .bind(&name)
            .bind(media)
            .bind(size)
            .bind(&sha)
            .bind(staff.id)
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
            audit::append(
                conn,
                k.tenant_id,
                &format!("staff:{}", staff.id),
                "kian.file_added",
                &format!("kian:{id}"),
                serde_json::json!({"file": name, "sha256": sha, "size": size}),
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(public_id)
}

/// A file of a 起案, for download by someone who may see it.
pub async fn file(db: &Db, setup: &Setup, staff: &Staff, id: i64, public_id: &str) -> Result<KianFile> {
    get(db, setup, staff, id).await?;
    let row = sqlx::query(&format!("{FILE_COLS} WHERE f.kian_id = $1 AND f.public_id = $2"))
        .bind(id)
        .bind(public_id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    file_of(&row)
}

/// What a 施行 left to do after its commit.
#[derive(Debug, Default)]
pub struct Executed {
    /// The application whose signed notice is now to be issued.
    pub application: Option<i64>,
    /// Files and archive packages of a disposal (see [`super::records::Released`]).
    pub released: super::records::Released,
}

/// 施行: the drafter carries out a decided 起案. For an application the decision reaches the
/// resident (status, mail; the caller then issues the signed notice); for a disposal the
/// records are disposed of (files leave the disk after the commit).
pub async fn execute(db: &Db, base_url: &str, data_dir: &std::path::Path, staff: &Staff, id: i64) -> Result<Executed> {
    let (staff, base_url, dir, db2) = (staff.clone(), base_url.to_string(), data_dir.to_path_buf(), db.clone());
    let outcome = db
        .transact(move |conn| {
            Box::pin(async move {
                let k = lock(conn, id).await?;
                if k.tenant_id != staff.tenant_id {
                    return Err(AppError::NotFound);
                }
                if k.drafter_id != staff.id {
                    return Err(AppError::Refused(
                        "not_allowed",
                        "only the drafter carries out (施行) a decision".into(),
                    ));
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
                let mut done = Executed::default();
                match k.source {
                    Source::Application => {
                        let app_id = k
                            .application_id
                            .ok_or_else(|| AppError::Internal("application 起案 without application".into()))?;
                        let approve = k.decision.as_deref() == Some("approve");
                        crate::applications::decide_by_route(
                            &db2,
                            conn,
                            &base_url,
                            &staff,
                            app_id,
                            approve,
                            &k.body,
                            k.number.as_deref(),
                        )
                        .await?;
                        done.application = Some(app_id);
                    }
                    Source::Disposal => {
                        done.released = super::records::carry_out(conn, &db2.keys(), &dir, &staff, &k).await?;
                    }
                    // A refund above the tenant's limit waited for this 決裁.
                    Source::Internal => crate::payments::on_kian_executed(conn, id).await?,
                }
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

/// The live 起案 of an application, if any.
pub async fn of_application(db: &Db, application_id: i64) -> Result<Option<(i64, String)>> {
    let row = sqlx::query(
        "SELECT id, state FROM kian WHERE application_id = $1 AND state NOT IN ('rejected', 'abandoned') ORDER BY id DESC LIMIT 1",
    )
    .bind(application_id)
    .fetch_optional(&db.read)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}
