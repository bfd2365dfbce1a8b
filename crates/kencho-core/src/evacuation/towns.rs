//! Town areas (町字) from the Address Base Registry (アドレス・ベース・レジストリ, ABR): the 町字
//! master (mt_town) joined with the representative points of its 位置参照 (mt_town_pos). Lets a
//! typed address or a map point be turned into a town, whose point the hazard layers can answer for.
//!
//! The CSV is UTF-8 with a header row (an optional BOM). Columns are found by header, in either the
//! current ASCII names or the older Japanese ones, so both downloads load unchanged. Like the other
//! loaders, the file is checked whole and the first bad row fails it, numbered as in the file.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::data::LoadError;
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
}

/// Header names per column: current ASCII first (reported when missing), then the older Japanese.
const LG_CODE: [&str; 2] = ["lg_code", "全国地方公共団体コード"];
const MACHIAZA_ID: [&str; 2] = ["machiaza_id", "町字id"];
const PREF: [&str; 2] = ["pref", "都道府県名"];
const CITY: [&str; 2] = ["city", "市区町村名"];
const WARD: [&str; 2] = ["ward", "政令市区名"];
const OAZA: [&str; 2] = ["oaza_cho", "大字・町名"];
const CHOME: [&str; 2] = ["chome", "丁目名"];
const KOAZA: [&str; 2] = ["koaza", "小字名"];
const POSTCODE: [&str; 2] = ["post_code", "郵便番号"];
const LON: [&str; 2] = ["rep_lon", "代表点_経度"];
const LAT: [&str; 2] = ["rep_lat", "代表点_緯度"];
const STATUS: [&str; 2] = ["status_flg", "状態フラグ"];

/// 状態フラグ value taken to mean 廃止 (abolished). Assumption from the ABR data specification:
/// 2 marks a town that no longer exists; every other value (確認済, 確認待ち, empty) is kept.
const ABOLISHED: &str = "2";

/// Parses the joined 町字 CSV. Rows flagged abolished are skipped before any other check (they
/// often lack a point); every other row must be complete, and a (lg_code, machiaza_id) may
/// appear once.
pub fn parse(text: &str) -> Result<Vec<Town>, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| LoadError::Row { line: 1, message: e.to_string() })?.clone();
    let col = |names: [&str; 2]| headers.iter().position(|h| names.contains(&h.trim()));
    let need = |names: [&str; 2]| col(names).ok_or_else(|| LoadError::MissingColumn(names[0].to_string()));
    let (lg_col, id_col, pref_col, city_col, oaza_col, lon_col, lat_col) =
        (need(LG_CODE)?, need(MACHIAZA_ID)?, need(PREF)?, need(CITY)?, need(OAZA)?, need(LON)?, need(LAT)?);
    let (ward_col, chome_col, koaza_col, post_col, status_col) =
        (col(WARD), col(CHOME), col(KOAZA), col(POSTCODE), col(STATUS));

    let mut out = Vec::new();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    // A quoted field may span lines and blank lines are skipped, so the line comes from the
    // reader's position rather than a count of records. That position is where the reader began,
    // before any blank lines it then skipped; those are added back.
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
            Err(e) => return Err(LoadError::Row { line: at_line(e.position(), line + 1), message: e.to_string() }),
        };
        line = at_line(rec.position(), line + 1);
        let err = |m: String| LoadError::Row { line, message: m };
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::trim).unwrap_or("");

        if status_col.is_some() && get(status_col) == ABOLISHED {
            continue;
        }
        let lg_code = get(Some(lg_col));
        if !is_digits(lg_code, 6) {
            return Err(err(format!("lg_code (全国地方公共団体コード) must be 6 digits, found \"{lg_code}\"")));
        }
        if !lg_check_digit_ok(lg_code) {
            return Err(err(format!("lg_code \"{lg_code}\" fails its check digit")));
        }
        let machiaza_id = get(Some(id_col));
        if !is_digits(machiaza_id, 7) {
            return Err(err(format!("machiaza_id (町字id) must be 7 digits, found \"{machiaza_id}\"")));
        }
        let (pref, city) = (get(Some(pref_col)), get(Some(city_col)));
        if pref.is_empty() || city.is_empty() {
            return Err(err("pref (都道府県名) and city (市区町村名) must not be empty".into()));
        }
        // A 小字 without 大字 is a published kind of 町字, so only the whole name must be present.
        let (oaza, chome, koaza) = (get(Some(oaza_col)), get(chome_col), get(koaza_col));
        if oaza.is_empty() && chome.is_empty() && koaza.is_empty() {
            return Err(err("the town has no name (oaza_cho, chome and koaza are all empty)".into()));
        }
        let post = get(post_col);
        let postcode = match postcode_digits(post) {
            _ if post.is_empty() => None,
            Some(p) => Some(p),
            None => {
                return Err(err(format!("post_code (郵便番号) must be like 9750001 or 975-0001, found \"{post}\"")))
            }
        };
        let at = match (get(Some(lon_col)).parse::<f64>(), get(Some(lat_col)).parse::<f64>()) {
            (Ok(lon), Ok(lat)) => Point::new(lon, lat),
            _ => return Err(err("rep_lon and rep_lat (代表点) must be numbers".into())),
        };
        if !at.is_valid() {
            return Err(err("rep_lon or rep_lat (代表点) out of range".into()));
        }
        let id = format!("{lg_code}{machiaza_id}");
        if let Some(first) = first_seen.insert(id.clone(), line) {
            return Err(err(format!("town {id} appears twice (first on line {first})")));
        }
        out.push(Town {
            id,
            lg_code: lg_code.to_string(),
            pref: pref.to_string(),
            city: city.to_string(),
            ward: get(ward_col).to_string(),
            oaza: oaza.to_string(),
            chome: chome.to_string(),
            koaza: koaza.to_string(),
            postcode,
            at,
        });
    }
    Ok(out)
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

