//! Devices, watched people and who is told: registration from the API, the pages and CSV.

use kencho_core::iot::alarm::DeviceKind;

use super::model::PersonRow;
pub use super::model::{
    ContactRole, ContactRow, DeviceInfo, DeviceRow, NewContact, NewDevice, NewPerson, PersonRecord, PersonSummary,
};
use super::store::registry as store;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Detail, Result};

/// "HH:MM-HH:MM" → minutes of the day.
pub fn parse_hours(s: &str) -> Result<(u16, u16)> {
    let bad = || AppError::BadRequest(detail!("detail.iot.hours_look_like_09", s = s));
    let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    match (minute(a), minute(b)) {
        (Some(x), Some(y)) if x != y => Ok((x, y)),
        _ => Err(bad()),
    }
}

/// Normalises a DevEUI: 16 hex digits, upper case, no separators.
pub fn dev_eui(s: &str) -> Result<String> {
    kencho_core::iot::uplink::normalize_dev_eui(s)
        .ok_or_else(|| AppError::BadRequest(detail!("detail.iot.deveui_16_hex_digits", s = s)))
}

/// A contact's role and working hours, once its entry passes.
fn check_contact(c: &NewContact) -> Result<(ContactRole, Option<(u16, u16)>)> {
    if c.name.trim().is_empty() || c.name.chars().count() > 100 {
        return Err(AppError::BadRequest(detail!("detail.iot.contact_needs_name_up")));
    }
    if !kencho_core::forms::is_email(c.email.trim()) {
        return Err(AppError::BadRequest(detail!("detail.iot.e_mail_address", email = c.email)));
    }
    let Some(role) = ContactRole::parse(&c.role) else {
        return Err(AppError::BadRequest(detail!("detail.iot.unknown_contact_role", role = c.role)));
    };
    Ok((role, c.hours.as_deref().map(parse_hours).transpose()?))
}

/// A device's normalised DevEUI and its kind, once its entry passes.
fn check_device(d: &NewDevice) -> Result<(String, DeviceKind)> {
    let eui = dev_eui(&d.dev_eui)?;
    let Some(kind) = DeviceKind::parse(&d.kind) else {
        let names: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(AppError::BadRequest(detail!("detail.iot.kind_one", names = names.join(", "))));
    };
    if d.label.trim().is_empty() || d.label.chars().count() > 100 {
        return Err(AppError::BadRequest(detail!("detail.iot.device_needs_label_up")));
    }
    match (d.lat, d.lon) {
        (Some(lat), Some(lon)) if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) => {
            return Err(AppError::BadRequest(detail!("detail.iot.lat_lon_out_range")))
        }
        (Some(_), None) | (None, Some(_)) => return Err(AppError::BadRequest(detail!("detail.iot.give_both_lat_lon"))),
        _ => {}
    }
    if let Some(h) = d.heartbeat_s {
        if !(60..=86_400).contains(&h) {
            return Err(AppError::BadRequest(detail!("detail.iot.heartbeat_s_60_86400")));
        }
    }
    if kind == DeviceKind::Trap && d.person_id.is_some() {
        return Err(AppError::BadRequest(detail!("detail.iot.trap_tied_watched_person")));
    }
    if kind != DeviceKind::Trap && d.person_id.is_none() {
        return Err(AppError::BadRequest(detail!("detail.iot.sensor_call_button_needs")));
    }
    for c in &d.hunters {
        check_contact(c)?;
    }
    Ok((eui, kind))
}

