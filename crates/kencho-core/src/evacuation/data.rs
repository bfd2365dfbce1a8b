//! Parsers for the public data the evacuation rules read. Each file is checked whole: the first
//! bad feature or row is reported with its number, and nothing of a bad file is used.
//!
//! - Flood zones: 国土数値情報 A31a / A31 / A31b GeoJSON, one scenario per file (see [`super::flood`]).
//! - Landslide zones: 国土数値情報 A33 GeoJSON (土砂災害警戒区域データ, KsjTmplt-A33-2024 and
//!   product spec 1.3), phenomenon in `A33_001` (現象種別コード: 1 急傾斜地の崩壊, 2 土石流,
//!   3 地滑り) and 区域区分 in `A33_002` (区域コード: 1 警戒区域, 2 特別警戒区域, both 指定済; since
//!   spec 1.2 also 3 警戒区域 and 4 特別警戒区域 指定前, i.e. 基礎調査結果の公表). The spec's line
//!   features (土砂災害警戒区域（線）, GM_Curve) enclose no area and are passed over.
//! - House-collapse flood zones (家屋倒壊等氾濫想定区域): A31a's fourth category (A31a_405
//!   危険区域区分: 1 氾濫流, 2 河岸浸食, 3 both; A31_401, A31b_401 in the older and mesh products) or a
//!   publisher's own GeoJSON; being inside is what counts, other properties are not read.
//! - Designated emergency sites: GSI's 指定緊急避難場所 CSV (NO, 共通ID, 施設・場所名, 住所, one 1/blank
//!   column per hazard, 指定避難所との住所同一, 緯度, 経度, 備考), matched by header names. Text
//!   arrives decoded (see [`super::encoding`]).

use serde_json::Value;

use super::geo::{GeometryError, Point, Polygon};
use super::{Hazard, Landslide, Phenomenon, Site};
use crate::check::Finding;

/// Why a file does not make a layer. What is wrong inside a feature, a row or a set of files is a
/// [`Finding`] (a stable code and its values, worded by the server as `check.<code>`); the
/// feature's or line's number is the error's own. Display is for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The JSON reader's own message.
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not a GeoJSON FeatureCollection")]
    NotFeatureCollection,
    /// A feature, numbered from 1.
    #[error("feature {feature}: {problem}")]
    Feature { feature: usize, problem: Finding },
    /// A line of a CSV file, numbered as in the file (the header is line 1).
    #[error("line {line}: {problem}")]
    Row { line: usize, problem: Finding },
    /// A column the file must have is not in its header; `found` is the header as read.
    #[error("missing column \"{expected}\"; the header has: {}", found.join(", "))]
    MissingColumn { expected: String, found: Vec<String> },
    #[error("{0}")]
    Encoding(#[from] super::encoding::EncodingError),
    /// The files given do not make one layer (Address Base Registry towns), or one of them is
    /// not a data file at all.
    #[error("{0}")]
    Files(Finding),
    #[error("the file has no features or rows")]
    Empty,
    /// One of several files given together was bad.
    #[error("{file}: {error}")]
    InFile { file: String, error: Box<LoadError> },
}

impl LoadError {
    /// A stable code for clients and the key of the message's frame in the locales.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Json(_) | LoadError::NotFeatureCollection => "data_not_geojson",
            LoadError::Feature { .. } => "data_feature",
            LoadError::Row { .. } => "data_row",
            LoadError::MissingColumn { .. } => "data_column",
            LoadError::Encoding(_) => "data_encoding",
            LoadError::Files(_) => "data_files",
            LoadError::Empty => "data_empty",
            LoadError::InFile { error, .. } => error.code(),
        }
    }

    pub(crate) fn missing(expected: &str, headers: &csv::StringRecord) -> LoadError {
        LoadError::MissingColumn {
            expected: expected.to_string(),
            found: headers.iter().map(|h| h.trim().to_string()).collect(),
        }
    }

    /// The error, said of the file `file` (one of several given together).
    pub fn in_file(self, file: &str) -> LoadError {
        LoadError::InFile { file: file.to_string(), error: Box::new(self) }
    }
}

