//! The deadlines: silent sensors, inactivity, trap re-sends and escalation. Each is a column;
//! a deadline is claimed by a conditional UPDATE in the same transaction as what it causes, so
//! it fires once, whichever node gets there first, and again after a restart if it had not.

use std::time::Duration;

use kencho_core::iot::alarm::{in_quiet_hours, AlarmKind, Effect, Input};
use sqlx::Row;

use super::alarms::{self, StoredContact, Subject};
use super::ingest::{notify_staff, resend_interval_ms};
use super::texts;
use super::watch;
use crate::db::{now_ms, Batch, Db};
use crate::error::Result;

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

/// Runs every due deadline once; returns how many fired.
pub async fn run_once(db: &Db, base_url: &str) -> Result<usize> {
    let now = now_ms();
    let mut fired = 0;
    let silent = "SELECT id, silent_deadline AS due_at FROM iot_devices \
                  WHERE silent_deadline IS NOT NULL AND silent_deadline <= $1 ORDER BY silent_deadline LIMIT 200";
    for (id, deadline) in due(db, silent, now).await? {
        let base = base_url.to_string();
        fired += usize::from(
            db.transact(move |conn| Box::pin(async move { sensor_silent(conn, &base, id, deadline).await })).await?,
        );
    }
    let quiet = "SELECT id, inactivity_deadline AS due_at FROM iot_people \
                 WHERE inactivity_deadline IS NOT NULL AND inactivity_deadline <= $1 LIMIT 200";
    for (id, deadline) in due(db, quiet, now).await? {
        let base = base_url.to_string();
        fired += usize::from(
            db.transact(move |conn| Box::pin(async move { inactivity(conn, &base, id, deadline).await })).await?,
        );
    }
    let actions = "SELECT id, next_action_at AS due_at FROM iot_alarms \
                   WHERE state = 'active' AND next_action_at IS NOT NULL AND next_action_at <= $1 LIMIT 200";
    for (id, at) in due(db, actions, now).await? {
        let base = base_url.to_string();
        fired += usize::from(
            db.transact(move |conn| Box::pin(async move { alarm_action(conn, &base, id, at).await })).await?,
        );
    }
    Ok(fired)
}

