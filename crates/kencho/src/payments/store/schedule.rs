use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::Result;
use crate::payments::model::Due;

/// The document of a tenant's 手数料条例, if one is kept.
pub async fn schedule_document(db: &Db, tenant_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT document FROM fee_schedules WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?;
    Ok(row.map(|r| r.try_get("document")).transpose()?)
}

/// Writes (or replaces) the document of a tenant's 手数料条例.
pub async fn upsert_schedule(
    conn: &mut AnyConnection,
    tenant_id: i64,
    text: &str,
    actor: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fee_schedules (tenant_id, document, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(tenant_id)
    .bind(text)
    .bind(now)
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the 調定 of a payment in fiscal year `fiscal_year`; returns its id.
pub async fn insert_chotei(
    conn: &mut AnyConnection,
    (tenant_id, application_id, payment_id): (i64, i64, i64),
    due: &Due,
    (fiscal_year, decided_by): (i32, &str),
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO chotei (tenant_id, application_id, payment_id, item_code, article, revenue_code, units, gross, \
         reduction, ground_code, amount, fiscal_year, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(tenant_id)
    .bind(application_id)
    .bind(payment_id)
    .bind(&due.item)
    .bind(&due.article)
    .bind(&due.revenue_code)
    .bind(due.units)
    .bind(due.gross)
    .bind(due.reduction)
    .bind(&due.ground)
    .bind(due.amount)
    .bind(i64::from(fiscal_year))
    .bind(decided_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// The 調定 of a payment as `Due`, with who decided it.
pub async fn chotei_of_payment(conn: &mut AnyConnection, payment_id: i64) -> Result<Option<(Due, String)>> {
    let row = sqlx::query(
        "SELECT item_code, article, revenue_code, units, gross, reduction, ground_code, amount, fiscal_year, decided_by \
         FROM chotei WHERE payment_id = $1",
    )
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(Due::from_chotei_row).transpose()
}
