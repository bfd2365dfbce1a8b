//! Refunds (過誤納還付): ordered by staff the roles table allows (`refund_order`, own division
//! by default; the 支出命令), decided by a 起案 above the tenant's threshold, reviewed by the
//! 会計管理者 (`refund_review`, never the person who ordered it; 地方自治法232条の4第2項), and
//! only then sent to the provider. The steps are `kencho_core::payment::refund`.

use kencho_core::payment::ledger::State;
use kencho_core::payment::provider::Provider;
use kencho_core::payment::refund::{step, RefundAct, RefundError, RefundState};
use kencho_core::security::Action;
use sqlx::AnyConnection;

use super::links::{Links, RefundDecision};
pub use super::model::Refund;
use super::model::{Payment, RefundStep};
use super::{sandbox, store};
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Detail, Result};

impl From<RefundError> for AppError {
    fn from(e: RefundError) -> Self {
        AppError::Refused(e.code(), Detail::from(&e))
    }
}

/// Staff whom the tenant's table of roles allows (by default 係長 and above of the payment's own
/// division, and administrators) order a refund of part or all of a paid fee (支出命令). Above
/// the tenant's limit it needs a 決裁 first: a 起案 is drafted, and the order stands when it is
/// carried out (施行). Nothing goes to the provider before the 会計管理者's review.
pub async fn request_refund<L: Links>(
    db: &Db,
    links: L,
    staff: &Staff,
    payment_id: i64,
    amount: i64,
    reason: &str,
) -> Result<Refund> {
    if reason.trim().is_empty() || reason.chars().count() > 500 || kencho_core::text::has_control_chars(reason, true) {
        return Err(AppError::BadRequest(detail!("detail.payments.give_reason_refund_most")));
    }
    if amount <= 0 {
        return Err(AppError::BadRequest(detail!("detail.payments.refund_least_1_yen")));
    }
    may_order(db, &links, staff, payment_id).await?;
    let limit = sandbox::settings(db, staff.tenant_id).await?.refund_approval_above;
    let kian = if amount > limit {
        let d = RefundDecision { payment_id, amount, reason: reason.trim().to_string() };
        Some(links.draft_refund_decision(db, staff, d).await?)
    } else {
        None
    };
    let (staff, reason) = (staff.clone(), reason.trim().to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let p = lock_refundable(conn, payment_id, amount).await?;
            let kian_id = match &kian {
                Some(drafted) => Some(links.insert_refund_decision(conn, &staff, drafted).await?),
                None => None,
            };
            let state = kencho_core::payment::refund::initial(kian_id.is_some());
            let id = insert_order(conn, &p, &staff, amount, &reason, state, kian_id).await?;
            Ok(Refund { id, payment_id, application_id: p.application_id, amount, reason, state, kian_id })
        })
    })
    .await
}

/// Refuses (404, 403) staff who may not order a refund of this payment: another tenant's, or
/// not allowed for the division the application belongs to.
async fn may_order<L: Links>(db: &Db, links: &L, staff: &Staff, payment_id: i64) -> Result<()> {
    let p = store::payment(db, payment_id).await?.ok_or(AppError::NotFound)?;
    if p.tenant_id != staff.tenant_id {
        return Err(AppError::NotFound);
    }
    let division = links.division_code(&mut *db.read.acquire().await?, p.application_id).await?;
    crate::security::policy::require(db, staff, Action::RefundOrder, Some(&division)).await
}

/// Locks the payment and refuses a refund of `amount` it cannot give: not paid, paid in cash,
/// or more than is left once the orders still pending are counted.
async fn lock_refundable(conn: &mut AnyConnection, payment_id: i64, amount: i64) -> Result<Payment> {
    let p = store::lock_payment(conn, payment_id).await?;
    if p.state != State::Paid {
        return Err(AppError::Refused("not_paid", detail!("detail.payments.paid_fee_refunded")));
    }
    // Cash goes back through the 会計課's own 支出 (a 口座振込 or the counter), which kencho
    // does not run: an order here could never be sent and would hold its yen for ever.
    if p.provider == Some(Provider::Counter) {
        return Err(AppError::Refused("refund_cash", detail!("detail.payments.fee_paid_cash_refunded")));
    }
    let pending = store::pending_refunds(conn, payment_id).await?;
    if amount > p.paid_amount - p.refunded_amount - pending {
        return Err(AppError::Refused("too_much", detail!("detail.payments.refund_exceeds_what_left")));
    }
    Ok(p)
}

/// Writes the refund order (支出命令) and its audit entry; returns its id.
async fn insert_order(
    conn: &mut AnyConnection,
    p: &Payment,
    staff: &Staff,
    amount: i64,
    reason: &str,
    state: RefundState,
    kian_id: Option<i64>,
) -> Result<i64> {
    let id = store::insert_refund(conn, p, staff.id, (amount, reason, state, kian_id), now_ms()).await?;
    audit::append(
        conn,
        p.tenant_id,
        &format!("staff:{}", staff.id),
        "refund.ordered",
        &format!("payment:{}", p.id),
        serde_json::json!({"refund": id, "amount": amount, "reason": reason, "kian": kian_id}),
    )
    .await?;
    Ok(id)
}

