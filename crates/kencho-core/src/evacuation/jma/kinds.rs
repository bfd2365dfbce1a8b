//! What a warning kind stands for: its hazard and its 警戒レベル, read from the kind's name as
//! the telegram writes it (`Kind/Name`), its `Kind/Condition`, and its `Kind/Status`.
//!
//! The table of names and levels, with the documents each comes from, is `docs/jma.md`.
//! Sources: 気象庁「防災気象情報と警戒レベルとの対応について」 (the names in use until May 2026)
//! and 気象庁「新たな防災気象情報について（令和8年〜）」 with 配信資料に関する技術情報第634号
//! (the names that carry their level, 「レベル３大雨警報」…, from 29 May 2026),
//! <https://www.jma.go.jp/jma/kishou/know/bosai/keiho-update2026/index.html>.

use serde::{Deserialize, Serialize};

/// The hazard a leveled kind is about. Levels are kept per hazard, so that lifting one
/// hazard's warning (レベル３大雨警報 解除) never lowers what another (レベル４土砂災害危険警報)
/// raised: since 2026 each hazard comes in a telegram of its own, all with an empty EventID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// 大雨 (since 2026 浸水害; before, every 大雨 kind, 大雨警報（土砂災害） included)
    Rain,
    /// 土砂災害 (土砂災害警戒情報, レベルN土砂災害…)
    Landslide,
    /// 洪水・河川の氾濫 (洪水警報, 指定河川洪水予報)
    Flood,
    /// 高潮
    StormSurge,
    /// A 警戒レベル written in a name kencho does not otherwise know.
    Other,
}

impl Hazard {
    pub fn as_str(self) -> &'static str {
        match self {
            Hazard::Rain => "rain",
            Hazard::Landslide => "landslide",
            Hazard::Flood => "flood",
            Hazard::StormSurge => "storm_surge",
            Hazard::Other => "other",
        }
    }

    /// The hazard a bracket in a headline names (＜警戒レベル４相当情報［土砂災害］＞).
    pub fn from_bracket(word: &str) -> Option<Hazard> {
        match word {
            "土砂災害" => Some(Hazard::Landslide),
            "洪水" | "氾濫" | "河川氾濫" => Some(Hazard::Flood),
            "浸水" | "浸水害" | "大雨" => Some(Hazard::Rain),
            "高潮" => Some(Hazard::StormSurge),
            _ => None,
        }
    }
}

/// `Kind/Status` of a body item (気象警報・注意報, 土砂災害警戒情報). Headline items carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "text")]
pub enum KindStatus {
    /// 発表
    Issued,
    /// 継続
    Continued,
    /// 解除
    Lifted,
    /// なし (土砂災害警戒情報) or 発表警報・注意報はなし (気象警報・注意報): nothing of this
    /// telegram's kinds is in force in the area. Not a clearance of anything in particular:
    /// since 2026 it speaks only for the hazard of its own telegram.
    Nothing,
    /// A change of grade, written 「ＡからＢ」 (特別警報から警報, 警報から注意報,
    /// 危険警報から警報 …): the kind named is the new one, and what it replaces is lifted.
    Changed(String),
}

impl KindStatus {
    /// Parses `Kind/Status`; `None` when it is none of these.
    pub fn parse(s: &str) -> Option<KindStatus> {
        match s {
            "発表" => Some(KindStatus::Issued),
            "継続" => Some(KindStatus::Continued),
            "解除" => Some(KindStatus::Lifted),
            "なし" | "発表警報・注意報はなし" => Some(KindStatus::Nothing),
            _ => s
                .split_once("から")
                .filter(|(from, to)| !from.is_empty() && !to.is_empty())
                .map(|_| KindStatus::Changed(s.to_string())),
        }
    }
}

/// What kencho reads from one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    pub hazard: Hazard,
    pub level: u8,
    /// The name itself says it lifts (「解除」, 「レベル２氾濫注意報解除」): `level` is the level
    /// of what it lifts.
    pub lifts: bool,
}

/// The telegram type decides how a few short names read (土砂災害警戒情報's 「警戒」/「解除」).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindContext {
    Warnings,
    Landslide,
    RiverFlood,
}

