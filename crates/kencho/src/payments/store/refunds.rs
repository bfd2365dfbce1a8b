use kencho_core::payment::refund::RefundState;
use sqlx::{AnyConnection, Row};

use super::COLS;
use crate::db::Db;
use crate::error::Result;
use crate::payments::model::{Payment, Refund, RefundStep, RefundToSend, RefundUnderReview};

/// The columns [`Refund::from_row`] reads, of `refunds r JOIN payments p`.
const REFUND_COLS: &str = "r.id, r.payment_id, p.application_id, r.amount, r.reason, r.state, r.kian_id";

/// A payment, if it exists (not locked).
pub async fn payment(db: &Db, payment_id: i64) -> Result<Option<Payment>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE id = $1"))
        .bind(payment_id)
        .fetch_optional(&db.read)
        .await?;
    row.as_ref().map(Payment::from_row).transpose()
}

/// A payment, its row locked for the rest of the transaction.
pub async fn lock_payment(conn: &mut AnyConnection, payment_id: i64) -> Result<Payment> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!("SELECT {COLS} FROM payments WHERE id = $1{lock}"))
        .bind(payment_id)
        .fetch_one(&mut *conn)
        .await?;
    Payment::from_row(&row)
}

/// The yen of a payment's refund orders not yet done or refused.
pub async fn pending_refunds(conn: &mut AnyConnection, payment_id: i64) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS pending FROM refunds WHERE payment_id = $1 \
         AND state IN ('awaiting_approval', 'ordered', 'to_send', 'requested')",
    )
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await?
    .try_get("pending")?)
}

/// A new refund order of `p`: (amount, reason, state, 起案); returns its id.
pub async fn insert_refund(
    conn: &mut AnyConnection,
    p: &Payment,
    requested_by: i64,
    (amount, reason, state, kian_id): (i64, &str, RefundState, Option<i64>),
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO refunds (tenant_id, payment_id, amount, reason, state, kian_id, requested_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(p.tenant_id)
    .bind(p.id)
    .bind(amount)
    .bind(reason)
    .bind(state.as_str())
    .bind(kian_id)
    .bind(requested_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// A refund with its payment's provider, as the provider is asked for it.
pub async fn refund_to_send(conn: &mut AnyConnection, refund_id: i64) -> Result<RefundToSend> {
    let row = sqlx::query(
        "SELECT r.amount, p.provider, p.provider_ref, p.tenant_id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
    )
    .bind(refund_id)
    .fetch_one(&mut *conn)
    .await?;
    RefundToSend::from_row(&row)
}

/// A refund's step, if the refund exists.
pub async fn refund_step(conn: &mut AnyConnection, refund_id: i64) -> Result<Option<RefundStep>> {
    let row = sqlx::query("SELECT id, state, requested_by FROM refunds WHERE id = $1")
        .bind(refund_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(RefundStep::from_row).transpose()
}

/// The steps of a payment's refunds the provider knows by `provider_ref`.
pub async fn refund_steps_by_ref(
    conn: &mut AnyConnection,
    payment_id: i64,
    provider_ref: &str,
) -> Result<Vec<RefundStep>> {
    let rows = sqlx::query("SELECT id, state, requested_by FROM refunds WHERE provider_ref = $1 AND payment_id = $2")
        .bind(provider_ref)
        .bind(payment_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(RefundStep::from_row).collect()
}

/// Moves a refund from `from` to `next` (keeping its reference and done time unless given);
/// false when it was no longer in `from`.
pub async fn move_refund(
    conn: &mut AnyConnection,
    refund_id: i64,
    (from, next): (RefundState, RefundState),
    provider_ref: Option<&str>,
    done_at: Option<i64>,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE refunds SET state = $1, provider_ref = COALESCE($2, provider_ref), done_at = COALESCE($3, done_at) \
         WHERE id = $4 AND state = $5",
    )
    .bind(next.as_str())
    .bind(provider_ref)
    .bind(done_at)
    .bind(refund_id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The refunds in state `state` that 起案 `kian_id` decides, oldest first: (id, requested by).
pub async fn refunds_of_kian(conn: &mut AnyConnection, kian_id: i64, state: RefundState) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query("SELECT id, requested_by FROM refunds WHERE kian_id = $1 AND state = $2 ORDER BY id")
        .bind(kian_id)
        .bind(state.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("requested_by")?))).collect()
}

/// Sets a refund's state to `next` if it is still `from`.
pub async fn set_refund_state(
    conn: &mut AnyConnection,
    refund_id: i64,
    (from, next): (RefundState, RefundState),
) -> Result<()> {
    sqlx::query("UPDATE refunds SET state = $1 WHERE id = $2 AND state = $3")
        .bind(next.as_str())
        .bind(refund_id)
        .bind(from.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A refund order, its row locked for the rest of the transaction, if it exists.
pub async fn lock_refund(conn: &mut AnyConnection, refund_id: i64) -> Result<Option<RefundUnderReview>> {
    let lock = crate::db::for_update(conn);
    let row = sqlx::query(&format!("SELECT r.state, r.requested_by, r.tenant_id FROM refunds r WHERE r.id = $1{lock}"))
        .bind(refund_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(RefundUnderReview::from_row).transpose()
}

/// Writes a review's result on a refund order.
pub async fn record_review(
    conn: &mut AnyConnection,
    refund_id: i64,
    next: RefundState,
    reviewer: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE refunds SET state = $1, reviewed_by = $2, reviewed_at = $3 WHERE id = $4")
        .bind(next.as_str())
        .bind(reviewer)
        .bind(now)
        .bind(refund_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One refund.
pub async fn refund(conn: &mut AnyConnection, refund_id: i64) -> Result<Refund> {
    let r = sqlx::query(&format!(
        "SELECT {REFUND_COLS} FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1"
    ))
    .bind(refund_id)
    .fetch_one(&mut *conn)
    .await?;
    Refund::from_row(&r)
}

/// A tenant's refund orders in state `ordered`, oldest first.
pub async fn ordered_refunds(db: &Db, tenant_id: i64) -> Result<Vec<Refund>> {
    let rows = sqlx::query(&format!(
        "SELECT {REFUND_COLS} FROM refunds r JOIN payments p ON p.id = r.payment_id \
         WHERE r.tenant_id = $1 AND r.state = 'ordered' ORDER BY r.id"
    ))
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Refund::from_row).collect()
}

/// An application's refunds, oldest first.
pub async fn refunds_of_application(db: &Db, application_id: i64) -> Result<Vec<Refund>> {
    let rows = sqlx::query(&format!(
        "SELECT {REFUND_COLS} FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.application_id = $1 ORDER BY r.id"
    ))
    .bind(application_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Refund::from_row).collect()
}
