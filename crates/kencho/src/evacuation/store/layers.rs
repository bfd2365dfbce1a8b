//! The layer versions (`evacuation_layers`) and the one in use per slot
//! (`evacuation_layer_heads`).

use std::collections::HashMap;

use kencho_core::evacuation::FloodScenario;
use sqlx::{AnyConnection, Row};

use super::super::model::{slot_of, LayerKind, LayerVersion, Slot, StoredLayer};
use crate::db::Db;
use crate::error::{AppError, Result};

/// The number the next version of `kind` gets.
pub async fn next_version(conn: &mut AnyConnection, tenant_id: i64, kind: LayerKind) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM evacuation_layers WHERE tenant_id = $1 AND kind = $2",
    )
    .bind(tenant_id)
    .bind(kind.as_str())
    .fetch_one(&mut *conn)
    .await?
    .try_get("next")?)
}

/// A version as loaded, before it is put in use.
pub struct NewLayer<'a> {
    pub kind: LayerKind,
    pub scenario: &'a str,
    pub version: i64,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub items: i64,
    pub body: &'a str,
    pub loaded_by: &'a str,
    pub loaded_at: i64,
}

/// Writes a version; returns its id.
pub async fn insert(conn: &mut AnyConnection, tenant_id: i64, l: NewLayer<'_>) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO evacuation_layers (tenant_id, kind, scenario, version, file_name, sha256, items, body, loaded_by, loaded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(tenant_id)
    .bind(l.kind.as_str())
    .bind(l.scenario)
    .bind(l.version)
    .bind(l.file_name)
    .bind(l.sha256)
    .bind(l.items)
    .bind(l.body)
    .bind(l.loaded_by)
    .bind(l.loaded_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        // Two loads of the same layer at once: the later one asks to be retried.
        if crate::error::is_unique_violation(&e) {
            AppError::Conflict(detail!("detail.evacuation.another_version_layer_was"))
        } else {
            e.into()
        }
    })?
    .try_get("id")?)
}

/// Puts version `id` in use in its slot.
pub async fn set_head(conn: &mut AnyConnection, tenant_id: i64, (kind, scenario): Slot, id: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO evacuation_layer_heads (tenant_id, kind, scenario, layer_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, kind, scenario) DO UPDATE SET layer_id = excluded.layer_id",
    )
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(scenario.map_or("", FloodScenario::as_str))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The tenant's version `layer_id`, if there is one.
pub async fn find(conn: &mut AnyConnection, tenant_id: i64, layer_id: i64) -> Result<Option<StoredLayer>> {
    let row = sqlx::query("SELECT kind, scenario, version FROM evacuation_layers WHERE id = $1 AND tenant_id = $2")
        .bind(layer_id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(StoredLayer::from_row).transpose()
}

/// Every version of the tenant, by kind, scenario and newest first.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<LayerVersion>> {
    let rows = sqlx::query(
        "SELECT l.id, l.kind, l.scenario, l.version, l.file_name, l.sha256, l.items, l.loaded_by, l.loaded_at, \
         CASE WHEN h.layer_id IS NULL THEN 0 ELSE 1 END AS active \
         FROM evacuation_layers l LEFT JOIN evacuation_layer_heads h ON h.layer_id = l.id \
         WHERE l.tenant_id = $1 ORDER BY l.kind, l.scenario, l.version DESC",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(LayerVersion::from_row).collect()
}

/// The version in use per slot (slots this version does not know are left out).
pub async fn heads(db: &Db, tenant_id: i64) -> Result<HashMap<Slot, i64>> {
    let rows = sqlx::query("SELECT kind, scenario, layer_id FROM evacuation_layer_heads WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    let mut wanted = HashMap::new();
    for r in &rows {
        if let Some(slot) = slot_of(&r.try_get::<String, _>("kind")?, &r.try_get::<String, _>("scenario")?) {
            wanted.insert(slot, r.try_get::<i64, _>("layer_id")?);
        }
    }
    Ok(wanted)
}

/// The stored text of version `id`.
pub async fn body(db: &Db, id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT body FROM evacuation_layers WHERE id = $1")
        .bind(id)
        .fetch_one(&db.read)
        .await?
        .try_get("body")?)
}
