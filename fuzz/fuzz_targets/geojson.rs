//! GeoJSON hazard layers: 国土数値情報 A31a / A31 / A31b flood zones (`evacuation::flood`), A33
//! landslide zones and house-collapse zones (`evacuation::data`), then the point index the server builds from them. Invariants:
//! every polygon has closed rings of 4+ valid positions; a look-up never panics.
#![no_main]

use kencho_core::evacuation::data::{house_collapse_zones, landslide_zones};
use kencho_core::evacuation::flood::{flood_zones, FloodZones};
use kencho_core::evacuation::geo::{Point, Polygon, PolygonIndex};
use libfuzzer_sys::fuzz_target;

fn check(p: &Polygon) {
    for ring in std::iter::once(&p.outer).chain(&p.holes) {
        assert!(ring.len() >= 4 && ring.first() == ring.last(), "{ring:?}");
        assert!(ring.iter().all(Point::is_valid), "{ring:?}");
    }
}

/// Indexes the zones as the server does and looks up their vertices and a point off them
/// all, as a household's home would be.
fn index_and_probe<T>(zones: Vec<(Polygon, T)>) {
    let mut points = vec![Point::new(140.95, 37.64)];
    points.extend(zones.iter().flat_map(|(p, _)| p.outer.iter().copied()).take(64));
    let index = PolygonIndex::new(zones);
    assert!(points.len() == 1 || !index.is_empty());
    for p in &points {
        let _ = index.at(p).count();
    }
}

fuzz_target!(|data: &[u8]| {
    let text = kencho_fuzz::text(data);
    match flood_zones(&text) {
        Ok(FloodZones::Depth { zones, .. }) => {
            for (p, rank) in &zones {
                check(p);
                assert!((1..=6).contains(&rank.get()));
            }
            index_and_probe(zones);
        }
        Ok(FloodZones::Duration(zones)) => {
            for (p, rank) in &zones {
                check(p);
                assert!((1..=7).contains(&rank.get()));
            }
            index_and_probe(zones);
        }
        Err(_) => {}
    }
    if let Ok(zones) = landslide_zones(&text) {
        zones.iter().for_each(|(p, _)| check(p));
        index_and_probe(zones);
    }
    if let Ok(zones) = house_collapse_zones(&text) {
        zones.iter().for_each(check);
        index_and_probe(zones.into_iter().map(|p| (p, ())).collect());
    }
});
