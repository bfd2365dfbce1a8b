//! Applications (申請): drafts, attachments, submission, the office's actions, inboxes and
//! export. Every change is one transaction that also writes its history event, its audit
//! entry and its e-mail (outbox), so an acknowledged action is durable with its side effects.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kencho_core::application::{self as machine, Action, Actor, Facts, Status};
use kencho_core::forms::{self, Answers, FieldError};
use kencho_core::procedure::{ApplicantKind, FieldKind};
use kencho_core::receipt;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::accounts::{Resident, Staff};
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{is_unique_violation, AppError, Result};
use crate::mail;
use crate::notify::{self, AppMail};
use crate::procedures::Procedure;

pub use crate::procedures::version as procedure_version;

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
    pub from_status: String,
    pub to_status: String,
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

const COLS: &str = "a.id, a.tenant_id, a.division_id, a.procedure_id, a.resident_id, r.name, r.email, a.applicant_kind, a.status, \
    a.was_accepted, a.revision, a.answers, a.receipt_number, a.content_hash, a.created_at, a.updated_at, a.submitted_at, a.due_at, a.decided_at";

/// Where an application's answers are sealed (see [`crate::crypto`]).
pub fn answers_place(id: i64) -> String {
    crate::crypto::place("applications.answers", id)
}

/// Seals answers for the application's row (an empty `{}` stays as it is).
pub fn seal_answers(keys: &Keyring, id: i64, answers: &Value) -> Result<String> {
    Ok(keys.seal_unless_empty(&answers_place(id), &answers.to_string())?)
}

fn from_row(keys: &Keyring, r: &sqlx::any::AnyRow) -> Result<Application> {
    let status: String = r.try_get(8)?;
    let answers = keys.open_unless_empty(&answers_place(r.try_get(0)?), &r.try_get::<String, _>(11)?)?;
    Ok(Application {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        division_id: r.try_get(2)?,
        procedure_id: r.try_get(3)?,
        resident_id: r.try_get(4)?,
        resident_name: r.try_get(5)?,
        resident_email: r.try_get(6)?,
        applicant_kind: r.try_get(7)?,
        status: Status::parse(&status).ok_or_else(|| AppError::Internal(format!("unknown status {status}")))?,
        was_accepted: r.try_get::<i64, _>(9)? == 1,
        revision: r.try_get(10)?,
        answers: serde_json::from_str(&answers).map_err(|e| AppError::Internal(e.to_string()))?,
        receipt_number: r.try_get(12)?,
        content_hash: r.try_get(13)?,
        created_at: r.try_get(14)?,
        updated_at: r.try_get(15)?,
        submitted_at: r.try_get(16)?,
        due_at: r.try_get(17)?,
        decided_at: r.try_get(18)?,
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
        "SELECT a.id, a.tenant_id, a.procedure_id, '', a.receipt_number, a.status, '', a.updated_at, a.submitted_at, a.due_at \
         FROM applications a WHERE a.id = $1 AND a.resident_id = $2",
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
    let (staff, keys) = (staff.clone(), db.keys());
    let purpose = purpose.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let a = load(conn, &keys, id).await?;
            if !staff_may_see(&staff, &a) {
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
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                actor_name: r.try_get(2)?,
                action: r.try_get(3)?,
                from_status: r.try_get(4)?,
                to_status: r.try_get(5)?,
                message: r.try_get(6)?,
            })
        })
        .collect()
}

pub async fn attachments(db: &Db, id: i64) -> Result<Vec<Attachment>> {
    let rows = sqlx::query(
        "SELECT public_id, field, filename, media_type, size, sha256, created_at FROM attachments WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attachment {
                id: r.try_get(0)?,
                field: r.try_get(1)?,
                filename: r.try_get(2)?,
                media_type: r.try_get(3)?,
                size: r.try_get(4)?,
                sha256: r.try_get(5)?,
                created_at: r.try_get(6)?,
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
            Ok(row.try_get::<i64, _>(0)?)
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

/// Identifies a file's real type from its first bytes; the declared type must agree.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[4..8] == b"ftyp" && (&bytes[8..12] == b"heic" || &bytes[8..12] == b"mif1") {
        Some("image/heic")
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some("application/zip")
    } else if std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0) {
        Some("text/plain")
    } else {
        None
    }
}

