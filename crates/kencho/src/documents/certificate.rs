//! A tenant's signing certificate for embedded PAdES signatures (see [`super::pades`]):
//! configured, replaced and removed by a tenant administrator, audited. The private key is
//! sealed with the [`Keyring`](crate::crypto::Keyring) like every other secret; the
//! certificate chain, its fingerprint and validity are kept in clear (they are public).

use base64::Engine as _;
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use zeroize::Zeroizing;

use super::keys::lock_tenant;
use super::pades::{self, credential, Credential};
use crate::actor::Staff;
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What an administrator uploads.
pub enum Upload {
    /// PEM certificate chain and PEM private key.
    Pem { chain: String, key: String },
    /// A PKCS#12 file (.p12 / .pfx) and its password.
    Pkcs12 { der: Vec<u8>, password: Zeroizing<String> },
}

/// A configured certificate as administrators see it (never the key).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateInfo {
    pub cert_id: String,
    /// Subject (RFC 4514).
    pub subject: String,
    pub issuer: String,
    /// Serial number, hexadecimal.
    pub serial: String,
    /// SHA-256 of the certificate (DER), lowercase hex.
    pub sha256: String,
    /// `RSA-2048`, `ECDSA-P256` …
    pub key_algorithm: String,
    /// Validity, epoch milliseconds.
    pub not_before: i64,
    pub not_after: i64,
    /// RFC 3161 time-stamp authority; none: signatures are PAdES-B-B.
    pub tsa_url: Option<String>,
    /// `B-B` or `B-T`.
    pub level: String,
    pub created_by: String,
    /// Epoch milliseconds.
    pub created_at: i64,
}

fn key_place(cert_id: &str) -> String {
    crate::crypto::place("signing_certificates.private_key", cert_id)
}

/// Reads and checks an upload whole (see [`Credential::check`]); nothing is stored.
pub fn read_upload(upload: &Upload, now_ms: i64) -> Result<Credential> {
    let cred = match upload {
        Upload::Pem { chain, key } => Credential::from_pem(chain, key)?,
        Upload::Pkcs12 { der, password } => pades::p12::read(der, password)?,
    };
    cred.check((now_ms / 1000) as u64)?;
    Ok(cred)
}

const COLS: &str =
    "cert_id, subject, issuer, serial, sha256, key_algorithm, not_before, not_after, tsa_url, created_by, created_at";

