//! キャッシュレス決済 in storage: payments of application fees, moved only by verified provider
//! events through the ledger (`kencho_core::payment::ledger`), refunds, expiry, receipts by
//! mail, and the figures the accounting system and the CIO office read.
//!
//! A payment belongs to one application. Its row keeps the ledger (JSON) and, for queries, the
//! state and amounts; every provider event received is a `payment_events` row whose unique
//! (provider, event id) makes a duplicate webhook a no-op even when two arrive at once.

mod events;
pub mod reconcile;
mod refunds;
pub mod sandbox;
pub mod stripe;

pub use events::apply_event;
use events::apply_to;
pub use refunds::*;

use kencho_core::payment::event::{EventKind, ProviderEvent};
use kencho_core::payment::fee::{amount_due, Exemption, FeeRule, Timing};
use kencho_core::payment::ledger::{Applied, Ledger, State};
use kencho_core::security::Action;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::accounts::{Resident, Staff};
use crate::audit;
use crate::db::{now_ms, Db, Dialect};
use crate::error::{AppError, Result};
use crate::mail;
use crate::procedures::Procedure;

/// How long a checkout stays open before the payment expires.
pub const CHECKOUT_MINUTES: i64 = 30;

/// A payment as the application page and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: i64,
    pub application_id: i64,
    pub tenant_id: i64,
    pub revenue_code: String,
    pub amount: i64,
    pub units: Option<i64>,
    pub exemption_percent: Option<i64>,
    pub exemption_reason: Option<String>,
    /// The application's attachment that evidences the 減免.
    pub exemption_evidence: Option<String>,
    pub provider: String,
    pub method: String,
    pub provider_ref: Option<String>,
    pub state: String,
    pub paid_amount: i64,
    pub refunded_amount: i64,
    pub checkout_url: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub paid_at: Option<i64>,
}

const COLS: &str = "id, application_id, tenant_id, revenue_code, amount, units, exemption_percent, exemption_reason, \
    provider, method, provider_ref, state, paid_amount, refunded_amount, checkout_url, created_at, expires_at, paid_at, \
    exemption_evidence";

fn payment_of(r: &sqlx::any::AnyRow) -> Result<Payment> {
    Ok(Payment {
        id: r.try_get(0)?,
        application_id: r.try_get(1)?,
        tenant_id: r.try_get(2)?,
        revenue_code: r.try_get(3)?,
        amount: r.try_get(4)?,
        units: r.try_get(5)?,
        exemption_percent: r.try_get(6)?,
        exemption_reason: r.try_get(7)?,
        provider: r.try_get(8)?,
        method: r.try_get(9)?,
        provider_ref: r.try_get(10)?,
        state: r.try_get(11)?,
        paid_amount: r.try_get(12)?,
        refunded_amount: r.try_get(13)?,
        checkout_url: r.try_get(14)?,
        created_at: r.try_get(15)?,
        expires_at: r.try_get(16)?,
        paid_at: r.try_get(17)?,
        exemption_evidence: r.try_get(18)?,
    })
}

/// What is due, paid and refunded for an application.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Integer yen still to pay (0 when paid or nothing is due).
    pub due: i64,
    pub paid: i64,
    pub refunded: i64,
    /// The payment the resident pays now, if one is open.
    pub open: Option<Payment>,
    pub payments: Vec<Payment>,
    /// The procedure collects its fee online, and when.
    pub timing: Option<String>,
}

