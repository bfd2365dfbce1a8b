//! 気象庁防災情報XML: reads warning telegrams (気象警報・注意報 before and after the 2026
//! revision, 土砂災害警戒情報, 指定河川洪水予報) into the 警戒レベル each municipality is at, per
//! hazard, and decides what that does to an alert ([`decide`]). No I/O: the caller fetches.
//!
//! Written from 気象庁防災情報XMLフォーマット (<https://xml.kishou.go.jp/tec_material.html>:
//! 運用指針, 辞書, and the 解説資料 「気象警報・注意報（Ｈ２７）」, 「土砂災害警戒情報」,
//! 「指定河川洪水予報」) and, for the 2026 names, 配信資料に関する技術情報第634号
//! (<https://www.jma.go.jp/jma/kishou/know/bosai/keiho-update2026/tech-info/index.html>).
//! What is read, and why, is in `docs/jma.md`.
//!
//! - `Report` (namespace `http://xml.kishou.go.jp/jmaxml1/`) holds `Control` (Title, Status,
//!   EditorialOffice), `Head` (`…/informationBasis1/`: Title, ReportDateTime, EventID,
//!   InfoType, Serial, InfoKind, Headline) and `Body` (`…/body/meteorology1/` for these types).
//! - Body items are `Body/Warning[@type]/Item` with `Kind` (Name, Condition, Status) and
//!   `Area` or `Areas/Area` (Name, Code; in 指定河川洪水予報 also City, CityCode).
//! - Headline items are `Head/Headline/Information[@type]/Item` with `Kind` (Name, Code,
//!   Condition — no Status) and `Areas/Area`.
//!
//! Only 市町村等 areas are kept (7-digit `Area/Code`; in 指定河川洪水予報 `Area/CityCode`, since
//! there `Area/Code` is a water-level station or river section): coarser areas (府県予報区,
//! 一次細分区域, 市町村等をまとめた地域 — 6 digits) repeat what their municipalities say.

pub mod decide;
pub mod kinds;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use kinds::{Hazard, KindStatus, Meaning};
pub use parse::parse;

/// A telegram that does not follow the specification. The code (a key under `error.` in the
/// locales) and its values make the message (the server fills them in); `Display` is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JmaError {
    #[error("not well-formed XML: {0}")]
    NotXml(String),
    /// An element other than the one the specification puts there.
    #[error("found {found}, expected {expected}")]
    Element { found: String, expected: String },
    /// A required element is absent or empty.
    #[error("<{parent}> has no <{element}> (or it is empty)")]
    Missing { element: String, parent: String },
    /// An element whose text is not one of the values the specification allows.
    #[error("{element} is \"{found}\", expected {expected:?}")]
    Value { element: String, found: String, expected: Expected },
}

/// What the specification allows in an element whose value is refused; the server words it in the
/// reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// `Control/Status`: 通常, 訓練 or 試験.
    Operation,
    /// `Head/ReportDateTime`: a date and time with its offset.
    DateTime,
    /// `Head/InfoType`: 発表, 訂正 or 取消.
    InfoType,
    /// `Kind/Status`: 発表, 継続, 解除, なし, 発表警報・注意報はなし or a change 「ＡからＢ」.
    KindStatus,
    /// 指定河川洪水予報's `Area/CityCode`: a 市町村等 code or a 全国地方公共団体コード.
    CityCode,
}

impl JmaError {
    /// The stable code: `error.{code}` in `locales/*.toml`.
    pub fn code(&self) -> &'static str {
        match self {
            JmaError::NotXml(_) => "jma_not_xml",
            JmaError::Element { .. } => "jma_element",
            JmaError::Missing { .. } => "jma_missing",
            JmaError::Value { .. } => "jma_value",
        }
    }

    fn missing(element: &str, parent: &str) -> JmaError {
        JmaError::Missing { element: element.to_string(), parent: parent.to_string() }
    }
}

