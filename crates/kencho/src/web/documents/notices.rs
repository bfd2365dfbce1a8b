//! Signed documents on the web: the resident's notice and receipt downloads, the public
//! verification page and key rotation (see [`crate::documents`]).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;

use crate::accounts::Principal;
use crate::applications as apps;
use crate::documents::{self, keys, Verification};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};
use crate::web::{fmt_date, fmt_time, form_get, parse_form, render_status, AppState, Ctx, InLang, Layout, PageResult};

/// Largest PDF the verification page reads.
pub(super) const MAX_PDF: usize = 20 * 1024 * 1024;

// ---------- the resident's (and the office's) notice ----------

/// Who may have an application's documents: its applicant, or staff who may see the
/// application (the opening is audited with `purpose`); anyone else gets "not found".
async fn may_have_documents(st: &AppState, ctx: &Ctx, id: i64, purpose: &str) -> Result<()> {
    match ctx.session.as_ref().map(|s| &s.principal) {
        Some(Principal::Resident(r)) => {
            apps::for_resident(&st.db, r, id).await?;
        }
        Some(Principal::Staff(_)) => {
            apps::open_for_staff(&st.db, ctx.staff()?, id, purpose).await?;
        }
        Some(Principal::Integration { .. }) => return Err(AppError::Forbidden),
        None => return Err(AppError::Unauthenticated),
    }
    Ok(())
}

/// A stored document as a download, named `{fallback}` (ASCII) and its number (UTF-8).
async fn pdf_download(
    st: &AppState,
    doc: &documents::IssuedDocument,
    fallback: &str,
) -> Result<axum::response::Response> {
    let bytes = documents::pdf_bytes(&st.cfg.data_dir, doc).await?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    let encoded: String = format!("{}.pdf", doc.number)
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The decision notice of an application: to its applicant, or to staff who may see the
/// application (audited); anyone else gets "not found".
pub(super) async fn notice_pdf(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    may_have_documents(&st, &ctx, id, "decision notice").await.lang(&lang)?;
    let doc = documents::notice_for_application(&st.db, id).await.lang(&lang)?.ok_or(AppError::NotFound).lang(&lang)?;
    pdf_download(&st, &doc, &format!("notice-{id}.pdf")).await.lang(&lang)
}

/// The signed receipt (領収書) of a paid payment of an application, issued on the first request
/// if it was not yet: to the applicant, or to staff who may see the application (audited);
/// anyone else, or a payment of another application, gets "not found". An unpaid payment is
/// refused (`not_paid`).
pub(super) async fn receipt_pdf(State(st): State<AppState>, ctx: Ctx, Path((id, pid)): Path<(i64, i64)>) -> PageResult {
    let lang = ctx.lang().to_string();
    may_have_documents(&st, &ctx, id, "receipt").await.lang(&lang)?;
    let ours = crate::payments::for_application(&st.db, id).await.lang(&lang)?.iter().any(|p| p.id == pid);
    if !ours {
        return Err(AppError::NotFound).lang(&lang);
    }
    let doc = documents::issue_receipt(&st.db, &st.links, &st.cfg.base_url, &st.cfg.data_dir, pid).await.lang(&lang)?;
    pdf_download(&st, &doc, &format!("receipt-{pid}.pdf")).await.lang(&lang)
}

// ---------- the public verification page ----------

#[derive(Template)]
#[template(path = "document_verify.html")]
struct VerifyPage {
    l: Layout,
    error: String,
    /// The result code (`genuine`, `altered` …), empty before a check.
    verdict: String,
    genuine: bool,
    message: String,
    /// (label, value, shown as code).
    facts: Vec<(String, String, bool)>,
    number: String,
    sha256: String,
}

fn verify_page(st: &AppState, ctx: &Ctx) -> VerifyPage {
    VerifyPage {
        l: ctx.layout(st, &t(ctx.lang(), "docv.title")),
        error: String::new(),
        verdict: String::new(),
        genuine: false,
        message: String::new(),
        facts: Vec::new(),
        number: String::new(),
        sha256: String::new(),
    }
}

/// Words for a verification result, in the page's language.
fn describe(v: &Verification, lang: &str) -> (String, Vec<(String, String, bool)>) {
    let tenant = v.tenant_name.clone().unwrap_or_default();
    let number = v.number.clone().unwrap_or_default();
    let message = match v.result.as_str() {
        "genuine" => tf(lang, "docv.genuine", &[("tenant", &tenant)]),
        "disposed" => tf(
            lang,
            "docv.disposed",
            &[("tenant", &tenant), ("date", &v.disposed_at.map(fmt_date).unwrap_or_default())],
        ),
        "altered" => tf(lang, "docv.altered", &[("number", &number)]),
        "bad_signature" => t(lang, "docv.bad_signature"),
        _ if v.number.is_some() => tf(lang, "docv.unknown_number", &[("number", &number)]),
        _ => t(lang, "docv.unknown"),
    };
    let mut facts = Vec::new();
    if v.genuine {
        let mut push = |k: &str, val: Option<String>| {
            if let Some(val) = val {
                facts.push((t(lang, k), val, false));
            }
        };
        push("docv.f_tenant", v.tenant_name.clone());
        push("docv.f_number", v.number.clone());
        push("docv.f_title", v.title.clone());
        push("docv.f_issuer", v.issuer.clone());
        push("docv.f_issued", v.issued_at.map(|ms| format!("{}（JST）", fmt_time(ms))));
        let status = match v.key_status.as_deref() {
            Some("active") => t(lang, "docv.key_active"),
            _ => t(lang, "docv.key_retired"),
        };
        push("docv.f_key", v.key_id.as_ref().map(|k| format!("{k}（{status}）")));
        push("docv.f_disposed", v.disposed_at.map(fmt_date));
    }
    facts.push((t(lang, "docv.f_sha"), v.sha256.clone(), true));
    (message, facts)
}

pub(super) async fn verify_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render_status(StatusCode::OK, &verify_page(&st, &ctx)).lang(&lang)
}

