//! The IoT capability's types: the records it reads (each decoded from a row by column name in
//! its `from_row`), the views it hands out and the inputs it takes. No SQL, no I/O. The ingest
//! sub-area keeps its own in `ingest/model.rs`.

use kencho_core::forms::{iso, parse_iso_date};
use kencho_core::iot::alarm::{AlarmKind, AlarmState, Contact, DeviceKind, Effect};
use kencho_core::iot::wildlife::{
    self as rules, Age, CaptureError, CaptureInput, CaptureOutcome, Counted, Permit, Sex, Species, TrapType,
};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::parsed;
use crate::error::{AppError, Result};

/// A minute of the day as stored (0–1439), clamped into range.
fn minute(v: i64) -> u16 {
    v.clamp(0, 1439) as u16
}

// ---- alarms ----

/// What an alarm is about, for the texts.
pub struct Subject {
    pub tenant_id: i64,
    /// `device:12` or `person:3`.
    pub key: String,
    pub label: String,
    pub area: String,
}

pub struct Outcome {
    pub alarm_id: Option<i64>,
    pub effect: Effect,
}

/// A contact as stored.
pub struct StoredContact {
    pub id: i64,
    pub contact: Contact,
}

impl StoredContact {
    pub fn from_row(r: &AnyRow) -> Result<StoredContact> {
        let (s, e): (Option<i64>, Option<i64>) = (r.try_get("hours_start")?, r.try_get("hours_end")?);
        Ok(StoredContact {
            id: r.try_get("id")?,
            contact: Contact {
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                hours: match (s, e) {
                    (Some(s), Some(e)) => Some((minute(s), minute(e))),
                    _ => None,
                },
            },
        })
    }
}

/// The label and area an alarm's `detail` column holds.
fn detail_of(r: &AnyRow) -> Result<(String, String)> {
    let detail: serde_json::Value = serde_json::from_str(&r.try_get::<String, _>("detail")?).unwrap_or_default();
    let text = |k: &str| detail[k].as_str().unwrap_or_default().to_string();
    Ok((text("label"), text("area")))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlarmInfo {
    pub id: i64,
    pub subject: String,
    #[schema(value_type = String)]
    pub kind: AlarmKind,
    #[schema(value_type = String)]
    pub state: AlarmState,
    pub label: String,
    pub area: String,
    pub opened_at: i64,
    pub updated_at: i64,
    pub repeats: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub cleared_at: Option<i64>,
    /// The lifecycle: (when, what, who).
    pub log: Vec<(i64, String, String)>,
}

impl AlarmInfo {
    /// A 見守り alarm: about a watched person, not a device.
    pub fn is_about_a_person(&self) -> bool {
        self.subject.starts_with("person:")
    }

    /// An alarm row, its lifecycle still empty.
    pub fn from_row(r: &AnyRow) -> Result<AlarmInfo> {
        let (label, area) = detail_of(r)?;
        Ok(AlarmInfo {
            id: r.try_get("id")?,
            subject: r.try_get("subject")?,
            kind: parsed(r, "kind", AlarmKind::parse)?,
            state: parsed(r, "state", AlarmState::parse)?,
            label,
            area,
            opened_at: r.try_get("opened_at")?,
            updated_at: r.try_get("updated_at")?,
            repeats: r.try_get("repeats")?,
            acknowledged_at: r.try_get("acknowledged_at")?,
            acknowledged_by: r.try_get("acknowledged_by")?,
            cleared_at: r.try_get("cleared_at")?,
            log: Vec::new(),
        })
    }
}

/// An alarm as a mailed acknowledgement link finds it.
pub struct AlarmRef {
    pub id: i64,
    pub tenant_id: i64,
    pub subject: String,
    pub kind: AlarmKind,
    pub state: AlarmState,
}

impl AlarmRef {
    pub fn from_row(r: &AnyRow) -> Result<AlarmRef> {
        Ok(AlarmRef {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            subject: r.try_get("subject")?,
            kind: parsed(r, "kind", AlarmKind::parse)?,
            state: parsed(r, "state", AlarmState::parse)?,
        })
    }
}

/// What the acknowledgement page shows of the alarm behind a mailed link.
pub struct AckInfo {
    pub kind: AlarmKind,
    pub state: AlarmState,
    pub label: String,
    pub area: String,
    /// A trap alarm whose capture was recorded.
    pub captured: bool,
}

impl AckInfo {
    pub fn from_row(r: &AnyRow) -> Result<AckInfo> {
        let (label, area) = detail_of(r)?;
        Ok(AckInfo {
            kind: parsed(r, "kind", AlarmKind::parse)?,
            state: parsed(r, "state", AlarmState::parse)?,
            label,
            area,
            captured: r.try_get::<i64, _>("captures")? > 0,
        })
    }
}

/// An alarm whose next action is due, as the timer reads it.
pub struct DueAlarm {
    pub tenant_id: i64,
    pub subject: String,
    pub kind: AlarmKind,
    pub step: i64,
    pub opened_at: i64,
}

impl DueAlarm {
    pub fn from_row(r: &AnyRow) -> Result<DueAlarm> {
        Ok(DueAlarm {
            tenant_id: r.try_get("tenant_id")?,
            subject: r.try_get("subject")?,
            step: r.try_get("step")?,
            opened_at: r.try_get("opened_at")?,
            kind: parsed(r, "kind", AlarmKind::parse)?,
        })
    }
}

// ---- network-server applications ----

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Binding {
    #[serde(default)]
    pub id: i64,
    /// `chirpstack`, `tts` (The Things Stack) or `plain`.
    pub format: String,
    /// ChirpStack application id (a UUID), The Things Stack application id (with `@tenant` on
    /// multi-tenant TTS), or the plain topic's name segment.
    pub application: String,
}

impl Binding {
    pub fn from_row(r: &AnyRow) -> Result<Binding> {
        Ok(Binding { id: r.try_get("id")?, format: r.try_get("format")?, application: r.try_get("application")? })
    }
}

// ---- devices, watched people, contacts ----

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

/// Who a contact is: a trap's hunter, or one on a watched person's escalation list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    Hunter,
    Family,
    /// 社会福祉協議会.
    Shakyo,
    /// 民生委員.
    Minsei,
    Municipality,
}

