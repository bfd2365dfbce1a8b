//! Cash at the counter (窓口). Keeping cash belongs to the 会計管理者 and the 出納員 (地方自治法
//! 170条2項1号, 171条), so only staff the roles table allows (`cash_receive`; by default the
//! 会計課) record it, and only for exactly the amount of the 調定.

use kencho_core::application::Status;
use kencho_core::payment::event::{EventKind, ProviderEvent};
use kencho_core::payment::ledger::{Applied, State};
use kencho_core::payment::provider::Provider;
use kencho_core::security::Action;
use sqlx::AnyConnection;

use super::due::{insert_payment, insert_payment_like};
use super::events::{apply_to, cancel_in};
use super::links::{Links, Payer};
use super::model::{Due, Payment};
use super::{schedule, store};
use crate::actor::Staff;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::procedures::Procedure;

/// A fee paid in cash at the counter, recorded by the 出納員 so the cashless share counts every
/// yen collected. It is a payment of provider `counter`, method `cash`, paid at once through
/// the same ledger, against the open 調定 (or one made now from the 手数料条例), and only for
/// exactly its amount (409 `cash_amount_mismatch` otherwise).
pub async fn record_cash<L: Links>(
    db: &Db,
    links: L,
    staff: &Staff,
    p: &Procedure,
    application_id: i64,
    amount: i64,
    units: Option<i64>,
) -> Result<i64> {
    crate::security::policy::require(db, staff, Action::CashReceive, None).await?;
    if !(1..=kencho_core::payment::fee::MAX_YEN).contains(&amount) {
        return Err(AppError::BadRequest(detail!("detail.payments.amount_1_10_000")));
    }
    // What would be due if nothing is set yet (kept as a result: needed only then).
    let fresh = schedule::due_for(db, p, None, units, None).await;
    let (staff, keys) = (staff.clone(), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            let a = links.lock_application(conn, &keys, application_id, Payer::Cashier(staff.clone())).await?;
            // The open payments are locked before anything is written (the audit head
            // included): a provider's webhook for one of them locks its row and then the audit
            // head, so taking them in the other order deadlocks; and a "paid" that commits
            // meanwhile is seen here instead of being cancelled away.
            let open = store::open_payments(conn, application_id, true).await?;
            if open.iter().any(|x| x.state == State::Paid) {
                return Err(AppError::Refused("already_paid", detail!("detail.payments.fee_paid_already")));
            }
            let expected = cash_due(a.status, open.first(), &fresh)?;
            if amount != expected {
                return Err(AppError::Refused(
                    "cash_amount_mismatch",
                    detail!("detail.payments.amount_due_yen_yen", expected = expected, amount = amount),
                ));
            }
            for x in &open {
                if cancel_in(conn, &links, x, "paid at the counter").await? != Applied::Changed {
                    return Err(AppError::Refused(
                        "already_paid",
                        detail!("detail.payments.payment_fee_changed_meanwhile"),
                    ));
                }
            }
            let actor = format!("staff:{}", staff.id);
            let id = match open.first() {
                Some(x) => insert_payment_like(conn, x, a.resident_id).await?,
                None => {
                    let due = fresh?;
                    insert_payment(conn, a.owner(), &due, &actor).await?
                }
            };
            paid_at_counter(conn, &links, id, amount, &actor).await?;
            Ok(id)
        })
    })
    .await
}

/// What the cash must be: the open payment's amount, else what the 手数料条例 makes due now.
fn cash_due(status: Status, open: Option<&Payment>, fresh: &Result<Due>) -> Result<i64> {
    match open {
        Some(x) => Ok(x.amount),
        // A fee becomes due when the division has accepted the case (as `set_due`
        // requires), not when someone brings cash.
        None if !matches!(status, Status::Accepted | Status::Approved) => {
            Err(AppError::Refused("not_due", detail!("detail.payments.fee_application_due_yet")))
        }
        None => fresh
            .as_ref()
            .map(|d| d.amount)
            .map_err(|_| AppError::Refused("not_due", detail!("detail.payments.fee_application_set_yet"))),
    }
}

/// The payment becomes the counter's, paid in cash, through the same ledger path.
async fn paid_at_counter<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    id: i64,
    amount: i64,
    actor: &str,
) -> Result<()> {
    let r = format!("counter-{id}");
    store::set_counter(conn, id, &r).await?;
    let e = ProviderEvent {
        event_id: format!("counter-paid-{id}"),
        at_unix: now_ms() / 1000,
        payment_ref: r,
        kind: EventKind::Paid { amount },
    };
    apply_to(conn, links, id, Provider::Counter.as_str(), &e, actor).await?;
    Ok(())
}
