//! Every SQL statement of applications: the `applications`, `application_events` and
//! `attachments` tables (and the joins that name an application's procedure, applicant,
//! division and tenant). No rules here: who may, what a state allows and what is written
//! together are the service files' business.

use kencho_core::application::{Action, Addressee, Status};
use kencho_core::notice::ApplicationFacts;
use kencho_core::procedure::ApplicantKind;
use sqlx::{AnyConnection, Row};

use super::model::{Application, Attachment, Event, StoredFile, Summary};
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{AppError, Result};
use crate::procedures::Procedure;

/// The columns [`Application::from_row`] reads (`a`: applications, `r`: residents).
pub(super) const COLS: &str = "a.id, a.tenant_id, a.division_id, a.procedure_id, a.resident_id, r.name AS resident_name, \
    r.email AS resident_email, a.applicant_kind, a.status, a.was_accepted, a.revision, a.answers, a.receipt_number, a.content_hash, a.created_at, a.updated_at, a.submitted_at, a.due_at, a.decided_at, a.paused_at";

/// The columns [`Summary::from_row`] reads (`p`: procedures as well).
const SUMMARY_COLS: &str = "a.id, a.tenant_id, a.procedure_id, p.title AS procedure_title, a.receipt_number, \
    a.status, r.name AS applicant_name, a.updated_at, a.submitted_at, a.due_at";

/// On PostgreSQL, takes the application's row lock before reading it, so two concurrent
/// actions on one application serialise. (SQLite's single writer already does.)
pub async fn lock_row(conn: &mut AnyConnection, id: i64) -> Result<()> {
    crate::db::lock_for_update(conn, "applications", id).await
}

pub async fn load(conn: &mut AnyConnection, keys: &Keyring, id: i64) -> Result<Application> {
    let sql = format!("SELECT {COLS} FROM applications a JOIN residents r ON r.id = a.resident_id WHERE a.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await?.ok_or(AppError::NotFound)?;
    Application::from_row(keys, &row)
}

/// One of the resident's applications as a list line without its titles (one indexed row).
pub(super) async fn status_of(db: &Db, resident_id: i64, id: i64) -> Result<Option<Summary>> {
    let row = sqlx::query(
        "SELECT a.id, a.tenant_id, a.procedure_id, '' AS procedure_title, a.receipt_number, a.status, '' AS applicant_name, \
         a.updated_at, a.submitted_at, a.due_at FROM applications a WHERE a.id = $1 AND a.resident_id = $2",
    )
    .bind(id)
    .bind(resident_id)
    .fetch_optional(&db.read)
    .await?;
    row.as_ref().map(Summary::from_row).transpose()
}

/// An application's history, oldest first.
pub(super) async fn events(conn: &mut AnyConnection, id: i64) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT at, actor, actor_name, action, from_status, to_status, message FROM application_events WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(Event::from_row).collect()
}

/// Whose a new application is: the procedure's version, its tenant and division, the resident.
#[derive(Clone, Copy)]
pub(super) struct Owner {
    pub tenant_id: i64,
    pub division_id: i64,
    pub procedure_id: i64,
    pub resident_id: i64,
}

/// A new draft: its id.
pub(super) async fn insert_draft(conn: &mut AnyConnection, o: Owner, kind: ApplicantKind) -> Result<i64> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO applications (tenant_id, division_id, procedure_id, resident_id, applicant_kind, status, answers, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'draft', '{}', $6, $6) RETURNING id",
    )
    .bind(o.tenant_id)
    .bind(o.division_id)
    .bind(o.procedure_id)
    .bind(o.resident_id)
    .bind(kind.as_str())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get::<i64, _>("id")?)
}

/// Writes sealed answers to an editable application at `revision`: whether it was there.
pub(super) async fn update_answers(
    conn: &mut AnyConnection,
    id: i64,
    revision: i64,
    sealed: String,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE applications SET answers = $1, revision = revision + 1, updated_at = $2 \
         WHERE id = $3 AND revision = $4 AND status IN ('draft', 'correction_requested')",
    )
    .bind(sealed)
    .bind(now)
    .bind(id)
    .bind(revision)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// One step of the history, written with the act's batch.
