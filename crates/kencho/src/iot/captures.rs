//! Capture records (捕獲の記録) from the hunter's mailed link, checked against the trap's permit
//! (鳥獣保護管理法 第9条), and what staff read of them: the tenant's captures and a permit's report.
//! A 錯誤捕獲 tells the tenant's 鳥獣 staff at once, by mail queued in the record's transaction.

use kencho_core::iot::wildlife::{
    self as rules, Age, BycatchAction, CaptureError, CaptureInput, Counted, Disposition, Sex, Species, TrapType,
};
use sqlx::{AnyConnection, Row};

use super::alarms::log;
use super::permits;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};
use crate::mail;

/// What the recorder entered, as text (the rules read it).
#[derive(Debug, Clone, Default)]
pub struct CaptureEntry {
    /// caught or empty ("bycatch" is read as caught: the permit decides 錯誤捕獲).
    pub outcome: String,
    pub species: String,
    /// The name, for species "other".
    pub species_name: String,
    pub count: i64,
    pub sex: String,
    pub age: String,
    pub disposition: String,
    /// Capture date `YYYY-MM-DD` and time `HH:MM`, JST, as stated.
    pub date: String,
    pub time: String,
    /// Empty: the trap's type.
    pub trap_type: String,
    /// Empty: the trap's label and area.
    pub place: String,
    pub lat: String,
    pub lon: String,
    pub bycatch_action: String,
    pub note: String,
}

/// The checked record of an animal caught.
struct Caught {
    input: CaptureInput,
    place: String,
    lat: Option<f64>,
    lon: Option<f64>,
}

fn coordinate(s: &str, range: std::ops::RangeInclusive<f64>) -> std::result::Result<Option<f64>, CaptureError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>().ok().filter(|v| range.contains(v)).map(Some).ok_or(CaptureError::Place)
}

fn read_entry(
    e: &CaptureEntry,
    trap: &Trap,
    default_type: Option<TrapType>,
) -> std::result::Result<Caught, CaptureError> {
    let species = Species::parse(&e.species, &e.species_name)?;
    let trap_type = if e.trap_type.trim().is_empty() {
        default_type.ok_or(CaptureError::UnknownTrapType)?
    } else {
        TrapType::parse(&e.trap_type).ok_or(CaptureError::UnknownTrapType)?
    };
    let (sex, age, disposition) = match (Sex::parse(&e.sex), Age::parse(&e.age), Disposition::parse(&e.disposition)) {
        (Some(s), Some(a), Some(d)) => (s, a, d),
        _ => return Err(CaptureError::Details),
    };
    let bycatch_action = match e.bycatch_action.trim() {
        "" => None,
        a => Some(BycatchAction::parse(a).ok_or(CaptureError::BycatchActionMissing)?),
    };
    let place = match e.place.trim() {
        "" => format!("{}（{}）", trap.label, trap.area),
        p if p.chars().count() <= rules::MAX_TEXT => p.to_string(),
        _ => return Err(CaptureError::Place),
    };
    let (lat, lon) = (coordinate(&e.lat, -90.0..=90.0)?, coordinate(&e.lon, -180.0..=180.0)?);
    let (lat, lon) = match (lat, lon) {
        (Some(a), Some(o)) => (Some(a), Some(o)),
        (None, None) => (trap.lat, trap.lon),
        _ => return Err(CaptureError::Place),
    };
    Ok(Caught {
        input: CaptureInput {
            captured_at_ms: rules::parse_jst(&e.date, &e.time)?,
            species,
            trap_type,
            sex,
            age,
            disposition,
            bycatch_action,
        },
        place,
        lat,
        lon,
    })
}

/// The alarm's trap, as the record needs it.
struct Trap {
    alarm_id: i64,
    tenant_id: i64,
    device_id: i64,
    fired_at: i64,
    label: String,
    area: String,
    lat: Option<f64>,
    lon: Option<f64>,
}

async fn trap_of(conn: &mut AnyConnection, token: &str) -> Result<Trap> {
    let r = sqlx::query(
        "SELECT a.id AS id, a.tenant_id AS tenant_id, a.opened_at AS opened_at, d.id AS device_id, d.label AS label, \
         d.area AS area, d.lat AS lat, d.lon AS lon FROM iot_alarms a \
         JOIN iot_devices d ON a.subject = 'device:' || CAST(d.id AS TEXT) AND d.tenant_id = a.tenant_id \
         WHERE a.ack_token = $1 AND a.kind = 'trap_fired'",
    )
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Trap {
        alarm_id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        device_id: r.try_get("device_id")?,
        fired_at: r.try_get("opened_at")?,
        label: r.try_get("label")?,
        area: r.try_get("area")?,
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
    })
}

