//! Signed documents (電子交付): the result notices (決定通知書) and the receipts of paid fees
//! (領収書, [`issue_receipt`]) kencho issues as PDFs signed with the tenant's Ed25519 key, and
//! their public verification. Every kind is rendered by [`pdf`] and signed and stored by one path.
//!
//! A final decision's notice is rendered, signed and written to the file store *before* the
//! decision's transaction (no write lock is held while rendering), and its row is inserted
//! *inside* that transaction ([`prepare_for_decision`], [`record_for_decision`]): the decision
//! and its notice commit together or not at all. A file whose row never committed is an
//! orphan in the content-addressed store and verifies as unknown. [`issue_decision_notice`]
//! issues for a decision that has already committed (the 電子決裁 path at 施行, or a retry); it
//! is idempotent: one notice per application.
//!
//! The signature is detached: it is stored with the document's row and returned by the
//! verification API, over the message [`signed_message`] describes.
//!
//! When the tenant has configured a signing certificate ([`certificate`]), every document
//! also carries an embedded PAdES signature ([`pades`]) that PDF readers check. It is added
//! before hashing: the hash register holds the SHA-256 of the final, signed file.

pub mod certificate;
pub mod keys;
mod links;
pub mod pades;
pub mod pdf;
mod receipt;

pub use links::{ApplicationFacts, Decision, Links, PaymentFacts};
pub use receipt::{issue_receipt, receipt_number, yen};

use std::path::Path;

use kencho_core::application::{Action, Status};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};

/// The language documents are issued in: official documents are in the office's language
/// whoever asks for them (their words are in `locales/`, `doc.*`).
const LANG: &str = crate::i18n::OFFICE;

/// `issued_documents.kind` of a decision notice.
pub const KIND_DECISION_NOTICE: &str = "decision_notice";

/// The public verification page (under the base URL).
pub const VERIFY_PATH: &str = "/verify-document";

/// A document kencho issued and signed.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedDocument {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_code: String,
    pub tenant_name: String,
    pub number: String,
    pub kind: String,
    pub application_id: Option<i64>,
    pub kian_id: Option<i64>,
    pub title: String,
    pub issuer: String,
    /// SHA-256 of the PDF bytes, lowercase hex.
    pub sha256: String,
    pub size: i64,
    pub key_id: String,
    /// Ed25519 signature over [`signed_message`], base64.
    pub signature: String,
    /// Epoch milliseconds.
    pub issued_at: i64,
    pub disposed_at: Option<i64>,
}

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

/// `MNS-通知-2026-000123`: the tenant's receipt prefix, the year of issue (JST) and the
/// application number, so one application has one notice number.
pub fn notice_number(prefix: &str, issued_at: i64, application_id: i64) -> String {
    let year = crate::clock::at(issued_at).year();
    format!("{prefix}-通知-{year}-{application_id:06}")
}

const DOC_COLS: &str =
    "d.id, d.tenant_id, t.code AS tenant_code, t.name AS tenant_name, d.number, d.kind, d.application_id, d.kian_id, \
    d.title, d.issuer, d.sha256, d.size, d.key_id, d.signature, d.issued_at, d.disposed_at";