fn type_agrees(declared: &str, sniffed: Option<&str>) -> bool {
    match (declared, sniffed) {
        (d, Some(s)) if d == s => true,
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", Some("application/zip")) => true,
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Some("application/zip")) => true,
        ("text/csv", Some("text/plain")) => true,
        _ => false,
    }
}

/// Writes the bytes content-addressed under the data directory and syncs them to disk before
/// the database row that points at them is committed.
pub async fn store_file(data_dir: &Path, sha: &str, bytes: &[u8]) -> Result<()> {
    let dir = data_dir.join("files").join(&sha[..2]);
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(sha);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        // Fresh again: clean-up after a disposal leaves recently written files alone, so a
        // row about to commit never points at a file just removed.
        let touched = std::fs::File::options()
            .append(true)
            .open(&path)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        if let Err(e) = touched {
            tracing::warn!(error = %e, "could not refresh a stored file's time");
        }
        return Ok(());
    }
    let tmp = dir.join(format!("{sha}.{}.tmp", crate::accounts::random_token()));
    let mut f = tokio::fs::File::create(&tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut f, bytes).await?;
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(&tmp, &path).await?;
    Ok(())
}

pub fn file_path(data_dir: &Path, sha: &str) -> PathBuf {
    data_dir.join("files").join(sha.get(..2).unwrap_or("xx")).join(sha)
}

/// Attaches a file to a file field of a draft (or an application under correction),
/// replacing what that field held. Returns the attachment id and the new revision.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    db: &Db,
    data_dir: &Path,
    resident: &Resident,
    id: i64,
    revision: Option<i64>,
    field: &str,
    filename: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<(String, i64)> {
    let a = for_resident(db, resident, id).await?;
    if !matches!(a.status, Status::Draft | Status::CorrectionRequested) {
        return Err(AppError::Conflict("the application can no longer be edited / この申請は編集できません".into()));
    }
    let p = procedure_version(db, a.procedure_id).await?;
    let Some(f) = p.def.field(field) else {
        return Err(AppError::BadRequest(format!("no file field \"{field}\"")));
    };
    let FieldKind::File { types, max_bytes } = &f.kind else {
        return Err(AppError::BadRequest(format!("\"{field}\" is not a file field")));
    };
    if bytes.is_empty() {
        return Err(AppError::BadRequest("the file is empty / ファイルが空です".into()));
    }
    if bytes.len() as u64 > *max_bytes {
        return Err(AppError::TooLarge);
    }
    if !types.iter().any(|t| t == media_type) || !type_agrees(media_type, sniff(bytes)) {
        return Err(AppError::UnsupportedMedia(media_type.to_string()));
    }
    let filename = sanitize_filename(filename);
    let sha = hex::encode(Sha256::digest(bytes));
    store_file(data_dir, &sha, bytes).await?;
    let public_id = crate::accounts::random_token()[..16].to_string();
    if revision.is_some_and(|r| r != a.revision) {
        return Err(AppError::StaleForm);
    }
    let mut answers = a.answers.clone();
    answers.insert(field.to_string(), Value::String(public_id.clone()));
    let json = seal_answers(&db.keys(), id, &Value::Object(answers))?;
    let (pid, field, size) = (public_id.clone(), field.to_string(), bytes.len() as i64);
    let (media_type, old_rev) = (media_type.to_string(), a.revision);
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let n = sqlx::query(
                "UPDATE applications SET answers = $1, revision = revision + 1, updated_at = $2 \
                 WHERE id = $3 AND revision = $4 AND status IN ('draft', 'correction_requested')",
            )
            .bind(json)
            .bind(now)
            .bind(id)
            .bind(old_rev)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(AppError::StaleForm);
            }
            sqlx::query(
                "INSERT INTO attachments (public_id, application_id, field, filename, media_type, size, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(pid)
            .bind(id)
            .bind(field)
            .bind(filename)
            .bind(media_type)
            .bind(size)
            .bind(sha)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok((public_id, old_rev + 1))
}

fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("file");
    let clean: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>')).take(120).collect();
    if clean.trim().is_empty() {
        "file".into()
    } else {
        clean
    }
}

