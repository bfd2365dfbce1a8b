//! A tenant administrator's signing certificate for embedded PAdES signatures (see
//! [`crate::documents::certificate`]): show, configure (PEM or PKCS#12, with an optional TSA)
//! and remove, on the administrator's page `/staff/admin/certificate` (the API is in `api.rs`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect};
use base64::Engine as _;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::api::CertificateBody;
use crate::documents::certificate::{self, CertificateInfo, Upload};
use crate::error::{AppError, Result};
use crate::web::{fmt_time, form_get, render, render_status, staff_form, AppState, Ctx, InLang, Layout, PageResult};

pub(super) fn upload(b: CertificateBody) -> Result<Upload> {
    match (b.pkcs12, b.certificate_pem, b.private_key_pem) {
        (Some(p12), None, None) => {
            let der = base64::engine::general_purpose::STANDARD
                .decode(p12.trim())
                .map_err(|_| AppError::Certificate("certificate_unreadable", "pkcs12 is not base64".into()))?;
            Ok(Upload::Pkcs12 { der, password: Zeroizing::new(b.password.unwrap_or_default()) })
        }
        (None, Some(chain), Some(key)) => Ok(Upload::Pem { chain, key }),
        _ => Err(AppError::BadRequest(detail!("detail.documents.give_pkcs12_password_certificate"))),
    }
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
pub(super) struct Done {
    /// `saved` or `removed`.
    #[serde(default)]
    done: Option<String>,
}

pub(super) async fn page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<Done>) -> PageResult {
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
pub(super) async fn upload_page(State(st): State<AppState>, ctx: Ctx, mp: Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    let (mut fields, files) = crate::web::read_uploads(mp).await.lang(&lang)?;
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

pub(super) async fn remove_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, true)?;
    certificate::remove(&st.db, &s).await.lang(&lang)?;
    Ok(Redirect::to("/staff/admin/certificate?done=removed").into_response())
}
