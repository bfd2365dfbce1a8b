//! 気象庁防災情報XML: reads warning telegrams (気象警報・注意報, 土砂災害警戒情報, 指定河川洪水予報, …)
//! into the 警戒レベル each municipality is at. No I/O: the caller fetches the telegram.
//!
//! Elements are matched by local name, so the namespaces of `Head` and `Body` may vary; only the
//! root must be `Report`. Levels come from the kind names in force for an area (by the table in
//! [`kind_level`]) and from 警戒レベル text in the headline (see [`parse`]).
//!
//! Only 市町村等 areas (7-digit JMA codes) are reported: coarser areas (府県予報区 `070000`,
//! 一次細分区域, 市町村等をまとめた地域 — 6 digits) repeat what their municipalities say and never
//! match a household's municipality anyway.

use std::collections::{HashMap, HashSet};

use roxmltree::Node;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JmaError {
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("root element is <{0}>, expected <Report>")]
    NotReport(String),
    #[error("missing or empty Head/{0}")]
    Missing(&'static str),
    #[error("unknown Head/InfoType \"{0}\" (expected 発表, 訂正 or 取消)")]
    UnknownInfoType(String),
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Telegram {
    /// Control/Title (the telegram type), or Head/Title when Control has none.
    pub title: String,
    /// Control/Status: 通常, 訓練 or 試験 ("" if absent). Only 通常 describes real weather.
    pub status: String,
    /// Head/EventID. Empty in some telegram types (気象警報・注意報 may send `<EventID/>`).
    pub event_id: String,
    pub info_type: InfoType,
    /// Head/ReportDateTime as given (ISO 8601 with offset).
    pub report_time: String,
    /// Head/Serial; `None` when absent or empty.
    pub serial: Option<String>,
    /// Head/Headline/Text ("" if absent).
    pub headline: String,
    /// One per municipality, in the order the telegram first names them. Always empty for 取消.
    pub areas: Vec<AreaLevel>,
}

impl Telegram {
    /// Whether the telegram is about real weather (not 訓練 or 試験): only these may raise alerts.
    pub fn is_operational(&self) -> bool {
        self.status == "通常"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaLevel {
    /// JMA 市町村等 code as written, 7 digits (e.g. "0721200").
    pub code: String,
    pub name: String,
    /// 警戒レベル 1..=5, or `None` when nothing in force maps to a level.
    pub level: Option<u8>,
    /// Kind names in force, first-seen order, without repeats.
    pub kinds: Vec<String>,
    /// Kinds were listed for the area and none is in force any more (解除, なし, 発表警報・注意報はなし).
    pub cleared: bool,
}

/// The 警戒レベル a kind name stands for: a 警戒レベルN written in the name wins, then the national
/// table of 警戒レベル相当情報. Substring matches so that variants (`大雨警報(土砂災害)`,
/// `大雨警報（土砂災害、浸水害）`, the 土砂災害警戒情報 kind `土砂災害警戒`) are recognised.
///
/// 大雨警報 counts only with 土砂災害: 浸水害 alone is not a 警戒レベル相当情報. 高潮注意報 is level 3
/// only when it says it may become a warning; the telegram does not say so in a fixed place, so it
/// is always 2 here.
pub fn kind_level(name: &str) -> Option<u8> {
    if let Some(l) = level_in_text(name) {
        return Some(l);
    }
    let has = |s: &str| name.contains(s);
    if has("大雨特別警報") || has("氾濫発生情報") {
        Some(5)
    } else if has("土砂災害警戒") || has("氾濫危険情報") || has("高潮警報") || has("高潮特別警報")
    {
        // 高潮特別警報 is 警戒レベル4相当 in the Cabinet Office guidance, like 高潮警報.
        Some(4)
    } else if (has("大雨警報") && has("土砂災害")) || has("洪水警報") || has("氾濫警戒情報") {
        Some(3)
    } else if has("大雨注意報") || has("洪水注意報") || has("氾濫注意情報") || has("高潮注意報") {
        Some(2)
    } else if has("早期注意情報") {
        Some(1)
    } else {
        None
    }
}

/// The highest 警戒レベルN (N = 1–5, ASCII or full-width, spaces allowed before it) in a text.
fn level_in_text(text: &str) -> Option<u8> {
    text.match_indices("警戒レベル")
        .filter_map(|(i, m)| {
            let digit = text[i + m.len()..].chars().find(|c| !matches!(c, ' ' | '\u{3000}'))?;
            let n = match digit {
                '1'..='5' => digit as u32 - '0' as u32,
                '１'..='５' => digit as u32 - '０' as u32,
                _ => return None,
            };
            u8::try_from(n).ok()
        })
        .max()
}

/// Whether a JMA 市町村等 code (7 digits, "0721200") is in the municipality with this
/// 全国地方公共団体コード (6 digits with check digit, "072125"): JMA codes are the first 5 digits
/// plus 2 that may split a municipality. A bad check digit never matches, so a typo cannot
/// select another municipality.
///
/// Limitation: where JMA names a 政令指定都市 as a whole, a ward's own code (e.g. 041017 青葉区) does
/// not match the city's JMA code; pass the city's code.
pub fn municipality_matches(jma_code: &str, lg_code: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(jma_code, 7) || !digits(lg_code, 6) {
        return false;
    }
    let d: Vec<u32> = lg_code.bytes().map(|b| u32::from(b - b'0')).collect();
    // 総務省の検査数字: weights 6..2 on the first five digits, 11 minus the remainder mod 11, last digit.
    let sum: u32 = d[..5].iter().zip([6, 5, 4, 3, 2]).map(|(x, w)| x * w).sum();
    let check = (11 - sum % 11) % 10;
    check == d[5] && jma_code[..5] == lg_code[..5]
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// All the text inside an element, trimmed (text may be split by comments or CDATA).
fn text(n: Node) -> String {
    let s: String = n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect();
    s.trim().to_string()
}

fn child_text(n: Node, name: &str) -> Option<String> {
    child(n, name).map(text)
}

/// A 市町村等 code: 7 ASCII digits.
fn is_municipality_code(code: &str) -> bool {
    code.len() == 7 && code.bytes().all(|b| b.is_ascii_digit())
}

/// A kind's name; 大雨警報 carries 土砂災害 / 浸水害 in `Condition`, folded into the name so the
/// level table sees it.
fn kind_name(kind: Node) -> String {
    let name = child_text(kind, "Name").unwrap_or_default();
    match child_text(kind, "Condition") {
        Some(c) if !c.is_empty() && !name.contains('（') && !name.contains('(') => format!("{name}（{c}）"),
        _ => name,
    }
}

/// Whether a kind is in force; kinds without Status (headline items) are.
fn in_force(name: &str, status: Option<&str>) -> bool {
    const NOT: [&str; 3] = ["解除", "なし", "発表警報・注意報はなし"];
    !NOT.contains(&name) && !status.is_some_and(|s| NOT.contains(&s))
}

#[derive(Default)]
struct Collected {
    areas: Vec<AreaLevel>,
    index: HashMap<String, usize>,
    /// Per area: whether any kind was listed, and whether any is in force.
    seen: Vec<(bool, bool)>,
}

impl Collected {
    /// Adds one `Item`: its kinds apply to each of its areas (`Area` or `Areas/Area`).
    fn item(&mut self, item: Node) {
        let kinds: Vec<(String, bool)> = children(item, "Kind")
            .map(|k| {
                let name = kind_name(k);
                let status = child_text(k, "Status");
                let on = in_force(&name, status.as_deref());
                (name, on)
            })
            .collect();
        let areas = children(item, "Area").chain(children(item, "Areas").flat_map(|a| children(a, "Area")));
        for area in areas {
            let code = child_text(area, "Code").unwrap_or_default();
            if !is_municipality_code(&code) {
                continue;
            }
            let i = *self.index.entry(code.clone()).or_insert_with(|| {
                let name = child_text(area, "Name").unwrap_or_default();
                self.areas.push(AreaLevel { code, name, level: None, kinds: Vec::new(), cleared: false });
                self.seen.push((false, false));
                self.areas.len() - 1
            });
            for (name, on) in &kinds {
                self.seen[i].0 = true;
                if *on {
                    self.seen[i].1 = true;
                    if !self.areas[i].kinds.contains(name) {
                        self.areas[i].kinds.push(name.clone());
                    }
                }
            }
        }
    }
}

/// The telegram links of a JMA Atom feed (`entry/link/@href`), in feed order. JMA's feeds
/// (`extra.xml`, `regular.xml`, …) list recent telegrams, newest first.
pub fn feed_links(atom: &str) -> Result<Vec<String>, JmaError> {
    let doc = roxmltree::Document::parse(atom).map_err(|e| JmaError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "feed" {
        return Err(JmaError::NotReport(root.tag_name().name().to_string()));
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

/// Parses one telegram.
///
/// Areas come from `Body/Warning/Item` and `Head/Headline/Information/Item`. An area's level is
/// the highest of its kinds in force and of the headline's 警戒レベル text (e.g.
/// ＜警戒レベル４相当情報［洪水］＞, 【警戒レベル4】; the highest if several). The headline level
/// applies to the municipalities listed under Headline/Information; when it lists none, to every
/// area with something in force (a cleared area gets no level from a headline).
///
/// 取消 returns no areas: it only withdraws what was sent under the same event id.
pub fn parse(xml: &str) -> Result<Telegram, JmaError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| JmaError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Report" {
        return Err(JmaError::NotReport(root.tag_name().name().to_string()));
    }
    let control = child(root, "Control");
    let head = child(root, "Head");
    let head_text = |name| head.and_then(|h| child_text(h, name));
    // An empty EventID is what some telegram types send, so only its absence is an error.
    let event_id = head_text("EventID").ok_or(JmaError::Missing("EventID"))?;
    let report_time =
        head_text("ReportDateTime").filter(|s| !s.is_empty()).ok_or(JmaError::Missing("ReportDateTime"))?;
    let info_type = match head_text("InfoType").as_deref() {
        None | Some("") => return Err(JmaError::Missing("InfoType")),
        Some("発表") => InfoType::Issue,
        Some("訂正") => InfoType::Correction,
        Some("取消") => InfoType::Cancel,
        Some(other) => return Err(JmaError::UnknownInfoType(other.to_string())),
    };
    let title = control
        .and_then(|c| child_text(c, "Title"))
        .filter(|s| !s.is_empty())
        .or_else(|| head_text("Title"))
        .unwrap_or_default();
    let status = control.and_then(|c| child_text(c, "Status")).unwrap_or_default();
    let serial = head_text("Serial").filter(|s| !s.is_empty());
    let headline_node = head.and_then(|h| child(h, "Headline"));
    let headline = headline_node.and_then(|h| child_text(h, "Text")).unwrap_or_default();

    let mut c = Collected::default();
    let mut scope: HashSet<String> = HashSet::new();
    if info_type != InfoType::Cancel {
        if let Some(body) = child(root, "Body") {
            for item in children(body, "Warning").flat_map(|w| children(w, "Item")) {
                c.item(item);
            }
        }
        for item in headline_node.into_iter().flat_map(|h| children(h, "Information")).flat_map(|i| children(i, "Item"))
        {
            c.item(item);
            for a in children(item, "Areas").flat_map(|a| children(a, "Area")) {
                scope.extend(child_text(a, "Code").filter(|code| is_municipality_code(code)));
            }
        }
    }

    let headline_level = level_in_text(&headline);
    let Collected { mut areas, seen, .. } = c;
    for (area, (listed, on)) in areas.iter_mut().zip(seen) {
        area.cleared = listed && !on;
        let from_kinds = area.kinds.iter().filter_map(|k| kind_level(k)).max();
        let headline_applies = if scope.is_empty() { on } else { scope.contains(&area.code) };
        let from_headline = headline_level.filter(|_| headline_applies);
        area.level = from_kinds.max(from_headline);
    }
    Ok(Telegram { title, status, event_id, info_type, report_time, serial, headline, areas })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ISSUE: &str = include_str!("../../../../demo/evacuation/jma/01-issue.xml");
    const CANCEL: &str = include_str!("../../../../demo/evacuation/jma/02-cancel.xml");
    const LANDSLIDE: &str = include_str!("../../../../demo/evacuation/jma/03-landslide.xml");

    /// A minimal telegram with the real namespaces; `headline` goes inside Head/Headline.
    fn telegram(info_type: &str, headline: &str, body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Report xmlns="http://xml.kishou.go.jp/jmaxml1/">
  <Control><Title>試験用</Title><Status>通常</Status></Control>
  <Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/">
    <Title>テスト</Title>
    <ReportDateTime>2026-01-01T00:00:00+09:00</ReportDateTime>
    <EventID>test_event</EventID>
    <InfoType>{info_type}</InfoType>
    <Serial>3</Serial>
    <Headline>{headline}</Headline>
  </Head>
  <Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/">{body}</Body>
</Report>"#
        )
    }

    /// (area code, area name, [(kind name, status)]).
    type Item<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    /// A Body/Warning with one Item per area.
    fn warning(items: &[Item]) -> String {
        let mut s = String::from("<Warning type=\"気象警報・注意報（市町村等）\">");
        for (code, name, kinds) in items {
            s.push_str("<Item>");
            for (k, st) in kinds.iter() {
                s.push_str(&format!("<Kind><Name>{k}</Name><Status>{st}</Status></Kind>"));
            }
            s.push_str(&format!("<Area><Name>{name}</Name><Code>{code}</Code></Area></Item>"));
        }
        s.push_str("</Warning>");
        s
    }

    fn area<'a>(t: &'a Telegram, code: &str) -> &'a AreaLevel {
        t.areas.iter().find(|a| a.code == code).unwrap_or_else(|| panic!("no area {code} in {:?}", t.areas))
    }

    #[test]
    fn level_from_kind_name() {
        let cases = [
            ("大雨特別警報", Some(5)),
            ("氾濫発生情報", Some(5)),
            ("高潮特別警報", Some(4)),
            ("土砂災害警戒情報", Some(4)),
            ("土砂災害警戒", Some(4)),
            ("氾濫危険情報", Some(4)),
            ("高潮警報", Some(4)),
            ("大雨警報（土砂災害）", Some(3)),
            ("大雨警報(土砂災害)", Some(3)),
            ("大雨警報（土砂災害、浸水害）", Some(3)),
            ("洪水警報", Some(3)),
            ("氾濫警戒情報", Some(3)),
            ("高潮注意報", Some(2)),
            ("大雨注意報", Some(2)),
            ("洪水注意報", Some(2)),
            ("氾濫注意情報", Some(2)),
            ("早期注意情報", Some(1)),
            ("大雨警報（浸水害）", None),
            ("大雨警報", None),
            ("強風注意報", None),
            ("雷注意報", None),
            ("", None),
            ("警戒レベル4相当", Some(4)),
            ("○○川氾濫注意情報（警戒レベル５相当）", Some(5)),
            ("警戒レベル6", None),
        ];
        for (name, want) in cases {
            assert_eq!(kind_level(name), want, "{name}");
        }
    }

    #[test]
    fn condition_is_folded_into_the_kind_name() {
        let body = r#"<Warning><Item>
            <Kind><Name>大雨警報</Name><Condition>土砂災害、浸水害</Condition><Status>継続</Status></Kind>
            <Kind><Name>雷注意報</Name><Status>発表</Status></Kind>
            <Area><Name>甲町</Name><Code>0754100</Code></Area></Item></Warning>"#;
        let t = parse(&telegram("発表", "<Text>本文</Text>", body)).expect("parses");
        let a = area(&t, "0754100");
        assert_eq!(a.kinds, ["大雨警報（土砂災害、浸水害）", "雷注意報"]);
        assert_eq!(a.level, Some(3));
        assert_eq!((t.title.as_str(), t.serial.as_deref(), t.info_type), ("試験用", Some("3"), InfoType::Issue));
    }

    #[test]
    fn headline_level_applies_per_municipality() {
        // The headline's level 4 is scoped to 甲市; 乙市 keeps the level of its own kinds.
        let headline = r#"<Text>【警戒レベル4】甲市では厳重に警戒してください。</Text>
            <Information type="x"><Item><Kind><Name>大雨注意報</Name></Kind>
              <Areas><Area><Name>甲市</Name><Code>0720100</Code></Area></Areas></Item></Information>"#;
        let body = warning(&[
            ("0720100", "甲市", &[("大雨注意報", "発表")]),
            ("0720300", "乙市", &[("洪水警報", "発表"), ("強風注意報", "継続")]),
        ]);
        let t = parse(&telegram("発表", headline, &body)).expect("parses");
        assert_eq!(t.areas.len(), 2);
        assert_eq!(area(&t, "0720100").level, Some(4));
        assert_eq!(area(&t, "0720300").level, Some(3));
        assert_eq!(area(&t, "0720300").kinds, ["洪水警報", "強風注意報"]);

        // Without Information the headline speaks for every area with something in force.
        let body =
            warning(&[("0720100", "甲市", &[("雷注意報", "発表")]), ("0720300", "乙市", &[("大雨注意報", "解除")])]);
        let t = parse(&telegram("訂正", "<Text>＜警戒レベル３相当情報［洪水］＞</Text>", &body)).expect("parses");
        assert_eq!(t.info_type, InfoType::Correction);
        assert_eq!(area(&t, "0720100").level, Some(3));
        assert_eq!(area(&t, "0720300").level, None, "a cleared area takes no level from the headline");
    }

    #[test]
    fn cleared_areas() {
        let body = warning(&[
            ("0720100", "甲市", &[("大雨警報（土砂災害）", "解除"), ("洪水注意報", "解除")]),
            ("0720300", "乙市", &[("発表警報・注意報はなし", "発表警報・注意報はなし")]),
            ("0720400", "丙市", &[("大雨警報（土砂災害）", "解除"), ("洪水注意報", "継続")]),
        ]);
        let t = parse(&telegram("発表", "<Text>解除します。</Text>", &body)).expect("parses");
        for code in ["0720100", "0720300"] {
            let a = area(&t, code);
            assert!(a.cleared && a.kinds.is_empty() && a.level.is_none(), "{a:?}");
        }
        let a = area(&t, "0720400");
        assert!(!a.cleared);
        assert_eq!((a.kinds.as_slice(), a.level), (&["洪水注意報".to_string()][..], Some(2)));
    }

    #[test]
    fn cancellation_has_no_areas() {
        let t = parse(&telegram("取消", "<Text>取り消します。</Text>", "")).expect("parses");
        assert_eq!(t.info_type, InfoType::Cancel);
        assert_eq!(t.event_id, "test_event");
        assert!(t.areas.is_empty());
        // Even a cancel that repeats a body: what it withdraws must not be read as in force.
        let body = warning(&[("0720100", "甲市", &[("洪水警報", "発表")])]);
        assert!(parse(&telegram("取消", "", &body)).expect("parses").areas.is_empty());
    }

    #[test]
    fn full_width_and_ascii_digits() {
        assert_eq!(level_in_text("＜警戒レベル５相当＞"), Some(5));
        assert_eq!(level_in_text("【警戒レベル2】"), Some(2));
        assert_eq!(level_in_text("警戒レベル　４"), Some(4));
        assert_eq!(level_in_text("警戒レベル３と警戒レベル４"), Some(4));
        assert_eq!(level_in_text("警戒レベル０、警戒レベル９、警戒レベル"), None);
        assert_eq!(kind_level("警戒レベル１"), Some(1));
    }

    #[test]
    fn municipality_codes() {
        assert!(municipality_matches("0721200", "072125")); // 南相馬市
        assert!(municipality_matches("0720200", "072028")); // 会津若松市
        assert!(municipality_matches("1310100", "131016")); // 千代田区
        assert!(!municipality_matches("0720200", "072125"));
        assert!(!municipality_matches("0721200", "072126"), "bad check digit");
        assert!(!municipality_matches("072120", "072125"), "JMA code must be 7 digits");
        assert!(!municipality_matches("0721200", "07212"), "check digit required");
        assert!(!municipality_matches("０７２１２００", "072125"));
        assert!(!municipality_matches("", ""));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(matches!(parse("not xml"), Err(JmaError::Xml(_))));
        assert_eq!(parse("<Other/>"), Err(JmaError::NotReport("Other".into())));
        let t = telegram("発表", "", "");
        assert_eq!(parse(&t.replace("<EventID>test_event</EventID>", "")), Err(JmaError::Missing("EventID")));
        assert_eq!(parse(&t.replace("<InfoType>発表</InfoType>", "")), Err(JmaError::Missing("InfoType")));
        assert_eq!(
            parse(&t.replace("2026-01-01T00:00:00+09:00", "")),
            Err(JmaError::Missing("ReportDateTime")),
            "an empty time is as bad as none"
        );
        assert_eq!(parse(&telegram("遅延", "", "")), Err(JmaError::UnknownInfoType("遅延".into())));
        assert_eq!(
            JmaError::UnknownInfoType("x".into()).to_string(),
            "unknown Head/InfoType \"x\" (expected 発表, 訂正 or 取消)"
        );
        // An empty EventID is accepted: 気象警報・注意報 may send one.
        assert_eq!(parse(&t.replace("test_event", "")).map(|t| t.event_id), Ok(String::new()));
    }

    #[test]
    fn demo_telegrams() {
        let issue = parse(ISSUE).expect("01-issue parses");
        assert_eq!(issue.event_id, "20261129_sample_001");
        assert_eq!(issue.info_type, InfoType::Issue);
        assert_eq!(issue.status, "通常");
        assert!(issue.is_operational());
        assert_eq!(issue.title, "気象警報・注意報（Ｈ２７）");
        assert_eq!(issue.report_time, "2026-11-29T10:00:00+09:00");
        let codes: Vec<&str> = issue.areas.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, ["0721200", "0720200"], "the prefecture-wide 070000 is not a municipality");
        let minamisoma = area(&issue, "0721200");
        assert_eq!((minamisoma.name.as_str(), minamisoma.level), ("南相馬市", Some(3)));
        assert_eq!(minamisoma.kinds, ["大雨警報（土砂災害）", "洪水警報"]);
        let aizu = area(&issue, "0720200");
        assert_eq!((aizu.level, aizu.kinds.as_slice()), (Some(2), &["大雨注意報".to_string()][..]));
        assert!(municipality_matches(&minamisoma.code, "072125"));

        let cancel = parse(CANCEL).expect("02-cancel parses");
        assert_eq!((cancel.info_type, cancel.event_id.as_str()), (InfoType::Cancel, issue.event_id.as_str()));
        assert!(cancel.areas.is_empty());
        assert_eq!(cancel.serial, None);

        let landslide = parse(LANDSLIDE).expect("03-landslide parses");
        assert_ne!(landslide.event_id, issue.event_id);
        assert_eq!(area(&landslide, "0721200").level, Some(4));
        let soma = area(&landslide, "0720900");
        assert!(soma.cleared && soma.level.is_none());
    }

    /// Edits that keep a telegram near-valid, so mutations reach the parser's own code.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("<".to_string()),
            Just("</Item>".to_string()),
            Just("<Area><Code>0721200</Code></Area>".to_string()),
            Just("<Kind><Name>警戒レベル".to_string()),
            Just("警戒レベル５".to_string()),
            Just("&amp;".to_string()),
            Just("]]>".to_string()),
            "\\PC{0,4}",
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_arbitrary_chars(s in any::<String>()) {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_mutated_samples(which in 0usize..3,
                                           edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..40, fragment()), 1..6)) {
            let mut chars: Vec<char> = [ISSUE, CANCEL, LANDSLIDE][which].chars().collect();
            for (at, cut, insert) in edits {
                let start = at.index(chars.len() + 1);
                let end = (start + cut).min(chars.len());
                chars.splice(start..end, insert.chars());
            }
            let mutated: String = chars.into_iter().collect();
            let _ = parse(&mutated);
        }
    }

    #[test]
    fn feed_links_are_read_in_order() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
            <entry><title>気象警報・注意報</title><link type="application/xml" href="https://example.jp/a.xml"/></entry>
            <entry><title>x</title><link href="javascript:alert(1)"/></entry>
            <entry><title>土砂災害警戒情報</title><link href="http://example.jp/b.xml"/></entry></feed>"#;
        assert_eq!(feed_links(atom).expect("feed"), ["https://example.jp/a.xml", "http://example.jp/b.xml"]);
        assert!(feed_links("<Report/>").is_err());
    }
}