/// An attachment's stored hash and metadata, if the caller may see the application.
pub async fn attachment(db: &Db, app_id: i64, public_id: &str) -> Result<Attachment> {
    attachments(db, app_id).await?.into_iter().find(|a| a.id == public_id).ok_or(AppError::NotFound)
}

// ---------- transitions ----------

fn mail_for<'a>(base_url: &'a str, lang: &'a str, a: &'a Application, p: &'a Procedure) -> AppMail<'a> {
    AppMail {
        base_url,
        lang,
        name: &a.resident_name,
        procedure_title: &p.def.title,
        tenant_name: &p.tenant_name,
        receipt_number: a.receipt_number.as_deref().unwrap_or("-"),
        application_id: a.id,
    }
}

fn record_event(batch: &mut Batch, a: &Application, actor: &str, actor_name: &str, action: &Action, to: Status) {
    batch.push(
        "INSERT INTO application_events (application_id, at, actor, actor_name, action, from_status, to_status, message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            Arg::Int(a.id),
            Arg::Int(now_ms()),
            Arg::Text(actor.into()),
            Arg::Text(actor_name.into()),
            Arg::Text(action.name().into()),
            Arg::Text(a.status.as_str().into()),
            Arg::Text(to.as_str().into()),
            Arg::OptText(action.message().map(str::to_string)),
        ],
    );
}

/// On PostgreSQL, takes the application's row lock before reading it, so two concurrent
/// actions on one application serialise. (SQLite's single writer already does.)
pub async fn lock_row(conn: &mut AnyConnection, id: i64) -> Result<()> {
    if crate::db::Dialect::of(conn) == crate::db::Dialect::Postgres {
        sqlx::query("SELECT id FROM applications WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

pub struct Submitted {
    pub receipt_number: String,
    pub content_hash: String,
    /// The status it is in now.
    pub status: Status,
    /// False when this was a repeat of a submission already made (double post).
    pub new: bool,
    /// A resubmission after a correction request (not a repeat of one).
    pub resubmitted: bool,
}

/// Validates everything and submits (or, under correction, resubmits). Posting the same
/// submission twice returns the first result and changes nothing.
pub async fn submit(
    db: &Db,
    base_url: &str,
    lang: &str,
    resident: &Resident,
    id: i64,
    revision: i64,
) -> Result<Submitted> {
    let (db2, base_url, lang, resident) = (db.clone(), base_url.to_string(), lang.to_string(), resident.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            lock_row(conn, id).await?;
            let a = load(conn, &db2.keys(), id).await?;
            if a.resident_id != resident.id {
                return Err(AppError::NotFound);
            }
            // A repeated post of the form we already accepted: same answer, nothing new.
            if a.revision == revision + 1 && matches!(a.status, Status::Submitted | Status::Accepted) {
                if let (Some(r), Some(h)) = (&a.receipt_number, &a.content_hash) {
                    return Ok(Submitted {
                        receipt_number: r.clone(),
                        content_hash: h.clone(),
                        status: a.status,
                        new: false,
                        resubmitted: false,
                    });
                }
            }
            if a.revision != revision {
                return Err(AppError::StaleForm);
            }
            let p = procedure_version(&db2, a.procedure_id).await?;
            if a.status == Status::Draft {
                crate::payments::require_paid_before_submission(conn, &p, a.id).await?;
            }
            let action = if a.status == Status::CorrectionRequested { Action::Resubmit } else { Action::Submit };
            let to = machine::transition(a.facts(&p), Actor::Applicant, &action)?;
            finish_submission(conn, &db2.keys(), &base_url, &lang, &resident, &a, &p, action, to, None).await
        })
    })
    .await
}

