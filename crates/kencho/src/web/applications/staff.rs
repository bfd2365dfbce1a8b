//! Pages for staff: the division inbox, the case page and its actions, export.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use kencho_core::application::{Action, Role, Status};
use kencho_core::approval::route::StateKind;

use super::catalogue::fee_label;
use super::resident::{event_rows, rows, EventRow, Row};
use crate::applications::{self as apps, Attachment, InboxFilter};
use crate::error::AppError;
use crate::i18n::tf;
use crate::web::form_html::answer_rows;
use crate::web::{
    fmt_date, fmt_time, form_get, parse_form, render, render_status, AppState, Ctx, InLang, Layout, PageResult,
};

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

pub(super) async fn inbox(State(st): State<AppState>, ctx: Ctx, Query(f): Query<InboxFilter>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let list = apps::inbox(&st.db, s, &f).await.lang(&lang)?;
    let statuses = Status::ALL
        .iter()
        .filter(|s| **s != Status::Draft)
        .map(|s| (*s, crate::i18n::words::status(&lang, *s)))
        .collect();
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
    let (fee_items, fee_grounds) =
        schedule.map(|(sc, _)| fee_options(&sc, p.def.fee.item.as_deref(), lang)).unwrap_or_default();
    Ok(CasePage {
        l: ctx.layout(st, &format!("{} {}", a.receipt_number.clone().unwrap_or_default(), p.title(lang))),
        id,
        title: p.title(lang).to_string(),
        version: p.version,
        status: crate::i18n::words::status(lang, a.status),
        status_class: a.status.as_str().to_string(),
        receipt: a.receipt_number.clone().unwrap_or_default(),
        content_hash: a.content_hash.clone().unwrap_or_default(),
        applicant: a.resident_name.clone(),
        applicant_email: a.resident_email.clone(),
        applicant_kind: crate::i18n::t(lang, &format!("proc.{}", a.applicant_kind)),
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

type Options = Vec<(String, String)>;

/// The 手数料条例's items (only the procedure's own, when it names one) and grounds of
/// reduction, as choices for the fee a reviewer sets.
fn fee_options(sc: &kencho_core::payment::schedule::Schedule, own: Option<&str>, lang: &str) -> (Options, Options) {
    let items = sc
        .items
        .iter()
        .filter(|i| own.is_none_or(|o| o == i.code))
        .map(|i| {
            let amount = i.amount.to_string();
            let args =
                [("name", i.name.as_str()), ("ordinance", &sc.ordinance), ("article", &i.article), ("amount", &amount)];
            (i.code.clone(), tf(lang, "pay.fee_item_option", &args))
        })
        .collect();
    let grounds = sc
        .grounds
        .iter()
        .map(|g| (g.code.clone(), tf(lang, "pay.fee_ground_option", &[("text", &g.text), ("article", &g.article)])))
        .collect();
    (items, grounds)
}

pub(super) async fn case_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&case_view(&st, &ctx, id, String::new()).await.lang(&lang)?).lang(&lang)
}

/// Parses a staff action from form or JSON fields.
pub fn parse_action(kind: &str, message: &str) -> Result<Action, AppError> {
    let message = message.trim().to_string();
    Ok(match kind {
        "" => return Err(AppError::BadRequest(detail!("detail.applications.choose_action"))),
        "accept" => Action::Accept,
        "request_correction" => Action::RequestCorrection { message },
        "reject" => Action::Reject { reason: message },
        "approve" => Action::Decide { approve: true, notice: message },
        "deny" => Action::Decide { approve: false, notice: message },
        _ => return Err(AppError::BadRequest(detail!("detail.applications.unknown_action", kind = kind))),
    })
}

pub(super) async fn action(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
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
            a.applicant_kind.to_string(),
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

pub(super) async fn export_csv(State(st): State<AppState>, ctx: Ctx, Query(f): Query<InboxFilter>) -> PageResult {
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

pub(super) async fn export_json(State(st): State<AppState>, ctx: Ctx, Query(f): Query<InboxFilter>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let list = apps::export(&st.db, s, &f).await.lang(&lang)?;
    Ok(axum::Json(export_json_value(&list)).into_response())
}
