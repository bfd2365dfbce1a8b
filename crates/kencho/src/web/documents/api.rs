//! Signed documents API: verification, the public key list and key rotation, and the office's
//! signing certificate (see [`crate::documents`]).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::certificate::upload;
use super::notices::MAX_PDF;

use crate::documents::certificate::{self, CertificateInfo};
use crate::documents::{self, keys, Verification};
use crate::error::{AppError, Result};
use crate::web::{AppState, Ctx};

// ---------- API ----------

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// The document number printed on the notice.
    pub number: String,
    /// SHA-256 of the PDF file, 64 hexadecimal digits.
    pub sha256: String,
}

/// Checks a document: either its number and SHA-256 (JSON), or the PDF itself
/// (`Content-Type: application/pdf`). Public, no token.
#[utoipa::path(post, path = "/api/v1/documents/verify", tag = "documents",
    request_body(content = VerifyBody, description = "JSON {number, sha256}, or the raw PDF with Content-Type application/pdf",
        content((VerifyBody = "application/json"), (Vec<u8> = "application/pdf"))),
    responses((status = 200, body = Verification), (status = 400, description = "Malformed number or hash", body = crate::web::openapi::ErrorBody),
        (status = 415, description = "Neither JSON nor PDF", body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_verify(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Verification>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/pdf") {
        if body.len() > MAX_PDF {
            return Err(AppError::TooLarge);
        }
        return Ok(Json(documents::verify_pdf(&st.db, &body).await?));
    }
    let b: VerifyBody = crate::web::json(&headers, &body)?;
    Ok(Json(documents::verify_number(&st.db, &b.number, &b.sha256).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct KeysQuery {
    /// Only this tenant's keys (tenant code).
    #[serde(default)]
    pub tenant: Option<String>,
}

/// Every tenant's signing keys, active and retired, for checking signatures offline. Public.
#[utoipa::path(get, path = "/api/v1/signing-keys", tag = "documents", params(KeysQuery),
    responses((status = 200, body = [keys::PublicKey])))]
pub(super) async fn api_keys(
    State(st): State<AppState>,
    Query(q): Query<KeysQuery>,
) -> Result<Json<Vec<keys::PublicKey>>> {
    Ok(Json(keys::public_keys(&st.db, q.tenant.as_deref().filter(|t| !t.is_empty())).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Rotated {
    /// The keys retired now (their public keys stay listed).
    pub retired: Vec<String>,
    /// The new active key.
    pub key_id: String,
}

/// Retires the tenant's active signing key and creates a new one (tenant administrators).
#[utoipa::path(post, path = "/api/v1/admin/signing-keys/rotate", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Rotated), (status = 403, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_rotate(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Rotated>> {
    let s = ctx.admin()?;
    let (retired, key_id) = keys::rotate(&st.db, s).await?;
    Ok(Json(Rotated { retired, key_id }))
}

#[derive(Serialize, ToSchema)]
pub struct CertificateView {
    /// The certificate in use; none: documents carry only the hash-register signature.
    pub certificate: Option<CertificateInfo>,
}

/// The tenant's signing certificate (tenant administrators).
#[utoipa::path(get, path = "/api/v1/admin/signing-certificate", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = CertificateView), (status = 403, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_get(State(st): State<AppState>, ctx: Ctx) -> Result<Json<CertificateView>> {
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

/// Configures (or replaces) the tenant's signing certificate after checking it whole: the key
/// matches the certificate, the certificate is valid now and may sign, the key is RSA 2048+
/// or ECDSA P-256. From then on every notice and receipt carries an embedded PAdES signature.
#[utoipa::path(put, path = "/api/v1/admin/signing-certificate", tag = "admin", security(("bearer" = [])),
    request_body = CertificateBody,
    responses((status = 200, body = CertificateInfo), (status = 400, body = crate::web::openapi::ErrorBody),
        (status = 403, body = crate::web::openapi::ErrorBody),
        (status = 422, description = "The certificate, key or TSA URL cannot be used; the code says why", body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_put(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CertificateInfo>> {
    let s = ctx.admin()?;
    let b: CertificateBody = crate::web::json(&headers, &body)?;
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
    responses((status = 200, body = Removed), (status = 403, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_delete(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Removed>> {
    let s = ctx.admin()?;
    Ok(Json(Removed { removed: certificate::remove(&st.db, s).await? }))
}
