//! Pages for residents: apply page by page, confirm, submit, follow 申請一覧, answer a 補正依頼,
//! withdraw, download an attachment; the demo mailbox.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kencho_core::application::{can_withdraw, Facts};
use kencho_core::forms::{self, control_id, control_name, FieldError, FormInput};
use kencho_core::procedure::FieldKind;
use serde::Deserialize;

use super::catalogue::fee_label;
use crate::accounts::Principal;
use crate::applications::{self as apps, Application, Attachment, Event, Summary};
use crate::error::AppError;
use crate::procedures::Procedure;
use crate::web::form_html::{self, answer_rows};
use crate::web::{
    fmt_date, fmt_time, form_get, parse_form, render, render_status, AppState, Ctx, InLang, Layout, PageResult,
};

// ---------- 申請一覧 and the application page ----------

pub struct Row {
    pub href: String,
    pub title: String,
    pub receipt: String,
    pub status: String,
    pub status_class: String,
    pub updated: String,
    pub due: String,
    pub overdue: bool,
    pub applicant: String,
}

pub fn rows(list: &[Summary], lang: &str, prefix: &str) -> Vec<Row> {
    let now = crate::db::now_ms();
    list.iter()
        .map(|s| Row {
            href: format!("{prefix}/{}", s.id),
            title: s.procedure_title.clone(),
            receipt: s.receipt_number.clone().unwrap_or_else(|| "—".into()),
            status: crate::i18n::words::status(lang, s.status),
            status_class: s.status.as_str().to_string(),
            updated: fmt_time(s.updated_at),
            due: s.due_at.map(fmt_date).unwrap_or_else(|| "—".into()),
            overdue: s.is_overdue(now),
            applicant: s.applicant_name.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "my_applications.html")]
struct MyApplicationsPage {
    l: Layout,
    rows: Vec<Row>,
}

pub(super) async fn my_applications(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    let r = ctx.resident().lang(&lang)?;
    let list = apps::list_for_resident(&st.db, r).await.lang(&lang)?;
    render(&MyApplicationsPage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "mine.title")),
        rows: rows(&list, &lang, "/applications"),
    })
    .lang(&lang)
}

pub struct EventRow {
    pub at: String,
    pub action: String,
    pub status: String,
    pub who: String,
    pub message: String,
}

