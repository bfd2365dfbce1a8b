//! The SQL of capture records (`iot_captures`) and of the trap a mailed link names.

use kencho_core::iot::wildlife::CaptureOutcome;
use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, Db};
use crate::error::Result;
use crate::iot::model::{Capture, CaptureEntry, Caught, PermitCapture, Trap};

/// The trap whose fired alarm a mailed token names.
pub async fn trap_of(conn: &mut AnyConnection, token: &str) -> Result<Option<Trap>> {
    sqlx::query(
        "SELECT a.id AS id, a.tenant_id AS tenant_id, a.opened_at AS opened_at, d.id AS device_id, d.label AS label, \
         d.area AS area, d.lat AS lat, d.lon AS lon FROM iot_alarms a \
         JOIN iot_devices d ON a.subject = 'device:' || CAST(d.id AS TEXT) AND d.tenant_id = a.tenant_id \
         WHERE a.ack_token = $1 AND a.kind = 'trap_fired'",
    )
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(Trap::from_row)
    .transpose()
}

/// Whether the alarm's capture is already recorded.
pub async fn recorded(conn: &mut AnyConnection, alarm_id: i64) -> Result<bool> {
    let done =
        sqlx::query("SELECT 1 FROM iot_captures WHERE alarm_id = $1").bind(alarm_id).fetch_optional(&mut *conn).await?;
    Ok(done.is_some())
}

/// Records that the trap held nothing.
pub async fn insert_empty(conn: &mut AnyConnection, trap: &Trap, who: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO iot_captures (tenant_id, alarm_id, device_id, outcome, species, count, recorded_by, at) \
         VALUES ($1, $2, $3, 'empty', '', 0, $4, $5)",
    )
    .bind(trap.tenant_id)
    .bind(trap.alarm_id)
    .bind(trap.device_id)
    .bind(who)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a checked capture under the permit (its note cut to 500 characters); its id.
pub async fn insert_caught(
    conn: &mut AnyConnection,
    trap: &Trap,
    permit_id: i64,
    c: &Caught,
    e: &CaptureEntry,
    outcome: CaptureOutcome,
    who: &str,
) -> Result<i64> {
    let note: String = e.note.trim().chars().take(500).collect();
    Ok(sqlx::query(
        "INSERT INTO iot_captures (tenant_id, alarm_id, device_id, outcome, species, count, recorded_by, at, permit_id, \
         captured_at, trap_type, sex, age, disposition, place, lat, lon, bycatch_action, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id",
    )
    .bind(trap.tenant_id)
    .bind(trap.alarm_id)
    .bind(trap.device_id)
    .bind(outcome.as_str())
    .bind(c.input.species.stored())
    .bind(e.count)
    .bind(who)
    .bind(now_ms())
    .bind(permit_id)
    .bind(c.input.captured_at_ms)
    .bind(c.input.trap_type.key())
    .bind(c.input.sex.key())
    .bind(c.input.age.key())
    .bind(c.input.disposition.key())
    .bind(&c.place)
    .bind(c.lat)
    .bind(c.lon)
    .bind(c.input.bycatch_action.map(|a| a.key()))
    .bind(note)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Every capture of a tenant with its trap's area, oldest first (by when it happened).
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Capture>> {
    let rows = sqlx::query(
        "SELECT d.area AS area, c.species AS species, COALESCE(c.captured_at, c.at) AS at, c.count AS count, \
         c.outcome AS outcome FROM iot_captures c JOIN iot_devices d ON d.id = c.device_id WHERE c.tenant_id = $1 \
         ORDER BY COALESCE(c.captured_at, c.at)",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Capture::from_row).collect()
}

/// Every animal recorded under a permit of the tenant, in capture order.
pub async fn of_permit(db: &Db, tenant_id: i64, permit_id: i64) -> Result<Vec<PermitCapture>> {
    let rows = sqlx::query(
        "SELECT c.captured_at AS captured_at, c.at AS at, d.label AS trap, c.trap_type AS trap_type, c.species AS species, \
         c.sex AS sex, c.age AS age, c.count AS count, c.disposition AS disposition, c.place AS place, c.lat AS lat, \
         c.lon AS lon, c.outcome AS outcome, c.bycatch_action AS bycatch_action, c.recorded_by AS recorded_by \
         FROM iot_captures c JOIN iot_devices d ON d.id = c.device_id \
         WHERE c.tenant_id = $1 AND c.permit_id = $2 AND c.captured_at IS NOT NULL ORDER BY c.captured_at, c.id",
    )
    .bind(tenant_id)
    .bind(permit_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(PermitCapture::from_row).collect()
}

/// (label, area) of the tenant's traps that never caught anything.
pub async fn traps_that_never_caught(db: &Db, tenant_id: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT d.label AS label, d.area AS area FROM iot_devices d WHERE d.tenant_id = $1 AND d.kind = 'trap' \
         AND NOT EXISTS (SELECT 1 FROM iot_captures c WHERE c.device_id = d.id AND c.outcome = 'caught') ORDER BY d.area, d.label",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("label")?, r.try_get("area")?))).collect()
}
