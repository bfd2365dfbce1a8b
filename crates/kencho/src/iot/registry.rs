//! Devices, watched people and who is told: registration from the API, the pages and CSV.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// What a device is.
pub const DEVICE_KINDS: [&str; 6] = ["trap", "motion", "door", "power", "water", "button"];

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// LoRaWAN DevEUI, 16 hex digits (separators allowed).
    pub dev_eui: String,
    /// trap (わなセンサー), motion, door, power, water (見守りセンサー) or button (呼出ボタン).
    pub kind: String,
    pub label: String,
    /// 地区, used to group alarms and captures.
    #[serde(default)]
    pub area: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Expected heartbeat interval in seconds (default 3600).
    pub heartbeat_s: Option<u32>,
    /// For 見守り sensors and call buttons: the watched person's id.
    pub person_id: Option<i64>,
    /// For traps: the hunters told when it fires.
    #[serde(default)]
    pub hunters: Vec<NewContact>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub name: String,
    pub email: String,
    /// hunter, family, shakyo (社協), minsei (民生委員) or municipality.
    #[serde(default = "hunter")]
    pub role: String,
    /// Working hours "HH:MM-HH:MM" (JST); absent = any time.
    pub hours: Option<String>,
}

fn hunter() -> String {
    "hunter".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    #[serde(default)]
    pub area: String,
    /// Hours without any activity before an alarm (default 12, 4–72).
    pub inactivity_hours: Option<u32>,
    /// Quiet hours "HH:MM-HH:MM" (JST), when inactivity is not alarmed.
    pub quiet_hours: Option<String>,
    /// Minutes before the next contact is told (default 30, 30–60).
    pub escalation_wait_min: Option<u32>,
    /// How the person (or their guardian) consented, e.g. "2026-11-29 書面同意".
    pub consent: String,
    /// Escalation list, in order: family, then 社協 / 民生委員, then the municipality.
    pub contacts: Vec<NewContact>,
}

/// "HH:MM-HH:MM" → minutes of the day.
pub fn parse_hours(s: &str) -> Result<(u16, u16)> {
    let bad = || AppError::BadRequest(format!("hours must look like 09:00-17:00, not \"{s}\""));
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
        .ok_or_else(|| AppError::BadRequest(format!("DevEUI must be 16 hex digits, not \"{s}\"")))
}

fn check_contact(c: &NewContact) -> Result<Option<(u16, u16)>> {
    if c.name.trim().is_empty() || c.name.chars().count() > 100 {
        return Err(AppError::BadRequest("a contact needs a name (up to 100 characters)".into()));
    }
    if !kencho_core::forms::is_email(c.email.trim()) {
        return Err(AppError::BadRequest(format!("not an e-mail address: \"{}\"", c.email)));
    }
    if !["hunter", "family", "shakyo", "minsei", "municipality"].contains(&c.role.as_str()) {
        return Err(AppError::BadRequest(format!("unknown contact role \"{}\"", c.role)));
    }
    c.hours.as_deref().map(parse_hours).transpose()
}

fn check_device(d: &NewDevice) -> Result<String> {
    let eui = dev_eui(&d.dev_eui)?;
    if !DEVICE_KINDS.contains(&d.kind.as_str()) {
        return Err(AppError::BadRequest(format!("kind must be one of {}", DEVICE_KINDS.join(", "))));
    }
    if d.label.trim().is_empty() || d.label.chars().count() > 100 {
        return Err(AppError::BadRequest("a device needs a label (up to 100 characters)".into()));
    }
    match (d.lat, d.lon) {
        (Some(lat), Some(lon)) if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) => {
            return Err(AppError::BadRequest("lat/lon out of range".into()))
        }
        (Some(_), None) | (None, Some(_)) => return Err(AppError::BadRequest("give both lat and lon".into())),
        _ => {}
    }
    if let Some(h) = d.heartbeat_s {
        if !(60..=86_400).contains(&h) {
            return Err(AppError::BadRequest("heartbeat_s must be 60–86400".into()));
        }
    }
    if d.kind == "trap" && d.person_id.is_some() {
        return Err(AppError::BadRequest("a trap is not tied to a watched person".into()));
    }
    if d.kind != "trap" && d.person_id.is_none() {
        return Err(AppError::BadRequest("a 見守り sensor or call button needs person_id".into()));
    }
    for c in &d.hunters {
        check_contact(c)?;
    }
    Ok(eui)
}

