//! The documents capability's types: issued documents, signing keys and certificates as
//! stored and as shown, each decoded from a row by column name, and what a check of a document
//! found. No SQL, no I/O.

pub use kencho_core::notice::DocumentKind;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use zeroize::Zeroizing;

use crate::error::Result;

/// A document kencho issued and signed.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedDocument {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_code: String,
    pub tenant_name: String,
    pub number: String,
    pub kind: DocumentKind,
    pub application_id: Option<i64>,
    pub kian_id: Option<i64>,
    pub title: String,
    pub issuer: String,
    /// SHA-256 of the PDF bytes, lowercase hex.
    pub sha256: String,
    pub size: i64,
    pub key_id: String,
    /// Ed25519 signature over [`super::signed_message`], base64.
    pub signature: String,
    /// Epoch milliseconds.
    pub issued_at: i64,
    pub disposed_at: Option<i64>,
}

impl IssuedDocument {
    pub(super) fn from_row(r: &AnyRow) -> Result<IssuedDocument> {
        Ok(IssuedDocument {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            tenant_code: r.try_get("tenant_code")?,
            tenant_name: r.try_get("tenant_name")?,
            number: r.try_get("number")?,
            kind: crate::db::parsed(r, "kind", DocumentKind::parse)?,
            application_id: r.try_get("application_id")?,
            kian_id: r.try_get("kian_id")?,
            title: r.try_get("title")?,
            issuer: r.try_get("issuer")?,
            sha256: r.try_get("sha256")?,
            size: r.try_get("size")?,
            key_id: r.try_get("key_id")?,
            signature: r.try_get("signature")?,
            issued_at: r.try_get("issued_at")?,
            disposed_at: r.try_get("disposed_at")?,
        })
    }
}

/// Which document to look up.
pub(super) enum By<'a> {
    /// The decision notice of an application.
    Application(i64),
    Number(&'a str),
    Sha256(&'a str),
}

/// What a check of a document found. Facts about the document are given only when the
/// caller showed its exact bytes (or their hash): a number alone reveals nothing but that it
/// exists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// `genuine`: issued by kencho, unchanged, signature valid. `disposed`: genuine, but the
    /// office has since disposed of it under its records rules. `altered`: the number is ours
    /// but the contents differ. `unknown`: no document of ours has this content (or number).
    /// `bad_signature`: the stored signature does not verify (report it to the issuer).
    pub result: String,
    /// True for `genuine` and `disposed`.
    pub genuine: bool,
    /// The SHA-256 that was checked (lowercase hex).
    pub sha256: String,
    pub number: Option<String>,
    /// Tenant code of the issuer.
    pub tenant: Option<String>,
    pub tenant_name: Option<String>,
    pub title: Option<String>,
    pub issuer: Option<String>,
    /// Epoch milliseconds.
    pub issued_at: Option<i64>,
    pub key_id: Option<String>,
    /// `active` or `retired`.
    pub key_status: Option<String>,
    /// The Ed25519 signature (base64) over the message described in the README, for offline
    /// checks with the public key.
    pub signature: Option<String>,
    pub disposed_at: Option<i64>,
}

impl Verification {
    pub(super) fn bare(result: &str, sha256: &str, number: Option<String>) -> Self {
        Verification {
            result: result.into(),
            genuine: false,
            sha256: sha256.into(),
            number,
            tenant: None,
            tenant_name: None,
            title: None,
            issuer: None,
            issued_at: None,
            key_id: None,
            key_status: None,
            signature: None,
            disposed_at: None,
        }
    }
}

// ---------- signing keys ----------

/// A public key as third parties see it (`GET /api/v1/signing-keys`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// Tenant code.
    pub tenant: String,
    pub tenant_name: String,
    pub key_id: String,
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, base64 (standard alphabet, padded).
    pub public_key: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds; a retired key signs nothing new but still verifies what it signed.
    pub retired_at: Option<i64>,
}

impl PublicKey {
    pub(super) fn from_row(r: &AnyRow) -> Result<PublicKey> {
        Ok(PublicKey {
            tenant: r.try_get("tenant_code")?,
            tenant_name: r.try_get("tenant_name")?,
            key_id: r.try_get("key_id")?,
            algorithm: r.try_get("algorithm")?,
            public_key: r.try_get("public_key")?,
            created_at: r.try_get("created_at")?,
            retired_at: r.try_get("retired_at")?,
        })
    }
}

/// A stored key that signs: its id and its seed, still sealed.
pub struct SealedKey {
    pub key_id: String,
    pub secret_key: String,
}

/// A key as [`super::verify_pdf`] checks a signature with it.
pub struct StoredPublicKey {
    /// Base64.
    pub public_key: String,
    pub retired_at: Option<i64>,
}

// ---------- signing certificates ----------

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

impl CertificateInfo {
    pub(super) fn from_row(r: &AnyRow) -> Result<CertificateInfo> {
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
}

/// The certificate a tenant signs with, as stored: its chain, its sealed key and its TSA.
pub struct StoredCertificate {
    pub cert_id: String,
    pub chain_pem: String,
    /// The PKCS#8 key, base64, sealed.
    pub private_key: String,
    pub tsa_url: Option<String>,
}

impl StoredCertificate {
    pub(super) fn from_row(r: &AnyRow) -> Result<StoredCertificate> {
        Ok(StoredCertificate {
            cert_id: r.try_get("cert_id")?,
            chain_pem: r.try_get("chain_pem")?,
            private_key: r.try_get("private_key")?,
            tsa_url: r.try_get("tsa_url")?,
        })
    }
}
