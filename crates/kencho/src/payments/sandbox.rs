//! The built-in sandbox payment provider, for the demo and the tests. It behaves like a real
//! provider from kencho's side: a checkout page of its own (test cards for success, decline
//! and a 3-D Secure-style extra step; a QR-code wallet), idempotent checkout creation, and
//! results that reach kencho only as signed webhooks — on request late, duplicated or out of
//! order — delivered over HTTP by a worker.
//!
//! Webhook signature: header `Kencho-Sandbox-Signature: t={unix},v1={hex}` where hex is
//! HMAC-SHA256 with the tenant's sandbox secret over `"{t}.{body}"` (the scheme Stripe uses).

use kencho_core::payment::event::{EventKind, ProviderEvent};
use kencho_core::payment::method::PaymentMethod;
use kencho_core::payment::provider::Provider;
use sqlx::AnyConnection;
use zeroize::Zeroizing;

pub use super::model::{Checkout, CheckoutState, Delivery, Outcome, Settings};
use super::model::{NewCheckout, Outgoing, SealedSettings};
use super::store;
use crate::crypto::Keyring;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

pub const SIGNATURE_HEADER: &str = "kencho-sandbox-signature";

/// Test cards.
pub const CARD_OK: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_3DS: &str = "4000000000003220";

/// Where a tenant's payment secret is sealed: `column` is `sandbox_secret`,
/// `stripe_api_key` or `stripe_webhook_secret` (see [`crate::crypto`]).
pub fn secret_place(column: &str, tenant_id: i64) -> String {
    crate::crypto::place(&format!("payment_settings.{column}"), tenant_id)
}

/// The tenant's settings, created with a fresh sandbox secret on first use.
pub async fn settings(db: &Db, tenant_id: i64) -> Result<Settings> {
    let keys = db.keys();
    if let Some(r) = store::settings(db, tenant_id).await? {
        return opened(&keys, tenant_id, r);
    }
    let secret = keys.seal(
        &secret_place("sandbox_secret", tenant_id),
        &Zeroizing::new(format!("whsec_{}", crate::crypto::random_token())),
    )?;
    db.transact(move |conn| Box::pin(async move { store::insert_settings(conn, tenant_id, &secret, now_ms()).await }))
        .await?;
    opened(&keys, tenant_id, store::existing_settings(db, tenant_id).await?)
}

