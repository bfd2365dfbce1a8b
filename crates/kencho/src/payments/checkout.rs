//! The resident pays online: the methods offered, the payment opened (or reopened) and its
//! checkout at the provider, and the expiry of checkouts nobody finished.

use kencho_core::payment::event::{EventKind, ProviderEvent};
use kencho_core::payment::fee::Timing;
use kencho_core::payment::ledger::{Applied, State};
use kencho_core::payment::method::PaymentMethod;
use kencho_core::payment::provider::Provider;
use sqlx::AnyConnection;

use super::due::{insert_payment, insert_payment_like, online_rule};
use super::events::{apply_to, cancel_in, KENCHO};
use super::links::{ForApplication, Links, Payer};
use super::model::{Due, Owner, Payment};
use super::{agents, sandbox, schedule, store, stripe};
use crate::actor::Resident;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::procedures::Procedure;

/// How long a checkout stays open before the payment expires.
pub const CHECKOUT_MINUTES: i64 = 30;

/// Methods a resident may choose for a tenant: (provider, method).
/// `sandbox`: the process offers the sandbox provider (only with `--demo` or
/// `--payment-sandbox`; a production server never takes test cards).
pub async fn methods(db: &Db, tenant_id: i64, sandbox: bool) -> Result<Vec<(Provider, PaymentMethod)>> {
    Ok(offered(&sandbox::settings(db, tenant_id).await?, sandbox, &designated(db, tenant_id).await?))
}

async fn designated(db: &Db, tenant_id: i64) -> Result<Vec<Provider>> {
    Ok(agents::list(db, tenant_id).await?.into_iter().filter_map(|a| a.provider).collect())
}

/// The methods `s` turns on: (provider, method); only providers designated as 指定納付受託者.
fn offered(s: &sandbox::Settings, sandbox_allowed: bool, designated: &[Provider]) -> Vec<(Provider, PaymentMethod)> {
    let mut out = Vec::new();
    let on = |p: Provider| designated.contains(&p);
    // A tenant with a real provider configured pays through it; the sandbox is for the demo.
    if s.stripe_enabled && s.stripe_api_key_set() && on(Provider::Stripe) {
        out.extend(s.stripe_methods.iter().map(|m| (Provider::Stripe, *m)));
        return out;
    }
    if s.sandbox_enabled && sandbox_allowed && on(Provider::Sandbox) {
        out.extend(s.sandbox_methods.iter().map(|m| (Provider::Sandbox, *m)));
    }
    out
}

/// The method a resident chose, by its name (a form's or a JSON body's): a name kencho does not
/// know is refused as a method not offered.
pub fn chosen_method(name: &str) -> Result<PaymentMethod> {
    PaymentMethod::parse(name).ok_or_else(|| not_offered(name))
}

fn not_offered(name: &str) -> AppError {
    AppError::BadRequest(detail!("detail.payments.payment_method_offered", method = format!("{name:?}")))
}

