use sqlx::{AnyConnection, Row};

use crate::error::Result;
use crate::payments::model::NewPayment;

/// Writes a new payment (state `created`); returns its id.
pub async fn insert_payment(conn: &mut AnyConnection, p: &NewPayment<'_>) -> Result<i64> {
    let due = p.due;
    Ok(sqlx::query(
        "INSERT INTO payments (tenant_id, application_id, resident_id, revenue_code, amount, units, exemption_percent, \
         exemption_reason, provider, method, state, ledger, created_at, expires_at, updated_at, procedure_id) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, '', '', 'created', $8, $9, $10, $9, $11) RETURNING id",
    )
    .bind(p.owner.tenant_id)
    .bind(p.owner.application_id)
    .bind(p.owner.resident_id)
    .bind(&due.revenue_code)
    .bind(due.amount)
    .bind((due.units > 1).then_some(due.units))
    .bind(due.ground_text.clone().or_else(|| due.ground.clone()))
    .bind(&p.ledger)
    .bind(p.created_at)
    .bind(p.expires_at)
    .bind(p.owner.procedure_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Whether the application has a payment open or paid.
pub async fn has_open_payment(conn: &mut AnyConnection, application_id: i64) -> Result<bool> {
    let open = sqlx::query(
        "SELECT id FROM payments WHERE application_id = $1 AND state IN ('created', 'pending', 'failed', 'paid')",
    )
    .bind(application_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(open.is_some())
}

/// Sets when a payment expires.
pub async fn set_expiry(conn: &mut AnyConnection, payment_id: i64, expires_at: i64) -> Result<()> {
    sqlx::query("UPDATE payments SET expires_at = $1 WHERE id = $2")
        .bind(expires_at)
        .bind(payment_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes the 減免's evidence ("public id, file name") on a payment.
pub async fn set_evidence(conn: &mut AnyConnection, payment_id: i64, evidence: &str) -> Result<()> {
    sqlx::query("UPDATE payments SET exemption_evidence = $1 WHERE id = $2")
        .bind(evidence)
        .bind(payment_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
