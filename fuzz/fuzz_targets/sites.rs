//! The 指定緊急避難場所 CSV (`evacuation::data::sites`), then a household's plan over the sites it
//! gave, as the plan pages compute it. Invariants: site ids are distinct, names non-empty,
//! positions valid; a plan offers at most two sites, each suitable for the household's hazards.
#![no_main]

use std::collections::HashSet;

use kencho_core::evacuation::geo::Point;
use kencho_core::evacuation::plan::{resolve, step_at, Choices};
use kencho_core::evacuation::{data, DepthRank, Hazards, Household, Landslide, Member, Needs, Phenomenon};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = kencho_fuzz::text(data);
    let Ok(sites) = data::sites(&text) else { return };
    let mut ids = HashSet::new();
    for s in &sites {
        assert!(ids.insert(s.id.as_str()), "site id {} twice", s.id);
        assert!(!s.name.trim().is_empty() && s.at.is_valid(), "{s:?}");
    }
    let home = sites.first().map_or(Point::new(140.95, 37.64), |s| s.at);
    let member = |needs| Member { name: "x".into(), needs };
    let h = Household {
        home,
        living_floor: 1,
        members: vec![member(Needs::default()), member(Needs { wheelchair: true, ..Needs::default() })],
        has_car: true,
        supply_days: 0,
    };
    let flooded = Hazards {
        flood: DepthRank::new(3),
        landslide: Some(Landslide { phenomenon: Phenomenon::DebrisFlow, red: true, designated: false }),
        house_collapse: true,
        ..Hazards::default()
    };
    for hazards in [Hazards::default(), flooded] {
        let choices = Choices { site_id: sites.last().map(|s| s.id.clone()), by_car: true, ..Choices::default() };
        let r = resolve(&h, &hazards, &sites, &choices);
        assert!(r.rules.sites.len() <= 2 && r.mine.sites.len() <= 2);
        assert!(r.rules.sites.iter().all(|c| c.site.suits(&hazards.kinds())));
        for level in 1..=5 {
            let _ = step_at(&r.mine, level);
        }
    }
});
