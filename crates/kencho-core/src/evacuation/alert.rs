//! What an alert means for one household: the alert is about a hazard (洪水, 土砂災害 …) at a
//! 警戒レベル, and a household acts on it only as far as its home is exposed to that hazard. A
//! 土砂災害警戒情報 does not send a flood-only household out of its home; it tells them their home
//! is outside the landslide zone and to stay alert.
//!
//! And who speaks: a municipality issues (発令) 高齢者等避難, 避難指示 and 緊急安全確保 (災害対策基本法
//! 60条); JMA's warnings are 「警戒レベル相当情報」, information for residents' own judgement that
//! is not an order (避難情報に関するガイドライン, 警戒レベル相当情報の位置付け).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::jma::Hazard as AlertHazard;
use super::plan::{resolve, step_at, Choices, Resolved, Step};
use super::{Hazards, Household, Site};

/// Who issued an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issuance {
    /// 発令: the municipality's own evacuation information (災害対策基本法 56条, 60条).
    Order,
    /// 警戒レベル相当情報: JMA's (or a river office's) information, not an order.
    Equivalent,
}

impl Issuance {
    pub fn as_str(self) -> &'static str {
        match self {
            Issuance::Order => "order",
            Issuance::Equivalent => "equivalent",
        }
    }

    pub fn parse(s: &str) -> Option<Issuance> {
        match s {
            "order" => Some(Issuance::Order),
            "equivalent" => Some(Issuance::Equivalent),
            _ => None,
        }
    }
}

/// Where an alert came from: a staff member's 発令, or a JMA telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    Staff,
    Jma,
}

impl AlertSource {
    pub const ALL: [AlertSource; 2] = [AlertSource::Staff, AlertSource::Jma];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Staff => "staff",
            AlertSource::Jma => "jma",
        }
    }

    pub fn parse(s: &str) -> Option<AlertSource> {
        AlertSource::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What an alert from here is: JMA's are never worded as the municipality's order.
    pub fn issuance(self) -> Issuance {
        match self {
            AlertSource::Staff => Issuance::Order,
            AlertSource::Jma => Issuance::Equivalent,
        }
    }
}

/// Where an alert is in its life: a level 4–5 request waits for a second approver, an issued
/// alert is in force until it is cancelled (解除) or superseded by a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Pending,
    Issued,
    Cancelled,
    Superseded,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 4] =
        [AlertStatus::Pending, AlertStatus::Issued, AlertStatus::Cancelled, AlertStatus::Superseded];

    /// The stored name (also the locale key's last part).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Pending => "pending",
            AlertStatus::Issued => "issued",
            AlertStatus::Cancelled => "cancelled",
            AlertStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        AlertStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Pending or issued: it can still be cancelled or superseded.
    pub fn is_live(self) -> bool {
        matches!(self, AlertStatus::Pending | AlertStatus::Issued)
    }
}

impl std::fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hazards staff may name when issuing (the hazards JMA's levels are kept by).
pub const STAFF_HAZARDS: [AlertHazard; 5] =
    [AlertHazard::Flood, AlertHazard::Landslide, AlertHazard::StormSurge, AlertHazard::Rain, AlertHazard::Other];

/// Parses a hazard as stored and posted (`flood`, `landslide`, `storm_surge`, `rain`, `other`).
pub fn parse_hazard(s: &str) -> Option<AlertHazard> {
    STAFF_HAZARDS.into_iter().find(|h| h.as_str() == s)
}

/// The hazard an alert request names. A request without one (older clients) is about every
/// hazard (`Other`: the whole plan); an unknown name is `None`.
pub fn requested_hazard(s: Option<&str>) -> Option<AlertHazard> {
    match s {
        None => Some(AlertHazard::Other),
        Some(h) => parse_hazard(h),
    }
}

/// Which hazard layers the municipality has loaded: a home outside every zone of a hazard is
/// "not exposed" only where that hazard's layer is loaded; otherwise kencho cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    pub flood: bool,
    pub landslide: bool,
}

/// A home's exposure to the hazard of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// In a zone of the hazard: the hazards at home that the alert concerns.
    Exposed(Hazards),
    /// Outside every zone of the hazard, and the hazard's layer is loaded.
    NotExposed,
    /// kencho has no layer for the hazard (高潮, 大雨 without a zone of its own) or the layer is
    /// not loaded: the household acts on its whole plan.
    Unknown,
}