pub(super) fn push_event(batch: &mut Batch, a: &Application, by: (&str, &str), action: &Action, to: Status) {
    batch.push(
        "INSERT INTO application_events (application_id, at, actor, actor_name, action, from_status, to_status, message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            Arg::Int(a.id),
            Arg::Int(now_ms()),
            Arg::Text(by.0.into()),
            Arg::Text(by.1.into()),
            Arg::Text(action.name().into()),
            Arg::Text(a.status.as_str().into()),
            Arg::Text(to.as_str().into()),
            Arg::OptText(action.message().map(str::to_string)),
        ],
    );
}

/// What a submission writes to the application's row.
pub(super) struct SubmittedRow {
    pub id: i64,
    pub status: Status,
    pub sealed_answers: String,
    pub receipt_number: String,
    pub content_hash: String,
    pub submitted_at: i64,
    pub due_at: i64,
    pub now: i64,
}

pub(super) fn push_submitted(batch: &mut Batch, s: SubmittedRow) {
    batch.push(
        "UPDATE applications SET status = $1, answers = $2, receipt_number = $3, content_hash = $4, revision = revision + 1, \
         submitted_at = $5, due_at = $6, paused_at = NULL, updated_at = $7 WHERE id = $8",
        vec![
            Arg::Text(s.status.as_str().into()),
            Arg::Text(s.sealed_answers),
            Arg::Text(s.receipt_number),
            Arg::Text(s.content_hash),
            Arg::Int(s.submitted_at),
            Arg::Int(s.due_at),
            Arg::Int(s.now),
            Arg::Int(s.id),
        ],
    );
}

/// A staff act's or a withdrawal's new status; a 補正依頼 also stops the 標準処理期間 clock.
pub(super) fn push_status(
    batch: &mut Batch,
    a: &Application,
    to: Status,
    accepted: bool,
    decided: Option<i64>,
    now: i64,
) {
    batch.push(
        "UPDATE applications SET status = $1, was_accepted = $2, decided_at = $3, revision = revision + 1, updated_at = $4 WHERE id = $5",
        vec![Arg::Text(to.as_str().into()), Arg::Int(i64::from(accepted)), Arg::OptInt(decided), Arg::Int(now), Arg::Int(a.id)],
    );
    if to == Status::CorrectionRequested {
        batch.push(
            "UPDATE applications SET paused_at = COALESCE(paused_at, $1) WHERE id = $2",
            vec![Arg::Int(now), Arg::Int(a.id)],
        );
    }
}

/// The attachments a submission checks and hashes.
pub(super) async fn stored_files(conn: &mut AnyConnection, id: i64) -> Result<Vec<StoredFile>> {
    sqlx::query("SELECT public_id, field, media_type, sha256 FROM attachments WHERE application_id = $1")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(StoredFile {
                public_id: r.try_get("public_id")?,
                field: r.try_get("field")?,
                media_type: r.try_get("media_type")?,
                sha256: r.try_get("sha256")?,
            })
        })
        .collect()
}

/// Takes the audit chain's next place and creates the draft row in one round trip: (id, head).
pub(super) async fn insert_new(
    conn: &mut AnyConnection,
    p: &Procedure,
    resident_id: i64,
    kind: ApplicantKind,
    key: Option<String>,
    now: i64,
) -> Result<(i64, (i64, String))> {
    let mut first = Batch::new();
    first.push(audit::TAKE_HEAD, vec![Arg::Int(p.tenant_id)]);
    first.push(
        "INSERT INTO applications (tenant_id, division_id, procedure_id, resident_id, applicant_kind, status, answers, \
         idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'draft', '{}', $6, $7, $7) RETURNING id",
        vec![
            Arg::Int(p.tenant_id),
            Arg::Int(p.division_id),
            Arg::Int(p.id),
            Arg::Int(resident_id),
            Arg::Text(kind.as_str().into()),
            // The answers are sealed to the row, so they are written with the
            // submission, once the id is known.
            Arg::OptText(key),
            Arg::Int(now),
        ],
    );
    let (mut head, mut id) = (None, None);
    for row in first.fetch(conn).await? {
        // The audit head's row has `seq`, the insert's only `id`.
        if row.try_column("seq").is_ok() {
            head = Some(audit::head_of(&row)?);
        } else {
            id = Some(row.try_get::<i64, _>("id")?);
        }
    }
    let id = id.ok_or_else(|| AppError::Internal("insert returned no id".into()))?;
    let head = match head {
        Some(h) => h,
        None => audit::first_head(conn, p.tenant_id).await?,
    };
    Ok((id, head))
}

