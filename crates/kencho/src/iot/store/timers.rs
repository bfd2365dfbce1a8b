//! The SQL of the deadlines: which are due, and the conditional UPDATEs that claim them.

use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::Result;
use crate::iot::model::{DueAlarm, SilentDevice};

/// Rows whose deadline (`due_at`) has passed: (id, the deadline as stored, which the claim compares).
async fn due(db: &Db, sql: &str, now: i64) -> Result<Vec<(i64, i64)>> {
    sqlx::query(sql)
        .bind(now)
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("due_at")?)))
        .collect()
}

/// Devices whose silence deadline has passed, earliest first (200 at most).
pub async fn due_silent(db: &Db, now: i64) -> Result<Vec<(i64, i64)>> {
    let silent = "SELECT id, silent_deadline AS due_at FROM iot_devices \
                  WHERE silent_deadline IS NOT NULL AND silent_deadline <= $1 ORDER BY silent_deadline LIMIT 200";
    due(db, silent, now).await
}

/// Watched people whose inactivity deadline has passed (200 at most).
pub async fn due_inactive(db: &Db, now: i64) -> Result<Vec<(i64, i64)>> {
    let quiet = "SELECT id, inactivity_deadline AS due_at FROM iot_people \
                 WHERE inactivity_deadline IS NOT NULL AND inactivity_deadline <= $1 LIMIT 200";
    due(db, quiet, now).await
}

/// Active alarms whose next action is due (200 at most).
pub async fn due_actions(db: &Db, now: i64) -> Result<Vec<(i64, i64)>> {
    let actions = "SELECT id, next_action_at AS due_at FROM iot_alarms \
                   WHERE state = 'active' AND next_action_at IS NOT NULL AND next_action_at <= $1 LIMIT 200";
    due(db, actions, now).await
}

/// Claims a device's silence deadline if it is still `deadline`; whether this caller did.
pub async fn claim_silent(conn: &mut AnyConnection, id: i64, deadline: i64) -> Result<bool> {
    let claimed = sqlx::query("UPDATE iot_devices SET silent_deadline = NULL WHERE id = $1 AND silent_deadline = $2")
        .bind(id)
        .bind(deadline)
        .execute(&mut *conn)
        .await?;
    Ok(claimed.rows_affected() != 0)
}

/// The device whose silence deadline fired.
pub async fn silent_device(conn: &mut AnyConnection, id: i64) -> Result<SilentDevice> {
    let r = sqlx::query("SELECT tenant_id, kind, label, area, last_seen_at, dev_eui FROM iot_devices WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    SilentDevice::from_row(&r)
}

/// Moves a watched person's inactivity deadline from `deadline` to `to`, if it is still
/// `deadline`.
pub async fn defer_inactivity(conn: &mut AnyConnection, id: i64, deadline: i64, to: i64) -> Result<()> {
    sqlx::query("UPDATE iot_people SET inactivity_deadline = $1 WHERE id = $2 AND inactivity_deadline = $3")
        .bind(to)
        .bind(id)
        .bind(deadline)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Claims a watched person's inactivity deadline if it is still `deadline`; whether this
/// caller did.
pub async fn claim_inactivity(conn: &mut AnyConnection, id: i64, deadline: i64) -> Result<bool> {
    let claimed =
        sqlx::query("UPDATE iot_people SET inactivity_deadline = NULL WHERE id = $1 AND inactivity_deadline = $2")
            .bind(id)
            .bind(deadline)
            .execute(&mut *conn)
            .await?;
    Ok(claimed.rows_affected() != 0)
}

/// The alarm whose next action is due.
pub async fn due_alarm(conn: &mut AnyConnection, id: i64) -> Result<DueAlarm> {
    let r = sqlx::query("SELECT tenant_id, subject, kind, step, opened_at, detail FROM iot_alarms WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    DueAlarm::from_row(&r)
}

/// Claims an active alarm's next action if it is still `at`, setting the one after (`next`);
/// whether this caller did.
pub async fn claim_action(conn: &mut AnyConnection, id: i64, at: i64, next: Option<i64>) -> Result<bool> {
    let claimed = sqlx::query(
        "UPDATE iot_alarms SET next_action_at = $1 WHERE id = $2 AND next_action_at = $3 AND state = 'active'",
    )
    .bind(next)
    .bind(id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(claimed.rows_affected() != 0)
}

/// (label, area, position) of a trap, for its re-sent notice.
pub async fn trap_place(conn: &mut AnyConnection, device_id: i64) -> Result<(String, String, Option<(f64, f64)>)> {
    let d = sqlx::query("SELECT label, area, lat, lon FROM iot_devices WHERE id = $1")
        .bind(device_id)
        .fetch_one(&mut *conn)
        .await?;
    let (lat, lon): (Option<f64>, Option<f64>) = (d.try_get("lat")?, d.try_get("lon")?);
    Ok((d.try_get("label")?, d.try_get("area")?, lat.zip(lon)))
}
