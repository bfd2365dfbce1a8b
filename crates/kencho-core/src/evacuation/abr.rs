//! The Address Base Registry's (アドレス・ベース・レジストリ, デジタル庁) 町字 data as the registry
//! ships it: the 町字マスター `mt_town` (names, 効力発生日, 廃止日) and, as a file of its own, the
//! 町字マスター位置参照拡張 `mt_town_pos` (a representative point per 町字). The download site
//! (dataset.address-br.digital.go.jp) serves them per municipality, prefecture or nation, each a
//! zip of one CSV: `mt_town_city072125.csv.zip`, `mt_town_pos_city072125.csv.zip`.
//!
//! Columns are found by header, in either naming the registry has published: the Japanese of the
//! 2022 試験公開版 (全国地方公共団体コード, 町字id, 町字区分コード, 都道府県名, 市区町村名, 政令市区名,
//! 大字・町名, 丁目名, 小字名, 効力発生日, 廃止日, 郵便番号 …; 代表点_経度, 代表点_緯度,
//! 代表点_座標参照系) or the ASCII of the 仕様確定版 and the 2025 正式版 (lg_code, machiaza_id,
//! machiaza_type, pref, city, ward, oaza_cho, chome, koaza, efct_date, ablt_date, post_code …;
//! rep_lon, rep_lat, rep_srid), compared without regard to ASCII case.
//!
//! A town that has no point in `mt_town_pos` cannot be placed and is left out; `mt_town_pos` rows
//! for towns not in `mt_town` are ignored (a prefecture's positions go with one city's names). A
//! town keeps its 効力発生日 and 廃止日: matching skips those not in force on the day (see
//! [`Town::in_force`]). Each file is checked whole and the first bad row fails the load.
//!
//! kencho stores the joined result as one CSV ([`to_csv`]) and reads it back with [`parse`], which
//! also reads kencho's earlier joined format (one file with names and points).

use std::collections::HashMap;

use time::Date;

use super::data::LoadError;
use super::geo::Point;
use super::towns::{postcode_digits, Town};
use crate::check::Finding;

/// One decoded CSV file and the name it came with (for messages).
#[derive(Debug, Clone, Copy)]
pub struct CsvFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Header names per column: the ASCII name first (reported when missing), then the Japanese.
const LG_CODE: [&str; 2] = ["lg_code", "全国地方公共団体コード"];
const MACHIAZA_ID: [&str; 2] = ["machiaza_id", "町字id"];
const PREF: [&str; 2] = ["pref", "都道府県名"];
const CITY: [&str; 2] = ["city", "市区町村名"];
const WARD: [&str; 2] = ["ward", "政令市区名"];
const OAZA: [&str; 2] = ["oaza_cho", "大字・町名"];
const CHOME: [&str; 2] = ["chome", "丁目名"];
const KOAZA: [&str; 2] = ["koaza", "小字名"];
const POSTCODE: [&str; 2] = ["post_code", "郵便番号"];
const EFFECTIVE: [&str; 2] = ["efct_date", "効力発生日"];
const ABOLISHED: [&str; 2] = ["ablt_date", "廃止日"];
const LON: [&str; 2] = ["rep_lon", "代表点_経度"];
const LAT: [&str; 2] = ["rep_lat", "代表点_緯度"];
const SRID: [&str; 2] = ["rep_srid", "代表点_座標参照系"];
/// Only in kencho's earlier joined format, where 2 marked a row to skip.
const LEGACY_STATUS: [&str; 2] = ["status_flg", "状態フラグ"];

/// Geographic coordinate systems a representative point may be given in: JGD2011, JGD2000 and
/// WGS 84 differ by well under a metre at town scale.
const GEOGRAPHIC: [&str; 3] = ["EPSG:6668", "EPSG:4612", "EPSG:4326"];

struct Header(csv::StringRecord);

impl Header {
    fn col(&self, names: [&str; 2]) -> Option<usize> {
        self.0.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    }

    fn need(&self, names: [&str; 2]) -> Result<usize, LoadError> {
        self.col(names).ok_or_else(|| LoadError::missing(names[0], &self.0))
    }

    fn has_names(&self) -> bool {
        self.col(OAZA).is_some()
    }

