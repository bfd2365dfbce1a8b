//! The SQL of devices, watched people, their contacts and the tenant's IoT settings.

use kencho_core::iot::alarm::DeviceKind;
use sqlx::{AnyConnection, Row};

use crate::db::{parsed, Db};
use crate::error::Result;
use crate::iot::model::{
    ContactRole, ContactRow, DeviceInfo, DeviceRow, NewContact, NewDevice, PersonRecord, PersonRow, PersonSummary,
};

/// Whether the tenant watches person `id`.
pub async fn person_exists(conn: &mut AnyConnection, id: i64, tenant_id: i64) -> Result<bool> {
    let ok = sqlx::query("SELECT 1 FROM iot_people WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(ok.is_some())
}

/// Registers a checked device with its normalised DevEUI, heartbeat and first silence
/// deadline; its id, or the database's own error (the service tells a DevEUI already
/// registered from other failures).
pub async fn insert_device(
    conn: &mut AnyConnection,
    tenant_id: i64,
    (eui, kind, d): (&str, DeviceKind, &NewDevice),
    (heartbeat, silent_deadline): (i64, i64),
    now: i64,
) -> std::result::Result<i64, sqlx::Error> {
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
    let q = sqlx::query(sql).bind(tenant_id).bind(eui).bind(kind.as_str()).bind(d.label.trim()).bind(d.area.trim());
    let mut q = q.bind(heartbeat).bind(d.person_id).bind(silent_deadline).bind(now);
    if let (Some(lat), Some(lon)) = (d.lat, d.lon) {
        q = q.bind(lat).bind(lon);
    }
    q.fetch_one(&mut *conn).await?.try_get("id")
}

/// Stores a checked contact of a device or a watched person at `position` of its list.
#[allow(clippy::too_many_arguments)]
pub async fn insert_contact(
    conn: &mut AnyConnection,
    tenant_id: i64,
    device_id: Option<i64>,
    person_id: Option<i64>,
    position: usize,
    c: &NewContact,
    (role, hours): (ContactRole, Option<(u16, u16)>),
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO iot_contacts (tenant_id, device_id, person_id, position, role, name, email, hours_start, hours_end, consent_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(tenant_id)
    .bind(device_id)
    .bind(person_id)
    .bind(position as i64)
    .bind(role.as_str())
    .bind(c.name.trim())
    .bind(c.email.trim().to_lowercase())
    .bind(hours.map(|h| i64::from(h.0)))
    .bind(hours.map(|h| i64::from(h.1)))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores a watched person with an empty consent note; their id.
pub async fn insert_person(conn: &mut AnyConnection, tenant_id: i64, p: PersonRow<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO iot_people (tenant_id, name, area, inactivity_hours, quiet_start, quiet_end, escalation_wait_min, consent_at, consent_note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $8) RETURNING id",
    )
    .bind(tenant_id)
    .bind(p.name)
    .bind(p.area)
    .bind(p.inactivity_hours)
    .bind(p.quiet.map(|q| i64::from(q.0)))
    .bind(p.quiet.map(|q| i64::from(q.1)))
    .bind(p.escalation_wait_min)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Sets a watched person's (sealed) consent note.
pub async fn set_consent_note(conn: &mut AnyConnection, id: i64, note: String) -> Result<()> {
    sqlx::query("UPDATE iot_people SET consent_note = $1 WHERE id = $2")
        .bind(note)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The tenant's watched person `id` while watching goes on, the consent note still sealed.
pub async fn person(db: &Db, tenant_id: i64, id: i64) -> Result<Option<PersonRecord>> {
    sqlx::query(
        "SELECT name, area, inactivity_hours, consent_note, last_activity_at FROM iot_people \
         WHERE id = $1 AND tenant_id = $2 AND ended_at IS NULL",
    )
    .bind(id)
    .bind(tenant_id)
    .fetch_optional(&db.read)
    .await?
    .as_ref()
    .map(PersonRecord::from_row)
    .transpose()
}

/// The tenant's devices in service, by area and label.
pub async fn list_devices(db: &Db, tenant_id: i64) -> Result<Vec<DeviceInfo>> {
    let rows = sqlx::query(
        "SELECT id, dev_eui, kind, label, area, lat, lon, battery, last_seen_at, person_id FROM iot_devices \
         WHERE tenant_id = $1 AND retired_at IS NULL ORDER BY area, label, id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(DeviceInfo::from_row).collect()
}

/// Retires the tenant's device `id` (no deadline, DevEUI renamed in place); how many rows
/// changed.
pub async fn retire_device(conn: &mut AnyConnection, id: i64, tenant_id: i64, now: i64) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE iot_devices SET retired_at = $1, silent_deadline = NULL, dev_eui = dev_eui || ':retired:' || CAST(id AS TEXT) \
         WHERE id = $2 AND tenant_id = $3 AND retired_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Ends watching over the tenant's person `id` (no deadline); how many rows changed.
pub async fn end_person(conn: &mut AnyConnection, id: i64, tenant_id: i64, now: i64) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE iot_people SET ended_at = $1, inactivity_deadline = NULL WHERE id = $2 AND tenant_id = $3 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes a watched person's contacts.
pub async fn delete_person_contacts(conn: &mut AnyConnection, person_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM iot_contacts WHERE person_id = $1").bind(person_id).execute(&mut *conn).await?;
    Ok(())
}

/// Ids of a watched person's devices in service.
pub async fn person_device_ids(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query("SELECT id FROM iot_devices WHERE person_id = $1 AND retired_at IS NULL")
        .bind(person_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?)
}

/// Retires every device of a watched person still in service.
pub async fn retire_person_devices(conn: &mut AnyConnection, person_id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE iot_devices SET retired_at = $1, silent_deadline = NULL, dev_eui = dev_eui || ':retired:' || CAST(id AS TEXT) \
         WHERE person_id = $2 AND retired_at IS NULL",
    )
    .bind(now)
    .bind(person_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Clears every alarm of `subject` that is not cleared yet.
pub async fn close_alarms(conn: &mut AnyConnection, subject: &str, now: i64) -> Result<()> {
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

/// The tenant's watched people (not ended) with how many devices each has, by area.
pub async fn list_people(db: &Db, tenant_id: i64) -> Result<Vec<PersonSummary>> {
    let rows = sqlx::query(
        "SELECT p.id AS id, p.name AS name, p.area AS area, \
         (SELECT COUNT(*) FROM iot_devices d WHERE d.person_id = p.id) AS devices \
         FROM iot_people p WHERE p.tenant_id = $1 AND p.ended_at IS NULL ORDER BY p.area, p.id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(PersonSummary::from_row).collect()
}

/// The tenant's saved IoT settings: (minutes between trap re-sends, staff address).
pub async fn settings(conn: &mut AnyConnection, tenant_id: i64) -> Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT trap_resend_min, staff_email FROM iot_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(Some((r.try_get("trap_resend_min")?, r.try_get("staff_email")?))),
        None => Ok(None),
    }
}

/// Saves the tenant's IoT settings, replacing any saved before.
pub async fn save_settings(conn: &mut AnyConnection, tenant_id: i64, resend_min: i64, staff_email: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO iot_settings (tenant_id, trap_resend_min, staff_email) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET trap_resend_min = excluded.trap_resend_min, staff_email = excluded.staff_email",
    )
    .bind(tenant_id)
    .bind(resend_min)
    .bind(staff_email)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A watched person's contacts in order.
pub async fn person_contacts(db: &Db, person_id: i64) -> Result<Vec<ContactRow>> {
    sqlx::query("SELECT role, name, email FROM iot_contacts WHERE person_id = $1 ORDER BY position")
        .bind(person_id)
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|c| Ok((parsed(c, "role", ContactRole::parse)?, c.try_get("name")?, c.try_get("email")?)))
        .collect()
}

/// A watched person's devices, retired ones too, in the order they were registered.
pub async fn person_devices(db: &Db, person_id: i64) -> Result<Vec<DeviceRow>> {
    sqlx::query("SELECT kind, label, dev_eui FROM iot_devices WHERE person_id = $1 ORDER BY id")
        .bind(person_id)
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|c| Ok((parsed(c, "kind", DeviceKind::parse)?, c.try_get("label")?, c.try_get("dev_eui")?)))
        .collect()
}

/// The last 20 events of a watched person's devices: (epoch ms, kind), newest first.
pub async fn person_activity(db: &Db, person_id: i64) -> Result<Vec<(i64, String)>> {
    sqlx::query(
        "SELECT e.at AS at, e.kind AS kind FROM iot_events e JOIN iot_devices d ON d.id = e.device_id \
         WHERE d.person_id = $1 ORDER BY e.id DESC LIMIT 20",
    )
    .bind(person_id)
    .fetch_all(&db.read)
    .await?
    .iter()
    .map(|c| Ok((c.try_get("at")?, c.try_get("kind")?)))
    .collect()
}