/// The application a request with this Idempotency-Key made: id, 受付番号, content hash, status.
pub(super) async fn by_idempotency_key(
    db: &Db,
    resident_id: i64,
    key: &str,
) -> Result<Option<(i64, Option<String>, Option<String>, Status)>> {
    let row = sqlx::query(
        "SELECT id, receipt_number, content_hash, status FROM applications WHERE resident_id = $1 AND idempotency_key = $2",
    )
    .bind(resident_id)
    .bind(key)
    .fetch_optional(&db.read)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some((
        row.try_get("id")?,
        row.try_get("receipt_number")?,
        row.try_get("content_hash")?,
        crate::db::parsed(&row, "status", Status::parse)?,
    )))
}

pub(super) async fn attachments(db: &Db, id: i64) -> Result<Vec<Attachment>> {
    let rows = sqlx::query(
        "SELECT public_id, field, filename, media_type, size, sha256, created_at FROM attachments WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Attachment::from_row).collect()
}

/// A new attachment row (its file is stored already).
pub(super) async fn insert_attachment(conn: &mut AnyConnection, application_id: i64, a: &Attachment) -> Result<()> {
    sqlx::query(
        "INSERT INTO attachments (public_id, application_id, field, filename, media_type, size, sha256, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&a.id)
    .bind(application_id)
    .bind(&a.field)
    .bind(&a.filename)
    .bind(&a.media_type)
    .bind(a.size)
    .bind(&a.sha256)
    .bind(a.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The resident's own applications, newest first.
pub(super) async fn of_resident(db: &Db, resident_id: i64) -> Result<Vec<Summary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLS} FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id \
         WHERE a.resident_id = $1 ORDER BY a.updated_at DESC LIMIT 500"
    );
    let rows = sqlx::query(&sql).bind(resident_id).fetch_all(&db.read).await?;
    rows.iter().map(Summary::from_row).collect()
}

/// Which applications an inbox shows: the tenant, a division (0: all), a status and a
/// procedure code ("": any), and only those due before `overdue_before` when set.
pub(super) struct Selection<'a> {
    pub tenant_id: i64,
    pub division_id: i64,
    pub status: Option<Status>,
    pub procedure: &'a str,
    pub overdue_before: Option<i64>,
}

async fn selected(db: &Db, s: &Selection<'_>, cols: &str) -> Result<Vec<sqlx::any::AnyRow>> {
    let sql = format!(
        "SELECT {cols} FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id \
         WHERE a.tenant_id = $1 AND ($2 = 0 OR a.division_id = $2) AND a.status <> 'draft' AND ($3 = '' OR a.status = $3) \
         AND ($4 = '' OR p.code = $4) AND ($5 = 0 OR (a.status IN ('submitted', 'accepted') AND a.due_at < $6)) \
         ORDER BY a.due_at, a.id LIMIT 1000"
    );
    Ok(sqlx::query(&sql)
        .bind(s.tenant_id)
        .bind(s.division_id)
        .bind(s.status.map(|s| s.as_str()).unwrap_or(""))
        .bind(s.procedure)
        .bind(i64::from(s.overdue_before.is_some()))
        .bind(s.overdue_before.unwrap_or(0))
        .fetch_all(&db.read)
        .await?)
}

/// An inbox's lines, oldest due first.
pub(super) async fn summaries(db: &Db, s: &Selection<'_>) -> Result<Vec<Summary>> {
    selected(db, s, SUMMARY_COLS).await?.iter().map(Summary::from_row).collect()
}

/// An inbox's applications in full (answers opened), oldest due first.
pub(super) async fn applications(db: &Db, s: &Selection<'_>) -> Result<Vec<Application>> {
    let keys = db.keys();
    selected(db, s, COLS).await?.iter().map(|r| Application::from_row(&keys, r)).collect()
}

/// The current procedures of a division (0: all) as (code, title), by code.
pub(super) async fn procedures_of(db: &Db, tenant_id: i64, division_id: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT DISTINCT code, title FROM procedures WHERE tenant_id = $1 AND ($2 = 0 OR division_id = $2) AND is_current = 1 ORDER BY code")
        .bind(tenant_id)
        .bind(division_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("title")?))).collect()
}

