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

/// An uplink that may open, clear or escalate an alarm, or move a watched person's timer: the
/// device's state and the audit entry first, then a "sensor silent" alarm ends, then each event
/// in order. Mail is queued and sent with the rest at the end.
async fn apply_to(
    conn: &mut AnyConnection,
    base_url: &str,
    d: &Device,
    up: &Uplink,
    events: &[Event],
    m: &Incoming,
) -> Result<Ingested> {
    let last = d.last_fcnt.map(|f| (u32::try_from(f).unwrap_or(0), d.last_dedup.as_deref()));
    let names: Vec<String> = events.iter().map(|e| e.name().to_string()).collect();
    if machine::is_duplicate(last, up.f_cnt, up.dedup_id.as_deref()) == Dup::Duplicate {
        return Ok(Ingested::outcome("duplicate", Some(&up.dev_eui), names));
    }
    let now = now_ms();
    let battery = battery_of(events);
    let mut batch = Batch::new();
    push_seen(&mut batch, d, up, battery, now);
    // An uplink that may open, clear or escalate an alarm, or move a watched person's timer,
    // is an act on the tenant's records: the audit log names who delivered it.
    crate::audit::append(
        conn,
        d.tenant_id,
        &m.caller,
        "iot.uplink",
        &format!("device:{}", d.id),
        serde_json::json!({"dev_eui": up.dev_eui, "events": names, "source": m.source, "f_cnt": up.f_cnt}),
    )
    .await?;
    let mut a = Apply {
        base_url,
        d,
        up,
        subject: Subject {
            tenant_id: d.tenant_id,
            key: format!("device:{}", d.id),
            label: d.label.clone(),
            area: d.area.clone(),
        },
        who: format!("device:{} via {}", up.dev_eui, m.caller),
        now,
        battery,
        batch,
        hunters: None,
    };
    if d.silence_fired {
        a.sensor_back(conn).await?;
    }
    for e in events {
        a.event(conn, e).await?;
    }
    a.batch.run(conn).await?;
    Ok(Ingested::outcome("accepted", Some(&up.dev_eui), names))
}

/// One uplink being applied by [`apply_to`]: the device, who speaks for it, and the mail
/// queued so far.
struct Apply<'a> {
    base_url: &'a str,
    d: &'a Device,
    up: &'a Uplink,
    subject: Subject,
    /// `device:<DevEUI> via <caller>`, for the alarm history.
    who: String,
    now: i64,
    battery: Option<i64>,
    batch: Batch,
    /// Hunters are read only when a notice goes out (most uplinks are heartbeats).
    hunters: Option<Vec<StoredContact>>,
}

