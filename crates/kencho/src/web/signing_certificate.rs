//! A tenant administrator's signing certificate for embedded PAdES signatures (see
//! [`crate::documents::certificate`]): show, configure (PEM or PKCS#12, with an optional TSA)
//! and remove, through the API.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::{AppState, Ctx};
use crate::documents::certificate::{self, CertificateInfo, Upload};
use crate::error::{AppError, Result};

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