/// The settings with their secrets opened.
fn opened(keys: &Keyring, tenant_id: i64, r: SealedSettings) -> Result<Settings> {
    let open =
        |column: &str, stored: Option<String>| keys.open_opt(&secret_place(column, tenant_id), stored.as_deref());
    Ok(Settings {
        sandbox_enabled: r.sandbox_enabled,
        sandbox_methods: r.sandbox_methods,
        sandbox_secret: open("sandbox_secret", Some(r.sandbox_secret))?
            .ok_or_else(|| AppError::Internal("no sandbox secret".into()))?,
        refund_approval_above: r.refund_approval_above,
        stripe_enabled: r.stripe_enabled,
        stripe_methods: r.stripe_methods,
        stripe_api_key: open("stripe_api_key", r.stripe_api_key)?,
        stripe_webhook_secret: open("stripe_webhook_secret", r.stripe_webhook_secret)?,
    })
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
    let list = PaymentMethod::read_list(methods)
        .ok()
        .filter(|l| l.iter().all(|m| kencho_core::payment::stripe::PAYMENT_METHOD_TYPES.contains(m)))
        .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.stripe_methods_card_konbini")))?;
    if api_key.as_deref().is_some_and(|k| !(k.starts_with("sk_") || k.starts_with("rk_")) || k.len() > 300) {
        return Err(AppError::BadRequest(detail!("detail.payments.stripe_api_key_starts")));
    }
    if webhook_secret.as_deref().is_some_and(|k| !k.starts_with("whsec_") || k.len() > 300) {
        return Err(AppError::BadRequest(detail!("detail.payments.webhook_signing_secret_starts")));
    }
    // Only a designated 指定納付受託者 (its 告示 recorded) is switched on (地方自治法231条の2の3).
    if enabled && !super::agents::is_designated(db, admin.tenant_id, Provider::Stripe).await? {
        return Err(AppError::Refused("agent_not_designated", detail!("detail.payments.record_stripe_s_designation")));
    }
    let current = settings(db, admin.tenant_id).await?;
    let has_key = api_key.is_some() || current.stripe_api_key_set();
    let has_secret = webhook_secret.is_some() || current.stripe_webhook_secret.is_some();
    if enabled && (!has_key || !has_secret || list.is_empty()) {
        return Err(AppError::BadRequest(detail!("detail.payments.stripe_needs_api_key")));
    }
    let keys = db.keys();
    let tenant_id = admin.tenant_id;
    let (changed_key, changed_secret) = (api_key.is_some(), webhook_secret.is_some());
    let api_key = keys.seal_opt(&secret_place("stripe_api_key", tenant_id), api_key.as_deref())?;
    let webhook_secret = keys.seal_opt(&secret_place("stripe_webhook_secret", tenant_id), webhook_secret.as_deref())?;
    let (admin, methods) = (admin.clone(), PaymentMethod::join(&list));
    db.transact(move |conn| {
        Box::pin(async move {
            let sealed = (api_key.as_deref(), webhook_secret.as_deref());
            store::update_stripe(conn, admin.tenant_id, (enabled, &methods), sealed, now_ms()).await?;
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
    let list = PaymentMethod::read_list(methods)
        .ok()
        .filter(|l| l.iter().all(|m| PaymentMethod::SANDBOX.contains(m)))
        .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.methods_card_qr")))?;
    if !(0..=10_000_000).contains(&refund_above) {
        return Err(AppError::BadRequest(detail!("detail.payments.refund_limit_0_10")));
    }
    settings(db, admin.tenant_id).await?;
    let (admin, methods) = (admin.clone(), PaymentMethod::join(&list));
    db.transact(move |conn| {
        Box::pin(async move {
            store::update_sandbox(conn, admin.tenant_id, &methods, refund_above, now_ms()).await?;
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
        .map_err(|e| AppError::BadRequest(detail!("detail.payments.webhook_refused", e = e)))
}

/// Opens a checkout (idempotent per key: the same key returns the same checkout). Returns
/// (provider ref, URL of the payment page).
#[allow(clippy::too_many_arguments)]
pub async fn create_checkout(
    db: &Db,
    base_url: &str,
    tenant_id: i64,
    amount: i64,
    method: PaymentMethod,
    description: &str,
    return_url: &str,
    idempotency_key: &str,
) -> Result<(String, String)> {
    let r = match store::checkout_ref(db, idempotency_key).await? {
        Some(r) => r,
        None => {
            let r = format!("sbx_{}", crate::crypto::random_token()[..20].to_lowercase().replace(['-', '_'], "x"));
            let new = NewCheckout {
                r,
                tenant_id,
                amount,
                method,
                description: description.to_string(),
                return_url: return_url.to_string(),
                idempotency_key: idempotency_key.to_string(),
                created_at: now_ms(),
                expires_at: now_ms() + super::CHECKOUT_MINUTES * 60_000,
            };
            db.transact(move |conn| Box::pin(async move { store::insert_checkout(conn, &new).await })).await?;
            // Ours or a concurrent request's with the same key: committed either way.
            store::existing_checkout_ref(db, idempotency_key).await?
        }
    };
    Ok((r.clone(), format!("{base_url}/sandbox/pay/{r}")))
}

/// The sandbox's checkout `r` (`NotFound` if there is none).
pub async fn checkout(db: &Db, r: &str) -> Result<Checkout> {
    store::checkout(db, r).await?.ok_or(AppError::NotFound)
}

/// Records the outcome at the sandbox and queues its webhooks (in one transaction).
pub async fn settle(db: &Db, r: &str, outcome: Outcome, delivery: Delivery) -> Result<Checkout> {
    let c = checkout(db, r).await?;
    if c.state == CheckoutState::Paid {
        return Err(AppError::Refused("already_paid", detail!("detail.payments.checkout_paid_already")));
    }
    if c.state == CheckoutState::Expired {
        return Err(AppError::Refused("expired", detail!("detail.payments.checkout_has_expired")));
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
            store::set_checkout_state(conn, &r2, state).await?;
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
    store::queue_webhook(conn, tenant_id, &body, at).await
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

/// Delivers due sandbox webhooks to kencho's webhook endpoint, like a provider would: signed,
/// retried with backoff until answered 2xx. Webhooks of different payments go out side by
/// side; those of one payment in the order they were queued.
pub async fn deliver_due(db: &Db, http: &reqwest::Client, base_url: &str) -> Result<usize> {
    let rows = store::due_webhooks(db, now_ms()).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut groups: std::collections::BTreeMap<String, Vec<Outgoing>> = Default::default();
    for r in rows {
        let secret = db.keys().open(&secret_place("sandbox_secret", r.tenant_id), &r.sealed_secret)?;
        let key = serde_json::from_str::<ProviderEvent>(&r.body).map(|e| e.payment_ref).unwrap_or_default();
        groups.entry(key).or_default().push((r.id, r.body, r.attempts, r.tenant_code, secret));
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
                store::webhook_tried(conn, id, delivered, next).await?;
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
    let rows = store::paid_checkouts(db, tenant_id).await?;
    let mut out = String::from("provider_ref,date,gross,fee\n");
    for (rf, amount, at) in rows {
        out.push_str(&format!("{rf},{},{amount},{}\n", crate::clock::fmt_date(at), amount * 36 / 1000));
    }
    Ok(out)
}