/// Records what a fired trap caught, from the hunter's mailed link (once per alarm). An animal
/// needs the trap's permit and passes its rules; a 錯誤捕獲 is mailed to the 鳥獣 staff in the
/// same transaction.
pub async fn record(db: &Db, base_url: &str, token: &str, entry: CaptureEntry, who: &str) -> Result<()> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let empty = match entry.outcome.as_str() {
        "empty" => true,
        "caught" | "bycatch" if (1..=50).contains(&entry.count) => false,
        _ => return Err(AppError::BadRequest("choose the outcome; a capture counts 1–50 animals".into())),
    };
    let (token, who, base_url) = (token.to_string(), format!("contact:{who}"), base_url.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let trap = trap_of(conn, &token).await?;
            let done = sqlx::query("SELECT 1 FROM iot_captures WHERE alarm_id = $1")
                .bind(trap.alarm_id)
                .fetch_optional(&mut *conn)
                .await?;
            if done.is_some() {
                return Err(AppError::Conflict("this capture is already recorded".into()));
            }
            if empty {
                insert_empty(conn, &trap, &who).await?;
                return log(conn, trap.alarm_id, "capture:empty", &who).await;
            }
            let tp = permits::of_device(conn, trap.tenant_id, trap.device_id).await?.ok_or(CaptureError::NoPermit)?;
            let c = read_entry(&entry, &trap, tp.trap_type)?;
            let verdict = rules::check_capture(&tp.permit, &c.input, trap.fired_at, now_ms())?;
            let outcome = if verdict.bycatch { "bycatch" } else { "caught" };
            let id = insert_caught(conn, &trap, tp.permit_id, &c, &entry, outcome, &who).await?;
            log(conn, trap.alarm_id, &format!("capture:{outcome}"), &who).await?;
            crate::audit::append(
                conn,
                trap.tenant_id,
                &who,
                "iot.capture_recorded",
                &format!("capture:{id}"),
                serde_json::json!({"permit": tp.permit.number, "species": c.input.species.stored(), "bycatch": verdict.bycatch}),
            )
            .await?;
            if verdict.bycatch {
                tell_wildlife_staff(conn, &base_url, &trap, tp.permit_id, &tp.permit.number, &c, id, entry.count).await?;
            }
            Ok(())
        })
    })
    .await
    .map_err(|e| match e {
        // Another post of the same link got there first (the one-per-alarm index).
        AppError::Db(d) if crate::error::is_unique_violation(&d) => {
            AppError::Conflict("this capture is already recorded".into())
        }
        e => e,
    })
}

async fn insert_empty(conn: &mut AnyConnection, trap: &Trap, who: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO iot_captures (tenant_id, alarm_id, device_id, outcome, species, count, recorded_by, at) \
         VALUES ($1, $2, $3, 'empty', '', 0, $4, $5)",
    )
    .bind(trap.tenant_id)
    .bind(trap.alarm_id)
    .bind(trap.device_id)
    .bind(who)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_caught(
    conn: &mut AnyConnection,
    trap: &Trap,
    permit_id: i64,
    c: &Caught,
    e: &CaptureEntry,
    outcome: &str,
    who: &str,
) -> Result<i64> {
    let note: String = e.note.trim().chars().take(500).collect();
    Ok(sqlx::query(
        "INSERT INTO iot_captures (tenant_id, alarm_id, device_id, outcome, species, count, recorded_by, at, permit_id, \
         captured_at, trap_type, sex, age, disposition, place, lat, lon, bycatch_action, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id",
    )
    .bind(trap.tenant_id)
    .bind(trap.alarm_id)
    .bind(trap.device_id)
    .bind(outcome)
    .bind(c.input.species.stored())
    .bind(e.count)
    .bind(who)
    .bind(now_ms())
    .bind(permit_id)
    .bind(c.input.captured_at_ms)
    .bind(c.input.trap_type.key())
    .bind(c.input.sex.key())
    .bind(c.input.age.key())
    .bind(c.input.disposition.key())
    .bind(&c.place)
    .bind(c.lat)
    .bind(c.lon)
    .bind(c.input.bycatch_action.map(|a| a.key()))
    .bind(note)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Species as shown (locale name, or the name given for "other").
pub fn species_label(lang: &str, stored: &str) -> String {
    match Species::from_stored(stored) {
        Some(s) if s.kind == rules::SpeciesKind::Other => s.name,
        Some(s) => t(lang, &format!("iot.species_{}", s.kind.key())),
        // Captures recorded before permits: free text.
        None => stored.to_string(),
    }
}

/// The 鳥獣 staff hear of a 錯誤捕獲 at once (its mail is queued with the record).
#[allow(clippy::too_many_arguments)]
async fn tell_wildlife_staff(
    conn: &mut AnyConnection,
    base_url: &str,
    trap: &Trap,
    permit_id: i64,
    number: &str,
    c: &Caught,
    capture_id: i64,
    count: i64,
) -> Result<()> {
    let lang = crate::i18n::OFFICE;
    let species = species_label(lang, &c.input.species.stored());
    let action =
        c.input.bycatch_action.map(|a| t(lang, &format!("iot.bycatch_action_{}", a.key()))).unwrap_or_default();
    let subject = tf(lang, "mail.bycatch_subject", &[("permit", number), ("species", &species)]);
    let body = tf(
        lang,
        "mail.bycatch_body",
        &[
            ("permit", number),
            ("species", &species),
            ("count", &count.to_string()),
            ("trap", &trap.label),
            ("area", &trap.area),
            ("place", &c.place),
            ("map", &super::alarms::map_link(c.lat.zip(c.lon))),
            ("at", &crate::clock::fmt_time(c.input.captured_at_ms)),
            ("action", &action),
            ("link", &format!("{base_url}/staff/iot/permits/{permit_id}")),
        ],
    );
    let (to, fell_back) = permits::wildlife_staff(conn, trap.tenant_id).await?;
    for email in &to {
        mail::enqueue(conn, &format!("bycatch:{capture_id}:{email}"), email, &subject, &body).await?;
    }
    // The alarm's history says who was told, or that nobody could be.
    let what = match (to.is_empty(), fell_back) {
        (true, _) => "bycatch:nobody_to_tell",
        (false, true) => "bycatch:admins_told",
        (false, false) => "bycatch:staff_told",
    };
    log(conn, trap.alarm_id, what, "kencho").await
}

/// One recorded capture, with the trap's area.
pub struct Capture {
    pub area: String,
    pub species: String,
    pub at: i64,
    pub count: i64,
    /// caught, bycatch or empty.
    pub outcome: String,
}

/// Every capture of a tenant, oldest first (by when it happened, as stated).
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Capture>> {
    let rows = sqlx::query(
        "SELECT d.area AS area, c.species AS species, COALESCE(c.captured_at, c.at) AS at, c.count AS count, \
         c.outcome AS outcome FROM iot_captures c JOIN iot_devices d ON d.id = c.device_id WHERE c.tenant_id = $1 \
         ORDER BY COALESCE(c.captured_at, c.at)",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Capture {
                area: r.try_get("area")?,
                species: r.try_get("species")?,
                at: r.try_get("at")?,
                count: r.try_get("count")?,
                outcome: r.try_get("outcome")?,
            })
        })
        .collect()
}