/// Registers devices, all or none (a CSV import is one call).
pub async fn add_devices(db: &Db, tenant_id: i64, devices: Vec<NewDevice>, actor: &str) -> Result<Vec<i64>> {
    let mut checked = Vec::new();
    for (i, d) in devices.into_iter().enumerate() {
        let eui = check_device(&d).map_err(|e| match e {
            AppError::BadRequest(m) => AppError::BadRequest(format!("device {}: {m}", i + 1)),
            other => other,
        })?;
        checked.push((eui, d));
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let mut ids = Vec::new();
            for (i, (eui, d)) in checked.iter().enumerate() {
                if let Some(pid) = d.person_id {
                    let ok = sqlx::query("SELECT 1 FROM iot_people WHERE id = $1 AND tenant_id = $2")
                        .bind(pid)
                        .bind(tenant_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if ok.is_none() {
                        return Err(AppError::BadRequest(format!("device {}: no watched person {pid}", i + 1)));
                    }
                }
                let heartbeat = i64::from(d.heartbeat_s.unwrap_or(3600));
                // A missing position is written as a NULL literal: through the Any driver a NULL
                // float parameter types the cached statement so that a later real float is refused
                // by PostgreSQL ("incorrect binary data format").
                let sql = match (d.lat, d.lon) {
                    (Some(_), Some(_)) => {
                        "INSERT INTO iot_devices (tenant_id, dev_eui, kind, label, area, heartbeat_s, person_id, silent_deadline, created_at, lat, lon) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"
                    }
                    _ => {
                        "INSERT INTO iot_devices (tenant_id, dev_eui, kind, label, area, heartbeat_s, person_id, silent_deadline, created_at, lat, lon) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL) RETURNING id"
                    }
                };
                let q = sqlx::query(sql).bind(tenant_id).bind(eui).bind(&d.kind).bind(d.label.trim()).bind(d.area.trim());
                let mut q = q
                    .bind(heartbeat)
                    .bind(d.person_id)
                    .bind(kencho_core::iot::alarm::silence_deadline_ms(now, heartbeat as u32))
                    .bind(now);
                if let (Some(lat), Some(lon)) = (d.lat, d.lon) {
                    q = q.bind(lat).bind(lon);
                }
                let id: i64 = q
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| {
                    if crate::error::is_unique_violation(&e) {
                        AppError::Conflict(format!("device {}: DevEUI {eui} is already registered", i + 1))
                    } else {
                        e.into()
                    }
                })?
                .try_get("id")?;
                for (pos, c) in d.hunters.iter().enumerate() {
                    insert_contact(conn, tenant_id, Some(id), None, pos, c, now).await?;
                }
                audit::append(
                    conn,
                    tenant_id,
                    &actor,
                    "iot.device_added",
                    &format!("device:{id}"),
                    serde_json::json!({"dev_eui": eui, "kind": d.kind, "hunters": d.hunters.len()}),
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
    let hours = check_contact(c)?;
    sqlx::query(
        "INSERT INTO iot_contacts (tenant_id, device_id, person_id, position, role, name, email, hours_start, hours_end, consent_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(tenant_id)
    .bind(device_id)
    .bind(person_id)
    .bind(position as i64)
    .bind(&c.role)
    .bind(c.name.trim())
    .bind(c.email.trim().to_lowercase())
    .bind(hours.map(|h| i64::from(h.0)))
    .bind(hours.map(|h| i64::from(h.1)))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn add_person(db: &Db, tenant_id: i64, p: NewPerson, actor: &str) -> Result<i64> {
    use kencho_core::iot::alarm::{escalation_wait_ok, inactivity_window_ok};
    if p.name.trim().is_empty() || p.name.chars().count() > 100 {
        return Err(AppError::BadRequest("name is required (up to 100 characters)".into()));
    }
    let window = p.inactivity_hours.unwrap_or(12);
    if !inactivity_window_ok(window) {
        return Err(AppError::BadRequest("inactivity_hours must be 4–72".into()));
    }
    let wait = p.escalation_wait_min.unwrap_or(30);
    if !escalation_wait_ok(wait) {
        return Err(AppError::BadRequest("escalation_wait_min must be 30–60".into()));
    }
    let quiet = p.quiet_hours.as_deref().map(parse_hours).transpose()?;
    if p.consent.trim().is_empty() {
        return Err(AppError::BadRequest("record how consent was given (consent)".into()));
    }
    if p.contacts.is_empty() {
        return Err(AppError::BadRequest("at least one contact is needed".into()));
    }
    for c in &p.contacts {
        check_contact(c)?;
    }
    let (actor, keys) = (actor.to_string(), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            // The consent note is sealed to the row: the row is made first, the note set after.
            let id: i64 = sqlx::query(
                "INSERT INTO iot_people (tenant_id, name, area, inactivity_hours, quiet_start, quiet_end, escalation_wait_min, consent_at, consent_note, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $8) RETURNING id",
            )
            .bind(tenant_id)
            .bind(p.name.trim())
            .bind(p.area.trim())
            .bind(i64::from(window))
            .bind(quiet.map(|q| i64::from(q.0)))
            .bind(quiet.map(|q| i64::from(q.1)))
            .bind(i64::from(wait))
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
            let note = keys.seal(&consent_place(id), p.consent.trim())?;
            sqlx::query("UPDATE iot_people SET consent_note = $1 WHERE id = $2").bind(note).bind(id).execute(&mut *conn).await?;
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
    let headers = rdr.headers().map_err(|e| AppError::BadRequest(format!("line 1: {e}")))?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let need = |n: &str| col(n).ok_or_else(|| AppError::BadRequest(format!("missing column \"{n}\"")));
    let (eui, kind, label) = (need("dev_eui")?, need("kind")?, need("label")?);
    let (area, lat, lon, hb, person, hunters) =
        (col("area"), col("lat"), col("lon"), col("heartbeat_s"), col("person_id"), col("hunters"));
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let err = |m: String| AppError::BadRequest(format!("line {line}: {m}"));
        let rec = rec.map_err(|e| err(e.to_string()))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::trim).unwrap_or("");
        let num = |c: Option<usize>, what: &str| -> Result<Option<f64>> {
            let s = get(c);
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse::<f64>().map(Some).map_err(|_| err(format!("{what} is not a number")))
            }
        };
        let mut hs = Vec::new();
        for h in get(hunters).split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, email) = h
                .split_once('<')
                .and_then(|(n, e)| e.strip_suffix('>').map(|e| (n.trim(), e.trim())))
                .ok_or_else(|| err(format!("hunters: write \"name <email>\", not \"{h}\"")))?;
            hs.push(NewContact { name: name.into(), email: email.into(), role: "hunter".into(), hours: None });
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
        return Err(AppError::BadRequest("the file has no devices".into()));
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    pub id: i64,
    pub dev_eui: String,
    pub kind: String,
    pub label: String,
    pub area: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub battery: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub person_id: Option<i64>,
}

/// Where a watched person's consent note is sealed (see [`crate::crypto`]).
fn consent_place(person_id: i64) -> String {
    crate::crypto::place("iot_people.consent_note", person_id)
}

/// A watched person's record, its consent note opened (the caller checks the table of roles
/// and audits the opening).
#[derive(Debug, Clone)]
pub struct PersonRecord {
    pub name: String,
    pub area: String,
    pub inactivity_hours: i64,
    pub consent: String,
    pub last_activity_at: Option<i64>,
}

/// The tenant's watched person `id` while watching goes on.
pub async fn person(db: &Db, tenant_id: i64, id: i64) -> Result<Option<PersonRecord>> {
    let row = sqlx::query(
        "SELECT name, area, inactivity_hours, consent_note, last_activity_at FROM iot_people \
         WHERE id = $1 AND tenant_id = $2 AND ended_at IS NULL",
    )
    .bind(id)
    .bind(tenant_id)
    .fetch_optional(&db.read)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(PersonRecord {
        name: r.try_get("name")?,
        area: r.try_get("area")?,
        inactivity_hours: r.try_get("inactivity_hours")?,
        consent: db.keys().open_unless_empty(&consent_place(id), &r.try_get::<String, _>("consent_note")?)?,
        last_activity_at: r.try_get("last_activity_at")?,
    }))
}

pub async fn list_devices(db: &Db, tenant_id: i64) -> Result<Vec<DeviceInfo>> {
    let rows = sqlx::query(
        "SELECT id, dev_eui, kind, label, area, lat, lon, battery, last_seen_at, person_id FROM iot_devices \
         WHERE tenant_id = $1 AND retired_at IS NULL ORDER BY area, label, id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeviceInfo {
                id: r.try_get("id")?,
                dev_eui: r.try_get("dev_eui")?,
                kind: r.try_get("kind")?,
                label: r.try_get("label")?,
                area: r.try_get("area")?,
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
                battery: r.try_get("battery")?,
                last_seen_at: r.try_get("last_seen_at")?,
                person_id: r.try_get("person_id")?,
            })
        })
        .collect()
}

