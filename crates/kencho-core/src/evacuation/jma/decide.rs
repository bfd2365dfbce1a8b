//! What a telegram does to the alerts: given the levels in force per municipality (per hazard,
//! for one event) and a parsed telegram, the new levels. Pure, so the rule can be
//! property-tested: no telegram lowers a municipality's level except a clearance for that
//! municipality (a leveled kind lifted or changed there, or the river's event lifted) or a
//! cancellation (取消) of the event.
//!
//! - A kind kencho does not map (強風注意報, 雷注意報, 大雨警報（浸水害）…) changes nothing.
//! - 「なし」 / 「発表警報・注意報はなし」 changes nothing either: since 2026 each hazard comes
//!   in a telegram of its own with an empty EventID, and a wind telegram's 「なし」 says nothing
//!   of the rain (the clearance itself came earlier, as 解除).
//! - A lower level read without a clearance (a 継続 at a lower grade, a headline no longer
//!   saying 警戒レベル４) keeps the higher one: only JMA's 解除 or change of grade lowers.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Hazard, InfoType, Telegram};

/// Levels in force per hazard in one municipality, for one event.
pub type Levels = BTreeMap<Hazard, u8>;

/// Alerts are issued from 警戒レベル3 (高齢者等避難).
pub const ALERT_FROM: u8 = 3;

/// The alert level of some levels: their highest, when at least [`ALERT_FROM`].
pub fn alert_level(levels: &Levels) -> Option<u8> {
    levels.values().copied().max().filter(|l| *l >= ALERT_FROM)
}

/// Why a municipality's levels changed or did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// A higher alert level than before (or the first).
    Raised,
    /// A lower alert level, by a clearance or change of grade.
    Lowered,
    /// No level at or above 3 remains, by a clearance.
    Lifted,
    /// 取消 of the event.
    Cancelled,
    /// The same alert level (the levels per hazard may have moved below it).
    Kept,
    /// A lower level was read without a clearance: the higher one stays.
    NotLowered,
    /// Kinds in force here map to no 警戒レベル (強風注意報 …) and nothing was lifted.
    Unmapped,
    /// Levels below 3 only: no alert.
    BelowAlert,
    /// The telegram does not name the municipality.
    NotNamed,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Raised => "raised",
            Why::Lowered => "lowered",
            Why::Lifted => "lifted",
            Why::Cancelled => "cancelled",
            Why::Kept => "kept",
            Why::NotLowered => "not_lowered",
            Why::Unmapped => "unmapped",
            Why::BelowAlert => "below_alert",
            Why::NotNamed => "not_named",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The levels after the telegram; empty when no alert remains (nothing below 3 is kept).
    pub levels: Levels,
    pub why: Why,
}

impl Step {
    pub fn alert_level(&self) -> Option<u8> {
        alert_level(&self.levels)
    }
}

/// The new levels of one municipality (its first five 全国地方公共団体コード digits).
pub fn step(current: &Levels, tg: &Telegram, municipality: &str) -> Step {
    let unchanged = |why| Step { levels: current.clone(), why };
    if tg.info_type == InfoType::Cancel {
        // With an EventID, 取消 withdraws the whole event; without one, only what it names.
        let applies = !tg.event_id.is_empty() || tg.cancels.iter().any(|m| m == municipality);
        return if applies && !current.is_empty() {
            Step { levels: Levels::new(), why: Why::Cancelled }
        } else {
            unchanged(Why::NotNamed)
        };
    }
    let mut read = Levels::new();
    let mut lowered = std::collections::BTreeSet::new();
    let mut named = false;
    for a in tg.areas_in(municipality) {
        named = true;
        for (h, l) in &a.levels {
            let e = read.entry(*h).or_insert(*l);
            *e = (*e).max(*l);
        }
        lowered.extend(a.lowered.iter().copied());
    }
    if tg.lifts_event {
        // The river's event is over, named here or not.
        lowered.extend(current.keys().copied());
        named = true;
    }
    if !named {
        return unchanged(Why::NotNamed);
    }
    let mut next = current.clone();
    let hazards: std::collections::BTreeSet<Hazard> =
        current.keys().chain(read.keys()).chain(lowered.iter()).copied().collect();
    let mut held_higher = false;
    for h in hazards {
        match (lowered.contains(&h), read.get(&h)) {
            (true, Some(l)) => {
                next.insert(h, *l);
            }
            (true, None) => {
                next.remove(&h);
            }
            (false, Some(l)) => {
                let e = next.entry(h).or_insert(*l);
                held_higher |= *e > *l;
                *e = (*e).max(*l);
            }
            (false, None) => {}
        }
    }
    let (before, after) = (alert_level(current), alert_level(&next));
    if after.is_none() {
        next.clear();
    }
    let why = match (before, after) {
        (None, None) if read.is_empty() && lowered.is_empty() => Why::Unmapped,
        (None, None) => Why::BelowAlert,
        (None, Some(_)) => Why::Raised,
        (Some(_), None) => Why::Lifted,
        (Some(b), Some(a)) if a > b => Why::Raised,
        (Some(b), Some(a)) if a < b => Why::Lowered,
        _ if held_higher => Why::NotLowered,
        _ if read.is_empty() && lowered.is_empty() => Why::Unmapped,
        _ => Why::Kept,
    };
    Step { levels: next, why }
}