fn info_from_row(r: &sqlx::any::AnyRow) -> Result<CertificateInfo> {
    let tsa_url: Option<String> = r.try_get("tsa_url")?;
    Ok(CertificateInfo {
        cert_id: r.try_get("cert_id")?,
        subject: r.try_get("subject")?,
        issuer: r.try_get("issuer")?,
        serial: r.try_get("serial")?,
        sha256: r.try_get("sha256")?,
        key_algorithm: r.try_get("key_algorithm")?,
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        level: if tsa_url.is_some() { "B-T" } else { "B-B" }.into(),
        tsa_url,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The tenant's certificate in use, if any.
pub async fn current(db: &Db, tenant_id: i64) -> Result<Option<CertificateInfo>> {
    let sql = format!(
        "SELECT {COLS} FROM signing_certificates WHERE tenant_id = $1 AND removed_at IS NULL ORDER BY id DESC LIMIT 1"
    );
    sqlx::query(&sql).bind(tenant_id).fetch_optional(&db.read).await?.as_ref().map(info_from_row).transpose()
}

/// Erases the key of the tenant's certificate in use and marks it removed; returns its id.
async fn retire(conn: &mut AnyConnection, tenant_id: i64, now: i64) -> Result<Option<String>> {
    let old: Option<String> =
        sqlx::query("SELECT cert_id FROM signing_certificates WHERE tenant_id = $1 AND removed_at IS NULL")
            .bind(tenant_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("cert_id"))
            .transpose()?;
    sqlx::query(
        "UPDATE signing_certificates SET removed_at = $1, private_key = NULL WHERE tenant_id = $2 AND removed_at IS NULL",
    )
    .bind(now)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(old)
}

/// Configures (or replaces) the tenant's certificate and TSA; audited.
pub async fn configure(db: &Db, staff: &Staff, upload: Upload, tsa_url: Option<String>) -> Result<CertificateInfo> {
    let tsa_url = tsa_url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    if let Some(u) = &tsa_url {
        pades::tsa::check_url(u)?;
    }
    let now = now_ms();
    let cred = tokio::task::spawn_blocking(move || read_upload(&upload, now))
        .await
        .map_err(|e| AppError::Internal(format!("reading the certificate stopped: {e}")))??;
    let keys = db.keys();
    let (tenant_id, actor) = (staff.tenant_id, format!("staff:{}", staff.id));
    let fp = cred.fingerprint();
    let cert_id = format!("{}-{}-{}", staff.tenant_code, &fp[..16], hex::encode(rand::random::<[u8; 3]>()));
    let tbs = &cred.signer().tbs_certificate;
    let (nb, na) = credential::validity(cred.signer());
    let info = CertificateInfo {
        cert_id: cert_id.clone(),
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: hex::encode(tbs.serial_number.as_bytes()),
        sha256: fp,
        key_algorithm: cred.key.algorithm(),
        not_before: nb * 1000,
        not_after: na * 1000,
        level: if tsa_url.is_some() { "B-T" } else { "B-B" }.into(),
        tsa_url,
        created_by: actor.clone(),
        created_at: now,
    };
    let chain_pem = cred.chain_pem()?;
    let sealed = keys.seal(&key_place(&cert_id), &Zeroizing::new(B64.encode(cred.key.to_pkcs8_der()?.as_slice())))?;
    let row = info.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            lock_tenant(conn, tenant_id).await?;
            let replaced = retire(conn, tenant_id, now).await?;
            sqlx::query(
                "INSERT INTO signing_certificates (tenant_id, cert_id, chain_pem, private_key, key_algorithm, subject, issuer, \
                 serial, sha256, not_before, not_after, tsa_url, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(tenant_id)
            .bind(&row.cert_id)
            .bind(&chain_pem)
            .bind(&sealed)
            .bind(&row.key_algorithm)
            .bind(&row.subject)
            .bind(&row.issuer)
            .bind(&row.serial)
            .bind(&row.sha256)
            .bind(row.not_before)
            .bind(row.not_after)
            .bind(&row.tsa_url)
            .bind(&row.created_by)
            .bind(row.created_at)
            .execute(&mut *conn)
            .await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "signing_certificate.configure",
                &format!("signing_certificate:{}", row.cert_id),
                serde_json::json!({"subject": row.subject, "issuer": row.issuer, "serial": row.serial, "sha256": row.sha256,
                    "key_algorithm": row.key_algorithm, "not_after": row.not_after, "tsa_url": row.tsa_url, "replaced": replaced}),
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(info)
}

/// Stops embedded signatures for the tenant (the key is erased); audited. Returns the removed
/// certificate's id, `None` when none was configured.
pub async fn remove(db: &Db, staff: &Staff) -> Result<Option<String>> {
    let (tenant_id, actor) = (staff.tenant_id, format!("staff:{}", staff.id));
    db.transact(move |conn| {
        Box::pin(async move {
            lock_tenant(conn, tenant_id).await?;
            let removed = retire(conn, tenant_id, now_ms()).await?;
            if let Some(id) = &removed {
                audit::append(
                    conn,
                    tenant_id,
                    &actor,
                    "signing_certificate.remove",
                    &format!("signing_certificate:{id}"),
                    serde_json::json!({}),
                )
                .await?;
            }
            Ok(removed)
        })
    })
    .await
}

/// The tenant's embedded-signature signer, if a certificate is configured. A certificate
/// that has expired since refuses the document (`certificate_expired`) rather than embed a
/// signature every reader would show as invalid.
pub async fn signer(db: &Db, tenant_id: i64, location: &str) -> Result<Option<pades::Signer>> {
    let row = sqlx::query(
        "SELECT cert_id, chain_pem, private_key, tsa_url FROM signing_certificates \
         WHERE tenant_id = $1 AND removed_at IS NULL AND private_key IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(&db.read)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (cert_id, chain_pem, stored): (String, String, String) =
        (row.try_get("cert_id")?, row.try_get("chain_pem")?, row.try_get("private_key")?);
    let keys: std::sync::Arc<Keyring> = db.keys();
    let secret = Zeroizing::new(keys.open(&key_place(&cert_id), &stored)?);
    let der =
        Zeroizing::new(B64.decode(secret.as_bytes()).map_err(|e| AppError::Internal(format!("stored key: {e}")))?);
    let chain = x509_cert::Certificate::load_pem_chain(chain_pem.as_bytes())
        .map_err(|e| AppError::Internal(format!("stored chain: {e}")))?;
    let cred = Credential::new(chain, credential::Key::from_pkcs8_der(&der)?)?;
    cred.check((now_ms() / 1000) as u64)?;
    Ok(Some(pades::Signer { credential: cred, tsa_url: row.try_get("tsa_url")?, location: location.to_string() }))
}
