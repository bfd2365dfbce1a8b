//! What a network server posts besides uplinks. ChirpStack v4 sends every integration event to
//! one HTTP URL, naming its type in the `event` query parameter (`?event=up`, `status`, `join`,
//! `ack`, `txack`, `log`, `location`, `integration`), and publishes them on MQTT under
//! `application/{application_id}/device/{dev_eui}/event/{type}`. The messages are those of
//! `api/proto/integration/integration.proto` in the ChirpStack repository, in protobuf's JSON
//! mapping (lowerCamelCase names; zero and empty values left out).
//!
//! kencho uses `up` (see [`super::uplink`]) and `status` (the device's answer to the
//! `DevStatusReq` MAC command: battery and link margin); the others are acknowledged and left.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::codec::clip;
use super::fields::{at, chirpstack_dev_eui, opt_time};
use super::uplink::{self, Uplink, UplinkError};

/// A ChirpStack integration event type, as the `event` parameter and topic name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChirpStackEvent {
    Up,
    Status,
    Join,
    Ack,
    TxAck,
    Log,
    Location,
    Integration,
}

const EVENTS: [(ChirpStackEvent, &str); 8] = [
    (ChirpStackEvent::Up, "up"),
    (ChirpStackEvent::Status, "status"),
    (ChirpStackEvent::Join, "join"),
    (ChirpStackEvent::Ack, "ack"),
    (ChirpStackEvent::TxAck, "txack"),
    (ChirpStackEvent::Log, "log"),
    (ChirpStackEvent::Location, "location"),
    (ChirpStackEvent::Integration, "integration"),
];

impl FromStr for ChirpStackEvent {
    type Err = UplinkError;
    fn from_str(s: &str) -> Result<Self, UplinkError> {
        EVENTS
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(e, _)| *e)
            .ok_or_else(|| UplinkError::UnknownEventType(clip(s)))
    }
}

impl fmt::Display for ChirpStackEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = EVENTS.iter().find(|(e, _)| e == self).map_or("up", |(_, n)| n);
        f.write_str(name)
    }
}

/// A device's status report (ChirpStack `StatusEvent`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceStatus {
    /// 16 uppercase hex digits.
    pub dev_eui: String,
    /// When the network server received it, in Unix milliseconds.
    pub received_at_ms: Option<i64>,
    /// Battery level in percent; `None` when on external power or not measured.
    pub battery: Option<u8>,
    pub external_power: bool,
    /// Demodulation margin in dB of the last status request.
    pub margin: Option<i32>,
}

/// One message from a network server.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Uplink(Uplink),
    Status(DeviceStatus),
    /// An event kencho has no use for (join, ack, log, …): acknowledged, not stored.
    Ignored {
        event: ChirpStackEvent,
    },
}

/// Reads a message: `topic` is the MQTT topic (`None` over HTTP), `event` the HTTP
/// integration's `?event=` value. Without either, the body is an uplink.
pub fn parse(topic: Option<&str>, event: Option<&str>, body: &[u8]) -> Result<Message, UplinkError> {
    let event = match (event, topic.and_then(topic_event)) {
        (Some(e), _) | (None, Some(e)) => e.parse::<ChirpStackEvent>()?,
        (None, None) => ChirpStackEvent::Up,
    };
    match event {
        // An uplink's topic is read by the uplink parser; a status topic is only a status.
        ChirpStackEvent::Up => uplink::parse(topic, body).map(Message::Uplink),
        ChirpStackEvent::Status => status(topic, body).map(Message::Status),
        other => Ok(Message::Ignored { event: other }),
    }
}

/// The event type in a ChirpStack topic (`application/{id}/device/{eui}/event/{type}`).
fn topic_event(topic: &str) -> Option<&str> {
    match topic.split('/').collect::<Vec<_>>().as_slice() {
        ["application", _, "device", _, "event", kind] => Some(kind),
        _ => None,
    }
}

fn topic_eui(topic: &str) -> Option<&str> {
    match topic.split('/').collect::<Vec<_>>().as_slice() {
        ["application", _, "device", eui, "event", _] => Some(eui),
        _ => None,
    }
}

