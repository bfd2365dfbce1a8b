//! Pages for staff: log in with a second factor, the division inbox, the case page and its
//! actions, export, and the tenant administrator's page (procedures, API tokens).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use kencho_core::application::{Action, Role, Status};
use kencho_core::approval::route::StateKind;
use kencho_core::procedure::ProcedureDef;

use super::form_html::answer_rows;
use super::resident::{event_rows, fee_label, rows, with_session_cookie, EventRow, LoginPage, Row};
use super::{
    fmt_date, fmt_time, form_get, parse_form, render, render_status, AppState, Ctx, InLang, Layout, PageResult,
};
use crate::accounts::tokens::ApiTokenInfo;
use crate::accounts::{self, Principal};
use crate::applications::{self as apps, Attachment, InboxFilter};
use crate::error::AppError;
use kencho_core::security::Scope;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login_form).post(login))
        .route("/staff/mfa", get(mfa_form).post(mfa))
        .route("/staff", get(inbox))
        .route("/staff/applications/{id}", get(case_page))
        .route("/staff/applications/{id}/action", post(action))
        .route("/staff/export.csv", get(export_csv))
        .route("/staff/export.json", get(export_json))
        .route("/staff/admin", get(admin))
        .route("/staff/admin/procedures", post(import_procedure))
        .route("/staff/admin/tokens", post(create_token))
        .route("/staff/admin/policy", post(save_policy))
        .route("/staff/admin/tokens/{id}/revoke", post(revoke_token))
}

async fn login_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    let t = crate::i18n::t(&lang, "staff.login_title");
    render(&LoginPage {
        l: ctx.layout(&st, &t),
        error: String::new(),
        email: String::new(),
        action: "/staff/login".into(),
        heading: t,
        staff: true,
        next: String::new(),
    })
    .lang(&lang)
}

