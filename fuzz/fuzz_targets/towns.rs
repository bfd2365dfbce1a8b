//! The Address Base Registry 町字 CSV as kencho stores it (`evacuation::abr::parse`), the pair
//! mt_town + mt_town_pos (`abr::from_files`, the input split at its first blank line), and the
//! address matcher,
//! which takes a resident's free text: the input is matched, first line as the postcode,
//! against the demo towns and against the towns it parsed to (by their own names). Invariants:
//! town ids are distinct `lg_code + machiaza_id` (13 digits), postcodes 7 digits, points valid.
#![no_main]

use std::collections::HashSet;

use kencho_core::evacuation::abr::{from_files, parse, CsvFile};
use kencho_core::evacuation::towns::{match_address, nearest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = kencho_fuzz::text(data);
    let Ok(today) = time::Date::from_calendar_date(2026, time::Month::December, 1) else { return };
    let postcode = text.lines().next();
    let _ = match_address(kencho_fuzz::towns(), today, postcode, &text);
    let _ = match_address(kencho_fuzz::towns(), today, None, &text);
    if let Some((a, b)) = text.split_once("\n\n") {
        let _ = from_files(&[CsvFile { name: "a", text: a }, CsvFile { name: "b", text: b }]);
    }
    let Ok(towns) = parse(&text) else { return };
    let mut ids = HashSet::new();
    for t in &towns {
        assert!(t.id.len() == 13 && t.id.bytes().all(|b| b.is_ascii_digit()) && t.id.starts_with(&t.lg_code));
        assert!(ids.insert(t.id.as_str()), "town {} twice", t.id);
        assert!(t.postcode.as_ref().is_none_or(|p| p.len() == 7 && p.bytes().all(|b| b.is_ascii_digit())));
        assert!(t.at.is_valid());
    }
    for t in towns.iter().take(16) {
        let _ = match_address(&towns, today, t.postcode.as_deref(), &t.full_name());
        let _ = match_address(&towns, today, None, &format!("{}{}1-2-3", t.city, t.oaza));
        let _ = nearest(&towns, today, &t.at);
    }
});