/// One capture under a permit, as its report lists it.
#[derive(Debug, Clone)]
pub struct PermitCapture {
    pub captured_at: i64,
    /// When it was typed in.
    pub recorded_at: i64,
    pub trap: String,
    pub trap_type: String,
    pub species: String,
    pub sex: String,
    pub age: String,
    pub count: i64,
    pub disposition: String,
    pub place: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub bycatch: bool,
    pub bycatch_action: String,
    pub recorded_by: String,
}

impl PermitCapture {
    pub fn counted(&self) -> Option<Counted> {
        Some(Counted {
            species: Species::from_stored(&self.species)?,
            sex: Sex::parse(&self.sex)?,
            age: Age::parse(&self.age)?,
            count: self.count,
            captured_at_ms: self.captured_at,
        })
    }
}

/// Every animal recorded under a permit of the tenant, in capture order.
pub async fn of_permit(db: &Db, tenant_id: i64, permit_id: i64) -> Result<Vec<PermitCapture>> {
    let rows = sqlx::query(
        "SELECT c.captured_at AS captured_at, c.at AS at, d.label AS trap, c.trap_type AS trap_type, c.species AS species, \
         c.sex AS sex, c.age AS age, c.count AS count, c.disposition AS disposition, c.place AS place, c.lat AS lat, \
         c.lon AS lon, c.outcome AS outcome, c.bycatch_action AS bycatch_action, c.recorded_by AS recorded_by \
         FROM iot_captures c JOIN iot_devices d ON d.id = c.device_id \
         WHERE c.tenant_id = $1 AND c.permit_id = $2 AND c.captured_at IS NOT NULL ORDER BY c.captured_at, c.id",
    )
    .bind(tenant_id)
    .bind(permit_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            let text = |c: &str| -> Result<String> { Ok(r.try_get::<Option<String>, _>(c)?.unwrap_or_default()) };
            Ok(PermitCapture {
                captured_at: r.try_get("captured_at")?,
                recorded_at: r.try_get("at")?,
                trap: r.try_get("trap")?,
                trap_type: text("trap_type")?,
                species: r.try_get("species")?,
                sex: text("sex")?,
                age: text("age")?,
                count: r.try_get("count")?,
                disposition: text("disposition")?,
                place: text("place")?,
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
                bycatch: r.try_get::<String, _>("outcome")? == "bycatch",
                bycatch_action: text("bycatch_action")?,
                recorded_by: r.try_get("recorded_by")?,
            })
        })
        .collect()
}

/// (label, area) of the tenant's traps that never caught anything.
pub async fn traps_that_never_caught(db: &Db, tenant_id: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT d.label AS label, d.area AS area FROM iot_devices d WHERE d.tenant_id = $1 AND d.kind = 'trap' \
         AND NOT EXISTS (SELECT 1 FROM iot_captures c WHERE c.device_id = d.id AND c.outcome = 'caught') ORDER BY d.area, d.label",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("label")?, r.try_get("area")?))).collect()
}
