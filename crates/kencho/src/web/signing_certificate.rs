//! A tenant administrator's signing certificate for embedded PAdES signatures (see
//! [`crate::documents::certificate`]): show, configure (PEM or PKCS#12, with an optional TSA)
//! and remove, through the API and on the administrator's page `/staff/admin/certificate`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::{fmt_time, form_get, render, render_status, staff_form, AppState, Ctx, InLang, Layout, PageResult};
use crate::documents::certificate::{self, CertificateInfo, Upload};
use crate::error::{AppError, Result};

/// The administrator's page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/admin/certificate", get(page).post(upload_page))
        .route("/staff/admin/certificate/remove", post(remove_page))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new().route("/admin/signing-certificate", get(api_get).put(api_put).delete(api_delete))
}

#[derive(Serialize, ToSchema)]
pub struct CertificateView {
    /// The certificate in use; none: documents carry only the hash-register signature.
    pub certificate: Option<CertificateInfo>,
}

/// The tenant's signing certificate (tenant administrators).
#[utoipa::path(get, path = "/api/v1/admin/signing-certificate", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = CertificateView), (status = 403, body = super::api::ErrorBody)))]
async fn api_get(State(st): State<AppState>, ctx: Ctx) -> Result<Json<CertificateView>> {
    let s = ctx.admin()?;
    Ok(Json(CertificateView { certificate: certificate::current(&st.db, s.tenant_id).await? }))
}

/// Either `pkcs12` (base64 of the .p12/.pfx file) with `password`, or `certificate_pem` (the
/// chain) with `private_key_pem`.
#[derive(Deserialize, ToSchema)]
pub struct CertificateBody {
    #[serde(default)]
    pub pkcs12: Option<String>,
    /// Write only.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub certificate_pem: Option<String>,
    /// Write only.
    #[serde(default)]
    pub private_key_pem: Option<String>,
    /// RFC 3161 time-stamp authority (http or https); empty or absent: no time-stamp (B-B).
    #[serde(default)]
    pub tsa_url: Option<String>,
}

fn upload(b: CertificateBody) -> Result<Upload> {
    match (b.pkcs12, b.certificate_pem, b.private_key_pem) {
        (Some(p12), None, None) => {
            let der = base64::engine::general_purpose::STANDARD
                .decode(p12.trim())
                .map_err(|_| AppError::Certificate("certificate_unreadable", "pkcs12 is not base64".into()))?;
            Ok(Upload::Pkcs12 { der, password: Zeroizing::new(b.password.unwrap_or_default()) })
        }
        (None, Some(chain), Some(key)) => Ok(Upload::Pem { chain, key }),
        _ => Err(AppError::BadRequest(
            "give pkcs12 and password, or certificate_pem and private_key_pem / PKCS#12ファイルとパスワード、または証明書と秘密鍵（PEM）を指定してください".into(),
        )),
    }
}

/// Configures (or replaces) the tenant's signing certificate after checking it whole: the key
/// matches the certificate, the certificate is valid now and may sign, the key is RSA 2048+
/// or ECDSA P-256. From then on every notice and receipt carries an embedded PAdES signature.
#[utoipa::path(put, path = "/api/v1/admin/signing-certificate", tag = "admin", security(("bearer" = [])),
    request_body = CertificateBody,
    responses((status = 200, body = CertificateInfo), (status = 400, body = super::api::ErrorBody),
        (status = 403, body = super::api::ErrorBody),
        (status = 422, description = "The certificate, key or TSA URL cannot be used; the code says why", body = super::api::ErrorBody)))]