/// The resident starts (or restarts) paying: the payment is created if needed, a checkout is
/// opened at the provider with an idempotency key, and its URL comes back. Before submission the
/// resident chooses the quantity for a per-unit fee; after review the office set the amount.
pub async fn start<L: Links>(
    db: &Db,
    links: L,
    (base_url, stripe_api_base, sandbox_allowed): (&str, &str, bool),
    resident: &Resident,
    p: &Procedure,
    application_id: i64,
    (method, units): (PaymentMethod, Option<i64>),
) -> Result<String> {
    let (_, timing) = online_rule(p)?;
    // Paid with the application: the 調定 is made from the 手数料条例 (or the procedure's own
    // fee) for the quantity chosen, when the payment opens.
    let fresh = if timing == Timing::BeforeSubmission {
        Some(schedule::due_for(db, p, None, units, None).await?)
    } else {
        None
    };
    let settings = sandbox::settings(db, p.tenant_id).await?;
    let (provider, method) = offered(&settings, sandbox_allowed, &designated(db, p.tenant_id).await?)
        .into_iter()
        .find(|(_, m)| *m == method)
        .ok_or_else(|| not_offered(method.as_str()))?;
    let opening = Opening { application_id, resident: resident.clone(), timing, fresh, provider, method };
    let chosen = (opening.provider, opening.method);
    let keys = db.keys();
    let opened =
        db.transact(move |conn| Box::pin(async move { open_payment(conn, &links, &keys, opening).await })).await?;
    let (payment_id, amount, attempt, tenant_id) = match opened {
        Ok(v) => v,
        Err(existing_url) => return Ok(existing_url),
    };
    // The provider call is outside the transaction; its idempotency key makes a retry after a
    // timeout return the same checkout instead of a second charge.
    let key = format!("kencho-payment-{payment_id}-{attempt}");
    let return_url = format!("{base_url}/applications/{application_id}/payment");
    let (provider, method) = chosen;
    let title = &p.def.title;
    let checkout = if provider == Provider::Stripe {
        let req = stripe::request(payment_id, title, amount, &return_url, &format!("payment-{payment_id}"), method);
        stripe_checkout(&settings, stripe_api_base, &req, attempt).await?
    } else {
        sandbox::create_checkout(db, base_url, tenant_id, amount, method, title, &return_url, &key).await?
    };
    record_checkout(db, payment_id, &checkout).await?;
    Ok(checkout.1)
}

/// What the resident asked to pay, carried into the transaction that opens the payment.
struct Opening {
    application_id: i64,
    resident: Resident,
    timing: Timing,
    /// The 調定 made now, for a fee paid before submission.
    fresh: Option<Due>,
    provider: Provider,
    method: PaymentMethod,
}

/// In the transaction: the application locked, the payment to pay found or made, and an
/// attempt opened on it — (id, amount, attempt, tenant); or, when the same checkout is tried
/// again as it is, its URL.
async fn open_payment<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    keys: &crate::crypto::Keyring,
    o: Opening,
) -> Result<std::result::Result<(i64, i64, i64, i64), String>> {
    let a = links.lock_application(conn, keys, o.application_id, Payer::Resident(o.resident.id)).await?;
    let existing = store::open_payments(conn, o.application_id, false).await?;
    if existing.iter().any(|x| x.state == State::Paid) {
        return Err(AppError::Refused("already_paid", detail!("detail.payments.fee_paid_already")));
    }
    let open = existing.into_iter().next();
    let (id, amount, reused) = payment_to_open(conn, links, &a, &o, open).await?;
    if amount <= 0 {
        return Err(AppError::Refused("nothing_due", detail!("detail.payments.nothing_due")));
    }
    let (provider, method, resident) = (o.provider, o.method, &o.resident);
    // The agent takes only the revenues its 告示 names (231条の2の3第2項).
    agents::require_covers(conn, a.tenant_id, provider, id).await?;
    if let Some(x) = reused {
        if x.provider == Some(provider) && x.method == Some(method) {
            // Its checkout is tried again as it is (the resident is back after a
            // declined card).
            if let Some(url) = x.checkout_url {
                return Ok(Err(url));
            }
        } else if x.provider.is_some() {
            // Another method: this payment's checkout is given up, a new payment opens.
            cancel_in(conn, links, &x, "method changed").await?;
            let new_id = insert_payment_like(conn, &x, resident.id).await?;
            return open_attempt(conn, new_id, provider, method, resident, a.tenant_id, a.id, amount).await.map(Ok);
        }
    }
    open_attempt(conn, id, provider, method, resident, a.tenant_id, a.id, amount).await.map(Ok)
}

