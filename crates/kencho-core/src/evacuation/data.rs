//! Parsers for the public data the evacuation rules read. Each file is checked whole: the first
//! bad feature or row is reported with its number, and nothing of a bad file is used.
//!
//! - Flood zones: 国土数値情報 A31a GeoJSON, depth rank (1–6) in property `A31a_105`.
//! - Landslide zones: 国土数値情報 A33 GeoJSON, phenomenon in `A33_001` (1 急傾斜地の崩壊,
//!   2 土石流, 3 地すべり) and zone in `A33_002` (1 警戒区域 yellow, 2 特別警戒区域 red).
//! - House-collapse flood zones (家屋倒壊等氾濫想定区域): GeoJSON published beside A31a as a layer
//!   of its own; only the geometry matters, properties are ignored.
//! - Designated emergency sites: the 指定緊急避難場所 CSV (name, address, one 0/1 column per
//!   hazard, latitude, longitude), matched by header names.

use serde_json::Value;

use super::geo::{Point, Polygon};
use super::{DepthRank, Hazard, Landslide, Site};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not a GeoJSON FeatureCollection")]
    NotFeatureCollection,
    #[error("feature {feature}: {message}")]
    Feature { feature: usize, message: String },
    #[error("line {line}: {message}")]
    Row { line: usize, message: String },
    #[error("missing column \"{0}\"")]
    MissingColumn(String),
}

fn feature_err(feature: usize, message: impl Into<String>) -> LoadError {
    LoadError::Feature { feature, message: message.into() }
}

/// The polygons of a GeoJSON geometry (Polygon or MultiPolygon).
fn polygons(geometry: &Value) -> Result<Vec<Polygon>, String> {
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = geometry.get("coordinates").ok_or("geometry has no coordinates")?;
    let ring = |v: &Value| -> Result<Vec<Point>, String> {
        v.as_array()
            .ok_or("a ring must be an array")?
            .iter()
            .map(|pos| {
                let p = pos.as_array().filter(|a| a.len() >= 2).ok_or("a position needs [longitude, latitude]")?;
                match (p[0].as_f64(), p[1].as_f64()) {
                    (Some(lon), Some(lat)) => Ok(Point::new(lon, lat)),
                    _ => Err("a coordinate is not a number".to_string()),
                }
            })
            .collect()
    };
    let polygon = |v: &Value| -> Result<Polygon, String> {
        let rings = v.as_array().filter(|r| !r.is_empty()).ok_or("a polygon needs at least its outer ring")?;
        let outer = ring(&rings[0])?;
        let holes = rings[1..].iter().map(ring).collect::<Result<Vec<_>, _>>()?;
        Polygon::new(outer, holes).map_err(|e| e.to_string())
    };
    match kind {
        "Polygon" => Ok(vec![polygon(coords)?]),
        "MultiPolygon" => {
            coords.as_array().ok_or("MultiPolygon coordinates must be an array")?.iter().map(polygon).collect()
        }
        other => Err(format!("geometry type \"{other}\" is not Polygon or MultiPolygon")),
    }
}

/// The top level of a GeoJSON file, with each feature left as unparsed text: a layer of a
/// whole prefecture is hundreds of MB, and building one JSON tree for all of it would take
/// many times that in memory. Features are parsed one at a time instead.
#[derive(serde::Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow)]
    features: Option<Vec<&'a serde_json::value::RawValue>>,
}

fn features(text: &str) -> Result<Vec<&serde_json::value::RawValue>, LoadError> {
    // Valid JSON of the wrong shape (an array, `features` not a list) is "not a collection".
    let c: Collection = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => LoadError::NotFeatureCollection,
        _ => LoadError::Json(e.to_string()),
    })?;
    match (c.kind.as_deref(), c.features) {
        (Some("FeatureCollection"), Some(f)) => Ok(f),
        _ => Err(LoadError::NotFeatureCollection),
    }
}