pub fn event_rows(events: &[Event], lang: &str, show_staff_names: bool) -> Vec<EventRow> {
    events
        .iter()
        .map(|e| {
            // A decision is named by its outcome, which is the status it led to.
            let action = match e.action.as_str() {
                name @ ("submit" | "accept" | "request_correction" | "resubmit" | "reject" | "withdraw") => {
                    crate::i18n::t(lang, &format!("action.{name}"))
                }
                _ => crate::i18n::words::status(lang, e.to_status),
            };
            let who = if e.actor.starts_with("staff:") && !show_staff_names {
                crate::i18n::t(lang, "app.office")
            } else {
                e.actor_name.clone()
            };
            EventRow {
                at: fmt_time(e.at),
                action,
                status: crate::i18n::words::status(lang, e.to_status),
                who,
                message: e.message.clone().unwrap_or_default(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "application.html")]
struct ApplicationPage {
    l: Layout,
    id: i64,
    title: String,
    tenant: String,
    status: String,
    status_class: String,
    receipt: String,
    content_hash: String,
    submitted: String,
    due: String,
    correction: String,
    editable: bool,
    draft: bool,
    withdrawable: bool,
    answers: Vec<(String, String, String)>,
    files: Vec<Attachment>,
    events: Vec<EventRow>,
    version: i64,
    /// The decision notice's number, when one was issued (電子交付).
    notice_number: String,
    verify_url: String,
    /// The fee paid online: due, paid, refunded (None when the fee is not collected online).
    payment: Option<crate::payments::Summary>,
}

pub(super) async fn application_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    let r = ctx.resident().lang(&lang)?;
    let a = apps::for_resident(&st.db, r, id).await.lang(&lang)?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await.lang(&lang)?;
    let events = apps::events(&st.db, id).await.lang(&lang)?;
    let files = apps::attachments(&st.db, id).await.lang(&lang)?;
    let correction = if a.status == kencho_core::application::Status::CorrectionRequested {
        events
            .iter()
            .rev()
            .find(|e| e.action == "request_correction")
            .and_then(|e| e.message.clone())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let facts = Facts { status: a.status, was_accepted: a.was_accepted, withdrawal: p.def.withdrawal };
    let payment = match p.def.fee.rule() {
        Some(_) => Some(crate::payments::summary(&st.db, &p, id).await.lang(&lang)?),
        None => None,
    };
    let page = ApplicationPage {
        payment,
        l: ctx.layout(&st, p.title(&lang)),
        id,
        title: p.title(&lang).to_string(),
        tenant: p.tenant_label(&lang).to_string(),
        status: crate::i18n::words::status(&lang, a.status),
        status_class: a.status.as_str().to_string(),
        receipt: a.receipt_number.clone().unwrap_or_default(),
        content_hash: a.content_hash.clone().unwrap_or_default(),
        submitted: a.submitted_at.map(fmt_time).unwrap_or_default(),
        due: a.due_at.map(fmt_date).unwrap_or_default(),
        correction,
        editable: matches!(
            a.status,
            kencho_core::application::Status::Draft | kencho_core::application::Status::CorrectionRequested
        ),
        draft: a.status == kencho_core::application::Status::Draft,
        withdrawable: can_withdraw(facts),
        answers: answer_rows(&p.def, &a.answers, &files, &lang),
        files,
        events: event_rows(&events, &lang, false),
        version: p.version,
        notice_number: crate::documents::notice_for_application(&st.db, id)
            .await
            .lang(&lang)?
            .map(|d| d.number)
            .unwrap_or_default(),
        verify_url: format!("{}{}", st.cfg.base_url.trim_end_matches('/'), crate::documents::VERIFY_PATH),
    };
    render(&page).lang(&lang)
}

// ---------- the form, page by page ----------

#[derive(Template)]
#[template(path = "form_page.html")]
struct FormPage {
    l: Layout,
    id: i64,
    title: String,
    page_no: usize,
    page_count: usize,
    page_title: String,
    page_help: String,
    fields_html: String,
    errors: Vec<(String, String)>,
    revision: i64,
    multipart: bool,
    saved: bool,
}

fn page_title(p: &Procedure, n: usize, lang: &str) -> String {
    let page = &p.def.pages[n];
    if lang == "en" {
        page.title_en.clone().unwrap_or_else(|| page.title.clone())
    } else {
        page.title.clone()
    }
}

/// Error summary entries: (link to the control, "label: message").
fn summary(errors: &[FieldError], lang: &str, page_prefix: Option<&dyn Fn(&str) -> String>) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| {
            let anchor = format!("#{}", control_id(&control_name(&e.field, None)));
            let href = match page_prefix {
                Some(f) => f(&e.field) + &anchor,
                None => anchor,
            };
            (href, format!("{}: {}", e.label, crate::i18n::words::problem(lang, &e.problem)))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn form_page_view(
    ctx: &Ctx,
    st: &AppState,
    a: &Application,
    p: &Procedure,
    n: usize,
    errors: &[FieldError],
    files: &[Attachment],
    saved: bool,
) -> FormPage {
    let lang = ctx.lang();
    let page = &p.def.pages[n];
    FormPage {
        l: ctx.layout(st, &format!("{} - {}", page_title(p, n, lang), p.title(lang))),
        id: a.id,
        title: p.title(lang).to_string(),
        page_no: n + 1,
        page_count: p.def.pages.len(),
        page_title: page_title(p, n, lang),
        page_help: page.help.clone().unwrap_or_default(),
        fields_html: form_html::render_page(&p.def, page, &a.answers, errors, files, lang),
        errors: summary(errors, lang, None),
        revision: a.revision,
        multipart: form_html::page_has_files(page),
        saved,
    }
}

#[derive(Deserialize)]
pub(super) struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub(super) async fn form_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, n)): Path<(i64, usize)>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let r = ctx.resident().lang(&lang)?;
    let a = apps::for_resident(&st.db, r, id).await.lang(&lang)?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await.lang(&lang)?;
    if n == 0 || n > p.def.pages.len() {
        return Err(AppError::NotFound).lang(&lang);
    }
    if !matches!(
        a.status,
        kencho_core::application::Status::Draft | kencho_core::application::Status::CorrectionRequested
    ) {
        return Ok(Redirect::to(&format!("/applications/{id}")).into_response());
    }
    let files = apps::attachments(&st.db, id).await.lang(&lang)?;
    render(&form_page_view(&ctx, &st, &a, &p, n - 1, &[], &files, q.saved.is_some())).lang(&lang)
}

/// A posted page: text answers, and for pages with file fields, uploads (multipart).
struct Posted {
    pairs: Vec<(String, String)>,
    files: Vec<(String, String, String, Vec<u8>)>,
}

async fn read_post(headers: &HeaderMap, req: axum::extract::Request, st: &AppState) -> Result<Posted, AppError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("multipart/form-data") {
        let mut mp = <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, st)
            .await
            .map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))?;
        let mut pairs = Vec::new();
        let mut files = Vec::new();
        while let Some(field) = mp.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest(detail!("detail.request.malformed_upload"))
            }
        })? {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(filename) = field.file_name().map(str::to_string) {
                let media = field.content_type().unwrap_or("application/octet-stream").to_string();
                let data = field.bytes().await.map_err(|_| AppError::TooLarge)?;
                if !filename.is_empty() && !data.is_empty() {
                    files.push((name, filename, media, data.to_vec()));
                }
            } else {
                let text =
                    field.text().await.map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))?;
                pairs.push((name, text));
            }
        }
        Ok(Posted { pairs, files })
    } else {
        let body = axum::body::to_bytes(req.into_body(), crate::web::MAX_BODY).await.map_err(|_| AppError::TooLarge)?;
        Ok(Posted { pairs: parse_form(&body)?, files: Vec::new() })
    }
}