/// `Control/Status`: only 通常 describes real weather.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// 通常
    Normal,
    /// 訓練
    Drill,
    /// 試験
    Test,
}

impl Operation {
    pub fn parse(s: &str) -> Option<Operation> {
        match s {
            "通常" => Some(Operation::Normal),
            "訓練" => Some(Operation::Drill),
            "試験" => Some(Operation::Test),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Normal => "通常",
            Operation::Drill => "訓練",
            Operation::Test => "試験",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfoType {
    /// 発表
    Issue,
    /// 訂正
    Correction,
    /// 取消: withdraws the earlier telegrams with the same event id.
    Cancel,
}

impl InfoType {
    pub fn as_str(self) -> &'static str {
        match self {
            InfoType::Issue => "発表",
            InfoType::Correction => "訂正",
            InfoType::Cancel => "取消",
        }
    }
}

/// The telegram type, from `Head/InfoKind` (or `Control/Title`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "family", content = "info_kind")]
pub enum Family {
    /// 気象警報・注意報: VPWW53/54 before 2026, VPWW55–61 (one hazard each) since.
    Warnings,
    /// 土砂災害警戒情報 (VXWW50): kinds 「警戒」 and 「解除」.
    Landslide,
    /// 指定河川洪水予報 (VXKOii): one river; municipalities in `Area/CityCode`.
    RiverFlood,
    /// Any other type: its body warnings are read like 気象警報・注意報 if it has any.
    Other(String),
}

impl Family {
    fn of(info_kind: &str, title: &str) -> Family {
        let has = |s: &str| info_kind.contains(s) || title.contains(s);
        if has("土砂災害警戒情報") {
            Family::Landslide
        } else if has("指定河川洪水予報") {
            Family::RiverFlood
        } else if has("気象警報・注意報") || has("気象特別警報") {
            Family::Warnings
        } else {
            Family::Other(info_kind.to_string())
        }
    }

    pub fn context(&self) -> kinds::KindContext {
        match self {
            Family::Landslide => kinds::KindContext::Landslide,
            Family::RiverFlood => kinds::KindContext::RiverFlood,
            Family::Warnings | Family::Other(_) => kinds::KindContext::Warnings,
        }
    }
}

/// One `Kind` as the telegram writes it, kept apart: name, condition and status are separate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kind {
    /// `Kind/Name` ("" when the telegram gives none, as with 発表警報・注意報はなし).
    pub name: String,
    /// `Kind/Condition` (土砂災害 / 浸水害 for 大雨警報; 発表 / 継続 / 解除 in 土砂災害警戒情報's
    /// headline).
    pub condition: Option<String>,
    /// `Kind/Status` (body items only).
    pub status: Option<KindStatus>,
    /// The hazard and level kencho reads from it; `None` when it maps none.
    pub hazard: Option<Hazard>,
    pub level: Option<u8>,
    /// The name says it lifts (「解除」, 「…解除」).
    pub lifts: bool,
}

impl Kind {
    fn new(ctx: kinds::KindContext, name: String, condition: Option<String>, status: Option<KindStatus>) -> Kind {
        let m = kinds::meaning(ctx, &name, condition.as_deref());
        Kind {
            hazard: m.map(|m| m.hazard),
            level: m.map(|m| m.level),
            lifts: m.is_some_and(|m| m.lifts),
            name,
            condition,
            status,
        }
    }

    /// In force: not lifted (by status, name or condition) and not "nothing".
    pub fn in_force(&self) -> bool {
        let lifted_status = matches!(self.status, Some(KindStatus::Lifted | KindStatus::Nothing));
        let empty_name = matches!(self.name.as_str(), "" | "なし" | "解除" | "発表警報・注意報はなし");
        let lifted_condition = self.condition.as_deref().is_some_and(|c| c == "解除" || c == "なし");
        !lifted_status && !empty_name && !lifted_condition && !self.lifts
    }