/// What the page posted: the CSRF token, and a PDF or a number and hash.
struct VerifyInput {
    csrf: Option<String>,
    pdf: Option<Vec<u8>>,
    number: String,
    sha256: String,
}

async fn read_verify_input(headers: &HeaderMap, req: axum::extract::Request, st: &AppState) -> Result<VerifyInput> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut input = VerifyInput { csrf: None, pdf: None, number: String::new(), sha256: String::new() };
    if ct.starts_with("multipart/form-data") {
        let mut mp = <Multipart as axum::extract::FromRequest<AppState>>::from_request(req, st)
            .await
            .map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))?;
        while let Some(field) = mp.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest(detail!("detail.request.malformed_upload"))
            }
        })? {
            let name = field.name().unwrap_or_default().to_string();
            let bad = || AppError::BadRequest(detail!("detail.request.malformed_upload"));
            match name.as_str() {
                "file" => {
                    let data = field.bytes().await.map_err(|_| AppError::TooLarge)?;
                    if data.len() > MAX_PDF {
                        return Err(AppError::TooLarge);
                    }
                    if !data.is_empty() {
                        input.pdf = Some(data.to_vec());
                    }
                }
                "csrf" => input.csrf = Some(field.text().await.map_err(|_| bad())?),
                "number" => input.number = field.text().await.map_err(|_| bad())?,
                "sha256" => input.sha256 = field.text().await.map_err(|_| bad())?,
                _ => {}
            }
        }
    } else {
        let body = axum::body::to_bytes(req.into_body(), 64 * 1024).await.map_err(|_| AppError::TooLarge)?;
        let form = parse_form(&body)?;
        input.csrf = form_get(&form, "csrf").map(str::to_string);
        input.number = form_get(&form, "number").unwrap_or_default().to_string();
        input.sha256 = form_get(&form, "sha256").unwrap_or_default().to_string();
    }
    Ok(input)
}

/// Checks an uploaded PDF, or a number and hash. Public: no sign-in; the anonymous CSRF token
/// guards it like the other public forms. Nothing is stored.
pub(super) async fn verify_post(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let input = read_verify_input(&headers, req, &st).await.lang(&lang)?;
    ctx.check_csrf(input.csrf.as_deref()).lang(&lang)?;
    let mut page = verify_page(&st, &ctx);
    let outcome = match &input.pdf {
        Some(bytes) => documents::verify_pdf(&st.db, bytes).await,
        None if input.number.trim().is_empty() && input.sha256.trim().is_empty() => {
            Err(AppError::BadRequest(detail!("docv.nothing")))
        }
        None => documents::verify_number(&st.db, &input.number, &input.sha256).await,
    };
    page.number = input.number.trim().to_string();
    page.sha256 = input.sha256.trim().to_string();
    match outcome {
        Ok(v) => {
            let (message, facts) = describe(&v, &lang);
            page.verdict = v.result.clone();
            page.genuine = v.genuine;
            page.message = message;
            page.facts = facts;
            render_status(StatusCode::OK, &page).lang(&lang)
        }
        Err(e @ AppError::BadRequest(_)) => {
            page.error = e.message(&lang);
            render_status(StatusCode::BAD_REQUEST, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

// ---------- key rotation (tenant administrators) ----------

pub(super) async fn rotate_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let (_, s) = crate::web::staff_form(&ctx, &body, true)?;
    let lang = ctx.lang().to_string();
    let (_, key_id) = keys::rotate(&st.db, &s).await.lang(&lang)?;
    crate::web::admin::pages::admin_page_with_message(&st, &ctx, tf(&lang, "admin.rotated", &[("key", &key_id)])).await
}