    fn has_points(&self) -> bool {
        self.col(LON).is_some() || self.col(LAT).is_some()
    }
}

fn reader(text: &str) -> Result<(csv::Reader<&[u8]>, Header), LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| LoadError::Row { line: 1, problem: Finding::unreadable(e) })?.clone();
    Ok((rdr, Header(headers)))
}

/// Calls `each` with every record and its line as in the file. A quoted field may span lines and
/// blank lines are skipped, so the line comes from the reader's position (where it began, before
/// any blank lines it then skipped; those are added back).
fn each_record(
    text: &str,
    mut rdr: csv::Reader<&[u8]>,
    mut each: impl FnMut(usize, &csv::StringRecord) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let at_line = |pos: Option<&csv::Position>, fallback: usize| {
        let Some(p) = pos else { return fallback };
        let skipped = text
            .as_bytes()
            .get(usize::try_from(p.byte()).unwrap_or(usize::MAX)..)
            .map_or(0, |rest| rest.iter().take_while(|b| matches!(b, b'\r' | b'\n')).filter(|b| **b == b'\n').count());
        usize::try_from(p.line()).map_or(fallback, |l| l + skipped)
    };
    let mut line = 1;
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                return Err(LoadError::Row { line: at_line(e.position(), line + 1), problem: Finding::unreadable(e) })
            }
        };
        line = at_line(rec.position(), line + 1);
        each(line, &rec)?;
    }
    Ok(())
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// The sixth digit of a 全国地方公共団体コード checks the first five (weights 6..2, modulus 11), so a
/// mistyped or shifted code is caught here rather than matching nothing later.
fn lg_check_digit_ok(code: &str) -> bool {
    let d: Vec<u32> = code.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 6 {
        return false;
    }
    let sum: u32 = d[..5].iter().zip([6, 5, 4, 3, 2]).map(|(a, w)| a * w).sum();
    (11 - sum % 11) % 10 == d[5]
}

/// The town's key columns, checked: (lg_code, machiaza_id).
fn key(get: &dyn Fn([&str; 2]) -> String) -> Result<(String, String), Finding> {
    let lg_code = get(LG_CODE);
    if !is_digits(&lg_code, 6) {
        return Err(Finding::new("abr_lg_code", "").with("found", lg_code));
    }
    if !lg_check_digit_ok(&lg_code) {
        return Err(Finding::new("abr_lg_code_check_digit", "").with("found", lg_code));
    }
    let machiaza_id = get(MACHIAZA_ID);
    if !is_digits(&machiaza_id, 7) {
        return Err(Finding::new("abr_machiaza_id", "").with("found", machiaza_id));
    }
    Ok((lg_code, machiaza_id))
}

fn date(get: &dyn Fn([&str; 2]) -> String, names: [&str; 2]) -> Result<Option<Date>, Finding> {
    let s = get(names);
    if s.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(&s, &format)
        .map(Some)
        .map_err(|_| Finding::new("abr_date", "").with("column", names[0]).with("name", names[1]).with("found", &s))
}

/// The representative point of a row, checked.
fn point(get: &dyn Fn([&str; 2]) -> String) -> Result<Point, Finding> {
    let (lon, lat) = (get(LON), get(LAT));
    let at = match (lon.parse::<f64>(), lat.parse::<f64>()) {
        (Ok(lon), Ok(lat)) => Point::new(lon, lat),
        _ => return Err(Finding::new("abr_point_not_numbers", "").with("lon", lon).with("lat", lat)),
    };
    if !at.is_valid() {
        return Err(Finding::new("abr_point_out_of_range", "").with("lon", lon).with("lat", lat));
    }
    let srid = get(SRID);
    if !srid.is_empty() && !GEOGRAPHIC.iter().any(|g| g.eq_ignore_ascii_case(&srid)) {
        return Err(Finding::new("abr_srid", "").with("systems", GEOGRAPHIC.join(", ")).with("found", srid));
    }
    Ok(at)
}

