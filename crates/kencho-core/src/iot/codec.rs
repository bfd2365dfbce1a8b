//! The kencho sensor payload codec, version 1. This comment is the published specification.
//!
//! # Bytes
//!
//! An uplink payload (any fPort) is one or two bytes:
//!
//! | byte | meaning |
//! |------|---------|
//! | 0    | event type, see below |
//! | 1    | optional: battery level in percent, 0–100 |
//!
//! | event type | name        | meaning |
//! |------------|-------------|---------|
//! | `0x01`     | `fired`     | trap fired (わな作動) |
//! | `0x02`     | `reset`     | trap reset / re-armed (わな復帰) |
//! | `0x03`     | `heartbeat` | periodic "still alive" |
//! | `0x04`     | `motion`    | motion seen (人感センサー) |
//! | `0x05`     | `door`      | door opened or closed |
//! | `0x06`     | `power`     | electricity in use |
//! | `0x07`     | `water`     | water in use |
//! | `0x08`     | `button`    | call button pressed (呼出ボタン) |
//!
//! Any other event type, a battery level over 100 and a third byte are errors: a device that
//! sends them is misconfigured, and guessing could hide an alarm.
//!
//! Examples: `01` trap fired; `01 57` trap fired, battery 87 %; `03 14` heartbeat, battery 20 %.
//!
//! # Decoded objects
//!
//! Network servers can run a payload decoder and send its output with the uplink (ChirpStack
//! `object`, The Things Stack `decoded_payload`). The same information as JSON:
//!
//! ```json
//! {"event": "fired", "battery": 87}
//! ```
//!
//! `event` is one of the names above, or `battery` for a battery report alone (which then needs
//! `battery`). `battery` is an integer 0–100 (`87.0` is accepted: decoders often give floats).
//! A decoded object with neither key is not ours and is ignored.
//!
//! # Combining
//!
//! - Only bytes, or only a decoded object (an empty payload): that one is used.
//! - Both: they must agree on every value both give, otherwise it is an error; values only one
//!   gives are taken from it (the decoded object wins where both give the same).
//! - Neither: an error.
//!
//! The result is the event, then `Battery { percent }` when a battery level was given.

use serde_json::Value;

/// What a sensor reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Fired,
    Reset,
    Heartbeat,
    /// A battery level, sent alone or alongside another event.
    Battery {
        percent: u8,
    },
    Motion,
    Door,
    Power,
    Water,
    Button,
}

/// Every event name a decoded object (or plain JSON uplink) may give, in spec order.
pub const EVENT_NAMES: [&str; 9] =
    ["fired", "reset", "heartbeat", "battery", "motion", "door", "power", "water", "button"];

impl Event {
    /// The event's name in the spec (`battery` for a battery level).
    pub fn name(self) -> &'static str {
        match self {
            Event::Fired => "fired",
            Event::Reset => "reset",
            Event::Heartbeat => "heartbeat",
            Event::Battery { .. } => "battery",
            Event::Motion => "motion",
            Event::Door => "door",
            Event::Power => "power",
            Event::Water => "water",
            Event::Button => "button",
        }
    }

    /// The event for an event-type byte; `None` for unassigned bytes.
    pub fn from_type_byte(byte: u8) -> Option<Event> {
        Some(match byte {
            0x01 => Event::Fired,
            0x02 => Event::Reset,
            0x03 => Event::Heartbeat,
            0x04 => Event::Motion,
            0x05 => Event::Door,
            0x06 => Event::Power,
            0x07 => Event::Water,
            0x08 => Event::Button,
            _ => return None,
        })
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("no event: the payload is empty and there is no decoded event")]
    Empty,
    #[error("byte 0: unknown event type 0x{0:02X}")]
    UnknownType(u8),
    #[error("byte 1: battery {0} % is over 100")]
    BatteryOver100(u8),
    #[error("payload is {0} bytes long; at most 2 are allowed")]
    TooLong(usize),
    #[error("decoded object: event {0:?} is not one of fired, reset, heartbeat, battery, motion, door, power, water, button")]
    UnknownEvent(String),
    #[error("decoded object: event is not a string")]
    EventNotString,
    #[error("decoded object: battery {0} is not an integer 0–100")]
    BadBattery(String),
    #[error("decoded object: event \"battery\" without a battery level")]
    BatteryReportWithoutLevel,
    #[error("payload says {payload} but decoded object says {decoded}")]
    EventMismatch { payload: &'static str, decoded: &'static str },
    #[error("payload says battery {payload} % but decoded object says {decoded} %")]
    BatteryMismatch { payload: u8, decoded: u8 },
}

