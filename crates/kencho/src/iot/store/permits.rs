//! The SQL of capture permits (`iot_permits`) and of the traps working under them.

use kencho_core::forms::iso;
use kencho_core::iot::wildlife::Permit;
use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, Db};
use crate::error::Result;
use crate::iot::model::PermitInfo;

const COLUMNS: &str = "p.id AS id, p.number AS number, p.holder AS holder, p.holder_email AS holder_email, \
    p.species AS species, p.valid_from AS valid_from, p.valid_to AS valid_to, p.area AS area, p.trap_types AS trap_types, \
    p.reported_at AS reported_at, (SELECT COUNT(*) FROM iot_devices d WHERE d.permit_id = p.id AND d.retired_at IS NULL) AS devices";

/// Whether the tenant already has a permit with this 許可番号.
pub async fn number_taken(conn: &mut AnyConnection, tenant_id: i64, number: &str) -> Result<bool> {
    let taken = sqlx::query("SELECT 1 FROM iot_permits WHERE tenant_id = $1 AND number = $2")
        .bind(tenant_id)
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(taken.is_some())
}

/// Stores a checked permit (species and trap types as stored keys); its id.
pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: i64,
    (permit, email): (&Permit, &str),
    (species, traps): (&[String], &[&str]),
    actor: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO iot_permits (tenant_id, number, holder, holder_email, species, valid_from, valid_to, area, \
         trap_types, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(tenant_id)
    .bind(&permit.number)
    .bind(&permit.holder)
    .bind(email)
    .bind(serde_json::to_string(species).unwrap_or_default())
    .bind(iso(permit.from))
    .bind(iso(permit.to))
    .bind(&permit.area)
    .bind(serde_json::to_string(traps).unwrap_or_default())
    .bind(actor)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// The tenant's permits, newest period first (`today` decides which reports are overdue).
pub async fn list(db: &Db, tenant_id: i64, today: time::Date) -> Result<Vec<PermitInfo>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM iot_permits p WHERE p.tenant_id = $1 ORDER BY p.valid_to DESC, p.id DESC"
    ))
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| PermitInfo::from_row(r, today)).collect()
}

/// The tenant's permit `id`.
pub async fn get(db: &Db, tenant_id: i64, id: i64, today: time::Date) -> Result<Option<PermitInfo>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM iot_permits p WHERE p.tenant_id = $1 AND p.id = $2"))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&db.read)
        .await?
        .map(|r| PermitInfo::from_row(&r, today))
        .transpose()
}

/// Puts the tenant's working trap `device_id` under the permit with its trap type; how many
/// rows changed.
pub async fn assign_device(
    conn: &mut AnyConnection,
    tenant_id: i64,
    permit_id: i64,
    device_id: i64,
    trap_type: &str,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE iot_devices SET permit_id = $1, trap_type = $2 WHERE id = $3 AND tenant_id = $4 \
         AND kind = 'trap' AND retired_at IS NULL",
    )
    .bind(permit_id)
    .bind(trap_type)
    .bind(device_id)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Sets when the permit's result was reported, unless it already is; how many rows changed.
pub async fn set_reported(conn: &mut AnyConnection, tenant_id: i64, id: i64) -> Result<u64> {
    let done =
        sqlx::query("UPDATE iot_permits SET reported_at = $1 WHERE id = $2 AND tenant_id = $3 AND reported_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

/// Whether the tenant has permit `id`.
pub async fn exists(conn: &mut AnyConnection, tenant_id: i64, id: i64) -> Result<bool> {
    let exists = sqlx::query("SELECT 1 FROM iot_permits WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(exists.is_some())
}

/// The permit of the tenant's trap `device_id` and the trap's own type, inside a transaction.
pub async fn of_device(
    conn: &mut AnyConnection,
    tenant_id: i64,
    device_id: i64,
    today: time::Date,
) -> Result<Option<(PermitInfo, Option<String>)>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, dv.trap_type AS device_trap_type FROM iot_devices dv JOIN iot_permits p ON p.id = dv.permit_id \
         WHERE dv.id = $1 AND dv.tenant_id = $2 AND p.tenant_id = $2"
    ))
    .bind(device_id)
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((PermitInfo::from_row(&r, today)?, r.try_get("device_trap_type")?)))
}

/// The permit and trap type of the trap whose alarm a mailed token names.
pub async fn of_ack_token(db: &Db, token: &str, today: time::Date) -> Result<Option<(PermitInfo, Option<String>)>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, dv.trap_type AS device_trap_type FROM iot_alarms a \
         JOIN iot_devices dv ON a.subject = 'device:' || CAST(dv.id AS TEXT) AND dv.tenant_id = a.tenant_id \
         JOIN iot_permits p ON p.id = dv.permit_id AND p.tenant_id = a.tenant_id WHERE a.ack_token = $1"
    ))
    .bind(token)
    .fetch_optional(&db.read)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some((PermitInfo::from_row(&r, today)?, r.try_get("device_trap_type")?)))
}

/// (e-mail, role, division code) of every staff member of the tenant, in id order.
pub async fn staff(conn: &mut AnyConnection, tenant_id: i64) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT s.email AS email, s.role AS role, d.code AS division FROM staff s JOIN divisions d ON d.id = s.division_id \
         WHERE s.tenant_id = $1 AND s.deactivated_at IS NULL ORDER BY s.id",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("email")?, r.try_get("role")?, r.try_get("division")?))).collect()
}
