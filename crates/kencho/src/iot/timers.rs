//! The deadlines: silent sensors, inactivity, trap re-sends and escalation. Each is a column;
//! a deadline is claimed by a conditional UPDATE in the same transaction as what it causes, so
//! it fires once, whichever node gets there first, and again after a restart if it had not.

use std::time::Duration;

use kencho_core::iot::alarm::{in_quiet_hours, AlarmKind, DeviceKind, Effect, Input};

use super::alarms::{self, StoredContact, Subject};
use super::ingest::{notify_staff, resend_interval_ms};
use super::store::{alarms as alarm_store, timers as store_t};
use super::texts;
use super::watch;
use crate::db::{now_ms, Batch, Db};
use crate::error::Result;

/// Runs every due deadline once; returns how many fired.
pub async fn run_once(db: &Db, base_url: &str) -> Result<usize> {
    let now = now_ms();
    let mut fired = 0;
    for (id, deadline) in store_t::due_silent(db, now).await? {
        let base = base_url.to_string();
        fired += usize::from(
            db.transact(move |conn| Box::pin(async move { sensor_silent(conn, &base, id, deadline).await })).await?,
        );
    }
    for (id, deadline) in store_t::due_inactive(db, now).await? {
        let base = base_url.to_string();
        fired += usize::from(
            db.transact(move |conn| Box::pin(async move { inactivity(conn, &base, id, deadline).await })).await?,
        );
    }
    for (id, at) in store_t::due_actions(db, now).await? {
        let base = base_url.to_string();
        fired += usize::from(
            db.transact(move |conn| Box::pin(async move { alarm_action(conn, &base, id, at).await })).await?,
        );
    }
    Ok(fired)
}

async fn sensor_silent(conn: &mut sqlx::AnyConnection, base_url: &str, id: i64, deadline: i64) -> Result<bool> {
    if !store_t::claim_silent(conn, id, deadline).await? {
        return Ok(false);
    }
    let dev = store_t::silent_device(conn, id).await?;
    let (tenant_id, kind, label, area) = (dev.tenant_id, dev.kind, dev.label, dev.area);
    let last = dev.last_seen_at;
    let title = texts::device_title(kind, &label, &area, &dev.dev_eui);
    let subject = Subject { tenant_id, key: format!("device:{id}"), label: label.clone(), area: area.clone() };
    let o = alarms::apply(conn, &subject, AlarmKind::SensorSilent, Input::Raise, "timer", None).await?;
    if let (Effect::Opened, Some(alarm)) = (o.effect, o.alarm_id) {
        let (s, b) = texts::sensor_silent(&title, &label, &area, last);
        let mut batch = Batch::new();
        if kind == DeviceKind::Trap {
            let hunters = alarm_store::contacts(conn, "device_id", id).await?;
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
        store_t::defer_inactivity(conn, id, deadline, now + wait_min * 60_000).await?;
        return Ok(false);
    }
    if !store_t::claim_inactivity(conn, id, deadline).await? {
        return Ok(false);
    }
    let mut batch = Batch::new();
    watch::inactivity(conn, &mut batch, base_url, &p, now).await?;
    batch.run(conn).await?;
    Ok(true)
}

async fn alarm_action(conn: &mut sqlx::AnyConnection, base_url: &str, id: i64, at: i64) -> Result<bool> {
    let due = store_t::due_alarm(conn, id).await?;
    let (tenant_id, subject, step, opened, kind) = (due.tenant_id, due.subject, due.step, due.opened_at, due.kind);
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
    if !store_t::claim_action(conn, id, at, next).await? {
        return Ok(false);
    }
    let mut batch = Batch::new();
    match kind {
        AlarmKind::TrapFired => {
            let did = subject.strip_prefix("device:").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            let (label, area, place) = store_t::trap_place(conn, did).await?;
            let hunters = alarm_store::contacts(conn, "device_id", did).await?;
            let refs: Vec<&StoredContact> = hunters.iter().collect();
            let token = alarm_store::ack_token(conn, id).await?;
            let (s, b) = texts::trap_resend(&label, &area, place, opened);
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
