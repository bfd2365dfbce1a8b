//! IoT alerts (part 4): wildlife traps (わな) and watching over elderly people living alone
//! (見守り), without I/O.
//!
//! Sensors send LoRaWAN uplinks through a network server; the server layer reads them from MQTT
//! or HTTP webhooks and hands the bytes here:
//!
//! - [`uplink`]: ChirpStack, The Things Stack and plain JSON bodies into one [`uplink::Uplink`]
//! - [`events`]: which ChirpStack event a message is (`?event=` or topic); device status reports
//! - [`codec`]: the published payload codec, bytes (or a decoded object) into [`codec::Event`]s
//! - [`alarm`]: the alarm state machine, escalation, silence, battery and frame-counter rules
//! - [`wildlife`]: capture permits, capture records, 錯誤捕獲 and the per-permit report

pub mod alarm;
pub mod codec;
pub mod events;
mod fields;
pub mod uplink;
pub mod wildlife;
