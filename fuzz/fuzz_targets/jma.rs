//! 気象庁防災情報XML: `evacuation::jma::parse` (telegrams) and `feed_links` (Atom feeds) on any
//! text. Invariants: areas are distinct 7-digit 市町村等 codes with levels 1–5, a 取消 has no
//! areas, kinds are listed once, and feed links are http(s) URLs.
#![no_main]

use std::collections::HashSet;

use kencho_core::evacuation::jma::{feed_links, kind_level, municipality_matches, parse, InfoType};
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
            assert!(a.code.len() == 7 && a.code.bytes().all(|b| b.is_ascii_digit()), "{:?}", a.code);
            assert!(codes.insert(a.code.as_str()), "area {} twice", a.code);
            assert!(a.level.is_none_or(|l| (1..=5).contains(&l)), "{:?}", a.level);
            let kinds: HashSet<&String> = a.kinds.iter().collect();
            assert_eq!(kinds.len(), a.kinds.len(), "a kind listed twice");
            for k in &a.kinds {
                assert!(kind_level(k).is_none_or(|l| (1..=5).contains(&l)));
            }
            let _ = municipality_matches(&a.code, "072125");
        }
    }
    if let Ok(links) = feed_links(&xml) {
        assert!(links.iter().all(|l| l.starts_with("http://") || l.starts_with("https://")));
    }
    let _ = kind_level(&xml);
});
