use kencho_core::payment::provider::Provider;
use sqlx::{AnyConnection, Row};

use super::COLS;
use crate::db::Db;
use crate::error::Result;
use crate::payments::model::Payment;

/// An application's payments, oldest first.
pub async fn payments_of(db: &Db, application_id: i64) -> Result<Vec<Payment>> {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE application_id = $1 ORDER BY id"))
        .bind(application_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(Payment::from_row).collect()
}

/// The yen paid on an application's paid payments.
pub async fn paid_total(conn: &mut AnyConnection, application_id: i64) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT CAST(COALESCE(SUM(paid_amount), 0) AS BIGINT) AS paid FROM payments WHERE application_id = $1 AND state = 'paid'",
    )
    .bind(application_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("paid")?)
}

/// The paid payment a provider knows by `payment_ref`.
pub async fn paid_by_ref(db: &Db, provider: Provider, payment_ref: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT id FROM payments WHERE provider = $1 AND provider_ref = $2 AND state = 'paid'",
    )
    .bind(provider.as_str())
    .bind(payment_ref)
    .fetch_optional(&db.read)
    .await?)
}