/// Which payment this attempt pays: (id, amount, the open payment when it is tried again as
/// it stands). After review, the one the office set; before submission, the open one if its
/// quantity is unchanged, else a new one.
async fn payment_to_open<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    a: &ForApplication,
    o: &Opening,
    open: Option<Payment>,
) -> Result<(i64, i64, Option<Payment>)> {
    match (open, o.timing) {
        (Some(x), Timing::AfterReview) => Ok((x.id, x.amount, Some(x))),
        (None, Timing::AfterReview) => Err(AppError::Refused("not_due", detail!("detail.payments.office_has_set_fee"))),
        (open, Timing::BeforeSubmission) => {
            if a.status != kencho_core::application::Status::Draft {
                return Err(AppError::Refused("wrong_state", detail!("detail.payments.fee_paid_before_submission")));
            }
            let due = o.fresh.as_ref().ok_or_else(|| AppError::Internal("no fee computed".into()))?;
            let amount = due.amount;
            let who = format!("resident:{}", o.resident.id);
            let key = Owner { resident_id: o.resident.id, ..a.owner() };
            match open {
                // Same quantity: a new attempt at the same payment.
                Some(x) if x.amount == amount => Ok((x.id, amount, Some(x))),
                Some(x) => {
                    // A different quantity: the old checkout is cancelled, a new payment made.
                    cancel_in(conn, links, &x, "quantity changed").await?;
                    Ok((insert_payment(conn, key, due, &who).await?, amount, None))
                }
                None => Ok((insert_payment(conn, key, due, &who).await?, amount, None)),
            }
        }
    }
}

/// Opens the checkout at Stripe: (session id, URL).
async fn stripe_checkout(
    settings: &sandbox::Settings,
    api_base: &str,
    req: &kencho_core::payment::stripe::CheckoutRequest,
    attempt: i64,
) -> Result<(String, String)> {
    let api_key = settings
        .stripe_api_key
        .as_ref()
        .map(|k| k.expose().to_string())
        .ok_or_else(|| AppError::Refused("provider", detail!("detail.payments.stripe_has_no_api")))?;
    let attempt = u32::try_from(attempt).unwrap_or(0);
    let session = stripe::create_checkout(&reqwest::Client::new(), api_base, &api_key, req, attempt).await?;
    let url = session.url.ok_or_else(|| AppError::Internal("Stripe gave no checkout URL".into()))?;
    Ok((session.id, url))
}

/// Keeps the provider's reference and checkout URL on the payment.
async fn record_checkout(db: &Db, payment_id: i64, (r, url): &(String, String)) -> Result<()> {
    let (r, url) = (r.clone(), url.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            store::set_checkout(conn, payment_id, &r, &url, now_ms()).await?;
            Ok(())
        })
    })
    .await
}

/// Starts a new attempt of a payment at a provider (audited); returns (id, amount, attempt,
/// tenant).
#[allow(clippy::too_many_arguments)]
async fn open_attempt(
    conn: &mut AnyConnection,
    id: i64,
    provider: Provider,
    method: PaymentMethod,
    resident: &Resident,
    tenant_id: i64,
    application_id: i64,
    amount: i64,
) -> Result<(i64, i64, i64, i64)> {
    let expires_at = now_ms() + CHECKOUT_MINUTES * 60_000;
    let attempt = store::new_attempt(conn, id, (provider, method), expires_at, now_ms()).await?;
    audit::append(
        conn,
        tenant_id,
        &format!("resident:{}", resident.id),
        "payment.started",
        &format!("payment:{id}"),
        serde_json::json!({"application": application_id, "amount": amount, "method": method.as_str(), "attempt": attempt}),
    )
    .await?;
    Ok((id, amount, attempt, tenant_id))
}

/// Expires checkouts nobody finished, through the same ledger path as a provider's event.
pub async fn expire_due<L: Links>(db: &Db, links: &L) -> Result<usize> {
    let now = now_ms();
    let ids = store::expired_payments(db, now).await?;
    let mut n = 0;
    for id in ids {
        let e = ProviderEvent {
            event_id: format!("kencho-expiry-{id}"),
            at_unix: now / 1000,
            payment_ref: String::new(),
            kind: EventKind::Expired,
        };
        let links = links.clone();
        let out = db
            .transact(move |conn| Box::pin(async move { apply_to(conn, &links, id, KENCHO, &e, "expiry").await }))
            .await?;
        if out == Applied::Changed {
            n += 1;
        }
    }
    Ok(n)
}

/// Expires abandoned payments every 30 s.
pub async fn expiry_worker<L: Links>(db: Db, links: L, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("payment expiry", std::time::Duration::from_secs(30)).after_period();
    crate::worker::run(every, stop, || async { expire_due(&db, &links).await.map(|_| crate::worker::Pass::Idle) })
        .await;
}
