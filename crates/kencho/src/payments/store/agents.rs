use kencho_core::payment::provider::Provider;
use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::Result;
use crate::payments::model::Agent;

/// The columns [`Agent::from_row`] reads.
const AGENT_COLS: &str = "provider, agent_name, kokuji_number, kokuji_date, covers";

/// A tenant's 指定納付受託者, by provider.
pub async fn agents(db: &Db, tenant_id: i64) -> Result<Vec<Agent>> {
    let rows = sqlx::query(&format!("SELECT {AGENT_COLS} FROM payment_agents WHERE tenant_id = $1 ORDER BY provider"))
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(Agent::from_row).collect()
}

/// The 指定 of `provider`, if recorded.
pub async fn agent(conn: &mut AnyConnection, tenant_id: i64, provider: Provider) -> Result<Option<Agent>> {
    let row = sqlx::query(&format!("SELECT {AGENT_COLS} FROM payment_agents WHERE tenant_id = $1 AND provider = $2"))
        .bind(tenant_id)
        .bind(provider.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(Agent::from_row).transpose()
}

/// The 手数料条例 item of a payment's 調定, if it has one.
pub async fn chotei_item(conn: &mut AnyConnection, payment_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query("SELECT item_code FROM chotei WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("item_code"))
        .transpose()?)
}

/// Writes (or replaces) the 指定 of `provider`.
pub async fn upsert_agent(
    conn: &mut AnyConnection,
    (tenant_id, provider): (i64, Provider),
    a: &Agent,
    actor: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_agents (tenant_id, provider, agent_name, kokuji_number, kokuji_date, covers, designated_by, designated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, provider) DO UPDATE SET agent_name = excluded.agent_name, \
         kokuji_number = excluded.kokuji_number, kokuji_date = excluded.kokuji_date, covers = excluded.covers, \
         designated_by = excluded.designated_by, designated_at = excluded.designated_at",
    )
    .bind(tenant_id)
    .bind(provider.as_str())
    .bind(&a.agent_name)
    .bind(&a.kokuji_number)
    .bind(&a.kokuji_date)
    .bind(a.covers.join(","))
    .bind(actor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the demo's made-up 指定 of the sandbox, unless the sandbox has one.
pub async fn insert_demo_sandbox_agent(conn: &mut AnyConnection, tenant_id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_agents (tenant_id, provider, agent_name, kokuji_number, kokuji_date, covers, designated_by, designated_at) \
         VALUES ($1, 'sandbox', '決済サンドボックス（デモ）', 'デモ告示第1号', '2026-04-01', '*', 'demo', $2) ON CONFLICT (tenant_id, provider) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
