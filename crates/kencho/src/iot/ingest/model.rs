//! The ingest sub-area's types: a message as it came, what became of it, and a device as an
//! uplink needs it (decoded from its row by column name). No SQL, no I/O.

use kencho_core::iot::alarm::DeviceKind;
use kencho_core::iot::codec::Event;
use kencho_core::iot::events::{ChirpStackEvent, DeviceStatus};
use kencho_core::iot::uplink::{self, Uplink};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::Result;

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
    pub(super) fn outcome(result: &str, dev_eui: Option<&String>, events: Vec<String>) -> Ingested {
        Ingested { result: result.into(), dev_eui: dev_eui.cloned(), events, reason: None }
    }

    /// A message recorded in `iot_rejected`, and why.
    pub(super) fn rejected(dev_eui: Option<&String>, reason: String) -> Ingested {
        Ingested { result: "rejected".into(), dev_eui: dev_eui.cloned(), events: vec![], reason: Some(reason) }
    }
}

/// A message read into an uplink and its events (or a status report, or an event of no use),
/// or why it could not be.
pub(super) type Parsed = std::result::Result<Kind, String>;

pub(super) enum Kind {
    Uplink(Uplink, Vec<Event>),
    Status(DeviceStatus),
    Ignored(ChirpStackEvent),
}

impl Kind {
    pub(super) fn dev_eui(&self) -> Option<&str> {
        match self {
            Kind::Uplink(u, _) => Some(&u.dev_eui),
            Kind::Status(s) => Some(&s.dev_eui),
            Kind::Ignored(_) => None,
        }
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
    pub(super) fn tenant(&self, bindings: &std::collections::HashMap<(String, String), i64>) -> Option<i64> {
        if self.tenant_id.is_some() {
            return self.tenant_id;
        }
        let (format, app) = uplink::topic_application(self.topic.as_deref()?)?;
        bindings.get(&(format.key().to_string(), app.to_string())).copied()
    }
}

pub(super) struct Device {
    pub(super) id: i64,
    pub(super) tenant_id: i64,
    pub(super) kind: DeviceKind,
    pub(super) label: String,
    pub(super) area: String,
    pub(super) place: Option<(f64, f64)>,
    pub(super) heartbeat_s: i64,
    pub(super) person_id: Option<i64>,
    pub(super) last_fcnt: Option<i64>,
    pub(super) last_dedup: Option<String>,
    /// The silence deadline has fired (it is cleared when claimed): a "sensor silent" alarm
    /// may be open. Otherwise there is none, and no query is needed to find out.
    pub(super) silence_fired: bool,
    /// Battery level last reported (a low-battery alarm can only be open below 30 %).
    pub(super) battery: Option<i64>,
}

impl Device {
    /// A report of 30 % or more after one below 30 %: a low-battery alarm may be open to clear.
    pub(super) fn back_from_low(&self, percent: u8) -> bool {
        percent >= 30 && self.battery.is_some_and(|b| b < 30)
    }

    pub(super) fn from_row(r: &AnyRow) -> Result<Device> {
        let (lat, lon): (Option<f64>, Option<f64>) = (r.try_get("lat")?, r.try_get("lon")?);
        Ok(Device {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            kind: crate::db::parsed(r, "kind", DeviceKind::parse)?,
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
}