/// "9750001", "975-0001", "〒９７５－０００１" → "9750001".
fn postcode_digits(s: &str) -> Option<String> {
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

/// Finds the town an address is in.
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
pub fn match_address<'a>(towns: &'a [Town], postcode: Option<&str>, address: &str) -> Option<&'a Town> {
    let addr = normalize(address);
    if addr.is_empty() {
        return None;
    }
    if let Some(pc) = postcode.and_then(postcode_digits) {
        let same: Vec<&Town> = towns.iter().filter(|t| t.postcode.as_deref() == Some(pc.as_str())).collect();
        if let Some(t) = best_match(&same, &addr) {
            return Some(t);
        }
    }
    best_match(&towns.iter().collect::<Vec<_>>(), &addr)
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

/// The town whose representative point is nearest (great-circle); ties go to the smaller id.
pub fn nearest<'a>(towns: &'a [Town], p: &Point) -> Option<&'a Town> {
    towns
        .iter()
        .map(|t| (t.at.distance_m(p), t))
        .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)))
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ASCII: &str =
        "\u{feff}lg_code,machiaza_id,pref,city,ward,oaza_cho,chome,koaza,post_code,status_flg,rep_lon,rep_lat
072125,0001001,福島県,南相馬市,,本町,一丁目,,9750001,1,140.948,37.6435
072125,0001002,福島県,南相馬市,,本町,二丁目,,975-0001,1,140.956,37.636
072125,0003000,福島県,南相馬市,,中央,,,9750003,1,140.962,37.648
072095,0003001,福島県,相馬市,,中央,一丁目,,9760003,1,140.919,37.797
041017,0001001,宮城県,仙台市,青葉区,本町,一丁目,,9800014,1,140.874,38.262
072125,0009000,福島県,南相馬市,,旧町,,,,2,,
072125,0007001,福島県,南相馬市,,北原,,上ノ台,,,140.979,37.6455
";

    const JAPANESE: &str =
        "全国地方公共団体コード,町字id,都道府県名,市区町村名,大字・町名,丁目名,代表点_経度,代表点_緯度
