//! An application's facts as its signed documents print them (the applicant, the procedure,
//! the 受付番号 …) and the text written with its decision: read here, where the tables are,
//! and handed to `documents` by `crate::flows`.

use kencho_core::application::{Addressee, Status};
use kencho_core::notice::ApplicationFacts;
use sqlx::{AnyConnection, Row};

use crate::error::{AppError, Result};

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