/// A 町字マスター row, checked, without its point (`at` is filled when joined).
fn town(get: &dyn Fn([&str; 2]) -> String) -> Result<Town, Finding> {
    let (lg_code, machiaza_id) = key(get)?;
    let (pref, city) = (get(PREF), get(CITY));
    if pref.is_empty() || city.is_empty() {
        return Err(Finding::new("abr_no_locality", ""));
    }
    // A 小字 without 大字 is a published kind of 町字, so only the whole name must be present.
    let (oaza, chome, koaza) = (get(OAZA), get(CHOME), get(KOAZA));
    if oaza.is_empty() && chome.is_empty() && koaza.is_empty() {
        return Err(Finding::new("abr_no_town_name", ""));
    }
    let post = get(POSTCODE);
    let postcode = match postcode_digits(&post) {
        _ if post.is_empty() => None,
        Some(p) => Some(p),
        None => return Err(Finding::new("abr_postcode", "").with("found", post)),
    };
    let (effective, abolished) = (date(get, EFFECTIVE)?, date(get, ABOLISHED)?);
    Ok(Town {
        id: format!("{lg_code}{machiaza_id}"),
        lg_code,
        pref,
        city,
        ward: get(WARD),
        oaza,
        chome,
        koaza,
        postcode,
        at: Point::new(0.0, 0.0),
        effective,
        abolished,
    })
}

/// Collects towns by id. The registry keeps a town's history: an abolished row may share the id of
/// the one that replaced it, and the one not abolished is kept; two in force are an error.
#[derive(Default)]
struct Towns {
    list: Vec<Town>,
    seen: HashMap<String, (usize, usize)>,
}

impl Towns {
    fn add(&mut self, t: Town, line: usize) -> Result<(), Finding> {
        match self.seen.get(&t.id).copied() {
            None => {
                self.seen.insert(t.id.clone(), (self.list.len(), line));
                self.list.push(t);
            }
            Some((i, first)) => match (self.list[i].abolished.is_some(), t.abolished.is_some()) {
                (false, false) => {
                    return Err(Finding::new("abr_town_twice", "").with("town", &t.id).with("first", first))
                }
                (true, false) => {
                    self.seen.insert(t.id.clone(), (i, line));
                    self.list[i] = t;
                }
                _ => {}
            },
        }
        Ok(())
    }
}

/// Reads kencho's stored joined CSV (names and points in one file), and the earlier joined format.
pub fn parse(text: &str) -> Result<Vec<Town>, LoadError> {
    let (rdr, h) = reader(text)?;
    let cols = [LG_CODE, MACHIAZA_ID, PREF, CITY, OAZA, LON, LAT].map(|c| h.need(c));
    for c in cols {
        c?;
    }
    let status = h.col(LEGACY_STATUS);
    let mut towns = Towns::default();
    each_record(text, rdr, |line, rec| {
        let get = |names: [&str; 2]| h.col(names).and_then(|c| rec.get(c)).map(str::trim).unwrap_or("").to_string();
        if status.is_some() && get(LEGACY_STATUS) == "2" {
            return Ok(());
        }
        let err = |problem: Finding| LoadError::Row { line, problem };
        let mut t = town(&get).map_err(err)?;
        t.at = point(&get).map_err(err)?;
        towns.add(t, line).map_err(err)
    })?;
    Ok(towns.list)
}

/// What a file turned out to be.
enum Role {
    Names,
    Points,
    Joined,
}

fn role(f: &CsvFile) -> Result<Role, LoadError> {
    let (_, h) = reader(f.text).map_err(|e| e.in_file(f.name))?;
    match (h.has_names(), h.has_points()) {
        (true, true) => Ok(Role::Joined),
        (true, false) => Ok(Role::Names),
        (false, true) => Ok(Role::Points),
        (false, false) => {
            let header = h.0.iter().take(12).collect::<Vec<_>>().join(", ");
            Err(LoadError::Files(Finding::new("abr_neither", "").with("header", header)).in_file(f.name))
        }
    }
}

/// The representative points of a 町字位置参照 file, by town id; the first row of an id counts.
fn points(f: &CsvFile) -> Result<HashMap<String, Point>, LoadError> {
    let (rdr, h) = reader(f.text)?;
    for c in [LG_CODE, MACHIAZA_ID, LON, LAT] {
        h.need(c)?;
    }
    let mut out = HashMap::new();
    each_record(f.text, rdr, |line, rec| {
        let get = |names: [&str; 2]| h.col(names).and_then(|c| rec.get(c)).map(str::trim).unwrap_or("").to_string();
        let err = |problem: Finding| LoadError::Row { line, problem };
        let (lg_code, machiaza_id) = key(&get).map_err(err)?;
        let at = point(&get).map_err(err)?;
        out.entry(format!("{lg_code}{machiaza_id}")).or_insert(at);
        Ok(())
    })?;
    Ok(out)
}

