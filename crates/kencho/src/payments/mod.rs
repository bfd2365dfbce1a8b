//! キャッシュレス決済 in storage: payments of application fees, moved only by verified provider
//! events through the ledger (`kencho_core::payment::ledger`), refunds, expiry, receipts by
//! mail, and the figures the accounting system and the CIO office read.
//!
//! A payment belongs to one application. Its row keeps the ledger (JSON) and, for queries, the
//! state and amounts; every provider event received is a `payment_events` row whose unique
//! (provider, event id) makes a duplicate webhook a no-op even when two arrive at once.

pub mod agents;
mod cash;
mod events;
pub mod fiscal;
mod links;
mod receipts;
pub mod reconcile;
mod refunds;
pub mod sandbox;
pub mod schedule;
pub mod stripe;

pub use cash::*;
pub use events::apply_event;
use events::apply_to;
pub use links::{Addressee, ForApplication, Links, Payer, RefundDecision};
pub use receipts::{lock_paid, receipt_facts};
pub use refunds::*;

use kencho_core::payment::event::{EventKind, ProviderEvent};
use kencho_core::payment::fee::{FeeRule, Timing};
use kencho_core::payment::ledger::{Applied, Ledger, State};
use kencho_core::payment::provider::Provider;
use kencho_core::security::Action;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::actor::{Resident, Staff};
use crate::audit;
use crate::db::{now_ms, parsed, Db};
use crate::error::{AppError, Result};
use crate::i18n::tf;
use crate::mail;
use crate::procedures::Procedure;
use schedule::Due;

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
    /// None until an attempt opens at a provider (stored and answered as "").
    #[serde(serialize_with = "provider_name")]
    #[schema(value_type = String)]
    pub provider: Option<Provider>,
    pub method: String,
    pub provider_ref: Option<String>,
    #[schema(value_type = String)]
    pub state: State,
    pub paid_amount: i64,
    pub refunded_amount: i64,
    pub checkout_url: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub paid_at: Option<i64>,
    /// 納付日とみなす日: the day the resident paid the provider (YYYY-MM-DD, JST).
    pub deemed_paid_on: Option<String>,
    /// The day the provider's money arrived, from its settlement file (YYYY-MM-DD).
    pub funds_arrived_on: Option<String>,
}

const COLS: &str = "id, application_id, tenant_id, revenue_code, amount, units, exemption_percent, exemption_reason, \
    provider, method, provider_ref, state, paid_amount, refunded_amount, checkout_url, created_at, expires_at, paid_at, \
    exemption_evidence, deemed_paid_on, funds_arrived_on";

/// The provider column: "" while no attempt has opened.
fn provider_of(r: &sqlx::any::AnyRow) -> Result<Option<Provider>> {
    parsed(r, "provider", |v| if v.is_empty() { Some(None) } else { Provider::parse(v).map(Some) })
}

pub(super) fn provider_name<S: serde::Serializer>(p: &Option<Provider>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(p.map_or("", Provider::as_str))
}

