//! What an application owes and has paid: its payments, the summary its page shows, and the
//! check that a fee paid before submission is paid.

use kencho_core::payment::fee::Timing;
use kencho_core::payment::provider::Provider;
use sqlx::AnyConnection;

use super::model::{Payment, Summary};
use super::{fiscal, store};
use crate::db::Db;
use crate::error::{AppError, Result};
use crate::procedures::Procedure;

pub async fn for_application(db: &Db, application_id: i64) -> Result<Vec<Payment>> {
    store::payments_of(db, application_id).await
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
    let paid = store::paid_total(conn, application_id).await?;
    if paid > 0 {
        Ok(())
    } else {
        Err(AppError::Refused("payment_required", detail!("detail.payments.pay_fee_before_submitting")))
    }
}

/// The payment a provider knows by `payment_ref`, if it is paid.
pub async fn paid_by_ref(db: &Db, provider: Provider, payment_ref: &str) -> Result<Option<i64>> {
    store::paid_by_ref(db, provider, payment_ref).await
}