pub fn exposure(alert: AlertHazard, hz: &Hazards, cov: Coverage) -> Exposure {
    match alert {
        AlertHazard::Flood if hz.flood.is_some() || hz.house_collapse => {
            Exposure::Exposed(Hazards { landslide: None, ..*hz })
        }
        AlertHazard::Flood if cov.flood => Exposure::NotExposed,
        AlertHazard::Landslide if hz.landslide.is_some() => {
            Exposure::Exposed(Hazards { landslide: hz.landslide, ..Hazards::default() })
        }
        AlertHazard::Landslide if cov.landslide => Exposure::NotExposed,
        _ => Exposure::Unknown,
    }
}

/// What an alert says to one household.
#[derive(Debug, Clone, PartialEq)]
pub enum ForAlert {
    /// The home is outside the zones of every hazard the alert is about.
    NotExposed { hazards: Vec<AlertHazard> },
    /// The household acts at `level` on the plan for the hazards it is exposed to.
    Act { level: u8, hazards: Vec<AlertHazard>, resolved: Box<Resolved>, step: Step },
}

/// The household's action for an alert holding `levels` per hazard: the highest level among the
/// hazards it is exposed to (or cannot tell), on its plan for those hazards only. Where it goes
/// stays what its whole plan says (a site suitable for every hazard at home).
pub fn for_alert(
    h: &Household,
    hz: &Hazards,
    cov: Coverage,
    sites: &[Site],
    choices: &Choices,
    levels: &BTreeMap<AlertHazard, u8>,
) -> ForAlert {
    let mut level = 0;
    let mut concerned: Vec<AlertHazard> = Vec::new();
    let mut used = Hazards::default();
    let mut whole = false;
    for (hazard, l) in levels {
        match exposure(*hazard, hz, cov) {
            Exposure::NotExposed => continue,
            Exposure::Unknown => whole = true,
            Exposure::Exposed(part) => {
                used.flood = used.flood.or(part.flood);
                used.flood_scale = used.flood_scale.or(part.flood_scale);
                used.flood_duration = used.flood_duration.or(part.flood_duration);
                used.house_collapse |= part.house_collapse;
                used.landslide = used.landslide.or(part.landslide);
            }
        }
        level = level.max(*l);
        concerned.push(*hazard);
    }
    if concerned.is_empty() {
        return ForAlert::NotExposed { hazards: levels.keys().copied().collect() };
    }
    let used = if whole { *hz } else { used };
    let mut resolved = resolve(h, &used, sites, choices);
    let full = resolve(h, hz, sites, choices);
    resolved.destination = full.destination;
    resolved.mine.sites = full.mine.sites;
    let step = step_at(&resolved.mine, level);
    ForAlert::Act { level, hazards: concerned, resolved: Box::new(resolved), step }
}

#[cfg(test)]
mod tests {
    use super::super::geo::Point;
    use super::super::tests::{any_hazards, any_needs};
    use super::super::{DepthRank, Landslide, Member, Needs, Phenomenon};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sources_and_issuances_read_back_what_they_store() {
        for source in AlertSource::ALL {
            assert_eq!(AlertSource::parse(source.as_str()), Some(source));
            let issuance = source.issuance();
            assert_eq!(Issuance::parse(issuance.as_str()), Some(issuance));
        }
        assert_eq!(AlertSource::Jma.issuance(), Issuance::Equivalent);
        assert_eq!(AlertSource::parse("JMA"), None);
    }

    fn household(needs: Vec<Needs>, supply_days: u8) -> Household {
        Household {
            home: Point::new(140.47, 37.75),
            living_floor: 1,
            members: needs.into_iter().map(|n| Member { name: String::new(), needs: n }).collect(),
            has_car: false,
            supply_days,
        }
    }

    const ALL: Coverage = Coverage { flood: true, landslide: true };

