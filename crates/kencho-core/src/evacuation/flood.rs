//! 国土数値情報 洪水浸水想定区域 (flood inundation zones) as GeoJSON. Every product publishes each
//! scenario as a file of its own, so a file is one layer: the depth ranks of 計画規模 or of 想定最大規模,
//! or the ranks of 浸水継続時間. Which one is read from the attribute that carries the rank.
//!
//! From 国土数値情報ダウンロードサイト (nlftp.mlit.go.jp/ksj/gml/datalist/):
//! - A31a 洪水浸水想定区域データ（河川単位）, 2022年度版 onward (KsjTmplt-A31a-2024.html): five
//!   categories, 計画規模 (A31a_1xx), 想定最大規模 (A31a_2xx), 浸水継続時間 (A31a_3xx) and the two
//!   家屋倒壊等氾濫想定区域 (氾濫流, 河岸浸食: A31a_4xx). In each, _x01 河川番号, _x02 河川名,
//!   _x03 河川管理者番号 (作成種別コード), _x04 河川管理者, _x05 the rank (浸水深ランクコード;
//!   浸水継続時間ランクコード in 3xx; 危険区域区分コード in 4xx), _x06 指定年月日, _x07 告示番号,
//!   _x08 指定の前提となる降雨. Only _x05 is read; the rest describes the river.
//! - A31, the 2019–2021年度 河川単位 files and the 2022 1次メッシュ単位 (第4.0版): the rank alone,
//!   A31_101 計画規模, A31_201 想定最大規模, A31_301 浸水継続時間, A31_401 危険区域区分.
//! - A31b 洪水浸水想定区域データ（1次メッシュ単位） (KsjTmplt-A31b-2024.html): A31b_101, A31b_201,
//!   A31b_301, A31b_401 with the same meanings.
//! - Code lists: 浸水深ランクコード (codelist/water_depth_code.html) 1 0–0.5 m, 2 0.5–3.0 m,
//!   3 3.0–5.0 m, 4 5.0–10.0 m, 5 10.0–20.0 m, 6 20.0 m以上; 浸水継続時間ランクコード
//!   (codelist/flood_duration_code.html) 1 12時間未満 … 7 672時間以上（4週間以上）.
//!
//! The 2012年度 product (A31-12, `A31_001`) is the former 浸水想定区域 of the pre-2015 水防法 with other
//! depth classes; the download page warns it is a different system, and it is refused by name.

use serde_json::Value;

use super::data::{each_feature, feature_err, feature_polygons, int_property, property_names, shown, LoadError};
use super::geo::Polygon;
use super::{DepthRank, DurationRank, FloodScale, FloodScenario};
use crate::check::Finding;

/// The attribute holding the rank, per product and scenario.
const RANK_ATTRIBUTES: [(&str, FloodScenario); 9] = [
    ("A31a_105", FloodScenario::Planned),
    ("A31a_205", FloodScenario::Maximum),
    ("A31a_305", FloodScenario::Duration),
    ("A31_101", FloodScenario::Planned),
    ("A31_201", FloodScenario::Maximum),
    ("A31_301", FloodScenario::Duration),
    ("A31b_101", FloodScenario::Planned),
    ("A31b_201", FloodScenario::Maximum),
    ("A31b_301", FloodScenario::Duration),
];

/// 危険区域区分: the rank attribute of the 家屋倒壊等氾濫想定区域 category.
pub(crate) const HOUSE_COLLAPSE_CLASS: [&str; 3] = ["A31a_405", "A31_401", "A31b_401"];

/// The scenario's name as the products write it.
pub fn scenario_name(s: FloodScenario) -> &'static str {
    match s {
        FloodScenario::Planned => "計画規模",
        FloodScenario::Maximum => "想定最大規模",
        FloodScenario::Duration => "浸水継続時間",
    }
}

/// One parsed flood layer.
#[derive(Debug, Clone, PartialEq)]
pub enum FloodZones {
    Depth { scale: FloodScale, zones: Vec<(Polygon, DepthRank)> },
    Duration(Vec<(Polygon, DurationRank)>),
}

