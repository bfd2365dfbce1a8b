//! The Stripe adapter's I/O: Checkout Sessions and refunds over HTTPS with idempotency keys,
//! and webhook events resolved to kencho's payments. The formats (and their tests against
//! recorded fixtures) are `kencho_core::payment::stripe`.

use kencho_core::payment::method::PaymentMethod;
use kencho_core::payment::refund::RefundAct;
use kencho_core::payment::stripe::{self as fmt, CheckoutRequest, CheckoutSession};

use super::model::StripeRefund;
use super::store;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// Stripe's API, unless the configuration points elsewhere (tests use a local recording).
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// POSTs a form to Stripe with the key and the idempotency key; a timeout, connection error or
/// 5xx is retried with the same key (Stripe then answers the first request's result, so a
/// payment is never created twice).
async fn post(
    http: &reqwest::Client,
    url: &str,
    api_key: &str,
    idem: &str,
    form: &[(String, String)],
) -> Result<Vec<u8>> {
    let body = fmt::form_encode(form);
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * 2u64.pow(attempt))).await;
        }
        let res = http
            .post(url)
            .bearer_auth(api_key)
            .header(fmt::IDEMPOTENCY_HEADER, idem)
            .header("content-type", "application/x-www-form-urlencoded")
            .timeout(std::time::Duration::from_secs(20))
            .body(body.clone())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_server_error() => last = format!("Stripe answered {}", r.status()),
            Ok(r) => {
                let status = r.status();
                let bytes = r.bytes().await.map_err(AppError::unexpected)?.to_vec();
                if status.is_success() {
                    return Ok(bytes);
                }
                // 4xx: Stripe's error object says why; retrying would not help.
                let why = fmt::parse_checkout_session(&bytes).err().map(|e| e.to_string()).unwrap_or_default();
                return Err(AppError::Refused(
                    "provider_refused",
                    detail!("detail.payments.stripe_refused_request", status = status, why = why),
                ));
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(AppError::Refused("provider_unavailable", detail!("detail.payments.stripe_could_reached", last = last)))
}

/// Opens a Checkout Session for one attempt of a payment.
pub async fn create_checkout(
    http: &reqwest::Client,
    api_base: &str,
    api_key: &str,
    req: &CheckoutRequest,
    attempt: u32,
) -> Result<CheckoutSession> {
    let form = fmt::checkout_session_form(req).map_err(AppError::unexpected)?;
    let url = format!("{api_base}{}", fmt::CHECKOUT_SESSIONS_URL.trim_start_matches("https://api.stripe.com"));
    let bytes = post(http, &url, api_key, &fmt::idempotency_key(req.payment_id, attempt), &form).await?;
    fmt::parse_checkout_session(&bytes).map_err(|e| AppError::failed("Stripe's answer", e))
}

/// Sends refunds waiting for Stripe (state `to_send`); their result arrives as a webhook.
pub async fn send_refunds(db: &Db, http: &reqwest::Client, api_base: &str) -> Result<usize> {
    let rows = store::stripe_refunds_to_send(db).await?;
    let mut sent = 0;
    for r in rows {
        let StripeRefund { id, amount, reason, payment_intent: intent, sealed_api_key: key, tenant_id } = r;
        let (Some(intent), Some(key)) = (intent, key) else { continue };
        let key = match db.keys().open(&super::sandbox::secret_place("stripe_api_key", tenant_id), &key) {
            Ok(k) => zeroize::Zeroizing::new(k),
            Err(e) => {
                tracing::error!(error = %e, tenant = tenant_id, "the Stripe API key does not open; refunds wait");
                continue;
            }
        };
        let form = fmt::refund_form(&intent, amount, &reason, id);
        let url = format!("{api_base}{}", fmt::REFUNDS_URL.trim_start_matches("https://api.stripe.com"));
        let outcome = post(http, &url, &key, &fmt::refund_idempotency_key(id), &form).await;
        let (act, re) = match outcome.and_then(|b| fmt::parse_refund(&b).map_err(AppError::unexpected)) {
            Ok(refund) => (RefundAct::Sent, Some(refund.id)),
            Err(AppError::Refused("provider_unavailable", _)) => continue,
            Err(e) => {
                tracing::warn!(error = %e, refund = id, "Stripe refused a refund");
                (RefundAct::Settled { ok: false }, None)
            }
        };
        db.transact(move |conn| {
            Box::pin(async move {
                super::refunds::advance(conn, id, act, re.as_deref()).await?;
                Ok(())
            })
        })
        .await?;
        sent += 1;
    }
    Ok(sent)
}

