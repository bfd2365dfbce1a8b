//! Town areas (町字) from the Address Base Registry (アドレス・ベース・レジストリ, ABR), read by
//! [`super::abr`]: lets a typed address or a map point be turned into a town, whose point the
//! hazard layers can answer for. Matching only considers towns in force on the day: a town with a
//! 廃止日 on or before it (or a 効力発生日 after it) is never matched, though it is still known by id
//! for plans made before.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::Date;
use unicode_normalization::UnicodeNormalization;

use super::geo::Point;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Town {
    /// lg_code + machiaza_id, e.g. "072125" + "0001001" → "0721250001001"; unique nationwide.
    pub id: String,
    /// 全国地方公共団体コード, 6 digits.
    pub lg_code: String,
    /// 都道府県名.
    pub pref: String,
    /// 市区町村名.
    pub city: String,
    /// 政令市区名; empty outside designated cities.
    pub ward: String,
    /// 大字・町名.
    pub oaza: String,
    /// 丁目名, e.g. "一丁目"; may be empty.
    pub chome: String,
    /// 小字名; may be empty.
    pub koaza: String,
    /// 郵便番号, 7 digits without hyphen.
    pub postcode: Option<String>,
    /// 代表点.
    pub at: Point,
    /// 効力発生日 (efct_date).
    #[serde(default)]
    pub effective: Option<Date>,
    /// 廃止日 (ablt_date).
    #[serde(default)]
    pub abolished: Option<Date>,
}

impl Town {
    /// 大字・町名 + 丁目名 + 小字名, as published (not normalised).
    pub fn name(&self) -> String {
        format!("{}{}{}", self.oaza, self.chome, self.koaza)
    }

    /// 都道府県名 + 市区町村名 + 政令市区名 + name.
    pub fn full_name(&self) -> String {
        format!("{}{}{}{}", self.pref, self.city, self.ward, self.name())
    }

    /// In force on `today`: in effect by then and not abolished on or before it.
    pub fn in_force(&self, today: Date) -> bool {
        self.effective.is_none_or(|d| d <= today) && self.abolished.is_none_or(|d| d > today)
    }
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// "9750001", "975-0001", "〒９７５－０００１" → "9750001".
pub(crate) fn postcode_digits(s: &str) -> Option<String> {
    let s: String = s.nfkc().filter(|c| !c.is_whitespace()).collect();
    let s = s.trim_start_matches('〒');
    let digits: String = match s.as_bytes() {
        [a, b, c, b'-', rest @ ..] if rest.len() == 4 => {
            [*a, *b, *c].iter().chain(rest).map(|&b| char::from(b)).collect()
        }
        _ => s.to_string(),
    };
    is_digits(&digits, 7).then_some(digits)
}

/// The matching form of address text, for comparison only (display keeps the published text):
/// NFKC (full-width digits and letters become ASCII), no whitespace, ヶ/ヵ as ケ/カ, dashes as
/// '-', and the number right before 丁目 in Arabic digits, so "一丁目", "１丁目" and "1丁目" all
/// read "1丁目". Kanji numbers up to the hundreds are read (十一, 二十三, 百二). Table and address go
/// through the same function, so a place name that merely looks like a number (八丁目) still
/// compares equal.
fn normalize(s: &str) -> String {
    let mut chars: Vec<char> = Vec::with_capacity(s.len());
    for c in s.nfkc() {
        if c.is_whitespace() {
            continue;
        }
        let c = match c {
            'ヶ' => 'ケ',
            'ヵ' => 'カ',
            '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | '─' | '━' => '-',
            // A long-vowel mark after a digit is a dash typed with the kana keyboard.
            'ー' if chars.last().is_some_and(char::is_ascii_digit) => '-',
            c => c,
        };
        chars.push(c);
    }
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '丁' && chars.get(i + 1) == Some(&'目') {
            let start = out.iter().rposition(|c| numeral(*c).is_none()).map_or(0, |p| p + 1);
            if let Some(n) = numeral_value(&out[start..]) {
                out.truncate(start);
                out.extend(n.to_string().chars());
            }
        }
        out.push(c);
    }
    out.into_iter().collect()
}

enum Numeral {
    Digit(u64),
    Unit(u64),
}

fn numeral(c: char) -> Option<Numeral> {
    let kanji = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    match c {
        '0'..='9' => Some(Numeral::Digit(u64::from(c.to_digit(10)?))),
        '十' => Some(Numeral::Unit(10)),
        '百' => Some(Numeral::Unit(100)),
        _ => kanji.iter().position(|k| *k == c).map(|d| Numeral::Digit(d as u64)),
    }
}