fn doc_from_row(r: &sqlx::any::AnyRow) -> Result<IssuedDocument> {
    Ok(IssuedDocument {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        tenant_code: r.try_get("tenant_code")?,
        tenant_name: r.try_get("tenant_name")?,
        number: r.try_get("number")?,
        kind: r.try_get("kind")?,
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

/// Which document to look up.
enum By<'a> {
    /// The decision notice of an application.
    Application(i64),
    Number(&'a str),
    Sha256(&'a str),
}

async fn find(conn: &mut AnyConnection, by: By<'_>) -> Result<Option<IssuedDocument>> {
    let cond = match by {
        By::Application(_) => "d.application_id = $1 AND d.kind = $2",
        By::Number(_) => "d.number = $1",
        By::Sha256(_) => "d.sha256 = $1",
    };
    let sql = format!(
        "SELECT {DOC_COLS} FROM issued_documents d JOIN tenants t ON t.id = d.tenant_id WHERE {cond} ORDER BY d.id LIMIT 1"
    );
    let q = sqlx::query(&sql);
    let q = match by {
        By::Application(id) => q.bind(id).bind(KIND_DECISION_NOTICE),
        By::Number(n) => q.bind(n.to_string()),
        By::Sha256(s) => q.bind(s.to_string()),
    };
    q.fetch_optional(&mut *conn).await?.as_ref().map(doc_from_row).transpose()
}

async fn notice_in(conn: &mut AnyConnection, application_id: i64) -> Result<Option<IssuedDocument>> {
    find(conn, By::Application(application_id)).await
}

/// The decision notice of an application, if one was issued.
pub async fn notice_for_application(db: &Db, application_id: i64) -> Result<Option<IssuedDocument>> {
    let mut conn = db.read.acquire().await?;
    notice_in(&mut conn, application_id).await
}

/// A document by its number.
pub async fn by_number(db: &Db, number: &str) -> Result<Option<IssuedDocument>> {
    let mut conn = db.read.acquire().await?;
    find(&mut conn, By::Number(number)).await
}

/// The stored PDF of a document.
pub async fn pdf_bytes(data_dir: &Path, doc: &IssuedDocument) -> Result<Vec<u8>> {
    tokio::fs::read(crate::blobs::file_path(data_dir, &doc.sha256))
        .await
        .map_err(|e| AppError::Internal(format!("document file {}: {e}", doc.number)))
}

// ---------- issuing ----------

/// What a notice is made from: the application as committed (or about to be decided), by
/// [`Links::application`], and its tenant's letterhead.
struct Facts {
    a: ApplicationFacts,
    office: crate::tenants::Letterhead,
}

async fn facts<L: Links>(conn: &mut AnyConnection, links: &L, application_id: i64) -> Result<Facts> {
    let a = links.application(conn, application_id).await?;
    let office = crate::tenants::letterhead(conn, a.tenant_id).await?;
    Ok(Facts { a, office })
}

/// A notice rendered, signed and stored, whose row is not written yet.
pub struct PreparedNotice {
    doc: IssuedDocument,
    application_id: i64,
    /// The application's revision the notice was made from.
    revision: i64,
    outcome: Status,
}

/// Renders and signs a notice (on a blocking thread) and stores its file durably.
#[allow(clippy::too_many_arguments)]
async fn prepare(
    db: &Db,
    base_url: &str,
    data_dir: &Path,
    f: &Facts,
    application_id: i64,
    kian_id: Option<i64>,
    outcome: Status,
    notice_text: &str,
) -> Result<PreparedNotice> {
    let key = keys::active(db, f.a.tenant_id).await?;
    let issued_at = now_ms();
    let content = pdf::NoticeContent {
        number: notice_number(&f.office.receipt_prefix, issued_at, application_id),
        title: notice_title(outcome, &f.a.procedure_title),
        tenant_name: f.office.name.clone(),
        division_name: f.a.division_name.clone(),
        resident_name: f.a.resident_name.clone(),
        procedure_title: f.a.procedure_title.clone(),
        receipt_number: f.a.receipt_number.clone().unwrap_or_else(|| "-".into()),
        outcome,
        notice_text: notice_text.to_string(),
        issued_at,
        submitted_at: f.a.submitted_at,
        verify_url: format!("{}{VERIFY_PATH}", base_url.trim_end_matches('/')),
        key_id: key.key_id.clone(),
    };
    let (number, title) = (content.number.clone(), content.title.clone());
    let embedded = certificate::signer(db, f.a.tenant_id, &f.office.name).await?;
    let signing = Signing { key, embedded, reason: signing_reason(&title) };
    let signed =
        sign_and_store(data_dir, signing, &f.office.code, &number, issued_at, move || pdf::render_notice(&content))
            .await?;
    let doc = IssuedDocument {
        id: 0,
        tenant_id: f.a.tenant_id,
        tenant_code: f.office.code.clone(),
        tenant_name: f.office.name.clone(),
        number,
        kind: KIND_DECISION_NOTICE.into(),
        application_id: Some(application_id),
        kian_id,
        title,
        issuer: format!("{} {}", f.office.name, f.a.division_name),
        sha256: signed.sha256,
        size: signed.size,
        key_id: signed.key_id,
        signature: signed.signature,
        issued_at,
        disposed_at: None,
    };
    Ok(PreparedNotice { doc, application_id, revision: f.a.revision, outcome })
}

/// `決定通知書（犬の登録申請）`: what the notice is, for which procedure.
fn notice_title(outcome: Status, procedure_title: &str) -> String {
    let what = t(LANG, "doc.notice.what");
    let kind = kencho_core::notice::outcome_words(outcome).map_or(what.as_str(), |(title, _)| title);
    tf(LANG, "doc.notice.title", &[("kind", kind), ("procedure", procedure_title)])
}

/// The embedded signature's /Reason: `{title}の発行`.
fn signing_reason(title: &str) -> String {
    tf(LANG, "doc.signing_reason", &[("title", title)])
}

/// A rendered document's file, stored, and its signature.
struct Signed {
    sha256: String,
    size: i64,
    key_id: String,
    signature: String,
}

/// How a document is signed: the tenant's Ed25519 key for the hash register, and its
/// certificate for an embedded PAdES signature when one is configured.
struct Signing {
    key: keys::ActiveKey,
    embedded: Option<pades::Signer>,
    /// The embedded signature's /Reason.
    reason: String,
}

/// The one signing path of every kind of document: renders it on a blocking thread, embeds
/// the PAdES signature (if configured), signs [`signed_message`] over the final bytes with the
/// tenant's active key and stores the file durably in the content-addressed store. The caller
/// writes the row ([`insert`]).
async fn sign_and_store(
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
        .map_err(|e| AppError::Internal(format!("rendering stopped: {e}")))??;
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
    .map_err(|e| AppError::Internal(format!("rendering stopped: {e}")))??;
    crate::blobs::store_file(data_dir, &sha, &bytes).await?;
    Ok(Signed { sha256: sha, size: bytes.len() as i64, key_id, signature })
}

/// Writes a prepared document's row and its audit entry inside the caller's transaction.
async fn insert(conn: &mut AnyConnection, doc: &IssuedDocument, actor: &str) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO issued_documents (tenant_id, number, kind, application_id, kian_id, title, issuer, sha256, size, key_id, \
         signature, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(doc.tenant_id)
    .bind(&doc.number)
    .bind(&doc.kind)
    .bind(doc.application_id)
    .bind(doc.kian_id)
    .bind(&doc.title)
    .bind(&doc.issuer)
    .bind(&doc.sha256)
    .bind(doc.size)
    .bind(&doc.key_id)
    .bind(&doc.signature)
    .bind(doc.issued_at)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    audit::append(
        conn,
        doc.tenant_id,
        actor,
        "document.issue",
        &format!("document:{}", doc.number),
        serde_json::json!({"kind": doc.kind, "application": doc.application_id, "kian": doc.kian_id,
            "sha256": doc.sha256, "key_id": doc.key_id}),
    )
    .await?;
    Ok(id)
}

/// Before a staff action's transaction: for a decision (承認 / 不承認) or a 却下, renders,
/// signs and stores its notice. `None` for other actions, for an application that cannot be
/// decided now (the transaction reports why) or when rendering failed (logged; the decision
/// goes ahead and [`issue_decision_notice`] is tried after it commits).
pub async fn prepare_for_decision<L: Links>(
    db: &Db,
    links: &L,
    base_url: &str,
    data_dir: &Path,
    staff: &Staff,
    application_id: i64,
    action: &Action,
) -> Option<PreparedNotice> {
    let (outcome, text, from): (Status, &str, &[Status]) = match action {
        Action::Decide { approve, notice } => {
            (if *approve { Status::Approved } else { Status::Denied }, notice, &[Status::Accepted])
        }
        Action::Reject { reason } => {
            (Status::Rejected, reason, &[Status::Submitted, Status::Accepted, Status::CorrectionRequested])
        }
        _ => return None,
    };
    let f = {
        let mut conn = db.read.acquire().await.ok()?;
        facts(&mut conn, links, application_id).await.ok()?
    };
    if f.a.tenant_id != staff.tenant_id || !from.contains(&f.a.status) {
        return None;
    }
    match prepare(db, base_url, data_dir, &f, application_id, None, outcome, text).await {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(error = %e, application_id, "could not prepare the decision notice");
            None
        }
    }
}

/// Inside the decision's transaction, after the decision is written: records the prepared
/// notice when it matches what was decided (same application, revision and outcome).
/// Returns whether it was recorded.
pub async fn record_for_decision(
    conn: &mut AnyConnection,
    prepared: &PreparedNotice,
    application_id: i64,
    revision_before: i64,
    to: Status,
    actor: &str,
) -> Result<bool> {
    if prepared.application_id != application_id || prepared.revision != revision_before || to != prepared.outcome {
        return Ok(false);
    }
    insert(conn, &prepared.doc, actor).await?;
    Ok(true)
}

/// Issues (renders, signs, stores and records) the decision notice of an application whose
/// decision has committed, or returns the one already issued: calling it again never issues
/// a second notice. `kian_id` names the 起案 whose 施行 issues it, if any. The notice text is
/// the one written with the decision (else the 起案's body).
pub async fn issue_decision_notice<L: Links>(
    db: &Db,
    links: &L,
    base_url: &str,
    data_dir: &Path,
    application_id: i64,
    kian_id: Option<i64>,
) -> Result<IssuedDocument> {
    if let Some(d) = notice_for_application(db, application_id).await? {
        return Ok(d);
    }
    let mut conn = db.read.acquire().await?;
    let f = facts(&mut conn, links, application_id).await?;
    let (outcome, decision) = match f.a.status {
        s @ (Status::Approved | Status::Denied) => (s, Decision::Decide),
        Status::Rejected => (Status::Rejected, Decision::Reject),
        _ => {
            return Err(AppError::Conflict(
                "the application has no final decision / この申請は決定されていません".into(),
            ))
        }
    };
    let text = links.decision_text(&mut conn, application_id, decision, kian_id).await?;
    drop(conn);
    let prepared =
        prepare(db, base_url, data_dir, &f, application_id, kian_id, outcome, text.as_deref().unwrap_or_default())
            .await?;
    let actor = match kian_id {
        Some(k) => format!("kian:{k}"),
        None => "system".to_string(),
    };
    let links = links.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            links.lock_application(conn, application_id).await?;
            if let Some(d) = notice_in(conn, application_id).await? {
                return Ok(d);
            }
            let mut doc = prepared.doc;
            doc.id = insert(conn, &doc, &actor).await?;
            Ok(doc)
        })
    })
    .await
}