/// `StatusEvent`: `deduplicationId`, `time`, `deviceInfo`, `margin`, `externalPowerSource`,
/// `batteryLevelUnavailable`, `batteryLevel` (a float, percent).
fn status(topic: Option<&str>, body: &[u8]) -> Result<DeviceStatus, UplinkError> {
    let json: Value = serde_json::from_slice(body).map_err(|e| UplinkError::NotJson(e.to_string()))?;
    if !json.is_object() {
        return Err(UplinkError::NotObject);
    }
    let dev_eui = chirpstack_dev_eui(&json, topic.and_then(topic_eui))?;
    let flag = |path: &'static str| match at(&json, path) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(UplinkError::WrongType { field: path, expected: "true or false" }),
    };
    let external_power = flag("externalPowerSource")?;
    let unavailable = flag("batteryLevelUnavailable")?;
    let level = match at(&json, "batteryLevel") {
        None => None,
        Some(Value::Number(n)) => Some(n.as_f64().filter(|x| (0.0..=100.0).contains(x)).ok_or_else(|| {
            UplinkError::OutOfRange { field: "batteryLevel", value: clip(&n.to_string()), range: "0–100" }
        })?),
        Some(_) => return Err(UplinkError::WrongType { field: "batteryLevel", expected: "a number" }),
    };
    let margin = match at(&json, "margin") {
        None => None,
        Some(Value::Number(n)) => Some(n.as_i64().and_then(|m| i32::try_from(m).ok()).ok_or_else(|| {
            UplinkError::OutOfRange { field: "margin", value: clip(&n.to_string()), range: "-32–32 dB" }
        })?),
        Some(_) => return Err(UplinkError::WrongType { field: "margin", expected: "a number" }),
    };
    // ChirpStack leaves batteryLevel out when it is 0, so an absent level is 0 % unless the
    // device said it cannot measure or runs on mains.
    let battery = if external_power || unavailable { None } else { Some(level.unwrap_or(0.0).round() as u8) };
    Ok(DeviceStatus { dev_eui, received_at_ms: opt_time(&json, "time")?, battery, external_power, margin })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const TOPIC: &str = "application/5d3b1f0e-8c2a-4e7b-9f61-2a7c4d9e0b13/device/70b3d57ed0004a21/event/status";

    fn status_sample() -> Value {
        // A StatusEvent in protobuf's JSON mapping, as ChirpStack v4 posts it.
        json!({
            "deduplicationId": "3c1d9a7e-2f4b-4d6a-9e8c-7b5a4f3e2d1c",
            "time": "2025-06-01T05:12:03.481920391+00:00",
            "deviceInfo": {
                "tenantId": "0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
                "tenantName": "会津若松市",
                "applicationId": "5d3b1f0e-8c2a-4e7b-9f61-2a7c4d9e0b13",
                "applicationName": "wana",
                "deviceProfileId": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
                "deviceProfileName": "trap-sensor",
                "deviceName": "wana-kitakata-07",
                "devEui": "70b3d57ed0004a21",
                "deviceClassEnabled": "CLASS_A",
                "tags": {}
            },
            "margin": 7,
            "batteryLevel": 23.62
        })
    }

    #[test]
    fn status_over_http_and_mqtt() {
        let body = status_sample().to_string();
        let want = DeviceStatus {
            dev_eui: "70B3D57ED0004A21".into(),
            received_at_ms: Some(1_748_754_723_481),
            battery: Some(24),
            external_power: false,
            margin: Some(7),
        };
        assert_eq!(parse(None, Some("status"), body.as_bytes()), Ok(Message::Status(want.clone())));
        assert_eq!(parse(Some(TOPIC), None, body.as_bytes()), Ok(Message::Status(want)));
    }

    #[test]
    fn mains_powered_and_unmeasured_have_no_level() {
        let mut v = status_sample();
        v["externalPowerSource"] = json!(true);
        v.as_object_mut().unwrap().remove("batteryLevel");
        let Ok(Message::Status(s)) = parse(None, Some("status"), v.to_string().as_bytes()) else { panic!() };
        assert_eq!((s.battery, s.external_power), (None, true));
        let mut v = status_sample();
        v["batteryLevelUnavailable"] = json!(true);
        let Ok(Message::Status(s)) = parse(None, Some("status"), v.to_string().as_bytes()) else { panic!() };
        assert_eq!(s.battery, None);
        // Left out by protobuf's JSON mapping because it is zero: an empty battery.
        let mut v = status_sample();
        v.as_object_mut().unwrap().remove("batteryLevel");
        let Ok(Message::Status(s)) = parse(None, Some("status"), v.to_string().as_bytes()) else { panic!() };
        assert_eq!(s.battery, Some(0));
    }

    #[test]
    fn other_events_are_ignored_and_unknown_ones_refused() {
        let join = json!({"deviceInfo": {"devEui": "70b3d57ed0004a21"}, "devAddr": "01fe3a2b"}).to_string();
        assert_eq!(parse(None, Some("join"), join.as_bytes()), Ok(Message::Ignored { event: ChirpStackEvent::Join }));
        assert_eq!(
            parse(Some(&TOPIC.replace("status", "txack")), None, b"{}"),
            Ok(Message::Ignored { event: ChirpStackEvent::TxAck })
        );
        assert!(matches!(parse(None, Some("upp"), b"{}"), Err(UplinkError::UnknownEventType(_))));
        let mut v = status_sample();
        v["batteryLevel"] = json!(140);
        assert!(matches!(
            parse(None, Some("status"), v.to_string().as_bytes()),
            Err(UplinkError::OutOfRange { field: "batteryLevel", .. })
        ));
        let other = TOPIC.replace("70b3d57ed0004a21", "70b3d57ed0004a22");
        assert!(matches!(
            parse(Some(&other), None, status_sample().to_string().as_bytes()),
            Err(UplinkError::DevEuiMismatch { .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(event in "[a-z]{0,12}", body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(None, Some(&event), &body);
            let _ = parse(Some(TOPIC), None, &body);
        }

        #[test]
        fn any_level_in_range_is_read(level in 0.0f64..=100.0) {
            let mut v = status_sample();
            v["batteryLevel"] = json!(level);
            let Ok(Message::Status(s)) = parse(None, Some("status"), v.to_string().as_bytes()) else {
                return Err(TestCaseError::fail("not read"));
            };
            prop_assert_eq!(s.battery, Some(level.round() as u8));
        }
    }
}