#[allow(clippy::too_many_arguments)]
async fn finish_submission(
    tx: &mut AnyConnection,
    keys: &Keyring,
    base_url: &str,
    lang: &str,
    resident: &Resident,
    a: &Application,
    p: &Procedure,
    action: Action,
    to: Status,
    // Set by `submit_new`, which validated the answers just before and already holds the
    // audit chain's next place.
    taken_head: Option<(i64, String)>,
) -> Result<Submitted> {
    let prevalidated = taken_head.is_some();
    // One look at the attachments, and none for procedures without file fields.
    let has_files = p.def.fields().any(|f| matches!(f.kind, FieldKind::File { .. }));
    let mut files: Vec<(String, String, String, String)> = Vec::new();
    if has_files {
        for r in sqlx::query("SELECT public_id, field, media_type, sha256 FROM attachments WHERE application_id = $1")
            .bind(a.id)
            .fetch_all(&mut *tx)
            .await?
        {
            files.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
        }
    }
    let lookup = |aid: &str, field: &str| files.iter().find(|f| f.0 == aid && f.1 == field).map(|f| f.2.clone());
    let mut answers = a.answers.clone();
    // Answers checked just before the transaction are not checked again inside it (the
    // writer is the one place every write queues for).
    if !prevalidated {
        let errors = forms::validate(&p.def, None, &mut answers, &lookup);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
    }
    // Attachments no longer referenced by any answer are not part of the submission.
    let hashes: Vec<String> = p
        .def
        .fields()
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
        .filter_map(|f| answers.get(&f.id).and_then(Value::as_str))
        .filter_map(|aid| files.iter().find(|f| f.0 == aid).map(|f| f.3.clone()))
        .collect();
    let answers_value = Value::Object(answers);
    let applicant = format!("resident:{}", resident.id);
    let content_hash = receipt::content_hash(&p.code, p.version, &applicant, &answers_value, &hashes);
    let now = now_ms();
    let receipt_number = match &a.receipt_number {
        Some(r) => r.clone(),
        None => {
            let prefix = &p.receipt_prefix;
            let year = time::OffsetDateTime::now_utc().to_offset(jst()).year();
            receipt::receipt_number(prefix, year, a.id)
        }
    };
    // 標準処理期間 runs from the (re)submission.
    let due = now + i64::from(p.def.standard_days) * 86_400_000;
    // The writes that need no answer go to the database in one batch.
    let mut batch = Batch::new();
    batch.push(
        "UPDATE applications SET status = $1, answers = $2, receipt_number = $3, content_hash = $4, revision = revision + 1, \
         submitted_at = $5, due_at = $6, updated_at = $5 WHERE id = $7",
        vec![
            Arg::Text(to.as_str().into()),
            Arg::Text(seal_answers(keys, a.id, &answers_value)?),
            Arg::Text(receipt_number.clone()),
            Arg::Text(content_hash.clone()),
            Arg::Int(now),
            Arg::Int(due),
            Arg::Int(a.id),
        ],
    );
    record_event(&mut batch, a, &applicant, &resident.name, &action, to);
    let detail = serde_json::json!({"receipt": receipt_number, "content_hash": content_hash, "procedure": p.code, "version": p.version});
    let (audit_action, target) = (format!("application.{}", action.name()), format!("application:{}", a.id));
    match taken_head {
        Some(head) => audit::push_entry(&mut batch, a.tenant_id, head, &applicant, &audit_action, &target, detail),
        None => audit::append_batched(tx, &mut batch, a.tenant_id, &applicant, &audit_action, &target, detail).await?,
    }
    let mut view = a.clone();
    view.receipt_number = Some(receipt_number.clone());
    let m = mail_for(base_url, lang, &view, p);
    let (subject, body) = if action == Action::Submit {
        notify::submitted(&m, &content_hash)
    } else {
        notify::status_changed(&m, action.label(lang), to.label(lang), None)
    };
    let rev = a.revision;
    mail::enqueue_batched(
        &mut batch,
        &format!("app:{}:{}:{rev}", a.id, action.name()),
        &a.resident_email,
        &subject,
        &body,
    );
    batch.run(tx).await?;
    Ok(Submitted { receipt_number, content_hash, status: to, new: true, resubmitted: action == Action::Resubmit })
}

/// Japan Standard Time, for dates people read (receipt years, 和暦).
pub fn jst() -> time::UtcOffset {
    time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC)
}