/// [`step`] for every municipality that has levels or that the telegram names.
pub fn next_levels(current: &BTreeMap<String, Levels>, tg: &Telegram) -> BTreeMap<String, Step> {
    let empty = Levels::new();
    let mut keys: Vec<&str> = current.keys().map(String::as_str).collect();
    keys.extend(tg.areas.iter().map(|a| a.municipality.as_str()));
    keys.extend(tg.cancels.iter().map(String::as_str));
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().map(|m| (m.to_string(), step(current.get(m).unwrap_or(&empty), tg, m))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evacuation::jma::parse;
    use proptest::prelude::*;

    /// (code, name) of the municipalities the generated telegrams speak of.
    const AREAS: [(&str, &str); 3] = [("0720100", "福島市"), ("0720200", "会津若松市"), ("0721200", "南相馬市")];

    /// (Kind/Name, Kind/Condition, kencho maps it to a level).
    const KINDS: [(&str, &str, bool); 14] = [
        ("レベル２大雨注意報", "", true),
        ("レベル３大雨警報", "", true),
        ("レベル４大雨危険警報", "", true),
        ("レベル５大雨特別警報", "", true),
        ("レベル３土砂災害警報", "", true),
        ("レベル４土砂災害危険警報", "", true),
        ("大雨警報", "土砂災害", true),
        ("大雨警報", "浸水害", false),
        ("洪水警報", "", true),
        ("高潮警報", "", true),
        ("大雨注意報", "", true),
        ("強風注意報", "", false),
        ("雷注意報", "", false),
        ("暴風警報", "", false),
    ];

    const STATUSES: [&str; 6] = ["発表", "継続", "継続", "解除", "警報から注意報", "特別警報から危険警報"];

    /// An item: the area's index, then (kind index, status index) pairs, or "nothing".
    type SpecItem = (usize, Option<Vec<(usize, usize)>>);

    #[derive(Debug, Clone)]
    struct Spec {
        info_type: &'static str,
        headline_level: Option<(u8, bool)>,
        items: Vec<SpecItem>,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let kinds = prop::collection::vec((0..KINDS.len(), 0..STATUSES.len()), 1..3);
        let item = (0..AREAS.len(), prop::option::weighted(0.9, kinds));
        (
            prop::sample::select(vec!["発表", "発表", "発表", "訂正", "取消"]),
            prop::option::of((1u8..=5, any::<bool>())),
            prop::collection::vec(item, 0..4),
        )
            .prop_map(|(info_type, headline_level, items)| Spec { info_type, headline_level, items })
    }

    fn xml(s: &Spec, event_id: &str) -> String {
        let mut body = String::from("<Warning type=\"気象警報・注意報（市町村等）\">");
        for (area, kinds) in &s.items {
            body.push_str("<Item>");
            match kinds {
                Some(ks) => {
                    for (k, st) in ks {
                        let (name, cond, _) = KINDS[*k];
                        let cond =
                            if cond.is_empty() { String::new() } else { format!("<Condition>{cond}</Condition>") };
                        body.push_str(&format!(
                            "<Kind><Name>{name}</Name>{cond}<Status>{}</Status></Kind>",
                            STATUSES[*st]
                        ));
                    }
                }
                None => body.push_str("<Kind><Status>発表警報・注意報はなし</Status></Kind>"),
            }
            let (code, name) = AREAS[*area];
            body.push_str(&format!("<Area><Name>{name}</Name><Code>{code}</Code></Area></Item>"));
        }
        body.push_str("</Warning>");
        let text = match s.headline_level {
            Some((l, true)) => format!("＜警戒レベル{l}相当情報［土砂災害］＞"),
            Some((l, false)) => format!("【警戒レベル{l}】"),
            None => "気象警報・注意報を発表します。".into(),
        };
        crate::evacuation::jma::tests::telegram(s.info_type, event_id, &format!("<Text>{text}</Text>"), &body)
    }

    /// Independently of the code under test: does the spec clear something leveled in `area`?
    fn clears(s: &Spec, area: usize, event_id: &str) -> bool {
        if s.info_type == "取消" {
            return !event_id.is_empty() || s.items.iter().any(|(a, _)| *a == area);
        }
        s.items
            .iter()
            .filter(|(a, _)| *a == area)
            .flat_map(|(_, ks)| ks.iter().flatten())
            .any(|(k, st)| KINDS[*k].2 && (STATUSES[*st] == "解除" || STATUSES[*st].contains("から")))
    }

    fn any_leveled(s: &Spec) -> bool {
        s.items.iter().flat_map(|(_, ks)| ks.iter().flatten()).any(|(k, _)| KINDS[*k].2)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// No sequence of telegrams lowers an alert's level except a clearance or a
        /// cancellation for that area; kinds kencho does not map never change anything.
        #[test]
        fn levels_fall_only_by_clearance_or_cancellation(
            specs in prop::collection::vec(spec(), 1..12),
            with_event in any::<bool>(),
        ) {
            let event_id = if with_event { "20260601_E1" } else { "" };
            let mut state: BTreeMap<String, Levels> = BTreeMap::new();
            for s in &specs {
                let tg = parse(&xml(s, event_id)).expect("generated telegrams follow the spec");
                let next = next_levels(&state, &tg);
                for (i, (code, _)) in AREAS.iter().enumerate() {
                    let m = &code[..5];
                    let before = state.get(m).and_then(alert_level).unwrap_or(0);
                    let after = next.get(m).and_then(Step::alert_level).unwrap_or(0);
                    if after < before {
                        prop_assert!(clears(s, i, event_id), "{m}: {before} → {after} without a clearance: {s:?}");
                    }
                    if s.info_type != "取消" && !any_leveled(s) {
                        let empty = Levels::new();
                        let unchanged = next.get(m).is_none_or(|st| st.levels == *state.get(m).unwrap_or(&empty));
                        prop_assert!(unchanged, "{m}: an unmapped-only telegram changed {:?} to {:?}", state.get(m), next.get(m));
                    }
                }
                state = next.into_iter().filter(|(_, st)| !st.levels.is_empty()).map(|(m, st)| (m, st.levels)).collect();
            }
        }
    }

    fn levels(pairs: &[(Hazard, u8)]) -> Levels {
        pairs.iter().copied().collect()
    }

    #[test]
    fn hazards_are_lifted_apart() {
        use crate::evacuation::jma::tests::{telegram, warning};
        // レベル４土砂災害危険警報 and レベル３大雨警報 in force; the rain telegram lifts its warning.
        let now = levels(&[(Hazard::Landslide, 4), (Hazard::Rain, 3)]);
        let body = warning(&[("0721200", "南相馬市", &[("レベル３大雨警報", "解除")])]);
        let tg = parse(&telegram("発表", "", "", &body)).unwrap();
        let s = step(&now, &tg, "07212");
        assert_eq!((s.levels, s.why), (levels(&[(Hazard::Landslide, 4)]), Why::Kept));
        // Then the landslide telegram's 「なし」 lowers nothing; its 解除 does.
        let body = warning(&[("0721200", "南相馬市", &[("", "発表警報・注意報はなし")])]);
        let tg = parse(&telegram("発表", "", "", &body)).unwrap();
        let s = step(&levels(&[(Hazard::Landslide, 4)]), &tg, "07212");
        assert_eq!(s.why, Why::Unmapped);
        let body = warning(&[("0721200", "南相馬市", &[("レベル４土砂災害危険警報", "解除")])]);
        let tg = parse(&telegram("発表", "", "", &body)).unwrap();
        let s = step(&levels(&[(Hazard::Landslide, 4)]), &tg, "07212");
        assert_eq!((s.levels, s.why), (Levels::new(), Why::Lifted));
    }

    #[test]
    fn grades_fall_by_change_and_not_by_a_lower_reading() {
        use crate::evacuation::jma::tests::{telegram, warning};
        let now = levels(&[(Hazard::Rain, 5)]);
        let body = warning(&[("0721200", "南相馬市", &[("レベル４大雨危険警報", "特別警報から危険警報")])]);
        let s = step(&now, &parse(&telegram("発表", "", "", &body)).unwrap(), "07212");
        assert_eq!((s.levels, s.why), (levels(&[(Hazard::Rain, 4)]), Why::Lowered));
        let body = warning(&[("0721200", "南相馬市", &[("レベル３大雨警報", "継続")])]);
        let s = step(&now, &parse(&telegram("発表", "", "", &body)).unwrap(), "07212");
        assert_eq!((s.levels, s.why), (now.clone(), Why::NotLowered));
        let body = warning(&[("0721200", "南相馬市", &[("強風注意報", "発表")])]);
        let s = step(&now, &parse(&telegram("発表", "", "", &body)).unwrap(), "07212");
        assert_eq!((s.levels, s.why), (now.clone(), Why::Unmapped));
        // A municipality the telegram does not name is not touched.
        let s = step(&now, &parse(&telegram("発表", "", "", &body)).unwrap(), "07202");
        assert_eq!((s.levels, s.why), (now, Why::NotNamed));
    }

    #[test]
    fn cancellation_without_event_id_is_for_the_named_only() {
        use crate::evacuation::jma::tests::{telegram, warning};
        let now = levels(&[(Hazard::Rain, 3)]);
        let body = warning(&[("0721200", "南相馬市", &[("レベル３大雨警報", "発表")])]);
        let tg = parse(&telegram("取消", "", "", &body)).unwrap();
        assert_eq!(step(&now, &tg, "07212").why, Why::Cancelled);
        assert_eq!(step(&now, &tg, "07202").why, Why::NotNamed);
        let tg = parse(&telegram("取消", "E1", "", "")).unwrap();
        assert_eq!(step(&now, &tg, "07202").why, Why::Cancelled);
        assert_eq!(step(&Levels::new(), &tg, "07202").why, Why::NotNamed);
    }
}
