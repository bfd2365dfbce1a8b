use kencho_core::payment::method::PaymentMethod;
use kencho_core::payment::provider::Provider;
use sqlx::{AnyConnection, Row};

use super::COLS;
use crate::db::Db;
use crate::error::Result;
use crate::payments::model::Payment;

/// An application's payments that are open or paid, newest first; `locked`: their rows locked
/// for the rest of the transaction.
pub async fn open_payments(conn: &mut AnyConnection, application_id: i64, locked: bool) -> Result<Vec<Payment>> {
    let lock = if locked { crate::db::for_update(conn) } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM payments WHERE application_id = $1 AND state IN ('created', 'pending', 'failed', 'paid') ORDER BY id DESC{lock}"
    ))
    .bind(application_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(Payment::from_row).collect()
}

/// Writes the provider's reference and checkout URL on a payment.
pub async fn set_checkout(conn: &mut AnyConnection, payment_id: i64, r: &str, url: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE payments SET provider_ref = $1, checkout_url = $2, updated_at = $3 WHERE id = $4")
        .bind(r)
        .bind(url)
        .bind(now)
        .bind(payment_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Counts a new attempt on a payment at `provider`, its checkout URL cleared; returns the
/// attempt's number.
pub async fn new_attempt(
    conn: &mut AnyConnection,
    id: i64,
    (provider, method): (Provider, PaymentMethod),
    expires_at: i64,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "UPDATE payments SET attempt = attempt + 1, provider = $1, method = $2, checkout_url = NULL, expires_at = $3, updated_at = $4 \
         WHERE id = $5 RETURNING attempt",
    )
    .bind(provider.as_str())
    .bind(method.as_str())
    .bind(expires_at)
    .bind(now)
    .bind(id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("attempt")?)
}

/// Open payments whose checkout expired before `now` (at most 500).
pub async fn expired_payments(db: &Db, now: i64) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM payments WHERE state IN ('created', 'pending', 'failed') AND expires_at < $1 LIMIT 500",
    )
    .bind(now)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}