/// One call for systems: creates and submits an application with complete answers. An
/// `Idempotency-Key` makes a retried request return the first result.
pub async fn submit_new(
    db: &Db,
    base_url: &str,
    resident: &Resident,
    p: &Arc<Procedure>,
    applicant_kind: &str,
    answers: Answers,
    idempotency_key: Option<&str>,
) -> Result<(i64, Submitted)> {
    let kind = parse_kind(p, applicant_kind)?;
    if let Some(k) = idempotency_key {
        if k.is_empty() || k.len() > 100 {
            return Err(AppError::BadRequest("Idempotency-Key must be 1-100 characters".into()));
        }
    }
    // Validate before taking the write lock: a rejected request costs no write.
    let mut checked = answers.clone();
    let no_files = |_: &str, _: &str| None;
    let errors = forms::validate(&p.def, None, &mut checked, &no_files);
    let has_file_fields = p.def.fields().any(|f| matches!(f.kind, FieldKind::File { .. }));
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if has_file_fields
        && p.def.fields().any(|f| matches!(f.kind, FieldKind::File { .. }) && checked.contains_key(&f.id))
    {
        return Err(AppError::BadRequest("attachments need a draft: create it, upload, then submit".into()));
    }
    if p.def.fee.rule().is_some_and(|(_, t)| t == kencho_core::payment::fee::Timing::BeforeSubmission) {
        return Err(AppError::Refused(
            "payment_required",
            "this procedure's fee is paid before submission: create a draft, pay, then submit".into(),
        ));
    }
    let (base_url, resident_c, p) = (base_url.to_string(), resident.clone(), p.clone());
    let resident = resident_c;
    let key = idempotency_key.map(str::to_string);
    let key_again = key.clone();
    let resident_id = resident.id;
    let keys = db.keys();
    let outcome = db
        .transact(move |conn| {
            Box::pin(async move {
                let now = now_ms();
                // Take the audit chain's next place and create the row in one round trip.
                let mut first = Batch::new();
                first.push(audit::TAKE_HEAD, vec![Arg::Int(p.tenant_id)]);
                first.push(
                    "INSERT INTO applications (tenant_id, division_id, procedure_id, resident_id, applicant_kind, status, answers, \
                     idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'draft', '{}', $6, $7, $7) RETURNING id",
                    vec![
                        Arg::Int(p.tenant_id),
                        Arg::Int(p.division_id),
                        Arg::Int(p.id),
                        Arg::Int(resident.id),
                        Arg::Text(kind.into()),
                        // The answers are sealed to the row, so they are written with the
                        // submission below, once the id is known.
                        Arg::OptText(key),
                        Arg::Int(now),
                    ],
                );
                let (mut head, mut id) = (None, None);
                for row in first.fetch(conn).await? {
                    if row.columns().len() == 2 {
                        head = Some(audit::head_of(&row)?);
                    } else {
                        id = Some(row.try_get::<i64, _>(0)?);
                    }
                }
                let id = id.ok_or_else(|| AppError::Internal("insert returned no id".into()))?;
                let head = match head {
                    Some(h) => h,
                    None => audit::first_head(conn, p.tenant_id).await?,
                };
                // Everything about the new row is known here; no need to read it back.
                let a = Application {
                    id,
                    tenant_id: p.tenant_id,
                    division_id: p.division_id,
                    procedure_id: p.id,
                    resident_id: resident.id,
                    resident_name: resident.name.clone(),
                    resident_email: resident.email.clone(),
                    applicant_kind: kind.to_string(),
                    status: Status::Draft,
                    was_accepted: false,
                    revision: 1,
                    answers: checked,
                    receipt_number: None,
                    content_hash: None,
                    created_at: now,
                    updated_at: now,
                    submitted_at: None,
                    due_at: None,
                    decided_at: None,
                };
                let to = machine::transition(a.facts(&p), Actor::Applicant, &Action::Submit)?;
                let result =
                    finish_submission(conn, &keys, &base_url, "ja", &resident, &a, &p, Action::Submit, to, Some(head))
                        .await?;
                Ok((id, result))
            })
        })
        .await;
    match outcome {
        // A retry of a request already made (same Idempotency-Key) fails on the unique key
        // and changes nothing; it gets the first answer.
        Err(AppError::Db(e)) if is_unique_violation(&e) => match repeated(db, resident_id, key_again.as_deref()).await?
        {
            Some(found) => Ok(found),
            None => Err(AppError::Db(e)),
        },
        other => other,
    }
}

