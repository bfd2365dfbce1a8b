//! From an uplink to alarms and mail: duplicate and frame-counter checks, the device's last
//! state, its events, and what they mean for traps and for watched people. A message that
//! cannot be used is recorded in `iot_rejected` with the reason; ingestion never stops on it.

use kencho_core::iot::alarm::{self as machine, AlarmKind, Dup, Effect, Input};
use kencho_core::iot::codec::{self, Event};
use kencho_core::iot::events::{self, DeviceStatus, Message};
use kencho_core::iot::uplink::Uplink;
use sqlx::AnyConnection;

use super::alarms::{self, StoredContact, Subject};
use crate::db::{now_ms, Batch, Db};
use crate::error::{AppError, Result};

mod effects;
mod model;
mod store;

use effects::apply_to;
pub use effects::{notify_staff, resend_interval_ms};
use model::{Device, Kind, Parsed};
pub use model::{Incoming, Ingested};

/// Reads one message posted by a caller of one tenant (the webhook): [`ingest_many`] with a
/// single message, scoped to `tenant_id`. `caller` names who posted it (`api_token:4`,
/// `staff:2`), for the audit log.
pub async fn ingest(
    db: &Db,
    base_url: &str,
    (tenant_id, caller): (i64, &str),
    (topic, event): (Option<&str>, Option<&str>),
    body: &[u8],
) -> Result<Ingested> {
    let one = Incoming {
        source: "webhook",
        topic: topic.map(str::to_string),
        event: event.map(str::to_string),
        body: body.to_vec(),
        tenant_id: Some(tenant_id),
        caller: caller.to_string(),
    };
    ingest_many(db, base_url, vec![one])
        .await?
        .pop()
        .ok_or_else(|| AppError::Internal("a message without an outcome".into()))
}

fn read(m: &Incoming) -> Parsed {
    match events::parse(m.topic.as_deref(), m.event.as_deref(), &m.body).map_err(|e| e.to_string())? {
        Message::Uplink(u) => {
            let ev = codec::decode(&u.payload, u.decoded.as_ref()).map_err(|e| e.to_string())?;
            Ok(Kind::Uplink(u, ev))
        }
        Message::Status(s) => Ok(Kind::Status(s)),
        Message::Ignored { event } => Ok(Kind::Ignored(event)),
    }
}

/// Reads many messages in one transaction (the MQTT lanes use this). Each message is for one
/// tenant (its caller's, or its MQTT application's) and only that tenant's devices answer it:
/// another tenant's DevEUI is an unknown device. Routine uplinks of known devices are written
/// together; anything that may touch an alarm goes the full way, in order, and is audited with
/// its caller. One result per message, in order; an error means none of them is stored.
pub async fn ingest_many(db: &Db, base_url: &str, msgs: Vec<Incoming>) -> Result<Vec<Ingested>> {
    let parsed: Vec<(Incoming, Parsed)> = msgs.into_iter().map(|m| (read(&m), m)).map(|(p, m)| (m, p)).collect();
    let base_url = base_url.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let mut devices = lock_devices(conn, &parsed).await?;
            let bindings = if parsed.iter().any(|(m, _)| m.tenant_id.is_none()) {
                store::bindings(conn).await?
            } else {
                Default::default()
            };
            let mut out = Vec::with_capacity(parsed.len());
            let mut batch = Batch::new();
            let now = now_ms();
            for (m, p) in &parsed {
                let tenant = m.tenant(&bindings);
                let kind = match p {
                    Ok(x) => x,
                    Err(reason) => {
                        store::push_reject(&mut batch, m, tenant, reason);
                        out.push(Ingested::rejected(None, reason.clone()));
                        continue;
                    }
                };
                let (dev_eui, up, events) = match kind {
                    Kind::Ignored(event) => {
                        out.push(Ingested::outcome("ignored", None, vec![event.to_string()]));
                        continue;
                    }
                    Kind::Uplink(up, events) => (&up.dev_eui, Some(up), events.as_slice()),
                    Kind::Status(s) => (&s.dev_eui, None, &[][..]),
                };
                let Some(tenant) = tenant else {
                    let reason = "the topic's network-server application is not bound to a tenant".to_string();
                    store::push_reject(&mut batch, m, None, &reason);
                    out.push(Ingested::rejected(Some(dev_eui), reason));
                    continue;
                };
                // Another tenant's device is answered exactly as a device that does not exist.
                let Some(d) = devices.get_mut(dev_eui).filter(|d| d.tenant_id == tenant) else {
                    let reason = format!("unknown device {dev_eui}");
                    store::push_reject(&mut batch, m, Some(tenant), &reason);
                    out.push(Ingested::rejected(Some(dev_eui), reason));
                    continue;
                };
                let Some(up) = up else {
                    if let Kind::Status(status) = kind {
                        push_status(&mut batch, d, status, now);
                    }
                    out.push(Ingested::outcome("accepted", Some(dev_eui), vec!["status".into()]));
                    continue;
                };
                out.push(take_uplink(conn, &base_url, &mut batch, d, (up, events), m, now).await?);
            }
            batch.run(conn).await?;
            Ok(out)
        })
    })
    .await
}