kencho_core::names!(ContactRole, "contact role" {
    Hunter = "hunter",
    Family = "family",
    Shakyo = "shakyo",
    Minsei = "minsei",
    Municipality = "municipality",
});

impl ContactRole {
    /// Those a watched person's form offers, in the order of escalation.
    pub const FOR_PERSON: [ContactRole; 4] =
        [ContactRole::Family, ContactRole::Shakyo, ContactRole::Minsei, ContactRole::Municipality];
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub name: String,
    pub email: String,
    /// hunter, family, shakyo (社協), minsei (民生委員) or municipality. Text as entered: an
    /// unknown role is refused with the contact's other checks (`registry`), then stored as a
    /// [`ContactRole`].
    #[serde(default = "hunter")]
    pub role: String,
    /// Working hours "HH:MM-HH:MM" (JST); absent = any time.
    pub hours: Option<String>,
}

fn hunter() -> String {
    ContactRole::Hunter.as_str().into()
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    pub id: i64,
    pub dev_eui: String,
    #[schema(value_type = String)]
    pub kind: DeviceKind,
    pub label: String,
    pub area: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub battery: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub person_id: Option<i64>,
}

impl DeviceInfo {
    pub fn from_row(r: &AnyRow) -> Result<DeviceInfo> {
        Ok(DeviceInfo {
            id: r.try_get("id")?,
            dev_eui: r.try_get("dev_eui")?,
            kind: parsed(r, "kind", DeviceKind::parse)?,
            label: r.try_get("label")?,
            area: r.try_get("area")?,
            lat: r.try_get("lat")?,
            lon: r.try_get("lon")?,
            battery: r.try_get("battery")?,
            last_seen_at: r.try_get("last_seen_at")?,
            person_id: r.try_get("person_id")?,
        })
    }
}

/// A device whose silence deadline fired, as the timer reads it.
pub struct SilentDevice {
    pub tenant_id: i64,
    pub kind: DeviceKind,
    pub label: String,
    pub area: String,
    pub last_seen_at: Option<i64>,
    pub dev_eui: String,
}