/// The earlier result of a request with this Idempotency-Key, if there was one.
async fn repeated(db: &Db, resident_id: i64, key: Option<&str>) -> Result<Option<(i64, Submitted)>> {
    let Some(key) = key else { return Ok(None) };
    let row = sqlx::query(
        "SELECT id, receipt_number, content_hash, status FROM applications WHERE resident_id = $1 AND idempotency_key = $2",
    )
    .bind(resident_id)
    .bind(key)
    .fetch_optional(&db.read)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.try_get(0)?;
    let status: String = row.try_get(3)?;
    let status = Status::parse(&status).ok_or_else(|| AppError::Internal(format!("unknown status {status}")))?;
    match (row.try_get::<Option<String>, _>(1)?, row.try_get::<Option<String>, _>(2)?) {
        (Some(receipt_number), Some(content_hash)) => {
            Ok(Some((id, Submitted { receipt_number, content_hash, status, new: false, resubmitted: false })))
        }
        _ => Err(AppError::Conflict("a request with this Idempotency-Key is still a draft".into())),
    }
}

/// The applicant withdraws (取下げ), as the procedure allows.
pub async fn withdraw(db: &Db, base_url: &str, lang: &str, resident: &Resident, id: i64) -> Result<Status> {
    let (db2, base_url, lang, resident) = (db.clone(), base_url.to_string(), lang.to_string(), resident.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            lock_row(conn, id).await?;
            let a = load(conn, &db2.keys(), id).await?;
            if a.resident_id != resident.id {
                return Err(AppError::NotFound);
            }
            let p = procedure_version(&db2, a.procedure_id).await?;
            let to = machine::transition(a.facts(&p), Actor::Applicant, &Action::Withdraw)?;
            let actor = format!("resident:{}", resident.id);
            apply(conn, &base_url, &lang, &a, &p, &actor, &resident.name, &Action::Withdraw, to).await?;
            Ok(to)
        })
    })
    .await
}

/// A staff action: 受付, 補正依頼, 却下, or the one-step decision (承認 / 不承認). A decision's
/// signed notice (決定通知書) is issued with it: see [`crate::documents`].
pub async fn staff_action(
    db: &Db,
    base_url: &str,
    data_dir: &Path,
    staff: &Staff,
    id: i64,
    action: Action,
) -> Result<Status> {
    if matches!(action, Action::Submit | Action::Resubmit | Action::Withdraw) {
        return Err(AppError::Forbidden);
    }
    // 電子交付: rendered and signed before the write, recorded in the decision's transaction.
    let notice = crate::documents::prepare_for_decision(db, base_url, data_dir, staff, id, &action).await;
    let (db2, base_url2, staff) = (db.clone(), base_url.to_string(), staff.clone());
    let (to, notice_recorded) = db
        .transact(move |conn| {
            Box::pin(async move {
                lock_row(conn, id).await?;
                let a = load(conn, &db2.keys(), id).await?;
                if !staff_may_see(&staff, &a) {
                    return Err(AppError::NotFound);
                }
                let p = procedure_version(&db2, a.procedure_id).await?;
                if matches!(action, Action::Decide { .. }) && p.def.matter.is_some() {
                    // This procedure's decisions follow the 専決 table through a route (電子決裁).
                    return Err(AppError::Refused(
                        "route_required",
                        "this procedure is decided through an approval route: draft a 起案".into(),
                    ));
                }
                let to = machine::transition(a.facts(&p), Actor::Staff(staff.role), &action)?;
                let actor = format!("staff:{}", staff.id);
                apply(conn, &base_url2, "ja", &a, &p, &actor, &staff.name, &action, to).await?;
                let recorded = match &notice {
                    Some(n) => crate::documents::record_for_decision(conn, n, a.id, a.revision, to, &actor).await?,
                    None => false,
                };
                Ok((to, recorded))
            })
        })
        .await?;
    // The decision has committed; a notice not made with it is issued now (idempotent).
    if matches!(to, Status::Approved | Status::Denied) && !notice_recorded {
        if let Err(e) = crate::documents::issue_decision_notice(db, base_url, data_dir, id, None).await {
            tracing::error!(error = %e, application_id = id, "the decision notice could not be issued");
        }
    }
    Ok(to)
}