async fn login(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let email = form_get(&form, "email").unwrap_or_default();
    match accounts::login_staff_password(&st.db, email, form_get(&form, "password").unwrap_or_default(), ctx.client())
        .await
    {
        Ok((token, _, _)) => Ok(with_session_cookie(&st, &token, "/staff/mfa")),
        Err(e @ (AppError::BadLogin | AppError::RateLimited)) => {
            let t = crate::i18n::t(&lang, "staff.login_title");
            let status = e.status();
            render_status(
                status,
                &LoginPage {
                    l: ctx.layout(&st, &t),
                    error: e.message(&lang),
                    email: email.into(),
                    action: "/staff/login".into(),
                    heading: t,
                    staff: true,
                    next: String::new(),
                },
            )
            .lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "staff_mfa.html")]
struct MfaPage {
    l: Layout,
    enrol: bool,
    secret: String,
    otpauth: String,
    qr_svg: String,
    error: String,
}

async fn mfa_view(st: &AppState, ctx: &Ctx, error: String) -> Result<MfaPage, AppError> {
    let lang = ctx.lang();
    let Some(Principal::Staff(s)) = ctx.session.as_ref().map(|s| &s.principal) else {
        return Err(AppError::Unauthenticated);
    };
    let (enrol, secret, otpauth, qr_svg) = if s.totp_enabled {
        (false, String::new(), String::new(), String::new())
    } else {
        let (secret, url) = accounts::totp_enrolment(&st.db, s.id).await?;
        let svg = qrcode::QrCode::new(url.as_bytes())
            .map(|c| c.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
            .unwrap_or_default();
        let data = format!(
            "data:image/svg+xml;base64,{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)
        );
        (true, secret, url, data)
    };
    Ok(MfaPage { l: ctx.layout(st, &crate::i18n::t(lang, "mfa.title")), enrol, secret, otpauth, qr_svg, error })
}

async fn mfa_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    if ctx.session.as_ref().is_some_and(|s| s.mfa_ok) {
        return Ok(Redirect::to("/staff").into_response());
    }
    render(&mfa_view(&st, &ctx, String::new()).await.lang(&lang)?).lang(&lang)
}

async fn mfa(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let Some(sess) = ctx.session.as_ref() else {
        return Err(AppError::Unauthenticated).lang(&lang);
    };
    let Principal::Staff(s) = &sess.principal else {
        return Err(AppError::Forbidden).lang(&lang);
    };
    match accounts::complete_mfa(
        &st.db,
        &sess.token_hash,
        s.id,
        form_get(&form, "code").unwrap_or_default(),
        ctx.client(),
    )
    .await
    {
        // A new session token now that both factors are in (the half-way one is dead).
        Ok(signed) => Ok(super::resident::signed_in(&st, &signed, "/staff")),
        Err(e @ (AppError::BadLogin | AppError::RateLimited)) => {
            let status = e.status();
            render_status(status, &mfa_view(&st, &ctx, e.message(&lang)).await.lang(&lang)?).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    l: Layout,
    division: String,
    rows: Vec<Row>,
    statuses: Vec<(Status, String)>,
    procedures: Vec<(String, String)>,
    /// The status filter, when it names one.
    status: Option<Status>,
    procedure: String,
    overdue: bool,
    query: String,
    admin: bool,
}

impl InboxPage {
    fn selected(&self, v: &Status) -> bool {
        self.status == Some(*v)
    }
}

async fn inbox(State(st): State<AppState>, ctx: Ctx, Query(f): Query<InboxFilter>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let list = apps::inbox(&st.db, s, &f).await.lang(&lang)?;
    let statuses =
        Status::ALL.iter().filter(|s| **s != Status::Draft).map(|s| (*s, s.label(&lang).to_string())).collect();
    let query = serde_urlencoded::to_string([
        ("status", f.status.clone().unwrap_or_default()),
        ("procedure", f.procedure.clone().unwrap_or_default()),
        ("overdue", if f.overdue_only() { "1".into() } else { String::new() }),
    ])
    .unwrap_or_default();
    let page = InboxPage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "inbox.title")),
        division: if s.role.sees_all_divisions() {
            s.tenant_name.clone()
        } else {
            format!("{} {}", s.tenant_name, s.division_name)
        },
        rows: rows(&list, &lang, "/staff/applications"),
        statuses,
        procedures: apps::inbox_procedures(&st.db, s).await.lang(&lang)?,
        status: f.status.as_deref().and_then(Status::parse),
        procedure: f.procedure.clone().unwrap_or_default(),
        overdue: f.overdue_only(),
        query,
        admin: s.role == Role::Admin,
    };
    render(&page).lang(&lang)
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    l: Layout,
    id: i64,
    title: String,
    version: i64,
    status: String,
    status_class: String,
    receipt: String,
    content_hash: String,
    applicant: String,
    applicant_email: String,
    applicant_kind: String,
    submitted: String,
    due: String,
    overdue: bool,
    fee: String,
    answers: Vec<(String, String, String)>,
    files: Vec<Attachment>,
    events: Vec<EventRow>,
    can_accept: bool,
    can_correct: bool,
    can_reject: bool,
    can_decide: bool,
    /// The decision notice's number, when one was issued.
    notice_number: String,
    error: String,
    /// The message being typed, kept when the action is refused.
    message: String,
    /// The procedure is decided through an approval route (電子決裁), not here.
    route_required: bool,
    /// The 起案 of this application, if one was drafted: (id, state).
    kian: Option<(i64, StateKind)>,
    /// The fee collected online: what is due, paid and refunded, and whether staff set it.
    payment: Option<crate::payments::Summary>,
    fee_after_review: bool,
    /// The 手数料条例's items and 減免事由 to choose from: (code, label).
    fee_items: Vec<(String, String)>,
    fee_grounds: Vec<(String, String)>,
    refunds: Vec<crate::payments::Refund>,
}

