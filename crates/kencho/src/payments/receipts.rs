//! A payment's facts as its receipt (`documents`) prints them, and the lock a receipt is
//! issued under: read here, where the table is, and handed over by `crate::flows`.

use kencho_core::notice::PaymentFacts;
use kencho_core::payment::ledger::State;
use sqlx::{AnyConnection, Row};

use crate::error::{AppError, Result};

/// A payment's [`PaymentFacts`] (`NotFound` if there is none).
pub async fn receipt_facts(conn: &mut AnyConnection, payment_id: i64) -> Result<PaymentFacts> {
    let row = sqlx::query(
        "SELECT tenant_id, application_id, revenue_code, amount, paid_amount, method, state, paid_at \
         FROM payments WHERE id = $1",
    )
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(PaymentFacts {
        tenant_id: row.try_get("tenant_id")?,
        application_id: row.try_get("application_id")?,
        revenue_code: row.try_get("revenue_code")?,
        amount: row.try_get("amount")?,
        paid_amount: row.try_get("paid_amount")?,
        method: row.try_get("method")?,
        paid: row.try_get::<String, _>("state")? == State::Paid.as_str(),
        paid_at: row.try_get("paid_at")?,
    })
}

/// Locks a payment's row for the rest of the transaction; whether it is paid.
pub async fn lock_paid(conn: &mut AnyConnection, payment_id: i64) -> Result<bool> {
    let lock = crate::db::for_update(conn);
    let state: String = sqlx::query(&format!("SELECT state FROM payments WHERE id = $1{lock}"))
        .bind(payment_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)?
        .try_get("state")?;
    Ok(state == State::Paid.as_str())
}