/// 施行 of a decided 起案 on an application: the decision the route made reaches the
/// application (status, history, mail) in the caller's transaction. The route, not the staff
/// member's role, is the authority here.
#[allow(clippy::too_many_arguments)] // the decision, its number and where it is written
pub async fn decide_by_route(
    db: &Db,
    conn: &mut AnyConnection,
    base_url: &str,
    staff: &Staff,
    id: i64,
    approve: bool,
    notice: &str,
    number: Option<&str>,
) -> Result<Status> {
    lock_row(conn, id).await?;
    let a = load(conn, &db.keys(), id).await?;
    if a.tenant_id != staff.tenant_id {
        return Err(AppError::NotFound);
    }
    // Versions never change, so the cached one serves (reads use their own pool).
    let p = procedure_version(db, a.procedure_id).await?;
    let notice = match number {
        Some(n) => format!("{notice}\n（文書番号 {n}）"),
        None => notice.to_string(),
    };
    let action = Action::Decide { approve, notice };
    let to = machine::transition(a.facts(&p), Actor::Staff(kencho_core::application::Role::Admin), &action)?;
    let actor = format!("staff:{}", staff.id);
    apply(conn, base_url, "ja", &a, &p, &actor, &staff.name, &action, to).await?;
    Ok(to)
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    tx: &mut AnyConnection,
    base_url: &str,
    lang: &str,
    a: &Application,
    p: &Procedure,
    actor: &str,
    actor_name: &str,
    action: &Action,
    to: Status,
) -> Result<()> {
    let now = now_ms();
    let accepted = a.was_accepted || to == Status::Accepted;
    let decided = if to.is_final() { Some(now) } else { None };
    let mut batch = Batch::new();
    batch.push(
        "UPDATE applications SET status = $1, was_accepted = $2, decided_at = $3, revision = revision + 1, updated_at = $4 WHERE id = $5",
        vec![Arg::Text(to.as_str().into()), Arg::Int(i64::from(accepted)), Arg::OptInt(decided), Arg::Int(now), Arg::Int(a.id)],
    );
    record_event(&mut batch, a, actor, actor_name, action, to);
    audit::append_batched(
        tx,
        &mut batch,
        a.tenant_id,
        actor,
        &format!("application.{}", action.name()),
        &format!("application:{}", a.id),
        serde_json::json!({"from": a.status.as_str(), "to": to.as_str(), "message": action.message()}),
    )
    .await?;
    if to.is_final() {
        // 公文書管理: the finished application is a record kept for the procedure's period.
        crate::approval::records::keep_batched(
            &mut batch,
            a.tenant_id,
            &format!("application:{}", a.id),
            &format!("{}（{}）", p.def.title, a.receipt_number.as_deref().unwrap_or("-")),
            &p.def.division.code,
            i64::from(p.def.retention_years),
            p.def.disposal.as_str(),
            crate::approval::kian::today_at(now),
            now,
        );
    }
    let m = mail_for(base_url, lang, a, p);
    let (subject, body) = notify::status_changed(&m, action.label(lang), to.label(lang), action.message());
    mail::enqueue_batched(
        &mut batch,
        &format!("app:{}:{}:{}", a.id, action.name(), a.revision),
        &a.resident_email,
        &subject,
        &body,
    );
    batch.run(tx).await
}

// ---------- lists ----------

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: i64,
    pub tenant_id: i64,
    pub procedure_id: i64,
    pub procedure_title: String,
    pub receipt_number: Option<String>,
    pub status: Status,
    pub applicant_name: String,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub due_at: Option<i64>,
}

impl Summary {
    pub fn is_overdue(&self, now: i64) -> bool {
        self.status.is_open_for_office() && self.due_at.is_some_and(|d| d < now)
    }
}

const SUMMARY_COLS: &str = "a.id, a.tenant_id, a.procedure_id, p.title, a.receipt_number, a.status, r.name, a.updated_at, a.submitted_at, a.due_at";

fn summary_from_row(r: &sqlx::any::AnyRow) -> Result<Summary> {
    let status: String = r.try_get(5)?;
    Ok(Summary {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        procedure_id: r.try_get(2)?,
        procedure_title: r.try_get(3)?,
        receipt_number: r.try_get(4)?,
        status: Status::parse(&status).ok_or_else(|| AppError::Internal(format!("unknown status {status}")))?,
        applicant_name: r.try_get(6)?,
        updated_at: r.try_get(7)?,
        submitted_at: r.try_get(8)?,
        due_at: r.try_get(9)?,
    })
}

