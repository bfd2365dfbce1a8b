use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::Result;
use crate::payments::model::StripeRefund;

/// Refunds of Stripe payments waiting to be sent, oldest first (at most 50).
pub async fn stripe_refunds_to_send(db: &Db) -> Result<Vec<StripeRefund>> {
    let rows = sqlx::query(
        "SELECT r.id, r.amount, r.reason, p.payment_intent, s.stripe_api_key, p.tenant_id FROM refunds r JOIN payments p ON p.id = r.payment_id \
         JOIN payment_settings s ON s.tenant_id = p.tenant_id WHERE r.state = 'to_send' AND p.provider = 'stripe' ORDER BY r.id LIMIT 50",
    )
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(StripeRefund::from_row).collect()
}

/// Writes the charge a tenant's Stripe payment (known by its PaymentIntent) became.
pub async fn set_charge(conn: &mut AnyConnection, tenant_id: i64, payment_intent: &str, charge_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE payments SET charge_id = $1 WHERE provider = 'stripe' AND payment_intent = $2 AND tenant_id = $3",
    )
    .bind(charge_id)
    .bind(payment_intent)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the PaymentIntent of a tenant's Stripe payment (known by its session).
pub async fn set_payment_intent(
    conn: &mut AnyConnection,
    tenant_id: i64,
    session: &str,
    payment_intent: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE payments SET payment_intent = $1 WHERE provider = 'stripe' AND provider_ref = $2 AND tenant_id = $3",
    )
    .bind(payment_intent)
    .bind(session)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The session of the tenant's Stripe payment whose session is `session`, if any.
pub async fn stripe_session(db: &Db, tenant_id: i64, session: &str) -> Result<Option<String>> {
    stripe_session_where(db, tenant_id, "provider_ref", session).await
}

/// The session of the tenant's Stripe payment whose PaymentIntent is `payment_intent`, if any.
pub async fn stripe_session_of_intent(db: &Db, tenant_id: i64, payment_intent: &str) -> Result<Option<String>> {
    stripe_session_where(db, tenant_id, "payment_intent", payment_intent).await
}

/// `column`: a fixed column name of `payments`, never input.
async fn stripe_session_where(db: &Db, tenant_id: i64, column: &'static str, value: &str) -> Result<Option<String>> {
    Ok(sqlx::query(&format!(
        "SELECT provider_ref FROM payments WHERE provider = 'stripe' AND {column} = $1 AND tenant_id = $2"
    ))
    .bind(value)
    .bind(tenant_id)
    .fetch_optional(&db.read)
    .await?
    .map(|r| r.try_get::<String, _>("provider_ref"))
    .transpose()?)
}

/// Keeps a Stripe event no payment of the tenant knows (the same event once).
pub async fn insert_unmatched(
    conn: &mut AnyConnection,
    tenant_id: i64,
    (event_id, event_type, object): (&str, &str, &str),
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_unmatched_events (tenant_id, provider, event_id, event_type, object_ref, received_at) \
         VALUES ($1, 'stripe', $2, $3, $4, $5) ON CONFLICT (tenant_id, provider, event_id) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(event_id)
    .bind(event_type)
    .bind(object)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
