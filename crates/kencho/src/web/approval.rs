//! 電子決裁 pages (`/staff/kessai…`) and API (`/api/v1/kessai…`, `/api/v1/admin/approval…`):
//! inboxes, drafting, the document with its route and acts, absences, the organisation and
//! 専決 table editor, records disposal and the paperless figures.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kencho_core::approval::doc::{fiscal_year, format_date};
use kencho_core::approval::figures::DivisionFigures;
use kencho_core::approval::org::{PersonId, PostId};
use kencho_core::approval::route::{Action, Ctx as RouteCtx, Done, Role, SendBackTo, State as RouteState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::json;
use super::{fmt_time, form_get, render, staff_form, AppState, Ctx, InLang, Layout, PageResult};
use crate::accounts::Staff;
use crate::approval::kian::{self, Draft, Inbox, Kian, Line, RouteEdit, Source};
use crate::approval::setup::{self, person_of, staff_id_of, Setup};
use crate::approval::{self as approval, records};
use crate::db::now_ms;
use crate::error::{AppError, Result};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/kessai", get(inbox_page).post(create_page))
        .route("/staff/kessai/new", get(new_page))
        .route("/staff/kessai/{id}", get(doc_page))
        .route("/staff/kessai/{id}/act", post(act_page))
        .route("/staff/kessai/{id}/route", post(route_page))
        .route("/staff/kessai/{id}/files", post(attach_page))
        .route("/staff/kessai/{id}/files/{fid}", get(download_page))
        .route("/staff/kessai/{id}/execute", post(execute_page))
        .route("/staff/kessai/{id}/notice", post(reissue_page))
        .route("/staff/kessai/absences", get(absences_page).post(add_absence_page))
        .route("/staff/kessai/setup", get(setup_page).post(load_setup_page))
        .route("/staff/kessai/records", get(records_page).post(dispose_page))
        .route("/staff/kessai/figures", get(figures_page))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/approval/{kind}", put(api_load_setup))
        .route("/kessai", get(api_inbox).post(api_create))
        .route("/kessai/figures", get(api_figures))
        .route("/kessai/{id}", get(api_get))
        .route("/kessai/{id}/acts", post(api_act))
        .route("/kessai/{id}/route", post(api_route))
        .route("/kessai/{id}/execute", post(api_execute))
        .route("/absences", post(api_absence))
        .route("/records/disposal", get(api_disposal_list).post(api_dispose))
}

// ---------------------------------------------------------------------------------------------
// Views shared by pages and the API.

fn post_name(setup: &Setup, post: &str) -> String {
    let today = kian::today_at(now_ms());
    setup.org.post(&PostId(post.to_string()), today).map(|p| p.name.clone()).unwrap_or_else(|| post.to_string())
}

async fn staff_names(st: &AppState, tenant_id: i64) -> Result<HashMap<i64, String>> {
    crate::accounts::staff_names(&st.db, tenant_id).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub post: String,
    pub post_name: String,
    /// Who holds the post today.
    pub holder: String,
    /// kaigi (回議), aigi (合議) or decide (決裁).
    pub role: String,
    /// approved, agreed, skipped, taken_over, substituted; empty while not done.
    pub done: String,
    /// Waiting for this step now.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageView {
    pub index: usize,
    pub steps: Vec<StepView>,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Kaigi => "kaigi",
        Role::Aigi => "aigi",
        Role::Decide => "decide",
    }
}

fn done_name(d: Option<Done>) -> &'static str {
    match d {
        None => "",
        Some(Done::Approved) => "approved",
        Some(Done::Agreed) => "agreed",
        Some(Done::Skipped) => "skipped",
        Some(Done::TakenOver) => "taken_over",
        Some(Done::Substituted) => "substituted",
    }
}

fn stages(setup: &Setup, names: &HashMap<i64, String>, k: &Kian) -> Vec<StageView> {
    let today = kian::today_at(now_ms());
    let current: BTreeSet<(usize, usize)> = k.route.current_steps().into_iter().collect();
    k.route
        .stages()
        .iter()
        .enumerate()
        .map(|(i, st)| StageView {
            index: i,
            steps: st
                .steps
                .iter()
                .enumerate()
                .map(|(j, s)| StepView {
                    post: s.post.0.clone(),
                    post_name: post_name(setup, &s.post.0),
                    holder: setup
                        .org
                        .holder(&s.post, today)
                        .as_ref()
                        .and_then(staff_id_of)
                        .and_then(|id| names.get(&id).cloned())
                        .unwrap_or_else(|| "（空席）".into()),
                    role: role_name(s.role).into(),
                    done: done_name(s.done).into(),
                    current: current.contains(&(i, j)),
                })
                .collect(),
        })
        .collect()
}

