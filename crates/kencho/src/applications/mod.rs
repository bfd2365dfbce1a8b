//! Applications (申請): drafts, attachments, submission, the office's actions, inboxes and
//! export. Every change is one transaction that also writes its history event, its audit
//! entry and its e-mail (outbox), so an acknowledged action is durable with its side effects.

use std::path::Path;
use std::sync::Arc;

use kencho_core::application::{self as machine, Action, Actor, Facts, Status};
use kencho_core::forms::{self, Answers, FieldError};
use kencho_core::procedure::{ApplicantKind, FieldKind};
use kencho_core::receipt;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::actor::{Resident, Staff};
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{is_unique_violation, AppError, Result};
use crate::mail;
use crate::notify::{self, AppMail};
use crate::procedures::Procedure;

pub use crate::procedures::version as procedure_version;

mod actions;
mod archive;
mod facts;
mod files;
mod links;
mod lists;

pub use actions::*;
pub use archive::archived;
pub use facts::{attachment_name, division_code, document_facts, last_message, mail_facts};
pub use files::*;
pub use links::Links;
pub use lists::*;

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: i64,
    pub tenant_id: i64,
    pub division_id: i64,
    pub procedure_id: i64,
    pub resident_id: i64,
    pub resident_name: String,
    pub resident_email: String,
    pub applicant_kind: String,
    pub status: Status,
    pub was_accepted: bool,
    pub revision: i64,
    pub answers: Answers,
    pub receipt_number: Option<String>,
    pub content_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub due_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// When a 補正 stopped the 標準処理期間 clock; `None` while it runs.
    pub paused_at: Option<i64>,
}

impl Application {
    pub fn is_overdue(&self, now: i64) -> bool {
        self.status.is_open_for_office() && self.due_at.is_some_and(|d| d < now)
    }
    fn facts(&self, p: &Procedure) -> Facts {
        Facts { status: self.status, was_accepted: self.was_accepted, withdrawal: p.def.withdrawal }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: i64,
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub from_status: Status,
    pub to_status: Status,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: String,
    pub field: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: i64,
}

const COLS: &str = "a.id, a.tenant_id, a.division_id, a.procedure_id, a.resident_id, r.name AS resident_name, \
    r.email AS resident_email, a.applicant_kind, a.status, a.was_accepted, a.revision, a.answers, a.receipt_number, a.content_hash, a.created_at, a.updated_at, a.submitted_at, a.due_at, a.decided_at, a.paused_at";

/// Where an application's answers are sealed (see [`crate::crypto`]).
pub fn answers_place(id: i64) -> String {
    crate::crypto::place("applications.answers", id)
}

/// Seals answers for the application's row (an empty `{}` stays as it is).
pub fn seal_answers(keys: &Keyring, id: i64, answers: &Value) -> Result<String> {
    Ok(keys.seal_unless_empty(&answers_place(id), &answers.to_string())?)
}

fn from_row(keys: &Keyring, r: &sqlx::any::AnyRow) -> Result<Application> {
    let answers = keys.open_unless_empty(&answers_place(r.try_get("id")?), &r.try_get::<String, _>("answers")?)?;
    Ok(Application {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        division_id: r.try_get("division_id")?,
        procedure_id: r.try_get("procedure_id")?,
        resident_id: r.try_get("resident_id")?,
        resident_name: r.try_get("resident_name")?,
        resident_email: r.try_get("resident_email")?,
        applicant_kind: r.try_get("applicant_kind")?,
        status: crate::db::parsed(r, "status", Status::parse)?,
        was_accepted: r.try_get::<i64, _>("was_accepted")? == 1,
        revision: r.try_get("revision")?,
        answers: serde_json::from_str(&answers).map_err(AppError::unexpected)?,
        receipt_number: r.try_get("receipt_number")?,
        content_hash: r.try_get("content_hash")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        submitted_at: r.try_get("submitted_at")?,
        due_at: r.try_get("due_at")?,
        decided_at: r.try_get("decided_at")?,
        paused_at: r.try_get("paused_at")?,
    })
}

pub async fn load(conn: &mut AnyConnection, keys: &Keyring, id: i64) -> Result<Application> {
    let sql = format!("SELECT {COLS} FROM applications a JOIN residents r ON r.id = a.resident_id WHERE a.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await?.ok_or(AppError::NotFound)?;
    from_row(keys, &row)
}

/// An application as its applicant may see it; anybody else's is "not found".
pub async fn for_resident(db: &Db, resident: &Resident, id: i64) -> Result<Application> {
    let mut conn = db.read.acquire().await?;
    let a = load(&mut conn, &db.keys(), id).await?;
    if a.resident_id != resident.id {
        return Err(AppError::NotFound);
    }
    Ok(a)
}

/// The status of one of the resident's applications (one indexed row; for polling).
pub async fn status_for_resident(db: &Db, resident: &Resident, id: i64) -> Result<Summary> {
    let row = sqlx::query(
        "SELECT a.id, a.tenant_id, a.procedure_id, '' AS procedure_title, a.receipt_number, a.status, '' AS applicant_name, \
         a.updated_at, a.submitted_at, a.due_at FROM applications a WHERE a.id = $1 AND a.resident_id = $2",
    )
    .bind(id)
    .bind(resident.id)
    .fetch_optional(&db.read)
    .await?
    .ok_or(AppError::NotFound)?;
    summary_from_row(&row)
}

/// Whether a staff member may see an application at all (tenant, and division unless the role
/// sees every division). Drafts are the resident's own business.
pub fn staff_may_see(staff: &Staff, a: &Application) -> bool {
    a.tenant_id == staff.tenant_id
        && (staff.role.sees_all_divisions() || a.division_id == staff.division_id)
        && a.status != Status::Draft
}

/// Opens an application for a staff member, recording the view of personal data in the audit
/// log (who, when, which application, why).
pub async fn open_for_staff(db: &Db, staff: &Staff, id: i64, purpose: &str) -> Result<Application> {
    open_audited(db, staff, id, purpose, staff_may_see).await
}

/// Opens an application for the cashier (会計課): any application of the tenant that is not a
/// draft (the resident brings the 納入通知 to the 会計課, not to the division), only for staff
/// the roles table allows to receive cash (`cash_receive`), the view audited.
pub async fn open_for_cashier(db: &Db, staff: &Staff, id: i64) -> Result<Application> {
    crate::security::policy::require(db, staff, kencho_core::security::Action::CashReceive, None).await?;
    open_audited(db, staff, id, "counter cash", may_take_cash).await
}

/// Loads an application `may` lets `staff` see (else "not found") and audits the view.
async fn open_audited(
    db: &Db,
    staff: &Staff,
    id: i64,
    purpose: &str,
    may: fn(&Staff, &Application) -> bool,
) -> Result<Application> {
    let (staff, keys, purpose) = (staff.clone(), db.keys(), purpose.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let a = load(conn, &keys, id).await?;
            if !may(&staff, &a) {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                a.tenant_id,
                &format!("staff:{}", staff.id),
                "application.view",
                &format!("application:{id}"),
                serde_json::json!({"purpose": purpose, "receipt": a.receipt_number}),
            )
            .await?;
            Ok(a)
        })
    })
    .await
}

