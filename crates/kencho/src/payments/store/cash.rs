use kencho_core::payment::provider::Provider;
use sqlx::AnyConnection;

use super::COLS;
use crate::error::Result;
use crate::payments::model::Payment;

/// An application's open or paid payments, newest first, their rows locked for the rest of
/// the transaction.
pub async fn lock_open_payments(conn: &mut AnyConnection, application_id: i64) -> Result<Vec<Payment>> {
    let lock = crate::db::for_update(conn);
    sqlx::query(&format!(
        "SELECT {COLS} FROM payments WHERE application_id = $1 AND state IN ('created', 'pending', 'failed', 'paid') ORDER BY id DESC{lock}"
    ))
    .bind(application_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(Payment::from_row)
    .collect()
}

/// Makes a payment the counter's (method `cash`), known by `provider_ref`.
pub async fn set_counter(conn: &mut AnyConnection, payment_id: i64, provider_ref: &str) -> Result<()> {
    sqlx::query("UPDATE payments SET provider = $1, method = 'cash', provider_ref = $2 WHERE id = $3")
        .bind(Provider::Counter.as_str())
        .bind(provider_ref)
        .bind(payment_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
