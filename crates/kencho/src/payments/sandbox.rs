//! The built-in sandbox payment provider, for the demo and the tests. It behaves like a real
//! provider from kencho's side: a checkout page of its own (test cards for success, decline
//! and a 3-D Secure-style extra step; a QR-code wallet), idempotent checkout creation, and
//! results that reach kencho only as signed webhooks — on request late, duplicated or out of
//! order — delivered over HTTP by a worker.
//!
//! Webhook signature: header `Kencho-Sandbox-Signature: t={unix},v1={hex}` where hex is
//! HMAC-SHA256 with the tenant's sandbox secret over `"{t}.{body}"` (the scheme Stripe uses).

use kencho_core::payment::event::{EventKind, ProviderEvent};
use kencho_core::payment::provider::Provider;
use sqlx::{AnyConnection, Row};

use zeroize::Zeroizing;

use crate::crypto::Secret;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

pub const SIGNATURE_HEADER: &str = "kencho-sandbox-signature";

/// Test cards.
pub const CARD_OK: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_3DS: &str = "4000000000003220";

/// A tenant's payment settings (secrets are never shown back).
#[derive(Debug, Clone)]
pub struct Settings {
    pub sandbox_enabled: bool,
    pub sandbox_methods: String,
    pub sandbox_secret: Secret,
    pub refund_approval_above: i64,
    pub stripe_enabled: bool,
    pub stripe_methods: String,
    pub stripe_api_key: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
}

/// Where a tenant's payment secret is sealed: `column` is `sandbox_secret`,
/// `stripe_api_key` or `stripe_webhook_secret` (see [`crate::crypto`]).
pub fn secret_place(column: &str, tenant_id: i64) -> String {
    crate::crypto::place(&format!("payment_settings.{column}"), tenant_id)
}

impl Settings {
    pub fn stripe_api_key_set(&self) -> bool {
        self.stripe_api_key.is_some()
    }
}

/// The tenant's settings, created with a fresh sandbox secret on first use.
pub async fn settings(db: &Db, tenant_id: i64) -> Result<Settings> {
    let keys = db.keys();
    let open =
        |column: &str, stored: Option<String>| keys.open_opt(&secret_place(column, tenant_id), stored.as_deref());
    let read = |r: &sqlx::any::AnyRow| -> Result<Settings> {
        Ok(Settings {
            sandbox_enabled: r.try_get::<i64, _>("sandbox_enabled")? != 0,
            sandbox_methods: r.try_get("sandbox_methods")?,
            sandbox_secret: open("sandbox_secret", Some(r.try_get("sandbox_secret")?))?
                .ok_or_else(|| AppError::Internal("no sandbox secret".into()))?,
            refund_approval_above: r.try_get("refund_approval_above")?,
            stripe_enabled: r.try_get::<i64, _>("stripe_enabled")? != 0,
            stripe_methods: r.try_get("stripe_methods")?,
            stripe_api_key: open("stripe_api_key", r.try_get("stripe_api_key")?)?,
            stripe_webhook_secret: open("stripe_webhook_secret", r.try_get("stripe_webhook_secret")?)?,
        })
    };
    const Q: &str = "SELECT sandbox_enabled, sandbox_methods, sandbox_secret, refund_approval_above, stripe_enabled, \
        stripe_methods, stripe_api_key, stripe_webhook_secret FROM payment_settings WHERE tenant_id = $1";
    if let Some(r) = sqlx::query(Q).bind(tenant_id).fetch_optional(&db.read).await? {
        return read(&r);
    }
    let secret = keys.seal(
        &secret_place("sandbox_secret", tenant_id),
        &Zeroizing::new(format!("whsec_{}", crate::crypto::random_token())),
    )?;
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO payment_settings (tenant_id, sandbox_secret, updated_at) VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(&secret)
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await?;
    let r = sqlx::query(Q).bind(tenant_id).fetch_one(&db.read).await?;
    read(&r)
}