/// The hazard and 警戒レベル a kind stands for, or `None` when kencho does not map it
/// (強風注意報, 雷注意報, 大雨警報（浸水害）…).
///
/// In order: a trailing 「解除」 lifts what precedes it; a leading 「レベルN」 (2026 names, ASCII
/// or full-width digit) or 「警戒レベルN」 anywhere is the level; then the table of the names in
/// use before 2026. 大雨警報 counts only with 土砂災害 (in `Kind/Condition` or in the name):
/// 浸水害 alone was not 警戒レベル相当情報.
pub fn meaning(ctx: KindContext, name: &str, condition: Option<&str>) -> Option<Meaning> {
    let name = name.trim();
    if ctx == KindContext::Landslide && (name == "警戒" || name == "解除") {
        // 土砂災害警戒情報: Kind/Name 警戒 (Code 3) or 解除 (Code 1); 警戒レベル4相当.
        return Some(Meaning { hazard: Hazard::Landslide, level: 4, lifts: name == "解除" });
    }
    if let Some(base) = name.strip_suffix("解除").filter(|b| !b.is_empty()) {
        return meaning(ctx, base, condition).map(|m| Meaning { lifts: true, ..m });
    }
    let (base, in_name) = split_condition(name);
    let condition = [condition.unwrap_or(""), in_name].concat();
    let hazard = hazard_of(base);
    if let Some(level) = leading_level(base).or_else(|| level_in_text(name)) {
        return Some(Meaning { hazard, level, lifts: false });
    }
    let level = match base {
        "大雨特別警報" | "氾濫発生情報" => 5,
        // 高潮特別警報 is 警戒レベル4相当 in the guidance, like 高潮警報 (before 2026).
        "土砂災害警戒情報" | "氾濫危険情報" | "高潮警報" | "高潮特別警報" => 4,
        "大雨警報" if condition.contains("土砂災害") => 3,
        "洪水警報" | "氾濫警戒情報" => 3,
        // 高潮注意報 is level 3 only when it says it may become a warning, which the telegram
        // does not say in a fixed place: 2 here.
        "大雨注意報" | "洪水注意報" | "高潮注意報" | "氾濫注意情報" => 2,
        _ => return None,
    };
    Some(Meaning { hazard, level, lifts: false })
}

/// 「大雨警報（土砂災害、浸水害）」 → ("大雨警報", "土砂災害、浸水害").
fn split_condition(name: &str) -> (&str, &str) {
    match name.find(['（', '(']) {
        Some(i) => {
            let rest = &name[i..];
            let inner = rest.trim_start_matches(['（', '(']).trim_end_matches(['）', ')']);
            (name[..i].trim(), inner)
        }
        None => (name, ""),
    }
}

/// By the name only: 大雨警報（土砂災害） is a 大雨 kind, so that 「警報から注意報」 on the
/// 大雨注意報 that replaces it lowers the same hazard.
fn hazard_of(base: &str) -> Hazard {
    if base.contains("土砂災害") {
        Hazard::Landslide
    } else if base.contains("氾濫") || base.contains("洪水") {
        Hazard::Flood
    } else if base.contains("高潮") {
        Hazard::StormSurge
    } else if base.contains("大雨") {
        Hazard::Rain
    } else {
        Hazard::Other
    }
}

fn digit(c: char) -> Option<u8> {
    let n = match c {
        '1'..='5' => c as u32 - '0' as u32,
        '１'..='５' => c as u32 - '０' as u32,
        _ => return None,
    };
    u8::try_from(n).ok()
}

/// 「レベル４土砂災害危険警報」 → 4 (the 2026 names begin with their level).
fn leading_level(name: &str) -> Option<u8> {
    let rest = name.strip_prefix("レベル")?;
    rest.chars().find(|c| !matches!(c, ' ' | '\u{3000}')).and_then(digit)
}

/// The highest 警戒レベルN (N = 1–5, ASCII or full-width, spaces allowed before it) in a text.
pub fn level_in_text(text: &str) -> Option<u8> {
    levels_in_text(text).map(|(l, _)| l).max()
}