/// Reads both positional kanji (二十三) and digit-by-digit forms (二三, 23); `None` when empty or
/// too large to matter.
fn numeral_value(run: &[char]) -> Option<u64> {
    if run.is_empty() {
        return None;
    }
    let (mut total, mut current) = (0u64, 0u64);
    for c in run {
        match numeral(*c)? {
            Numeral::Digit(d) => current = current.checked_mul(10)?.checked_add(d)?,
            Numeral::Unit(u) => {
                total = total.checked_add(current.max(1).checked_mul(u)?)?;
                current = 0;
            }
        }
    }
    total.checked_add(current)
}

/// Finds the town in force on `today` that an address is in.
///
/// Both sides are normalised (see `normalize`). The locality comes first: of the keys
/// pref+city+ward and city+ward (and pref+city, city when a ward may be left out), the longest
/// found in the address wins, so "南相馬市" is never read as 相馬市. Then, after that locality,
/// the town whose name (大字+丁目+小字, or 大字 + "N-" for the common "本町1-2-3" form of N丁目)
/// is the longest substring wins; ties go to the smaller id. An address naming no known locality
/// is matched by town name alone.
///
/// A postcode (any of "9750001", "975-0001", full-width) narrows the search to the towns that
/// carry it, when any do and one of them matches; otherwise all towns are searched, as postcodes
/// are often mistyped or missing from the table.
pub fn match_address<'a>(towns: &'a [Town], today: Date, postcode: Option<&str>, address: &str) -> Option<&'a Town> {
    let addr = normalize(address);
    if addr.is_empty() {
        return None;
    }
    let current: Vec<&Town> = towns.iter().filter(|t| t.in_force(today)).collect();
    if let Some(pc) = postcode.and_then(postcode_digits) {
        let same: Vec<&Town> = current.iter().copied().filter(|t| t.postcode.as_deref() == Some(pc.as_str())).collect();
        if let Some(t) = best_match(&same, &addr) {
            return Some(t);
        }
    }
    best_match(&current, &addr)
}

/// (matched length in chars, byte offset after the match) of the longest locality key found.
type Located = (usize, usize);

fn locality(t: &Town, addr: &str) -> Located {
    let (pref, city, ward) = (normalize(&t.pref), normalize(&t.city), normalize(&t.ward));
    let mut keys = vec![format!("{pref}{city}{ward}"), format!("{city}{ward}")];
    if !ward.is_empty() {
        keys.push(format!("{pref}{city}"));
        keys.push(city);
    }
    keys.iter()
        .filter(|k| !k.is_empty())
        .filter_map(|k| addr.find(k.as_str()).map(|at| (k.chars().count(), at + k.len())))
        .max_by_key(|l| l.0)
        .unwrap_or((0, 0))
}

fn name_match(t: &Town, rest: &str) -> Option<usize> {
    let name = normalize(&t.name());
    let mut keys = vec![name.clone()];
    if t.koaza.is_empty() && !t.chome.is_empty() {
        if let Some(base) = name.strip_suffix("丁目").filter(|b| b.ends_with(|c: char| c.is_ascii_digit())) {
            keys.push(format!("{base}-"));
        }
    }
    keys.iter().filter(|k| !k.is_empty() && rest.contains(k.as_str())).map(|k| k.chars().count()).max()
}

fn best_match<'a>(towns: &[&'a Town], addr: &str) -> Option<&'a Town> {
    // Towns share few localities; normalise each once.
    let mut cache: HashMap<(&str, &str, &str), Located> = HashMap::new();
    let located: Vec<Located> =
        towns.iter().map(|t| *cache.entry((&t.pref, &t.city, &t.ward)).or_insert_with(|| locality(t, addr))).collect();
    let best_len = located.iter().map(|l| l.0).max().unwrap_or(0);
    let mut best: Option<(usize, &'a Town)> = None;
    for (t, (len, end)) in towns.iter().zip(&located) {
        if *len != best_len {
            continue;
        }
        let Some(n) = addr.get(*end..).and_then(|rest| name_match(t, rest)) else { continue };
        if best.is_none_or(|(bn, bt)| n > bn || (n == bn && t.id < bt.id)) {
            best = Some((n, t));
        }
    }
    best.map(|(_, t)| t)
}

/// The town in force on `today` whose representative point is nearest (great-circle); ties go to
/// the smaller id.
pub fn nearest<'a>(towns: &'a [Town], today: Date, p: &Point) -> Option<&'a Town> {
    towns
        .iter()
        .filter(|t| t.in_force(today))
        .map(|t| (t.at.distance_m(p), t))
        .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)))
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evacuation::abr::parse;
    use proptest::prelude::*;

    /// Towns in kencho's stored (joined) form; 旧町 was abolished on 2020-04-01 and 新町 takes
    /// effect on 2030-04-01.
    const TOWNS: &str =
        "lg_code,machiaza_id,pref,city,ward,oaza_cho,chome,koaza,post_code,efct_date,ablt_date,rep_lon,rep_lat