/// Whether a cashier may take cash for an application: any of the tenant's that is not a draft.
pub fn may_take_cash(staff: &Staff, a: &Application) -> bool {
    a.tenant_id == staff.tenant_id && a.status != Status::Draft
}

pub async fn events(db: &Db, id: i64) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT at, actor, actor_name, action, from_status, to_status, message FROM application_events WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                actor_name: r.try_get("actor_name")?,
                action: r.try_get("action")?,
                from_status: crate::db::parsed(r, "from_status", Status::parse)?,
                to_status: crate::db::parsed(r, "to_status", Status::parse)?,
                message: r.try_get("message")?,
            })
        })
        .collect()
}

// ---------- drafts ----------

fn parse_kind(p: &Procedure, kind: &str) -> Result<&'static str> {
    let (k, s) = match kind {
        "self" | "" => (ApplicantKind::Myself, "self"),
        "agent" => (ApplicantKind::Agent, "agent"),
        _ => return Err(AppError::BadRequest("applicant_kind must be \"self\" or \"agent\"".into())),
    };
    if !p.def.applicants.contains(&k) {
        return Err(AppError::BadRequest(
            "this procedure does not accept that kind of applicant / この手続きではその申請者区分は選べません".into(),
        ));
    }
    Ok(s)
}

/// Starts a draft against the procedure's current version.
pub async fn create_draft(db: &Db, resident: &Resident, p: &Procedure, applicant_kind: &str) -> Result<i64> {
    let kind = parse_kind(p, applicant_kind)?;
    let (tenant_id, division_id, procedure_id, resident_id) = (p.tenant_id, p.division_id, p.id, resident.id);
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let row = sqlx::query(
                "INSERT INTO applications (tenant_id, division_id, procedure_id, resident_id, applicant_kind, status, answers, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'draft', '{}', $6, $6) RETURNING id",
            )
            .bind(tenant_id)
            .bind(division_id)
            .bind(procedure_id)
            .bind(resident_id)
            .bind(kind)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            Ok(row.try_get::<i64, _>("id")?)
        })
    })
    .await
}

/// Saves answers to a draft (or an application under correction). `revision` must be the one
/// the form was rendered from: an older one means the form is stale and nothing is saved.
/// Returns the page's validation errors (the answers are saved either way, as a draft).
pub async fn save_answers(
    db: &Db,
    resident: &Resident,
    id: i64,
    revision: i64,
    page: Option<usize>,
    update: impl FnOnce(&Procedure, &mut Answers),
) -> Result<(i64, Vec<FieldError>)> {
    let a = for_resident(db, resident, id).await?;
    if !matches!(a.status, Status::Draft | Status::CorrectionRequested) {
        return Err(AppError::Conflict("the application can no longer be edited / この申請は編集できません".into()));
    }
    if a.revision != revision {
        return Err(AppError::StaleForm);
    }
    let p = procedure_version(db, a.procedure_id).await?;
    let mut answers = a.answers.clone();
    update(&p, &mut answers);
    let files = attachments(db, id).await?;
    let lookup =
        |aid: &str, field: &str| files.iter().find(|f| f.id == aid && f.field == field).map(|f| f.media_type.clone());
    let errors = forms::validate(&p.def, page, &mut answers, &lookup);
    let json = seal_answers(&db.keys(), id, &Value::Object(answers))?;
    // Optimistic concurrency: the write only lands on the revision the form was made from.
    db.transact(move |conn| {
        Box::pin(async move {
            let n = sqlx::query(
                "UPDATE applications SET answers = $1, revision = revision + 1, updated_at = $2 \
                 WHERE id = $3 AND revision = $4 AND status IN ('draft', 'correction_requested')",
            )
            .bind(json)
            .bind(now_ms())
            .bind(id)
            .bind(revision)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n == 1 {
                Ok(())
            } else {
                Err(AppError::StaleForm)
            }
        })
    })
    .await?;
    Ok((revision + 1, errors))
}