async fn api_put(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CertificateInfo>> {
    let s = ctx.admin()?;
    let b: CertificateBody = super::api::json(&headers, &body)?;
    let tsa_url = b.tsa_url.clone();
    Ok(Json(certificate::configure(&st.db, s, upload(b)?, tsa_url).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Removed {
    /// The certificate removed; none: none was configured.
    pub removed: Option<String>,
}

/// Stops embedded signatures (the key is erased; the certificate stays on record).
#[utoipa::path(delete, path = "/api/v1/admin/signing-certificate", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Removed), (status = 403, body = super::api::ErrorBody)))]
async fn api_delete(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Removed>> {
    let s = ctx.admin()?;
    Ok(Json(Removed { removed: certificate::remove(&st.db, s).await? }))
}

#[derive(Template)]
#[template(path = "admin_certificate.html")]
struct CertificatePage {
    l: Layout,
    certificate: Option<CertificateInfo>,
    message: String,
    error: String,
    /// Which form the error belongs to (`pkcs12` or `pem`), and the id of the field it is about.
    error_in: String,
    error_at: String,
    /// What the refused upload gave that is public (never the password or the key).
    chain: String,
    tsa_url: String,
}

impl CertificatePage {
    fn time(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

async fn certificate_view(st: &AppState, ctx: &Ctx) -> Result<CertificatePage> {
    let s = ctx.admin()?;
    Ok(CertificatePage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "cert.title")),
        certificate: certificate::current(&st.db, s.tenant_id).await?,
        message: String::new(),
        error: String::new(),
        error_in: String::new(),
        error_at: String::new(),
        chain: String::new(),
        tsa_url: String::new(),
    })
}

#[derive(Deserialize)]
struct Done {
    /// `saved` or `removed`.
    #[serde(default)]
    done: Option<String>,
}

async fn page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<Done>) -> PageResult {
    let lang = ctx.lang().to_string();
    let mut page = certificate_view(&st, &ctx).await.lang(&lang)?;
    page.message = match q.done.as_deref() {
        Some("saved") => crate::i18n::t(&lang, "cert.saved"),
        Some("removed") => crate::i18n::t(&lang, "cert.removed"),
        _ => String::new(),
    };
    render(&page).lang(&lang)
}

/// The upload of either form: `kind` = `pkcs12` (a file and its password) or `pem` (the chain
/// and the key).
fn page_upload(
    kind: &str,
    fields: &mut [(String, String)],
    files: Vec<crate::evacuation::upload::Upload>,
) -> Result<Upload> {
    let mut take =
        |k: &str| fields.iter_mut().find(|(n, _)| n == k).map(|(_, v)| std::mem::take(v)).unwrap_or_default();
    match kind {
        "pkcs12" => {
            let password = Zeroizing::new(take("password"));
            let der = files
                .into_iter()
                .next()
                .map(|f| f.bytes)
                .ok_or_else(|| AppError::Certificate("certificate_file_missing", "no file".into()))?;
            Ok(Upload::Pkcs12 { der, password })
        }
        _ => Ok(Upload::Pem { chain: take("certificate_pem"), key: take("private_key_pem") }),
    }
}

/// The id of the field a refusal is about, for the error summary's link.
fn error_field(kind: &str, code: &str) -> &'static str {
    match (kind, code) {
        ("pkcs12", "tsa_url_invalid") => "cert-tsa-p12",
        (_, "tsa_url_invalid") => "cert-tsa-pem",
        ("pkcs12", "certificate_password") => "cert-password",
        ("pkcs12", _) => "cert-file",
        (_, "certificate_key_unreadable" | "certificate_key_encrypted" | "certificate_key_too_small") => "cert-key",
        _ => "cert-chain",
    }
}

/// Configures the certificate from the page; a refusal is shown on it, in the reader's
/// language, with the password and the key left out.
async fn upload_page(State(st): State<AppState>, ctx: Ctx, mp: Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    let (mut fields, files) = super::read_uploads(mp).await.lang(&lang)?;
    ctx.check_csrf(form_get(&fields, "csrf")).lang(&lang)?;
    let s = ctx.admin().lang(&lang)?.clone();
    let kind = if form_get(&fields, "kind") == Some("pkcs12") { "pkcs12" } else { "pem" };
    let tsa_url = form_get(&fields, "tsa_url").unwrap_or_default().trim().to_string();
    let chain = form_get(&fields, "certificate_pem").unwrap_or_default().to_string();
    let outcome = match page_upload(kind, &mut fields, files) {
        Ok(u) => certificate::configure(&st.db, &s, u, Some(tsa_url.clone())).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to("/staff/admin/certificate?done=saved").into_response()),
        Err(e @ (AppError::Certificate(..) | AppError::BadRequest(_))) => {
            let mut page = certificate_view(&st, &ctx).await.lang(&lang)?;
            page.error_at = error_field(kind, e.code()).to_string();
            (page.error, page.error_in, page.chain, page.tsa_url) =
                (e.message(&lang), kind.to_string(), chain, tsa_url);
            render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

async fn remove_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, true)?;
    certificate::remove(&st.db, &s).await.lang(&lang)?;
    Ok(Redirect::to("/staff/admin/certificate?done=removed").into_response())
}
