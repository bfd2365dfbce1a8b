//! Embedded PAdES signatures (ETSI EN 319 142-1, baseline B-B, and B-T with a time-stamp) with
//! the office's own certificate, e.g. an LGPKI 職責証明書, so that ordinary PDF readers show the
//! notice as signed by the office.
//!
//! The signature is appended to the rendered PDF as an incremental update ([`increment`]); its
//! CMS ([`cades`]) signs the SHA-256 of every byte of the final file except the /Contents
//! string. What kencho registers in its public hash register, and signs with the tenant's
//! Ed25519 key, is the SHA-256 of the *final* file, signature included: the file the resident
//! receives is the one that verifies by upload, and any change to it (even to the embedded
//! signature) is `altered`.

pub mod cades;
pub mod credential;
pub mod increment;
pub mod p12;
pub mod tsa;
pub mod verify;

use crate::error::{AppError, Result};
pub use credential::Credential;

/// Room for the signed attributes, the signature value (RSA-4096: 512 bytes) and structure.
const SIGNATURE_ROOM: usize = 4096;
/// Room for a time-stamp token (a TSA's signature and its certificates).
const TIME_STAMP_ROOM: usize = 16384;

/// A tenant's configured embedded signature.
#[derive(Clone)]
pub struct Signer {
    pub credential: Credential,
    /// RFC 3161 TSA (PAdES-B-T) when configured.
    pub tsa_url: Option<String>,
    /// /Location of the signature: the office's name.
    pub location: String,
}

/// `D:YYYYMMDDHHmmSS+09'00'` (ISO 32000-1 §7.9.4) in JST.
fn pdf_date(ms: i64) -> String {
    let t = crate::clock::at(ms);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+09'00'",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The signer's common name (or the whole subject when it has none), for /Name.
fn common_name(c: &x509_cert::Certificate) -> String {
    let subject = c.tbs_certificate.subject.to_string();
    subject.split(',').find_map(|part| part.trim().strip_prefix("CN=")).map(str::to_string).unwrap_or(subject)
}

/// Appends the embedded signature to a rendered PDF: B-B, and B-T when a TSA is configured
/// (a TSA that fails refuses the document: it is not issued half-signed).
pub async fn sign(pdf: Vec<u8>, signer: &Signer, signed_at_ms: i64, reason: &str) -> Result<Vec<u8>> {
    let s = signer.clone();
    let reason = reason.to_string();
    let (placeholder, info) = tokio::task::spawn_blocking(move || {
        let chain_len: usize = s
            .credential
            .chain
            .iter()
            .map(|c| der::Encode::encoded_len(c).map_or(4096, |l| u32::from(l) as usize))
            .sum();
        let capacity = chain_len + SIGNATURE_ROOM + if s.tsa_url.is_some() { TIME_STAMP_ROOM } else { 0 };
        let time = pdf_date(signed_at_ms);
        let name = common_name(s.credential.signer());
        let sig = increment::SigInfo { time: &time, reason: &reason, location: &s.location, name: &name };
        let p = increment::prepare(&pdf, &sig, capacity).map_err(|e| AppError::failed("PAdES", e))?;
        let digest = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            for part in p.signed_parts() {
                h.update(part);
            }
            h.finalize()
        };
        let info = cades::signer_info(&s.credential, &digest)?;
        Ok::<_, AppError>((p, info))
    })
    .await
    .map_err(|e| AppError::failed("signing stopped", e))??;
    let mut info = info;
    if let Some(url) = &signer.tsa_url {
        let token = tsa::time_stamp(url, info.signature.as_bytes()).await?;
        cades::add_time_stamp(&mut info, &token)?;
    }
    let cms = cades::content_info(&signer.credential, info)?;
    placeholder.fill(&cms).map_err(|e| AppError::failed("PAdES", e))
}