pub async fn for_application(db: &Db, application_id: i64) -> Result<Vec<Payment>> {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE application_id = $1 ORDER BY id"))
        .bind(application_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(payment_of).collect()
}

pub async fn summary(db: &Db, p: &Procedure, application_id: i64) -> Result<Summary> {
    let payments = for_application(db, application_id).await?;
    let paid: i64 = payments.iter().map(|x| x.paid_amount).sum();
    let refunded: i64 = payments.iter().map(|x| x.refunded_amount).sum();
    let open = payments.iter().rev().find(|x| matches!(x.state.as_str(), "created" | "pending" | "failed")).cloned();
    let due = open.as_ref().map(|x| x.amount).unwrap_or(0);
    Ok(Summary {
        due: if paid > 0 { 0 } else { due },
        paid,
        refunded,
        open,
        payments,
        timing: p.def.fee.rule().map(|(_, t)| match t {
            Timing::BeforeSubmission => "before_submission".into(),
            Timing::AfterReview => "after_review".into(),
        }),
    })
}

/// Refuses to submit an application whose fee is paid before submission and is not paid.
pub async fn require_paid_before_submission(
    conn: &mut AnyConnection,
    p: &Procedure,
    application_id: i64,
) -> Result<()> {
    if p.def.fee.rule().is_none_or(|(_, t)| t != Timing::BeforeSubmission) {
        return Ok(());
    }
    let paid: i64 =
        sqlx::query("SELECT CAST(COALESCE(SUM(paid_amount), 0) AS BIGINT) FROM payments WHERE application_id = $1 AND state = 'paid'")
            .bind(application_id)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
    if paid > 0 {
        Ok(())
    } else {
        Err(AppError::Refused("payment_required", "pay the fee before submitting this application".into()))
    }
}

/// The procedure's fee rule and timing, when its fee is collected online.
fn online_rule(p: &Procedure) -> Result<(FeeRule, Timing)> {
    p.def.fee.rule().ok_or_else(|| AppError::Refused("no_fee", "this procedure's fee is not paid online".into()))
}

fn revenue_code(p: &Procedure) -> String {
    p.def.fee.revenue_code.clone().unwrap_or_default()
}

#[allow(clippy::too_many_arguments)] // one column each
async fn insert_payment(
    conn: &mut AnyConnection,
    tenant_id: i64,
    application_id: i64,
    resident_id: i64,
    code: &str,
    amount: i64,
    units: Option<i64>,
    exemption: Option<&Exemption>,
) -> Result<i64> {
    let now = now_ms();
    let ledger = serde_json::to_string(&Ledger::new(amount)).map_err(|e| AppError::Internal(e.to_string()))?;
    let id: i64 = sqlx::query(
        "INSERT INTO payments (tenant_id, application_id, resident_id, revenue_code, amount, units, exemption_percent, \
         exemption_reason, provider, method, state, ledger, created_at, expires_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', '', 'created', $9, $10, $11, $10) RETURNING id",
    )
    .bind(tenant_id)
    .bind(application_id)
    .bind(resident_id)
    .bind(code)
    .bind(amount)
    .bind(units)
    .bind(exemption.map(|x| x.percent))
    .bind(exemption.map(|x| x.reason.clone()))
    .bind(&ledger)
    .bind(now)
    .bind(now + CHECKOUT_MINUTES * 60_000)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    Ok(id)
}

/// Methods a resident may choose for a tenant: (provider, method).
/// `sandbox`: the process offers the sandbox provider (only with `--demo` or
/// `--payment-sandbox`; a production server never takes test cards).
pub async fn methods(db: &Db, tenant_id: i64, sandbox: bool) -> Result<Vec<(String, String)>> {
    Ok(offered(&sandbox::settings(db, tenant_id).await?, sandbox))
}

/// The methods `s` turns on: (provider, method).
fn offered(s: &sandbox::Settings, sandbox_allowed: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // A tenant with a real provider configured pays through it; the sandbox is for the demo.
    if s.stripe_enabled && s.stripe_api_key_set() {
        for m in s.stripe_methods.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            out.push(("stripe".to_string(), m.to_string()));
        }
        return out;
    }
    if s.sandbox_enabled && sandbox_allowed {
        for m in s.sandbox_methods.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            out.push(("sandbox".to_string(), m.to_string()));
        }
    }
    out
}