pub(crate) fn feature_err(feature: usize, problem: Finding) -> LoadError {
    LoadError::Feature { feature, problem }
}

/// The polygons of a GeoJSON geometry (Polygon or MultiPolygon).
pub(crate) fn polygons(geometry: &Value) -> Result<Vec<Polygon>, Finding> {
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = geometry.get("coordinates").ok_or_else(|| Finding::new("geojson_no_coordinates", ""))?;
    let ring = |v: &Value| -> Result<Vec<Point>, Finding> {
        v.as_array()
            .ok_or_else(|| Finding::new("geojson_ring_not_array", ""))?
            .iter()
            .map(|pos| {
                let p = pos
                    .as_array()
                    .filter(|a| a.len() >= 2)
                    .ok_or_else(|| Finding::new("geojson_position_shape", ""))?;
                match (p[0].as_f64(), p[1].as_f64()) {
                    (Some(lon), Some(lat)) => Ok(Point::new(lon, lat)),
                    _ => Err(Finding::new("geojson_coordinate_not_number", "")),
                }
            })
            .collect()
    };
    let polygon = |v: &Value| -> Result<Polygon, Finding> {
        let rings = v.as_array().filter(|r| !r.is_empty()).ok_or_else(|| Finding::new("geojson_no_outer_ring", ""))?;
        let outer = ring(&rings[0])?;
        let holes = rings[1..].iter().map(ring).collect::<Result<Vec<_>, _>>()?;
        Polygon::new(outer, holes).map_err(geometry_finding)
    };
    match kind {
        "Polygon" => Ok(vec![polygon(coords)?]),
        "MultiPolygon" => coords
            .as_array()
            .ok_or_else(|| Finding::new("geojson_multipolygon_not_array", ""))?
            .iter()
            .map(polygon)
            .collect(),
        other => Err(Finding::new("geojson_not_polygon", "").with("found", other)),
    }
}

fn geometry_finding(e: GeometryError) -> Finding {
    match e {
        GeometryError::TooFewPoints(n) => Finding::new("geojson_ring_too_short", "").with("found", n),
        GeometryError::NotClosed => Finding::new("geojson_ring_not_closed", ""),
        GeometryError::OutOfRange => Finding::new("geojson_position_out_of_range", ""),
    }
}