/// Takes a device out of service: its open alarms close, its deadlines stop, and its DevEUI is
/// freed (renamed in place) so the hardware can be registered again elsewhere. History stays.
pub async fn retire_device(db: &Db, tenant_id: i64, id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let done = sqlx::query(
                "UPDATE iot_devices SET retired_at = $1, silent_deadline = NULL, dev_eui = dev_eui || ':retired:' || CAST(id AS TEXT) \
                 WHERE id = $2 AND tenant_id = $3 AND retired_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(AppError::NotFound);
            }
            close_alarms(conn, &format!("device:{id}"), now).await?;
            audit::append(conn, tenant_id, &actor, "iot.device_retired", &format!("device:{id}"), serde_json::json!({})).await
        })
    })
    .await
}

/// Ends watching over a person (consent withdrawn, moved, in care): their contacts are deleted,
/// their sensors retired, open alarms closed, and no deadline fires again.
pub async fn end_person(db: &Db, tenant_id: i64, id: i64, reason: &str, actor: &str) -> Result<()> {
    let reason: String = reason.trim().chars().take(200).collect();
    if reason.is_empty() {
        return Err(AppError::BadRequest("say why watching ends".into()));
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let done = sqlx::query(
                "UPDATE iot_people SET ended_at = $1, inactivity_deadline = NULL WHERE id = $2 AND tenant_id = $3 AND ended_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(AppError::NotFound);
            }
            sqlx::query("DELETE FROM iot_contacts WHERE person_id = $1").bind(id).execute(&mut *conn).await?;
            let devices: Vec<i64> = sqlx::query("SELECT id FROM iot_devices WHERE person_id = $1 AND retired_at IS NULL")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<std::result::Result<_, _>>()?;
            sqlx::query(
                "UPDATE iot_devices SET retired_at = $1, silent_deadline = NULL, dev_eui = dev_eui || ':retired:' || CAST(id AS TEXT) \
                 WHERE person_id = $2 AND retired_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            close_alarms(conn, &format!("person:{id}"), now).await?;
            for d in devices {
                close_alarms(conn, &format!("device:{d}"), now).await?;
            }
            audit::append(conn, tenant_id, &actor, "iot.person_ended", &format!("person:{id}"), serde_json::json!({"reason": reason}))
                .await
        })
    })
    .await
}