/// The resident starts (or restarts) paying: the payment is created if needed, a checkout is
/// opened at the provider with an idempotency key, and its URL comes back. Before submission the
/// resident chooses the quantity for a per-unit fee; after review the office set the amount.
pub async fn start(
    db: &Db,
    (base_url, stripe_api_base, sandbox_allowed): (&str, &str, bool),
    resident: &Resident,
    p: &Procedure,
    application_id: i64,
    method: &str,
    units: Option<i64>,
) -> Result<String> {
    let (rule, timing) = online_rule(p)?;
    let settings = sandbox::settings(db, p.tenant_id).await?;
    let (provider, method) = offered(&settings, sandbox_allowed)
        .into_iter()
        .find(|(_, m)| m == method)
        .ok_or_else(|| AppError::BadRequest(format!("payment method {method:?} is not offered")))?;
    let (base_url, resident, code) = (base_url.to_string(), resident.clone(), revenue_code(p));
    let title = p.def.title.clone();
    let chosen = (provider.clone(), method.clone());
    let keys = db.keys();
    let opened: std::result::Result<(i64, i64, i64, i64), String> = db
        .transact(move |conn| {
            Box::pin(async move {
                crate::applications::lock_row(conn, application_id).await?;
                let a = crate::applications::load(conn, &keys, application_id).await?;
                if a.resident_id != resident.id {
                    return Err(AppError::NotFound);
                }
                let rows = sqlx::query(&format!(
                    "SELECT {COLS} FROM payments WHERE application_id = $1 AND state IN ('created', 'pending', 'failed', 'paid') ORDER BY id DESC"
                ))
                .bind(application_id)
                .fetch_all(&mut *conn)
                .await?;
                let existing: Vec<Payment> = rows.iter().map(payment_of).collect::<Result<_>>()?;
                if existing.iter().any(|x| x.state == "paid") {
                    return Err(AppError::Refused("already_paid", "this fee is paid already".into()));
                }
                let open = existing.into_iter().next();
                // `reused`: the open payment tried again, as it stands.
                let (id, amount, reused) = match (open, timing) {
                    (Some(x), Timing::AfterReview) => (x.id, x.amount, Some(x)),
                    (None, Timing::AfterReview) => {
                        return Err(AppError::Refused("not_due", "the office has not set the fee yet".into()))
                    }
                    (open, Timing::BeforeSubmission) => {
                        if a.status != kencho_core::application::Status::Draft {
                            return Err(AppError::Refused("wrong_state", "the fee is paid before submission".into()));
                        }
                        let amount = amount_due(rule, units, None, None)
                            .map_err(|e| AppError::BadRequest(e.to_string()))?;
                        match open {
                            // Same quantity: a new attempt at the same payment.
                            Some(x) if x.amount == amount => (x.id, amount, Some(x)),
                            Some(x) => {
                                // A different quantity: the old checkout is cancelled, a new payment made.
                                cancel_in(conn, &x, "quantity changed").await?;
                                (insert_payment(conn, a.tenant_id, a.id, resident.id, &code, amount, units, None).await?, amount, None)
                            }
                            None => {
                                (insert_payment(conn, a.tenant_id, a.id, resident.id, &code, amount, units, None).await?, amount, None)
                            }
                        }
                    }
                };
                if amount <= 0 {
                    return Err(AppError::Refused("nothing_due", "nothing is due".into()));
                }
                if let Some(x) = reused {
                    if x.provider == provider && x.method == method {
                        // Its checkout is tried again as it is (the resident is back after a
                        // declined card).
                        if let Some(url) = x.checkout_url {
                            return Ok(Err(url));
                        }
                    } else if !x.provider.is_empty() {
                        // Another method: this payment's checkout is given up, a new payment opens.
                        cancel_in(conn, &x, "method changed").await?;
                        let new_id = insert_payment(conn, a.tenant_id, a.id, resident.id, &code, amount, x.units, None).await?;
                        return open_attempt(conn, new_id, &provider, &method, &resident, a.tenant_id, a.id, amount).await.map(Ok);
                    }
                }
                open_attempt(conn, id, &provider, &method, &resident, a.tenant_id, a.id, amount).await.map(Ok)
            })
        })
        .await?;
    let (payment_id, amount, attempt, tenant_id) = match opened {
        Ok(v) => v,
        Err(existing_url) => return Ok(existing_url),
    };
    // The provider call is outside the transaction; its idempotency key makes a retry after a
    // timeout return the same checkout instead of a second charge.
    let key = format!("kencho-payment-{payment_id}-{attempt}");
    let return_url = format!("{base_url}/applications/{application_id}/payment");
    let (provider, method) = chosen;
    let checkout = if provider == "stripe" {
        let api_key = settings
            .stripe_api_key
            .as_ref()
            .map(|k| k.expose().to_string())
            .ok_or_else(|| AppError::Refused("provider", "Stripe has no API key".into()))?;
        let req = stripe::request(payment_id, &title, amount, &return_url, &format!("payment-{payment_id}"), &method);
        let attempt = u32::try_from(attempt).unwrap_or(0);
        let session =
            stripe::create_checkout(&reqwest::Client::new(), stripe_api_base, &api_key, &req, attempt).await?;
        let url = session.url.ok_or_else(|| AppError::Internal("Stripe gave no checkout URL".into()))?;
        (session.id, url)
    } else {
        sandbox::create_checkout(db, &base_url, tenant_id, amount, &method, &title, &return_url, &key).await?
    };
    let (r, url) = (checkout.0.clone(), checkout.1.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE payments SET provider_ref = $1, checkout_url = $2, updated_at = $3 WHERE id = $4")
                .bind(&r)
                .bind(&url)
                .bind(now_ms())
                .bind(payment_id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await?;
    Ok(checkout.1)
}

/// Starts a new attempt of a payment at a provider (audited); returns (id, amount, attempt,
/// tenant).
#[allow(clippy::too_many_arguments)]
async fn open_attempt(
    conn: &mut AnyConnection,
    id: i64,
    provider: &str,
    method: &str,
    resident: &Resident,
    tenant_id: i64,
    application_id: i64,
    amount: i64,
) -> Result<(i64, i64, i64, i64)> {
    let attempt: i64 = sqlx::query(
        "UPDATE payments SET attempt = attempt + 1, provider = $1, method = $2, checkout_url = NULL, expires_at = $3, updated_at = $4 \
         WHERE id = $5 RETURNING attempt",
    )
    .bind(provider)
    .bind(method)
    .bind(now_ms() + CHECKOUT_MINUTES * 60_000)
    .bind(now_ms())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    audit::append(
        conn,
        tenant_id,
        &format!("resident:{}", resident.id),
        "payment.started",
        &format!("payment:{id}"),
        serde_json::json!({"application": application_id, "amount": amount, "method": method, "attempt": attempt}),
    )
    .await?;
    Ok((id, amount, attempt, tenant_id))
}

async fn cancel_in(conn: &mut AnyConnection, x: &Payment, why: &str) -> Result<()> {
    let e = ProviderEvent {
        event_id: format!("kencho-cancel-{}-{}", x.id, now_ms()),
        at_unix: now_ms() / 1000,
        payment_ref: x.provider_ref.clone().unwrap_or_default(),
        kind: EventKind::Cancelled,
    };
    apply_to(conn, x.id, "kencho", &e, why).await.map(|_| ())
}

/// 事後決済: the office sets what is due after review (a fixed or per-unit fee, or an amount
/// for a fee set by staff), with an optional 減免, and the resident is mailed a link to pay.
#[allow(clippy::too_many_arguments)] // the fee form's fields
pub async fn set_due(
    db: &Db,
    base_url: &str,
    staff: &Staff,
    p: &Procedure,
    application_id: i64,
    units: Option<i64>,
    staff_amount: Option<i64>,
    exemption: Option<Exemption>,
    evidence: Option<String>,
) -> Result<i64> {
    let (rule, timing) = online_rule(p)?;
    if timing != Timing::AfterReview {
        return Err(AppError::Refused("wrong_timing", "this fee is paid before submission".into()));
    }
    let amount =
        amount_due(rule, units, staff_amount, exemption.as_ref()).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (staff, base_url, code, title) = (staff.clone(), base_url.to_string(), revenue_code(p), p.def.title.clone());
    let units = if matches!(rule, FeeRule::PerUnit { .. }) { units } else { None };
    let keys = db.keys();
    db.transact(move |conn| {
        Box::pin(async move {
            crate::applications::lock_row(conn, application_id).await?;
            let a = crate::applications::load(conn, &keys, application_id).await?;
            if !crate::applications::staff_may_see(&staff, &a) {
                return Err(AppError::NotFound);
            }
            if !matches!(a.status, kencho_core::application::Status::Accepted | kencho_core::application::Status::Approved) {
                return Err(AppError::Refused("wrong_state", "the fee is set once the application is accepted".into()));
            }
            let open = sqlx::query("SELECT id FROM payments WHERE application_id = $1 AND state IN ('created', 'pending', 'failed', 'paid')")
                .bind(application_id)
                .fetch_optional(&mut *conn)
                .await?;
            if open.is_some() {
                return Err(AppError::Refused("already_set", "the fee of this application is set already".into()));
            }
            let id = insert_payment(conn, a.tenant_id, a.id, a.resident_id, &code, amount, units, exemption.as_ref()).await?;
            if let Some(ev) = evidence.as_deref().filter(|_| exemption.is_some()) {
                // The evidence is one of the application's own attachments.
                let found = sqlx::query("SELECT filename FROM attachments WHERE application_id = $1 AND public_id = $2")
                    .bind(a.id)
                    .bind(ev)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or_else(|| AppError::BadRequest("the evidence must be an attachment of this application".into()))?;
                let name: String = found.try_get(0)?;
                sqlx::query("UPDATE payments SET exemption_evidence = $1 WHERE id = $2")
                    .bind(format!("{ev} {name}"))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            // 事後決済 links stay open for two weeks, not the 30 minutes of a checkout.
            sqlx::query("UPDATE payments SET expires_at = $1 WHERE id = $2")
                .bind(now_ms() + 14 * 86_400_000)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            audit::append(
                conn,
                a.tenant_id,
                &format!("staff:{}", staff.id),
                "payment.due_set",
                &format!("payment:{id}"),
                serde_json::json!({"application": a.id, "amount": amount, "exemption": exemption}),
            )
            .await?;
            let body = format!(
                "{} 様\n\n{}（受付番号 {}）の手数料 {} 円のお支払いをお願いします。\n{}\n\n次のページからお支払いください（クレジットカード・QRコード決済）。\n{base_url}/applications/{}/payment\n",
                a.resident_name,
                title,
                a.receipt_number.as_deref().unwrap_or("-"),
                amount,
                exemption.as_ref().map(|x| format!("減免 {} %（{}）を適用しました。", x.percent, x.reason)).unwrap_or_default(),
                a.id
            );
            mail::enqueue(conn, &format!("app:{}:fee:{id}", a.id), &a.resident_email, &format!("【お支払いのお願い】{title}"), &body).await?;
            Ok(id)
        })
    })
    .await
}

/// Expires checkouts nobody finished, through the same ledger path as a provider's event.
pub async fn expire_due(db: &Db) -> Result<usize> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT id FROM payments WHERE state IN ('created', 'pending', 'failed') AND expires_at < $1 LIMIT 500",
    )
    .bind(now)
    .fetch_all(&db.read)
    .await?;
    let mut n = 0;
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let e = ProviderEvent {
            event_id: format!("kencho-expiry-{id}"),
            at_unix: now / 1000,
            payment_ref: String::new(),
            kind: EventKind::Expired,
        };
        let out =
            db.transact(move |conn| Box::pin(async move { apply_to(conn, id, "kencho", &e, "expiry").await })).await?;
        if out == Applied::Changed {
            n += 1;
        }
    }
    Ok(n)
}

