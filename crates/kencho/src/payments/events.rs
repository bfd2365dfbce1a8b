//! What a provider's event (or kencho's own: expiry, counter cash) does to a payment: the
//! ledger moves once per event, the change is audited, and the resident is told.

use kencho_core::payment::refund::RefundAct;

use crate::i18n::{t, tf};

use super::*;

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
            let row = sqlx::query("SELECT id, tenant_id FROM payments WHERE provider = $1 AND provider_ref = $2")
                .bind(provider.as_str())
                .bind(&e.payment_ref)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| AppError::BadRequest(format!("no payment {:?} at {provider}", e.payment_ref)))?;
            let (id, tenant): (i64, i64) = (row.try_get("id")?, row.try_get("tenant_id")?);
            if tenant != tenant_id {
                return Err(AppError::BadRequest("the event is for another tenant's payment".into()));
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
    let (before, mut ledger) = lock_with_ledger(conn, id).await?;
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

/// The payment row locked for the rest of the transaction, with its ledger.
async fn lock_with_ledger(conn: &mut AnyConnection, id: i64) -> Result<(Payment, Ledger)> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!("SELECT {COLS}, ledger FROM payments WHERE id = $1{lock}"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let ledger: Ledger = serde_json::from_str(&row.try_get::<String, _>("ledger")?)
        .map_err(|e| AppError::Internal(format!("ledger: {e}")))?;
    Ok((payment_of(&row)?, ledger))
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
    let inserted = sqlx::query(
        "INSERT INTO payment_events (payment_id, provider, event_id, at_unix, kind, amount, outcome, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (provider, event_id) DO NOTHING",
    )
    .bind(id)
    .bind(provider)
    .bind(&e.event_id)
    .bind(e.at_unix)
    .bind(kind)
    .bind(amount)
    .bind(outcome_name)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// Writes the ledger and the columns queries read from it.
async fn store_ledger(conn: &mut AnyConnection, before: &Payment, ledger: &Ledger, e: &ProviderEvent) -> Result<()> {
    let now = now_ms();
    let json = serde_json::to_string(ledger).map_err(AppError::unexpected)?;
    let paid_at = if ledger.state() == State::Paid { before.paid_at.or(Some(now)) } else { None };
    // 納付日とみなす日: the day the resident paid the agent, as the agent reports it
    // (地方自治法231条の2の4) — not the day its money reaches the 指定金融機関.
    let deemed = (ledger.state() == State::Paid).then(|| crate::clock::date_at(e.at_unix * 1000).to_string());
    sqlx::query(
        "UPDATE payments SET ledger = $1, state = $2, paid_amount = $3, refunded_amount = $4, paid_at = $5, updated_at = $6, \
         deemed_paid_on = COALESCE(deemed_paid_on, $7) WHERE id = $8",
    )
    .bind(&json)
    .bind(ledger.state().as_str())
    .bind(ledger.paid())
    .bind(ledger.counted_refunds())
    .bind(paid_at)
    .bind(now)
    .bind(deemed)
    .bind(before.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