/// The acts `staff` could do now, found by trying each on a copy of the route (the state
/// machine is the one authority on what is allowed).
async fn available_acts(st: &AppState, setup: &Setup, staff: &Staff, k: &Kian) -> Result<Vec<&'static str>> {
    let mut conn = st.db.read.acquire().await?;
    let now = now_ms();
    let at = kian::at_time(now);
    let absent = setup::absent_on(&mut conn, k.tenant_id, at.date()).await?;
    let ctx = RouteCtx { org: &setup.org, at, absent: &absent };
    let me = person_of(staff.id);
    let c = || Some("-".to_string());
    let earlier = match k.route.state() {
        RouteState::InProgress { stage } if *stage > 0 => SendBackTo::Stage(0),
        _ => SendBackTo::Drafter,
    };
    let candidates: Vec<(&'static str, Action)> = vec![
        ("submit", Action::Submit),
        ("approve", Action::Approve { comment: None }),
        ("agree", Action::Agree { comment: None }),
        ("disagree", Action::Disagree { comment: "-".into() }),
        ("send_back", Action::SendBack { to: SendBackTo::Drafter, comment: "-".into() }),
        ("send_back_earlier", Action::SendBack { to: earlier, comment: "-".into() }),
        ("recall", Action::Recall),
        ("reject", Action::Reject { comment: "-".into() }),
        ("substitute_decide", Action::SubstituteDecide { comment: c() }),
        ("take_over", Action::TakeOver { comment: c() }),
        ("read", Action::Read),
        ("abandon", Action::Abandon { comment: None }),
    ];
    let mut out = Vec::new();
    for (name, a) in candidates {
        let mut r = k.route.clone();
        if r.act(&ctx, &me, a).is_ok() {
            if name == "send_back_earlier" && earlier == SendBackTo::Drafter {
                continue;
            }
            out.push(name);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KouetsuView {
    pub person: String,
    pub read: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KianView {
    pub id: i64,
    pub number: Option<String>,
    pub title: String,
    pub body: String,
    pub source: String,
    pub application_id: Option<i64>,
    pub matter_kind: String,
    pub amount: Option<i64>,
    pub important: bool,
    pub decision: Option<String>,
    pub drafter: String,
    pub drafter_post: String,
    pub state: String,
    pub decided_on: Option<String>,
    pub executed: bool,
    pub retention_years: i64,
    pub disposal: String,
    pub stages: Vec<StageView>,
    /// 供覧 posts.
    pub readers: Vec<String>,
    /// 後閲 owed.
    pub kouetsu: Vec<KouetsuView>,
    pub history: Vec<kian::HistoryLine>,
    pub files: Vec<kian::KianFile>,
    /// What the caller may do now.
    pub acts: Vec<String>,
}

/// The 起案 as shown, with the setup it was read against and whether `staff` drafted it.
async fn view(st: &AppState, staff: &Staff, id: i64) -> Result<(KianView, Setup, bool)> {
    let setup = st.approval.get(&st.db, staff.tenant_id).await?;
    let k = kian::get(&st.db, &setup, staff, id).await?;
    let names = staff_names(st, staff.tenant_id).await?;
    let name_of = |p: &PersonId| staff_id_of(p).and_then(|i| names.get(&i).cloned()).unwrap_or_default();
    let acts = available_acts(st, &setup, staff, &k).await?;
    let v = KianView {
        id: k.id,
        number: k.number.clone(),
        title: k.title.clone(),
        body: k.body.clone(),
        source: k.source.as_str().into(),
        application_id: k.application_id,
        matter_kind: k.matter_kind.clone(),
        amount: k.amount,
        important: k.important,
        decision: k.decision.clone(),
        drafter: names.get(&k.drafter_id).cloned().unwrap_or_default(),
        drafter_post: post_name(&setup, &k.drafter_post),
        state: k.state.clone(),
        decided_on: k.decided_on.clone(),
        executed: k.executed_at.is_some(),
        retention_years: k.retention_years,
        disposal: k.disposal.clone(),
        stages: stages(&setup, &names, &k),
        readers: k.route.readers().iter().map(|p| post_name(&setup, &p.0)).collect(),
        kouetsu: k.route.kouetsu().iter().map(|x| KouetsuView { person: name_of(&x.person), read: x.read }).collect(),
        history: kian::history(&st.db, id).await?,
        files: kian::files(&st.db, id).await?,
        acts: acts
            .into_iter()
            .map(str::to_string)
            .chain((k.is_decided() && k.executed_at.is_none() && k.may_execute(staff)).then(|| "execute".to_string()))
            .collect(),
    };
    Ok((v, setup, k.drafter_id == staff.id))
}

/// After 施行 of an application decision the signed notice is issued, outside the decision's
/// transaction (rendering must not hold the write lock). If that fails, the decision stands and
/// the 起案's page offers to issue the notice again.
async fn after_execute(st: &AppState, done: &kian::Executed, kian_id: i64) {
    if let Some(app) = done.application {
        if let Err(e) =
            crate::documents::issue_decision_notice(&st.db, &st.cfg.base_url, &st.cfg.data_dir, app, Some(kian_id))
                .await
        {
            tracing::error!(error = %e, application = app, kian = kian_id, "the signed notice was not issued");
        }
    }
    st.nudge.notify_one();
}

/// Whether a carried-out application 起案 still lacks its signed notice.
async fn notice_missing(st: &AppState, k: &KianView) -> Result<bool> {
    match (k.executed, k.application_id) {
        (true, Some(app)) => Ok(crate::documents::notice_for_application(&st.db, app).await?.is_none()),
        _ => Ok(false),
    }
}

// ---------------------------------------------------------------------------------------------
// Pages.

#[derive(Deserialize)]
struct InboxQuery {
    #[serde(default, rename = "box")]
    which: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "kessai_inbox.html")]
struct InboxPage {
    l: Layout,
    tab: String,
    tabs: Vec<(String, String, i64)>,
    lines: Vec<Line>,
    q: String,
    admin: bool,
}

impl InboxPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn state_label(&self, s: &str) -> String {
        self.l.t(&format!("kessai.state_{s}"))
    }
}

async fn inbox_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<InboxQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let setup = st.approval.get(&st.db, s.tenant_id).await.lang(&lang)?;
    let query = q.q.unwrap_or_default();
    let which = q.which.as_deref().and_then(Inbox::parse).unwrap_or(Inbox::Pending);
    let lines = if query.trim().is_empty() {
        kian::inbox(&st.db, &setup, &s, which).await
    } else if query.chars().count() > 100 {
        Err(AppError::BadRequest("the search is too long".into()))
    } else {
        kian::search(&st.db, &setup, &s, &query).await
    }
    .lang(&lang)?;
    let c = ctx.kessai;
    let l = ctx.layout(&st, &crate::i18n::t(&lang, "kessai.title"));
    let tabs = Inbox::ALL
        .iter()
        .map(|b| {
            let n = match b {
                Inbox::Pending => c.pending,
                Inbox::Kouetsu => c.kouetsu,
                Inbox::Kyoran => c.kyoran,
                _ => -1,
            };
            (b.as_str().to_string(), l.t(&format!("kessai.box_{}", b.as_str())), n)
        })
        .collect();
    render(&InboxPage {
        l,
        tab: if query.trim().is_empty() { which.as_str().to_string() } else { String::new() },
        tabs,
        lines,
        q: query,
        admin: s.role == kencho_core::application::Role::Admin,
    })
    .lang(&lang)
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    application: Option<i64>,
}

