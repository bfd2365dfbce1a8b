//! A tenant's 手数料条例 (`payment::schedule::Schedule::parse`), then what an accepted schedule
//! is used for: computing every item's fee with and without each 減免事由. Invariants: a fee
//! computed is within 0..=gross after its 減免, and net + reduction is the gross.
#![no_main]

use kencho_core::payment::schedule::Schedule;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = kencho_fuzz::text(data);
    let Ok(s) = Schedule::parse(&text) else { return };
    let grounds: Vec<Option<&str>> =
        std::iter::once(None).chain(s.grounds.iter().take(8).map(|g| Some(g.code.as_str()))).collect();
    for item in s.items.iter().take(8) {
        for units in [1, 2, 1000] {
            for g in &grounds {
                if let Ok(c) = s.compute(&item.code, units, 1000, *g) {
                    assert!(c.gross >= 0 && (0..=c.gross).contains(&c.reduction), "{c:?}");
                    assert_eq!(c.net + c.reduction, c.gross, "{c:?}");
                }
            }
        }
    }
});
