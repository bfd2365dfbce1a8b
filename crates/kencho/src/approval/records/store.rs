//! Every SQL statement of records management: records and their claims by disposal 起案, the
//! disposal log, the erasure of a disposed record's personal data and files, and the rows a
//! 移管 package is made of.

use kencho_core::approval::records::RecordState;
use sqlx::{AnyConnection, Row};

use super::model::{kian_event_json, kian_record_json, Disposed, Record};
use crate::approval::kian::Kian;
use crate::db::{Arg, Batch, Db};
use crate::error::Result;

const INSERT: &str =
    "INSERT INTO records (tenant_id, subject, title, division_code, retention_years, disposal, completed_on, \
    expires_on, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (subject) DO NOTHING";

const COLS: &str = "id, subject, title, division_code, retention_years, disposal, completed_on, expires_on, state, \
    disposal_kian_id, (SELECT COUNT(*) FROM record_holds h WHERE h.record_id = records.id AND h.lifted_at IS NULL) AS open_holds";

/// A record to keep, as stored.
pub struct NewRecord<'a> {
    pub tenant_id: i64,
    pub subject: &'a str,
    pub title: &'a str,
    pub division: &'a str,
    pub retention_years: i64,
    pub disposal: &'a str,
    pub completed_on: String,
    pub expires_on: String,
    pub now: i64,
}

/// Stores a kept record unless its subject has one already, in the caller's batch.
pub fn keep(batch: &mut Batch, r: NewRecord<'_>) {
    batch.push(
        INSERT,
        vec![
            Arg::Int(r.tenant_id),
            Arg::Text(r.subject.into()),
            Arg::Text(r.title.into()),
            Arg::Text(r.division.into()),
            Arg::Int(r.retention_years),
            Arg::Text(r.disposal.into()),
            Arg::Text(r.completed_on),
            Arg::Text(r.expires_on),
            Arg::Text(RecordState::Kept.as_str().into()),
            Arg::Int(r.now),
        ],
    );
}

/// The tenant's records whose retention ends in `[from, to]`, by that day.
pub async fn expiring(db: &Db, tenant_id: i64, from: &str, to: &str) -> Result<Vec<Record>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM records WHERE tenant_id = $1 AND expires_on >= $2 AND expires_on <= $3 ORDER BY expires_on, id"
    ))
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Record::from_row).collect()
}

/// The tenant's last 1,000 disposals, newest first.
pub async fn disposal_log(db: &Db, tenant_id: i64) -> Result<Vec<Disposed>> {
    let rows = sqlx::query(
        "SELECT subject, title, action, approved_by_kian, package_path, package_sha256, done_at FROM disposal_log \
         WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1000",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Disposed::from_row).collect()
}

/// Whether a 起案 is live (neither rejected nor abandoned).
pub async fn kian_is_live(db: &Db, kian_id: i64) -> Result<bool> {
    let row = sqlx::query("SELECT id FROM kian WHERE id = $1 AND state NOT IN ('rejected', 'abandoned')")
        .bind(kian_id)
        .fetch_optional(&db.read)
        .await?;
    Ok(row.is_some())
}

/// Locks a record's row.
pub async fn lock(conn: &mut AnyConnection, record_id: i64) -> Result<()> {
    crate::db::lock_for_update(conn, "records", record_id).await
}

/// Claims a kept record of the tenant for a disposal 起案, unless a live one has it; returns
/// how many rows changed.
pub async fn claim(conn: &mut AnyConnection, kian_id: i64, record_id: i64, tenant_id: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE records SET disposal_kian_id = $1 WHERE id = $2 AND tenant_id = $3 AND state = $4 \
         AND (disposal_kian_id IS NULL OR disposal_kian_id IN (SELECT id FROM kian WHERE state IN ('rejected', 'abandoned')))",
    )
    .bind(kian_id)
    .bind(record_id)
    .bind(tenant_id)
    .bind(RecordState::Kept.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// The kept records a disposal 起案 claimed, by id.
pub async fn claimed_by(conn: &mut AnyConnection, kian_id: i64) -> Result<Vec<Record>> {
    let rows =
        sqlx::query(&format!("SELECT {COLS} FROM records WHERE disposal_kian_id = $1 AND state = $2 ORDER BY id"))
            .bind(kian_id)
            .bind(RecordState::Kept.as_str())
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(Record::from_row).collect()
}

pub async fn set_state(conn: &mut AnyConnection, record_id: i64, state: RecordState) -> Result<()> {
    sqlx::query("UPDATE records SET state = $1 WHERE id = $2")
        .bind(state.as_str())
        .bind(record_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes the destruction record (or transfer record) of one record.
pub async fn log_disposal(
    conn: &mut AnyConnection,
    k: &Kian,
    r: &Record,
    (package_path, package_sha): (&Option<String>, &Option<String>),
    done_by: i64,
    now: i64,
    consulted_by: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO disposal_log (tenant_id, record_id, subject, title, action, approved_by_kian, package_path, package_sha256, done_by, done_at, \
         consulted_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(k.tenant_id)
    .bind(r.id)
    .bind(&r.subject)
    .bind(&r.title)
    .bind(&r.disposal)
    .bind(k.id)
    .bind(package_path)
    .bind(package_sha)
    .bind(done_by)
    .bind(now)
    .bind(consulted_by)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A 起案's stored route (JSON).
pub async fn kian_route(conn: &mut AnyConnection, id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT route FROM kian WHERE id = $1").bind(id).fetch_one(&mut *conn).await?.try_get("route")?)
}

/// Replaces a 起案's body and route, empties its search text and comments, and removes its
/// file rows.
pub async fn erase_kian(conn: &mut AnyConnection, id: i64, body: &str, route: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE kian SET body = $1, search_text = '', route = $2, updated_at = $3 WHERE id = $4")
        .bind(body)
        .bind(route)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE kian_events SET comment = NULL WHERE kian_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM kian_files WHERE kian_id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// How many 起案 file rows refer to a stored file.
pub async fn kian_file_uses(db: &Db, sha: &str) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS used FROM kian_files WHERE sha256 = $1")
        .bind(sha)
        .fetch_one(&db.read)
        .await?
        .try_get("used")?)
}

/// A 起案 as its 移管 package's `record.json` holds it.
pub async fn kian_record(conn: &mut AnyConnection, id: i64) -> Result<serde_json::Value> {
    let k = sqlx::query(
        "SELECT number, title, body, matter_kind, amount, decided_on, route, source, application_id FROM kian WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    kian_record_json(&k)
}

/// A 起案's history as its 移管 package's `history.json` holds it.
pub async fn kian_history(conn: &mut AnyConnection, id: i64) -> Result<Vec<serde_json::Value>> {
    let ev = sqlx::query(
        "SELECT seq, at, actor_name, as_post, on_behalf_of, stage, act, comment FROM kian_events WHERE kian_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    ev.iter().map(kian_event_json).collect()
}

/// A 起案's files as (name, SHA-256), in the order they were added.
pub async fn kian_files(conn: &mut AnyConnection, id: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT filename, sha256 FROM kian_files WHERE kian_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|f| Ok((f.try_get("filename")?, f.try_get("sha256")?))).collect()
}
