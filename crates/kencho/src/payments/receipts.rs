//! A payment's facts as its receipt (`documents`) prints them, and the lock a receipt is
//! issued under: read here, where the table is, and handed over by `crate::flows`.

use kencho_core::notice::PaymentFacts;
use kencho_core::payment::ledger::State;
use sqlx::AnyConnection;

use super::store;
use crate::error::{AppError, Result};

/// A payment's [`PaymentFacts`] (`NotFound` if there is none).
pub async fn receipt_facts(conn: &mut AnyConnection, payment_id: i64) -> Result<PaymentFacts> {
    store::payment_facts(conn, payment_id).await?.ok_or(AppError::NotFound)
}

/// Locks a payment's row for the rest of the transaction; whether it is paid.
pub async fn lock_paid(conn: &mut AnyConnection, payment_id: i64) -> Result<bool> {
    let state = store::lock_payment_state(conn, payment_id).await?.ok_or(AppError::NotFound)?;
    Ok(state == State::Paid.as_str())
}
