//! 廃棄の留保: holds on a record while a disclosure request (開示請求), a lawsuit (訴訟) or an
//! audit (監査) is pending. A held record is left out of every disposal list, and a disposal
//! decided before the hold is refused at 施行 (see `records::carry_out`). Placing and lifting
//! are roles as data (`record_hold`), audited, and each runs with the record's row locked, so a
//! hold and a disposal of the same record are applied one after the other.

use kencho_core::approval::records::{HoldKind, RecordState};
use kencho_core::security::policy::Action as PolicyAction;
use sqlx::AnyConnection;

pub use super::model::Hold;
use super::store;
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// Locks a record of the tenant and returns its state; another tenant's record is a 404.
pub async fn lock_record(conn: &mut AnyConnection, tenant_id: i64, record_id: i64) -> Result<RecordState> {
    store::lock_record(conn, tenant_id, record_id).await?.ok_or(AppError::NotFound)
}

/// The kinds of the holds in place on a record.
pub async fn open_kinds(conn: &mut AnyConnection, record_id: i64) -> Result<Vec<HoldKind>> {
    store::open_hold_kinds(conn, record_id).await
}

fn check_reference(reference: &str) -> Result<String> {
    let r = reference.trim();
    if r.is_empty() || r.chars().count() > 200 || kencho_core::text::has_control_chars(r, false) {
        return Err(AppError::BadRequest(detail!("detail.approval.reference_one_line_1")));
    }
    Ok(r.to_string())
}

/// Places a hold; returns its id. Refused (409 `wrong_state`) on a record already disposed of.
pub async fn place(db: &Db, staff: &Staff, record_id: i64, kind: &str, reference: &str) -> Result<i64> {
    let kind = HoldKind::parse(kind)
        .ok_or_else(|| AppError::BadRequest(detail!("detail.approval.kind_disclosure_lawsuit_audit")))?;
    let reference = check_reference(reference)?;
    crate::security::policy::require(db, staff, PolicyAction::RecordHold, None).await?;
    let staff = staff.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            let state = lock_record(conn, staff.tenant_id, record_id).await?;
            if state != RecordState::Kept {
                return Err(AppError::Refused("wrong_state", detail!("detail.approval.record_no_longer_kept")));
            }
            let now = now_ms();
            let id = store::insert_hold(conn, &staff, record_id, kind, &reference, now).await?;
            audit::append(
                conn,
                staff.tenant_id,
                &format!("staff:{}", staff.id),
                "record.hold_placed",
                &format!("record:{record_id}"),
                serde_json::json!({"hold": id, "kind": kind.as_str(), "reference": reference}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// Lifts a hold (the request answered, the case closed, the audit done).
pub async fn lift(db: &Db, staff: &Staff, record_id: i64, hold_id: i64) -> Result<()> {
    crate::security::policy::require(db, staff, PolicyAction::RecordHold, None).await?;
    let staff = staff.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            lock_record(conn, staff.tenant_id, record_id).await?;
            let now = now_ms();
            let n = store::lift_hold(conn, &staff, record_id, hold_id, now).await?;
            if n != 1 {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                staff.tenant_id,
                &format!("staff:{}", staff.id),
                "record.hold_lifted",
                &format!("record:{record_id}"),
                serde_json::json!({"hold": hold_id}),
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// Every hold of a record of the tenant, newest first. Their references (a request's receipt
/// number, a case number) are for those who may place holds (`record_hold`); others get 403.
pub async fn list(db: &Db, staff: &Staff, record_id: i64) -> Result<Vec<Hold>> {
    let tenant_id = staff.tenant_id;
    crate::security::policy::require(db, staff, PolicyAction::RecordHold, None).await?;
    if !store::record_exists(db, tenant_id, record_id).await? {
        return Err(AppError::NotFound);
    }
    store::holds_of_record(db, tenant_id, record_id).await
}

/// The holds in place on the tenant's records whose retention ends in `[from, to]` (the
/// records page of a fiscal year), oldest first. Only for staff whom the caller found may
/// place holds (`record_hold`): the references are not for everyone.
pub async fn open_between(db: &Db, tenant_id: i64, from: &str, to: &str) -> Result<Vec<Hold>> {
    store::open_holds_between(db, tenant_id, from, to).await
}
