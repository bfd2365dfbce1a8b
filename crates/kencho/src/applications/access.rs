//! Who may open an application: its applicant, the staff of its division (or of every
//! division, by role) and the cashier; a staff member's view of personal data is audited.

use kencho_core::application::Status;

use super::model::{Application, Event, Summary};
use super::store;
use crate::actor::{Resident, Staff};
use crate::audit;
use crate::db::Db;
use crate::error::{AppError, Result};

/// An application as its applicant may see it; anybody else's is "not found".
pub async fn for_resident(db: &Db, resident: &Resident, id: i64) -> Result<Application> {
    let mut conn = db.read.acquire().await?;
    let a = store::load(&mut conn, &db.keys(), id).await?;
    if a.resident_id != resident.id {
        return Err(AppError::NotFound);
    }
    Ok(a)
}

/// The status of one of the resident's applications (one indexed row; for polling).
pub async fn status_for_resident(db: &Db, resident: &Resident, id: i64) -> Result<Summary> {
    store::status_of(db, resident.id, id).await?.ok_or(AppError::NotFound)
}

/// Whether a staff member may see an application at all (tenant, and division unless the role
/// sees every division). Drafts are the resident's own business.
pub fn staff_may_see(staff: &Staff, a: &Application) -> bool {
    a.tenant_id == staff.tenant_id
        && (staff.role.sees_all_divisions() || a.division_id == staff.division_id)
        && a.status != Status::Draft
}

/// Opens an application for a staff member, recording the view of personal data in the audit
/// log (who, when, which application, why).
pub async fn open_for_staff(db: &Db, staff: &Staff, id: i64, purpose: &str) -> Result<Application> {
    open_audited(db, staff, id, purpose, staff_may_see).await
}

/// Opens an application for the cashier (会計課): any application of the tenant that is not a
/// draft (the resident brings the 納入通知 to the 会計課, not to the division), only for staff
/// the roles table allows to receive cash (`cash_receive`), the view audited.
pub async fn open_for_cashier(db: &Db, staff: &Staff, id: i64) -> Result<Application> {
    crate::security::policy::require(db, staff, kencho_core::security::Action::CashReceive, None).await?;
    open_audited(db, staff, id, "counter cash", may_take_cash).await
}

/// Loads an application `may` lets `staff` see (else "not found") and audits the view.
async fn open_audited(
    db: &Db,
    staff: &Staff,
    id: i64,
    purpose: &str,
    may: fn(&Staff, &Application) -> bool,
) -> Result<Application> {
    let (staff, keys, purpose) = (staff.clone(), db.keys(), purpose.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let a = store::load(conn, &keys, id).await?;
            if !may(&staff, &a) {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                a.tenant_id,
                &format!("staff:{}", staff.id),
                "application.view",
                &format!("application:{id}"),
                serde_json::json!({"purpose": purpose, "receipt": a.receipt_number}),
            )
            .await?;
            Ok(a)
        })
    })
    .await
}

/// Whether a cashier may take cash for an application: any of the tenant's that is not a draft.
pub fn may_take_cash(staff: &Staff, a: &Application) -> bool {
    a.tenant_id == staff.tenant_id && a.status != Status::Draft
}

/// An application's history, oldest first (the caller has opened the application).
pub async fn events(db: &Db, id: i64) -> Result<Vec<Event>> {
    let mut conn = db.read.acquire().await?;
    store::events(&mut conn, id).await
}