impl Apply<'_> {
    /// The sensor spoke: a "sensor silent" alarm is over.
    async fn sensor_back(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let back = alarms::apply(conn, &self.subject, AlarmKind::SensorSilent, Input::Clear, &self.who, None).await?;
        if let (Effect::Cleared, Some(id)) = (back.effect, back.alarm_id) {
            let d = self.d;
            let (s, b) = texts::sensor_back(&self.title(), &d.label, &d.area);
            self.notify_device(conn, id, "back", (&s, &b)).await?;
        }
        Ok(())
    }

    /// One event: logged, then what it means for the device's alarms or its watched person.
    async fn event(&mut self, conn: &mut AnyConnection, e: &Event) -> Result<()> {
        push_event(&mut self.batch, self.d, e, self.battery, self.now);
        match (self.d.kind.as_str(), e) {
            ("trap", Event::Fired) => self.trap_fired(conn).await?,
            ("trap", Event::Reset) => self.trap_reset(conn).await?,
            (_, Event::Battery { percent }) => self.battery(conn, *percent).await?,
            (_, Event::Motion | Event::Door | Event::Power | Event::Water) => {
                if let Some(pid) = self.d.person_id {
                    super::watch::activity(conn, &mut self.batch, self.base_url, pid, self.now).await?;
                }
            }
            (_, Event::Button) => {
                if let Some(pid) = self.d.person_id {
                    super::watch::call_button(conn, &mut self.batch, self.base_url, pid, self.now).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A trap went off: the alarm opens (re-sent until acknowledged) and the hunters get a
    /// mail with the acknowledgement link.
    async fn trap_fired(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let resend = resend_interval_ms(conn, self.d.tenant_id).await?;
        let next = Some(self.now + resend);
        let o = alarms::apply(conn, &self.subject, AlarmKind::TrapFired, Input::Raise, &self.who, next).await?;
        if let (Effect::Opened, Some(id)) = (o.effect, o.alarm_id) {
            let token = ack_token(conn, id).await?;
            let d = self.d;
            let (s, b) = texts::trap_fired(&d.label, &d.area, d.place, self.battery, self.now);
            let h = hunters_of(conn, &mut self.hunters, d.id).await?;
            let to: Vec<&StoredContact> = h.iter().collect();
            alarms::notify(&mut self.batch, id, "fired", &to, &s, &b, self.base_url, Some(&token));
        }
        Ok(())
    }

    /// A trap was set again: its alarm clears and the hunters are told.
    async fn trap_reset(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let o = alarms::apply(conn, &self.subject, AlarmKind::TrapFired, Input::Clear, &self.who, None).await?;
        if let (Effect::Cleared, Some(id)) = (o.effect, o.alarm_id) {
            let (s, b) = texts::trap_reset(&self.d.label, &self.d.area);
            let h = hunters_of(conn, &mut self.hunters, self.d.id).await?;
            let to: Vec<&StoredContact> = h.iter().collect();
            alarms::notify(&mut self.batch, id, "reset", &to, &s, &b, self.base_url, None);
        }
        Ok(())
    }

    /// A battery report: below 30 % opens a low-battery alarm (with a mail); back at 30 % or
    /// more clears it quietly.
    async fn battery(&mut self, conn: &mut AnyConnection, percent: u8) -> Result<()> {
        if machine::battery_low(percent) {
            let o = alarms::apply(conn, &self.subject, AlarmKind::LowBattery, Input::Raise, &self.who, None).await?;
            if let (Effect::Opened, Some(id)) = (o.effect, o.alarm_id) {
                let (s, b) = texts::low_battery(&self.title(), &self.d.label, &self.d.area, percent);
                self.notify_device(conn, id, "battery", (&s, &b)).await?;
            }
        } else if self.d.back_from_low(percent) {
            alarms::apply(conn, &self.subject, AlarmKind::LowBattery, Input::Clear, &self.who, None).await?;
        }
        Ok(())
    }

    /// A trap's notices go to its hunters; any other device's to the tenant's staff.
    async fn notify_device(
        &mut self,
        conn: &mut AnyConnection,
        alarm_id: i64,
        event: &str,
        (subject, body): (&str, &str),
    ) -> Result<()> {
        if self.d.kind == "trap" {
            let h = hunters_of(conn, &mut self.hunters, self.d.id).await?;
            let to: Vec<&StoredContact> = h.iter().collect();
            alarms::notify(&mut self.batch, alarm_id, event, &to, subject, body, self.base_url, None);
            Ok(())
        } else {
            notify_staff(conn, &mut self.batch, self.d.tenant_id, alarm_id, event, subject, body).await
        }
    }

    fn title(&self) -> String {
        texts::device_title(&self.d.kind, &self.d.label, &self.d.area, &self.up.dev_eui)
    }
}

/// The device's hunters, read once per message and only when needed.
async fn hunters_of<'a>(
    conn: &mut AnyConnection,
    cache: &'a mut Option<Vec<StoredContact>>,
    device_id: i64,
) -> Result<&'a Vec<StoredContact>> {
    if cache.is_none() {
        *cache = Some(alarms::contacts(conn, "device_id", device_id).await?);
    }
    cache.as_ref().ok_or_else(|| AppError::Internal("hunters".into()))
}

pub async fn ack_token(conn: &mut AnyConnection, alarm_id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT ack_token FROM iot_alarms WHERE id = $1")
        .bind(alarm_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("ack_token")?)
}

/// Minutes between re-sends of an unacknowledged trap alarm (tenant setting, default 30).
pub async fn resend_interval_ms(conn: &mut AnyConnection, tenant_id: i64) -> Result<i64> {
    let r = sqlx::query("SELECT trap_resend_min FROM iot_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    let min = match r {
        Some(r) => r.try_get::<i64, _>("trap_resend_min")?,
        None => 30,
    };
    Ok(min.clamp(1, 24 * 60) * 60_000)
}

/// Silent sensors and low batteries of 見守り devices go to the tenant's staff, never the family.
pub async fn notify_staff(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    tenant_id: i64,
    alarm_id: i64,
    event: &str,
    subject: &str,
    body: &str,
) -> Result<()> {
    let configured = sqlx::query("SELECT staff_email FROM iot_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<String, _>("staff_email"))
        .transpose()?
        .filter(|e| !e.is_empty());
    let emails: Vec<String> = match configured {
        Some(e) => vec![e],
        None => sqlx::query("SELECT email FROM staff WHERE tenant_id = $1 AND role = 'admin' ORDER BY id")
            .bind(tenant_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("email"))
            .collect::<std::result::Result<_, _>>()?,
    };
    let staff: Vec<StoredContact> = emails
        .into_iter()
        .enumerate()
        .map(|(i, email)| StoredContact {
            id: -(i as i64) - 1,
            contact: kencho_core::iot::alarm::Contact { name: "職員".into(), email, hours: None },
        })
        .collect();
    let refs: Vec<&StoredContact> = staff.iter().collect();
    alarms::notify(batch, alarm_id, event, &refs, subject, body, "", None);
    Ok(())
}

/// The mail texts (Japanese; the recipients are local hunters, families and staff), from the
/// locales (`mail.iot_*`). A subject never names a watched person (見守り対象者): mail subjects
/// show in notification previews and lock screens, so they say only "見守り" and the person's
/// number; the name is in the body, which goes to the person's own circle and the staff.
pub mod texts {
    use super::alarms::map_link;
    use crate::i18n::tf;

    const LANG: &str = "ja";

    fn when(ms: i64) -> String {
        crate::clock::fmt_time(ms)
    }

    fn pair(key: &str, args: &[(&str, &str)]) -> (String, String) {
        (tf(LANG, &format!("mail.iot_{key}_subject"), args), tf(LANG, &format!("mail.iot_{key}_body"), args))
    }

    /// What a device is called in a subject: a trap by its label; a 見守り sensor, whose label
    /// may carry the person's name or home, only by its DevEUI.
    pub fn device_title(kind: &str, label: &str, area: &str, dev_eui: &str) -> String {
        if kind == "trap" {
            format!("{label}（{area}）")
        } else {
            tf(LANG, "mail.iot_watch_device", &[("eui", dev_eui)])
        }
    }

    pub fn trap_fired(
        label: &str,
        area: &str,
        place: Option<(f64, f64)>,
        battery: Option<i64>,
        at: i64,
    ) -> (String, String) {
        let battery = battery.map(|b| format!("{b}%")).unwrap_or_else(|| "不明".into());
        pair(
            "trap_fired",
            &[("label", label), ("area", area), ("at", &when(at)), ("place", &map_link(place)), ("battery", &battery)],
        )
    }

    pub fn trap_resend(label: &str, area: &str, place: Option<(f64, f64)>, opened: i64) -> (String, String) {
        pair("trap_resend", &[("label", label), ("area", area), ("at", &when(opened)), ("place", &map_link(place))])
    }

    pub fn trap_reset(label: &str, area: &str) -> (String, String) {
        pair("trap_reset", &[("label", label), ("area", area)])
    }

    /// `title`: [`device_title`].
    pub fn sensor_silent(title: &str, label: &str, area: &str, last: Option<i64>) -> (String, String) {
        let last = last.map(when).unwrap_or_else(|| "なし".into());
        pair("sensor_silent", &[("title", title), ("label", label), ("area", area), ("last", &last)])
    }

    pub fn sensor_back(title: &str, label: &str, area: &str) -> (String, String) {
        pair("sensor_back", &[("title", title), ("label", label), ("area", area)])
    }

    pub fn low_battery(title: &str, label: &str, area: &str, percent: u8) -> (String, String) {
        pair("low_battery", &[("title", title), ("label", label), ("area", area), ("percent", &percent.to_string())])
    }

    pub fn inactivity(id: i64, name: &str, area: &str, hours: i64, since: Option<i64>) -> (String, String) {
        let since = since.map(when).unwrap_or_else(|| "記録なし".into());
        pair(
            "inactivity",
            &[
                ("id", &id.to_string()),
                ("name", name),
                ("area", area),
                ("hours", &hours.to_string()),
                ("since", &since),
            ],
        )
    }

    pub fn call_button(id: i64, name: &str, area: &str) -> (String, String) {
        pair("call_button", &[("id", &id.to_string()), ("name", name), ("area", area)])
    }

    pub fn all_clear(id: i64, name: &str, area: &str) -> (String, String) {
        pair("all_clear", &[("id", &id.to_string()), ("name", name), ("area", area)])
    }
}