pub(super) async fn save_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, n)): Path<(i64, usize)>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let posted = read_post(&headers, req, &st).await.lang(&lang)?;
    ctx.check_csrf(form_get(&posted.pairs, "csrf")).lang(&lang)?;
    let r = ctx.resident().lang(&lang)?;
    let a = apps::for_resident(&st.db, r, id).await.lang(&lang)?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await.lang(&lang)?;
    if n == 0 || n > p.def.pages.len() {
        return Err(AppError::NotFound).lang(&lang);
    }
    let mut revision: i64 = form_get(&posted.pairs, "revision")
        .and_then(|v| v.parse().ok())
        .ok_or(AppError::BadRequest(detail!("detail.applications.revision")))
        .lang(&lang)?;
    if revision != a.revision {
        return Err(AppError::StaleForm).lang(&lang);
    }
    // Uploads first: each is checked (type, size) and stored; a bad file is reported on the
    // page and nothing else of this post is saved.
    let page = &p.def.pages[n - 1];
    for (name, filename, media, data) in &posted.files {
        let Some(field) = name.strip_prefix("f.") else { continue };
        if !page.fields.iter().any(|f| f.id == field && matches!(f.kind, FieldKind::File { .. })) {
            return Err(AppError::BadRequest(detail!("detail.applications.unexpected_file_field", field = field)))
                .lang(&lang);
        }
        match apps::attach(&st.db, &st.cfg.data_dir, r, id, Some(revision), field, filename, media, data).await {
            Ok((_, rev)) => revision = rev,
            Err(e @ (AppError::TooLarge | AppError::UnsupportedMedia(_) | AppError::BadRequest(_))) => {
                let fresh = apps::for_resident(&st.db, r, id).await.lang(&lang)?;
                let files = apps::attachments(&st.db, id).await.lang(&lang)?;
                let label = p.def.field(field).map(|f| form_html::label_of(f, &lang).to_string()).unwrap_or_default();
                let mut view = form_page_view(&ctx, &st, &fresh, &p, n - 1, &[], &files, false);
                view.errors = vec![(format!("#{}", control_id(name)), format!("{label}: {}", e.message(&lang)))];
                return render_status(e.status(), &view).lang(&lang);
            }
            Err(e) => return Err(e).lang(&lang),
        }
    }
    let add_row = form_get(&posted.pairs, "add_row").map(str::to_string);
    let intent = form_get(&posted.pairs, "intent").unwrap_or("next").to_string();
    let input = FormInput::new(&posted.pairs);
    let (_, errors) = apps::save_answers(&st.db, r, id, revision, Some(n - 1), |_, answers| {
        forms::read_page(page, &input, answers);
    })
    .await
    .lang(&lang)?;
    if let Some(group) = add_row {
        // "Add a row" re-shows the page with one more blank row; nothing is judged yet.
        let mut fresh = apps::for_resident(&st.db, r, id).await.lang(&lang)?;
        let files = apps::attachments(&st.db, id).await.lang(&lang)?;
        let key = format!("__rows_{group}");
        fresh.answers.insert(key, serde_json::Value::from(1));
        return render(&form_page_view(&ctx, &st, &fresh, &p, n - 1, &[], &files, false)).lang(&lang);
    }
    match intent.as_str() {
        "save" => Ok(Redirect::to(&format!("/applications/{id}/pages/{n}?saved=1")).into_response()),
        "back" if n > 1 => Ok(Redirect::to(&format!("/applications/{id}/pages/{}", n - 1)).into_response()),
        _ if !errors.is_empty() => {
            let fresh = apps::for_resident(&st.db, r, id).await.lang(&lang)?;
            let files = apps::attachments(&st.db, id).await.lang(&lang)?;
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form_page_view(&ctx, &st, &fresh, &p, n - 1, &errors, &files, false),
            )
            .lang(&lang)
        }
        _ if n < p.def.pages.len() => Ok(Redirect::to(&format!("/applications/{id}/pages/{}", n + 1)).into_response()),
        _ => Ok(Redirect::to(&format!("/applications/{id}/confirm")).into_response()),
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    l: Layout,
    id: i64,
    title: String,
    tenant: String,
    answers: Vec<(String, String, String)>,
    errors: Vec<(String, String)>,
    revision: i64,
    fee: String,
    resubmit: bool,
}