    /// Every status's stored name reads back as that status, and is its JSON name and display.
    #[test]
    fn status_names_round_trip() {
        for st in AlertStatus::ALL {
            assert_eq!(AlertStatus::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{}\"", st.as_str()));
            assert_eq!(st.to_string(), st.as_str());
        }
        for bad in ["", "Issued", "canceled", "lifted"] {
            assert_eq!(AlertStatus::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_landslide_alert_does_not_send_a_flood_only_household_out() {
        let hz = Hazards { flood: DepthRank::new(3), ..Default::default() };
        let h = household(vec![Needs::default()], 0);
        let ls = BTreeMap::from([(AlertHazard::Landslide, 4)]);
        assert_eq!(
            for_alert(&h, &hz, ALL, &[], &Choices::default(), &ls),
            ForAlert::NotExposed { hazards: vec![AlertHazard::Landslide] }
        );
        // Without a landslide layer kencho cannot tell: the whole plan applies.
        let act = for_alert(&h, &hz, Coverage { flood: true, landslide: false }, &[], &Choices::default(), &ls);
        assert!(matches!(act, ForAlert::Act { level: 4, step: Step::Leave { .. }, .. }));
        let flood = BTreeMap::from([(AlertHazard::Flood, 4)]);
        assert!(matches!(
            for_alert(&h, &hz, ALL, &[], &Choices::default(), &flood),
            ForAlert::Act { level: 4, step: Step::Leave { .. }, .. }
        ));
        // A landslide household told of a flood: outside the flood zone.
        let slope = Hazards {
            landslide: Some(Landslide { phenomenon: Phenomenon::SteepSlope, red: false, designated: true }),
            ..Default::default()
        };
        assert!(matches!(for_alert(&h, &slope, ALL, &[], &Choices::default(), &flood), ForAlert::NotExposed { .. }));
        // Both hazards at once: the one the home is exposed to decides, at its own level (3:
        // nobody here needs time, so they get ready).
        let both = BTreeMap::from([(AlertHazard::Flood, 4), (AlertHazard::Landslide, 3)]);
        assert!(matches!(
            for_alert(&h, &slope, ALL, &[], &Choices::default(), &both),
            ForAlert::Act { level: 3, step: Step::Prepare, .. }
        ));
    }

    proptest! {
        // Any household with someone who needs time, told of a hazard its home is exposed to
        // and for which its plan says leave, leaves at level 3 — everyone, helpers included.
        #[test]
        fn the_slow_and_their_helpers_leave_at_3(hz in any_hazards(), needs in proptest::collection::vec(any_needs(), 1..=8),
                                                 slow in 0usize..8, days in 0u8..=30, hazard in 0usize..5, level in 3u8..=5) {
            let mut needs = needs;
            let i = slow % needs.len();
            needs[i].elderly = true;
            let h = household(needs, days);
            let alert = STAFF_HAZARDS[hazard];
            let levels = BTreeMap::from([(alert, level)]);
            match (exposure(alert, &hz, ALL), for_alert(&h, &hz, ALL, &[], &Choices::default(), &levels)) {
                (Exposure::NotExposed, r) => {
                    let not_exposed = matches!(r, ForAlert::NotExposed { .. });
                    prop_assert!(not_exposed);
                }
                (_, ForAlert::Act { resolved, step, .. }) => {
                    if resolved.rules.must_leave {
                        let all: Vec<usize> = (0..h.members.len()).collect();
                        prop_assert_eq!(step_at(&resolved.mine, 3), Step::Leave { members: all, rest_ready: false });
                        let expected = match level { 3 => step_at(&resolved.mine, 3), 4 => Step::AlreadyLeft, _ => Step::SafestPlaceNow };
                        prop_assert_eq!(step, expected);
                    }
                }
                (e, r) => prop_assert!(false, "{:?} gave {:?}", e, r),
            }
        }

        // "Not exposed" is said only where the hazard's layer is loaded and no zone of it
        // covers the home; and an exposed home is never told it is not exposed.
        #[test]
        fn not_exposed_only_with_a_layer(hz in any_hazards(), flood in any::<bool>(), landslide in any::<bool>(), hazard in 0usize..5) {
            let cov = Coverage { flood, landslide };
            let alert = STAFF_HAZARDS[hazard];
            if exposure(alert, &hz, cov) == Exposure::NotExposed {
                match alert {
                    AlertHazard::Flood => prop_assert!(flood && hz.flood.is_none() && !hz.house_collapse),
                    AlertHazard::Landslide => prop_assert!(landslide && hz.landslide.is_none()),
                    _ => prop_assert!(false, "no layer says anything of {:?}", alert),
                }
            }
        }
    }
}
