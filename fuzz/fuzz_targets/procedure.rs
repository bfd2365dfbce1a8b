//! Procedure definition files (TOML and JSON): `ProcedureDef::parse` never panics, and a
//! definition it accepts survives the JSON round trip the server stores it by (the server
//! keeps definitions as `serde_json` text and reads them back).
#![no_main]

use kencho_core::procedure::ProcedureDef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = kencho_fuzz::text(data);
    for file in ["p.toml", "p.json"] {
        let Ok(def) = ProcedureDef::parse(file, &text) else { continue };
        let json = serde_json::to_string(&def).expect("a definition serialises");
        let stored: ProcedureDef = serde_json::from_str(&json).expect("stored JSON reads back");
        assert_eq!(stored, def, "stored definition differs");
        let again = ProcedureDef::parse("p.json", &json).expect("its JSON is a valid definition file");
        assert_eq!(again, def, "JSON definition file differs");
        let _ = def.search_text();
    }
});