    /// The hazard this kind explicitly lowers here: a leveled kind that is lifted (解除 as status,
    /// name or condition) or changes grade (特別警報から警報 …). 「なし」 lowers nothing.
    pub fn lowers(&self) -> Option<Hazard> {
        let hazard = self.hazard?;
        let by_status = matches!(self.status, Some(KindStatus::Lifted | KindStatus::Changed(_)));
        let by_condition = self.condition.as_deref().is_some_and(|c| c.contains("解除") || c.contains("から"));
        (self.lifts || by_status || by_condition).then_some(hazard)
    }

    /// The (hazard, level) it keeps in force, if kencho maps it.
    pub fn in_force_level(&self) -> Option<(Hazard, u8)> {
        if !self.in_force() {
            return None;
        }
        Some((self.hazard?, self.level?))
    }

    /// How people read it: the name with its condition (大雨警報（土砂災害）); 土砂災害警戒情報's
    /// 「警戒」 is the information's own name.
    pub fn label(&self, family: &Family) -> String {
        if *family == Family::Landslide && self.name == "警戒" {
            return "土砂災害警戒情報".to_string();
        }
        match &self.condition {
            // In 土砂災害警戒情報 and 指定河川洪水予報 the condition says 発表/継続/解除, not a hazard.
            Some(c)
                if self.hazard.is_some()
                    && !self.name.contains('（')
                    && !matches!(family, Family::Landslide | Family::RiverFlood) =>
            {
                format!("{}（{c}）", self.name)
            }
            _ => self.name.clone(),
        }
    }
}

/// What a telegram says about one 市町村等 area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaReading {
    /// The code as written: `Area/Code` (7 digits) or, in 指定河川洪水予報, `Area/CityCode`.
    pub code: String,
    /// The municipality: the first five digits of the 全国地方公共団体コード.
    pub municipality: String,
    pub name: String,
    /// Every kind listed for the area, body and headline, in first-seen order.
    pub kinds: Vec<Kind>,
    /// Levels in force per hazard (from the kinds and the headline's 警戒レベル).
    pub levels: BTreeMap<Hazard, u8>,
    /// Hazards the telegram explicitly lifts or changes in this area.
    pub lowered: BTreeSet<Hazard>,
}

