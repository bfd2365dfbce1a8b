use kencho_core::payment::provider::Provider;
use sqlx::AnyConnection;

use crate::error::Result;

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
