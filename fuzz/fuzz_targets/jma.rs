//! 気象庁防災情報XML: `evacuation::jma::parse` (telegrams), `decide::step` (what they do to an
//! alert) and `feed_links` (Atom feeds) on any text. Invariants: areas are distinct, each in a
//! 5-digit municipality, with levels 1–5; a 取消 has no areas; kinds are listed once; a
//! level-5 alert is lowered only by a clearance or cancellation; feed links are http(s) URLs.
#![no_main]

use std::collections::HashSet;

use kencho_core::evacuation::jma::decide::{self, Levels};
use kencho_core::evacuation::jma::kinds::{level_in_text, meaning, KindContext};
use kencho_core::evacuation::jma::{feed_links, parse, Hazard, InfoType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let xml = kencho_fuzz::text(data);
    if let Ok(t) = parse(&xml) {
        let _ = t.is_operational();
        if t.info_type == InfoType::Cancel {
            assert!(t.areas.is_empty(), "a 取消 with areas");
        }
        let mut codes = HashSet::new();
        for a in &t.areas {
            assert!(a.municipality.len() == 5 && a.municipality.bytes().all(|b| b.is_ascii_digit()), "{a:?}");
            assert!(a.code.starts_with(&a.municipality), "{a:?}");
            assert!(codes.insert(a.code.as_str()), "area {} twice", a.code);
            assert!(a.levels.values().all(|l| (1..=5).contains(l)), "{:?}", a.levels);
            let kinds: HashSet<String> = a.kinds.iter().map(|k| format!("{k:?}")).collect();
            assert_eq!(kinds.len(), a.kinds.len(), "a kind listed twice");
            let high = Levels::from([(Hazard::Other, 5)]);
            let step = decide::step(&high, &t, &a.municipality);
            let cleared = t.lifts_event || a.lowered.contains(&Hazard::Other);
            assert!(cleared || step.alert_level() == Some(5), "{step:?} without a clearance");
        }
    }
    if let Ok(links) = feed_links(&xml) {
        assert!(links.iter().all(|l| l.starts_with("http://") || l.starts_with("https://")));
    }
    for ctx in [KindContext::Warnings, KindContext::Landslide, KindContext::RiverFlood] {
        assert!(meaning(ctx, &xml, None).is_none_or(|m| (1..=5).contains(&m.level)));
    }
    let _ = level_in_text(&xml);
});