/// 申請一覧: the resident's own applications, newest first.
pub async fn list_for_resident(db: &Db, resident: &Resident) -> Result<Vec<Summary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLS} FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id \
         WHERE a.resident_id = $1 ORDER BY a.updated_at DESC LIMIT 500"
    );
    let rows = sqlx::query(&sql).bind(resident.id).fetch_all(&db.read).await?;
    rows.iter().map(summary_from_row).collect()
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct InboxFilter {
    /// Status (e.g. `submitted`, `accepted`, `correction_requested`); empty for all but drafts.
    #[serde(default)]
    pub status: Option<String>,
    /// Procedure code.
    #[serde(default)]
    pub procedure: Option<String>,
    /// Only applications past their 標準処理期間.
    #[serde(default)]
    pub overdue: Option<String>,
}

impl InboxFilter {
    pub fn overdue_only(&self) -> bool {
        matches!(self.overdue.as_deref(), Some("1" | "true" | "on" | "yes"))
    }
}

/// The division's inbox (the whole tenant's for administrators), oldest due first.
pub async fn inbox(db: &Db, staff: &Staff, filter: &InboxFilter) -> Result<Vec<Summary>> {
    filtered(db, staff, filter, SUMMARY_COLS).await?.iter().map(summary_from_row).collect()
}

/// The applications a staff member may see that match the filter, with the given columns.
async fn filtered(db: &Db, staff: &Staff, filter: &InboxFilter, cols: &str) -> Result<Vec<sqlx::any::AnyRow>> {
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            Status::parse(s)
                .filter(|s| *s != Status::Draft)
                .ok_or_else(|| AppError::BadRequest(format!("unknown status \"{s}\"")))?,
        ),
        None => None,
    };
    let division = if staff.role.sees_all_divisions() { 0 } else { staff.division_id };
    let sql = format!(
        "SELECT {cols} FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id \
         WHERE a.tenant_id = $1 AND ($2 = 0 OR a.division_id = $2) AND a.status <> 'draft' AND ($3 = '' OR a.status = $3) \
         AND ($4 = '' OR p.code = $4) AND ($5 = 0 OR (a.status IN ('submitted', 'accepted') AND a.due_at < $6)) \
         ORDER BY a.due_at, a.id LIMIT 1000"
    );
    Ok(sqlx::query(&sql)
        .bind(staff.tenant_id)
        .bind(division)
        .bind(status.map(|s| s.as_str()).unwrap_or(""))
        .bind(filter.procedure.clone().unwrap_or_default())
        .bind(i64::from(filter.overdue_only()))
        .bind(now_ms())
        .fetch_all(&db.read)
        .await?)
}

/// Procedures a staff member's inbox can filter by.
pub async fn inbox_procedures(db: &Db, staff: &Staff) -> Result<Vec<(String, String)>> {
    let division = if staff.role.sees_all_divisions() { 0 } else { staff.division_id };
    let rows = sqlx::query("SELECT DISTINCT code, title FROM procedures WHERE tenant_id = $1 AND ($2 = 0 OR division_id = $2) AND is_current = 1 ORDER BY code")
        .bind(staff.tenant_id)
        .bind(division)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Full records for the office's core systems; the export itself is audited.
pub async fn export(db: &Db, staff: &Staff, filter: &InboxFilter) -> Result<Vec<(Application, Arc<Procedure>)>> {
    let mut out = Vec::new();
    for row in filtered(db, staff, filter, COLS).await? {
        let a = from_row(&db.keys(), &row)?;
        let p = procedure_version(db, a.procedure_id).await?;
        out.push((a, p));
    }
    let (tenant_id, actor) = (staff.tenant_id, format!("staff:{}", staff.id));
    let detail = serde_json::json!({"count": out.len(), "status": filter.status, "procedure": filter.procedure, "overdue": filter.overdue_only()});
    db.transact(move |conn| {
        Box::pin(
            async move { audit::append(conn, tenant_id, &actor, "application.export", "applications", detail).await },
        )
    })
    .await?;
    Ok(out)
}
