use sqlx::Row;

use crate::db::Db;
use crate::error::Result;
use crate::payments::model::ChoteiReceived;

/// A tenant's 調定 of fiscal year `year`, and those of earlier years paid at or after `since`,
/// with what their payments received; replaced or cancelled payments left out.
pub async fn chotei_received(db: &Db, tenant_id: i64, year: i32, since: i64) -> Result<Vec<ChoteiReceived>> {
    let rows = sqlx::query(
        "SELECT c.revenue_code, c.amount, c.fiscal_year, p.paid_amount, p.refunded_amount, p.paid_at, p.deemed_paid_on \
         FROM chotei c JOIN payments p ON p.id = c.payment_id WHERE c.tenant_id = $1 \
         AND (c.fiscal_year = $2 OR (c.fiscal_year < $2 AND p.paid_at >= $3)) \
         AND p.state NOT IN ('cancelled', 'expired') ORDER BY c.id",
    )
    .bind(tenant_id)
    .bind(i64::from(year))
    .bind(since)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(ChoteiReceived::from_row).collect()
}

/// An application's 調定 whose payments stand: (amount, fiscal year, paid).
pub async fn chotei_of_application(db: &Db, application_id: i64) -> Result<Vec<(i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT c.amount, c.fiscal_year, p.paid_amount FROM chotei c JOIN payments p ON p.id = c.payment_id \
         WHERE c.application_id = $1 AND p.state NOT IN ('cancelled', 'expired')",
    )
    .bind(application_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("amount")?, r.try_get("fiscal_year")?, r.try_get("paid_amount")?))).collect()
}