/// Expires abandoned payments every 30 s.
pub async fn expiry_worker(db: Db) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        if let Err(e) = expire_due(&db).await {
            tracing::warn!(error = %e, "expiring payments failed");
        }
    }
}

/// A fee paid in cash at the counter (窓口), recorded by staff so the cashless share counts
/// every yen collected. It is a payment of provider `counter`, method `cash`, paid at once
/// through the same ledger.
pub async fn record_cash(db: &Db, staff: &Staff, p: &Procedure, application_id: i64, amount: i64) -> Result<i64> {
    if !(1..=kencho_core::payment::fee::MAX_YEN).contains(&amount) {
        return Err(AppError::BadRequest("the amount must be 1 to 10,000,000 yen".into()));
    }
    let (staff, code, keys) = (staff.clone(), revenue_code(p), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            crate::applications::lock_row(conn, application_id).await?;
            let a = crate::applications::load(conn, &keys, application_id).await?;
            if !crate::applications::staff_may_see(&staff, &a) {
                return Err(AppError::NotFound);
            }
            let open: Vec<Payment> = sqlx::query(&format!(
                "SELECT {COLS} FROM payments WHERE application_id = $1 AND state IN ('created', 'pending', 'failed', 'paid')"
            ))
            .bind(application_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(payment_of)
            .collect::<Result<_>>()?;
            if open.iter().any(|x| x.state == "paid") {
                return Err(AppError::Refused("already_paid", "this fee is paid already".into()));
            }
            for x in &open {
                cancel_in(conn, x, "paid at the counter").await?;
            }
            let id = insert_payment(conn, a.tenant_id, a.id, a.resident_id, &code, amount, None, None).await?;
            let r = format!("counter-{id}");
            sqlx::query("UPDATE payments SET provider = 'counter', method = 'cash', provider_ref = $1 WHERE id = $2")
                .bind(&r)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            let e = ProviderEvent {
                event_id: format!("counter-paid-{id}"),
                at_unix: now_ms() / 1000,
                payment_ref: r,
                kind: EventKind::Paid { amount },
            };
            apply_to(conn, id, "counter", &e, &format!("staff:{}", staff.id)).await?;
            Ok(id)
        })
    })
    .await
}

/// The payment a provider knows by `payment_ref`, if it is paid.
pub async fn paid_by_ref(db: &Db, provider: &str, payment_ref: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT id FROM payments WHERE provider = $1 AND provider_ref = $2 AND state = 'paid'",
    )
    .bind(provider)
    .bind(payment_ref)
    .fetch_optional(&db.read)
    .await?)
}
