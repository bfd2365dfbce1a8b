//! The public verification of a document: by its bytes, or by its number and the SHA-256 of
//! its bytes, against the hash register and the signature stored with it.

use sha2::{Digest, Sha256};

use super::issue::signed_message;
pub use super::model::Verification;
use super::model::{By, IssuedDocument};
use super::{keys, pdf, store};
use crate::db::Db;
use crate::error::{AppError, Result};

/// A document by its number.
pub async fn by_number(db: &Db, number: &str) -> Result<Option<IssuedDocument>> {
    let mut conn = db.read.acquire().await?;
    store::find(&mut conn, By::Number(number)).await
}

/// Checks a stored document whose hash matched: its signature, with the key it names.
async fn check(db: &Db, doc: IssuedDocument) -> Result<Verification> {
    let key = store::public_key(db, doc.tenant_id, &doc.key_id).await?;
    let (valid, retired) = match key {
        Some(k) => {
            let (public, retired) = (k.public_key, k.retired_at);
            let message = signed_message(&doc.number, &doc.tenant_code, doc.issued_at, &doc.sha256);
            let ok = keys::verifying_key(&public)
                .ok()
                .zip(keys::decode_signature(&doc.signature))
                .is_some_and(|(vk, sig)| vk.verify_strict(&message, &sig).is_ok());
            (ok, retired.is_some())
        }
        None => (false, false),
    };
    if !valid {
        tracing::error!(number = %doc.number, "a stored document signature does not verify");
        return Ok(Verification::bare("bad_signature", &doc.sha256, Some(doc.number)));
    }
    Ok(Verification {
        result: if doc.disposed_at.is_some() { "disposed" } else { "genuine" }.into(),
        genuine: true,
        sha256: doc.sha256,
        number: Some(doc.number),
        tenant: Some(doc.tenant_code),
        tenant_name: Some(doc.tenant_name),
        title: Some(doc.title),
        issuer: Some(doc.issuer),
        issued_at: Some(doc.issued_at),
        key_id: Some(doc.key_id),
        key_status: Some(if retired { "retired" } else { "active" }.into()),
        signature: Some(doc.signature),
        disposed_at: doc.disposed_at,
    })
}

/// Checks a PDF as uploaded.
pub async fn verify_pdf(db: &Db, bytes: &[u8]) -> Result<Verification> {
    if bytes.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.applications.file_empty")));
    }
    let sha = hex::encode(Sha256::digest(bytes));
    let found = {
        let mut conn = db.read.acquire().await?;
        store::find(&mut conn, By::Sha256(&sha)).await?
    };
    if let Some(doc) = found {
        return check(db, doc).await;
    }
    // Not ours as it is; does it claim to be one of ours?
    if let Some(number) = pdf::claimed_number(bytes) {
        if by_number(db, &number).await?.is_some() {
            return Ok(Verification::bare("altered", &sha, Some(number)));
        }
    }
    Ok(Verification::bare("unknown", &sha, None))
}

/// Parses a SHA-256 as people type it (hex, any case, spaces around).
pub fn parse_sha256(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err(AppError::BadRequest(detail!("detail.documents.sha256_64_hexadecimal_digits")))
    }
}

/// Checks a document number and the SHA-256 of the document's bytes.
pub async fn verify_number(db: &Db, number: &str, sha256: &str) -> Result<Verification> {
    let number = number.trim();
    if number.is_empty() || number.chars().count() > 100 || number.chars().any(char::is_control) {
        return Err(AppError::BadRequest(detail!("detail.documents.enter_document_number")));
    }
    let sha = parse_sha256(sha256)?;
    match by_number(db, number).await? {
        None => Ok(Verification::bare("unknown", &sha, Some(number.to_string()))),
        Some(doc) if doc.sha256 != sha => Ok(Verification::bare("altered", &sha, Some(number.to_string()))),
        Some(doc) => check(db, doc).await,
    }
}