/// Turns Stripe on or off for a tenant. Secrets given are stored; absent ones are kept as
/// they are; they are never shown back, and the audit entry says only that they changed.
pub async fn update_stripe(
    db: &Db,
    admin: &crate::actor::Staff,
    enabled: bool,
    methods: &str,
    api_key: Option<String>,
    webhook_secret: Option<String>,
) -> Result<()> {
    let list: Vec<&str> = methods.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
    if list.iter().any(|m| !kencho_core::payment::stripe::PAYMENT_METHOD_TYPES.contains(m)) {
        return Err(AppError::BadRequest("Stripe methods are card, konbini and paypay".into()));
    }
    if api_key.as_deref().is_some_and(|k| !(k.starts_with("sk_") || k.starts_with("rk_")) || k.len() > 300) {
        return Err(AppError::BadRequest("the Stripe API key starts with sk_ or rk_".into()));
    }
    if webhook_secret.as_deref().is_some_and(|k| !k.starts_with("whsec_") || k.len() > 300) {
        return Err(AppError::BadRequest("the webhook signing secret starts with whsec_".into()));
    }
    // Only a designated 指定納付受託者 (its 告示 recorded) is switched on (地方自治法231条の2の3).
    if enabled && !super::agents::is_designated(db, admin.tenant_id, Provider::Stripe).await? {
        return Err(AppError::Refused(
            "agent_not_designated",
            "record Stripe's designation as 指定納付受託者 (its 告示) before switching it on".into(),
        ));
    }
    let current = settings(db, admin.tenant_id).await?;
    let has_key = api_key.is_some() || current.stripe_api_key_set();
    let has_secret = webhook_secret.is_some() || current.stripe_webhook_secret.is_some();
    if enabled && (!has_key || !has_secret || list.is_empty()) {
        return Err(AppError::BadRequest("Stripe needs its API key, webhook signing secret and a method".into()));
    }
    let keys = db.keys();
    let tenant_id = admin.tenant_id;
    let (changed_key, changed_secret) = (api_key.is_some(), webhook_secret.is_some());
    let api_key = keys.seal_opt(&secret_place("stripe_api_key", tenant_id), api_key.as_deref())?;
    let webhook_secret = keys.seal_opt(&secret_place("stripe_webhook_secret", tenant_id), webhook_secret.as_deref())?;
    let (admin, methods) = (admin.clone(), list.join(","));
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE payment_settings SET stripe_enabled = $1, stripe_methods = $2, stripe_api_key = COALESCE($3, stripe_api_key), \
                 stripe_webhook_secret = COALESCE($4, stripe_webhook_secret), updated_at = $5 WHERE tenant_id = $6",
            )
            .bind(i64::from(enabled))
            .bind(&methods)
            .bind(&api_key)
            .bind(&webhook_secret)
            .bind(now_ms())
            .bind(admin.tenant_id)
            .execute(&mut *conn)
            .await?;
            crate::audit::append(
                conn,
                admin.tenant_id,
                &format!("staff:{}", admin.id),
                "payment.stripe_settings_changed",
                "payment_settings",
                serde_json::json!({"enabled": enabled, "methods": methods, "api_key_changed": changed_key,
                                   "webhook_secret_changed": changed_secret}),
            )
            .await
        })
    })
    .await
}

/// Sets which sandbox methods are on and the refund limit (tenant administrators).
pub async fn update_settings(db: &Db, admin: &crate::actor::Staff, methods: &str, refund_above: i64) -> Result<()> {
    let list: Vec<&str> = methods.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
    if list.iter().any(|m| !matches!(*m, "card" | "qr")) {
        return Err(AppError::BadRequest("methods are card and qr".into()));
    }
    if !(0..=10_000_000).contains(&refund_above) {
        return Err(AppError::BadRequest("the refund limit is 0 to 10,000,000 yen".into()));
    }
    settings(db, admin.tenant_id).await?;
    let (admin, methods) = (admin.clone(), list.join(","));
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE payment_settings SET sandbox_methods = $1, sandbox_enabled = $2, refund_approval_above = $3, updated_at = $4 WHERE tenant_id = $5")
                .bind(&methods)
                .bind(i64::from(!methods.is_empty()))
                .bind(refund_above)
                .bind(now_ms())
                .bind(admin.tenant_id)
                .execute(&mut *conn)
                .await?;
            crate::audit::append(
                conn,
                admin.tenant_id,
                &format!("staff:{}", admin.id),
                "payment.settings_changed",
                "payment_settings",
                serde_json::json!({"sandbox_methods": methods, "refund_approval_above": refund_above}),
            )
            .await
        })
    })
    .await
}

