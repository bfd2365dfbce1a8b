//! Each tenant's 手数料条例 as data (the rules and the document format are
//! `kencho_core::payment::schedule`), what an application owes under it, and the 調定 made for
//! it (地方自治法施行令154条).

use kencho_core::payment::fee::{amount_due, FeeRule};
use kencho_core::payment::schedule::{Schedule, ScheduleError};
use sqlx::AnyConnection;

pub use super::model::Due;
use super::store;
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Detail, Result};
use crate::procedures::Procedure;
use kencho_core::check::Finding;

impl From<ScheduleError> for AppError {
    fn from(e: ScheduleError) -> Self {
        AppError::Refused(e.code(), Detail::from(&e))
    }
}

/// The tenant's schedule and its document, if one is kept.
pub async fn load(db: &Db, tenant_id: i64) -> Result<Option<(Schedule, String)>> {
    let Some(text) = store::schedule_document(db, tenant_id).await? else { return Ok(None) };
    let s = Schedule::parse(&text)
        .map_err(|f| AppError::Internal(format!("stored fee schedule: {}", Detail::findings(&f, "; "))))?;
    Ok(Some((s, text)))
}

/// The schedule, or 409 `no_fee_schedule` when the tenant keeps none.
pub async fn require(db: &Db, tenant_id: i64) -> Result<Schedule> {
    load(db, tenant_id)
        .await?
        .map(|(s, _)| s)
        .ok_or_else(|| AppError::Refused("no_fee_schedule", detail!("detail.payments.fee_schedule_kept_kencho")))
}

/// Replaces the tenant's schedule (administrators only); checked whole first: a refused
/// document comes back as every problem it has, and nothing is kept.
pub async fn save(db: &Db, by: &Staff, text: &str) -> Result<Result<Schedule, Vec<Finding>>> {
    let schedule = match Schedule::parse(text) {
        Ok(s) => s,
        Err(problems) => return Ok(Err(problems)),
    };
    let (tenant_id, actor, text) = (by.tenant_id, format!("staff:{}", by.id), text.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            store::upsert_schedule(conn, tenant_id, &text, &actor, now_ms()).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "fee_schedule.update",
                "fee_schedule",
                serde_json::json!({"document": text}),
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(Ok(schedule))
}

fn max_units(p: &Procedure) -> i64 {
    match p.def.fee.rule() {
        Some((FeeRule::PerUnit { max_units, .. }, _)) => max_units,
        _ => 1,
    }
}

/// The fee of a procedure for `units` (and a 減免 `ground`): from the 手数料条例 item the
/// procedure or staff name, or, for a procedure without one, its own fixed or per-unit fee.
pub async fn due_for(
    db: &Db,
    p: &Procedure,
    item: Option<&str>,
    units: Option<i64>,
    ground: Option<&str>,
) -> Result<Due> {
    let item = item.filter(|i| !i.is_empty()).or(p.def.fee.item.as_deref());
    if let Some(item) = item {
        if p.def.fee.item.as_deref().is_some_and(|own| own != item) {
            return Err(AppError::Refused(
                "fee_item_mismatch",
                detail!(
                    "detail.payments.fee_item_is",
                    item = format!("{:?}", p.def.fee.item.as_deref().unwrap_or_default())
                ),
            ));
        }
        let s = require(db, p.tenant_id).await?;
        let c = s.compute(item, units.unwrap_or(1), max_units(p), ground)?;
        return Ok(Due::of(c, &s));
    }
    if ground.is_some() {
        // A 減免 needs its ground in the 条例, so the fee must be an item of it.
        return Err(AppError::Refused("fee_item_required", detail!("detail.payments.applies_item")));
    }
    let (rule, _) =
        p.def.fee.rule().ok_or_else(|| AppError::Refused("no_fee", detail!("detail.payments.procedure_s_fee_paid")))?;
    if rule == FeeRule::SetByStaff {
        return Err(AppError::Refused("fee_item_required", detail!("detail.payments.choose_item_fee")));
    }
    let units_kept = matches!(rule, FeeRule::PerUnit { .. }).then_some(units).flatten();
    let amount = amount_due(rule, units, None, None).map_err(|e| AppError::BadRequest(Detail::from(&e)))?;
    Ok(Due {
        item: String::new(),
        article: String::new(),
        revenue_code: p.def.fee.revenue_code.clone().unwrap_or_default(),
        units: units_kept.unwrap_or(1),
        gross: amount,
        reduction: 0,
        ground: None,
        ground_text: None,
        amount,
        fiscal_year: None,
    })
}

/// The fiscal year of the moment `ms` (JST).
pub fn fiscal_year_at(ms: i64) -> i32 {
    kencho_core::payment::fiscal::fiscal_year(crate::clock::date_at(ms))
}

/// Records the 調定 of a payment: made before the payment can be received.
pub async fn insert_chotei(
    conn: &mut AnyConnection,
    (tenant_id, application_id, payment_id): (i64, i64, i64),
    due: &Due,
    decided_by: &str,
) -> Result<i64> {
    let now = now_ms();
    let year = due.fiscal_year.unwrap_or_else(|| fiscal_year_at(now));
    store::insert_chotei(conn, (tenant_id, application_id, payment_id), due, (year, decided_by), now).await
}

/// The 調定 a payment is received against, as `Due` (to carry it over to a payment that
/// replaces it: the resident changed the method, the cash came to the counter).
pub async fn due_of_payment(conn: &mut AnyConnection, payment_id: i64) -> Result<Option<(Due, String)>> {
    store::chotei_of_payment(conn, payment_id).await
}
