//! From an uplink to alarms and mail: duplicate and frame-counter checks, the device's last
//! state, its events, and what they mean for traps and for watched people. A message that
//! cannot be used is recorded in `iot_rejected` with the reason; ingestion never stops on it.

use kencho_core::iot::alarm::{self as machine, AlarmKind, Dup, Effect, Input};
use kencho_core::iot::codec::{self, Event};
use kencho_core::iot::events::{self, ChirpStackEvent, DeviceStatus, Message};
use kencho_core::iot::uplink::{self, Uplink};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::alarms::{self, StoredContact, Subject};
use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{AppError, Result};

mod effects;

use effects::apply_to;
pub use effects::{ack_token, notify_staff, resend_interval_ms};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// `accepted`, `duplicate`, `rejected`, or `ignored` (a network-server event kencho has no
    /// use for, such as ChirpStack's `join`).
    pub result: String,
    pub dev_eui: Option<String>,
    pub events: Vec<String>,
    pub reason: Option<String>,
}

impl Ingested {
    /// A message taken or passed over, with the events it carried.
    fn outcome(result: &str, dev_eui: Option<&String>, events: Vec<String>) -> Ingested {
        Ingested { result: result.into(), dev_eui: dev_eui.cloned(), events, reason: None }
    }

    /// A message recorded in `iot_rejected`, and why.
    fn rejected(dev_eui: Option<&String>, reason: String) -> Ingested {
        Ingested { result: "rejected".into(), dev_eui: dev_eui.cloned(), events: vec![], reason: Some(reason) }
    }
}

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

/// A message read into an uplink and its events (or a status report, or an event of no use),
/// or why it could not be.
type Parsed = std::result::Result<Kind, String>;

enum Kind {
    Uplink(Uplink, Vec<Event>),
    Status(DeviceStatus),
    Ignored(ChirpStackEvent),
}

