//! LoRaWAN uplinks from network servers, read into one [`Uplink`].
//!
//! Three body formats are accepted:
//!
//! - **ChirpStack v4**, MQTT topic `application/{application_id}/device/{devEui}/event/up` or the
//!   HTTP integration's `event=up` posts: `deduplicationId`, `time`, `deviceInfo.devEui`, `fCnt`,
//!   `fPort`, `data` (base64), `object` (decoded), `rxInfo[].rssi/snr`.
//! - **The Things Stack v3**, MQTT topic `v3/{application_id}[@{tenant_id}]/devices/{device_id}/up`
//!   or webhooks: `end_device_ids.dev_eui`, `received_at`, `uplink_message.f_cnt`, `.f_port`,
//!   `.frm_payload` (base64), `.decoded_payload`, `.rx_metadata[].rssi/snr`. It has no
//!   deduplication id.
//! - **Plain JSON**, kencho's own format for other gateways, on any other topic or over HTTP:
//!
//!   ```json
//!   {"dev_eui": "70-B3-D5-7E-D0-00-4A-21", "time": "2025-06-01T05:12:00+09:00", "f_cnt": 42,
//!    "event": "fired", "battery": 87, "id": "gw7-42"}
//!   ```
//!
//!   | field            | required | meaning |
//!   |------------------|----------|---------|
//!   | `dev_eui`        | yes      | 16 hex digits; `-`/`:` separators and lowercase accepted |
//!   | `time`           | no       | RFC 3339 time the gateway received the uplink |
//!   | `f_cnt`          | no       | frame counter, 0–4294967295 |
//!   | `payload_hex`    | one of   | payload bytes in hex ([`super::codec`] format) |
//!   | `payload_base64` | these    | payload bytes in base64 |
//!   | `event`          | three    | fired, reset, heartbeat, battery, motion, door, power, water or button |
//!   | `battery`        | no       | battery level in percent, integer 0–100 |
//!   | `id`             | no       | deduplication id: the same id twice is the same uplink |
//!
//!   `event` and `battery` become [`Uplink::decoded`], which the codec checks against the payload.
//!
//! With a topic, the topic decides the format ([`topic_kind`]); without one (HTTP) the JSON shape
//! does: `deviceInfo` is ChirpStack, `end_device_ids` The Things Stack, `dev_eui` plain.
//! Unknown fields are ignored, so network-server upgrades that add fields keep working.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::codec::{clip, clip_to, EVENT_NAMES};
use super::fields::{at, chirpstack_dev_eui, dev_eui, opt_base64, opt_str, opt_time, opt_u32, opt_u8, opt_uint};

/// One uplink, whichever network server sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Uplink {
    /// 16 uppercase hex digits, no separators.
    pub dev_eui: String,
    /// The network server's deduplication id (ChirpStack, plain `id`).
    pub dedup_id: Option<String>,
    pub f_cnt: Option<u32>,
    pub f_port: Option<u8>,
    /// When the network server (or gateway) received it, in Unix milliseconds.
    pub received_at_ms: Option<i64>,
    /// Raw application payload; empty when none was sent.
    pub payload: Vec<u8>,
    /// The network server's decoded payload, or plain JSON's `event`/`battery`.
    pub decoded: Option<Value>,
    /// Strongest RSSI (dBm) over the receiving gateways.
    pub rssi: Option<i32>,
    /// Best SNR (dB) over the receiving gateways.
    pub snr: Option<f64>,
    pub format: Format,
}

/// Which body format an uplink came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    ChirpStack,
    TheThingsStack,
    Plain,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::ChirpStack => "ChirpStack",
            Format::TheThingsStack => "The Things Stack",
            Format::Plain => "plain JSON",
        })
    }
}

