//! LoRaWAN uplinks: `iot::uplink::parse` with the MQTT topic on the input's first line (an
//! empty first line: HTTP, no topic), then `iot::codec::decode` of what it read, as ingestion
//! does. The body is also tried under a ChirpStack, a The Things Stack and a plain topic and
//! without one, so one input reaches every format. Invariants: a device EUI comes out as 16
//! uppercase hex digits; decoded events are one or two, a battery level at most 100 and last.
#![no_main]

use kencho_core::iot::codec::{decode, Event};
use kencho_core::iot::uplink::{normalize_dev_eui, parse, topic_kind, Uplink};
use libfuzzer_sys::fuzz_target;

const TOPICS: [Option<&str>; 4] = [
    None,
    Some("application/5d3b1f0e-8c2a-4e7b-9f61-2a7c4d9e0b13/device/70b3d57ed0004a21/event/up"),
    Some("v3/aizu-wana@kencho-demo/devices/wana-kitakata-07/up"),
    Some("kencho/gw7/up"),
];

fn check(up: &Uplink) {
    assert_eq!(up.dev_eui.len(), 16, "{:?}", up.dev_eui);
    assert!(up.dev_eui.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)), "{:?}", up.dev_eui);
    assert_eq!(normalize_dev_eui(&up.dev_eui).as_deref(), Some(up.dev_eui.as_str()));
    if let Ok(events) = decode(&up.payload, up.decoded.as_ref()) {
        assert!((1..=2).contains(&events.len()), "{events:?}");
        for (i, e) in events.iter().enumerate() {
            if let Event::Battery { percent } = e {
                assert!(*percent <= 100 && i == events.len() - 1, "{events:?}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (first, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let topic = String::from_utf8_lossy(first);
    let given = (!topic.is_empty()).then_some(topic.as_ref());
    if let Some(t) = given {
        let _ = topic_kind(t);
        let _ = normalize_dev_eui(t);
    }
    for t in std::iter::once(given).chain(TOPICS) {
        if let Ok(up) = parse(t, body) {
            check(&up);
        }
    }
    // The codec on its own: the first bytes as a payload.
    let _ = decode(&body[..body.len().min(3)], None);
});