async fn confirm_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    submit_errors: Option<Vec<FieldError>>,
) -> Result<(ConfirmPage, bool), AppError> {
    let lang = ctx.lang();
    let r = ctx.resident()?;
    let a = apps::for_resident(&st.db, r, id).await?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    let files = apps::attachments(&st.db, id).await?;
    let errors = match submit_errors {
        Some(e) => e,
        None => {
            let mut answers = a.answers.clone();
            let lookup = |aid: &str, field: &str| {
                files.iter().find(|f| f.id == aid && f.field == field).map(|f| f.media_type.clone())
            };
            forms::validate(&p.def, None, &mut answers, &lookup)
        }
    };
    let page_of = |field: &str| {
        let top = field.split('.').next().unwrap_or(field);
        let n = p.def.pages.iter().position(|pg| pg.fields.iter().any(|f| f.id == top)).unwrap_or(0) + 1;
        format!("/applications/{id}/pages/{n}")
    };
    let has_errors = !errors.is_empty();
    Ok((
        ConfirmPage {
            l: ctx.layout(st, &format!("{} - {}", crate::i18n::t(lang, "confirm.title"), p.title(lang))),
            id,
            title: p.title(lang).to_string(),
            tenant: p.tenant_label(lang).to_string(),
            answers: answer_rows(&p.def, &a.answers, &files, lang),
            errors: summary(&errors, lang, Some(&page_of)),
            revision: a.revision,
            fee: fee_label(p.def.fee.amount, lang),
            resubmit: a.status == kencho_core::application::Status::CorrectionRequested,
        },
        has_errors,
    ))
}

pub(super) async fn confirm_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (page, _) = confirm_view(&st, &ctx, id, None).await.lang(&lang)?;
    render(&page).lang(&lang)
}

