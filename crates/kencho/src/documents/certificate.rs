//! A tenant's signing certificate for embedded PAdES signatures (see [`super::pades`]):
//! configured, replaced and removed by a tenant administrator, audited. The private key is
//! sealed with the [`Keyring`](crate::crypto::Keyring) like every other secret; the
//! certificate chain, its fingerprint and validity are kept in clear (they are public).

use base64::Engine as _;
use zeroize::Zeroizing;

pub use super::model::{CertificateInfo, Upload};
use super::pades::{self, credential, Credential};
use super::store;
use crate::actor::Staff;
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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

/// The tenant's certificate in use, if any.
pub async fn current(db: &Db, tenant_id: i64) -> Result<Option<CertificateInfo>> {
    store::current_certificate(db, tenant_id).await
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
        .map_err(|e| AppError::failed("reading the certificate stopped", e))??;
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
            store::lock_tenant(conn, tenant_id).await?;
            let replaced = store::retire_certificate(conn, tenant_id, now).await?;
            store::insert_certificate(conn, tenant_id, &row, &chain_pem, &sealed).await?;
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
            store::lock_tenant(conn, tenant_id).await?;
            let removed = store::retire_certificate(conn, tenant_id, now_ms()).await?;
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
    let Some(row) = store::signing_certificate(db, tenant_id).await? else { return Ok(None) };
    let (cert_id, chain_pem, stored) = (row.cert_id, row.chain_pem, row.private_key);
    let keys: std::sync::Arc<Keyring> = db.keys();
    let secret = Zeroizing::new(keys.open(&key_place(&cert_id), &stored)?);
    let der = Zeroizing::new(B64.decode(secret.as_bytes()).map_err(|e| AppError::failed("stored key", e))?);
    let chain = x509_cert::Certificate::load_pem_chain(chain_pem.as_bytes())
        .map_err(|e| AppError::failed("stored chain", e))?;
    let cred = Credential::new(chain, credential::Key::from_pkcs8_der(&der)?)?;
    cred.check((now_ms() / 1000) as u64)?;
    Ok(Some(pades::Signer { credential: cred, tsa_url: row.tsa_url, location: location.to_string() }))
}