/// Registers devices, all or none (a CSV import is one call).
pub async fn add_devices(db: &Db, tenant_id: i64, devices: Vec<NewDevice>, actor: &str) -> Result<Vec<i64>> {
    let mut checked = Vec::new();
    for (i, d) in devices.into_iter().enumerate() {
        let (eui, kind) = check_device(&d).map_err(|e| match e {
            AppError::BadRequest(m) => AppError::BadRequest(detail!("detail.iot.device", n = i + 1).arg_detail("m", m)),
            other => other,
        })?;
        checked.push((eui, kind, d));
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let mut ids = Vec::new();
            for (i, (eui, kind, d)) in checked.iter().enumerate() {
                if let Some(pid) = d.person_id {
                    if !store::person_exists(conn, pid, tenant_id).await? {
                        return Err(AppError::BadRequest(detail!(
                            "detail.iot.device_no_watched_person",
                            n = i + 1,
                            pid = pid
                        )));
                    }
                }
                let heartbeat = i64::from(d.heartbeat_s.unwrap_or(3600));
                let deadline = kencho_core::iot::alarm::silence_deadline_ms(now, heartbeat as u32);
                let id = store::insert_device(conn, tenant_id, (eui, *kind, d), (heartbeat, deadline), now)
                    .await
                    .map_err(|e| {
                        if crate::error::is_unique_violation(&e) {
                            AppError::Conflict(detail!(
                                "detail.iot.device_deveui_already_registered",
                                n = i + 1,
                                eui = eui
                            ))
                        } else {
                            e.into()
                        }
                    })?;
                for (pos, c) in d.hunters.iter().enumerate() {
                    insert_contact(conn, tenant_id, Some(id), None, pos, c, now).await?;
                }
                audit::append(
                    conn,
                    tenant_id,
                    &actor,
                    "iot.device_added",
                    &format!("device:{id}"),
                    serde_json::json!({"dev_eui": eui, "kind": kind.as_str(), "hunters": d.hunters.len()}),
                )
                .await?;
                ids.push(id);
            }
            Ok(ids)
        })
    })
    .await
}

async fn insert_contact(
    conn: &mut sqlx::AnyConnection,
    tenant_id: i64,
    device_id: Option<i64>,
    person_id: Option<i64>,
    position: usize,
    c: &NewContact,
    now: i64,
) -> Result<()> {
    let checked = check_contact(c)?;
    store::insert_contact(conn, tenant_id, device_id, person_id, position, c, checked, now).await
}