impl SilentDevice {
    pub fn from_row(r: &AnyRow) -> Result<SilentDevice> {
        Ok(SilentDevice {
            tenant_id: r.try_get("tenant_id")?,
            kind: parsed(r, "kind", DeviceKind::parse)?,
            label: r.try_get("label")?,
            area: r.try_get("area")?,
            last_seen_at: r.try_get("last_seen_at")?,
            dev_eui: r.try_get("dev_eui")?,
        })
    }
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

impl PersonRecord {
    /// The row as stored: `consent` is still the sealed note (the service opens it).
    pub fn from_row(r: &AnyRow) -> Result<PersonRecord> {
        Ok(PersonRecord {
            name: r.try_get("name")?,
            area: r.try_get("area")?,
            inactivity_hours: r.try_get("inactivity_hours")?,
            consent: r.try_get("consent_note")?,
            last_activity_at: r.try_get("last_activity_at")?,
        })
    }
}

/// A watched person as the devices page lists them.
pub struct PersonSummary {
    pub id: i64,
    pub name: String,
    pub area: String,
    /// Sensors and buttons assigned to them.
    pub devices: i64,
}

impl PersonSummary {
    pub fn from_row(r: &AnyRow) -> Result<PersonSummary> {
        Ok(PersonSummary {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            area: r.try_get("area")?,
            devices: r.try_get("devices")?,
        })
    }
}

/// (role, name, e-mail) of a contact.
pub type ContactRow = (ContactRole, String, String);
/// (kind, label, DevEUI) of a device.
pub type DeviceRow = (DeviceKind, String, String);

/// A watched person as checked for storing, before their consent note is sealed.
pub struct PersonRow<'a> {
    pub name: &'a str,
    pub area: &'a str,
    pub inactivity_hours: i64,
    pub quiet: Option<(u16, u16)>,
    pub escalation_wait_min: i64,
}

/// A watched person as 見守り reads them: the window, quiet hours and escalation wait.
pub struct Person {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub area: String,
    pub inactivity_hours: i64,
    pub quiet: Option<(u16, u16)>,
    pub wait_min: i64,
    pub last_activity_at: Option<i64>,
}

impl Person {
    pub fn from_row(r: &AnyRow) -> Result<Person> {
        let (qs, qe): (Option<i64>, Option<i64>) = (r.try_get("quiet_start")?, r.try_get("quiet_end")?);
        Ok(Person {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            name: r.try_get("name")?,
            area: r.try_get("area")?,
            inactivity_hours: r.try_get("inactivity_hours")?,
            quiet: qs.zip(qe).map(|(s, e)| (minute(s), minute(e))),
            wait_min: r.try_get("escalation_wait_min")?,
            last_activity_at: r.try_get("last_activity_at")?,
        })
    }
}

// ---- capture permits ----

/// A permit as entered (API JSON or the page's form).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPermit {
    /// 許可番号.
    pub number: String,
    /// 許可を受けた者 (or 従事者).
    pub holder: String,
    /// The holder's e-mail, when the holder is one of the trap's hunters or a staff member.
    #[serde(default)]
    pub holder_email: String,
    /// Species keys: inoshishi, nihonjika, nihonzaru, tsukinowaguma, hakubishin, araiguma,
    /// tanuki, or `other:名前`.
    pub species: Vec<String>,
    /// First day, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day, `YYYY-MM-DD` (inclusive).
    pub valid_to: String,
    pub area: String,
    /// kukuri (くくりわな), hako (はこわな), hakootoshi (はこおとし), kakoi (囲いわな).
    pub trap_types: Vec<String>,
}

impl NewPermit {
    /// Reads the entry into the core's permit; names the first problem.
    pub fn to_permit(&self) -> std::result::Result<Permit, CaptureError> {
        let mut species = Vec::new();
        for s in &self.species {
            let s = s.trim();
            let sp = match s.strip_prefix("other:") {
                Some(name) => Species::parse("other", name)?,
                None => Species::parse(s, "")?,
            };
            if !species.contains(&sp) {
                species.push(sp);
            }
        }
        let mut trap_types = Vec::new();
        for t in &self.trap_types {
            let t = TrapType::parse(t).ok_or(CaptureError::UnknownTrapType)?;
            if !trap_types.contains(&t) {
                trap_types.push(t);
            }
        }
        let date = |s: &str| parse_iso_date(s.trim()).ok_or(CaptureError::PermitPeriod);
        let p = Permit {
            number: self.number.trim().to_string(),
            holder: self.holder.trim().to_string(),
            species,
            from: date(&self.valid_from)?,
            to: date(&self.valid_to)?,
            area: self.area.trim().to_string(),
            trap_types,
        };
        p.validate()?;
        Ok(p)
    }
}