/// Locks the rows of every device the messages name, keyed by DevEUI; in chunks, to stay
/// within the databases' bind-parameter limits.
async fn lock_devices(
    conn: &mut AnyConnection,
    parsed: &[(Incoming, Parsed)],
) -> Result<std::collections::HashMap<String, Device>> {
    let mut euis: Vec<&str> = parsed.iter().filter_map(|(_, p)| p.as_ref().ok().and_then(Kind::dev_eui)).collect();
    euis.sort_unstable();
    euis.dedup();
    store::lock_devices(conn, &euis).await
}

/// One uplink of a known device of the right tenant: a duplicate is only answered; a routine
/// one is queued in `batch`; anything else goes the full way ([`apply_to`]) after what is
/// queued. The device's remembered state then follows the uplink, for the next message.
async fn take_uplink(
    conn: &mut AnyConnection,
    base_url: &str,
    batch: &mut Batch,
    d: &mut Device,
    (up, events): (&Uplink, &[Event]),
    m: &Incoming,
    now: i64,
) -> Result<Ingested> {
    let names: Vec<String> = events.iter().map(|e| e.name().to_string()).collect();
    let last = d.last_fcnt.map(|f| (u32::try_from(f).unwrap_or(0), d.last_dedup.as_deref()));
    if machine::is_duplicate(last, up.f_cnt, up.dedup_id.as_deref()) == Dup::Duplicate {
        return Ok(Ingested::outcome("duplicate", Some(&up.dev_eui), names));
    }
    let battery = battery_of(events);
    let outcome = if is_routine(d, events) {
        store::push_seen(batch, d, up, battery, now);
        for e in events {
            store::push_event(batch, d, e, battery, now);
        }
        Ingested::outcome("accepted", Some(&up.dev_eui), names)
    } else {
        // Alarm work reads and writes as it goes: send what is queued first.
        std::mem::take(batch).run(conn).await?;
        let outcome = apply_to(conn, base_url, d, up, events, m).await?;
        d.silence_fired = false;
        outcome
    };
    d.last_fcnt = up.f_cnt.map(i64::from).or(d.last_fcnt);
    d.last_dedup = up.dedup_id.clone();
    d.battery = battery.or(d.battery);
    Ok(outcome)
}

/// The battery level an uplink reports, if it reports one.
fn battery_of(events: &[Event]) -> Option<i64> {
    events.iter().find_map(|e| match e {
        Event::Battery { percent } => Some(i64::from(*percent)),
        _ => None,
    })
}

/// A status report: the device was heard from and its battery is as it says. It moves no
/// alarm and no frame counter (it shares its uplink's deduplication id, which must not make
/// that uplink a duplicate).
fn push_status(batch: &mut Batch, d: &mut Device, s: &DeviceStatus, now: i64) {
    let battery = s.battery.map(i64::from);
    store::push_status(batch, d, battery, now);
    d.battery = battery.or(d.battery);
}

/// Whether an uplink only updates the device's state and event log (no alarm can open, clear
/// or escalate): the common heartbeat, taken in bulk by [`ingest_many`].
fn is_routine(d: &Device, events: &[Event]) -> bool {
    !d.silence_fired
        && events.iter().all(|e| match e {
            Event::Heartbeat => true,
            Event::Battery { percent } => {
                // Neither low now, nor back from low (either way an alarm opens or clears).
                !machine::battery_low(*percent) && !d.back_from_low(*percent)
            }
            _ => false,
        })
}