pub async fn add_person(db: &Db, tenant_id: i64, p: NewPerson, actor: &str) -> Result<i64> {
    use kencho_core::iot::alarm::{escalation_wait_ok, inactivity_window_ok};
    if p.name.trim().is_empty() || p.name.chars().count() > 100 {
        return Err(AppError::BadRequest(detail!("detail.iot.name_required_up_100")));
    }
    let window = p.inactivity_hours.unwrap_or(12);
    if !inactivity_window_ok(window) {
        return Err(AppError::BadRequest(detail!("detail.iot.inactivity_hours_4_72")));
    }
    let wait = p.escalation_wait_min.unwrap_or(30);
    if !escalation_wait_ok(wait) {
        return Err(AppError::BadRequest(detail!("detail.iot.escalation_wait_min_30")));
    }
    let quiet = p.quiet_hours.as_deref().map(parse_hours).transpose()?;
    if p.consent.trim().is_empty() {
        return Err(AppError::BadRequest(detail!("detail.iot.record_how_consent_was")));
    }
    if p.contacts.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.iot.least_one_contact_needed")));
    }
    for c in &p.contacts {
        check_contact(c)?;
    }
    let (actor, keys) = (actor.to_string(), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            // The consent note is sealed to the row: the row is made first, the note set after.
            let row = PersonRow {
                name: p.name.trim(),
                area: p.area.trim(),
                inactivity_hours: i64::from(window),
                quiet,
                escalation_wait_min: i64::from(wait),
            };
            let id = store::insert_person(conn, tenant_id, row, now).await?;
            let note = keys.seal(&consent_place(id), p.consent.trim())?;
            store::set_consent_note(conn, id, note).await?;
            for (pos, c) in p.contacts.iter().enumerate() {
                insert_contact(conn, tenant_id, None, Some(id), pos, c, now).await?;
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.person_added",
                &format!("person:{id}"),
                serde_json::json!({"contacts": p.contacts.len(), "consent_recorded": true}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// Reads devices from CSV: dev_eui,kind,label,area,lat,lon,heartbeat_s,person_id,hunters
/// (hunters as "name <email>; name <email>"). Line numbers in errors are the file's.
pub fn devices_from_csv(text: &str) -> Result<Vec<NewDevice>> {
    let text = text.trim_start_matches('\u{feff}');
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| AppError::BadRequest(detail!("detail.iot.line_1", e = e)))?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let need = |n: &str| col(n).ok_or_else(|| AppError::BadRequest(detail!("detail.iot.missing_column", n = n)));
    let (eui, kind, label) = (need("dev_eui")?, need("kind")?, need("label")?);
    let (area, lat, lon, hb, person, hunters) =
        (col("area"), col("lat"), col("lon"), col("heartbeat_s"), col("person_id"), col("hunters"));
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let err = |m: Detail| AppError::BadRequest(detail!("detail.iot.line", line = line).arg_detail("m", m));
        let rec = rec.map_err(|e| err(detail!("detail.iot.csv_unreadable", message = e)))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::trim).unwrap_or("");
        let num = |c: Option<usize>, what: &str| -> Result<Option<f64>> {
            let s = get(c);
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse::<f64>().map(Some).map_err(|_| err(detail!("detail.iot.csv_not_a_number", what = what)))
            }
        };
        let mut hs = Vec::new();
        for h in get(hunters).split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, email) = h
                .split_once('<')
                .and_then(|(n, e)| e.strip_suffix('>').map(|e| (n.trim(), e.trim())))
                .ok_or_else(|| err(detail!("detail.iot.csv_hunters", h = h)))?;
            hs.push(NewContact {
                name: name.into(),
                email: email.into(),
                role: ContactRole::Hunter.as_str().into(),
                hours: None,
            });
        }
        let d = NewDevice {
            dev_eui: get(Some(eui)).into(),
            kind: get(Some(kind)).into(),
            label: get(Some(label)).into(),
            area: get(area).into(),
            lat: num(lat, "lat")?,
            lon: num(lon, "lon")?,
            heartbeat_s: num(hb, "heartbeat_s")?.map(|v| v as u32),
            person_id: num(person, "person_id")?.map(|v| v as i64),
            hunters: hs,
        };
        check_device(&d).map_err(|e| match e {
            AppError::BadRequest(m) => err(m),
            other => other,
        })?;
        out.push(d);
    }
    if out.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.iot.file_has_no_devices")));
    }
    Ok(out)
}

/// Where a watched person's consent note is sealed (see [`crate::crypto`]).
fn consent_place(person_id: i64) -> String {
    crate::crypto::place("iot_people.consent_note", person_id)
}

/// The tenant's watched person `id` while watching goes on.
pub async fn person(db: &Db, tenant_id: i64, id: i64) -> Result<Option<PersonRecord>> {
    let Some(mut r) = store::person(db, tenant_id, id).await? else { return Ok(None) };
    r.consent = db.keys().open_unless_empty(&consent_place(id), &r.consent)?;
    Ok(Some(r))
}

/// The tenant's devices in service, by area and label.
pub async fn list_devices(db: &Db, tenant_id: i64) -> Result<Vec<DeviceInfo>> {
    store::list_devices(db, tenant_id).await
}

/// Takes a device out of service: its open alarms close, its deadlines stop, and its DevEUI is
/// freed (renamed in place) so the hardware can be registered again elsewhere. History stays.
pub async fn retire_device(db: &Db, tenant_id: i64, id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            if store::retire_device(conn, id, tenant_id, now).await? == 0 {
                return Err(AppError::NotFound);
            }
            store::close_alarms(conn, &format!("device:{id}"), now).await?;
            audit::append(conn, tenant_id, &actor, "iot.device_retired", &format!("device:{id}"), serde_json::json!({}))
                .await
        })
    })
    .await
}