async fn sensor_silent(conn: &mut sqlx::AnyConnection, base_url: &str, id: i64, deadline: i64) -> Result<bool> {
    let claimed = sqlx::query("UPDATE iot_devices SET silent_deadline = NULL WHERE id = $1 AND silent_deadline = $2")
        .bind(id)
        .bind(deadline)
        .execute(&mut *conn)
        .await?;
    if claimed.rows_affected() == 0 {
        return Ok(false);
    }
    let r = sqlx::query("SELECT tenant_id, kind, label, area, last_seen_at, dev_eui FROM iot_devices WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let (tenant_id, kind, label, area): (i64, String, String, String) =
        (r.try_get("tenant_id")?, r.try_get("kind")?, r.try_get("label")?, r.try_get("area")?);
    let last: Option<i64> = r.try_get("last_seen_at")?;
    let title = texts::device_title(&kind, &label, &area, &r.try_get::<String, _>("dev_eui")?);
    let subject = Subject { tenant_id, key: format!("device:{id}"), label: label.clone(), area: area.clone() };
    let o = alarms::apply(conn, &subject, AlarmKind::SensorSilent, Input::Raise, "timer", None).await?;
    if let (Effect::Opened, Some(alarm)) = (o.effect, o.alarm_id) {
        let (s, b) = texts::sensor_silent(&title, &label, &area, last);
        let mut batch = Batch::new();
        if kind == "trap" {
            let hunters = alarms::contacts(conn, "device_id", id).await?;
            let refs: Vec<&StoredContact> = hunters.iter().collect();
            alarms::notify(&mut batch, alarm, "silent", &refs, &s, &b, base_url, None);
        } else {
            // A 見守り sensor that stopped reporting is the staff's matter, not the family's.
            notify_staff(conn, &mut batch, tenant_id, alarm, "silent", &s, &b).await?;
        }
        batch.run(conn).await?;
    }
    Ok(true)
}

async fn inactivity(conn: &mut sqlx::AnyConnection, base_url: &str, id: i64, deadline: i64) -> Result<bool> {
    let p = watch::person(conn, id).await?;
    let now = now_ms();
    let minute = alarms::jst_minute(now);
    if in_quiet_hours(p.quiet, minute) {
        // Wait for the end of the quiet hours.
        let end = p.quiet.map(|q| q.1).unwrap_or(minute);
        let wait_min = (i64::from(end) - i64::from(minute)).rem_euclid(1440).max(1);
        sqlx::query("UPDATE iot_people SET inactivity_deadline = $1 WHERE id = $2 AND inactivity_deadline = $3")
            .bind(now + wait_min * 60_000)
            .bind(id)
            .bind(deadline)
            .execute(&mut *conn)
            .await?;
        return Ok(false);
    }
    let claimed =
        sqlx::query("UPDATE iot_people SET inactivity_deadline = NULL WHERE id = $1 AND inactivity_deadline = $2")
            .bind(id)
            .bind(deadline)
            .execute(&mut *conn)
            .await?;
    if claimed.rows_affected() == 0 {
        return Ok(false);
    }
    let mut batch = Batch::new();
    watch::inactivity(conn, &mut batch, base_url, &p, now).await?;
    batch.run(conn).await?;
    Ok(true)
}

async fn alarm_action(conn: &mut sqlx::AnyConnection, base_url: &str, id: i64, at: i64) -> Result<bool> {
    let r = sqlx::query("SELECT tenant_id, subject, kind, step, opened_at, detail FROM iot_alarms WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let (tenant_id, subject, step, opened): (i64, String, i64, i64) =
        (r.try_get("tenant_id")?, r.try_get("subject")?, r.try_get("step")?, r.try_get("opened_at")?);
    let kind = crate::db::parsed(&r, "kind", AlarmKind::parse)?;
    let now = now_ms();
    // A 見守り alarm's person: read once, for the wait and for the texts.
    let person = match (kind, subject.strip_prefix("person:").and_then(|s| s.parse::<i64>().ok())) {
        (AlarmKind::Inactivity | AlarmKind::CallButton, Some(pid)) => Some(watch::person(conn, pid).await?),
        _ => None,
    };
    let next = match (kind, &person) {
        (AlarmKind::TrapFired, _) => Some(now + resend_interval_ms(conn, tenant_id).await?),
        (_, Some(p)) => Some(now + p.wait_min * 60_000),
        _ => None,
    };
    let claimed = sqlx::query(
        "UPDATE iot_alarms SET next_action_at = $1 WHERE id = $2 AND next_action_at = $3 AND state = 'active'",
    )
    .bind(next)
    .bind(id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(false);
    }
    let mut batch = Batch::new();
    match kind {
        AlarmKind::TrapFired => {
            let did = subject.strip_prefix("device:").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            let d = sqlx::query("SELECT label, area, lat, lon FROM iot_devices WHERE id = $1")
                .bind(did)
                .fetch_one(&mut *conn)
                .await?;
            let (label, area, lat, lon): (String, String, Option<f64>, Option<f64>) =
                (d.try_get("label")?, d.try_get("area")?, d.try_get("lat")?, d.try_get("lon")?);
            let hunters = alarms::contacts(conn, "device_id", did).await?;
            let refs: Vec<&StoredContact> = hunters.iter().collect();
            let token = super::ingest::ack_token(conn, id).await?;
            let (s, b) = texts::trap_resend(&label, &area, lat.zip(lon), opened);
            alarms::notify(&mut batch, id, &format!("resend{at}"), &refs, &s, &b, base_url, Some(&token));
        }
        AlarmKind::Inactivity | AlarmKind::CallButton => {
            let Some(p) = person else { return Ok(true) };
            let (s, b) = if kind == AlarmKind::CallButton {
                texts::call_button(p.id, &p.name, &p.area)
            } else {
                texts::inactivity(p.id, &p.name, &p.area, p.inactivity_hours, p.last_activity_at)
            };
            let after = usize::try_from(step - 1).ok();
            watch::escalate(conn, &mut batch, base_url, &p, id, after, now, &s, &b).await?;
        }
        _ => {}
    }
    batch.run(conn).await?;
    Ok(true)
}

/// The timer worker: checks deadlines every second (the mails they queue go out when their
/// transaction commits).
pub async fn worker(db: Db, base_url: String, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("IoT timers", Duration::from_secs(1));
    crate::worker::run(every, stop, || async { run_once(&db, &base_url).await.map(|_| crate::worker::Pass::Idle) })
        .await;
}
