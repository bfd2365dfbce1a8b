//! The audit log: append-only and hash-chained per tenant (see `kencho_core::audit`).
//! Entries are written in the same transaction as the change they record.

use kencho_core::audit::{self as chain, ChainBreak, Entry, Stored};
use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::Result;

/// Tenant id used for events that belong to no tenant (resident sign-up, log-ins).
pub const PLATFORM: i64 = 0;

/// Appends one entry to `tenant_id`'s chain inside the caller's transaction.
pub async fn append(
    conn: &mut AnyConnection,
    tenant_id: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let mut batch = Batch::new();
    append_batched(conn, &mut batch, tenant_id, actor, action, target, detail).await?;
    batch.run(conn).await
}

/// Like [`append`], but leaves the two writes that need no answer in `batch`, for the caller
/// to send together with its own (the head is taken at once).
pub async fn append_batched(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    tenant_id: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let row = sqlx::query(TAKE_HEAD).bind(tenant_id).fetch_optional(&mut *conn).await?;
    let head = match row {
        Some(r) => head_of(&r)?,
        None => first_head(conn, tenant_id).await?,
    };
    push_entry(batch, tenant_id, head, actor, action, target, detail);
    Ok(())
}

/// Takes the next place in a tenant's chain. Taking the head with an UPDATE first makes the
/// transaction the writer at once (SQLite) and row-locks the head (PostgreSQL), so two
/// writers never chain onto the same entry. Returns (seq, hash of the previous entry).
pub const TAKE_HEAD: &str = "UPDATE audit_heads SET seq = seq + 1 WHERE tenant_id = $1 RETURNING seq, hash";

pub fn head_of(row: &sqlx::any::AnyRow) -> Result<(i64, String)> {
    Ok((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?))
}

/// A tenant's first entry: creates its head.
pub async fn first_head(conn: &mut AnyConnection, tenant_id: i64) -> Result<(i64, String)> {
    sqlx::query("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 1, $2)")
        .bind(tenant_id)
        .bind(chain::GENESIS)
        .execute(&mut *conn)
        .await?;
    Ok((1, chain::GENESIS.to_string()))
}

/// Adds the entry at a taken place, and moves the head to it, to `batch`.
pub fn push_entry(
    batch: &mut Batch,
    tenant_id: i64,
    (seq, prev_hash): (i64, String),
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    let entry = Entry {
        tenant_id,
        seq,
        at_ms: now_ms(),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        detail: detail.to_string(),
        prev_hash,
    };
    let hash = entry.hash();
    batch.push(
        "INSERT INTO audit_log (tenant_id, seq, at, actor, action, target, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            Arg::Int(entry.tenant_id),
            Arg::Int(entry.seq),
            Arg::Int(entry.at_ms),
            Arg::Text(entry.actor),
            Arg::Text(entry.action),
            Arg::Text(entry.target),
            Arg::Text(entry.detail),
            Arg::Text(entry.prev_hash),
            Arg::Text(hash.clone()),
        ],
    );
    batch.push("UPDATE audit_heads SET hash = $1 WHERE tenant_id = $2", vec![Arg::Text(hash), Arg::Int(tenant_id)]);
}

/// Result of verifying one tenant's chain.
pub struct ChainReport {
    pub tenant_id: i64,
    pub entries: i64,
    pub problem: Option<ChainBreak>,
}

/// Recomputes every chain; names the first entry that was altered, removed or inserted.
pub async fn verify(db: &Db) -> Result<Vec<ChainReport>> {
    let mut tenants: Vec<i64> =
        sqlx::query("SELECT tenant_id FROM audit_heads UNION SELECT DISTINCT tenant_id FROM audit_log")
            .fetch_all(&db.read)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
    tenants.sort_unstable();
    tenants.dedup();
    let mut out = Vec::new();
    for tenant_id in tenants {
        let head = sqlx::query("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&db.read)
            .await?
            .map(|r| -> Result<(i64, String)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .transpose()?;
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log WHERE tenant_id = $1 ORDER BY seq",
        )
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows {
            entries.push(Stored {
                entry: Entry {
                    tenant_id,
                    seq: r.try_get(0)?,
                    at_ms: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    prev_hash: r.try_get(6)?,
                },
                hash: r.try_get(7)?,
            });
        }
        let n = entries.len() as i64;
        let result = chain::verify(entries, head.as_ref().map(|(s, h)| (*s, h.as_str())));
        out.push(ChainReport { tenant_id, entries: result.as_ref().copied().unwrap_or(n), problem: result.err() });
    }
    Ok(out)
}