impl FloodZones {
    pub fn scenario(&self) -> FloodScenario {
        match self {
            FloodZones::Depth { scale: FloodScale::Planned, .. } => FloodScenario::Planned,
            FloodZones::Depth { scale: FloodScale::Maximum, .. } => FloodScenario::Maximum,
            FloodZones::Duration(_) => FloodScenario::Duration,
        }
    }

    /// Polygons in the layer.
    pub fn len(&self) -> usize {
        match self {
            FloodZones::Depth { zones, .. } => zones.len(),
            FloodZones::Duration(zones) => zones.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn present(f: &Value, key: &str) -> bool {
    f.get("properties").and_then(|p| p.get(key)).is_some_and(|v| !v.is_null())
}

/// The first flood rank attribute a feature carries, with its scenario.
pub(crate) fn rank_attribute_of(f: &Value) -> Option<(&'static str, FloodScenario)> {
    RANK_ATTRIBUTES.iter().copied().find(|(a, _)| present(f, a))
}

/// What to say about a feature that has no flood rank: what it has instead, and what was expected.
fn no_rank(f: &Value) -> Finding {
    if let Some(attr) = HOUSE_COLLAPSE_CLASS.iter().find(|a| present(f, a)) {
        return Finding::new("flood_is_house_collapse", "").with("attr", attr);
    }
    if present(f, "A31_001") {
        return Finding::new("flood_2012_product", "");
    }
    match property_names(f) {
        Some(names) => Finding::new("flood_no_rank", "").with("properties", names),
        None => Finding::new("flood_no_rank_no_properties", ""),
    }
}

/// Parses one flood layer. Every feature must carry the same rank attribute (one scenario of one
/// product per file); features are numbered from 1.
pub fn flood_zones(text: &str) -> Result<FloodZones, LoadError> {
    let mut scheme: Option<(usize, &'static str, FloodScenario)> = None;
    let (mut depth, mut duration) = (Vec::new(), Vec::new());
    each_feature(text, |n, f| {
        let found: Vec<(&str, FloodScenario)> =
            RANK_ATTRIBUTES.iter().copied().filter(|(a, _)| present(f, a)).collect();
        let (attr, scenario) = match found.as_slice() {
            [one] => *one,
            [] => return Err(feature_err(n, no_rank(f))),
            [(a, sa), (b, sb), ..] => {
                let problem = Finding::new("flood_two_scenarios", "")
                    .with("attr", a)
                    .with("scenario", scenario_name(*sa))
                    .with("other", b)
                    .with("other_scenario", scenario_name(*sb));
                return Err(feature_err(n, problem));
            }
        };
        match scheme {
            None => scheme = Some((n, attr, scenario)),
            Some((first, a0, s0)) if a0 != attr => {
                let problem = Finding::new("flood_mixed_scenarios", "")
                    .with("attr", attr)
                    .with("scenario", scenario_name(scenario))
                    .with("first", first)
                    .with("other", a0)
                    .with("other_scenario", scenario_name(s0));
                return Err(feature_err(n, problem));
            }
            Some(_) => {}
        }
        let shapes = feature_polygons(n, f)?;
        let value = int_property(f, attr).and_then(|r| u8::try_from(r).ok());
        let bad_rank = |problem: Finding| {
            feature_err(n, problem.with("attr", attr).with("found", shown(f, attr).unwrap_or_default()))
        };
        if scenario.scale().is_some() {
            let rank = value.and_then(DepthRank::new).ok_or_else(|| bad_rank(Finding::new("flood_depth_rank", "")))?;
            depth.extend(shapes.into_iter().map(|p| (p, rank)));
        } else {
            let rank =
                value.and_then(DurationRank::new).ok_or_else(|| bad_rank(Finding::new("flood_duration_rank", "")))?;
            duration.extend(shapes.into_iter().map(|p| (p, rank)));
        }
        Ok(())
    })?;
    let (_, _, scenario) = scheme.ok_or(LoadError::Empty)?;
    Ok(match scenario.scale() {
        Some(scale) => FloodZones::Depth { scale, zones: depth },
        None => FloodZones::Duration(duration),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evacuation::geo::Point;
    use proptest::prelude::*;

    /// An A31a 想定最大規模 file as the 2024年度 product publishes it (A31a_201 … A31a_208).
    const A31A_MAX: &str = r#"{"type":"FeatureCollection","name":"A31a-20-24_07_8303030555","features":[
      {"type":"Feature","properties":{"A31a_201":"8303030555","A31a_202":"架空川","A31a_203":"07","A31a_204":"福島県","A31a_205":3,"A31a_206":"2020-05-26","A31a_207":"福島県告示第500号","A31a_208":"架空川流域の12時間総雨量 620mm"},
       "geometry":{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.1],[140.0,37.0]]]}},
      {"type":"Feature","properties":{"A31a_201":"8303030555","A31a_202":"架空川","A31a_203":"07","A31a_204":"福島県","A31a_205":"5","A31a_206":"2020-05-26","A31a_207":"福島県告示第500号","A31a_208":"架空川流域の12時間総雨量 620mm"},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[141.0,37.0],[141.1,37.0],[141.1,37.1],[141.0,37.0]]],[[[142.0,37.0],[142.1,37.0],[142.1,37.1],[142.0,37.0]]]]}}
    ]}"#;

    fn depth(z: &FloodZones) -> (FloodScale, Vec<u8>) {
        match z {
            FloodZones::Depth { scale, zones } => (*scale, zones.iter().map(|(_, r)| r.get()).collect()),
            FloodZones::Duration(_) => panic!("a depth layer"),
        }
    }

    #[test]
    fn each_scenario_of_each_product() {
        let z = flood_zones(A31A_MAX).unwrap();
        assert_eq!(z.scenario(), FloodScenario::Maximum);
        assert_eq!(depth(&z), (FloodScale::Maximum, vec![3, 5, 5]), "a Polygon and a MultiPolygon of two");
        let planned = A31A_MAX.replace("A31a_2", "A31a_1");
        assert_eq!(depth(&flood_zones(&planned).unwrap()), (FloodScale::Planned, vec![3, 5, 5]));
        let duration = A31A_MAX.replace("A31a_2", "A31a_3").replace("\"A31a_305\":\"5\"", "\"A31a_305\":\"7\"");
        match flood_zones(&duration).unwrap() {
            FloodZones::Duration(zones) => {
                assert_eq!(zones.iter().map(|(_, r)| r.get()).collect::<Vec<_>>(), [3, 7, 7]);
                assert!(zones[0].0.contains(&Point::new(140.05, 37.05)));
            }
            other => panic!("{other:?}"),
        }
        // The 2019–2022 A31 files carry the rank alone; the mesh product A31b likewise.
        let a31 = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"A31_201":2},
          "geometry":{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.0]]]}}]}"#;
        assert_eq!(depth(&flood_zones(a31).unwrap()), (FloodScale::Maximum, vec![2]));
        assert_eq!(depth(&flood_zones(&a31.replace("A31_201", "A31_101")).unwrap()), (FloodScale::Planned, vec![2]));
        assert_eq!(flood_zones(&a31.replace("A31_201", "A31_301")).unwrap().scenario(), FloodScenario::Duration);
        assert_eq!(flood_zones(&a31.replace("A31_201", "A31b_201")).unwrap().scenario(), FloodScenario::Maximum);
    }

    #[test]
    fn findings_name_what_was_found_and_what_was_expected() {
        let err = |t: &str| flood_zones(t).unwrap_err();
        let at = |feature: usize, problem: Finding| LoadError::Feature { feature, problem };
        let rank = |code, attr, found| Finding::new(code, "").with("attr", attr).with("found", found);
        assert_eq!(
            err(&A31A_MAX.replace("\"A31a_205\":\"5\"", "\"A31a_205\":9")),
            at(2, rank("flood_depth_rank", "A31a_205", "9"))
        );
        assert_eq!(
            err(&A31A_MAX.replace("A31a_2", "A31a_3").replace("\"A31a_305\":3", "\"A31a_305\":\"8\"")),
            at(1, rank("flood_duration_rank", "A31a_305", "\"8\""))
        );
        let mixed = Finding::new("flood_mixed_scenarios", "")
            .with("attr", "A31a_105")
            .with("scenario", "計画規模")
            .with("first", 1)
            .with("other", "A31a_205")
            .with("other_scenario", "想定最大規模");
        assert_eq!(err(&A31A_MAX.replacen("A31a_205\":\"5", "A31a_105\":\"5", 1)), at(2, mixed));
        let two = Finding::new("flood_two_scenarios", "")
            .with("attr", "A31a_205")
            .with("scenario", "想定最大規模")
            .with("other", "A31a_305")
            .with("other_scenario", "浸水継続時間");
        assert_eq!(err(&A31A_MAX.replacen("\"A31a_205\":3", "\"A31a_205\":3,\"A31a_305\":2", 1)), at(1, two));
        assert_eq!(
            err(&A31A_MAX.replace("A31a_2", "A31a_4")),
            at(1, Finding::new("flood_is_house_collapse", "").with("attr", "A31a_405"))
        );
        assert_eq!(err(&A31A_MAX.replace("A31a_205", "A31_001")), at(1, Finding::new("flood_2012_product", "")));
        let names = "A31a_201, A31a_202, A31a_203, A31a_204, A31a_206, A31a_207, A31a_208";
        assert_eq!(
            err(&A31A_MAX.replace("\"A31a_205\":3,", "")),
            at(1, Finding::new("flood_no_rank", "").with("properties", names))
        );
        let bare = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":null}]}"#;
        assert_eq!(err(bare), at(1, Finding::new("flood_no_rank_no_properties", "")));
        assert_eq!(
            err(&A31A_MAX.replace("[140.0,37.1],[140.0,37.0]]", "[140.0,37.1]]")),
            at(1, Finding::new("geojson_ring_not_closed", ""))
        );
        assert_eq!(flood_zones("{}").unwrap_err(), LoadError::NotFeatureCollection);
        assert_eq!(flood_zones(r#"{"type":"FeatureCollection","features":[]}"#).unwrap_err(), LoadError::Empty);
    }

    proptest! {
        // Whatever the text, an answer and never a panic.
        #[test]
        fn total(s in ".{0,300}") {
            let _ = flood_zones(&s);
        }

        // Any rank of any scenario of any product reads back as that scenario and rank; values
        // outside the code list are refused.
        #[test]
        fn ranks_read_back(which in 0usize..9, rank in 0u8..=9, quoted in any::<bool>()) {
            let (attr, scenario) = RANK_ATTRIBUTES[which];
            let v = if quoted { format!("\"{rank}\"") } else { rank.to_string() };
            let text = format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"{attr}":{v}}},
              "geometry":{{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.0]]]}}}}]}}"#);
            let top = if scenario == FloodScenario::Duration { 7 } else { 6 };
            match flood_zones(&text) {
                Ok(z) => {
                    prop_assert!((1..=top).contains(&rank));
                    prop_assert_eq!(z.scenario(), scenario);
                    let got = match &z {
                        FloodZones::Depth { zones, .. } => zones[0].1.get(),
                        FloodZones::Duration(zones) => zones[0].1.get(),
                    };
                    prop_assert_eq!(got, rank);
                }
                Err(e) => {
                    prop_assert!(!(1..=top).contains(&rank));
                    let LoadError::Feature { problem, .. } = e else { panic!("{e:?}") };
                    prop_assert!(problem.args.contains(&("attr", attr.to_string())), "{:?}", problem);
                }
            }
        }
    }
}