async fn case_view(st: &AppState, ctx: &Ctx, id: i64, error: String) -> Result<CasePage, AppError> {
    let lang = ctx.lang();
    let s = ctx.staff()?;
    let a = apps::open_for_staff(&st.db, s, id, "case page").await?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    let files = apps::attachments(&st.db, id).await?;
    let events = apps::events(&st.db, id).await?;
    let senior = s.role >= Role::Kakaricho;
    let route_required = p.def.matter.is_some();
    let kian = crate::approval::kian::of_application(&st.db, id).await?;
    let payment = match p.def.fee.rule() {
        Some(_) => Some(crate::payments::summary(&st.db, &p, id).await?),
        None => None,
    };
    let fee_after_review = p.def.fee.rule().is_some_and(|(_, t)| t == kencho_core::payment::fee::Timing::AfterReview)
        && a.status == Status::Accepted;
    let refunds = crate::payments::refunds_of(&st.db, id).await?;
    let schedule = if fee_after_review { crate::payments::schedule::load(&st.db, a.tenant_id).await? } else { None };
    let (fee_items, fee_grounds) = schedule
        .map(|(sc, _)| {
            let own = p.def.fee.item.as_deref();
            let items = sc
                .items
                .iter()
                .filter(|i| own.is_none_or(|o| o == i.code))
                .map(|i| (i.code.clone(), format!("{}（{} {}）{} 円", i.name, sc.ordinance, i.article, i.amount)))
                .collect();
            let grounds = sc.grounds.iter().map(|g| (g.code.clone(), format!("{}（{}）", g.text, g.article))).collect();
            (items, grounds)
        })
        .unwrap_or_default();
    Ok(CasePage {
        l: ctx.layout(st, &format!("{} {}", a.receipt_number.clone().unwrap_or_default(), p.title(lang))),
        id,
        title: p.title(lang).to_string(),
        version: p.version,
        status: a.status.label(lang).to_string(),
        status_class: a.status.as_str().to_string(),
        receipt: a.receipt_number.clone().unwrap_or_default(),
        content_hash: a.content_hash.clone().unwrap_or_default(),
        applicant: a.resident_name.clone(),
        applicant_email: a.resident_email.clone(),
        applicant_kind: if a.applicant_kind == "agent" {
            crate::i18n::t(lang, "proc.agent")
        } else {
            crate::i18n::t(lang, "proc.self")
        },
        submitted: a.submitted_at.map(fmt_time).unwrap_or_default(),
        due: a.due_at.map(fmt_date).unwrap_or_default(),
        overdue: a.is_overdue(crate::db::now_ms()),
        fee: fee_label(p.def.fee.amount, lang),
        answers: answer_rows(&p.def, &a.answers, &files, lang),
        files,
        events: event_rows(&events, lang, true),
        can_accept: a.status == Status::Submitted,
        can_correct: matches!(a.status, Status::Submitted | Status::Accepted),
        can_reject: senior && matches!(a.status, Status::Submitted | Status::Accepted | Status::CorrectionRequested),
        can_decide: senior && a.status == Status::Accepted && !route_required,
        notice_number: crate::documents::notice_for_application(&st.db, id)
            .await?
            .map(|d| d.number)
            .unwrap_or_default(),
        error,
        message: String::new(),
        route_required: route_required && a.status == Status::Accepted,
        payment,
        fee_after_review,
        fee_items,
        fee_grounds,
        refunds,
        kian,
    })
}

async fn case_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&case_view(&st, &ctx, id, String::new()).await.lang(&lang)?).lang(&lang)
}

/// Parses a staff action from form or JSON fields.
pub fn parse_action(kind: &str, message: &str) -> Result<Action, AppError> {
    let message = message.trim().to_string();
    Ok(match kind {
        "" => return Err(AppError::BadRequest("choose an action / 行う処理を選んでください".into())),
        "accept" => Action::Accept,
        "request_correction" => Action::RequestCorrection { message },
        "reject" => Action::Reject { reason: message },
        "approve" => Action::Decide { approve: true, notice: message },
        "deny" => Action::Decide { approve: false, notice: message },
        _ => return Err(AppError::BadRequest(format!("unknown action \"{kind}\""))),
    })
}