072125,0001001,福島県,南相馬市,本町,一丁目,140.948,37.6435
072125,0002000,福島県,南相馬市,川原,,140.952,37.6401
";

    fn towns() -> Vec<Town> {
        parse(ASCII).unwrap()
    }

    fn id(t: Option<&Town>) -> &str {
        t.map_or("none", |t| t.id.as_str())
    }

    #[test]
    fn parses_the_ascii_headers() {
        let t = towns();
        assert_eq!(t.len(), 6, "the abolished row is skipped");
        assert_eq!(t[0].id, "0721250001001");
        assert_eq!((t[0].name(), t[0].full_name()), ("本町一丁目".into(), "福島県南相馬市本町一丁目".into()));
        assert_eq!(t[1].postcode.as_deref(), Some("9750001"), "the hyphen is dropped");
        assert_eq!(t[4].full_name(), "宮城県仙台市青葉区本町一丁目");
        assert_eq!((t[5].name(), t[5].postcode.clone()), ("北原上ノ台".into(), None));
        assert_eq!(t[5].at, Point::new(140.979, 37.6455));
    }

    #[test]
    fn parses_the_japanese_headers() {
        let t = parse(JAPANESE).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[1].id.as_str(), t[1].name().as_str(), t[1].ward.as_str()), ("0721250002000", "川原", ""));
        assert_eq!(t[1].postcode, None, "no post code column");
    }

    #[test]
    fn bad_rows_fail_with_their_line() {
        let line_err = |text: &str| match parse(text) {
            Err(LoadError::Row { line, .. }) => line,
            other => panic!("{other:?}"),
        };
        assert_eq!(line_err(&ASCII.replace("140.956,37.636", "east,37.636")), 3);
        assert_eq!(line_err(&ASCII.replace("140.956,37.636", "140.956,97.0")), 3);
        assert_eq!(line_err(&ASCII.replace("072095,", "072096,")), 5, "check digit");
        assert_eq!(line_err(&ASCII.replace(",0003000,", ",300,")), 4);
        assert_eq!(line_err(&ASCII.replace("9760003", "976-003")), 5);
        assert_eq!(line_err(&ASCII.replace(",中央,,,", ",,,,")), 4, "no name at all");
        assert_eq!(line_err(&ASCII.replace(",宮城県,", ",,")), 6);
        assert_eq!(line_err(&ASCII.replace(",上ノ台,", ",上ノ台,,")), 8, "a field too many");
        // Blank lines are skipped by the reader but still counted, and so are lines inside quotes.
        let gap = ASCII.replacen("\n072125,0001002", "\n\r\n\n072125,0001002", 1);
        assert_eq!(line_err(&gap.replace("140.956,37.636", "x,37.636")), 5);
        let quoted = ASCII.replacen(",本町,一丁目,", ",\"本\n町\",一丁目,", 1);
        assert_eq!(line_err(&quoted.replace("140.956,37.636", "x,37.636")), 4);
        assert_eq!(line_err(&gap.replace(",上ノ台,", ",上ノ台,,")), 10);
    }

    #[test]
    fn missing_columns_and_duplicates() {
        assert_eq!(parse(&ASCII.replace("rep_lat", "lat")), Err(LoadError::MissingColumn("rep_lat".into())));
        assert_eq!(parse("pref,city\n"), Err(LoadError::MissingColumn("lg_code".into())));
        let twice = format!("{ASCII}072125,0001001,福島県,南相馬市,,本町,一丁目,,,1,140.9,37.6\n");
        assert_eq!(
            parse(&twice).unwrap_err().to_string(),
            "line 9: town 0721250001001 appears twice (first on line 2)"
        );
        // An abolished row may share the id of its successor.
        let replaced = format!("{ASCII}072125,0001001,福島県,南相馬市,,本町,一丁目,,,2,140.9,37.6\n");
        assert_eq!(parse(&replaced).unwrap().len(), 6);
    }

    #[test]
    fn matches_addresses() {
        let t = towns();
        assert_eq!(id(match_address(&t, None, "福島県南相馬市本町一丁目5番地")), "0721250001001");
        assert_eq!(id(match_address(&t, None, "南相馬市本町１丁目")), "0721250001001", "full-width digit");
        assert_eq!(id(match_address(&t, None, "南相馬市 本町 2丁目 3-4")), "0721250001002", "spaces");
        assert_eq!(id(match_address(&t, None, "南相馬市本町2-3-4")), "0721250001002", "N- for N丁目");
        assert_eq!(id(match_address(&t, None, "仙台市青葉区本町1丁目")), "0410170001001");
        assert_eq!(id(match_address(&t, None, "仙台市本町一丁目")), "0410170001001", "ward left out");
        assert_eq!(id(match_address(&t, None, "北原上ノ台12")), "0721250007001");
        // 南相馬市 contains 相馬市: the longer locality wins even though 相馬市 has the longer name.
        assert_eq!(id(match_address(&t, None, "南相馬市中央一丁目")), "0721250003000");
        assert_eq!(id(match_address(&t, None, "相馬市中央一丁目")), "0720950003001");
        // Name alone: 本町一丁目 exists in two cities; the postcode picks, else the smaller id.
        assert_eq!(id(match_address(&t, None, "本町一丁目")), "0410170001001");
        assert_eq!(id(match_address(&t, Some("975-0001"), "本町一丁目")), "0721250001001");
        assert_eq!(id(match_address(&t, Some("〒９８０－００１４"), "本町1丁目")), "0410170001001");
        // A postcode nobody has, or one that contradicts the address, does not hide the match.
        assert_eq!(id(match_address(&t, Some("1000001"), "相馬市中央1丁目")), "0720950003001");
        assert_eq!(id(match_address(&t, Some("9750001"), "相馬市中央1丁目")), "0720950003001");
        assert_eq!(id(match_address(&t, None, "南相馬市架空町")), "none", "known city, unknown town");
        assert_eq!(id(match_address(&t, None, "  ")), "none");
        assert_eq!(id(match_address(&[], None, "本町")), "none");
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
        assert_eq!(id(nearest(&t, &Point::new(140.9481, 37.6434))), "0721250001001");
        assert_eq!(id(nearest(&t, &Point::new(140.87, 38.26))), "0410170001001");
        assert_eq!(id(nearest(&[], &Point::new(140.0, 37.0))), "none");
    }

    proptest! {
        // Whatever the text, parsing and matching answer, never panic.
        #[test]
        fn parse_and_match_are_total(s in ".{0,200}", addr in ".{0,60}", pc in proptest::option::of(".{0,10}")) {
            let _ = parse(&s);
            let _ = parse(&format!("{}{s}", ASCII.lines().next().unwrap_or_default()));
            let t = towns();
            let _ = match_address(&t, pc.as_deref(), &addr);
            let _ = match_address(&t, pc.as_deref(), &format!("南相馬市{addr}十丁目"));
        }
    }
}

#[cfg(test)]
mod samples {
    use super::*;
    use crate::evacuation::data::{flood_zones, house_collapse_zones, landslide_zones};
    use crate::evacuation::geo::PolygonIndex;

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../../demo/evacuation/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("sample file")
    }

    /// The sample towns sit where the demo needs them: in a deep flood zone, a landslide zone, a
    /// house-collapse zone, and one outside every hazard.
    #[test]
    fn shipped_towns_sit_in_the_expected_zones() {
        let towns = parse(&read("towns.sample.csv")).unwrap();
        assert_eq!(towns.len(), 9, "ten rows, one abolished");
        let flood = PolygonIndex::new(flood_zones(&read("flood-a31a.sample.geojson")).unwrap());
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
        assert_eq!(id_of(match_address(&towns, Some("9750002"), "南相馬市川原")), "0721250002000");
        assert_eq!(id_of(nearest(&towns, &Point::new(140.9785, 37.6478))), "0721250005000");
    }

    fn id_of(t: Option<&Town>) -> &str {
        t.map_or("none", |t| t.id.as_str())
    }
}