/// Every 警戒レベルN in a text, each with the hazard of a bracket right after it
/// (＜警戒レベル４相当情報［土砂災害］＞), if any.
pub fn levels_in_text(text: &str) -> impl Iterator<Item = (u8, Option<Hazard>)> + '_ {
    text.match_indices("警戒レベル").filter_map(|(i, m)| {
        let after = &text[i + m.len()..];
        let level = after.chars().find(|c| !matches!(c, ' ' | '\u{3000}')).and_then(digit)?;
        // The bracket belongs to this level when it comes before the next 警戒レベル or closing ＞.
        let end =
            after.find(['＞', '>', '】']).unwrap_or(after.len()).min(after.find("警戒レベル").unwrap_or(after.len()));
        let scope = &after[..end];
        let hazard = scope
            .find(['［', '['])
            .and_then(|j| scope[j..].split(['］', ']']).next())
            .map(|s| s.trim_start_matches(['［', '[']))
            .and_then(Hazard::from_bracket);
        Some((level, hazard))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(ctx: KindContext, name: &str, condition: Option<&str>) -> Option<(Hazard, u8, bool)> {
        meaning(ctx, name, condition).map(|m| (m.hazard, m.level, m.lifts))
    }

    #[test]
    fn names_of_2026_carry_their_level() {
        use Hazard::*;
        let w = KindContext::Warnings;
        let cases = [
            ("レベル５大雨特別警報", Rain, 5),
            ("レベル４大雨危険警報", Rain, 4),
            ("レベル３大雨警報", Rain, 3),
            ("レベル２大雨注意報", Rain, 2),
            ("レベル５土砂災害特別警報", Landslide, 5),
            ("レベル４土砂災害危険警報", Landslide, 4),
            ("レベル３土砂災害警報", Landslide, 3),
            ("レベル２土砂災害注意報", Landslide, 2),
            ("レベル５高潮特別警報", StormSurge, 5),
            ("レベル４高潮危険警報", StormSurge, 4),
            ("レベル３高潮警報", StormSurge, 3),
            ("レベル２高潮注意報", StormSurge, 2),
            ("レベル５氾濫特別警報", Flood, 5),
            ("レベル４氾濫危険警報", Flood, 4),
            ("レベル３氾濫警報", Flood, 3),
            ("レベル２氾濫注意報", Flood, 2),
            ("レベル4大雨危険警報", Rain, 4),
        ];
        for (name, hazard, l) in cases {
            assert_eq!(level(w, name, None), Some((hazard, l, false)), "{name}");
        }
        assert_eq!(level(KindContext::RiverFlood, "レベル２氾濫注意報解除", None), Some((Flood, 2, true)));
        assert_eq!(level(w, "レベル６大雨警報", None), None);
    }

    #[test]
    fn names_before_2026_by_the_table() {
        use Hazard::*;
        let w = KindContext::Warnings;
        let cases = [
            ("大雨特別警報", None, Some((Rain, 5, false))),
            ("大雨特別警報", Some("土砂災害"), Some((Rain, 5, false))),
            ("氾濫発生情報", None, Some((Flood, 5, false))),
            ("高潮特別警報", None, Some((StormSurge, 4, false))),
            ("土砂災害警戒情報", None, Some((Landslide, 4, false))),
            ("氾濫危険情報", None, Some((Flood, 4, false))),
            ("高潮警報", None, Some((StormSurge, 4, false))),
            ("大雨警報", Some("土砂災害"), Some((Rain, 3, false))),
            ("大雨警報", Some("土砂災害、浸水害"), Some((Rain, 3, false))),
            ("大雨警報（土砂災害）", None, Some((Rain, 3, false))),
            ("大雨警報(土砂災害)", None, Some((Rain, 3, false))),
            ("大雨警報", Some("浸水害"), None),
            ("大雨警報", None, None),
            ("洪水警報", None, Some((Flood, 3, false))),
            ("氾濫警戒情報", None, Some((Flood, 3, false))),
            ("大雨注意報", None, Some((Rain, 2, false))),
            ("洪水注意報", None, Some((Flood, 2, false))),
            ("高潮注意報", None, Some((StormSurge, 2, false))),
            ("氾濫注意情報", None, Some((Flood, 2, false))),
            ("氾濫注意情報解除", None, Some((Flood, 2, true))),
            ("強風注意報", None, None),
            ("雷注意報", None, None),
            ("暴風特別警報", None, None),
            ("", None, None),
            ("解除", None, None),
            ("警戒", None, None),
            ("警戒レベル4相当", None, Some((Other, 4, false))),
        ];
        for (name, cond, want) in cases {
            assert_eq!(level(w, name, cond), want, "{name} {cond:?}");
        }
    }

    #[test]
    fn landslide_names_are_short() {
        let l = KindContext::Landslide;
        assert_eq!(level(l, "警戒", None), Some((Hazard::Landslide, 4, false)));
        assert_eq!(level(l, "解除", None), Some((Hazard::Landslide, 4, true)));
        assert_eq!(level(l, "なし", None), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(KindStatus::parse("発表"), Some(KindStatus::Issued));
        assert_eq!(KindStatus::parse("継続"), Some(KindStatus::Continued));
        assert_eq!(KindStatus::parse("解除"), Some(KindStatus::Lifted));
        assert_eq!(KindStatus::parse("なし"), Some(KindStatus::Nothing));
        assert_eq!(KindStatus::parse("発表警報・注意報はなし"), Some(KindStatus::Nothing));
        assert_eq!(KindStatus::parse("特別警報から危険警報"), Some(KindStatus::Changed("特別警報から危険警報".into())));
        assert_eq!(KindStatus::parse("警報から注意報"), Some(KindStatus::Changed("警報から注意報".into())));
        assert_eq!(KindStatus::parse("から"), None);
        assert_eq!(KindStatus::parse("警報から"), None);
        assert_eq!(KindStatus::parse("遅延"), None);
        assert_eq!(KindStatus::parse(""), None);
    }

    #[test]
    fn levels_in_headlines() {
        assert_eq!(level_in_text("＜警戒レベル５相当＞"), Some(5));
        assert_eq!(level_in_text("【警戒レベル2】"), Some(2));
        assert_eq!(level_in_text("警戒レベル　４"), Some(4));
        assert_eq!(level_in_text("警戒レベル３と警戒レベル４"), Some(4));
        assert_eq!(level_in_text("警戒レベル０、警戒レベル９、警戒レベル"), None);
        let found: Vec<_> =
            levels_in_text("（警戒レベル４相当情報［土砂災害］）、＜警戒レベル３相当情報［洪水］＞").collect();
        assert_eq!(found, [(4, Some(Hazard::Landslide)), (3, Some(Hazard::Flood))]);
        let found: Vec<_> = levels_in_text("＜警戒レベル３相当＞南相馬市［注意］").collect();
        assert_eq!(found, [(3, None)]);
    }
}