#[derive(Template)]
#[template(path = "kessai_new.html")]
struct NewPage {
    l: Layout,
    kinds: Vec<String>,
    divisions: Vec<(String, String)>,
    posts: Vec<(String, String)>,
    application: Option<(i64, String)>,
    title: String,
    matter: String,
    retention: i64,
    disposal: String,
    body: String,
    error: String,
}

async fn new_view(st: &AppState, ctx: &Ctx, application: Option<i64>, error: String) -> Result<NewPage> {
    let s = ctx.staff()?;
    let setup = st.approval.get(&st.db, s.tenant_id).await?;
    let today = kian::today_at(now_ms());
    let mut kinds: Vec<String> =
        setup.rules.iter().filter(|r| r.period.contains(today)).map(|r| r.kind.clone()).collect();
    kinds.sort();
    kinds.dedup();
    let divisions = setup
        .org
        .divisions
        .iter()
        .filter(|d| d.period.contains(today))
        .map(|d| (d.id.0.clone(), d.name.clone()))
        .collect();
    let posts = setup
        .org
        .posts_of(&person_of(s.id), today)
        .into_iter()
        .map(|p| (p.0.clone(), post_name(&setup, &p.0)))
        .collect();
    let mut page = NewPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "kessai.new_title")),
        kinds,
        divisions,
        posts,
        application: None,
        title: String::new(),
        matter: String::new(),
        retention: 5,
        disposal: "haiki".into(),
        body: String::new(),
        error,
    };
    if let Some(id) = application {
        let a = crate::applications::open_for_staff(&st.db, s, id, "draft a decision").await?;
        let p = crate::applications::procedure_version(&st.db, a.procedure_id).await?;
        let receipt = a.receipt_number.clone().unwrap_or_default();
        page.application = Some((id, format!("{receipt} {}（{}）", p.def.title, a.resident_name)));
        page.title = format!("{}の決定について（{receipt}）", p.def.title);
        page.matter = p.def.matter.clone().unwrap_or_default();
        page.retention = i64::from(p.def.retention_years);
        page.disposal = p.def.disposal.as_str().into();
    }
    Ok(page)
}

async fn new_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NewQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&new_view(&st, &ctx, q.application, String::new()).await.lang(&lang)?).lang(&lang)
}

