//! The ingest sub-area's SQL: the devices a batch of messages names (locked), the MQTT
//! application bindings, a device's state and event log, rejected messages, and the tenant
//! settings and staff addresses alarm notices need.

use std::collections::HashMap;

use kencho_core::iot::alarm as machine;
use kencho_core::iot::codec::Event;
use kencho_core::iot::uplink::Uplink;
use sqlx::{AnyConnection, Row};

use super::model::{Device, Incoming};
use crate::db::{now_ms, Arg, Batch};
use crate::error::Result;

const DEVICE_COLUMNS: &str =
    "id, tenant_id, kind, label, area, lat, lon, heartbeat_s, person_id, last_fcnt, last_dedup, silent_deadline, battery, dev_eui";

/// Locks the rows of the devices with these DevEUIs (sorted, without repeats), keyed by
/// DevEUI; in chunks, to stay within the databases' bind-parameter limits.
pub(super) async fn lock_devices(conn: &mut AnyConnection, euis: &[&str]) -> Result<HashMap<String, Device>> {
    let mut devices = HashMap::new();
    for chunk in euis.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let lock = crate::db::for_update(conn);
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM iot_devices WHERE dev_eui IN ({}){lock}", marks.join(", "));
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q.bind(*e);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let eui: String = r.try_get("dev_eui")?;
            devices.insert(eui, Device::from_row(&r)?);
        }
    }
    Ok(devices)
}

/// MQTT applications and the tenants they belong to.
pub(super) async fn bindings(conn: &mut AnyConnection) -> Result<HashMap<(String, String), i64>> {
    let rows = sqlx::query("SELECT tenant_id, format, application FROM iot_applications").fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(((r.try_get("format")?, r.try_get("application")?), r.try_get("tenant_id")?))).collect()
}

/// The device was heard from: its frame counter, deduplication id, battery and next silence
/// deadline.
pub(super) fn push_seen(batch: &mut Batch, d: &Device, up: &Uplink, battery: Option<i64>, now: i64) {
    batch.push(
        "UPDATE iot_devices SET last_seen_at = $1, last_fcnt = $2, last_dedup = $3, battery = COALESCE($4, battery), \
         silent_deadline = $5 WHERE id = $6",
        vec![
            Arg::Int(now),
            Arg::OptInt(up.f_cnt.map(i64::from).or(d.last_fcnt)),
            Arg::OptText(up.dedup_id.clone()),
            Arg::OptInt(battery),
            Arg::Int(machine::silence_deadline_ms(now, u32::try_from(d.heartbeat_s).unwrap_or(3600))),
            Arg::Int(d.id),
        ],
    );
}

/// One line of the device's event log.
pub(super) fn push_event(batch: &mut Batch, d: &Device, e: &Event, battery: Option<i64>, now: i64) {
    batch.push(
        "INSERT INTO iot_events (device_id, at, kind, battery) VALUES ($1, $2, $3, $4)",
        vec![Arg::Int(d.id), Arg::Int(now), Arg::Text(e.name().into()), Arg::OptInt(battery)],
    );
}

/// A status report: the device was heard from, its battery as reported, and a `status` line
/// in its event log.
pub(super) fn push_status(batch: &mut Batch, d: &Device, battery: Option<i64>, now: i64) {
    batch.push(
        "UPDATE iot_devices SET last_seen_at = $1, battery = COALESCE($2, battery) WHERE id = $3",
        vec![Arg::Int(now), Arg::OptInt(battery), Arg::Int(d.id)],
    );
    batch.push(
        "INSERT INTO iot_events (device_id, at, kind, battery) VALUES ($1, $2, $3, $4)",
        vec![Arg::Int(d.id), Arg::Int(now), Arg::Text("status".into()), Arg::OptInt(battery)],
    );
}

/// A message that could not be used, with why: its first 500 bytes and 300 characters of its
/// topic.
pub(super) fn push_reject(batch: &mut Batch, m: &Incoming, tenant_id: Option<i64>, reason: &str) {
    let excerpt: String = String::from_utf8_lossy(&m.body[..m.body.len().min(500)]).into_owned();
    batch.push(
        "INSERT INTO iot_rejected (at, source, topic, reason, excerpt, tenant_id) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            Arg::Int(now_ms()),
            Arg::Text(m.source.into()),
            Arg::Text(m.topic.clone().unwrap_or_default().chars().take(300).collect()),
            Arg::Text(reason.into()),
            Arg::Text(excerpt),
            Arg::OptInt(tenant_id),
        ],
    );
}

/// E-mail addresses of the tenant's administrators, in id order.
pub(super) async fn admin_emails(conn: &mut AnyConnection, tenant_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query(
        "SELECT email FROM staff WHERE tenant_id = $1 AND role = 'admin' AND deactivated_at IS NULL ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("email"))
    .collect::<std::result::Result<_, _>>()?)
}