/// Asks the provider to refund (the sandbox answers with its webhook, like a real provider).
pub async fn send_refund(conn: &mut AnyConnection, refund_id: i64) -> Result<()> {
    let to = store::refund_to_send(conn, refund_id).await?;
    let (amount, provider, provider_ref, tenant_id) = (to.amount, to.provider, to.provider_ref, to.tenant_id);
    let refund_ref = format!("re_{refund_id}");
    match provider {
        Some(Provider::Sandbox) => {
            sandbox::refund(conn, tenant_id, provider_ref.as_deref().unwrap_or_default(), &refund_ref, amount).await?;
        }
        // Left `to_send` for the Stripe worker, which sends it after this commits (an HTTP call
        // must not hold the transaction); its result comes back as a webhook.
        Some(Provider::Stripe) => return Ok(()),
        _ => {
            return Err(AppError::Refused(
                "provider",
                detail!("detail.payments.refunds_through_available", provider = provider.map_or("", Provider::as_str)),
            ))
        }
    }
    advance(conn, refund_id, RefundAct::Sent, Some(&refund_ref)).await?;
    Ok(())
}

/// Moves a refund one step by the rules of `kencho_core::payment::refund`, recording the
/// provider's reference when given. A refund no longer in a state the act applies to (a late
/// or repeated answer from the provider) is left as it is; returns whether it moved.
pub(super) async fn advance(
    conn: &mut AnyConnection,
    refund_id: i64,
    act: RefundAct,
    provider_ref: Option<&str>,
) -> Result<bool> {
    let Some(row) = store::refund_step(conn, refund_id).await? else {
        return Ok(false);
    };
    advance_row(conn, &row, act, provider_ref).await
}

/// The refunds the provider's refund `provider_ref` of payment `payment_id` settles, moved by
/// `act` (a provider's answer).
pub(super) async fn advance_by_ref(
    conn: &mut AnyConnection,
    payment_id: i64,
    provider_ref: &str,
    act: RefundAct,
) -> Result<()> {
    let rows = store::refund_steps_by_ref(conn, payment_id, provider_ref).await?;
    for row in &rows {
        advance_row(conn, row, act, None).await?;
    }
    Ok(())
}

/// One step of a refund.
async fn advance_row(
    conn: &mut AnyConnection,
    row: &RefundStep,
    act: RefundAct,
    provider_ref: Option<&str>,
) -> Result<bool> {
    let from = row.state;
    let Ok(next) = step(from, row.requested_by, act) else { return Ok(false) };
    let done_at = (next == RefundState::Succeeded).then(now_ms);
    store::move_refund(conn, row.id, (from, next), provider_ref, done_at).await
}

/// Called when a 起案 is carried out (施行): a refund waiting for that 決裁 is ordered, and
/// waits for the 会計管理者's review.
pub async fn on_kian_executed(conn: &mut AnyConnection, kian_id: i64) -> Result<()> {
    step_by_kian(conn, kian_id, RefundAct::KianExecuted).await
}

/// Called when a 起案 is refused (却下) or abandoned (廃案): a refund waiting for that 決裁 is
/// rejected, and its yen are free to be refunded by another order.
pub async fn on_kian_closed(conn: &mut AnyConnection, kian_id: i64) -> Result<()> {
    step_by_kian(conn, kian_id, RefundAct::KianRefused).await
}

/// Steps every refund waiting for 起案 `kian_id`, by the rules of `kencho_core::payment::refund`.
async fn step_by_kian(conn: &mut AnyConnection, kian_id: i64, act: RefundAct) -> Result<()> {
    let waiting = RefundState::AwaitingApproval;
    let rows = store::refunds_of_kian(conn, kian_id, waiting).await?;
    for (id, requested_by) in rows {
        let next = step(waiting, requested_by, act)?;
        store::set_refund_state(conn, id, (waiting, next)).await?;
    }
    Ok(())
}

/// The 会計管理者's review of a refund order (支出命令の審査): approved, it goes to the provider;
/// refused, nothing is paid. The reviewer must hold `refund_review` and must not be the person
/// who ordered it (409 `refund_same_person`).
pub async fn review_refund(db: &Db, staff: &Staff, refund_id: i64, approve: bool) -> Result<Refund> {
    crate::security::policy::require(db, staff, Action::RefundReview, None).await?;
    let staff = staff.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            let row = store::lock_refund(conn, refund_id).await?.ok_or(AppError::NotFound)?;
            let tenant_id = row.tenant_id;
            if tenant_id != staff.tenant_id {
                return Err(AppError::NotFound);
            }
            let next = step(row.state, row.requested_by, RefundAct::Review { reviewer: staff.id, approve })?;
            store::record_review(conn, refund_id, next, staff.id, now_ms()).await?;
            audit::append(
                conn,
                tenant_id,
                &format!("staff:{}", staff.id),
                "refund.reviewed",
                &format!("refund:{refund_id}"),
                serde_json::json!({"approve": approve, "state": next.as_str()}),
            )
            .await?;
            if next == RefundState::ToSend {
                send_refund(conn, refund_id).await?;
            }
            store::refund(conn, refund_id).await
        })
    })
    .await
}

/// Refund orders of the tenant waiting for the 会計管理者's review, oldest first.
pub async fn awaiting_review(db: &Db, tenant_id: i64) -> Result<Vec<Refund>> {
    store::ordered_refunds(db, tenant_id).await
}

/// An application's refunds, oldest first.
pub async fn refunds_of(db: &Db, application_id: i64) -> Result<Vec<Refund>> {
    store::refunds_of_application(db, application_id).await
}