async fn action(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let s = ctx.staff().lang(&lang)?;
    let message = form_get(&form, "message").unwrap_or_default();
    let outcome = match parse_action(form_get(&form, "action").unwrap_or_default(), message) {
        Ok(act) => {
            crate::flows::decision::staff_action(&st.db, &st.links, (&st.cfg.base_url, &st.cfg.data_dir), s, id, act)
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/staff/applications/{id}")).into_response()),
        Err(e @ (AppError::Transition(_) | AppError::BadRequest(_))) => {
            let status = e.status();
            // Show the case again with the problem on top, keeping what was typed.
            let mut page = case_view(&st, &ctx, id, e.message(&lang)).await.lang(&lang)?;
            page.message = message.to_string();
            render_status(status, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

/// CSV for the office's core systems: one row per application, answers as JSON.
pub fn to_csv(list: &[(apps::Application, std::sync::Arc<crate::procedures::Procedure>)]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "receipt_number",
        "tenant",
        "procedure",
        "procedure_version",
        "status",
        "applicant_kind",
        "applicant_name",
        "applicant_email",
        "submitted_at",
        "due_at",
        "decided_at",
        "content_hash",
        "answers_json",
    ];
    w.write_record(header).map_err(AppError::unexpected)?;
    for (a, p) in list {
        let row = [
            a.receipt_number.clone().unwrap_or_default(),
            p.tenant_code.clone(),
            p.code.clone(),
            p.version.to_string(),
            a.status.as_str().to_string(),
            a.applicant_kind.clone(),
            a.resident_name.clone(),
            a.resident_email.clone(),
            a.submitted_at.map(fmt_time).unwrap_or_default(),
            a.due_at.map(fmt_time).unwrap_or_default(),
            a.decided_at.map(fmt_time).unwrap_or_default(),
            a.content_hash.clone().unwrap_or_default(),
            serde_json::Value::Object(a.answers.clone()).to_string(),
        ];
        // Names and answers are residents' words: never formulas in the office's spreadsheet.
        w.write_record(row.iter().map(|c| kencho_core::text::csv_cell(c).into_owned()))
            .map_err(AppError::unexpected)?;
    }
    let mut bytes = vec![0xEF, 0xBB, 0xBF]; // BOM: spreadsheet software then reads UTF-8 Japanese correctly
    bytes.extend(w.into_inner().map_err(AppError::unexpected)?);
    Ok(bytes)
}

pub fn export_json_value(
    list: &[(apps::Application, std::sync::Arc<crate::procedures::Procedure>)],
) -> serde_json::Value {
    serde_json::Value::Array(
        list.iter()
            .map(|(a, p)| {
                serde_json::json!({
                    "id": a.id,
                    "receipt_number": a.receipt_number,
                    "tenant": p.tenant_code,
                    "procedure": p.code,
                    "procedure_version": p.version,
                    "status": a.status,
                    "applicant_kind": a.applicant_kind,
                    "applicant": {"name": a.resident_name, "email": a.resident_email},
                    "submitted_at": a.submitted_at,
                    "due_at": a.due_at,
                    "decided_at": a.decided_at,
                    "content_hash": a.content_hash,
                    "answers": a.answers,
                })
            })
            .collect(),
    )
}

async fn export_csv(State(st): State<AppState>, ctx: Ctx, Query(f): Query<InboxFilter>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let list = apps::export(&st.db, s, &f).await.lang(&lang)?;
    let bytes = to_csv(&list).lang(&lang)?;
    let mut res = bytes.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"applications.csv\""));
    Ok(res)
}

async fn export_json(State(st): State<AppState>, ctx: Ctx, Query(f): Query<InboxFilter>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let list = apps::export(&st.db, s, &f).await.lang(&lang)?;
    Ok(axum::Json(export_json_value(&list)).into_response())
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    l: Layout,
    tokens: Vec<ApiTokenInfo>,
    /// The tenant's signing keys (電子交付), oldest first.
    keys: Vec<crate::documents::keys::PublicKey>,
    new_token: String,
    message: String,
    error: String,
    /// The table of roles as rows: (act, roles, divisions), and as its document.
    policy_rows: Vec<(String, String, String)>,
    policy_document: String,
    /// The newest security events of the tenant.
    events: Vec<crate::security::StoredEvent>,
}

impl AdminPage {
    fn created(&self, t: &ApiTokenInfo) -> String {
        fmt_time(t.created_at)
    }
    fn scope_key(&self, t: &ApiTokenInfo) -> String {
        format!("admin.scope_{}", t.scope)
    }
    fn time(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

async fn admin_view(
    st: &AppState,
    ctx: &Ctx,
    new_token: String,
    message: String,
    error: String,
) -> Result<AdminPage, AppError> {
    let s = ctx.admin()?;
    let lang = ctx.lang();
    let (policy, stored) = crate::security::policy::load(&st.db, s.tenant_id).await?;
    let policy_rows = kencho_core::security::policy::all()
        .into_iter()
        .map(|a| {
            let g = policy.grant(a);
            let roles: Vec<&str> = g.roles.iter().map(|r| r.label(lang)).collect();
            let divisions =
                if g.divisions.is_empty() { crate::i18n::t(lang, "admin.policy_any") } else { g.divisions.join(", ") };
            (crate::i18n::t(lang, &format!("policy.{}", a.key())), roles.join("・"), divisions)
        })
        .collect();
    Ok(AdminPage {
        l: ctx.layout(st, &crate::i18n::t(lang, "admin.title")),
        tokens: accounts::tokens::list(&st.db, s.tenant_id).await?,
        keys: crate::documents::keys::public_keys(&st.db, Some(&s.tenant_code)).await?,
        new_token,
        message,
        error,
        policy_document: if stored.is_empty() { policy.to_toml() } else { stored },
        policy_rows,
        events: crate::security::list(&st.db, s.tenant_id, 50).await?,
    })
}

/// The admin page with a success message on top.
pub async fn admin_page_with_message(st: &AppState, ctx: &Ctx, message: String) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&admin_view(st, ctx, String::new(), message, String::new()).await.lang(&lang)?).lang(&lang)
}

async fn admin(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&admin_view(&st, &ctx, String::new(), String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

async fn import_procedure(State(st): State<AppState>, ctx: Ctx, mut mp: axum::extract::Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    let mut csrf = None;
    let mut file: Option<(String, String)> = None;
    while let Some(field) =
        mp.next_field().await.map_err(|_| AppError::BadRequest("malformed upload".into())).lang(&lang)?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(field.text().await.map_err(|_| AppError::BadRequest("csrf".into())).lang(&lang)?)
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("procedure.toml").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::TooLarge).lang(&lang)?;
                if bytes.len() > 1024 * 1024 {
                    return Err(AppError::TooLarge).lang(&lang);
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| AppError::BadRequest("the file is not UTF-8 text".into()))
                    .lang(&lang)?;
                file = Some((name, text));
            }
            _ => {}
        }
    }
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let s = ctx.admin().lang(&lang)?;
    let Some((name, text)) = file else {
        return Err(AppError::BadRequest("choose a file / ファイルを選んでください".into())).lang(&lang);
    };
    let outcome = match ProcedureDef::parse(&name, &text) {
        Ok(def) => crate::procedures::import(&st.db, &def, &format!("staff:{}", s.id), Some(s.tenant_id))
            .await
            .map(|o| (def, o)),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok((def, o)) => {
            let msg = match o {
                crate::procedures::ImportOutcome::Created { version } => {
                    format!("{} — {} {version}", def.title, crate::i18n::t(&lang, "admin.imported_version"))
                }
                crate::procedures::ImportOutcome::Unchanged { version } => {
                    format!("{} — {} {version}", def.title, crate::i18n::t(&lang, "admin.unchanged"))
                }
            };
            render(&admin_view(&st, &ctx, String::new(), msg, String::new()).await.lang(&lang)?).lang(&lang)
        }
        Err(e @ (AppError::Definition(_) | AppError::BadRequest(_) | AppError::Forbidden)) => {
            let status = e.status();
            render_status(
                status,
                &admin_view(&st, &ctx, String::new(), String::new(), e.message(&lang)).await.lang(&lang)?,
            )
            .lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

async fn create_token(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let s = ctx.admin().lang(&lang)?;
    let made = async {
        let scope = Scope::parse(form_get(&form, "scope").unwrap_or("staff"))
            .ok_or_else(|| AppError::BadRequest("scope".into()))?;
        let days = match form_get(&form, "days").map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(
                kencho_core::text::digits_only(d)
                    .parse::<i64>()
                    .map_err(|_| AppError::BadRequest(crate::i18n::t(&lang, "admin.token_days_hint")))?,
            ),
            None => None,
        };
        accounts::tokens::create(&st.db, s, form_get(&form, "name").unwrap_or_default(), scope, days).await
    }
    .await;
    match made {
        Ok(token) => render(&admin_view(&st, &ctx, token, String::new(), String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ AppError::BadRequest(_)) => render_status(
            e.status(),
            &admin_view(&st, &ctx, String::new(), String::new(), e.message(&lang)).await.lang(&lang)?,
        )
        .lang(&lang),
        Err(e) => Err(e).lang(&lang),
    }
}

/// The tenant's table of roles (roles as data), replaced whole; refused whole with every
/// problem named.
async fn save_policy(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = super::staff_form(&ctx, &body, true)?;
    match crate::security::policy::save(&st.db, &s, form_get(&form, "document").unwrap_or_default()).await {
        Ok(_) => admin_page_with_message(&st, &ctx, crate::i18n::t(&lang, "admin.policy_saved")).await,
        Err(e @ AppError::BadRequest(_)) => render_status(
            e.status(),
            &admin_view(&st, &ctx, String::new(), String::new(), e.message(&lang)).await.lang(&lang)?,
        )
        .lang(&lang),
        Err(e) => Err(e).lang(&lang),
    }
}

async fn revoke_token(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let s = ctx.admin().lang(&lang)?;
    accounts::tokens::revoke(&st.db, s, id).await.lang(&lang)?;
    Ok(Redirect::to("/staff/admin").into_response())
}