/// Ends watching over a person (consent withdrawn, moved, in care): their contacts are deleted,
/// their sensors retired, open alarms closed, and no deadline fires again.
pub async fn end_person(db: &Db, tenant_id: i64, id: i64, reason: &str, actor: &str) -> Result<()> {
    let reason: String = reason.trim().chars().take(200).collect();
    if reason.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.iot.say_why_watching_ends")));
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            if store::end_person(conn, id, tenant_id, now).await? == 0 {
                return Err(AppError::NotFound);
            }
            store::delete_person_contacts(conn, id).await?;
            let devices = store::person_device_ids(conn, id).await?;
            store::retire_person_devices(conn, id, now).await?;
            store::close_alarms(conn, &format!("person:{id}"), now).await?;
            for d in devices {
                store::close_alarms(conn, &format!("device:{d}"), now).await?;
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.person_ended",
                &format!("person:{id}"),
                serde_json::json!({"reason": reason}),
            )
            .await
        })
    })
    .await
}

/// The tenant's watched people (not ended), by area.
pub async fn list_people(db: &Db, tenant_id: i64) -> Result<Vec<PersonSummary>> {
    store::list_people(db, tenant_id).await
}

/// The tenant's IoT settings: (minutes between re-sends of a trap alarm, staff address);
/// defaults until an administrator saves them.
pub async fn settings(db: &Db, tenant_id: i64) -> Result<(i64, String)> {
    settings_in(&mut *db.read.acquire().await?, tenant_id).await
}

/// The same inside the caller's transaction (the ingest lanes and timers read it there).
pub(crate) async fn settings_in(conn: &mut sqlx::AnyConnection, tenant_id: i64) -> Result<(i64, String)> {
    Ok(store::settings(conn, tenant_id).await?.unwrap_or((30, String::new())))
}

/// Saves the tenant's IoT settings (already checked), audited.
pub async fn save_settings(db: &Db, tenant_id: i64, actor: &str, resend_min: i64, staff_email: &str) -> Result<()> {
    let (actor, email) = (actor.to_string(), staff_email.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            store::save_settings(conn, tenant_id, resend_min, &email).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.settings",
                "iot",
                serde_json::json!({"resend_min": resend_min, "staff_email": email}),
            )
            .await
        })
    })
    .await
}

/// A watched person's contacts in order, their devices, and the last 20 events of those
/// devices (epoch ms, kind). The caller has checked the person is in its tenant.
pub async fn person_details(db: &Db, person_id: i64) -> Result<(Vec<ContactRow>, Vec<DeviceRow>, Vec<(i64, String)>)> {
    let contacts = store::person_contacts(db, person_id).await?;
    let devices = store::person_devices(db, person_id).await?;
    let activity = store::person_activity(db, person_id).await?;
    Ok((contacts, devices, activity))
}

/// A watched person's record opened by staff the tenant's table allows (`watch_records`; by
/// default 課長 and administrators); the opening is audited: who looked, when, why.
pub async fn open_person(db: &Db, staff: &crate::actor::Staff, id: i64, purpose: &str) -> Result<PersonRecord> {
    crate::security::policy::require(db, staff, kencho_core::security::Action::WatchRecords, None).await?;
    let r = person(db, staff.tenant_id, id).await?.ok_or(crate::error::AppError::NotFound)?;
    let (tenant, actor, purpose) = (staff.tenant_id, format!("staff:{}", staff.id), purpose.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let detail = serde_json::json!({ "purpose": purpose });
            crate::audit::append(conn, tenant, &actor, "iot.person_viewed", &format!("person:{id}"), detail).await
        })
    })
    .await?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_roles_round_trip_and_an_unknown_one_is_refused() {
        kencho_core::name::check_names::<ContactRole>();
        let c = |role: &str| NewContact {
            name: "山田".into(),
            email: "a@example.jp".into(),
            role: role.into(),
            hours: None,
        };
        assert_eq!(check_contact(&c("minsei")).ok().map(|(r, _)| r), Some(ContactRole::Minsei));
        assert!(matches!(check_contact(&c("Minsei")), Err(AppError::BadRequest(_))));
        assert!(ContactRole::FOR_PERSON.iter().all(|r| *r != ContactRole::Hunter));
    }
}