#[derive(Template)]
#[template(path = "done.html")]
struct DonePage {
    l: Layout,
    id: i64,
    receipt: String,
    content_hash: String,
    resubmitted: bool,
}

pub(super) async fn submit(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let r = ctx.resident().lang(&lang)?;
    let revision: i64 = form_get(&form, "revision")
        .and_then(|v| v.parse().ok())
        .ok_or(AppError::BadRequest(detail!("detail.applications.revision")))
        .lang(&lang)?;
    match apps::submit(&st.db, st.links.clone(), &st.cfg.base_url, &lang, r, id, revision).await {
        Ok(s) => {
            let t = crate::i18n::t(&lang, "done.title");
            let page = DonePage {
                l: ctx.layout(&st, &t),
                id,
                receipt: s.receipt_number,
                content_hash: s.content_hash,
                resubmitted: s.resubmitted,
            };
            render(&page).lang(&lang)
        }
        Err(AppError::Validation(errs)) => {
            let (page, _) = confirm_view(&st, &ctx, id, Some(errs)).await.lang(&lang)?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

pub(super) async fn withdraw(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let r = ctx.resident().lang(&lang)?;
    if form_get(&form, "confirm") != Some("yes") {
        return Err(AppError::BadRequest(detail!("app.withdraw_confirm_needed"))).lang(&lang);
    }
    apps::withdraw(&st.db, st.links.clone(), &st.cfg.base_url, &lang, r, id).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/applications/{id}")).into_response())
}

/// Serves an attachment to its applicant, or to staff who may see the application (the view
/// is audited like any other look at personal data).
pub(super) async fn download(State(st): State<AppState>, ctx: Ctx, Path((id, aid)): Path<(i64, String)>) -> PageResult {
    let lang = ctx.lang().to_string();
    match ctx.session.as_ref().map(|s| &s.principal) {
        Some(Principal::Resident(r)) => {
            apps::for_resident(&st.db, r, id).await.lang(&lang)?;
        }
        Some(Principal::Staff(_)) => {
            let s = ctx.staff().lang(&lang)?;
            apps::open_for_staff(&st.db, s, id, &format!("attachment {aid}")).await.lang(&lang)?;
        }
        Some(Principal::Integration { .. }) => return Err(AppError::Forbidden).lang(&lang),
        None => return Err(AppError::Unauthenticated).lang(&lang),
    }
    file_response(&st, id, &aid).await.lang(&lang)
}

pub async fn file_response(st: &AppState, id: i64, aid: &str) -> Result<Response, AppError> {
    let att = apps::attachment(&st.db, id, aid).await?;
    let bytes = tokio::fs::read(crate::blobs::file_path(&st.cfg.data_dir, &att.sha256))
        .await
        .map_err(|e| AppError::failed("attachment file", e))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&att.media_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let ascii: String = att
        .filename
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let encoded: String = att
        .filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

// ---------- demo mailbox ----------

pub struct Mail {
    pub to: String,
    pub subject: String,
    /// Lines of the body; `true` marks a link to this kencho (made clickable in the demo).
    pub lines: Vec<(String, bool)>,
    pub at: String,
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    l: Layout,
    mails: Vec<Mail>,
}

/// Only when no SMTP relay is configured (the demo): shows what kencho would have sent.
pub(crate) async fn mailbox(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    if st.cfg.smtp_url.is_some() {
        return Err(AppError::NotFound).lang(&lang);
    }
    let mut mails = Vec::new();
    for m in crate::mail::local_mailbox(&st.db).await.lang(&lang)? {
        let lines = m
            .body
            .lines()
            .map(|l| (l.to_string(), l.trim().starts_with(&st.cfg.base_url) && !l.contains(' ')))
            .collect();
        mails.push(Mail { to: m.recipient, subject: m.subject, lines, at: fmt_time(m.delivered_at) });
    }
    render(&MailboxPage { l: ctx.layout(&st, &crate::i18n::t(&lang, "mailbox.title")), mails }).lang(&lang)
}
