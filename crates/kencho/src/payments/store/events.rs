use kencho_core::payment::event::ProviderEvent;
use kencho_core::payment::ledger::{Ledger, State};
use kencho_core::payment::provider::Provider;
use sqlx::{AnyConnection, Row};

use super::COLS;
use crate::error::{AppError, Result};
use crate::payments::model::{LedgerColumns, Payment};

/// The payment a provider knows by `payment_ref`: (id, tenant).
pub async fn payment_by_ref(
    conn: &mut AnyConnection,
    provider: Provider,
    payment_ref: &str,
) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query("SELECT id, tenant_id FROM payments WHERE provider = $1 AND provider_ref = $2")
        .bind(provider.as_str())
        .bind(payment_ref)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("tenant_id")?))).transpose()
}

/// The payment row locked for the rest of the transaction, with its ledger.
pub async fn lock_with_ledger(conn: &mut AnyConnection, id: i64) -> Result<(Payment, Ledger)> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!("SELECT {COLS}, ledger FROM payments WHERE id = $1{lock}"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let ledger: Ledger =
        serde_json::from_str(&row.try_get::<String, _>("ledger")?).map_err(|e| AppError::failed("ledger", e))?;
    Ok((Payment::from_row(&row)?, ledger))
}

/// Keeps a provider's event as (kind, amount, outcome); false when the same (provider, event
/// id) was kept before.
pub async fn insert_event(
    conn: &mut AnyConnection,
    (id, provider): (i64, &str),
    e: &ProviderEvent,
    (kind, amount, outcome_name): (&str, Option<i64>, &str),
    now: i64,
) -> Result<bool> {
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
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// Writes a payment's ledger and the columns queries read from it.
pub async fn write_ledger(conn: &mut AnyConnection, id: i64, ledger: &Ledger, c: LedgerColumns) -> Result<()> {
    let json = serde_json::to_string(ledger).map_err(AppError::unexpected)?;
    let state: State = ledger.state();
    sqlx::query(
        "UPDATE payments SET ledger = $1, state = $2, paid_amount = $3, refunded_amount = $4, paid_at = $5, updated_at = $6, \
         deemed_paid_on = COALESCE(deemed_paid_on, $7) WHERE id = $8",
    )
    .bind(&json)
    .bind(state.as_str())
    .bind(ledger.paid())
    .bind(ledger.counted_refunds())
    .bind(c.paid_at)
    .bind(c.now)
    .bind(c.deemed_paid_on)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