/// `t={unix},v1={hex}` for `body`: the same scheme as Stripe's, so the core's code signs it.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    kencho_core::payment::stripe::sign(body, secret, t)
}

/// Checks a webhook's signature header against the secret, within five minutes either way.
pub fn verify(secret: &str, header: &str, body: &[u8], now_unix: i64) -> Result<()> {
    use kencho_core::payment::stripe::{verify_signature, DEFAULT_TOLERANCE_S};
    verify_signature(header, body, secret, now_unix, DEFAULT_TOLERANCE_S)
        .map_err(|e| AppError::BadRequest(format!("webhook refused: {e}")))
}

/// Opens a checkout (idempotent per key: the same key returns the same checkout). Returns
/// (provider ref, URL of the payment page).
#[allow(clippy::too_many_arguments)]
pub async fn create_checkout(
    db: &Db,
    base_url: &str,
    tenant_id: i64,
    amount: i64,
    method: &str,
    description: &str,
    return_url: &str,
    idempotency_key: &str,
) -> Result<(String, String)> {
    let existing = sqlx::query("SELECT ref FROM sandbox_payments WHERE idempotency_key = $1")
        .bind(idempotency_key)
        .fetch_optional(&db.read)
        .await?;
    let r = match existing {
        Some(row) => row.try_get::<String, _>("ref")?,
        None => {
            let r = format!("sbx_{}", crate::crypto::random_token()[..20].to_lowercase().replace(['-', '_'], "x"));
            let (r2, method, description, return_url, key) = (
                r.clone(),
                method.to_string(),
                description.to_string(),
                return_url.to_string(),
                idempotency_key.to_string(),
            );
            db.transact(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO sandbox_payments (ref, tenant_id, amount, method, description, return_url, idempotency_key, state, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9) ON CONFLICT (idempotency_key) DO NOTHING",
                    )
                    .bind(&r2)
                    .bind(tenant_id)
                    .bind(amount)
                    .bind(&method)
                    .bind(&description)
                    .bind(&return_url)
                    .bind(&key)
                    .bind(now_ms())
                    .bind(now_ms() + super::CHECKOUT_MINUTES * 60_000)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await?;
            // Ours or a concurrent request's with the same key: committed either way.
            sqlx::query("SELECT ref FROM sandbox_payments WHERE idempotency_key = $1")
                .bind(idempotency_key)
                .fetch_one(&db.read)
                .await?
                .try_get("ref")?
        }
    };
    Ok((r.clone(), format!("{base_url}/sandbox/pay/{r}")))
}

/// A checkout as the sandbox's own page shows it.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub r: String,
    pub tenant_id: i64,
    pub amount: i64,
    pub method: String,
    pub description: String,
    pub return_url: String,
    pub state: CheckoutState,
}

/// Where a checkout stands at the sandbox (its own states, not the payment's ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutState {
    Open,
    /// The card asked for the extra authentication step.
    Authenticating,
    Paid,
    Expired,
}

impl CheckoutState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutState::Open => "open",
            CheckoutState::Authenticating => "authenticating",
            CheckoutState::Paid => "paid",
            CheckoutState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<CheckoutState> {
        use CheckoutState::*;
        [Open, Authenticating, Paid, Expired].into_iter().find(|x| x.as_str() == s)
    }
}

pub async fn checkout(db: &Db, r: &str) -> Result<Checkout> {
    let row = sqlx::query(
        "SELECT ref, tenant_id, amount, method, description, return_url, state FROM sandbox_payments WHERE ref = $1",
    )
    .bind(r)
    .fetch_optional(&db.read)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Checkout {
        r: row.try_get("ref")?,
        tenant_id: row.try_get("tenant_id")?,
        amount: row.try_get("amount")?,
        method: row.try_get("method")?,
        description: row.try_get("description")?,
        return_url: row.try_get("return_url")?,
        state: crate::db::parsed(&row, "state", CheckoutState::parse)?,
    })
}

