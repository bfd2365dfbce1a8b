use kencho_core::notice::PaymentFacts;
use sqlx::{AnyConnection, Row};

use crate::error::Result;
use crate::payments::model::payment_facts_of;

/// A payment's facts as its receipt prints them, if the payment exists.
pub async fn payment_facts(conn: &mut AnyConnection, payment_id: i64) -> Result<Option<PaymentFacts>> {
    let row = sqlx::query(
        "SELECT tenant_id, application_id, revenue_code, amount, paid_amount, method, state, paid_at \
         FROM payments WHERE id = $1",
    )
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(payment_facts_of).transpose()
}

/// A payment's state as stored, its row locked for the rest of the transaction.
pub async fn lock_payment_state(conn: &mut AnyConnection, payment_id: i64) -> Result<Option<String>> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!("SELECT state FROM payments WHERE id = $1{lock}"))
        .bind(payment_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("state")).transpose()?)
}