fn draft_from_form(form: &[(String, String)]) -> Result<Draft> {
    let get = |k: &str| form_get(form, k).unwrap_or_default().to_string();
    let application_id = match get("application_id").trim() {
        "" => None,
        s => Some(s.parse::<i64>().map_err(|_| AppError::BadRequest("application".into()))?),
    };
    let amount = match get("amount").trim() {
        "" => None,
        s => Some(
            kencho_core::text::nfkc_trim(s)
                .replace(',', "")
                .parse::<i64>()
                .map_err(|_| AppError::BadRequest("the amount must be whole yen".into()))?,
        ),
    };
    let mut consult = Vec::new();
    for i in 1..=4 {
        let d = get(&format!("consult_{i}"));
        if !d.is_empty() {
            consult.push((d, form_get(form, &format!("parallel_{i}")).is_some()));
        }
    }
    let decision = match application_id {
        Some(_) => match get("decision").as_str() {
            "approve" | "deny" => Some(get("decision")),
            _ => return Err(AppError::BadRequest("choose 承認 or 不承認 for the application".into())),
        },
        None => None,
    };
    Ok(Draft {
        source: if application_id.is_some() { Source::Application } else { Source::Internal },
        application_id,
        title: get("title"),
        body: get("body"),
        matter_kind: get("matter_kind"),
        amount,
        important: form_get(form, "important").is_some(),
        decision,
        drafter_post: Some(get("drafter_post")).filter(|s| !s.is_empty()),
        consult,
        retention_years: get("retention_years").parse().unwrap_or(0),
        disposal: get("disposal"),
    })
}

async fn create_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let outcome = match draft_from_form(&form) {
        Ok(d) => kian::create(&st.db, &st.approval, &s, d).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(id) => Ok(Redirect::to(&format!("/staff/kessai/{id}")).into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_) | AppError::Refused(..)) => {
            let app = form_get(&form, "application_id").and_then(|v| v.parse().ok());
            let mut page = new_view(&st, &ctx, app, e.message(&lang)).await.lang(&lang)?;
            page.title = form_get(&form, "title").unwrap_or_default().into();
            page.body = form_get(&form, "body").unwrap_or_default().into();
            page.matter = form_get(&form, "matter_kind").unwrap_or_default().into();
            Ok(super::render_status(e.status(), &page).lang(&lang)?)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "kessai_doc.html")]
struct DocPage {
    l: Layout,
    k: KianView,
    notice_missing: bool,
    editable: bool,
    posts: Vec<(String, String)>,
    error: String,
}

impl DocPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn has(&self, act: &str) -> bool {
        self.k.acts.iter().any(|a| a == act)
    }
    fn label(&self, prefix: &str, key: &str) -> String {
        if key.is_empty() {
            String::new()
        } else {
            self.l.t(&format!("kessai.{prefix}_{key}"))
        }
    }
    fn post_label(&self, code: &Option<String>) -> String {
        code.as_ref()
            .map(|c| self.posts.iter().find(|(p, _)| p == c).map(|(_, n)| n.clone()).unwrap_or_else(|| c.clone()))
            .unwrap_or_default()
    }
}

async fn doc_view(st: &AppState, ctx: &Ctx, id: i64, error: String) -> Result<DocPage> {
    let s = ctx.staff()?;
    let (k, setup, drafter) = view(st, s, id).await?;
    let today = kian::today_at(now_ms());
    let posts =
        setup.org.posts.iter().filter(|p| p.period.contains(today)).map(|p| (p.id.0.clone(), p.name.clone())).collect();
    Ok(DocPage {
        l: ctx.layout(st, &k.title),
        notice_missing: notice_missing(st, &k).await?,
        editable: drafter && matches!(k.state.as_str(), "draft" | "sent_back" | "withdrawn"),
        k,
        posts,
        error,
    })
}

async fn doc_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&doc_view(&st, &ctx, id, String::new()).await.lang(&lang)?).lang(&lang)
}

/// Shows the document again with the error when an act or edit is refused; other errors are
/// error pages.
async fn redisplay(st: &AppState, ctx: &Ctx, id: i64, outcome: Result<()>) -> PageResult {
    let lang = ctx.lang().to_string();
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/staff/kessai/{id}")).into_response()),
        Err(e)
            if matches!(
                e,
                AppError::BadRequest(_) | AppError::Refused(..) | AppError::TooLarge | AppError::UnsupportedMedia(_)
            ) =>
        {
            let page = doc_view(st, ctx, id, e.message(&lang)).await.lang(&lang)?;
            super::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

async fn act_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (form, s) = staff_form(&ctx, &body, false)?;
    let comment = form_get(&form, "comment").map(str::to_string);
    let name = form_get(&form, "act").unwrap_or_default();
    let outcome = async {
        let action = kian::parse_action(name, comment, form_get(&form, "to"))?;
        kian::act(&st.db, &st.approval, &st.cfg.base_url, &s, id, action).await?;
        st.nudge.notify_one();
        Ok(())
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}

fn route_edit_from(get: impl Fn(&str) -> Option<String>) -> Result<RouteEdit> {
    let num = |k: &str| -> Result<usize> {
        get(k).unwrap_or_default().trim().parse().map_err(|_| AppError::BadRequest(format!("{k} must be a number")))
    };
    let post = || get("post").unwrap_or_default();
    Ok(match get("op").unwrap_or_default().as_str() {
        "add_step" => RouteEdit::AddStep {
            at: num("at")?,
            post: post(),
            role: if get("role").as_deref() == Some("aigi") { Role::Aigi } else { Role::Kaigi },
        },
        "add_parallel" => RouteEdit::AddParallel { stage: num("stage")?, post: post() },
        "remove" => RouteEdit::Remove { stage: num("stage")?, index: num("index")? },
        "add_reader" => RouteEdit::AddReader { post: post() },
        other => return Err(AppError::BadRequest(format!("unknown route change {other:?}"))),
    })
}

async fn route_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (form, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        let edit = route_edit_from(|k| form_get(&form, k).map(str::to_string))?;
        kian::edit_route(&st.db, &st.approval, &st.cfg.base_url, &s, id, edit).await
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}

async fn attach_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    mut mp: axum::extract::Multipart,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let mut csrf = None;
    let mut file = None;
    while let Some(field) =
        mp.next_field().await.map_err(|_| AppError::BadRequest("malformed upload".into())).lang(&lang)?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("file").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::TooLarge).lang(&lang)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let outcome = match file {
        Some((name, bytes)) => {
            kian::attach(&st.db, &st.approval, &st.cfg.data_dir, &s, id, &name, bytes).await.map(|_| ())
        }
        None => Err(AppError::BadRequest("choose a file".into())),
    };
    redisplay(&st, &ctx, id, outcome).await
}