// ---------- verification ----------

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
    fn bare(result: &str, sha256: &str, number: Option<String>) -> Self {
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

/// Checks a stored document whose hash matched: its signature, with the key it names.
async fn check(db: &Db, doc: IssuedDocument) -> Result<Verification> {
    let key = sqlx::query("SELECT public_key, retired_at FROM signing_keys WHERE key_id = $1 AND tenant_id = $2")
        .bind(&doc.key_id)
        .bind(doc.tenant_id)
        .fetch_optional(&db.read)
        .await?;
    let (valid, retired) = match key {
        Some(k) => {
            let public: String = k.try_get("public_key")?;
            let retired: Option<i64> = k.try_get("retired_at")?;
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
        return Err(AppError::BadRequest("the file is empty / ファイルが空です".into()));
    }
    let sha = hex::encode(Sha256::digest(bytes));
    let found = {
        let mut conn = db.read.acquire().await?;
        find(&mut conn, By::Sha256(&sha)).await?
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
        Err(AppError::BadRequest("sha256 must be 64 hexadecimal digits / SHA-256は16進数64桁で入力してください".into()))
    }
}

/// Checks a document number and the SHA-256 of the document's bytes.
pub async fn verify_number(db: &Db, number: &str, sha256: &str) -> Result<Verification> {
    let number = number.trim();
    if number.is_empty() || number.chars().count() > 100 || number.chars().any(char::is_control) {
        return Err(AppError::BadRequest("enter the document number / 文書番号を入力してください".into()));
    }
    let sha = parse_sha256(sha256)?;
    match by_number(db, number).await? {
        None => Ok(Verification::bare("unknown", &sha, Some(number.to_string()))),
        Some(doc) if doc.sha256 != sha => Ok(Verification::bare("altered", &sha, Some(number.to_string()))),
        Some(doc) => check(db, doc).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
