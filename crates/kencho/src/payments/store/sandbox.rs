use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::Result;
use crate::payments::model::{Checkout, CheckoutState, DueWebhook, NewCheckout, SealedSettings};

const SETTINGS: &str =
    "SELECT sandbox_enabled, sandbox_methods, sandbox_secret, refund_approval_above, stripe_enabled, \
    stripe_methods, stripe_api_key, stripe_webhook_secret FROM payment_settings WHERE tenant_id = $1";

/// A tenant's payment settings, if it has any yet.
pub async fn settings(db: &Db, tenant_id: i64) -> Result<Option<SealedSettings>> {
    let row = sqlx::query(SETTINGS).bind(tenant_id).fetch_optional(&db.read).await?;
    row.as_ref().map(SealedSettings::from_row).transpose()
}

/// A tenant's payment settings, which exist.
pub async fn existing_settings(db: &Db, tenant_id: i64) -> Result<SealedSettings> {
    let row = sqlx::query(SETTINGS).bind(tenant_id).fetch_one(&db.read).await?;
    SealedSettings::from_row(&row)
}

/// Writes a tenant's first settings (the defaults, with its sealed sandbox secret), unless
/// another request wrote them first.
pub async fn insert_settings(conn: &mut AnyConnection, tenant_id: i64, sealed_secret: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_settings (tenant_id, sandbox_secret, updated_at) VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(sealed_secret)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes a tenant's Stripe settings; an absent sealed key or secret keeps the stored one.
pub async fn update_stripe(
    conn: &mut AnyConnection,
    tenant_id: i64,
    (enabled, methods): (bool, &str),
    (api_key, webhook_secret): (Option<&str>, Option<&str>),
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE payment_settings SET stripe_enabled = $1, stripe_methods = $2, stripe_api_key = COALESCE($3, stripe_api_key), \
         stripe_webhook_secret = COALESCE($4, stripe_webhook_secret), updated_at = $5 WHERE tenant_id = $6",
    )
    .bind(i64::from(enabled))
    .bind(methods)
    .bind(api_key)
    .bind(webhook_secret)
    .bind(now)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes a tenant's sandbox methods (on when any) and refund limit.
pub async fn update_sandbox(
    conn: &mut AnyConnection,
    tenant_id: i64,
    methods: &str,
    refund_above: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE payment_settings SET sandbox_methods = $1, sandbox_enabled = $2, refund_approval_above = $3, updated_at = $4 WHERE tenant_id = $5")
        .bind(methods)
        .bind(i64::from(!methods.is_empty()))
        .bind(refund_above)
        .bind(now)
        .bind(tenant_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The reference of the checkout opened with `idempotency_key`, if any.
pub async fn checkout_ref(db: &Db, idempotency_key: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT ref FROM sandbox_payments WHERE idempotency_key = $1")
        .bind(idempotency_key)
        .fetch_optional(&db.read)
        .await?;
    Ok(row.map(|r| r.try_get::<String, _>("ref")).transpose()?)
}

/// The reference of the checkout opened with `idempotency_key`, which exists.
pub async fn existing_checkout_ref(db: &Db, idempotency_key: &str) -> Result<String> {
    Ok(sqlx::query("SELECT ref FROM sandbox_payments WHERE idempotency_key = $1")
        .bind(idempotency_key)
        .fetch_one(&db.read)
        .await?
        .try_get("ref")?)
}

/// Writes an open checkout, unless one with its idempotency key exists.
pub async fn insert_checkout(conn: &mut AnyConnection, c: &NewCheckout) -> Result<()> {
    sqlx::query(
        "INSERT INTO sandbox_payments (ref, tenant_id, amount, method, description, return_url, idempotency_key, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&c.r)
    .bind(c.tenant_id)
    .bind(c.amount)
    .bind(c.method.as_str())
    .bind(&c.description)
    .bind(&c.return_url)
    .bind(&c.idempotency_key)
    .bind(c.created_at)
    .bind(c.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The sandbox's checkout `r`, if it exists.
pub async fn checkout(db: &Db, r: &str) -> Result<Option<Checkout>> {
    let row = sqlx::query(
        "SELECT ref, tenant_id, amount, method, description, return_url, state FROM sandbox_payments WHERE ref = $1",
    )
    .bind(r)
    .fetch_optional(&db.read)
    .await?;
    row.as_ref().map(Checkout::from_row).transpose()
}

pub async fn set_checkout_state(conn: &mut AnyConnection, r: &str, state: CheckoutState) -> Result<()> {
    sqlx::query("UPDATE sandbox_payments SET state = $1 WHERE ref = $2")
        .bind(state.as_str())
        .bind(r)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Queues a sandbox webhook with `body`, to be delivered at `at`.
pub async fn queue_webhook(conn: &mut AnyConnection, tenant_id: i64, body: &str, at: i64) -> Result<()> {
    sqlx::query("INSERT INTO sandbox_webhooks (tenant_id, body, deliver_at) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(body)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sandbox webhooks not delivered and due by `now`, in the order they fall due (at most 256).
pub async fn due_webhooks(db: &Db, now: i64) -> Result<Vec<DueWebhook>> {
    let rows = sqlx::query(
        // The settings row exists: a checkout (and so a webhook) is only made after `settings`.
        "SELECT w.id, w.body, w.attempts, t.code AS tenant_code, s.sandbox_secret, w.tenant_id FROM sandbox_webhooks w JOIN tenants t ON t.id = w.tenant_id \
         JOIN payment_settings s ON s.tenant_id = w.tenant_id WHERE w.delivered_at IS NULL AND w.deliver_at <= $1 ORDER BY w.deliver_at, w.id LIMIT 256",
    )
    .bind(now)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(DueWebhook::from_row).collect()
}

/// Counts a delivery attempt of a webhook: delivered at `delivered`, else tried again at `next`.
pub async fn webhook_tried(conn: &mut AnyConnection, id: i64, delivered: Option<i64>, next: i64) -> Result<()> {
    sqlx::query(
        "UPDATE sandbox_webhooks SET delivered_at = $1, attempts = attempts + 1, deliver_at = $2 WHERE id = $3",
    )
    .bind(delivered)
    .bind(next)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A tenant's paid sandbox checkouts: (ref, amount, created at).
pub async fn paid_checkouts(db: &Db, tenant_id: i64) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT ref, amount, created_at FROM sandbox_payments WHERE tenant_id = $1 AND state = 'paid' ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("ref")?, r.try_get("amount")?, r.try_get("created_at")?))).collect()
}