/// Sends the refunds the 会計管理者 approved to Stripe, every second.
pub async fn refund_worker(db: Db, api_base: String, stop: crate::worker::Stop) {
    let http = reqwest::Client::new();
    let every = crate::worker::Every::new("Stripe refunds", std::time::Duration::from_secs(1));
    crate::worker::run(every, stop, || async {
        send_refunds(&db, &http, &api_base).await.map(|_| crate::worker::Pass::Idle)
    })
    .await;
}

/// Applies a verified Stripe webhook: each event is resolved to its payment (by session id,
/// or by the payment_intent remembered from the session's events) and goes through the ledger.
/// A charge event remembers which charge the payment became. An event about an object this
/// tenant's payments do not know is acknowledged and kept in `payment_unmatched_events`: an
/// error answer would only make Stripe send it again for days.
pub async fn apply_webhook<L: super::Links>(
    db: &Db,
    links: L,
    tenant_id: i64,
    events: Vec<fmt::StripeEvent>,
    charge: Option<fmt::ChargeLink>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if let Some(link) = charge {
        db.transact(move |conn| {
            Box::pin(async move {
                store::set_charge(conn, tenant_id, &link.payment_intent, &link.charge_id).await?;
                Ok(())
            })
        })
        .await?;
    }
    for e in events {
        if let (Some(session), Some(intent)) = (&e.refs.session, &e.refs.payment_intent) {
            let (s, i) = (session.clone(), intent.clone());
            db.transact(move |conn| {
                Box::pin(async move {
                    store::set_payment_intent(conn, tenant_id, &s, &i).await?;
                    Ok(())
                })
            })
            .await?;
        }
        // The payment's session: named by the event, or found by the PaymentIntent remembered
        // from the session's events; either way one of this tenant's.
        let session = match (&e.refs.session, &e.refs.payment_intent) {
            (Some(s), _) => store::stripe_session(db, tenant_id, s).await?,
            (None, Some(pi)) => store::stripe_session_of_intent(db, tenant_id, pi).await?,
            (None, None) => None,
        };
        let Some(session) = session else {
            record_unmatched(db, tenant_id, &e).await?;
            out.push(format!("{}: unknown payment", e.event_id));
            continue;
        };
        let applied = super::apply_event(
            db,
            links.clone(),
            kencho_core::payment::provider::Provider::Stripe,
            tenant_id,
            e.to_provider_event(&session),
        )
        .await?;
        out.push(format!("{}: {applied:?}", e.event_id));
    }
    Ok(out)
}

/// Keeps an event whose object no payment of the tenant knows (the same event twice, once).
async fn record_unmatched(db: &Db, tenant_id: i64, e: &fmt::StripeEvent) -> Result<()> {
    let object = e.refs.session.clone().or_else(|| e.refs.payment_intent.clone()).unwrap_or_default();
    let (event_id, event_type) = (e.event_id.clone(), e.event_type.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            store::insert_unmatched(conn, tenant_id, (&event_id, &event_type, &object), crate::db::now_ms()).await?;
            Ok(())
        })
    })
    .await
}

/// The Checkout request for one attempt: the resident returns to the payment page either way.
pub fn request(
    payment_id: i64,
    title: &str,
    amount: i64,
    return_url: &str,
    reference: &str,
    method: PaymentMethod,
) -> CheckoutRequest {
    let now = now_ms() / 1000;
    CheckoutRequest {
        payment_id,
        product_name: title.to_string(),
        unit_amount: amount,
        quantity: 1,
        success_url: return_url.to_string(),
        cancel_url: return_url.to_string(),
        client_reference_id: reference.to_string(),
        // An hour gives Stripe's 30-minute minimum a margin at its end of the wire.
        expires_at: now + 3600,
        now_unix: now,
        payment_method_types: vec![method.as_str().to_string()],
    }
}
