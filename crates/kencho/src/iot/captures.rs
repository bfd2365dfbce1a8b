//! Capture records (捕獲の記録) from the hunter's mailed link, checked against the trap's permit
//! (鳥獣保護管理法 第9条), and what staff read of them: the tenant's captures and a permit's report.
//! A 錯誤捕獲 tells the tenant's 鳥獣 staff at once, by mail queued in the record's transaction.

use kencho_core::iot::wildlife::{
    self as rules, Age, BycatchAction, CaptureError, CaptureInput, CaptureOutcome, Disposition, Sex, Species, TrapType,
};
use sqlx::AnyConnection;

pub use super::model::{Capture, CaptureEntry, PermitCapture};
use super::model::{Caught, Trap};
use super::permits;
use super::store::alarms::log;
use super::store::captures as store;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};
use crate::mail;

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

/// Records what a fired trap caught, from the hunter's mailed link (once per alarm). An animal
/// needs the trap's permit and passes its rules; a 錯誤捕獲 is mailed to the 鳥獣 staff in the
/// same transaction.
pub async fn record(db: &Db, base_url: &str, token: &str, entry: CaptureEntry, who: &str) -> Result<()> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let empty = match entry.outcome {
        Some(CaptureOutcome::Empty) => true,
        Some(CaptureOutcome::Caught | CaptureOutcome::Bycatch) if (1..=50).contains(&entry.count) => false,
        _ => return Err(AppError::BadRequest(detail!("detail.iot.choose_outcome_capture_counts"))),
    };
    let (token, who, base_url) = (token.to_string(), format!("contact:{who}"), base_url.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let trap = store::trap_of(conn, &token).await?.ok_or(AppError::NotFound)?;
            if store::recorded(conn, trap.alarm_id).await? {
                return Err(AppError::Conflict(detail!("detail.iot.capture_already_recorded")));
            }
            if empty {
                store::insert_empty(conn, &trap, &who).await?;
                return log(conn, trap.alarm_id, "capture:empty", &who).await;
            }
            let tp = permits::of_device(conn, trap.tenant_id, trap.device_id).await?.ok_or(CaptureError::NoPermit)?;
            let c = read_entry(&entry, &trap, tp.trap_type)?;
            let verdict = rules::check_capture(&tp.permit, &c.input, trap.fired_at, now_ms())?;
            let outcome = CaptureOutcome::of(verdict);
            let id = store::insert_caught(conn, &trap, tp.permit_id, &c, &entry, outcome, &who).await?;
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
            AppError::Conflict(detail!("detail.iot.capture_already_recorded"))
        }
        e => e,
    })
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

/// Every capture of a tenant, oldest first (by when it happened, as stated).
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Capture>> {
    store::list(db, tenant_id).await
}

/// Every animal recorded under a permit of the tenant, in capture order.
pub async fn of_permit(db: &Db, tenant_id: i64, permit_id: i64) -> Result<Vec<PermitCapture>> {
    store::of_permit(db, tenant_id, permit_id).await
}

/// (label, area) of the tenant's traps that never caught anything.
pub async fn traps_that_never_caught(db: &Db, tenant_id: i64) -> Result<Vec<(String, String)>> {
    store::traps_that_never_caught(db, tenant_id).await
}