/// What is wrong with an uplink. Untrusted text in messages is shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UplinkError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("topic {0:?} is not an uplink topic")]
    NotUplinkTopic(String),
    #[error("{format}: not an uplink (no {expected})")]
    NotAnUplink { format: Format, expected: &'static str },
    #[error(
        "cannot tell the uplink format: expected deviceInfo (ChirpStack), end_device_ids (The Things Stack) or dev_eui (plain JSON)"
    )]
    UnknownFormat,
    #[error("{format}: missing {field}")]
    Missing { format: Format, field: &'static str },
    #[error("{field}: expected {expected}")]
    WrongType { field: &'static str, expected: &'static str },
    #[error("{field}: {value:?} is not 16 hex digits")]
    BadDevEui { field: &'static str, value: String },
    #[error("devEui differs between topic ({topic}) and body ({body})")]
    DevEuiMismatch { topic: String, body: String },
    #[error("{field}: not valid base64")]
    BadBase64 { field: &'static str },
    #[error("{field}: not valid hex")]
    BadHex { field: &'static str },
    #[error("{field}: {value:?} is not an RFC 3339 time")]
    BadTime { field: &'static str, value: String },
    #[error("{field}: {value} is not an integer in {range}")]
    OutOfRange { field: &'static str, value: String, range: &'static str },
    #[error("give only one of payload_hex and payload_base64")]
    TwoPayloads,
    #[error("event: {0:?} is not one of fired, reset, heartbeat, battery, motion, door, power, water, button")]
    UnknownEvent(String),
    #[error("event: {0:?} is not a ChirpStack event type (up, status, join, ack, txack, log, location, integration)")]
    UnknownEventType(String),
}

/// Which format a topic carries: ChirpStack and The Things Stack uplink topics by their default
/// templates, `None` for their other topics (join, status, ack, downlinks …), plain JSON for any
/// other topic.
pub fn topic_kind(topic: &str) -> Option<Format> {
    match classify(topic) {
        Topic::ChirpStackUp { .. } => Some(Format::ChirpStack),
        Topic::TheThingsStackUp => Some(Format::TheThingsStack),
        Topic::NotUplink => None,
        Topic::Other => Some(Format::Plain),
    }
}

/// The network-server application an MQTT topic belongs to, which decides the tenant: the
/// ChirpStack application id (`application/{id}/device/…`), The Things Stack application id
/// with its tenant suffix if any (`v3/{id}[@{tenant}]/devices/…`), or for the plain format
/// the segment of `kencho/{name}/up`. `None` for any other topic.
pub fn topic_application(topic: &str) -> Option<(Format, &str)> {
    let segments: Vec<&str> = topic.split('/').collect();
    match segments.as_slice() {
        ["application", app, "device", ..] if !app.is_empty() => Some((Format::ChirpStack, app)),
        ["v3", app, "devices", ..] if !app.is_empty() => Some((Format::TheThingsStack, app)),
        ["kencho", name, "up"] if !name.is_empty() => Some((Format::Plain, name)),
        _ => None,
    }
}

impl Format {
    /// The name used where a format is stored (`chirpstack`, `tts`, `plain`).
    pub fn key(self) -> &'static str {
        match self {
            Format::ChirpStack => "chirpstack",
            Format::TheThingsStack => "tts",
            Format::Plain => "plain",
        }
    }

    pub fn from_key(s: &str) -> Option<Format> {
        [Format::ChirpStack, Format::TheThingsStack, Format::Plain].into_iter().find(|f| f.key() == s)
    }
}

/// Parses an uplink body; `topic` is the MQTT topic, `None` for HTTP webhooks.
pub fn parse(topic: Option<&str>, body: &[u8]) -> Result<Uplink, UplinkError> {
    let (format, topic_eui) = match topic.map(|t| (t, classify(t))) {
        None => (None, None),
        Some((_, Topic::ChirpStackUp { dev_eui })) => (Some(Format::ChirpStack), Some(dev_eui)),
        Some((_, Topic::TheThingsStackUp)) => (Some(Format::TheThingsStack), None),
        Some((t, Topic::NotUplink)) => return Err(UplinkError::NotUplinkTopic(clip_to(t, 200))),
        Some((_, Topic::Other)) => (Some(Format::Plain), None),
    };
    let json: Value = serde_json::from_slice(body).map_err(|e| UplinkError::NotJson(e.to_string()))?;
    if !json.is_object() {
        return Err(UplinkError::NotObject);
    }
    let (format, from_shape) = match format {
        Some(f) => (f, false),
        None => (detect(&json)?, true),
    };
    match format {
        Format::ChirpStack => chirpstack(&json, topic_eui, from_shape),
        Format::TheThingsStack => the_things_stack(&json),
        Format::Plain => plain(&json),
    }
}

enum Topic<'a> {
    ChirpStackUp { dev_eui: &'a str },
    TheThingsStackUp,
    NotUplink,
    Other,
}

fn classify(topic: &str) -> Topic<'_> {
    let segments: Vec<&str> = topic.split('/').collect();
    match segments.as_slice() {
        ["application", _, "device", dev_eui, "event", "up"] => Topic::ChirpStackUp { dev_eui },
        ["application", _, "device", _, ..] => Topic::NotUplink,
        ["v3", _, "devices", _, "up"] => Topic::TheThingsStackUp,
        ["v3", _, "devices", _, ..] => Topic::NotUplink,
        _ => Topic::Other,
    }
}

fn detect(json: &Value) -> Result<Format, UplinkError> {
    if json.get("deviceInfo").is_some() {
        Ok(Format::ChirpStack)
    } else if json.get("end_device_ids").is_some() {
        Ok(Format::TheThingsStack)
    } else if json.get("dev_eui").is_some() {
        Ok(Format::Plain)
    } else {
        Err(UplinkError::UnknownFormat)
    }
}

fn chirpstack(json: &Value, topic_eui: Option<&str>, from_shape: bool) -> Result<Uplink, UplinkError> {
    const F: Format = Format::ChirpStack;
    // Over HTTP, join/status/log events share the shape; an uplink has at least one of these.
    // (ChirpStack omits zero and empty values, so no single field is always there.)
    if from_shape && ["fCnt", "fPort", "data", "object"].iter().all(|k| at(json, k).is_none()) {
        return Err(UplinkError::NotAnUplink { format: F, expected: "fCnt, fPort, data or object" });
    }
    let dev_eui = chirpstack_dev_eui(json, topic_eui)?;
    let (rssi, snr) = best_signal(at(json, "rxInfo"));
    Ok(Uplink {
        dev_eui,
        dedup_id: opt_str(json, "deduplicationId")?.filter(|s| !s.is_empty()).map(str::to_owned),
        f_cnt: opt_u32(json, "fCnt")?,
        f_port: opt_u8(json, "fPort")?,
        received_at_ms: opt_time(json, "time")?,
        payload: opt_base64(json, "data")?.unwrap_or_default(),
        decoded: at(json, "object").cloned(),
        rssi,
        snr,
        format: F,
    })
}

fn the_things_stack(json: &Value) -> Result<Uplink, UplinkError> {
    const F: Format = Format::TheThingsStack;
    if at(json, "uplink_message").is_none() {
        return Err(UplinkError::NotAnUplink { format: F, expected: "uplink_message" });
    }
    let raw = opt_str(json, "end_device_ids.dev_eui")?
        .ok_or(UplinkError::Missing { format: F, field: "end_device_ids.dev_eui" })?;
    let received_at_ms = match opt_time(json, "received_at")? {
        Some(t) => Some(t),
        None => opt_time(json, "uplink_message.received_at")?,
    };
    let (rssi, snr) = best_signal(at(json, "uplink_message.rx_metadata"));
    Ok(Uplink {
        dev_eui: dev_eui("end_device_ids.dev_eui", raw)?,
        dedup_id: None,
        f_cnt: opt_u32(json, "uplink_message.f_cnt")?,
        f_port: opt_u8(json, "uplink_message.f_port")?,
        received_at_ms,
        payload: opt_base64(json, "uplink_message.frm_payload")?.unwrap_or_default(),
        decoded: at(json, "uplink_message.decoded_payload").cloned(),
        rssi,
        snr,
        format: F,
    })
}

fn plain(json: &Value) -> Result<Uplink, UplinkError> {
    const F: Format = Format::Plain;
    let raw = opt_str(json, "dev_eui")?.ok_or(UplinkError::Missing { format: F, field: "dev_eui" })?;
    let dev_eui = dev_eui("dev_eui", raw)?;
    let hex_text = opt_str(json, "payload_hex")?;
    let base64 = opt_base64(json, "payload_base64")?;
    let payload = match (hex_text, base64) {
        (Some(_), Some(_)) => return Err(UplinkError::TwoPayloads),
        (Some(h), None) => hex::decode(h.trim()).map_err(|_| UplinkError::BadHex { field: "payload_hex" })?,
        (None, Some(b)) => b,
        (None, None) => Vec::new(),
    };
    let event = opt_str(json, "event")?;
    if let Some(e) = event.filter(|e| !EVENT_NAMES.contains(e)) {
        return Err(UplinkError::UnknownEvent(clip(e)));
    }
    let battery = opt_uint(json, "battery", 100, "0–100")?;
    let has_payload = at(json, "payload_hex").is_some() || at(json, "payload_base64").is_some();
    if !has_payload && event.is_none() {
        return Err(UplinkError::Missing { format: F, field: "payload_hex, payload_base64 or event" });
    }
    let mut decoded = Map::new();
    if let Some(e) = event {
        decoded.insert("event".into(), Value::from(e));
    }
    if let Some(b) = battery {
        decoded.insert("battery".into(), Value::from(b));
    }
    Ok(Uplink {
        dev_eui,
        dedup_id: opt_str(json, "id")?.filter(|s| !s.is_empty()).map(str::to_owned),
        f_cnt: opt_u32(json, "f_cnt")?,
        f_port: None,
        received_at_ms: opt_time(json, "time")?,
        payload,
        decoded: (!decoded.is_empty()).then_some(Value::Object(decoded)),
        rssi: None,
        snr: None,
        format: F,
    })
}

/// Accepts `70-B3-D5-7E-D0-00-4A-21`, `70:b3:…`, `70 b3 …` and `70b3d57ed0004a21`; gives
/// `70B3D57ED0004A21`. Registration and uplinks share it, so both spell a device alike.
pub fn normalize_dev_eui(raw: &str) -> Option<String> {
    let digits: String = raw.trim().chars().filter(|c| !matches!(c, '-' | ':' | ' ')).collect();
    (digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_hexdigit())).then(|| digits.to_ascii_uppercase())
}

/// Best RSSI and best SNR over the gateways, each on its own. Radio metadata only informs, so
/// malformed entries are skipped rather than rejecting (and losing) an alarm.
fn best_signal(list: Option<&Value>) -> (Option<i32>, Option<f64>) {
    let Some(Value::Array(items)) = list else { return (None, None) };
    let mut rssi: Option<i32> = None;
    let mut snr: Option<f64> = None;
    for item in items {
        // The Things Stack sends RSSI as a float, ChirpStack as an integer.
        if let Some(r) = item.get("rssi").and_then(Value::as_f64).filter(|r| r.is_finite()) {
            let r = r.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
            rssi = Some(rssi.map_or(r, |best| best.max(r)));
        }
        if let Some(s) = item.get("snr").and_then(Value::as_f64).filter(|s| s.is_finite()) {
            snr = Some(snr.map_or(s, |best| best.max(s)));
        }
    }
    (rssi, snr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const CS_TOPIC: &str = "application/5d3b1f0e-8c2a-4e7b-9f61-2a7c4d9e0b13/device/70b3d57ed0004a21/event/up";
    const TTS_TOPIC: &str = "v3/aizu-wana@kencho-demo/devices/wana-kitakata-07/up";

    fn chirpstack_sample() -> Value {
        json!({
            "deduplicationId": "9f2c6a1e-3b4d-4c8e-a5f0-1d2e3f4a5b6c",
            "time": "2025-06-01T05:12:03.481920391+00:00",
            "deviceInfo": {
                "tenantId": "0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
                "tenantName": "会津若松市",
                "applicationId": "5d3b1f0e-8c2a-4e7b-9f61-2a7c4d9e0b13",
                "applicationName": "wana",
                "deviceProfileId": "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
                "deviceProfileName": "kencho-trap-v1",
                "deviceName": "北会津 箱わな 7",
                "devEui": "70b3d57ed0004a21",
                "tags": {"area": "kitaaizu"}
            },
            "devAddr": "01a2b3c4",
            "adr": true,
            "dr": 2,
            "fCnt": 418,
            "fPort": 10,
            "confirmed": false,
            "data": "AVc=",
            "object": {"event": "fired", "battery": 87.0},
            "rxInfo": [
                {"gatewayId": "a84041ffff1f2b3c", "uplinkId": 31337, "rssi": -112, "snr": -4.5,
                 "context": "AAAAAAAAAAAAYg==", "metadata": {"region_common_name": "AS923"}},
                {"gatewayId": "a84041ffff1f2b3d", "uplinkId": 4711, "rssi": -97, "snr": 2.25}
            ],
            "txInfo": {"frequency": 923200000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 10, "codeRate": "CR_4_5"}}}
        })
    }

    fn tts_sample() -> Value {
        json!({
            "end_device_ids": {
                "device_id": "wana-kitakata-07",
                "application_ids": {"application_id": "aizu-wana"},
                "dev_eui": "0004A30B00F1C2D3",
                "join_eui": "70B3D57ED0000000",
                "dev_addr": "260B1A2C"
            },
            "correlation_ids": ["as:up:01HZX4K8Q2W3E4R5T6Y7U8I9O0"],
            "received_at": "2025-06-01T05:12:03.912345678Z",
            "uplink_message": {
                "session_key_id": "AYd2kLq0bXo=",
                "f_port": 10,
                "f_cnt": 57,
                "frm_payload": "AxQ=",
                "decoded_payload": {"event": "heartbeat", "battery": 20},
                "rx_metadata": [
                    {"gateway_ids": {"gateway_id": "kitakata-yakuba", "eui": "B827EBFFFE1A2B3C"},
                     "time": "2025-06-01T05:12:03.700Z", "rssi": -104.0, "channel_rssi": -104.0, "snr": 6.75},
                    {"gateway_ids": {"gateway_id": "kitakata-school"}, "rssi": -89, "snr": 9.5}
                ],
                "settings": {"data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 9}}, "frequency": "923400000"},
                "received_at": "2025-06-01T05:12:03.800000000Z",
                "consumed_airtime": "0.185344s"
            }
        })
    }

    fn body(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn chirpstack_uplink() {
        let u = parse(Some(CS_TOPIC), &body(&chirpstack_sample())).unwrap();
        assert_eq!(u.format, Format::ChirpStack);
        assert_eq!(u.dev_eui, "70B3D57ED0004A21");
        assert_eq!(u.dedup_id.as_deref(), Some("9f2c6a1e-3b4d-4c8e-a5f0-1d2e3f4a5b6c"));
        assert_eq!((u.f_cnt, u.f_port), (Some(418), Some(10)));
        assert_eq!(u.received_at_ms, Some(1_748_754_723_481));
        assert_eq!(u.payload, [0x01, 87]);
        assert_eq!(u.decoded, Some(json!({"event": "fired", "battery": 87.0})));
        assert_eq!((u.rssi, u.snr), (Some(-97), Some(2.25)));
        // The same body over HTTP is recognised by its shape.
        assert_eq!(parse(None, &body(&chirpstack_sample())).unwrap(), u);
    }

    #[test]
    fn chirpstack_variants() {
        // First uplink: ChirpStack omits fCnt 0; devEui only in the topic.
        let mut v = chirpstack_sample();
        v.as_object_mut().unwrap().remove("fCnt");
        v["deviceInfo"].as_object_mut().unwrap().remove("devEui");
        v.as_object_mut().unwrap().remove("rxInfo");
        let u = parse(Some(CS_TOPIC), &body(&v)).unwrap();
        assert_eq!((u.dev_eui.as_str(), u.f_cnt, u.rssi, u.snr), ("70B3D57ED0004A21", None, None, None));
        assert_eq!(
            parse(None, &body(&v)).unwrap_err(),
            UplinkError::Missing { format: Format::ChirpStack, field: "deviceInfo.devEui" }
        );

        let other = CS_TOPIC.replace("70b3d57ed0004a21", "70-B3-D5-7E-D0-00-4A-22");
        let err = parse(Some(&other), &body(&chirpstack_sample())).unwrap_err();
        assert_eq!(err.to_string(), "devEui differs between topic (70B3D57ED0004A22) and body (70B3D57ED0004A21)");

        let join = json!({"deduplicationId": "x", "time": "2025-06-01T05:12:03Z",
                          "deviceInfo": {"devEui": "70b3d57ed0004a21"}, "devAddr": "01a2b3c4"});
        assert_eq!(
            parse(None, &body(&join)).unwrap_err().to_string(),
            "ChirpStack: not an uplink (no fCnt, fPort, data or object)"
        );
    }

    #[test]
    fn the_things_stack_uplink() {
        let u = parse(Some(TTS_TOPIC), &body(&tts_sample())).unwrap();
        assert_eq!(u.format, Format::TheThingsStack);
        assert_eq!(u.dev_eui, "0004A30B00F1C2D3");
        assert_eq!(u.dedup_id, None);
        assert_eq!((u.f_cnt, u.f_port), (Some(57), Some(10)));
        assert_eq!(u.received_at_ms, Some(1_748_754_723_912));
        assert_eq!(u.payload, [0x03, 20]);
        assert_eq!(u.decoded, Some(json!({"event": "heartbeat", "battery": 20})));
        assert_eq!((u.rssi, u.snr), (Some(-89), Some(9.5)));
        assert_eq!(parse(None, &body(&tts_sample())).unwrap(), u);
        // Open-source The Things Stack has no tenant in the topic.
        assert!(parse(Some("v3/aizu-wana/devices/wana-kitakata-07/up"), &body(&tts_sample())).is_ok());
    }

    #[test]
    fn plain_uplinks() {
        let v = json!({"dev_eui": "70-B3-D5-7E-D0-00-4A-21", "time": "2025-06-01T14:12:03+09:00",
                       "f_cnt": 42, "event": "fired", "battery": 87, "id": "gw7-42"});
        let u = parse(None, &body(&v)).unwrap();
        assert_eq!(u.format, Format::Plain);
        assert_eq!(u.dev_eui, "70B3D57ED0004A21");
        assert_eq!((u.f_cnt, u.dedup_id.as_deref()), (Some(42), Some("gw7-42")));
        assert_eq!(u.received_at_ms, Some(1_748_754_723_000));
        assert!(u.payload.is_empty());
        assert_eq!(u.decoded, Some(json!({"event": "fired", "battery": 87})));
        assert_eq!(parse(Some("kencho/sensors/mimamori"), &body(&v)).unwrap(), u);

        let u = parse(Some("gw/ok"), br#"{"dev_eui":"a840411b2c3d4e5f","payload_hex":"0814"}"#).unwrap();
        assert_eq!((u.dev_eui.as_str(), u.payload.as_slice(), u.decoded), ("A840411B2C3D4E5F", &[8u8, 20][..], None));
        let u = parse(None, br#"{"dev_eui":"a840411b2c3d4e5f","payload_base64":"CBQ"}"#).unwrap();
        assert_eq!(u.payload, [8, 20]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |topic: Option<&str>, b: &str| parse(topic, b.as_bytes()).unwrap_err().to_string();
        assert!(err(None, "fired").starts_with("body is not JSON: "));
        assert_eq!(err(None, "[1]"), "body is not a JSON object");
        assert_eq!(err(None, "{}"), UplinkError::UnknownFormat.to_string());
        assert_eq!(
            err(Some(&CS_TOPIC.replace("/up", "/join")), "{}"),
            format!("topic {:?} is not an uplink topic", CS_TOPIC.replace("/up", "/join"))
        );
        assert_eq!(
            err(Some("v3/a@t/devices/d/down/queued"), "{}"),
            "topic \"v3/a@t/devices/d/down/queued\" is not an uplink topic"
        );
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57e","event":"fired"}"#),
            "dev_eui: \"70b3d57e\" is not 16 hex digits"
        );
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57ed0004a2g","event":"fired"}"#),
            "dev_eui: \"70b3d57ed0004a2g\" is not 16 hex digits"
        );
        assert_eq!(err(None, r#"{"dev_eui":7,"event":"fired"}"#), "dev_eui: expected a string");
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57ed0004a21"}"#),
            "plain JSON: missing payload_hex, payload_base64 or event"
        );
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57ed0004a21","payload_hex":"01","payload_base64":"AQ=="}"#),
            "give only one of payload_hex and payload_base64"
        );
        assert_eq!(err(None, r#"{"dev_eui":"70b3d57ed0004a21","payload_hex":"0x01"}"#), "payload_hex: not valid hex");
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57ed0004a21","payload_base64":"A*=="}"#),
            "payload_base64: not valid base64"
        );
        assert_eq!(err(None, r#"{"dev_eui":"70b3d57ed0004a21","event":"smoke"}"#).split(':').next(), Some("event"));
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57ed0004a21","event":"fired","battery":120}"#),
            "battery: 120 is not an integer in 0–100"
        );
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57ed0004a21","event":"fired","f_cnt":-1}"#),
            "f_cnt: -1 is not an integer in 0–4294967295"
        );
        assert_eq!(
            err(None, r#"{"dev_eui":"70b3d57ed0004a21","event":"fired","time":"yesterday"}"#),
            "time: \"yesterday\" is not an RFC 3339 time"
        );

        let mut v = chirpstack_sample();
        v["fPort"] = json!(300);
        assert_eq!(err(Some(CS_TOPIC), &v.to_string()), "fPort: 300 is not an integer in 0–255");
        let mut v = chirpstack_sample();
        v["data"] = json!("not base64!");
        assert_eq!(err(Some(CS_TOPIC), &v.to_string()), "data: not valid base64");
        let mut v = tts_sample();
        v["end_device_ids"].as_object_mut().unwrap().remove("dev_eui");
        assert_eq!(err(Some(TTS_TOPIC), &v.to_string()), "The Things Stack: missing end_device_ids.dev_eui");
        let mut v = tts_sample();
        v.as_object_mut().unwrap().remove("uplink_message");
        assert_eq!(err(None, &v.to_string()), "The Things Stack: not an uplink (no uplink_message)");
        // Untrusted text in messages stays short.
        let long = format!(r#"{{"dev_eui":"{}","event":"fired"}}"#, "z".repeat(10_000));
        assert!(err(None, &long).len() < 100);
    }

    #[test]
    fn topic_kinds() {
        assert_eq!(topic_kind(CS_TOPIC), Some(Format::ChirpStack));
        assert_eq!(topic_kind(TTS_TOPIC), Some(Format::TheThingsStack));
        for t in [
            "application/1/device/70b3d57ed0004a21/event/join",
            "application/1/device/70b3d57ed0004a21/event/status",
            "application/1/device/70b3d57ed0004a21/command/down",
            "v3/aizu-wana@kencho-demo/devices/wana-kitakata-07/join",
            "v3/aizu-wana@kencho-demo/devices/wana-kitakata-07/service/data",
        ] {
            assert_eq!(topic_kind(t), None, "{t}");
        }
        assert_eq!(topic_kind("kencho/uplink"), Some(Format::Plain));
        assert_eq!(topic_kind(""), Some(Format::Plain));
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let keys = proptest::sample::select(vec![
            "deviceInfo",
            "devEui",
            "end_device_ids",
            "dev_eui",
            "uplink_message",
            "frm_payload",
            "fCnt",
            "fPort",
            "data",
            "object",
            "rxInfo",
            "rx_metadata",
            "rssi",
            "snr",
            "event",
            "battery",
            "payload_hex",
            "payload_base64",
            "time",
            "received_at",
            "id",
            "f_cnt",
            "f_port",
            "decoded_payload",
            "deduplicationId",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            proptest::sample::select(vec!["70b3d57ed0004a21", "AVc=", "0157", "fired", "2025-06-01T05:12:03Z"])
                .prop_map(Value::from),
            ".{0,16}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec((keys.clone(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    fn any_topic() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            ".{0,30}",
            "[0-9a-fA-F:-]{0,24}".prop_map(|eui| format!("application/1/device/{eui}/event/up")),
            Just(TTS_TOPIC.to_owned()),
            "[a-z/]{0,30}",
        ])
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_bytes(topic in any_topic(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(topic.as_deref(), &body);
        }

        #[test]
        fn parse_never_panics_on_json(topic in any_topic(), v in any_json()) {
            if let Ok(u) = parse(topic.as_deref(), &body(&v)) {
                prop_assert_eq!(u.dev_eui.len(), 16);
                prop_assert!(u.dev_eui.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
            }
        }

        // Realistic bodies with one field (nested ones too) replaced by anything.
        #[test]
        fn parse_never_panics_on_mutated_samples(which in 0..3usize, pointer in proptest::sample::select(vec![
            "/deviceInfo", "/deviceInfo/devEui", "/fCnt", "/fPort", "/data", "/object", "/rxInfo", "/rxInfo/0",
            "/rxInfo/1/rssi", "/time", "/deduplicationId", "/end_device_ids", "/end_device_ids/dev_eui",
            "/uplink_message", "/uplink_message/f_cnt", "/uplink_message/f_port", "/uplink_message/frm_payload",
            "/uplink_message/decoded_payload", "/uplink_message/rx_metadata/0/rssi", "/received_at", "/dev_eui",
            "/event", "/battery",
        ]), v in any_json(), with_topic in any::<bool>()) {
            let (mut sample, topic) = match which {
                0 => (chirpstack_sample(), CS_TOPIC),
                1 => (tts_sample(), TTS_TOPIC),
                _ => (json!({"dev_eui": "70b3d57ed0004a21", "event": "fired", "battery": 50}), "kencho/up"),
            };
            match sample.pointer_mut(pointer) {
                Some(slot) => *slot = v,
                None => sample[pointer.rsplit('/').next().unwrap_or_default()] = v,
            }
            let _ = parse(with_topic.then_some(topic), &body(&sample));
        }
    }

    #[test]
    fn topics_name_their_application() {
        assert_eq!(
            topic_application("application/0c6f/device/70b3d5fffe000001/event/up"),
            Some((Format::ChirpStack, "0c6f"))
        );
        assert_eq!(topic_application("v3/traps@ttn/devices/trap-01/up"), Some((Format::TheThingsStack, "traps@ttn")));
        assert_eq!(topic_application("kencho/minamisoma/up"), Some((Format::Plain, "minamisoma")));
        assert_eq!(topic_application("kencho//up"), None);
        assert_eq!(topic_application("elsewhere/x"), None);
        for f in [Format::ChirpStack, Format::TheThingsStack, Format::Plain] {
            assert_eq!(Format::from_key(f.key()), Some(f));
        }
    }
}
