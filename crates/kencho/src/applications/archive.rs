//! An application as a record at its end: what it holds when it leaves kencho (移管) — its
//! facts, its answers in clear, its history and its attachments, read in the disposal's
//! transaction — and its erasure when it is disposed of.

use sqlx::AnyConnection;

use super::model::answers_place;
use super::store;
use crate::crypto::Keyring;
use crate::db::Db;
use crate::error::Result;

/// Removes the personal data of a disposed application (answers, messages, attachments);
/// what remains is that it existed. Returns the hashes of the files its attachments were.
pub async fn erase(conn: &mut AnyConnection, id: i64, now: i64) -> Result<Vec<String>> {
    let shas = store::file_hashes(conn, id).await?.into_iter().map(|(_, sha)| sha).collect();
    store::erase(conn, id, now).await?;
    Ok(shas)
}

/// How many attachments are the stored file `sha`.
pub async fn file_uses(db: &Db, sha: &str) -> Result<i64> {
    store::attachment_uses(db, sha).await
}

/// The application's `record.json` and `history.json` contents, and its files (name, SHA-256).
pub async fn archived(
    conn: &mut AnyConnection,
    keys: &Keyring,
    id: i64,
) -> Result<(serde_json::Value, serde_json::Value, Vec<(String, String)>)> {
    let a = store::archived_row(conn, id).await?;
    // The archive leaves kencho: its answers are in clear, as the record is.
    let answers = keys.open_unless_empty(&answers_place(id), &a.sealed_answers)?;
    let record = serde_json::json!({
        "kind": "application",
        "receipt_number": a.receipt_number,
        "status": a.status.as_str(),
        "answers": serde_json::from_str::<serde_json::Value>(&answers).unwrap_or(serde_json::Value::Null),
        "submitted_at_ms": a.submitted_at,
        "decided_at_ms": a.decided_at,
        "procedure": {
            "title": a.procedure_title,
            "code": a.procedure_code,
            "version": a.procedure_version,
        },
        "applicant": a.applicant_name,
    });
    let history = store::events(conn, id)
        .await?
        .iter()
        .map(|e| {
            serde_json::json!({
                "at_ms": e.at,
                "actor": e.actor_name,
                "action": e.action,
                "from": e.from_status.as_str(),
                "to": e.to_status.as_str(),
                "message": e.message,
            })
        })
        .collect();
    let files = store::file_hashes(conn, id).await?;
    Ok((record, serde_json::Value::Array(history), files))
}
