//! 事後決済 and the 調定 behind every payment: the office sets what is due after review, and
//! each new payment is written with its 調定 (made before anything can be received on it).

use kencho_core::payment::fee::{FeeRule, Timing};
use kencho_core::payment::ledger::Ledger;
use kencho_core::security::Action;
use sqlx::AnyConnection;

use super::checkout::CHECKOUT_MINUTES;
use super::links::{ForApplication, Links, Payer};
use super::model::{Due, FeeChoice, NewPayment, Owner, Payment};
use super::{schedule, store};
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::tf;
use crate::mail;
use crate::procedures::Procedure;

/// The procedure's fee rule and timing, when its fee is collected online.
pub(super) fn online_rule(p: &Procedure) -> Result<(FeeRule, Timing)> {
    p.def.fee.rule().ok_or_else(|| AppError::Refused("no_fee", detail!("detail.payments.procedure_s_fee_paid")))
}

/// A new payment of `due`, with its 調定 (made before anything can be received against it).
pub(super) async fn insert_payment(conn: &mut AnyConnection, owner: Owner, due: &Due, decided_by: &str) -> Result<i64> {
    let now = now_ms();
    let ledger = serde_json::to_string(&Ledger::new(due.amount)).map_err(AppError::unexpected)?;
    let new = NewPayment { owner, due, ledger, created_at: now, expires_at: now + CHECKOUT_MINUTES * 60_000 };
    let id = store::insert_payment(conn, &new).await?;
    schedule::insert_chotei(conn, (owner.tenant_id, owner.application_id, id), due, decided_by).await?;
    Ok(id)
}
/// A payment replacing `old` (another method, cash at the counter): received against the same
/// 調定 terms.
pub(super) async fn insert_payment_like(conn: &mut AnyConnection, old: &Payment, resident_id: i64) -> Result<i64> {
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
    let owner = Owner {
        tenant_id: old.tenant_id,
        application_id: old.application_id,
        procedure_id: old.procedure_id,
        resident_id,
    };
    insert_payment(conn, owner, &due, &by).await
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
        return Err(AppError::Refused("wrong_timing", detail!("detail.payments.fee_paid_before_submission_2")));
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
            if !matches!(
                a.status,
                kencho_core::application::Status::Accepted | kencho_core::application::Status::Approved
            ) {
                return Err(AppError::Refused("wrong_state", detail!("detail.payments.fee_set_once_application")));
            }
            let open = store::has_open_payment(conn, application_id).await?;
            if open {
                return Err(AppError::Refused("already_set", detail!("detail.payments.fee_application_set_already")));
            }
            let actor = format!("staff:{}", staff.id);
            let id = insert_payment(conn, a.owner(), &due, &actor).await?;
            if let Some(ev) = choice.evidence.as_deref().filter(|_| due.ground.is_some()) {
                attach_evidence(conn, &links, a.id, id, ev).await?;
            }
            // 事後決済 links stay open for two weeks, not the 30 minutes of a checkout.
            store::set_expiry(conn, id, now_ms() + 14 * 86_400_000).await?;
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
        .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.evidence_attachment_application")))?;
    store::set_evidence(conn, payment_id, &format!("{ev} {name}")).await
}