fn payment_of(r: &sqlx::any::AnyRow) -> Result<Payment> {
    Ok(Payment {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        tenant_id: r.try_get("tenant_id")?,
        revenue_code: r.try_get("revenue_code")?,
        amount: r.try_get("amount")?,
        units: r.try_get("units")?,
        exemption_percent: r.try_get("exemption_percent")?,
        exemption_reason: r.try_get("exemption_reason")?,
        provider: provider_of(r)?,
        method: r.try_get("method")?,
        provider_ref: r.try_get("provider_ref")?,
        state: parsed(r, "state", State::parse)?,
        paid_amount: r.try_get("paid_amount")?,
        refunded_amount: r.try_get("refunded_amount")?,
        checkout_url: r.try_get("checkout_url")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        paid_at: r.try_get("paid_at")?,
        exemption_evidence: r.try_get("exemption_evidence")?,
        deemed_paid_on: r.try_get("deemed_paid_on")?,
        funds_arrived_on: r.try_get("funds_arrived_on")?,
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
    /// 調定額, 収入済額 and 未収 (施行令154条).
    pub standing: fiscal::Standing,
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
    let open = payments.iter().rev().find(|x| x.state.is_open()).cloned();
    let due = open.as_ref().map(|x| x.amount).unwrap_or(0);
    Ok(Summary {
        due: if paid > 0 { 0 } else { due },
        paid,
        refunded,
        open,
        payments,
        standing: fiscal::standing(db, application_id).await?,
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
        sqlx::query(
            "SELECT CAST(COALESCE(SUM(paid_amount), 0) AS BIGINT) AS paid FROM payments WHERE application_id = $1 AND state = 'paid'",
        )
        .bind(application_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("paid")?;
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

/// A new payment of `due`, with its 調定 (made before anything can be received against it).
async fn insert_payment(
    conn: &mut AnyConnection,
    (tenant_id, application_id, resident_id): (i64, i64, i64),
    due: &Due,
    decided_by: &str,
) -> Result<i64> {
    let now = now_ms();
    let ledger = serde_json::to_string(&Ledger::new(due.amount)).map_err(AppError::unexpected)?;
    let id: i64 = sqlx::query(
        "INSERT INTO payments (tenant_id, application_id, resident_id, revenue_code, amount, units, exemption_percent, \
         exemption_reason, provider, method, state, ledger, created_at, expires_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, '', '', 'created', $8, $9, $10, $9) RETURNING id",
    )
    .bind(tenant_id)
    .bind(application_id)
    .bind(resident_id)
    .bind(&due.revenue_code)
    .bind(due.amount)
    .bind((due.units > 1).then_some(due.units))
    .bind(due.ground_text.clone().or_else(|| due.ground.clone()))
    .bind(&ledger)
    .bind(now)
    .bind(now + CHECKOUT_MINUTES * 60_000)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    schedule::insert_chotei(conn, (tenant_id, application_id, id), due, decided_by).await?;
    Ok(id)
}

/// A payment replacing `old` (another method, cash at the counter): received against the same
/// 調定 terms.
async fn insert_payment_like(conn: &mut AnyConnection, old: &Payment, resident_id: i64) -> Result<i64> {
    let (due, by) = match schedule::due_of_payment(conn, old.id).await? {
        Some(v) => v,
        // A payment from before 調定 were kept: its own amount.
        None => (
            Due {
                item: String::new(),
                article: String::new(),
                revenue_code: old.revenue_code.clone(),
                units: old.units.unwrap_or(1),
                gross: old.amount,
                reduction: 0,
                ground: None,
                ground_text: None,
                amount: old.amount,
                fiscal_year: Some(schedule::fiscal_year_at(old.created_at)),
            },
            "kencho".to_string(),
        ),
    };
    insert_payment(conn, (old.tenant_id, old.application_id, resident_id), &due, &by).await
}

/// Methods a resident may choose for a tenant: (provider, method).
/// `sandbox`: the process offers the sandbox provider (only with `--demo` or
/// `--payment-sandbox`; a production server never takes test cards).
pub async fn methods(db: &Db, tenant_id: i64, sandbox: bool) -> Result<Vec<(Provider, String)>> {
    Ok(offered(&sandbox::settings(db, tenant_id).await?, sandbox, &designated(db, tenant_id).await?))
}

async fn designated(db: &Db, tenant_id: i64) -> Result<Vec<Provider>> {
    Ok(agents::list(db, tenant_id).await?.into_iter().filter_map(|a| a.provider).collect())
}

/// The methods `s` turns on: (provider, method); only providers designated as 指定納付受託者.
fn offered(s: &sandbox::Settings, sandbox_allowed: bool, designated: &[Provider]) -> Vec<(Provider, String)> {
    let mut out = Vec::new();
    let on = |p: Provider| designated.contains(&p);
    // A tenant with a real provider configured pays through it; the sandbox is for the demo.
    if s.stripe_enabled && s.stripe_api_key_set() && on(Provider::Stripe) {
        for m in s.stripe_methods.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            out.push((Provider::Stripe, m.to_string()));
        }
        return out;
    }
    if s.sandbox_enabled && sandbox_allowed && on(Provider::Sandbox) {
        for m in s.sandbox_methods.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            out.push((Provider::Sandbox, m.to_string()));
        }
    }
    out
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
    (method, units): (&str, Option<i64>),
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
        .find(|(_, m)| m == method)
        .ok_or_else(|| AppError::BadRequest(format!("payment method {method:?} is not offered")))?;
    let opening = Opening { application_id, resident: resident.clone(), timing, fresh, provider, method };
    let chosen = (opening.provider, opening.method.clone());
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
        let req = stripe::request(payment_id, title, amount, &return_url, &format!("payment-{payment_id}"), &method);
        stripe_checkout(&settings, stripe_api_base, &req, attempt).await?
    } else {
        sandbox::create_checkout(db, base_url, tenant_id, amount, &method, title, &return_url, &key).await?
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
    method: String,
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
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM payments WHERE application_id = $1 AND state IN ('created', 'pending', 'failed', 'paid') ORDER BY id DESC"
    ))
    .bind(o.application_id)
    .fetch_all(&mut *conn)
    .await?;
    let existing: Vec<Payment> = rows.iter().map(payment_of).collect::<Result<_>>()?;
    if existing.iter().any(|x| x.state == State::Paid) {
        return Err(AppError::Refused("already_paid", "this fee is paid already".into()));
    }
    let open = existing.into_iter().next();
    let (id, amount, reused) = payment_to_open(conn, links, &a, &o, open).await?;
    if amount <= 0 {
        return Err(AppError::Refused("nothing_due", "nothing is due".into()));
    }
    let (provider, method, resident) = (o.provider, &o.method, &o.resident);
    // The agent takes only the revenues its 告示 names (231条の2の3第2項).
    agents::require_covers(conn, a.tenant_id, provider, id).await?;
    if let Some(x) = reused {
        if x.provider == Some(provider) && &x.method == method {
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
        (None, Timing::AfterReview) => Err(AppError::Refused("not_due", "the office has not set the fee yet".into())),
        (open, Timing::BeforeSubmission) => {
            if a.status != kencho_core::application::Status::Draft {
                return Err(AppError::Refused("wrong_state", "the fee is paid before submission".into()));
            }
            let due = o.fresh.as_ref().ok_or_else(|| AppError::Internal("no fee computed".into()))?;
            let amount = due.amount;
            let who = format!("resident:{}", o.resident.id);
            let key = (a.tenant_id, a.id, o.resident.id);
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
        .ok_or_else(|| AppError::Refused("provider", "Stripe has no API key".into()))?;
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
    .await
}

/// Starts a new attempt of a payment at a provider (audited); returns (id, amount, attempt,
/// tenant).
#[allow(clippy::too_many_arguments)]
async fn open_attempt(
    conn: &mut AnyConnection,
    id: i64,
    provider: Provider,
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
    .bind(provider.as_str())
    .bind(method)
    .bind(now_ms() + CHECKOUT_MINUTES * 60_000)
    .bind(now_ms())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("attempt")?;
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

async fn cancel_in<L: Links>(conn: &mut AnyConnection, links: &L, x: &Payment, why: &str) -> Result<Applied> {
    let e = ProviderEvent {
        event_id: format!("kencho-cancel-{}-{}", x.id, now_ms()),
        at_unix: now_ms() / 1000,
        payment_ref: x.provider_ref.clone().unwrap_or_default(),
        kind: EventKind::Cancelled,
    };
    apply_to(conn, links, x.id, events::KENCHO, &e, why).await
}

/// What staff choose when they set a fee: an item of the 手数料条例 (absent: the procedure's
/// own), how many, and a 減免事由 of the 条例.
#[derive(Debug, Clone, Default)]
pub struct FeeChoice {
    pub item: Option<String>,
    pub units: Option<i64>,
    pub ground: Option<String>,
    /// The application's attachment that evidences the 減免.
    pub evidence: Option<String>,
}

/// 事後決済: the office sets what is due after review — an item of the 手数料条例, its amount
/// computed, with a 減免 only on a ground of the 条例 and only by staff the roles table allows
/// (`fee_set`, `fee_reduce`) — the 調定 is made, and the resident is mailed a link to pay
/// (the 納入の通知, 地方自治法231条).
pub async fn set_due<L: Links>(
    db: &Db,
    links: L,
    base_url: &str,
    staff: &Staff,
    p: &Procedure,
    application_id: i64,
    choice: FeeChoice,
) -> Result<i64> {
    let (_, timing) = online_rule(p)?;
    if timing != Timing::AfterReview {
        return Err(AppError::Refused("wrong_timing", "this fee is paid before submission".into()));
    }
    crate::security::policy::require(db, staff, Action::FeeSet, None).await?;
    if choice.ground.is_some() {
        crate::security::policy::require(db, staff, Action::FeeReduce, None).await?;
    }
    let due = schedule::due_for(db, p, choice.item.as_deref(), choice.units, choice.ground.as_deref()).await?;
    let (staff, base_url, title) = (staff.clone(), base_url.to_string(), p.def.title.clone());
    let keys = db.keys();
    db.transact(move |conn| {
        Box::pin(async move {
            let a = links.lock_application(conn, &keys, application_id, Payer::Staff(staff.clone())).await?;
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
            let actor = format!("staff:{}", staff.id);
            let id = insert_payment(conn, (a.tenant_id, a.id, a.resident_id), &due, &actor).await?;
            if let Some(ev) = choice.evidence.as_deref().filter(|_| due.ground.is_some()) {
                attach_evidence(conn, &links, a.id, id, ev).await?;
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
                &actor,
                "payment.due_set",
                &format!("payment:{id}"),
                serde_json::json!({"application": a.id, "item": due.item, "units": due.units, "gross": due.gross,
                    "reduction": due.reduction, "ground": due.ground, "amount": due.amount}),
            )
            .await?;
            mail_due(conn, &base_url, &title, &a, id, &due).await?;
            Ok(id)
        })
    })
    .await
}

/// The 納入の通知 by mail: what is due, any 減免, and the link to pay. In Japanese: the
/// resident's language is not kept (as with the office's status mails).
async fn mail_due(
    conn: &mut AnyConnection,
    base_url: &str,
    title: &str,
    a: &ForApplication,
    payment_id: i64,
    due: &Due,
) -> Result<()> {
    let lang = crate::i18n::OFFICE;
    let (amount, reduction, id) = (due.amount.to_string(), due.reduction.to_string(), a.id.to_string());
    let reduced = match &due.ground_text {
        Some(g) => tf(lang, "mail.payment_due.reduction", &[("ground", g), ("reduction", &reduction)]),
        None => String::new(),
    };
    let args = [
        ("name", a.resident_name.as_str()),
        ("title", title),
        ("receipt", a.receipt_number.as_deref().unwrap_or("-")),
        ("amount", amount.as_str()),
        ("reduction", reduced.as_str()),
        ("base_url", base_url),
        ("application_id", id.as_str()),
    ];
    let (subject, body) = (tf(lang, "mail.payment_due.subject", &args), tf(lang, "mail.payment_due.body", &args));
    mail::enqueue(conn, &format!("app:{}:fee:{payment_id}", a.id), &a.resident_email, &subject, &body).await
}

/// Links the 減免's evidence: one of the application's own attachments.
async fn attach_evidence<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    application_id: i64,
    payment_id: i64,
    ev: &str,
) -> Result<()> {
    let name = links
        .attachment_name(conn, application_id, ev)
        .await?
        .ok_or_else(|| AppError::BadRequest("the evidence must be an attachment of this application".into()))?;
    sqlx::query("UPDATE payments SET exemption_evidence = $1 WHERE id = $2")
        .bind(format!("{ev} {name}"))
        .bind(payment_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Expires checkouts nobody finished, through the same ledger path as a provider's event.
pub async fn expire_due<L: Links>(db: &Db, links: &L) -> Result<usize> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT id FROM payments WHERE state IN ('created', 'pending', 'failed') AND expires_at < $1 LIMIT 500",
    )
    .bind(now)
    .fetch_all(&db.read)
    .await?;
    let mut n = 0;
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let e = ProviderEvent {
            event_id: format!("kencho-expiry-{id}"),
            at_unix: now / 1000,
            payment_ref: String::new(),
            kind: EventKind::Expired,
        };
        let links = links.clone();
        let out = db
            .transact(move |conn| {
                Box::pin(async move { apply_to(conn, &links, id, events::KENCHO, &e, "expiry").await })
            })
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

/// The payment a provider knows by `payment_ref`, if it is paid.
pub async fn paid_by_ref(db: &Db, provider: Provider, payment_ref: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT id FROM payments WHERE provider = $1 AND provider_ref = $2 AND state = 'paid'",
    )
    .bind(provider.as_str())
    .bind(payment_ref)
    .fetch_optional(&db.read)
    .await?)
}
