//! 廃棄の留保: holds on a record while a disclosure request (開示請求), a lawsuit (訴訟) or an
//! audit (監査) is pending. A held record is left out of every disposal list, and a disposal
//! decided before the hold is refused at 施行 (see `records::carry_out`). Placing and lifting
//! are roles as data (`record_hold`), audited, and each runs with the record's row locked, so a
//! hold and a disposal of the same record are applied one after the other.

use kencho_core::approval::records::{HoldKind, RecordState};
use kencho_core::security::policy::Action as PolicyAction;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hold {
    pub id: i64,
    pub record_id: i64,
    /// disclosure (開示請求), lawsuit (訴訟) or audit (監査).
    pub kind: String,
    pub reference: String,
    pub placed_by: String,
    pub placed_at: i64,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<i64>,
}

/// Locks a record of the tenant and returns its state; another tenant's record is a 404.
pub async fn lock_record(conn: &mut AnyConnection, tenant_id: i64, record_id: i64) -> Result<RecordState> {
    let sql = format!("SELECT state FROM records WHERE id = $1 AND tenant_id = $2{}", crate::db::for_update(conn));
    let row = sqlx::query(&sql).bind(record_id).bind(tenant_id).fetch_optional(&mut *conn).await?;
    crate::db::parsed(&row.ok_or(AppError::NotFound)?, "state", RecordState::parse)
}

/// The kinds of the holds in place on a record.
pub async fn open_kinds(conn: &mut AnyConnection, record_id: i64) -> Result<Vec<HoldKind>> {
    let rows = sqlx::query("SELECT kind FROM record_holds WHERE record_id = $1 AND lifted_at IS NULL ORDER BY id")
        .bind(record_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let k: String = r.try_get("kind")?;
            HoldKind::parse(&k).ok_or_else(|| AppError::Internal(format!("stored hold kind {k}")))
        })
        .collect()
}

fn check_reference(reference: &str) -> Result<String> {
    let r = reference.trim();
    if r.is_empty() || r.chars().count() > 200 || kencho_core::text::has_control_chars(r, false) {
        return Err(AppError::BadRequest("the reference must be one line of 1 to 200 characters".into()));
    }
    Ok(r.to_string())
}

/// Places a hold; returns its id. Refused (409 `wrong_state`) on a record already disposed of.
pub async fn place(db: &Db, staff: &Staff, record_id: i64, kind: &str, reference: &str) -> Result<i64> {
    let kind = HoldKind::parse(kind).ok_or_else(|| {
        AppError::BadRequest("kind must be disclosure (開示請求), lawsuit (訴訟) or audit (監査)".into())
    })?;
    let reference = check_reference(reference)?;
    crate::security::policy::require(db, staff, PolicyAction::RecordHold, None).await?;
    let staff = staff.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            let state = lock_record(conn, staff.tenant_id, record_id).await?;
            if state != RecordState::Kept {
                return Err(AppError::Refused("wrong_state", "the record is no longer kept".into()));
            }
            let now = now_ms();
            let id: i64 = sqlx::query(
                "INSERT INTO record_holds (tenant_id, record_id, kind, reference, placed_by, placed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(staff.tenant_id)
            .bind(record_id)
            .bind(kind.as_str())
            .bind(&reference)
            .bind(staff.id)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
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
            let n = sqlx::query(
                "UPDATE record_holds SET lifted_by = $1, lifted_at = $2 \
                 WHERE id = $3 AND record_id = $4 AND tenant_id = $5 AND lifted_at IS NULL",
            )
            .bind(staff.id)
            .bind(now)
            .bind(hold_id)
            .bind(record_id)
            .bind(staff.tenant_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
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
    sqlx::query("SELECT id FROM records WHERE id = $1 AND tenant_id = $2")
        .bind(record_id)
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = sqlx::query(
        "SELECT h.id, h.record_id, h.kind, h.reference, p.name AS placed_by, h.placed_at, l.name AS lifted_by, h.lifted_at \
         FROM record_holds h JOIN staff p ON p.id = h.placed_by LEFT JOIN staff l ON l.id = h.lifted_by \
         WHERE h.record_id = $1 AND h.tenant_id = $2 ORDER BY h.id DESC",
    )
    .bind(record_id)
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(hold_of).collect()
}

/// The holds in place on the tenant's records whose retention ends in `[from, to]` (the
/// records page of a fiscal year), oldest first. Only for staff whom the caller found may
/// place holds (`record_hold`): the references are not for everyone.
pub async fn open_between(db: &Db, tenant_id: i64, from: &str, to: &str) -> Result<Vec<Hold>> {
    let rows = sqlx::query(
        "SELECT h.id, h.record_id, h.kind, h.reference, p.name AS placed_by, h.placed_at, NULL AS lifted_by, h.lifted_at \
         FROM record_holds h JOIN staff p ON p.id = h.placed_by JOIN records r ON r.id = h.record_id \
         WHERE h.tenant_id = $1 AND h.lifted_at IS NULL AND r.expires_on >= $2 AND r.expires_on <= $3 ORDER BY h.id",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(hold_of).collect()
}

fn hold_of(r: &sqlx::any::AnyRow) -> Result<Hold> {
    Ok(Hold {
        id: r.try_get("id")?,
        record_id: r.try_get("record_id")?,
        kind: r.try_get("kind")?,
        reference: r.try_get("reference")?,
        placed_by: r.try_get("placed_by")?,
        placed_at: r.try_get("placed_at")?,
        lifted_by: r.try_get("lifted_by")?,
        lifted_at: r.try_get("lifted_at")?,
    })
}
