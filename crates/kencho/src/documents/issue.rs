//! The one path every kind of document is signed, stored and recorded by: the message its
//! Ed25519 signature covers ([`signed_message`]), rendering and signing off the async threads
//! ([`sign_and_store`]), and its row with its audit entry ([`record`]).

use std::path::Path;

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::model::IssuedDocument;
use super::{keys, pades, store};
use crate::audit;
use crate::error::{AppError, Result};
use crate::i18n::tf;

/// The language documents are issued in: official documents are in the office's language
/// whoever asks for them (their words are in `locales/`, `doc.*`).
pub(super) const LANG: &str = crate::i18n::OFFICE;

/// The public verification page (under the base URL).
pub const VERIFY_PATH: &str = "/verify-document";

/// The bytes a document's signature covers, UTF-8, every line ending in LF:
///
/// ```text
/// kencho-document-signature/1
/// number:{document number}
/// tenant:{tenant code}
/// issued_at:{epoch milliseconds, decimal}
/// sha256:{SHA-256 of the exact PDF bytes, 64 lowercase hex digits}
/// ```
///
/// To check a document offline: hash the PDF, build this message with the number, tenant and
/// issue time the verification API returns, and verify the returned signature with the
/// tenant's public key `key_id` from `GET /api/v1/signing-keys` (Ed25519, RFC 8032).
pub fn signed_message(number: &str, tenant_code: &str, issued_at: i64, sha256_hex: &str) -> Vec<u8> {
    format!("kencho-document-signature/1\nnumber:{number}\ntenant:{tenant_code}\nissued_at:{issued_at}\nsha256:{sha256_hex}\n")
        .into_bytes()
}

/// The stored PDF of a document.
pub async fn pdf_bytes(data_dir: &Path, doc: &IssuedDocument) -> Result<Vec<u8>> {
    tokio::fs::read(crate::blobs::file_path(data_dir, &doc.sha256))
        .await
        .map_err(|e| AppError::failed(format!("document file {}", doc.number), e))
}

/// The embedded signature's /Reason: `{title}の発行`.
pub(super) fn signing_reason(title: &str) -> String {
    tf(LANG, "doc.signing_reason", &[("title", title)])
}

/// A rendered document's file, stored, and its signature.
pub(super) struct Signed {
    pub sha256: String,
    pub size: i64,
    pub key_id: String,
    pub signature: String,
}

/// How a document is signed: the tenant's Ed25519 key for the hash register, and its
/// certificate for an embedded PAdES signature when one is configured.
pub(super) struct Signing {
    pub key: keys::ActiveKey,
    pub embedded: Option<pades::Signer>,
    /// The embedded signature's /Reason.
    pub reason: String,
}

/// The one signing path of every kind of document: renders it on a blocking thread, embeds
/// the PAdES signature (if configured), signs [`signed_message`] over the final bytes with the
/// tenant's active key and stores the file durably in the content-addressed store. The caller
/// writes the row ([`record`]).
pub(super) async fn sign_and_store(
    data_dir: &Path,
    signing: Signing,
    tenant_code: &str,
    number: &str,
    issued_at: i64,
    render: impl FnOnce() -> std::result::Result<Vec<u8>, String> + Send + 'static,
) -> Result<Signed> {
    let (tenant_code, number) = (tenant_code.to_string(), number.to_string());
    let rendered = tokio::task::spawn_blocking(move || render().map_err(AppError::Internal))
        .await
        .map_err(|e| AppError::failed("rendering stopped", e))??;
    let bytes = match &signing.embedded {
        Some(s) => pades::sign(rendered, s, issued_at, &signing.reason).await?,
        None => rendered,
    };
    let key = signing.key;
    let (bytes, sha, signature, key_id) = tokio::task::spawn_blocking(move || {
        let sha = hex::encode(Sha256::digest(&bytes));
        let sig = key.sign(&signed_message(&number, &tenant_code, issued_at, &sha));
        Ok::<_, AppError>((bytes, sha, keys::encode_signature(&sig), key.key_id))
    })
    .await
    .map_err(|e| AppError::failed("rendering stopped", e))??;
    crate::blobs::store_file(data_dir, &sha, &bytes).await?;
    Ok(Signed { sha256: sha, size: bytes.len() as i64, key_id, signature })
}

/// Writes a prepared document's row and its audit entry inside the caller's transaction.
pub(super) async fn record(conn: &mut AnyConnection, doc: &IssuedDocument, actor: &str) -> Result<i64> {
    let id = store::insert(conn, doc).await?;
    audit::append(
        conn,
        doc.tenant_id,
        actor,
        "document.issue",
        &format!("document:{}", doc.number),
        serde_json::json!({"kind": doc.kind.as_str(), "application": doc.application_id, "kian": doc.kian_id,
            "sha256": doc.sha256, "key_id": doc.key_id}),
    )
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::{notice_number, parse_sha256, pdf};
    use proptest::prelude::*;

    fn signed() -> (Vec<u8>, keys::ActiveKey, String) {
        let c = pdf::sample();
        let bytes = pdf::render_notice(&c).unwrap();
        let key = keys::ActiveKey::ephemeral(1, &c.key_id);
        let sha = hex::encode(Sha256::digest(&bytes));
        let sig = key.sign(&signed_message(&c.number, "minamisoma", c.issued_at, &sha));
        (bytes, key, keys::encode_signature(&sig))
    }

    fn verifies(bytes: &[u8], key: &keys::ActiveKey, sig: &str) -> bool {
        let c = pdf::sample();
        let sha = hex::encode(Sha256::digest(bytes));
        let sig = keys::decode_signature(sig).unwrap();
        key.verifying_key().verify_strict(&signed_message(&c.number, "minamisoma", c.issued_at, &sha), &sig).is_ok()
    }

    #[test]
    fn a_signed_notice_verifies() {
        let (bytes, key, sig) = signed();
        assert!(verifies(&bytes, &key, &sig));
        // Another key, another number or another time does not.
        let other = keys::ActiveKey::ephemeral(1, "other");
        assert!(!verifies(&bytes, &other, &sig));
        let c = pdf::sample();
        let sha = hex::encode(Sha256::digest(&bytes));
        let s = keys::decode_signature(&sig).unwrap();
        assert!(key.verifying_key().verify_strict(&signed_message("X", "minamisoma", c.issued_at, &sha), &s).is_err());
        assert!(key.verifying_key().verify_strict(&signed_message(&c.number, "aizu", c.issued_at, &sha), &s).is_err());
        assert!(key.verifying_key().verify_strict(&signed_message(&c.number, "minamisoma", 1, &sha), &s).is_err());
    }

    #[test]
    fn rendering_is_deterministic() {
        let c = pdf::sample();
        assert_eq!(pdf::render_notice(&c).unwrap(), pdf::render_notice(&c).unwrap());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_single_byte_change_fails(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
            static SIGNED: std::sync::LazyLock<(Vec<u8>, keys::ActiveKey, String)> = std::sync::LazyLock::new(signed);
            let (bytes, key, sig) = &*SIGNED;
            let mut changed = bytes.clone();
            let i = pos.index(changed.len());
            changed[i] = changed[i].wrapping_add(delta);
            prop_assert!(!verifies(&changed, key, sig));
        }
    }

    #[test]
    fn numbers_and_hashes_are_checked() {
        assert_eq!(notice_number("MNS", 1_780_000_000_000, 42), "MNS-通知-2026-000042");
        assert!(parse_sha256(&"A".repeat(64)).is_ok());
        assert!(parse_sha256("abc").is_err());
        assert!(parse_sha256(&"g".repeat(64)).is_err());
    }
}
