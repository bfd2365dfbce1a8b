//! The small readers of untrusted text the other targets do not reach on their own: search
//! queries (`search::score` against the demo procedures), receipt numbers, status, role and
//! disposal names, DevEUIs, e-mail addresses, JMA/municipality codes and the text helpers.
//! Invariants: names and receipt numbers round-trip; a normalised DevEUI stays as it is.
#![no_main]

use std::sync::OnceLock;

use kencho_core::application::{Role, Status};
use kencho_core::evacuation::jma::{municipality_of_area, municipality_of_city_code, municipality_of_lg_code};
use kencho_core::forms::{is_email, parse_iso_date};
use kencho_core::iot::uplink::normalize_dev_eui;
use kencho_core::procedure::Disposal;
use kencho_core::receipt::{is_valid_receipt, receipt_number};
use kencho_core::{search, text, wareki};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String, u16, u32)| {
    let (a, b, year, id) = input;
    static DOCS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        let defs = kencho_fuzz::procedures();
        defs.iter().map(|d| (search::normalise(&d.title), search::normalise(&d.search_text()))).collect()
    });
    for (title, doc) in docs {
        let _ = search::score(title, doc, &a);
    }
    let _ = search::score(&search::normalise(&b), &search::normalise(&b), &a);

    let _ = is_valid_receipt(&a);
    if !a.is_empty() && !a.contains('-') {
        let year = i32::from(year % 9000) + 1000;
        let n = receipt_number(&a, year, i64::from(id));
        assert!(is_valid_receipt(&n), "{n} is not valid");
    }

    if let Some(s) = Status::parse(&a) {
        assert_eq!(s.as_str(), a);
    }
    if let Some(r) = Role::parse(&a) {
        assert_eq!(r.as_str(), a);
    }
    if let Some(d) = Disposal::parse(&a) {
        assert_eq!(d.as_str(), a);
    }
    if let Some(eui) = normalize_dev_eui(&a) {
        assert_eq!(normalize_dev_eui(&eui).as_deref(), Some(eui.as_str()));
    }
    let _ = is_email(&a);
    for m in [municipality_of_lg_code(&a), municipality_of_area(&b), municipality_of_city_code(&a)].into_iter().flatten() {
        assert_eq!(m.len(), 5, "{m}");
    }
    if let Some(d) = parse_iso_date(&a) {
        let _ = (wareki::format_both(d), wareki::format_en(d), wareki::format_ja(d));
    }
    let _ = (text::nfkc_trim(&a), text::to_hiragana(&a), text::is_kana(&a), text::digits_only(&a));
    let _ = text::has_control_chars(&a, year % 2 == 0);
});