072125,0001001,福島県,南相馬市,,本町,一丁目,,9750001,1947-04-17,,140.948,37.6435
072125,0001002,福島県,南相馬市,,本町,二丁目,,975-0001,,,140.956,37.636
072125,0003000,福島県,南相馬市,,中央,,,9750003,,,140.962,37.648
072095,0003001,福島県,相馬市,,中央,一丁目,,9760003,,,140.919,37.797
041017,0001001,宮城県,仙台市,青葉区,本町,一丁目,,9800014,,,140.874,38.262
072125,0007001,福島県,南相馬市,,北原,,上ノ台,,,,140.979,37.6455
072125,0009000,福島県,南相馬市,,旧町,,,,1947-04-17,2020-04-01,140.9482,37.6436
072125,0009001,福島県,南相馬市,,新町,,,,2030-04-01,,140.9482,37.6436
";

    fn towns() -> Vec<Town> {
        parse(TOWNS).unwrap()
    }

    fn today() -> Date {
        time::macros::date!(2026 - 12 - 01)
    }

    fn id(t: Option<&Town>) -> &str {
        t.map_or("none", |t| t.id.as_str())
    }

    #[test]
    fn matches_addresses() {
        let t = towns();
        let m = |pc: Option<&str>, a: &str| id(match_address(&t, today(), pc, a)).to_string();
        assert_eq!(m(None, "福島県南相馬市本町一丁目5番地"), "0721250001001");
        assert_eq!(m(None, "南相馬市本町１丁目"), "0721250001001", "full-width digit");
        assert_eq!(m(None, "南相馬市 本町 2丁目 3-4"), "0721250001002", "spaces");
        assert_eq!(m(None, "南相馬市本町2-3-4"), "0721250001002", "N- for N丁目");
        assert_eq!(m(None, "仙台市青葉区本町1丁目"), "0410170001001");
        assert_eq!(m(None, "仙台市本町一丁目"), "0410170001001", "ward left out");
        assert_eq!(m(None, "北原上ノ台12"), "0721250007001");
        // 南相馬市 contains 相馬市: the longer locality wins even though 相馬市 has the longer name.
        assert_eq!(m(None, "南相馬市中央一丁目"), "0721250003000");
        assert_eq!(m(None, "相馬市中央一丁目"), "0720950003001");
        // Name alone: 本町一丁目 exists in two cities; the postcode picks, else the smaller id.
        assert_eq!(m(None, "本町一丁目"), "0410170001001");
        assert_eq!(m(Some("975-0001"), "本町一丁目"), "0721250001001");
        assert_eq!(m(Some("〒９８０－００１４"), "本町1丁目"), "0410170001001");
        // A postcode nobody has, or one that contradicts the address, does not hide the match.
        assert_eq!(m(Some("1000001"), "相馬市中央1丁目"), "0720950003001");
        assert_eq!(m(Some("9750001"), "相馬市中央1丁目"), "0720950003001");
        assert_eq!(m(None, "南相馬市架空町"), "none", "known city, unknown town");
        assert_eq!(m(None, "  "), "none");
        assert_eq!(id(match_address(&[], today(), None, "本町")), "none");
    }

    #[test]
    fn towns_not_in_force_are_not_matched() {
        let t = towns();
        assert_eq!(id(match_address(&t, today(), None, "南相馬市旧町1")), "none", "abolished 2020-04-01");
        assert_eq!(id(match_address(&t, today(), None, "南相馬市新町1")), "none", "in effect from 2030");
        let before = time::macros::date!(2020 - 03 - 31);
        assert_eq!(id(match_address(&t, before, None, "南相馬市旧町1")), "0721250009000", "still in force then");
        let on = time::macros::date!(2020 - 04 - 01);
        assert_eq!(id(match_address(&t, on, None, "南相馬市旧町1")), "none", "abolished on the day");
        assert_eq!(id(match_address(&t, time::macros::date!(2030 - 04 - 01), None, "南相馬市新町1")), "0721250009001");
        // 旧町's point is the nearest to this spot, but 本町一丁目 is the nearest town in force.
        assert_eq!(id(nearest(&t, before, &Point::new(140.9482, 37.6436))), "0721250009000");
        assert_eq!(id(nearest(&t, today(), &Point::new(140.9482, 37.6436))), "0721250001001");
    }

    #[test]
    fn chome_numerals() {
        assert_eq!(normalize("本町 二十三丁目"), "本町23丁目");
        assert_eq!(normalize("本町十丁目"), normalize("本町１０丁目"));
        assert_eq!(normalize("本町一〇丁目"), "本町10丁目");
        assert_eq!(normalize("百二丁目"), "102丁目");
        assert_eq!(normalize("桜ヶ丘1ー2"), "桜ケ丘1-2");
        assert_eq!(normalize("ローマ"), "ローマ", "a long-vowel mark after kana stays");
        assert_eq!(normalize("丁目"), "丁目");
    }

    #[test]
    fn nearest_town() {
        let t = towns();
        assert_eq!(id(nearest(&t, today(), &Point::new(140.9481, 37.6434))), "0721250001001");
        assert_eq!(id(nearest(&t, today(), &Point::new(140.87, 38.26))), "0410170001001");
        assert_eq!(id(nearest(&[], today(), &Point::new(140.0, 37.0))), "none");
    }

    proptest! {
        // Whatever the text and the day, matching answers and never panics, and what it finds is
        // in force on that day.
        #[test]
        fn match_is_total_and_in_force(addr in ".{0,60}", pc in proptest::option::of(".{0,10}"), days in 0i64..40_000) {
            let t = towns();
            let day = time::macros::date!(1940 - 01 - 01) + time::Duration::days(days);
            for found in [
                match_address(&t, day, pc.as_deref(), &addr),
                match_address(&t, day, pc.as_deref(), &format!("南相馬市{addr}十丁目")),
                match_address(&t, day, None, &format!("南相馬市旧町{addr}")),
                nearest(&t, day, &Point::new(140.9482, 37.6436)),
            ]
            .into_iter()
            .flatten()
            {
                prop_assert!(found.in_force(day));
            }
        }
    }
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::evacuation::abr::{from_files, CsvFile};
    use crate::evacuation::data::{house_collapse_zones, landslide_zones};
    use crate::evacuation::flood::{flood_zones, FloodZones};
    use crate::evacuation::geo::PolygonIndex;

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../../demo/evacuation/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("sample file")
    }

    /// The sample towns sit where the demo needs them: in a deep flood zone, a landslide zone, a
    /// house-collapse zone, and one outside every hazard.
    #[test]
    fn shipped_towns_sit_in_the_expected_zones() {
        let (names, points) = (read("mt_town.sample.csv"), read("mt_town_pos.sample.csv"));
        let towns = from_files(&[
            CsvFile { name: "mt_town_pos.sample.csv", text: &points },
            CsvFile { name: "mt_town.sample.csv", text: &names },
        ])
        .unwrap();
        let today = time::macros::date!(2026 - 12 - 01);
        assert_eq!(towns.len(), 10);
        assert_eq!(towns.iter().filter(|t| t.in_force(today)).count(), 9, "旭町 was abolished");
        let FloodZones::Depth { zones, .. } = flood_zones(&read("flood-a31a.sample.geojson")).unwrap() else {
            panic!("the flood sample is a depth layer")
        };
        let flood = PolygonIndex::new(zones);
        let slides = PolygonIndex::new(landslide_zones(&read("landslide-a33.sample.geojson")).unwrap());
        let collapse = PolygonIndex::new(
            house_collapse_zones(&read("house-collapse.sample.geojson"))
                .unwrap()
                .into_iter()
                .map(|p| (p, ()))
                .collect(),
        );
        let town = |id: &str| towns.iter().find(|t| t.id == id).expect("sample town");
        let rank = |t: &Town| flood.at(&t.at).max().map(|r| r.get());
        let in_slide = |t: &Town| slides.at(&t.at).next().is_some();
        let in_collapse = |t: &Town| collapse.at(&t.at).next().is_some();

        assert_eq!(rank(town("0721250001001")), Some(2), "本町一丁目");
        assert_eq!(rank(town("0721250001002")), Some(2), "本町二丁目");
        let kawara = town("0721250002000");
        assert!(in_collapse(kawara) && rank(kawara) == Some(3), "川原");
        assert!(in_slide(town("0721250005000")), "山手");
        assert!(in_slide(town("0721250007001")), "北原上ノ台");
        for quiet in ["0721250004000", "0721250006000"] {
            let t = town(quiet);
            assert!(rank(t).is_none() && !in_slide(t) && !in_collapse(t), "{}", t.name());
        }
        assert_eq!(id_of(match_address(&towns, today, Some("9750002"), "南相馬市川原")), "0721250002000");
        assert_eq!(id_of(match_address(&towns, today, None, "南相馬市旭町1")), "none");
        assert_eq!(id_of(nearest(&towns, today, &Point::new(140.9785, 37.6478))), "0721250005000");
    }

    fn id_of(t: Option<&Town>) -> &str {
        t.map_or("none", |t| t.id.as_str())
    }
}