impl Kind {
    fn dev_eui(&self) -> Option<&str> {
        match self {
            Kind::Uplink(u, _) => Some(&u.dev_eui),
            Kind::Status(s) => Some(&s.dev_eui),
            Kind::Ignored(_) => None,
        }
    }
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

/// A message as it came: where from, its topic, its bytes, and whose it is.
pub struct Incoming {
    pub source: &'static str,
    pub topic: Option<String>,
    /// ChirpStack's HTTP `?event=` (`up`, `status`, `join`, …); MQTT topics name their own.
    pub event: Option<String>,
    pub body: Vec<u8>,
    /// The tenant the caller belongs to (webhook); `None` for MQTT, where the topic's
    /// network-server application decides (see `registry::bind_application`).
    pub tenant_id: Option<i64>,
    /// Who delivered it (`api_token:4`, `staff:2`, `mqtt`), for the audit log.
    pub caller: String,
}

impl Incoming {
    /// The tenant this message is for: the caller's, or the one its MQTT application is bound to.
    fn tenant(&self, bindings: &std::collections::HashMap<(String, String), i64>) -> Option<i64> {
        if self.tenant_id.is_some() {
            return self.tenant_id;
        }
        let (format, app) = uplink::topic_application(self.topic.as_deref()?)?;
        bindings.get(&(format.key().to_string(), app.to_string())).copied()
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
                bindings(conn).await?
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
                        push_reject(&mut batch, m, tenant, reason);
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
                    push_reject(&mut batch, m, None, &reason);
                    out.push(Ingested::rejected(Some(dev_eui), reason));
                    continue;
                };
                // Another tenant's device is answered exactly as a device that does not exist.
                let Some(d) = devices.get_mut(dev_eui).filter(|d| d.tenant_id == tenant) else {
                    let reason = format!("unknown device {dev_eui}");
                    push_reject(&mut batch, m, Some(tenant), &reason);
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
    let mut devices = std::collections::HashMap::new();
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
            devices.insert(eui, device_from(&r)?);
        }
    }
    Ok(devices)
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
        push_seen(batch, d, up, battery, now);
        for e in events {
            push_event(batch, d, e, battery, now);
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

/// The device was heard from: its frame counter, deduplication id, battery and next silence
/// deadline.
fn push_seen(batch: &mut Batch, d: &Device, up: &Uplink, battery: Option<i64>, now: i64) {
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
fn push_event(batch: &mut Batch, d: &Device, e: &Event, battery: Option<i64>, now: i64) {
    batch.push(
        "INSERT INTO iot_events (device_id, at, kind, battery) VALUES ($1, $2, $3, $4)",
        vec![Arg::Int(d.id), Arg::Int(now), Arg::Text(e.name().into()), Arg::OptInt(battery)],
    );
}

/// A status report: the device was heard from and its battery is as it says. It moves no
/// alarm and no frame counter (it shares its uplink's deduplication id, which must not make
/// that uplink a duplicate).
fn push_status(batch: &mut Batch, d: &mut Device, s: &DeviceStatus, now: i64) {
    let battery = s.battery.map(i64::from);
    batch.push(
        "UPDATE iot_devices SET last_seen_at = $1, battery = COALESCE($2, battery) WHERE id = $3",
        vec![Arg::Int(now), Arg::OptInt(battery), Arg::Int(d.id)],
    );
    batch.push(
        "INSERT INTO iot_events (device_id, at, kind, battery) VALUES ($1, $2, $3, $4)",
        vec![Arg::Int(d.id), Arg::Int(now), Arg::Text("status".into()), Arg::OptInt(battery)],
    );
    d.battery = battery.or(d.battery);
}

/// MQTT applications and the tenants they belong to.
async fn bindings(conn: &mut AnyConnection) -> Result<std::collections::HashMap<(String, String), i64>> {
    let rows = sqlx::query("SELECT tenant_id, format, application FROM iot_applications").fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(((r.try_get("format")?, r.try_get("application")?), r.try_get("tenant_id")?))).collect()
}

fn push_reject(batch: &mut Batch, m: &Incoming, tenant_id: Option<i64>, reason: &str) {
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

struct Device {
    id: i64,
    tenant_id: i64,
    kind: String,
    label: String,
    area: String,
    place: Option<(f64, f64)>,
    heartbeat_s: i64,
    person_id: Option<i64>,
    last_fcnt: Option<i64>,
    last_dedup: Option<String>,
    /// The silence deadline has fired (it is cleared when claimed): a "sensor silent" alarm
    /// may be open. Otherwise there is none, and no query is needed to find out.
    silence_fired: bool,
    /// Battery level last reported (a low-battery alarm can only be open below 30 %).
    battery: Option<i64>,
}

impl Device {
    /// A report of 30 % or more after one below 30 %: a low-battery alarm may be open to clear.
    fn back_from_low(&self, percent: u8) -> bool {
        percent >= 30 && self.battery.is_some_and(|b| b < 30)
    }
}

const DEVICE_COLUMNS: &str =
    "id, tenant_id, kind, label, area, lat, lon, heartbeat_s, person_id, last_fcnt, last_dedup, silent_deadline, battery, dev_eui";

fn device_from(r: &sqlx::any::AnyRow) -> Result<Device> {
    let (lat, lon): (Option<f64>, Option<f64>) = (r.try_get("lat")?, r.try_get("lon")?);
    Ok(Device {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        kind: r.try_get("kind")?,
        label: r.try_get("label")?,
        area: r.try_get("area")?,
        place: lat.zip(lon),
        heartbeat_s: r.try_get("heartbeat_s")?,
        person_id: r.try_get("person_id")?,
        last_fcnt: r.try_get("last_fcnt")?,
        last_dedup: r.try_get("last_dedup")?,
        silence_fired: r.try_get::<Option<i64>, _>("silent_deadline")?.is_none(),
        battery: r.try_get("battery")?,
    })
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