async fn close_alarms(conn: &mut sqlx::AnyConnection, subject: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE iot_alarms SET state = 'cleared', cleared_at = $1, updated_at = $1, next_action_at = NULL \
         WHERE subject = $2 AND state <> 'cleared'",
    )
    .bind(now)
    .bind(subject)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A watched person as the devices page lists them.
pub struct PersonSummary {
    pub id: i64,
    pub name: String,
    pub area: String,
    /// Sensors and buttons assigned to them.
    pub devices: i64,
}

/// The tenant's watched people (not ended), by area.
pub async fn list_people(db: &Db, tenant_id: i64) -> Result<Vec<PersonSummary>> {
    let rows = sqlx::query(
        "SELECT p.id AS id, p.name AS name, p.area AS area, \
         (SELECT COUNT(*) FROM iot_devices d WHERE d.person_id = p.id) AS devices \
         FROM iot_people p WHERE p.tenant_id = $1 AND p.ended_at IS NULL ORDER BY p.area, p.id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PersonSummary {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                area: r.try_get("area")?,
                devices: r.try_get("devices")?,
            })
        })
        .collect()
}

/// The tenant's IoT settings: (minutes between re-sends of a trap alarm, staff address);
/// defaults until an administrator saves them.
pub async fn settings(db: &Db, tenant_id: i64) -> Result<(i64, String)> {
    let row = sqlx::query("SELECT trap_resend_min, staff_email FROM iot_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?;
    match row {
        Some(r) => Ok((r.try_get("trap_resend_min")?, r.try_get("staff_email")?)),
        None => Ok((30, String::new())),
    }
}

/// Saves the tenant's IoT settings (already checked), audited.
pub async fn save_settings(db: &Db, tenant_id: i64, actor: &str, resend_min: i64, staff_email: &str) -> Result<()> {
    let (actor, email) = (actor.to_string(), staff_email.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO iot_settings (tenant_id, trap_resend_min, staff_email) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id) DO UPDATE SET trap_resend_min = excluded.trap_resend_min, staff_email = excluded.staff_email",
            )
            .bind(tenant_id)
            .bind(resend_min)
            .bind(&email)
            .execute(&mut *conn)
            .await?;
            audit::append(conn, tenant_id, &actor, "iot.settings", "iot", serde_json::json!({"resend_min": resend_min, "staff_email": email}))
                .await
        })
    })
    .await
}