impl AreaReading {
    /// The highest level in force, if any.
    pub fn level(&self) -> Option<u8> {
        self.levels.values().copied().max()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Telegram {
    /// Control/Title (the telegram type, e.g. 気象警報・注意報（Ｈ２７）, 土砂災害警戒情報).
    pub title: String,
    /// Head/Title (e.g. 福島県土砂災害警戒情報).
    pub head_title: String,
    pub operation: Operation,
    /// Control/EditorialOffice.
    pub office: String,
    /// Head/EventID. Empty in 気象警報・注意報.
    pub event_id: String,
    pub info_type: InfoType,
    /// Head/InfoKind.
    pub info_kind: String,
    pub family: Family,
    /// Head/ReportDateTime as given (ISO 8601 with offset).
    pub report_time: String,
    /// Head/Serial; `None` when absent or empty.
    pub serial: Option<String>,
    /// Head/Headline/Text ("" if absent).
    pub headline: String,
    /// One per 市町村等 area, in the order the telegram first names them. Empty for 取消.
    pub areas: Vec<AreaReading>,
    /// 取消: the municipalities its body still names (it withdraws what was sent for them).
    pub cancels: Vec<String>,
    /// 指定河川洪水予報 whose every level kind is lifted (「レベル２氾濫注意報解除」): the
    /// river's event is over everywhere, even where the telegram names no municipality.
    pub lifts_event: bool,
}

impl Telegram {
    /// Whether the telegram is about real weather (not 訓練 or 試験): only these may raise alerts.
    pub fn is_operational(&self) -> bool {
        self.operation == Operation::Normal
    }

    /// The telegram's areas in one municipality.
    pub fn areas_in<'a>(&'a self, municipality: &'a str) -> impl Iterator<Item = &'a AreaReading> + 'a {
        self.areas.iter().filter(move |a| a.municipality == municipality)
    }

    /// Whether the telegram speaks of the municipality at all.
    pub fn names(&self, municipality: &str) -> bool {
        self.areas_in(municipality).next().is_some() || self.cancels.iter().any(|m| m == municipality)
    }

    /// Kinds in force in the municipality that kencho maps to no level (強風注意報 …).
    pub fn unmapped_kinds(&self, municipality: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in self.areas_in(municipality).flat_map(|a| &a.kinds) {
            let label = k.label(&self.family);
            if k.in_force() && k.level.is_none() && !out.contains(&label) {
                out.push(label);
            }
        }
        out
    }

    /// Labels of the leveled kinds in force in the municipality, highest level first.
    pub fn kinds_in_force(&self, municipality: &str) -> Vec<String> {
        let mut ks: Vec<(u8, String)> = Vec::new();
        for k in self.areas_in(municipality).flat_map(|a| &a.kinds) {
            if let Some((_, l)) = k.in_force_level() {
                let label = k.label(&self.family);
                if !ks.iter().any(|(_, s)| *s == label) {
                    ks.push((l, label));
                }
            }
        }
        ks.sort_by_key(|k| std::cmp::Reverse(k.0));
        ks.into_iter().map(|(_, s)| s).collect()
    }
}

/// The municipality of a JMA area code: 7-digit 市町村等 codes are the 全国地方公共団体コード's
/// first five digits plus two that may split a municipality.
pub fn municipality_of_area(jma_code: &str) -> Option<String> {
    digits(jma_code, 7).then(|| jma_code[..5].to_string())
}

/// The municipality of a 全国地方公共団体コード (6 digits with the check digit, e.g. 072125).
/// A bad check digit is `None`, so a typo cannot select another municipality.
///
/// Limitation: where JMA names a 政令指定都市 as a whole, a ward's own code (e.g. 041017 青葉区)
/// is another municipality; give the city's code.
pub fn municipality_of_lg_code(lg_code: &str) -> Option<String> {
    if !digits(lg_code, 6) {
        return None;
    }
    let d: Vec<u32> = lg_code.bytes().map(|b| u32::from(b - b'0')).collect();
    // 総務省の検査数字: weights 6..2 on the first five digits, 11 minus the remainder mod 11, last digit.
    let sum: u32 = d[..5].iter().zip([6, 5, 4, 3, 2]).map(|(x, w)| x * w).sum();
    ((11 - sum % 11) % 10 == d[5]).then(|| lg_code[..5].to_string())
}

/// `Area/CityCode` of 指定河川洪水予報: a 7-digit 市町村等 code, or a 全国地方公共団体コード
/// with (6) or without (5) its check digit.
pub fn municipality_of_city_code(code: &str) -> Option<String> {
    match code.len() {
        7 => municipality_of_area(code),
        6 => municipality_of_lg_code(code),
        5 => digits(code, 5).then(|| code.to_string()),
        _ => None,
    }
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// The telegram links of a JMA Atom feed (`entry/link/@href`), in feed order. JMA's feeds
/// (`extra.xml`, `regular.xml`, …) list recent telegrams, newest first.
pub fn feed_links(atom: &str) -> Result<Vec<String>, JmaError> {
    let doc = roxmltree::Document::parse(atom).map_err(|e| JmaError::NotXml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "feed" {
        return Err(JmaError::Element {
            found: format!("<{}>", root.tag_name().name()),
            expected: "<feed xmlns=\"http://www.w3.org/2005/Atom\">".into(),
        });
    }
    Ok(root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "entry")
        .filter_map(|e| e.children().find(|n| n.is_element() && n.tag_name().name() == "link"))
        .filter_map(|l| l.attribute("href"))
        .filter(|h| h.starts_with("http://") || h.starts_with("https://"))
        .map(str::to_string)
        .collect())
}