async fn download_page(State(st): State<AppState>, ctx: Ctx, Path((id, fid)): Path<(i64, String)>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let setup = st.approval.get(&st.db, s.tenant_id).await.lang(&lang)?;
    let f = kian::file(&st.db, &setup, s, id, &fid).await.lang(&lang)?;
    let bytes = tokio::fs::read(crate::applications::file_path(&st.cfg.data_dir, &f.sha256))
        .await
        .map_err(|_| AppError::NotFound)
        .lang(&lang)?;
    let disposition = format!("attachment; filename*=UTF-8''{}", urlencode(&f.filename));
    Ok(([(header::CONTENT_TYPE, f.media_type.clone()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn execute_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (_, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        let done = kian::execute(&st.db, &st.cfg.base_url, &st.cfg.data_dir, &s, id).await?;
        after_execute(&st, &done, id).await;
        Ok(())
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}

/// Issues the signed notice again when it failed after 施行 (idempotent).
async fn reissue_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (_, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        // Only the 起案 itself is needed, not the whole page view.
        let setup = st.approval.get(&st.db, s.tenant_id).await?;
        let k = kian::get(&st.db, &setup, &s, id).await?;
        let app = k
            .application_id
            .filter(|_| k.executed_at.is_some())
            .ok_or(AppError::Refused("wrong_state", "nothing to issue".into()))?;
        crate::documents::issue_decision_notice(&st.db, &st.cfg.base_url, &st.cfg.data_dir, app, Some(id)).await?;
        Ok(())
    }
    .await;
    redisplay(&st, &ctx, id, outcome).await
}

#[derive(Template)]
#[template(path = "kessai_absences.html")]
struct AbsencesPage {
    l: Layout,
    absences: Vec<setup::Absence>,
    staff: Vec<(i64, String)>,
    me: i64,
    admin: bool,
    error: String,
}

async fn absences_view(st: &AppState, ctx: &Ctx, error: String) -> Result<AbsencesPage> {
    let s = ctx.staff()?;
    let absences = setup::absences(&st.db, s.tenant_id, kian::today_at(now_ms())).await?;
    let mut staff: Vec<(i64, String)> = staff_names(st, s.tenant_id).await?.into_iter().collect();
    staff.sort();
    Ok(AbsencesPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "kessai.absences_title")),
        absences,
        staff,
        me: s.id,
        admin: s.role == kencho_core::application::Role::Admin,
        error,
    })
}

async fn absences_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&absences_view(&st, &ctx, String::new()).await.lang(&lang)?).lang(&lang)
}

async fn add_absence_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let who = form_get(&form, "staff_id").and_then(|v| v.parse().ok()).unwrap_or(s.id);
    let outcome = setup::add_absence(
        &st.db,
        &s,
        who,
        form_get(&form, "from").unwrap_or_default(),
        form_get(&form, "to").unwrap_or_default(),
        form_get(&form, "note").unwrap_or_default(),
    )
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to("/staff/kessai/absences").into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_)) => {
            let page = absences_view(&st, &ctx, e.message(&lang)).await.lang(&lang)?;
            super::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "kessai_setup.html")]
struct SetupPage {
    l: Layout,
    org: String,
    rules: String,
    errors: Vec<String>,
    saved: bool,
}

async fn setup_view(st: &AppState, ctx: &Ctx) -> Result<SetupPage> {
    let s = ctx.admin()?;
    Ok(SetupPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "kessai.setup_title")),
        org: setup::source(&st.db, s.tenant_id, "org").await?,
        rules: setup::source(&st.db, s.tenant_id, "rules").await?,
        errors: Vec::new(),
        saved: false,
    })
}

async fn setup_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&setup_view(&st, &ctx).await.lang(&lang)?).lang(&lang)
}