/// A stored permit with its report state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermitInfo {
    pub id: i64,
    pub number: String,
    pub holder: String,
    pub holder_email: String,
    pub species: Vec<String>,
    pub valid_from: String,
    pub valid_to: String,
    pub area: String,
    pub trap_types: Vec<String>,
    /// 報告期限: the last day of the period + 30 days.
    pub report_due: String,
    pub reported_at: Option<i64>,
    /// Past the due date and not reported.
    pub overdue: bool,
    /// Traps (devices) working under it.
    pub devices: i64,
}

impl PermitInfo {
    /// The core's permit (for the rules and the report).
    pub fn permit(&self) -> Result<Permit> {
        let bad = || AppError::Internal(format!("stored permit {} does not read", self.id));
        Ok(Permit {
            number: self.number.clone(),
            holder: self.holder.clone(),
            species: self.species.iter().map(|s| Species::from_stored(s)).collect::<Option<_>>().ok_or_else(bad)?,
            from: parse_iso_date(&self.valid_from).ok_or_else(bad)?,
            to: parse_iso_date(&self.valid_to).ok_or_else(bad)?,
            area: self.area.clone(),
            trap_types: self.trap_types.iter().map(|t| TrapType::parse(t)).collect::<Option<_>>().ok_or_else(bad)?,
        })
    }

    /// A permit row; `today` (JST) decides whether its report is overdue.
    pub fn from_row(r: &AnyRow, today: time::Date) -> Result<PermitInfo> {
        let list = |col: &str| -> Result<Vec<String>> {
            Ok(serde_json::from_str(&r.try_get::<String, _>(col)?).unwrap_or_default())
        };
        let valid_to: String = r.try_get("valid_to")?;
        let reported_at: Option<i64> = r.try_get("reported_at")?;
        let to = parse_iso_date(&valid_to).ok_or_else(|| AppError::Internal("stored permit date".into()))?;
        Ok(PermitInfo {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            holder: r.try_get("holder")?,
            holder_email: r.try_get("holder_email")?,
            species: list("species")?,
            valid_from: r.try_get("valid_from")?,
            valid_to,
            area: r.try_get("area")?,
            trap_types: list("trap_types")?,
            report_due: iso(rules::report_due(to)),
            overdue: rules::report_overdue(to, today, reported_at.is_some()),
            reported_at,
            devices: r.try_get("devices")?,
        })
    }
}

/// A trap's permit and trap type, read inside the capture's transaction.
pub struct TrapPermit {
    pub permit_id: i64,
    pub permit: Permit,
    pub trap_type: Option<TrapType>,
}

// ---- captures ----

/// What the recorder entered, as text (the rules read it).
#[derive(Debug, Clone, Default)]
pub struct CaptureEntry {
    /// Caught or empty (`Bycatch` is read as caught: the permit decides 錯誤捕獲); `None`
    /// when the form said none of them.
    pub outcome: Option<CaptureOutcome>,
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
pub struct Caught {
    pub input: CaptureInput,
    pub place: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// The alarm's trap, as the record needs it.
pub struct Trap {
    pub alarm_id: i64,
    pub tenant_id: i64,
    pub device_id: i64,
    pub fired_at: i64,
    pub label: String,
    pub area: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

impl Trap {
    pub fn from_row(r: &AnyRow) -> Result<Trap> {
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
}

/// One recorded capture, with the trap's area.
pub struct Capture {
    pub area: String,
    pub species: String,
    pub at: i64,
    pub count: i64,
    pub outcome: CaptureOutcome,
}

impl Capture {
    pub fn from_row(r: &AnyRow) -> Result<Capture> {
        Ok(Capture {
            area: r.try_get("area")?,
            species: r.try_get("species")?,
            at: r.try_get("at")?,
            count: r.try_get("count")?,
            outcome: parsed(r, "outcome", CaptureOutcome::parse)?,
        })
    }
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

    pub fn from_row(r: &AnyRow) -> Result<PermitCapture> {
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
            bycatch: parsed(r, "outcome", CaptureOutcome::parse)? == CaptureOutcome::Bycatch,
            bycatch_action: text("bycatch_action")?,
            recorded_by: r.try_get("recorded_by")?,
        })
    }
}
