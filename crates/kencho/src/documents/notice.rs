//! Decision notices (決定通知書): rendered, signed and stored before a final decision's
//! transaction and recorded inside it ([`prepare_for_decision`], [`record_for_decision`]), or
//! issued once after it committed ([`issue_decision_notice`]).

use std::path::Path;

use kencho_core::application::{Action, Status};
use sqlx::AnyConnection;

use super::issue::{record, sign_and_store, signing_reason, Signing, LANG, VERIFY_PATH};
use super::links::{ApplicationFacts, Decision, Links};
use super::model::{By, DocumentKind, IssuedDocument};
use super::{certificate, keys, pdf, store};
use crate::actor::Staff;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};

/// `MNS-通知-2026-000123`: the tenant's receipt prefix, the year of issue (JST) and the
/// application number, so one application has one notice number.
pub fn notice_number(prefix: &str, issued_at: i64, application_id: i64) -> String {
    let year = crate::clock::at(issued_at).year();
    format!("{prefix}-通知-{year}-{application_id:06}")
}

pub(super) async fn notice_in(conn: &mut AnyConnection, application_id: i64) -> Result<Option<IssuedDocument>> {
    store::find(conn, By::Application(application_id)).await
}

/// The decision notice of an application, if one was issued.
pub async fn notice_for_application(db: &Db, application_id: i64) -> Result<Option<IssuedDocument>> {
    let mut conn = db.read.acquire().await?;
    notice_in(&mut conn, application_id).await
}

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
        kind: DocumentKind::DecisionNotice,
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
    record(conn, &prepared.doc, actor).await?;
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
        _ => return Err(AppError::Conflict(detail!("detail.documents.application_has_no_final"))),
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
            doc.id = record(conn, &doc, &actor).await?;
            Ok(doc)
        })
    })
    .await
}
