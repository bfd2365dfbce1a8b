//! What an accepted uplink does beyond the device's own state: alarms opened, cleared or
//! escalated, a watched person's timer moved, and the mails to hunters, families and staff —
//! all in the ingesting transaction.

use super::*;
use kencho_core::iot::alarm::DeviceKind;

use crate::iot::store::alarms::{ack_token, contacts};
use crate::iot::texts;

/// An uplink that may open, clear or escalate an alarm, or move a watched person's timer: the
/// device's state and the audit entry first, then a "sensor silent" alarm ends, then each event
/// in order. Mail is queued and sent with the rest at the end.
pub(super) async fn apply_to(
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
    store::push_seen(&mut batch, d, up, battery, now);
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
        store::push_event(&mut self.batch, self.d, e, self.battery, self.now);
        match (self.d.kind, e) {
            (DeviceKind::Trap, Event::Fired) => self.trap_fired(conn).await?,
            (DeviceKind::Trap, Event::Reset) => self.trap_reset(conn).await?,
            (_, Event::Battery { percent }) => self.battery(conn, *percent).await?,
            (_, Event::Motion | Event::Door | Event::Power | Event::Water) => {
                if let Some(pid) = self.d.person_id {
                    crate::iot::watch::activity(conn, &mut self.batch, self.base_url, pid, self.now).await?;
                }
            }
            (_, Event::Button) => {
                if let Some(pid) = self.d.person_id {
                    crate::iot::watch::call_button(conn, &mut self.batch, self.base_url, pid, self.now).await?;
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
        if self.d.kind == DeviceKind::Trap {
            let h = hunters_of(conn, &mut self.hunters, self.d.id).await?;
            let to: Vec<&StoredContact> = h.iter().collect();
            alarms::notify(&mut self.batch, alarm_id, event, &to, subject, body, self.base_url, None);
            Ok(())
        } else {
            notify_staff(conn, &mut self.batch, self.d.tenant_id, alarm_id, event, subject, body).await
        }
    }

    fn title(&self) -> String {
        texts::device_title(self.d.kind, &self.d.label, &self.d.area, &self.up.dev_eui)
    }
}

/// The device's hunters, read once per message and only when needed.
async fn hunters_of<'a>(
    conn: &mut AnyConnection,
    cache: &'a mut Option<Vec<StoredContact>>,
    device_id: i64,
) -> Result<&'a Vec<StoredContact>> {
    if cache.is_none() {
        *cache = Some(contacts(conn, "device_id", device_id).await?);
    }
    cache.as_ref().ok_or_else(|| AppError::Internal("hunters".into()))
}

/// Minutes between re-sends of an unacknowledged trap alarm (tenant setting, default 30).
pub async fn resend_interval_ms(conn: &mut AnyConnection, tenant_id: i64) -> Result<i64> {
    let (min, _) = crate::iot::registry::settings_in(conn, tenant_id).await?;
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
    let (_, configured) = crate::iot::registry::settings_in(conn, tenant_id).await?;
    let emails: Vec<String> = match configured {
        e if !e.is_empty() => vec![e],
        _ => store::admin_emails(conn, tenant_id).await?,
    };
    let staff: Vec<StoredContact> = emails
        .into_iter()
        .enumerate()
        .map(|(i, email)| StoredContact {
            id: -(i as i64) - 1,
            contact: kencho_core::iot::alarm::Contact {
                name: crate::i18n::t(crate::i18n::OFFICE, "mail.iot_staff_name"),
                email,
                hours: None,
            },
        })
        .collect();
    let refs: Vec<&StoredContact> = staff.iter().collect();
    alarms::notify(batch, alarm_id, event, &refs, subject, body, "", None);
    Ok(())
}
