//! The audit log: append-only and hash-chained per tenant (see `kencho_core::audit`).
//! Entries are written in the same transaction as the change they record.

use kencho_core::audit::{self as chain, ChainBreak, Entry, Stored};

pub mod checkpoints;
mod scan;
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
    Ok((row.try_get::<i64, _>("seq")?, row.try_get::<String, _>("hash")?))
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
#[derive(Debug)]
pub struct ChainReport {
    pub tenant_id: i64,
    pub entries: i64,
    pub problem: Option<ChainBreak>,
}

/// Recomputes every chain; names the first entry that was altered, removed or inserted, and
/// compares each head with its chain.
pub async fn verify(db: &Db) -> Result<Vec<ChainReport>> {
    scan::verify(db, Default::default()).await
}

/// Like [`verify`], and also against the signed checkpoints kept in `dir`: a chain cut,
/// rewound, rewritten or deleted since a checkpoint is named.
pub async fn verify_against(db: &Db, dir: &std::path::Path) -> Result<Vec<ChainReport>> {
    let (marks, mut bad) = checkpoints::load_dir(dir)?;
    let mut reports = scan::verify(db, marks).await?;
    for r in &mut reports {
        if let Some(pos) = bad.iter().position(|(t, _)| *t == r.tenant_id) {
            let (_, why) = bad.swap_remove(pos);
            r.problem.get_or_insert(why);
        }
    }
    reports.extend(bad.into_iter().map(|(tenant_id, why)| ChainReport { tenant_id, entries: 0, problem: Some(why) }));
    reports.sort_by_key(|r| r.tenant_id);
    Ok(reports)
}

/// Every chain's head: (tenant, last sequence number, hash of that entry).
pub async fn heads(db: &Db) -> Result<Vec<(i64, i64, String)>> {
    let rows =
        sqlx::query("SELECT tenant_id, seq, hash FROM audit_heads ORDER BY tenant_id").fetch_all(&db.read).await?;
    rows.iter().map(|r| Ok((r.try_get("tenant_id")?, r.try_get("seq")?, r.try_get("hash")?))).collect()
}

/// One chain's head: (last sequence number, hash of that entry).
pub async fn head(db: &Db, tenant_id: i64) -> Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?;
    row.map(|r| Ok((r.try_get("seq")?, r.try_get("hash")?))).transpose()
}

/// The stored hash and link of entries `from..=to` of a chain, in order.
pub async fn entry_hashes(db: &Db, tenant_id: i64, from: i64, to: i64) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query(
        "SELECT seq, prev_hash, hash FROM audit_log WHERE tenant_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("prev_hash")?, r.try_get("hash")?))).collect()
}

/// One entry, for a proof of inclusion.
pub async fn entry(db: &Db, tenant_id: i64, seq: i64) -> Result<Option<Stored>> {
    let row = sqlx::query(
        "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log WHERE tenant_id = $1 AND seq = $2",
    )
    .bind(tenant_id)
    .bind(seq)
    .fetch_optional(&db.read)
    .await?;
    row.map(|r| {
        Ok(Stored {
            entry: Entry {
                tenant_id,
                seq: r.try_get("seq")?,
                at_ms: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: r.try_get("detail")?,
                prev_hash: r.try_get("prev_hash")?,
            },
            hash: r.try_get("hash")?,
        })
    })
    .transpose()
}
