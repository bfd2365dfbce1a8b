//! What an application's record holds when it leaves kencho (移管): its facts, its answers in
//! clear, its history and its attachments, read in the disposal's transaction.

use kencho_core::application::Status;
use sqlx::{AnyConnection, Row};

use crate::crypto::Keyring;
use crate::error::Result;

/// The application's `record.json` and `history.json` contents, and its files (name, SHA-256).
pub async fn archived(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: i64,
) -> Result<(serde_json::Value, serde_json::Value, Vec<(String, String)>)> {
    let mut files: Vec<(String, String)> = Vec::new();
    let a = sqlx::query(
        "SELECT a.receipt_number, a.status, a.answers, a.submitted_at, a.decided_at, \
         p.title AS procedure_title, p.code AS procedure_code, p.version AS procedure_version, \
         r.name AS applicant_name \
         FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    // The archive leaves kencho: its answers are in clear, as the record is.
    let answers = keys.open_unless_empty(&super::answers_place(id), &a.try_get::<String, _>("answers")?)?;
    let record = serde_json::json!({
        "kind": "application",
        "receipt_number": a.try_get::<Option<String>, _>("receipt_number")?,
        "status": crate::db::parsed(&a, "status", Status::parse)?.as_str(),
        "answers": serde_json::from_str::<serde_json::Value>(&answers).unwrap_or(serde_json::Value::Null),
        "submitted_at_ms": a.try_get::<Option<i64>, _>("submitted_at")?,
        "decided_at_ms": a.try_get::<Option<i64>, _>("decided_at")?,
        "procedure": {
            "title": a.try_get::<String, _>("procedure_title")?,
            "code": a.try_get::<String, _>("procedure_code")?,
            "version": a.try_get::<i64, _>("procedure_version")?,
        },
        "applicant": a.try_get::<String, _>("applicant_name")?,
    });
    let ev = sqlx::query(
        "SELECT at, actor_name, action, from_status, to_status, message FROM application_events WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut hist = Vec::new();
    for e in &ev {
        hist.push(serde_json::json!({
            "at_ms": e.try_get::<i64, _>("at")?,
            "actor": e.try_get::<String, _>("actor_name")?,
            "action": e.try_get::<String, _>("action")?,
            "from": crate::db::parsed(e, "from_status", Status::parse)?.as_str(),
            "to": crate::db::parsed(e, "to_status", Status::parse)?.as_str(),
            "message": e.try_get::<Option<String>, _>("message")?,
        }));
    }
    let history = serde_json::Value::Array(hist);
    for f in sqlx::query("SELECT filename, sha256 FROM attachments WHERE application_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
    {
        files.push((f.try_get("filename")?, f.try_get("sha256")?));
    }
    Ok((record, history, files))
}