/// Decodes one uplink into its events, following the rules at the top of this file.
pub fn decode(payload: &[u8], decoded: Option<&Value>) -> Result<Vec<Event>, CodecError> {
    let bytes = read_bytes(payload)?;
    let object = match decoded {
        Some(v) => read_object(v)?,
        None => None,
    };
    let (kind, battery) = match (bytes, object) {
        (None, None) => return Err(CodecError::Empty),
        (Some(r), None) | (None, Some(r)) => (r.kind, r.battery),
        (Some(b), Some(o)) => {
            if let (Some(bk), Some(ok)) = (b.kind, o.kind) {
                if bk != ok {
                    return Err(CodecError::EventMismatch { payload: bk.name(), decoded: ok.name() });
                }
            }
            if let (Some(bb), Some(ob)) = (b.battery, o.battery) {
                if bb != ob {
                    return Err(CodecError::BatteryMismatch { payload: bb, decoded: ob });
                }
            }
            (o.kind.or(b.kind), o.battery.or(b.battery))
        }
    };
    let mut events = Vec::with_capacity(2);
    match kind {
        Some(Kind::Event(e)) => events.push(e),
        Some(Kind::BatteryReport) if battery.is_none() => return Err(CodecError::BatteryReportWithoutLevel),
        _ => {}
    }
    if let Some(percent) = battery {
        events.push(Event::Battery { percent });
    }
    if events.is_empty() {
        return Err(CodecError::Empty);
    }
    Ok(events)
}

/// The main event one source names; a battery report has no event of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event(Event),
    BatteryReport,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Event(e) => e.name(),
            Kind::BatteryReport => "battery",
        }
    }
}

/// What one source (the bytes or the decoded object) says.
struct Reading {
    kind: Option<Kind>,
    battery: Option<u8>,
}

/// `None` for an empty payload.
fn read_bytes(payload: &[u8]) -> Result<Option<Reading>, CodecError> {
    let (type_byte, battery) = match *payload {
        [] => return Ok(None),
        [t] => (t, None),
        [t, b] => (t, Some(b)),
        _ => return Err(CodecError::TooLong(payload.len())),
    };
    let event = Event::from_type_byte(type_byte).ok_or(CodecError::UnknownType(type_byte))?;
    if let Some(b) = battery.filter(|b| *b > 100) {
        return Err(CodecError::BatteryOver100(b));
    }
    Ok(Some(Reading { kind: Some(Kind::Event(event)), battery }))
}

/// `None` when the value is not an object with `event` or `battery`: some other decoder's output.
fn read_object(value: &Value) -> Result<Option<Reading>, CodecError> {
    let Some(obj) = value.as_object() else { return Ok(None) };
    let event = obj.get("event").filter(|v| !v.is_null());
    let battery = obj.get("battery").filter(|v| !v.is_null());
    if event.is_none() && battery.is_none() {
        return Ok(None);
    }
    let kind = match event {
        None => None,
        Some(Value::String(name)) => Some(kind_from_name(name).ok_or_else(|| CodecError::UnknownEvent(clip(name)))?),
        Some(_) => return Err(CodecError::EventNotString),
    };
    let battery = match battery {
        None => None,
        Some(v) => Some(battery_percent(v).ok_or_else(|| CodecError::BadBattery(clip(&v.to_string())))?),
    };
    Ok(Some(Reading { kind, battery }))
}

fn kind_from_name(name: &str) -> Option<Kind> {
    if name == "battery" {
        return Some(Kind::BatteryReport);
    }
    (0x01..=0x08).filter_map(Event::from_type_byte).find(|e| e.name() == name).map(Kind::Event)
}

fn battery_percent(v: &Value) -> Option<u8> {
    if let Some(n) = v.as_u64() {
        return u8::try_from(n).ok().filter(|p| *p <= 100);
    }
    // Decoders built on JavaScript or protobuf Struct send every number as a float.
    let f = v.as_f64()?;
    (f.fract() == 0.0 && (0.0..=100.0).contains(&f)).then_some(f as u8)
}

/// Keeps untrusted text in error messages short.
pub(super) fn clip(s: &str) -> String {
    clip_to(s, 40)
}