/// (role, name, e-mail) of a contact.
pub type ContactRow = (String, String, String);
/// (kind, label, DevEUI) of a device.
pub type DeviceRow = (String, String, String);

/// A watched person's contacts in order, their devices, and the last 20 events of those
/// devices (epoch ms, kind). The caller has checked the person is in its tenant.
pub async fn person_details(db: &Db, person_id: i64) -> Result<(Vec<ContactRow>, Vec<DeviceRow>, Vec<(i64, String)>)> {
    let contacts = sqlx::query("SELECT role, name, email FROM iot_contacts WHERE person_id = $1 ORDER BY position")
        .bind(person_id)
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|c| Ok((c.try_get("role")?, c.try_get("name")?, c.try_get("email")?)))
        .collect::<Result<Vec<_>>>()?;
    let devices = sqlx::query("SELECT kind, label, dev_eui FROM iot_devices WHERE person_id = $1 ORDER BY id")
        .bind(person_id)
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|c| Ok((c.try_get("kind")?, c.try_get("label")?, c.try_get("dev_eui")?)))
        .collect::<Result<Vec<_>>>()?;
    let activity = sqlx::query(
        "SELECT e.at AS at, e.kind AS kind FROM iot_events e JOIN iot_devices d ON d.id = e.device_id \
         WHERE d.person_id = $1 ORDER BY e.id DESC LIMIT 20",
    )
    .bind(person_id)
    .fetch_all(&db.read)
    .await?
    .iter()
    .map(|c| Ok((c.try_get("at")?, c.try_get("kind")?)))
    .collect::<Result<Vec<_>>>()?;
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