/// An application's [`ApplicationFacts`] (`NotFound` if there is none). No answers are opened.
pub async fn document_facts(conn: &mut AnyConnection, id: i64) -> Result<ApplicationFacts> {
    let row = sqlx::query(
        "SELECT a.tenant_id, d.name AS division_name, r.name AS resident_name, p.title AS procedure_title, \
         a.receipt_number, a.submitted_at, a.status, a.revision FROM applications a \
         JOIN divisions d ON d.id = a.division_id JOIN residents r ON r.id = a.resident_id \
         JOIN procedures p ON p.id = a.procedure_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let status: String = row.try_get("status")?;
    Ok(ApplicationFacts {
        tenant_id: row.try_get("tenant_id")?,
        division_name: row.try_get("division_name")?,
        resident_name: row.try_get("resident_name")?,
        procedure_title: row.try_get("procedure_title")?,
        receipt_number: row.try_get("receipt_number")?,
        submitted_at: row.try_get("submitted_at")?,
        status: Status::parse(&status).ok_or_else(|| AppError::Internal(format!("unknown status {status}")))?,
        revision: row.try_get("revision")?,
    })
}

/// The message written with the application's last `action` (`decide`, `reject` …), if any.
pub async fn last_message(conn: &mut AnyConnection, id: i64, action: &str) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT message FROM application_events WHERE application_id = $1 AND action = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .bind(action)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get::<Option<String>, _>("message")).transpose()?.flatten())
}

/// An application's [`Addressee`], in the caller's transaction.
pub async fn mail_facts(conn: &mut AnyConnection, id: i64) -> Result<Addressee> {
    let row = sqlx::query(
        "SELECT r.email, r.name AS resident_name, a.receipt_number, pr.title, t.name AS tenant_name \
         FROM applications a JOIN residents r ON r.id = a.resident_id \
         JOIN procedures pr ON pr.id = a.procedure_id JOIN tenants t ON t.id = a.tenant_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Addressee {
        email: row.try_get("email")?,
        resident_name: row.try_get("resident_name")?,
        receipt_number: row.try_get("receipt_number")?,
        procedure_title: row.try_get("title")?,
        tenant_name: row.try_get("tenant_name")?,
    })
}

/// The code of the division an application belongs to.
pub async fn division_code(conn: &mut AnyConnection, id: i64) -> Result<String> {
    let row = sqlx::query("SELECT d.code FROM applications a JOIN divisions d ON d.id = a.division_id WHERE a.id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(row.try_get("code")?)
}

/// The file name of one of the application's own attachments, if it has one by that id.
pub async fn attachment_name(conn: &mut AnyConnection, id: i64, public_id: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT filename FROM attachments WHERE application_id = $1 AND public_id = $2")
        .bind(id)
        .bind(public_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("filename")).transpose()?)
}

/// What an application's archived record names of it, with its answers still sealed.
pub(super) struct ArchivedRow {
    pub receipt_number: Option<String>,
    pub status: Status,
    pub sealed_answers: String,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub procedure_title: String,
    pub procedure_code: String,
    pub procedure_version: i64,
    pub applicant_name: String,
}

pub(super) async fn archived_row(conn: &mut AnyConnection, id: i64) -> Result<ArchivedRow> {
    let a = sqlx::query(
        "SELECT a.receipt_number, a.status, a.answers, a.submitted_at, a.decided_at, \
         p.title AS procedure_title, p.code AS procedure_code, p.version AS procedure_version, \
         r.name AS applicant_name \
         FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(ArchivedRow {
        receipt_number: a.try_get("receipt_number")?,
        status: crate::db::parsed(&a, "status", Status::parse)?,
        sealed_answers: a.try_get("answers")?,
        submitted_at: a.try_get("submitted_at")?,
        decided_at: a.try_get("decided_at")?,
        procedure_title: a.try_get("procedure_title")?,
        procedure_code: a.try_get("procedure_code")?,
        procedure_version: a.try_get("procedure_version")?,
        applicant_name: a.try_get("applicant_name")?,
    })
}

/// The application's files as (name, SHA-256), in the order they were attached.
pub(super) async fn file_hashes(conn: &mut AnyConnection, id: i64) -> Result<Vec<(String, String)>> {
    sqlx::query("SELECT filename, sha256 FROM attachments WHERE application_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|f| Ok((f.try_get("filename")?, f.try_get("sha256")?)))
        .collect()
}

/// Removes an application's answers, event messages and attachment rows.
pub(super) async fn erase(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE applications SET answers = '{}', content_hash = NULL, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE application_events SET message = NULL WHERE application_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM attachments WHERE application_id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// How many attachment rows are the stored file `sha`.
pub(super) async fn attachment_uses(db: &Db, sha: &str) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS used FROM attachments WHERE sha256 = $1")
        .bind(sha)
        .fetch_one(&db.read)
        .await?
        .try_get("used")?)
}