pub(super) fn clip_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn bytes_alone() {
        assert_eq!(decode(&[0x01], None), Ok(vec![Event::Fired]));
        assert_eq!(decode(&[0x01, 87], None), Ok(vec![Event::Fired, Event::Battery { percent: 87 }]));
        assert_eq!(decode(&[0x03, 20], None), Ok(vec![Event::Heartbeat, Event::Battery { percent: 20 }]));
        assert_eq!(decode(&[0x08, 0], None), Ok(vec![Event::Button, Event::Battery { percent: 0 }]));
        let all: Vec<_> = (1..=8u8).map(|b| decode(&[b], None).unwrap()[0].name()).collect();
        assert_eq!(all, ["fired", "reset", "heartbeat", "motion", "door", "power", "water", "button"]);
    }

    #[test]
    fn bad_bytes() {
        assert_eq!(decode(&[], None), Err(CodecError::Empty));
        assert_eq!(decode(&[0x00], None), Err(CodecError::UnknownType(0)));
        assert_eq!(decode(&[0x09, 50], None), Err(CodecError::UnknownType(9)));
        assert_eq!(decode(&[0x01, 101], None), Err(CodecError::BatteryOver100(101)));
        assert_eq!(decode(&[0x01, 50, 0], None), Err(CodecError::TooLong(3)));
        assert_eq!(decode(&[0xFF], None).unwrap_err().to_string(), "byte 0: unknown event type 0xFF");
    }

    #[test]
    fn decoded_object_alone() {
        let v = json!({"event": "fired", "battery": 87});
        assert_eq!(decode(&[], Some(&v)), Ok(vec![Event::Fired, Event::Battery { percent: 87 }]));
        let v = json!({"event": "battery", "battery": 15.0});
        assert_eq!(decode(&[], Some(&v)), Ok(vec![Event::Battery { percent: 15 }]));
        let v = json!({"battery": 40});
        assert_eq!(decode(&[], Some(&v)), Ok(vec![Event::Battery { percent: 40 }]));
        let v = json!({"event": "button", "battery": null});
        assert_eq!(decode(&[], Some(&v)), Ok(vec![Event::Button]));
    }

    #[test]
    fn bad_decoded_objects() {
        let e = |v: Value| decode(&[], Some(&v)).unwrap_err();
        assert_eq!(e(json!({"event": "boom"})), CodecError::UnknownEvent("boom".into()));
        assert_eq!(e(json!({"event": 1})), CodecError::EventNotString);
        assert_eq!(e(json!({"event": "fired", "battery": 101})), CodecError::BadBattery("101".into()));
        assert_eq!(e(json!({"event": "fired", "battery": 50.5})), CodecError::BadBattery("50.5".into()));
        assert_eq!(e(json!({"event": "fired", "battery": -1})), CodecError::BadBattery("-1".into()));
        assert_eq!(e(json!({"event": "battery"})), CodecError::BatteryReportWithoutLevel);
        // Not our decoder's output, and no bytes either.
        assert_eq!(e(json!({"temperature": 21.5})), CodecError::Empty);
        assert_eq!(e(json!("fired")), CodecError::Empty);
    }

    #[test]
    fn bytes_and_decoded_object() {
        let v = json!({"event": "fired", "battery": 87});
        assert_eq!(decode(&[0x01, 87], Some(&v)), Ok(vec![Event::Fired, Event::Battery { percent: 87 }]));
        // Each side may fill in what the other leaves out.
        assert_eq!(decode(&[0x01], Some(&v)), Ok(vec![Event::Fired, Event::Battery { percent: 87 }]));
        let v = json!({"battery": 60});
        assert_eq!(decode(&[0x04], Some(&v)), Ok(vec![Event::Motion, Event::Battery { percent: 60 }]));
        let v = json!({"decoder": "other"});
        assert_eq!(decode(&[0x05], Some(&v)), Ok(vec![Event::Door]));

        let v = json!({"event": "reset"});
        let err = decode(&[0x01], Some(&v)).unwrap_err();
        assert_eq!(err.to_string(), "payload says fired but decoded object says reset");
        let v = json!({"event": "fired", "battery": 80});
        let err = decode(&[0x01, 87], Some(&v)).unwrap_err();
        assert_eq!(err, CodecError::BatteryMismatch { payload: 87, decoded: 80 });
        let v = json!({"event": "battery", "battery": 87});
        assert_eq!(
            decode(&[0x03, 87], Some(&v)),
            Err(CodecError::EventMismatch { payload: "heartbeat", decoded: "battery" })
        );
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            proptest::sample::select(EVENT_NAMES.to_vec()).prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec((prop_oneof![Just("event"), Just("battery"), Just("x")], inner), 0..3)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest! {
        // Whatever arrives, decode answers; what it accepts is well-formed.
        #[test]
        fn decode_is_total(
            payload in proptest::collection::vec(any::<u8>(), 0..5),
            decoded in proptest::option::of(any_json()),
        ) {
            if let Ok(events) = decode(&payload, decoded.as_ref()) {
                prop_assert!(!events.is_empty() && events.len() <= 2);
                let batteries: Vec<u8> = events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Battery { percent } => Some(*percent),
                        _ => None,
                    })
                    .collect();
                prop_assert!(batteries.len() <= 1);
                prop_assert!(batteries.iter().all(|p| *p <= 100));
            }
        }

        // Every valid byte payload decodes, and agrees with its own decoded object.
        #[test]
        fn valid_bytes_round_trip(t in 1u8..=8, battery in proptest::option::of(0u8..=100)) {
            let mut payload = vec![t];
            payload.extend(battery);
            let events = decode(&payload, None).unwrap();
            let mut obj = json!({"event": events[0].name()});
            if let Some(b) = battery {
                obj["battery"] = json!(b);
            }
            prop_assert_eq!(decode(&payload, Some(&obj)).unwrap(), events.clone());
            prop_assert_eq!(decode(&[], Some(&obj)).unwrap(), events);
        }
    }
}
