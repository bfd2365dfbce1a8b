//! JMA telegrams as read (`jma_telegrams`), the tenants they may concern, and the alerts an
//! event holds.

use kencho_core::evacuation::jma::Telegram;
use sqlx::{AnyConnection, Row};

use super::super::model::{Open, TenantRow};
use crate::db::Db;
use crate::error::Result;

/// Whether a telegram with this SHA-256 (and tenant suffix) was read.
pub async fn seen(db: &Db, sha: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM jma_telegrams WHERE sha256 = $1").bind(sha).fetch_optional(&db.read).await?.is_some())
}

/// Whether a telegram from this source (`feed:<link>`) was read.
pub async fn seen_source(db: &Db, source: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM jma_telegrams WHERE source = $1")
        .bind(source)
        .fetch_optional(&db.read)
        .await?
        .is_some())
}

/// Every tenant with a 全国地方公共団体コード, in id order.
pub async fn tenants(db: &Db) -> Result<Vec<TenantRow>> {
    sqlx::query("SELECT id, code, name, lg_code FROM tenants WHERE lg_code <> '' ORDER BY id")
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(TenantRow::from_row)
        .collect()
}

/// Records the telegram with no outcome yet; returns false if it was already recorded.
pub async fn insert(
    conn: &mut AnyConnection,
    sha: &str,
    tg: &Telegram,
    source: &str,
    now: i64,
    only_tenant: Option<i64>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO jma_telegrams (sha256, event_id, info_type, title, report_time, source, outcome, received_at, tenant_id) \
         VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(sha)
    .bind(&tg.event_id)
    .bind(tg.info_type.as_str())
    .bind(&tg.title)
    .bind(&tg.report_time)
    .bind(source)
    .bind(now)
    .bind(only_tenant)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() > 0)
}

/// Records what the telegram did and why (the notes as JSON).
pub async fn set_outcome(conn: &mut AnyConnection, sha: &str, outcome: &str, reason: &str) -> Result<()> {
    sqlx::query("UPDATE jma_telegrams SET outcome = $1, reason = $2 WHERE sha256 = $3")
        .bind(outcome)
        .bind(reason)
        .bind(sha)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a later telegram of the same event was already read for this tenant.
pub async fn newer_exists(conn: &mut AnyConnection, tg: &Telegram, sha: &str, tenant_id: i64) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM jma_telegrams WHERE event_id = $1 AND event_id <> '' AND report_time > $2 AND sha256 <> $3 \
         AND (tenant_id IS NULL OR tenant_id = $4)",
    )
    .bind(&tg.event_id)
    .bind(&tg.report_time)
    .bind(sha)
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// The tenant's issued JMA alerts of an event, in id order.
pub async fn open_alerts(conn: &mut AnyConnection, tenant_id: i64, event_id: &str) -> Result<Vec<Open>> {
    sqlx::query(
        "SELECT id, level, jma_levels FROM evacuation_alerts \
         WHERE tenant_id = $1 AND source = 'jma' AND event_id = $2 AND status = 'issued' ORDER BY id",
    )
    .bind(tenant_id)
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(Open::from_row)
    .collect()
}

/// Keeps an alert's levels per hazard (JSON) and the hazards at its level.
pub async fn set_levels(conn: &mut AnyConnection, alert_id: i64, levels_json: &str, hazard: &str) -> Result<()> {
    sqlx::query("UPDATE evacuation_alerts SET jma_levels = $1, hazard = $2 WHERE id = $3")
        .bind(levels_json)
        .bind(hazard)
        .bind(alert_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A JMA alert as written: issued at once, for the whole event's levels.
pub struct NewJmaAlert<'a> {
    pub tenant_id: i64,
    pub level: i64,
    pub title: &'a str,
    pub note: &'a str,
    pub event_id: &'a str,
    pub now: i64,
    pub jma_levels: &'a str,
    pub hazard: &'a str,
}

/// Writes an alert from a JMA telegram (警戒レベル相当情報); returns its id.
pub async fn insert_jma(conn: &mut AnyConnection, a: NewJmaAlert<'_>) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO evacuation_alerts (tenant_id, level, source, title, note, status, requested_by, approved_by, event_id, created_at, issued_at, jma_levels, hazard, issuance) \
         VALUES ($1, $2, 'jma', $3, $4, 'issued', 'jma', 'jma', $5, $6, $6, $7, $8, 'equivalent') RETURNING id",
    )
    .bind(a.tenant_id)
    .bind(a.level)
    .bind(a.title)
    .bind(a.note)
    .bind(a.event_id)
    .bind(a.now)
    .bind(a.jma_levels)
    .bind(a.hazard)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}