async fn load_setup_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let kind = form_get(&form, "kind").unwrap_or_default().to_string();
    let text = form_get(&form, "text").unwrap_or_default().to_string();
    let outcome = setup::load(&st.db, &st.approval, &s, &kind, &text).await;
    let mut page = setup_view(&st, &ctx).await.lang(&lang)?;
    match outcome {
        Ok(_) => {
            page.saved = true;
            render(&page).lang(&lang)
        }
        Err(AppError::BadRequest(m)) => {
            page.errors = m.lines().map(str::to_string).collect();
            // Keep what was typed, so the administrator fixes it rather than retypes it.
            if kind == "org" {
                page.org = text;
            } else {
                page.rules = text;
            }
            super::render_status(StatusCode::BAD_REQUEST, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Deserialize)]
struct FyQuery {
    #[serde(default)]
    fy: Option<i32>,
}

fn fy_of(q: &FyQuery) -> Result<i32> {
    let fy = q.fy.unwrap_or_else(|| fiscal_year(kian::today_at(now_ms())));
    if !(2000..=2200).contains(&fy) {
        return Err(AppError::BadRequest("the fiscal year must be between 2000 and 2200".into()));
    }
    Ok(fy)
}

#[derive(Template)]
#[template(path = "kessai_records.html")]
struct RecordsPage {
    l: Layout,
    fy: i32,
    records: Vec<records::Record>,
    log: Vec<records::Disposed>,
    admin: bool,
    due: usize,
    error: String,
}

impl RecordsPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

async fn records_view(st: &AppState, ctx: &Ctx, fy: i32, error: String) -> Result<RecordsPage> {
    let s = ctx.staff()?;
    let list = records::expiring(&st.db, s.tenant_id, fy).await?;
    let today = format_date(kian::today_at(now_ms()));
    Ok(RecordsPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "kessai.records_title")),
        fy,
        due: list.iter().filter(|r| r.state == "kept" && r.expires_on <= today).count(),
        records: list,
        log: records::disposal_log(&st.db, s.tenant_id).await?,
        admin: s.role == kencho_core::application::Role::Admin,
        error,
    })
}

async fn records_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<FyQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let fy = fy_of(&q).lang(&lang)?;
    render(&records_view(&st, &ctx, fy, String::new()).await.lang(&lang)?).lang(&lang)
}

async fn dispose_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let fy = fy_of(&FyQuery { fy: form_get(&form, "fy").and_then(|v| v.parse().ok()) }).lang(&lang)?;
    match records::draft_disposal(&st.db, &st.approval, &s, fy).await {
        Ok(id) => Ok(Redirect::to(&format!("/staff/kessai/{id}")).into_response()),
        Err(e) if matches!(e, AppError::Refused(..)) => {
            let page = records_view(&st, &ctx, fy, e.message(&lang)).await.lang(&lang)?;
            super::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

/// A horizontal bar of a server-drawn chart.
struct Bar {
    label: String,
    value: f64,
    y: usize,
    w: usize,
}

#[derive(Template)]
#[template(path = "kessai_figures.html")]
struct FiguresPage {
    l: Layout,
    fy: i32,
    figures: Vec<DivisionFigures>,
    route_bars: Vec<Bar>,
    sent_back_bars: Vec<Bar>,
    division_names: HashMap<String, String>,
}

impl FiguresPage {
    fn name(&self, code: &str) -> String {
        if code.is_empty() {
            self.l.t("kessai.fig_all")
        } else {
            self.division_names.get(code).cloned().unwrap_or_else(|| code.to_string())
        }
    }
    fn chart_height(&self, bars: &[Bar]) -> usize {
        bars.len() * 28 + 10
    }
}

fn bars(items: Vec<(String, f64)>) -> Vec<Bar> {
    let max = items.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(f64::EPSILON);
    items
        .into_iter()
        .enumerate()
        .map(|(i, (label, value))| Bar { label, value, y: 5 + i * 28, w: ((value / max) * 380.0).round() as usize })
        .collect()
}

/// The fiscal year's span in epoch milliseconds (JST).
fn fy_span(fy: i32) -> (i64, i64) {
    let start = |y: i32| {
        time::Date::from_calendar_date(y, time::Month::April, 1)
            .map(|d| d.midnight().assume_offset(crate::applications::jst()).unix_timestamp() * 1000)
            .unwrap_or(0)
    };
    (start(fy), start(fy + 1))
}

async fn figures_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<FyQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let fy = fy_of(&q).lang(&lang)?;
    let (from, to) = fy_span(fy);
    let figures = approval::figures(&st.db, s.tenant_id, from, to).await.lang(&lang)?;
    let setup = st.approval.get(&st.db, s.tenant_id).await.lang(&lang)?;
    let division_names: HashMap<String, String> =
        setup.org.divisions.iter().map(|d| (d.id.0.clone(), d.name.clone())).collect();
    let label = |c: &str| division_names.get(c).cloned().unwrap_or_else(|| c.to_string());
    let per_div: Vec<&DivisionFigures> = figures.iter().filter(|f| !f.division.is_empty()).collect();
    let route_bars = bars(per_div.iter().map(|f| (label(&f.division), f.per_route.median_days)).collect());
    let sent_back_bars = bars(per_div.iter().map(|f| (label(&f.division), f.sent_back as f64)).collect());
    render(&FiguresPage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "kessai.figures_title")),
        fy,
        figures,
        route_bars,
        sent_back_bars,
        division_names,
    })
    .lang(&lang)
}