/// A feature's geometry, as polygons.
pub(crate) fn feature_polygons(n: usize, f: &Value) -> Result<Vec<Polygon>, LoadError> {
    let geometry = f.get("geometry").ok_or_else(|| feature_err(n, Finding::new("geojson_no_geometry", "")))?;
    polygons(geometry).map_err(|p| feature_err(n, p))
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
pub(crate) fn each_feature(
    text: &str,
    mut each: impl FnMut(usize, &Value) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    for (i, raw) in features(text)?.iter().enumerate() {
        let f: Value = serde_json::from_str(raw.get()).map_err(|e| feature_err(i + 1, Finding::unreadable(e)))?;
        if !f.is_object() {
            return Err(feature_err(i + 1, Finding::new("geojson_feature_not_object", "")));
        }
        each(i + 1, &f)?;
    }
    Ok(())
}

pub(crate) fn int_property(f: &Value, key: &str) -> Option<i64> {
    match f.get("properties")?.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A property's value as written, for messages ("9", "\"x\"", "null"); `None` when absent.
pub(crate) fn shown(f: &Value, key: &str) -> Option<String> {
    f.get("properties").and_then(|p| p.get(key)).map(|v| v.to_string().chars().take(40).collect())
}

/// The property names of a feature, for messages that say what was found; `None` when it has
/// none.
pub(crate) fn property_names(f: &Value) -> Option<String> {
    match f.get("properties").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => Some(m.keys().take(12).map(String::as_str).collect::<Vec<_>>().join(", ")),
        _ => None,
    }
}

/// Whether a geometry is a line (A33's 土砂災害警戒区域（線）), which encloses no area.
fn is_line(geometry: &Value) -> bool {
    matches!(geometry.get("type").and_then(Value::as_str), Some("LineString" | "MultiLineString"))
}

/// A coded attribute that is not one of its published codes: `other` with the value it holds, or
/// `absent` when the feature does not have it.
fn bad_code(f: &Value, attr: &str, other: Finding, absent: Finding) -> Finding {
    match shown(f, attr) {
        Some(found) => other.with("found", found),
        None => absent,
    }
}

/// A33 landslide zones.
pub fn landslide_zones(text: &str) -> Result<Vec<(Polygon, Landslide)>, LoadError> {
    let mut out = Vec::new();
    each_feature(text, |n, f| {
        let geometry = f.get("geometry").ok_or_else(|| feature_err(n, Finding::new("geojson_no_geometry", "")))?;
        if is_line(geometry) {
            return Ok(());
        }
        let (red, designated) = match int_property(f, "A33_002") {
            Some(1) => (false, true),
            Some(2) => (true, true),
            Some(3) => (false, false),
            Some(4) => (true, false),
            _ => {
                return Err(feature_err(
                    n,
                    bad_code(
                        f,
                        "A33_002",
                        Finding::new("a33_zone_class", ""),
                        Finding::new("a33_zone_class_absent", ""),
                    ),
                ))
            }
        };
        let phenomenon = match int_property(f, "A33_001") {
            Some(1) => Phenomenon::SteepSlope,
            Some(2) => Phenomenon::DebrisFlow,
            Some(3) => Phenomenon::Landslip,
            _ => {
                return Err(feature_err(
                    n,
                    bad_code(
                        f,
                        "A33_001",
                        Finding::new("a33_phenomenon", ""),
                        Finding::new("a33_phenomenon_absent", ""),
                    ),
                ))
            }
        };
        for p in polygons(geometry).map_err(|p| feature_err(n, p))? {
            out.push((p, Landslide { phenomenon, red, designated }));
        }
        Ok(())
    })?;
    Ok(out)
}

/// 家屋倒壊等氾濫想定区域 polygons. Where a feature carries a 危険区域区分 it must be a published
/// code; a flood depth or duration layer given here by mistake is refused by name.
pub fn house_collapse_zones(text: &str) -> Result<Vec<Polygon>, LoadError> {
    let mut out = Vec::new();
    each_feature(text, |n, f| {
        if let Some((attr, scenario)) = super::flood::rank_attribute_of(f) {
            let problem = Finding::new("house_collapse_is_flood", "")
                .with("attr", attr)
                .with("scenario", super::flood::scenario_name(scenario));
            return Err(feature_err(n, problem));
        }
        for attr in super::flood::HOUSE_COLLAPSE_CLASS {
            if let Some(found) = shown(f, attr).filter(|_| !matches!(int_property(f, attr), Some(1..=3))) {
                let problem = Finding::new("house_collapse_class", "").with("attr", attr).with("found", found);
                return Err(feature_err(n, problem));
            }
        }
        out.extend(feature_polygons(n, f)?);
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

/// Parses the 指定緊急避難場所 CSV (decoded text, header row). Lines are numbered as in the file.
pub fn sites(text: &str) -> Result<Vec<Site>, LoadError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| LoadError::Row { line: 1, problem: Finding::unreadable(e) })?.clone();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    // GSI publishes 指定避難所 (shelters) beside 指定緊急避難場所 in the same shape but without the
    // hazard columns; say which list was given rather than only which column is missing.
    if col(&["受入対象者", "指定緊急避難場所との住所同一"]).is_some() && col(&["洪水"]).is_none() {
        return Err(LoadError::Files(Finding::new("sites_shelter_list", "")));
    }
    let need = |names: &[&str]| col(names).ok_or_else(|| LoadError::missing(names[0], &headers));
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
        let err = |problem: Finding| LoadError::Row { line, problem };
        let rec = rec.map_err(|e| err(Finding::unreadable(e)))?;
        let name = rec
            .get(name_col)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err(Finding::new("sites_no_name", "")))?;
        let num = |c: usize| rec.get(c).and_then(|s| s.trim().parse::<f64>().ok());
        let at = match (num(lon_col), num(lat_col)) {
            (Some(lon), Some(lat)) => Point::new(lon, lat),
            _ => {
                let cell = |c: usize| rec.get(c).unwrap_or("").trim().to_string();
                let problem =
                    Finding::new("sites_not_degrees", "").with("lat", cell(lat_col)).with("lon", cell(lon_col));
                return Err(err(problem));
            }
        };
        if !at.is_valid() {
            return Err(err(Finding::new("sites_out_of_range", "")));
        }
        let mut suitable_for = Vec::new();
        for (h, c) in &hazard_cols {
            // GSI marks a suitable hazard with 1 and leaves the others blank; some re-publishers write 0.
            match rec.get(*c).map(str::trim) {
                Some("1") => suitable_for.push(*h),
                Some("0") | Some("") => {}
                other => {
                    let problem = Finding::new("sites_hazard_mark", "")
                        .with("column", headers.get(*c).unwrap_or("").trim())
                        .with("found", other.unwrap_or(""));
                    return Err(err(problem));
                }
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
            return Err(err(Finding::new("sites_id_twice", "").with("id", id)));
        }
        out.push(Site { id, name: name.to_string(), at, suitable_for });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Two A33 features as the product publishes them (KsjTmplt-A33-2024: A33_001 … A33_008),
    /// then a line feature (土砂災害警戒区域（線）), which is passed over.
    const A33: &str = r#"{"type":"FeatureCollection","name":"A33-24_07","features":[
      {"type":"Feature","properties":{"A33_001":2,"A33_002":2,"A33_003":"07","A33_004":"07212-2-001","A33_005":"架空沢","A33_006":"南相馬市原町区","A33_007":"2019-03-29","A33_008":0},
       "geometry":{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.1],[140.0,37.0]]]}},
      {"type":"Feature","properties":{"A33_001":"1","A33_002":"1","A33_003":"07","A33_004":"07212-1-002","A33_005":"架空急傾斜地","A33_006":"南相馬市鹿島区","A33_007":"2020-02-14","A33_008":1},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[141.0,37.0],[141.1,37.0],[141.1,37.1],[141.0,37.0]]],[[[142.0,37.0],[142.1,37.0],[142.1,37.1],[142.0,37.0]]]]}},
      {"type":"Feature","properties":{"A33_001":1,"A33_002":1,"A33_003":"07","A33_004":"07212-1-002"},
       "geometry":{"type":"LineString","coordinates":[[141.0,37.0],[141.1,37.0]]}}
    ]}"#;

    #[test]
    fn landslide_layer() {
        let zones = landslide_zones(A33).unwrap();
        assert_eq!(zones.len(), 3, "a Polygon and a MultiPolygon of two; the line is not an area");
        let z = |phenomenon, red, designated| Landslide { phenomenon, red, designated };
        assert_eq!(zones[0].1, z(Phenomenon::DebrisFlow, true, true));
        assert_eq!(zones[1].1, z(Phenomenon::SteepSlope, false, true));
        // 区域区分 3 and 4 (指定前: 基礎調査結果の公表) since spec 1.2: one such feature loads.
        let pending =
            A33.replacen("\"A33_002\":2", "\"A33_002\":3", 1).replacen("\"A33_002\":\"1\"", "\"A33_002\":\"4\"", 1);
        let zones = landslide_zones(&pending).unwrap();
        assert_eq!(zones[0].1, z(Phenomenon::DebrisFlow, false, false));
        assert_eq!(zones[1].1, z(Phenomenon::SteepSlope, true, false));
        let bad = A33.replacen("\"A33_002\":2", "\"A33_002\":5", 1);
        assert_eq!(landslide_zones(&bad), Err(feature_err(1, Finding::new("a33_zone_class", "").with("found", 5))));
        let bad = A33.replacen("\"A33_001\":\"1\",", "", 1);
        assert_eq!(landslide_zones(&bad), Err(feature_err(2, Finding::new("a33_phenomenon_absent", ""))));
    }

    const COLLAPSE: &str = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"A31a_401":"8303030555","A31a_402":"架空川","A31a_403":"07","A31a_404":"福島県","A31a_405":2},
       "geometry":{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.1],[140.0,37.0]]]}},
      {"type":"Feature","properties":{"区分":"河岸侵食"},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[141.0,37.0],[141.1,37.0],[141.1,37.1],[141.0,37.0]]],[[[142.0,37.0],[142.1,37.0],[142.1,37.1],[142.0,37.0]]]]}}
    ]}"#;

    #[test]
    fn house_collapse_layer() {
        let zones = house_collapse_zones(COLLAPSE).unwrap();
        assert_eq!(zones.len(), 3, "one Polygon and a MultiPolygon of two");
        let bare = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":null,
          "geometry":{"type":"Polygon","coordinates":[[[140.0,37.0],[140.1,37.0],[140.1,37.1],[140.0,37.0]]]}}]}"#;
        assert!(house_collapse_zones(bare).unwrap()[0].contains(&Point::new(140.08, 37.02)));
        let bad = COLLAPSE.replace("\"A31a_405\":2", "\"A31a_405\":7");
        let class = Finding::new("house_collapse_class", "").with("attr", "A31a_405").with("found", 7);
        assert_eq!(house_collapse_zones(&bad), Err(feature_err(1, class)));
        let depth = COLLAPSE.replace("\"A31a_405\":2", "\"A31a_205\":2");
        let flood =
            Finding::new("house_collapse_is_flood", "").with("attr", "A31a_205").with("scenario", "想定最大規模");
        assert_eq!(house_collapse_zones(&depth), Err(feature_err(1, flood)));
        let point = COLLAPSE.replace("\"type\":\"MultiPolygon\"", "\"type\":\"Point\"");
        let not_polygon = Finding::new("geojson_not_polygon", "").with("found", "Point");
        assert_eq!(house_collapse_zones(&point), Err(feature_err(2, not_polygon)));
        let open = COLLAPSE.replace("[140.0,37.1],[140.0,37.0]]", "[140.0,37.1]]");
        assert_eq!(house_collapse_zones(&open), Err(feature_err(1, Finding::new("geojson_ring_not_closed", ""))));
        let no_geometry = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{}}]}"#;
        let none = feature_err(1, Finding::new("geojson_no_geometry", ""));
        assert_eq!(house_collapse_zones(no_geometry), Err(none.clone()));
        assert_eq!(none.to_string(), "feature 1: geojson_no_geometry", "for the log: where and the code");
        assert_eq!(none.code(), "data_feature");
        assert_eq!(house_collapse_zones("[]").unwrap_err(), LoadError::NotFeatureCollection);
    }

    /// GSI's 指定緊急避難場所 columns, as in its per-municipality CSV: 1 or blank per hazard.
    const SITES: &str = "NO,共通ID,施設・場所名,住所,洪水,崖崩れ、土石流及び地滑り,高潮,地震,津波,大規模な火事,内水氾濫,火山現象,指定避難所との住所同一,緯度,経度,備考\r\n\
        1,E0721200001,架空第一小学校,福島県南相馬市原町区本町1,1,1,,1,,1,1,,1,37.75,140.47,\r\n\
        2,E0721200002,架空河川敷公園,福島県南相馬市原町区川原2,,,,1,,1,,,,37.76,140.48,広場\r\n";

    #[test]
    fn site_table() {
        let s = sites(SITES).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].id, "E0721200001", "共通ID names the site");
        assert!(s[0].suitable_for.contains(&Hazard::Flood) && s[0].suitable_for.contains(&Hazard::Landslide));
        assert!(!s[1].suitable_for.contains(&Hazard::Flood));
        assert_eq!(sites(&SITES.replace(",1,1,,1,,1,1,,1,", ",1,1,0,1,0,1,1,0,1,")).unwrap(), s, "0 reads as blank");
        let row = |line, problem| Err(LoadError::Row { line, problem });
        let bad = SITES.replace("37.76,140.48", "北緯37度,140.48");
        let degrees = Finding::new("sites_not_degrees", "").with("lat", "北緯37度").with("lon", "140.48");
        assert_eq!(sites(&bad), row(3, degrees));
        let bad = SITES.replace(",1,1,,1,,1,1,,1,", ",1,○,,1,,1,1,,1,");
        let mark = Finding::new("sites_hazard_mark", "").with("column", "崖崩れ、土石流及び地滑り").with("found", "○");
        assert_eq!(sites(&bad), row(2, mark));
        let twice = format!("{}\r\n{}", SITES.trim_end(), SITES.lines().nth(1).unwrap_or_default());
        assert_eq!(sites(&twice), row(4, Finding::new("sites_id_twice", "").with("id", "E0721200001")));
        let missing =
            LoadError::MissingColumn { expected: "施設・場所名".into(), found: vec!["a".into(), "b".into()] };
        assert_eq!(sites("a,b\n"), Err(missing));
        let shelters = "NO,共通ID,施設・場所名,住所,指定緊急避難場所との住所同一,その他市町村長が必要と認める事項,受入対象者,緯度,経度,備考\n";
        assert_eq!(sites(shelters), Err(LoadError::Files(Finding::new("sites_shelter_list", ""))));
        let short = format!("{SITES}3,E0721200003,架空\r\n");
        match sites(&short) {
            Err(LoadError::Row { line: 4, problem }) => {
                assert_eq!((problem.code, problem.at.as_str()), ("unreadable", ""))
            }
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        // Whatever the bytes, the parsers answer with data or an error, never a panic.
        #[test]
        fn parsers_are_total(s in ".{0,300}") {
            let _ = landslide_zones(&s);
            let _ = house_collapse_zones(&s);
            let _ = sites(&s);
        }

        // Every published 区域区分 and 現象の種類 loads, and what loads is what the codes say.
        #[test]
        fn every_a33_code_reads_back(phenomenon in 1u8..=3, zone in 1u8..=4, quoted in any::<bool>()) {
            let v = |n: u8| if quoted { format!("\"{n}\"") } else { n.to_string() };
            let text = A33.replacen("\"A33_001\":2,\"A33_002\":2", &format!("\"A33_001\":{},\"A33_002\":{}", v(phenomenon), v(zone)), 1);
            let z = landslide_zones(&text).unwrap()[0].1;
            prop_assert_eq!(z.red, zone % 2 == 0);
            prop_assert_eq!(z.designated, zone <= 2);
            prop_assert_eq!(z.phenomenon, [Phenomenon::SteepSlope, Phenomenon::DebrisFlow, Phenomenon::Landslip][usize::from(phenomenon - 1)]);
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
        let flood = match super::super::flood::flood_zones(&read("flood-a31a.sample.geojson")).unwrap() {
            super::super::flood::FloodZones::Depth { zones, .. } => PolygonIndex::new(zones),
            other => panic!("the sample is a depth layer, not {:?}", other.scenario()),
        };
        let slides = landslide_zones(&read("landslide-a33.sample.geojson")).unwrap();
        let sites = sites(&read("sites.sample.csv")).unwrap();
        let collapse = house_collapse_zones(&read("house-collapse.sample.geojson")).unwrap();
        assert_eq!((flood.len(), slides.len(), sites.len(), collapse.len()), (5, 2, 4, 3));
        let home = Point::new(140.955, 37.640);
        let deepest = flood.at(&home).max().copied();
        assert_eq!(deepest.map(crate::evacuation::DepthRank::get), Some(3));
        assert!(collapse.iter().any(|p| p.contains(&home)));
        assert!(sites.iter().any(|s| s.suitable_for.contains(&Hazard::Flood)));
        // The zones hug the river: every corner (so, the bands being rectangles, every point) lies
        // in the deepest band.
        for q in collapse.iter().flat_map(|p| &p.outer) {
            assert_eq!(flood.at(q).max().map(|r| r.get()), Some(3), "{q:?}");
        }
    }
}