/// The towns of a 町字マスター with their points from a 町字位置参照, given as the registry ships them:
/// the two files in either order, or one file holding both.
pub fn from_files(files: &[CsvFile]) -> Result<Vec<Town>, LoadError> {
    let (mut names, mut pts, mut joined) = (Vec::new(), Vec::new(), Vec::new());
    for f in files {
        match role(f)? {
            Role::Names => names.push(f),
            Role::Points => pts.push(f),
            Role::Joined => joined.push(f),
        }
    }
    let list = |v: &[&CsvFile]| v.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
    let refuse = LoadError::Files;
    match (names.as_slice(), pts.as_slice(), joined.as_slice()) {
        ([], [], [one]) => parse(one.text).map_err(|e| e.in_file(one.name)),
        ([n], [p], []) => join(n, p),
        (_, _, [_, ..]) => Err(refuse(Finding::new("abr_joined_not_alone", "").with("files", list(&joined)))),
        ([_], [], []) => Err(refuse(Finding::new("abr_points_missing", "").with("file", names[0].name))),
        ([], [_], []) => Err(refuse(Finding::new("abr_names_missing", "").with("file", pts[0].name))),
        _ if names.len() > 1 => Err(refuse(Finding::new("abr_names_twice", "").with("files", list(&names)))),
        _ if pts.len() > 1 => Err(refuse(Finding::new("abr_points_twice", "").with("files", list(&pts)))),
        _ => Err(LoadError::Empty),
    }
}

fn join(names: &CsvFile, pts: &CsvFile) -> Result<Vec<Town>, LoadError> {
    let at = points(pts).map_err(|e| e.in_file(pts.name))?;
    let (rdr, h) = reader(names.text).map_err(|e| e.in_file(names.name))?;
    for c in [LG_CODE, MACHIAZA_ID, PREF, CITY, OAZA] {
        h.need(c).map_err(|e| e.in_file(names.name))?;
    }
    let mut towns = Towns::default();
    let mut rows = 0;
    each_record(names.text, rdr, |line, rec| {
        let get = |n: [&str; 2]| h.col(n).and_then(|c| rec.get(c)).map(str::trim).unwrap_or("").to_string();
        let err = |problem: Finding| LoadError::Row { line, problem };
        let mut t = town(&get).map_err(err)?;
        rows += 1;
        let Some(p) = at.get(&t.id) else { return Ok(()) };
        t.at = *p;
        towns.add(t, line).map_err(err)
    })
    .map_err(|e| e.in_file(names.name))?;
    if towns.list.is_empty() && rows > 0 {
        let problem = Finding::new("abr_no_common_town", "")
            .with("rows", rows)
            .with("names", names.name)
            .with("points", pts.name);
        return Err(LoadError::Files(problem));
    }
    Ok(towns.list)
}

/// The stored form: one CSV with the columns [`parse`] reads.
pub fn to_csv(towns: &[Town]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let head = ["lg_code", "machiaza_id", "pref", "city", "ward", "oaza_cho", "chome", "koaza", "post_code"];
    let tail = ["efct_date", "ablt_date", "rep_lon", "rep_lat"];
    // Writing to memory cannot fail; an error here would be a bug, and is kept out of the text.
    let _ = w.write_record(head.iter().chain(tail.iter()));
    for t in towns {
        let machiaza_id = t.id.get(6..).unwrap_or("");
        let day = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
        let _ = w.write_record([
            t.lg_code.as_str(),
            machiaza_id,
            &t.pref,
            &t.city,
            &t.ward,
            &t.oaza,
            &t.chome,
            &t.koaza,
            t.postcode.as_deref().unwrap_or(""),
            &day(t.effective),
            &day(t.abolished),
            &t.at.lon.to_string(),
            &t.at.lat.to_string(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
#[path = "abr_tests.rs"]
mod tests;
