//! What a provider's event (or kencho's own: expiry, counter cash) does to a payment: the
//! ledger moves once per event, the change is audited, and the resident is told.

use kencho_core::payment::event::{EventKind, ProviderEvent};
use kencho_core::payment::ledger::{Applied, Ledger, State};
use kencho_core::payment::provider::Provider;
use kencho_core::payment::refund::RefundAct;
use sqlx::AnyConnection;

use super::links::{Addressee, Links};
use super::model::{LedgerColumns, Payment};
use super::store;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};
use crate::mail;

/// The source of kencho's own events (expiry, a cancelled checkout), where a provider's name
/// would be.
pub(super) const KENCHO: &str = "kencho";

/// Applies a verified provider event to its payment, once. Returns what the ledger did.
pub async fn apply_event<L: Links>(
    db: &Db,
    links: L,
    provider: Provider,
    tenant_id: i64,
    e: ProviderEvent,
) -> Result<Applied> {
    db.transact(move |conn| {
        Box::pin(async move {
            let (id, tenant) = store::payment_by_ref(conn, provider, &e.payment_ref).await?.ok_or_else(|| {
                AppError::BadRequest(detail!(
                    "detail.payments.no_payment",
                    payment_ref = format!("{:?}", e.payment_ref),
                    provider = provider
                ))
            })?;
            if tenant != tenant_id {
                return Err(AppError::BadRequest(detail!("detail.payments.event_another_tenant_s")));
            }
            apply_to(conn, &links, id, provider.as_str(), &e, "provider").await
        })
    })
    .await
}

/// `provider`: who the event comes from, a provider's name or [`KENCHO`].
pub(super) async fn apply_to<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    id: i64,
    provider: &str,
    e: &ProviderEvent,
    source: &str,
) -> Result<Applied> {
    let (before, mut ledger) = store::lock_with_ledger(conn, id).await?;
    let (kind, amount) = kind_and_amount(&e.kind);
    let outcome = ledger.apply(e);
    let outcome_name = outcome.describe();
    let inserted = record_event(conn, id, provider, e, &outcome_name).await?;
    if !inserted || outcome == Applied::Duplicate {
        return Ok(Applied::Duplicate);
    }
    store_ledger(conn, &before, &ledger, e).await?;
    if let EventKind::Refunded { refund_ref, .. } = &e.kind {
        if outcome == Applied::Changed {
            super::refunds::advance_by_ref(conn, id, refund_ref, RefundAct::Settled { ok: true }).await?;
        }
    }
    audit::append(
        conn,
        before.tenant_id,
        &format!("provider:{provider}"),
        &format!("payment.{kind}"),
        &format!("payment:{id}"),
        serde_json::json!({"event": e.event_id, "amount": amount, "outcome": outcome_name, "source": source,
                           "state": ledger.state().as_str(), "paid": ledger.paid(), "refunded": ledger.counted_refunds()}),
    )
    .await?;
    if outcome == Applied::Changed {
        let to = links.addressee(conn, before.application_id).await?;
        tell_resident(conn, &to, &before, &ledger, e).await?;
    }
    Ok(outcome)
}

/// The event's kind as stored and audited, and the money it moves.
fn kind_and_amount(kind: &EventKind) -> (&'static str, Option<i64>) {
    match kind {
        EventKind::Pending => ("pending", None),
        EventKind::Paid { amount } => ("paid", Some(*amount)),
        EventKind::Failed { .. } => ("failed", None),
        EventKind::Expired => ("expired", None),
        EventKind::Cancelled => ("cancelled", None),
        EventKind::Refunded { amount, .. } => ("refunded", Some(*amount)),
    }
}

/// Keeps the event; false when the same (provider, event id) was kept before.
async fn record_event(
    conn: &mut AnyConnection,
    id: i64,
    provider: &str,
    e: &ProviderEvent,
    outcome_name: &str,
) -> Result<bool> {
    let (kind, amount) = kind_and_amount(&e.kind);
    // The unique (provider, event id) row is the guard against the same webhook twice, even
    // when two deliveries race past the ledger check on different connections.
    store::insert_event(conn, (id, provider), e, (kind, amount, outcome_name), now_ms()).await
}

/// Writes the ledger and the columns queries read from it.
async fn store_ledger(conn: &mut AnyConnection, before: &Payment, ledger: &Ledger, e: &ProviderEvent) -> Result<()> {
    let now = now_ms();
    let paid_at = if ledger.state() == State::Paid { before.paid_at.or(Some(now)) } else { None };
    // 納付日とみなす日: the day the resident paid the agent, as the agent reports it
    // (地方自治法231条の2の4) — not the day its money reaches the 指定金融機関.
    let deemed = (ledger.state() == State::Paid).then(|| crate::clock::date_at(e.at_unix * 1000).to_string());
    store::write_ledger(conn, before.id, ledger, LedgerColumns { paid_at, deemed_paid_on: deemed, now }).await
}

/// Mails the resident when money moved: the receipt (領収書) when paid, a notice when refunded.
async fn tell_resident(
    conn: &mut AnyConnection,
    to: &Addressee,
    p: &Payment,
    ledger: &Ledger,
    e: &ProviderEvent,
) -> Result<()> {
    // Mails of events the office or a provider causes: the resident's language is not kept.
    let lang = crate::i18n::OFFICE;
    let (paid, refunded) = (ledger.paid().to_string(), ledger.counted_refunds().to_string());
    let (revenue_code, payment_id) = (p.revenue_code.as_str(), p.id.to_string());
    let before_submission = t(lang, "mail.payment_receipt.before_submission");
    let (kind, amount, reason) = match &e.kind {
        EventKind::Paid { amount } => ("payment_receipt", amount.to_string(), ""),
        EventKind::Refunded { amount, .. } => ("payment_refunded", amount.to_string(), ""),
        EventKind::Failed { reason } => ("payment_failed", String::new(), reason.as_str()),
        _ => return Ok(()),
    };
    let args = [
        ("name", to.resident_name.as_str()),
        ("title", to.procedure_title.as_str()),
        ("tenant", to.tenant_name.as_str()),
        ("amount", amount.as_str()),
        ("revenue_code", revenue_code),
        ("payment_id", payment_id.as_str()),
        ("receipt", to.receipt_number.as_deref().unwrap_or(&before_submission)),
        ("paid", paid.as_str()),
        ("refunded", refunded.as_str()),
        ("reason", reason),
    ];
    let subject = tf(lang, &format!("mail.{kind}.subject"), &args);
    let body = tf(lang, &format!("mail.{kind}.body"), &args);
    mail::enqueue(conn, &format!("pay:{}:{}", p.id, e.event_id), &to.email, &subject, &body).await
}

/// Cancels a payment's checkout through the ledger, as kencho's own event (`why` is audited).
pub(super) async fn cancel_in<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    x: &Payment,
    why: &str,
) -> Result<Applied> {
    let e = ProviderEvent {
        event_id: format!("kencho-cancel-{}-{}", x.id, now_ms()),
        at_unix: now_ms() / 1000,
        payment_ref: x.provider_ref.clone().unwrap_or_default(),
        kind: EventKind::Cancelled,
    };
    apply_to(conn, links, x.id, KENCHO, &e, why).await
}