// ---------------------------------------------------------------------------------------------
// API.

/// Loads the organisation (`org`) or 専決 table (`rules`) as a TOML document (the format is in
/// the README); checked whole, every problem named, nothing stored on error.
#[utoipa::path(put, path = "/api/v1/admin/approval/{kind}", tag = "approval", security(("bearer" = [])),
    params(("kind" = String, Path, description = "org or rules")),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 201, body = i64, content_type = "application/json"), (status = 400, body = super::api::ErrorBody)))]
async fn api_load_setup(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.admin()?;
    if body.len() > 2 * 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("the document is not UTF-8".into()))?;
    let id = setup::load(&st.db, &st.approval, s, &kind, text).await?;
    Ok((StatusCode::CREATED, Json(id)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKian {
    pub title: String,
    pub body: String,
    /// Kind of matter as named in the 専決 table; for an application, defaults to the
    /// procedure's.
    #[serde(default)]
    pub matter_kind: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    /// 重要・異例: goes to the head.
    #[serde(default)]
    pub important: bool,
    /// Decide this application (it must be accepted).
    #[serde(default)]
    pub application_id: Option<i64>,
    /// For an application: approve or deny.
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub drafter_post: Option<String>,
    /// 合議: division codes; `parallel: true` joins the previous entry's group.
    #[serde(default)]
    pub consult: Vec<Consult>,
    #[serde(default)]
    pub retention_years: Option<i64>,
    #[serde(default)]
    pub disposal: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consult {
    pub division: String,
    #[serde(default)]
    pub parallel: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Drafts a 起案 with the proposed route (state `draft`; submit it with the `submit` act).
#[utoipa::path(post, path = "/api/v1/kessai", tag = "approval", security(("bearer" = [])), request_body = NewKian,
    responses((status = 201, body = Created), (status = 400, body = super::api::ErrorBody), (status = 409, body = super::api::ErrorBody)))]
async fn api_create(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = ctx.staff()?;
    let b: NewKian = json(&headers, &body)?;
    // For an application the procedure's kind of matter, retention and disposal apply
    // (kian::prepare), whatever the body says.
    let d = Draft {
        source: if b.application_id.is_some() { Source::Application } else { Source::Internal },
        application_id: b.application_id,
        title: b.title,
        body: b.body,
        matter_kind: b.matter_kind.unwrap_or_default(),
        amount: b.amount,
        important: b.important,
        decision: b.decision,
        drafter_post: b.drafter_post,
        consult: b.consult.into_iter().map(|c| (c.division, c.parallel)).collect(),
        retention_years: b.retention_years.unwrap_or(5),
        disposal: b.disposal.unwrap_or_else(|| "haiki".into()),
    };
    let id = kian::create(&st.db, &st.approval, s, d).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct BoxQuery {
    /// pending (未処理), drafting (起案中), kouetsu (後閲), kyoran (供覧), decided (決裁済).
    #[serde(default, rename = "box")]
    pub which: Option<String>,
    /// Japanese search over titles and bodies instead of a box.
    #[serde(default)]
    pub q: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxBody {
    pub counts: kian::Counts,
    pub items: Vec<Line>,
}

#[utoipa::path(get, path = "/api/v1/kessai", tag = "approval", security(("bearer" = [])), params(BoxQuery),
    responses((status = 200, body = InboxBody)))]
async fn api_inbox(State(st): State<AppState>, ctx: Ctx, Query(q): Query<BoxQuery>) -> Result<Json<InboxBody>> {
    let s = ctx.staff()?;
    let setup = st.approval.get(&st.db, s.tenant_id).await?;
    let items = match q.q.as_deref().filter(|q| !q.trim().is_empty()) {
        Some(query) if query.chars().count() > 100 => {
            return Err(AppError::BadRequest("the search is too long".into()))
        }
        Some(query) => kian::search(&st.db, &setup, s, query).await?,
        None => {
            let which = match q.which.as_deref() {
                None => Inbox::Pending,
                Some(w) => Inbox::parse(w).ok_or_else(|| AppError::BadRequest(format!("unknown box {w:?}")))?,
            };
            kian::inbox(&st.db, &setup, s, which).await?
        }
    };
    Ok(Json(InboxBody { counts: kian::counts(&st.db, &setup, s).await?, items }))
}

#[utoipa::path(get, path = "/api/v1/kessai/{id}", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = KianView), (status = 404, body = super::api::ErrorBody)))]
async fn api_get(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<KianView>> {
    let s = ctx.staff()?;
    Ok(Json(view(&st, s, id).await?.0))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    /// submit, approve, agree, disagree, send_back, recall, reject, abandon, substitute_decide,
    /// take_over, read.
    pub act: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// For send_back: `drafter` (default) or the number of an earlier stage.
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActResult {
    pub state: String,
}

#[utoipa::path(post, path = "/api/v1/kessai/{id}/acts", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ActBody,
    responses((status = 200, body = ActResult), (status = 409, description = "Refused by the rules; the code names the rule", body = super::api::ErrorBody)))]
async fn api_act(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActResult>> {
    let s = ctx.staff()?;
    let b: ActBody = json(&headers, &body)?;
    let action = kian::parse_action(&b.act, b.comment, b.to.as_deref())?;
    let state = kian::act(&st.db, &st.approval, &st.cfg.base_url, s, id, action).await?;
    st.nudge.notify_one();
    Ok(Json(ActResult { state }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    /// add_step, add_parallel, remove, add_reader.
    pub op: String,
    #[serde(default)]
    pub post: Option<String>,
    /// kaigi or aigi, for add_step.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub at: Option<usize>,
    #[serde(default)]
    pub stage: Option<usize>,
    #[serde(default)]
    pub index: Option<usize>,
}

#[utoipa::path(post, path = "/api/v1/kessai/{id}/route", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = RouteBody, responses((status = 204), (status = 409, body = super::api::ErrorBody)))]
async fn api_route(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let s = ctx.staff()?;
    let b: RouteBody = json(&headers, &body)?;
    let edit = route_edit_from(|k| match k {
        "op" => Some(b.op.clone()),
        "post" => b.post.clone(),
        "role" => b.role.clone(),
        "at" => b.at.map(|v| v.to_string()),
        "stage" => b.stage.map(|v| v.to_string()),
        "index" => b.index.map(|v| v.to_string()),
        _ => None,
    })?;
    kian::edit_route(&st.db, &st.approval, &st.cfg.base_url, s, id, edit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 施行: carries out a decided 起案 (an application's decision reaches the resident with a
/// signed notice; a disposal disposes of its records).
#[utoipa::path(post, path = "/api/v1/kessai/{id}/execute", tag = "approval", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = super::api::ErrorBody)))]
async fn api_execute(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.staff()?;
    let done = kian::execute(&st.db, &st.cfg.base_url, &st.cfg.data_dir, s, id).await?;
    after_execute(&st, &done, id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceBody {
    /// Whose absence; yourself when absent (administrators may name anyone in the tenant).
    #[serde(default)]
    pub staff_id: Option<i64>,
    /// YYYY-MM-DD, first day away.
    pub from: String,
    /// YYYY-MM-DD, last day away.
    pub to: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/absences", tag = "approval", security(("bearer" = [])), request_body = AbsenceBody,
    responses((status = 201, body = Created), (status = 400, body = super::api::ErrorBody)))]
async fn api_absence(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = ctx.staff()?;
    let b: AbsenceBody = json(&headers, &body)?;
    let id = setup::add_absence(&st.db, s, b.staff_id.unwrap_or(s.id), &b.from, &b.to, &b.note).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FyParam {
    /// Fiscal year (年度, April–March); the current one when absent.
    #[serde(default)]
    pub fy: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct FiguresBody {
    pub fiscal_year: i32,
    /// The first line (division "") is the whole tenant. Each: division, decided, submitted,
    /// sent_back, per_step and per_route {count, median_days, p90_days}, slowest_posts.
    #[schema(value_type = Vec<Object>)]
    pub divisions: Vec<DivisionFigures>,
}

#[utoipa::path(get, path = "/api/v1/kessai/figures", tag = "approval", security(("bearer" = [])), params(FyParam),
    responses((status = 200, body = FiguresBody)))]
async fn api_figures(State(st): State<AppState>, ctx: Ctx, Query(q): Query<FyParam>) -> Result<Json<FiguresBody>> {
    let s = ctx.staff()?;
    let fy = fy_of(&FyQuery { fy: q.fy })?;
    let (from, to) = fy_span(fy);
    Ok(Json(FiguresBody { fiscal_year: fy, divisions: approval::figures(&st.db, s.tenant_id, from, to).await? }))
}

#[utoipa::path(get, path = "/api/v1/records/disposal", tag = "approval", security(("bearer" = [])), params(FyParam),
    responses((status = 200, body = [records::Record])))]
async fn api_disposal_list(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<FyParam>,
) -> Result<Json<Vec<records::Record>>> {
    let s = ctx.staff()?;
    Ok(Json(records::expiring(&st.db, s.tenant_id, fy_of(&FyQuery { fy: q.fy })?).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisposeBody {
    pub fy: i32,
}

/// Drafts the disposal 起案 for a fiscal year's expired records; once decided and carried out
/// (施行), they are destroyed or transferred.
#[utoipa::path(post, path = "/api/v1/records/disposal", tag = "approval", security(("bearer" = [])), request_body = DisposeBody,
    responses((status = 201, body = Created), (status = 409, body = super::api::ErrorBody)))]
async fn api_dispose(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let b: DisposeBody = json(&headers, &body)?;
    let fy = fy_of(&FyQuery { fy: Some(b.fy) })?;
    let id = records::draft_disposal(&st.db, &st.approval, s, fy).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}