/// How the sandbox delivers the webhooks of one outcome, chosen on its page for testing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Normal,
    /// Every webhook twice.
    Duplicate,
    /// Held back for a few seconds (the resident is back first and sees "confirming").
    Late,
    /// The last event first.
    Reordered,
}

impl Delivery {
    pub fn parse(s: &str) -> Delivery {
        match s {
            "duplicate" => Delivery::Duplicate,
            "late" => Delivery::Late,
            "reorder" => Delivery::Reordered,
            _ => Delivery::Normal,
        }
    }
}

/// The outcome of the resident's action on the sandbox page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Declined,
    /// The card asks for the extra authentication step first.
    NeedsAuthentication,
}

/// Records the outcome at the sandbox and queues its webhooks (in one transaction).
pub async fn settle(db: &Db, r: &str, outcome: Outcome, delivery: Delivery) -> Result<Checkout> {
    let c = checkout(db, r).await?;
    if c.state == CheckoutState::Paid {
        return Err(AppError::Refused("already_paid", "this checkout is paid already".into()));
    }
    if c.state == CheckoutState::Expired {
        return Err(AppError::Refused("expired", "this checkout has expired".into()));
    }
    let now_s = now_ms() / 1000;
    let ev = |kind: EventKind, n: i64| ProviderEvent {
        event_id: format!("evt_{}_{}", crate::crypto::random_token()[..12].to_lowercase(), n),
        at_unix: now_s + n,
        payment_ref: c.r.clone(),
        kind,
    };
    let (state, mut events) = match outcome {
        Outcome::Paid => {
            (CheckoutState::Paid, vec![ev(EventKind::Pending, 0), ev(EventKind::Paid { amount: c.amount }, 1)])
        }
        Outcome::Declined => (
            CheckoutState::Open,
            vec![
                ev(EventKind::Pending, 0),
                ev(EventKind::Failed { reason: "カードが拒否されました（テストカード）".into() }, 1),
            ],
        ),
        Outcome::NeedsAuthentication => (CheckoutState::Authenticating, vec![ev(EventKind::Pending, 0)]),
    };
    if delivery == Delivery::Reordered {
        events.reverse();
    }
    let delay = if delivery == Delivery::Late { 4_000 } else { 0 };
    let copies = if delivery == Delivery::Duplicate { 2 } else { 1 };
    let tenant = c.tenant_id;
    let r2 = c.r.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE sandbox_payments SET state = $1 WHERE ref = $2")
                .bind(state.as_str())
                .bind(&r2)
                .execute(&mut *conn)
                .await?;
            for (i, e) in events.iter().enumerate() {
                for _ in 0..copies {
                    queue(conn, tenant, e, now_ms() + delay + i64::try_from(i).unwrap_or(0) * 50).await?;
                }
            }
            Ok(())
        })
    })
    .await?;
    Ok(c)
}

