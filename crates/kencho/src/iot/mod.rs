//! IoT alerts (わな通知・見守り): devices, watched people and their contacts ([`registry`]), uplinks
//! from MQTT ([`mqtt`]) and webhooks ([`ingest`]), alarms and their notices ([`alarms`]), 見守り
//! escalation ([`watch`]) and the stored deadlines ([`timers`]); capture permits ([`permits`]) and
//! capture records ([`captures`], 鳥獣保護管理法). Formats, the payload codec and
//! the alarm state machine are in `kencho_core::iot`. The types are in `model`, every SQL
//! statement in `store/` (the ingest sub-area has its own pair).

pub mod alarms;
pub mod applications;
pub mod captures;
pub mod ingest;
mod model;
pub mod mqtt;
pub mod permits;
pub mod registry;
mod store;
pub mod texts;
pub mod timers;
pub mod watch;

pub use ingest::{Incoming, Ingested};
pub use model::{
    AckInfo, AlarmInfo, Binding, Capture, CaptureEntry, ContactRow, DeviceInfo, DeviceRow, NewContact, NewDevice,
    NewPermit, NewPerson, PermitCapture, PermitInfo, PersonRecord, PersonSummary, StoredContact, Subject, TrapPermit,
};