/// Calls `each` with every feature, numbered from 1, parsed on its own.
fn each_feature(text: &str, mut each: impl FnMut(usize, &Value) -> Result<(), LoadError>) -> Result<(), LoadError> {
    for (i, raw) in features(text)?.iter().enumerate() {
        let f: Value = serde_json::from_str(raw.get()).map_err(|e| feature_err(i + 1, e.to_string()))?;
        if !f.is_object() {
            return Err(feature_err(i + 1, "a feature must be an object"));
        }
        each(i + 1, &f)?;
    }
    Ok(())
}

fn int_property(f: &Value, key: &str) -> Option<i64> {
    match f.get("properties")?.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A31a flood zones: (polygon, depth rank) for every polygon. Features are numbered from 1.
pub fn flood_zones(text: &str) -> Result<Vec<(Polygon, DepthRank)>, LoadError> {
    let mut out = Vec::new();
    each_feature(text, |n, f| {
        let rank = int_property(f, "A31a_105")
            .and_then(|r| u8::try_from(r).ok())
            .and_then(DepthRank::new)
            .ok_or_else(|| feature_err(n, "A31a_105 (depth rank) must be 1 to 6"))?;
        let geometry = f.get("geometry").ok_or_else(|| feature_err(n, "no geometry"))?;
        for p in polygons(geometry).map_err(|m| feature_err(n, m))? {
            out.push((p, rank));
        }
        Ok(())
    })?;
    Ok(out)
}

/// A33 landslide zones.
pub fn landslide_zones(text: &str) -> Result<Vec<(Polygon, Landslide)>, LoadError> {
    let mut out = Vec::new();
    each_feature(text, |n, f| {
        let red = match int_property(f, "A33_002") {
            Some(1) => false,
            Some(2) => true,
            _ => return Err(feature_err(n, "A33_002 (zone) must be 1 (警戒区域) or 2 (特別警戒区域)")),
        };
        let kind = match int_property(f, "A33_001") {
            Some(1) => Landslide::SteepSlope { red },
            Some(2) => Landslide::DebrisFlow { red },
            Some(3) => Landslide::Landslip { red },
            _ => return Err(feature_err(n, "A33_001 (phenomenon) must be 1, 2 or 3")),
        };
        let geometry = f.get("geometry").ok_or_else(|| feature_err(n, "no geometry"))?;
        for p in polygons(geometry).map_err(|m| feature_err(n, m))? {
            out.push((p, kind));
        }
        Ok(())
    })?;
    Ok(out)
}

/// 家屋倒壊等氾濫想定区域 polygons. Properties differ between publishers and say nothing the rules
/// use (being inside is what counts), so they may be absent.
pub fn house_collapse_zones(text: &str) -> Result<Vec<Polygon>, LoadError> {
    let mut out = Vec::new();
    each_feature(text, |n, f| {
        let geometry = f.get("geometry").ok_or_else(|| feature_err(n, "no geometry"))?;
        out.extend(polygons(geometry).map_err(|m| feature_err(n, m))?);
        Ok(())
    })?;
    Ok(out)
}

/// The hazard columns of the designated-sites CSV, by header (several spellings are in use).
const HAZARD_COLUMNS: [(Hazard, &[&str]); 8] = [
    (Hazard::Flood, &["洪水"]),
    (Hazard::Landslide, &["崖崩れ、土石流及び地滑り", "崖崩れ・土石流及び地滑り", "土砂災害"]),
    (Hazard::StormSurge, &["高潮"]),
    (Hazard::Earthquake, &["地震"]),
    (Hazard::Tsunami, &["津波"]),
    (Hazard::LargeFire, &["大規模な火事"]),
    (Hazard::InlandFlooding, &["内水氾濫"]),
    (Hazard::Volcano, &["火山現象"]),
];

/// Parses the 指定緊急避難場所 CSV (UTF-8, header row). Lines are numbered as in the file.
pub fn sites(text: &str) -> Result<Vec<Site>, LoadError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| LoadError::Row { line: 1, message: e.to_string() })?.clone();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let need = |names: &[&str]| col(names).ok_or_else(|| LoadError::MissingColumn(names[0].to_string()));
    let name_col = need(&["施設・場所名", "名称", "施設名"])?;
    // 共通ID (the national common id) is stable across versions of the file; NO is a row number.
    let id_col = col(&["共通ID"]).or_else(|| col(&["NO", "No", "番号"]));
    let lat_col = need(&["緯度"])?;
    let lon_col = need(&["経度"])?;
    let hazard_cols: Vec<(Hazard, usize)> =
        HAZARD_COLUMNS.iter().map(|(h, names)| need(names).map(|c| (*h, c))).collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| LoadError::Row { line, message: e.to_string() })?;
        let err = |m: &str| LoadError::Row { line, message: m.to_string() };
        let name =
            rec.get(name_col).map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| err("the site has no name"))?;
        let num = |c: usize| rec.get(c).and_then(|s| s.trim().parse::<f64>().ok());
        let at = match (num(lon_col), num(lat_col)) {
            (Some(lon), Some(lat)) => Point::new(lon, lat),
            _ => return Err(err("latitude and longitude must be numbers")),
        };
        if !at.is_valid() {
            return Err(err("latitude or longitude out of range"));
        }
        let mut suitable_for = Vec::new();
        for (h, c) in &hazard_cols {
            match rec.get(*c).map(str::trim) {
                Some("1") => suitable_for.push(*h),
                Some("0") | Some("") => {}
                _ => return Err(err("hazard columns must be 0 or 1")),
            }
        }
        let id = id_col
            .and_then(|c| rec.get(c))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("line-{line}"));
        // A saved plan names its chosen site by id: two sites with one id would be ambiguous.
        if out.iter().any(|s: &Site| s.id == id) {
            return Err(err("the site id is used twice"));
        }
        out.push(Site { id, name: name.to_string(), at, suitable_for });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FLOOD: &str = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"A31a_101":"0700000001","A31a_102":"架空川","A31a_105":2},
       "geometry":{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.1],[140.0,37.0]]]}},
      {"type":"Feature","properties":{"A31a_105":"4"},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[141.0,37.0],[141.1,37.0],[141.1,37.1],[141.0,37.0]]],[[[142.0,37.0],[142.1,37.0],[142.1,37.1],[142.0,37.0]]]]}}
    ]}"#;

    #[test]
    fn flood_layer() {
        let zones = flood_zones(FLOOD).unwrap();
        assert_eq!(zones.len(), 3);
        assert_eq!(zones[0].1.get(), 2);
        assert_eq!(zones[2].1.get(), 4);
        let bad = FLOOD.replace("\"A31a_105\":\"4\"", "\"A31a_105\":\"9\"");
        assert_eq!(flood_zones(&bad).unwrap_err().to_string(), "feature 2: A31a_105 (depth rank) must be 1 to 6");
        let open = FLOOD.replace("[140.0,37.1],[140.0,37.0]]", "[140.0,37.1]]");
        assert_eq!(
            flood_zones(&open).unwrap_err().to_string(),
            "feature 1: the ring is not closed (first and last positions differ)"
        );
        assert_eq!(flood_zones("{}").unwrap_err(), LoadError::NotFeatureCollection);
    }

    #[test]
    fn landslide_layer() {
        let text = FLOOD
            .replace("\"A31a_105\":2", "\"A33_001\":2,\"A33_002\":2")
            .replace("\"A31a_105\":\"4\"", "\"A33_001\":\"1\",\"A33_002\":\"1\"");
        let zones = landslide_zones(&text).unwrap();
        assert_eq!(zones[0].1, Landslide::DebrisFlow { red: true });
        assert_eq!(zones[1].1, Landslide::SteepSlope { red: false });
    }

    #[test]
    fn house_collapse_layer() {
        let zones = house_collapse_zones(FLOOD).unwrap();
        assert_eq!(zones.len(), 3, "one Polygon and a MultiPolygon of two");
        let bare = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":null,
          "geometry":{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.0]]]}}]}"#;
        assert!(house_collapse_zones(bare).unwrap()[0].contains(&Point::new(140.08, 37.02)));
        let point = FLOOD.replace("\"type\":\"MultiPolygon\"", "\"type\":\"Point\"");
        assert_eq!(
            house_collapse_zones(&point).unwrap_err().to_string(),
            "feature 2: geometry type \"Point\" is not Polygon or MultiPolygon"
        );
        let open = FLOOD.replace("[140.0,37.1],[140.0,37.0]]", "[140.0,37.1]]");
        assert_eq!(
            house_collapse_zones(&open).unwrap_err().to_string(),
            "feature 1: the ring is not closed (first and last positions differ)"
        );
        let no_geometry = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{}}]}"#;
        assert_eq!(house_collapse_zones(no_geometry).unwrap_err().to_string(), "feature 1: no geometry");
        assert_eq!(house_collapse_zones("[]").unwrap_err(), LoadError::NotFeatureCollection);
    }

    const SITES: &str =
        "NO,施設・場所名,住所,洪水,崖崩れ、土石流及び地滑り,高潮,地震,津波,大規模な火事,内水氾濫,火山現象,緯度,経度\n\
        1,架空第一小学校,架空市本町1,1,1,0,1,0,1,1,0,37.75,140.47\n\
        2,架空河川敷公園,架空市川原2,0,0,0,1,0,1,0,0,37.76,140.48\n";

    #[test]
    fn site_table() {
        let s = sites(SITES).unwrap();
        assert_eq!(s.len(), 2);
        assert!(s[0].suitable_for.contains(&Hazard::Flood) && s[0].suitable_for.contains(&Hazard::Landslide));
        assert!(!s[1].suitable_for.contains(&Hazard::Flood));
        let bad = SITES.replace("37.76,140.48", "north,140.48");
        assert_eq!(sites(&bad).unwrap_err().to_string(), "line 3: latitude and longitude must be numbers");
        let bad = SITES.replace("1,1,0,1,0,1,1,0,37.75", "1,2,0,1,0,1,1,0,37.75");
        assert_eq!(sites(&bad).unwrap_err().to_string(), "line 2: hazard columns must be 0 or 1");
        let twice = format!("{}\n{}", SITES.trim_end(), SITES.lines().nth(1).unwrap_or_default());
        assert_eq!(sites(&twice).unwrap_err().to_string(), "line 4: the site id is used twice");
        assert_eq!(sites("a,b\n").unwrap_err(), LoadError::MissingColumn("施設・場所名".into()));
    }

    proptest! {
        // Whatever the bytes, the parsers answer with data or an error, never a panic.
        #[test]
        fn parsers_are_total(s in ".{0,300}") {
            let _ = flood_zones(&s);
            let _ = landslide_zones(&s);
            let _ = house_collapse_zones(&s);
            let _ = sites(&s);
        }
    }
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::evacuation::geo::PolygonIndex;

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../../demo/evacuation/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("sample file")
    }

    /// The shipped samples load, and a point in the middle band is in a rank-3 flood zone and a
    /// house-collapse zone, with a flood-safe site nearby.
    #[test]
    fn shipped_samples_load() {
        let flood = PolygonIndex::new(flood_zones(&read("flood-a31a.sample.geojson")).unwrap());
        let slides = landslide_zones(&read("landslide-a33.sample.geojson")).unwrap();
        let sites = sites(&read("sites.sample.csv")).unwrap();
        let collapse = house_collapse_zones(&read("house-collapse.sample.geojson")).unwrap();
        assert_eq!((flood.len(), slides.len(), sites.len(), collapse.len()), (5, 2, 4, 3));
        let home = Point::new(140.955, 37.640);
        let deepest = flood.at(&home).max().copied();
        assert_eq!(deepest.map(DepthRank::get), Some(3));
        assert!(collapse.iter().any(|p| p.contains(&home)));
        assert!(sites.iter().any(|s| s.suitable_for.contains(&Hazard::Flood)));
        // The zones hug the river: every corner (so, the bands being rectangles, every point) lies
        // in the deepest band.
        for q in collapse.iter().flat_map(|p| &p.outer) {
            assert_eq!(flood.at(q).max().map(|r| r.get()), Some(3), "{q:?}");
        }
    }
}