async fn queue(conn: &mut AnyConnection, tenant_id: i64, e: &ProviderEvent, at: i64) -> Result<()> {
    let body = serde_json::to_string(e).map_err(AppError::unexpected)?;
    sqlx::query("INSERT INTO sandbox_webhooks (tenant_id, body, deliver_at) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(body)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A refund at the sandbox: it answers with a `refunded` webhook.
pub async fn refund(
    conn: &mut AnyConnection,
    tenant_id: i64,
    payment_ref: &str,
    refund_ref: &str,
    amount: i64,
) -> Result<()> {
    let e = ProviderEvent {
        event_id: format!("evt_refund_{refund_ref}"),
        at_unix: now_ms() / 1000,
        payment_ref: payment_ref.to_string(),
        kind: EventKind::Refunded { refund_ref: refund_ref.to_string(), amount },
    };
    queue(conn, tenant_id, &e, now_ms()).await
}

/// A webhook to send: (row id, body, attempts so far, tenant code, tenant secret).
type Outgoing = (i64, String, i64, String, String);

/// Delivers due sandbox webhooks to kencho's webhook endpoint, like a provider would: signed,
/// retried with backoff until answered 2xx. Webhooks of different payments go out side by
/// side; those of one payment in the order they were queued.
pub async fn deliver_due(db: &Db, http: &reqwest::Client, base_url: &str) -> Result<usize> {
    let rows = sqlx::query(
        // The settings row exists: a checkout (and so a webhook) is only made after `settings`.
        "SELECT w.id, w.body, w.attempts, t.code AS tenant_code, s.sandbox_secret, w.tenant_id FROM sandbox_webhooks w JOIN tenants t ON t.id = w.tenant_id \
         JOIN payment_settings s ON s.tenant_id = w.tenant_id WHERE w.delivered_at IS NULL AND w.deliver_at <= $1 ORDER BY w.deliver_at, w.id LIMIT 256",
    )
    .bind(now_ms())
    .fetch_all(&db.read)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut groups: std::collections::BTreeMap<String, Vec<Outgoing>> = Default::default();
    for r in rows {
        let (id, body, attempts, code, stored, tenant_id): (i64, String, i64, String, String, i64) = (
            r.try_get("id")?,
            r.try_get("body")?,
            r.try_get("attempts")?,
            r.try_get("tenant_code")?,
            r.try_get("sandbox_secret")?,
            r.try_get("tenant_id")?,
        );
        let secret = db.keys().open(&secret_place("sandbox_secret", tenant_id), &stored)?;
        let key = serde_json::from_str::<ProviderEvent>(&body).map(|e| e.payment_ref).unwrap_or_default();
        groups.entry(key).or_default().push((id, body, attempts, code, secret));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (_, group) in groups {
        let (http, base_url) = (http.clone(), base_url.to_string());
        tasks.spawn(async move {
            let mut out = Vec::new();
            let mut failed = false;
            for (id, body, attempts, code, secret) in group {
                // After a failure the rest of this payment's webhooks wait, to keep their order.
                let ok = !failed
                    && http
                        .post(format!("{base_url}/api/v1/payments/webhooks/sandbox/{code}"))
                        .header("content-type", "application/json")
                        .header(SIGNATURE_HEADER, sign(&secret, now_ms() / 1000, body.as_bytes()))
                        .body(body)
                        .send()
                        .await
                        .is_ok_and(|res| res.status().is_success());
                failed |= !ok;
                out.push((id, attempts, ok));
            }
            out
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        results.extend(done.map_err(AppError::unexpected)?);
    }
    let sent = results.iter().filter(|r| r.2).count();
    db.transact(move |conn| {
        Box::pin(async move {
            for (id, attempts, ok) in results {
                let (delivered, next) = if ok {
                    (Some(now_ms()), now_ms())
                } else {
                    (None, now_ms() + 1_000 * 2i64.pow(u32::try_from(attempts.min(8)).unwrap_or(8)))
                };
                sqlx::query("UPDATE sandbox_webhooks SET delivered_at = $1, attempts = attempts + 1, deliver_at = $2 WHERE id = $3")
                    .bind(delivered)
                    .bind(next)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        })
    })
    .await?;
    Ok(sent)
}

/// Delivers the sandbox's webhooks as they fall due (a real provider calls back soon after).
pub async fn webhook_worker(db: Db, base_url: String, stop: crate::worker::Stop) {
    let http = reqwest::Client::new();
    let every = crate::worker::Every::new("sandbox webhooks", std::time::Duration::from_millis(50));
    crate::worker::run(every, stop, || async {
        deliver_due(&db, &http, &base_url).await.map(|n| crate::worker::Pass::more_if(n > 0))
    })
    .await;
}

/// The provider's settlement report for a day (what it paid out), as a CSV the reconciliation
/// imports: `provider_ref,date,gross,fee`.
pub async fn settlement_csv(db: &Db, tenant_id: i64) -> Result<String> {
    let rows = sqlx::query(
        "SELECT ref, amount, created_at FROM sandbox_payments WHERE tenant_id = $1 AND state = 'paid' ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    let mut out = String::from("provider_ref,date,gross,fee\n");
    for r in rows {
        let (rf, amount, at): (String, i64, i64) = (r.try_get("ref")?, r.try_get("amount")?, r.try_get("created_at")?);
        out.push_str(&format!("{rf},{},{amount},{}\n", crate::clock::fmt_date(at), amount * 36 / 1000));
    }
    Ok(out)
}
