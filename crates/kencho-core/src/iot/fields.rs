//! Reading typed fields out of a network server's JSON, with errors that name the field. Shared
//! by the uplink formats and the other ChirpStack events.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::codec::clip;
use super::uplink::{normalize_dev_eui, Format, UplinkError};

pub(super) fn dev_eui(field: &'static str, raw: &str) -> Result<String, UplinkError> {
    normalize_dev_eui(raw).ok_or_else(|| UplinkError::BadDevEui { field, value: clip(raw) })
}

/// The value at a dotted path. JSON `null` counts as absent: servers write either.
pub(super) fn at<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    let mut value = json;
    for key in path.split('.') {
        value = value.get(key)?;
    }
    (!value.is_null()).then_some(value)
}

pub(super) fn opt_str<'a>(json: &'a Value, path: &'static str) -> Result<Option<&'a str>, UplinkError> {
    match at(json, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(UplinkError::WrongType { field: path, expected: "a string" }),
    }
}

pub(super) fn opt_uint(
    json: &Value,
    path: &'static str,
    max: u64,
    range: &'static str,
) -> Result<Option<u64>, UplinkError> {
    match at(json, path) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().filter(|x| *x <= max) {
            Some(x) => Ok(Some(x)),
            None => Err(UplinkError::OutOfRange { field: path, value: clip(&n.to_string()), range }),
        },
        Some(_) => Err(UplinkError::WrongType { field: path, expected: "a number" }),
    }
}

pub(super) fn opt_u32(json: &Value, path: &'static str) -> Result<Option<u32>, UplinkError> {
    let n = opt_uint(json, path, u64::from(u32::MAX), "0–4294967295")?;
    Ok(n.and_then(|n| u32::try_from(n).ok()))
}

pub(super) fn opt_u8(json: &Value, path: &'static str) -> Result<Option<u8>, UplinkError> {
    let n = opt_uint(json, path, u64::from(u8::MAX), "0–255")?;
    Ok(n.and_then(|n| u8::try_from(n).ok()))
}

pub(super) fn opt_time(json: &Value, path: &'static str) -> Result<Option<i64>, UplinkError> {
    let Some(text) = opt_str(json, path)? else { return Ok(None) };
    let bad = || UplinkError::BadTime { field: path, value: clip(text) };
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| bad())?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map(Some).map_err(|_| bad())
}

/// Standard alphabet; padding optional, as some gateways strip it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn opt_base64(json: &Value, path: &'static str) -> Result<Option<Vec<u8>>, UplinkError> {
    let Some(text) = opt_str(json, path)? else { return Ok(None) };
    BASE64.decode(text.trim()).map(Some).map_err(|_| UplinkError::BadBase64 { field: path })
}

/// A ChirpStack message's DevEUI: from its topic's `{dev_eui}` segment (MQTT) and its
/// `deviceInfo.devEui`; either will do, and when both are there they must agree.
pub(super) fn chirpstack_dev_eui(json: &Value, topic_segment: Option<&str>) -> Result<String, UplinkError> {
    let topic = topic_segment.map(|raw| dev_eui("topic devEui", raw)).transpose()?;
    let body = opt_str(json, "deviceInfo.devEui")?.map(|raw| dev_eui("deviceInfo.devEui", raw)).transpose()?;
    match (topic, body) {
        (Some(topic), Some(body)) if topic != body => Err(UplinkError::DevEuiMismatch { topic, body }),
        (_, Some(eui)) | (Some(eui), None) => Ok(eui),
        (None, None) => Err(UplinkError::Missing { format: Format::ChirpStack, field: "deviceInfo.devEui" }),
    }
}
