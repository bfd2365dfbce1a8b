//! マイ避難 (My Evacuation): the rules that turn a household's hazards into its plan, without
//! I/O. Groundwork for the evacuation capability; the data loading, pages and alerts build
//! on it.
//!
//! The rules follow the national guidance as DESIGN.md summarises it:
//! - leave home if the house is in a house-collapse flood zone or a landslide zone, if the
//!   expected flood depth reaches the living floor, or if the household's supplies do not last
//!   as long as the water stays (浸水継続時間): the three conditions of 屋内安全確保 in
//!   内閣府「避難情報に関するガイドライン」 (令和3年5月, 令和4年9月改定), see [`supplies_needed_days`];
//! - a household with someone who needs time (高齢者等: the elderly, disabled people, infants,
//!   pregnant women …) leaves at 警戒レベル3 (高齢者等避難) together, since that level is for
//!   them and those who help them; everyone else at 4 (避難指示), and no one waits for 5
//!   (緊急安全確保, not always issued);
//! - go to the nearest designated emergency sites (指定緊急避難場所) suitable for every hazard the
//!   household faces.

pub mod abr;
pub mod alert;
pub mod data;
pub mod encoding;
pub mod flood;
pub mod geo;
pub mod individual;
pub mod jma;
pub mod plan;
pub mod towns;

use serde::{Deserialize, Serialize};

use geo::Point;

/// 国土数値情報 A31a depth ranks: 1 <0.5 m, 2 0.5–3 m, 3 3–5 m, 4 5–10 m, 5 10–20 m, 6 ≥20 m.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DepthRank(u8);

impl DepthRank {
    pub fn new(rank: u8) -> Option<DepthRank> {
        (1..=6).contains(&rank).then_some(DepthRank(rank))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// The deepest water the rank allows, in metres (∞ for rank 6).
    pub fn max_depth_m(self) -> f64 {
        [0.5, 3.0, 5.0, 10.0, 20.0, f64::INFINITY][usize::from(self.0 - 1)]
    }

    /// Whether water of this rank may reach a floor (1 = ground floor). The ground floor is
    /// reached above 0.5 m, each storey above it about 3 m higher.
    pub fn reaches_floor(self, floor: u8) -> bool {
        let floor_level = if floor <= 1 { 0.5 } else { f64::from(floor - 1) * 3.0 };
        self.max_depth_m() > floor_level
    }
}

/// 浸水継続時間ランク (国土数値情報 code list 浸水継続時間ランクコード): how long the water stays above
/// 0.5 m. 1 <12 h, 2 12–24 h, 3 1–3 days, 4 3–7 days, 5 1–2 weeks, 6 2–4 weeks, 7 4 weeks or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DurationRank(u8);

impl DurationRank {
    pub fn new(rank: u8) -> Option<DurationRank> {
        (1..=7).contains(&rank).then_some(DurationRank(rank))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// The longest the water may stay, in hours (`None` for rank 7, four weeks or more).
    pub fn max_hours(self) -> Option<u32> {
        [Some(12), Some(24), Some(72), Some(168), Some(336), Some(672), None][usize::from(self.0 - 1)]
    }
}

/// Days of supplies assumed where no 浸水継続時間 layer covers the home: the three days the
/// national stockpiling advice asks of every household (the question kencho used to ask).
pub const DEFAULT_SUPPLY_DAYS: u8 = 3;

/// The days of water, food and toilet supplies a household needs to stay home (屋内安全確保)
/// until the water recedes: the duration class's upper bound in whole days, or
/// [`DEFAULT_SUPPLY_DAYS`] where the duration is not known. `None` when no supplies suffice
/// (rank 7, four weeks or more has no upper bound).
///
/// 避難情報に関するガイドライン (内閣府, 令和3年5月, 令和4年9月改定), 屋内安全確保 の条件: the
/// house is outside the 家屋倒壊等氾濫想定区域, the living room is above the expected depth,
/// and "水・食糧等の備えが十分で、浸水が解消するまで（浸水継続時間）生活が可能".
pub fn supplies_needed_days(duration: Option<DurationRank>) -> Option<u8> {
    match duration {
        None => Some(DEFAULT_SUPPLY_DAYS),
        Some(d) => d.max_hours().map(|h| u8::try_from(h.div_ceil(24)).unwrap_or(u8::MAX)),
    }
}

/// Whether `days` of supplies last as long as the water may stay.
pub fn supplies_suffice(days: u8, duration: Option<DurationRank>) -> bool {
    supplies_needed_days(duration).is_some_and(|need| days >= need)
}

/// The rainfall a depth layer assumes: 計画規模 (the river plan's design rainfall) or 想定最大規模
/// (the largest rainfall that can be assumed, what evacuation planning is made for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloodScale {
    Planned,
    Maximum,
}

/// What one 国土数値情報 flood layer holds: the depth ranks of one scale, or the 浸水継続時間.
/// The products publish each as a file (folder) of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloodScenario {
    /// 計画規模: depth ranks in A31a_105 (A31_101, A31b_101).
    Planned,
    /// 想定最大規模: depth ranks in A31a_205 (A31_201, A31b_201).
    Maximum,
    /// 浸水継続時間: duration ranks in A31a_305 (A31_301, A31b_301).
    Duration,
}

impl FloodScenario {
    pub const ALL: [FloodScenario; 3] = [FloodScenario::Planned, FloodScenario::Maximum, FloodScenario::Duration];

    pub fn as_str(self) -> &'static str {
        match self {
            FloodScenario::Planned => "planned",
            FloodScenario::Maximum => "maximum",
            FloodScenario::Duration => "duration",
        }
    }

    pub fn parse(s: &str) -> Option<FloodScenario> {
        FloodScenario::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The depth scale this layer is for (`None` for the duration layer).
    pub fn scale(self) -> Option<FloodScale> {
        match self {
            FloodScenario::Planned => Some(FloodScale::Planned),
            FloodScenario::Maximum => Some(FloodScale::Maximum),
            FloodScenario::Duration => None,
        }
    }
}

/// 現象の種類 (A33_001, code list 現象種別コード).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phenomenon {
    /// 1 急傾斜地の崩壊.
    SteepSlope,
    /// 2 土石流.
    DebrisFlow,
    /// 3 地滑り.
    Landslip,
}

/// A 土砂災害警戒区域 (yellow) or 特別警戒区域 (red) of one phenomenon (A33). `designated` is false
/// for a zone whose 基礎調査 results are published but which is not yet designated (指定前, 区域区分
/// codes 3 and 4 since product spec 1.2): the danger is the same, so the rules treat it alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landslide {
    pub phenomenon: Phenomenon,
    pub red: bool,
    pub designated: bool,
}

/// What the hazard layers say about one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Hazards {
    pub flood: Option<DepthRank>,
    /// The depth layer `flood` comes from: 想定最大規模 where that layer covers the point, else
    /// 計画規模.
    pub flood_scale: Option<FloodScale>,
    /// 浸水継続時間 where a duration layer is loaded and covers the point: how many days of
    /// supplies staying home needs ([`supplies_needed_days`]).
    pub flood_duration: Option<DurationRank>,
    pub landslide: Option<Landslide>,
    /// 家屋倒壊等氾濫想定区域.
    pub house_collapse: bool,
}

/// The hazards a designated site may be suitable for (the sites CSV's 0/1 columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    Flood,
    Landslide,
    StormSurge,
    Earthquake,
    Tsunami,
    LargeFire,
    InlandFlooding,
    Volcano,
}

impl Hazards {
    /// The hazards a site must be suitable for, for this household to go there.
    pub fn kinds(&self) -> Vec<Hazard> {
        let mut v = Vec::new();
        if self.flood.is_some() || self.house_collapse {
            v.push(Hazard::Flood);
        }
        if self.landslide.is_some() {
            v.push(Hazard::Landslide);
        }
        v
    }
}

/// What a member needs. The 要配慮者 of 災害対策基本法 8条2項15号 (高齢者, 障害者, 乳幼児その他の
/// 特に配慮を要する者) and the guideline's 「高齢者等」 of 警戒レベル3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Needs {
    pub walking_help: bool,
    pub wheelchair: bool,
    pub infant: bool,
    pub medical_device: bool,
    pub pets: bool,
    /// 高齢者.
    pub elderly: bool,
    /// 妊産婦.
    pub pregnant: bool,
    /// 視覚障害.
    pub sight: bool,
    /// 聴覚障害: sirens and loudspeaker broadcasts may not reach them.
    pub hearing: bool,
}

impl Needs {
    /// People who need time to leave (高齢者等: they and their helpers go at level 3).
    pub fn needs_time(&self) -> bool {
        self.walking_help
            || self.wheelchair
            || self.infant
            || self.medical_device
            || self.elderly
            || self.pregnant
            || self.sight
            || self.hearing
    }

    /// Walking pace in metres per minute.
    pub fn pace_m_per_min(&self) -> f64 {
        if self.wheelchair || self.walking_help {
            35.0
        } else if self.infant || self.medical_device || self.elderly || self.pregnant || self.sight {
            50.0
        } else {
            67.0 // about 4 km/h
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub needs: Needs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    pub home: Point,
    /// Floor of the living room (1 = ground floor).
    pub living_floor: u8,
    pub members: Vec<Member>,
    pub has_car: bool,
    /// Days of water, food and toilet supplies at home.
    pub supply_days: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub at: Point,
    pub suitable_for: Vec<Hazard>,
}

impl Site {
    pub fn suits(&self, hazards: &[Hazard]) -> bool {
        hazards.iter().all(|h| self.suitable_for.contains(h))
    }
}

/// Why the household leaves or may stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    HouseCollapseZone,
    LandslideZone,
    FloodReachesLivingFloor,
    /// The supplies do not last as long as the water may stay ([`Plan::supplies_needed_days`]).
    CannotHoldOut,
    /// The water may stay four weeks or more (浸水継続時間 rank 7): no supplies suffice.
    WaterStaysWeeks,
    /// In a flood zone, living floor above the water, supplies to wait: stay upstairs.
    StayAboveWater,
    NoHazard,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteChoice {
    pub site: Site,
    pub distance_m: f64,
    pub walking_min: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub must_leave: bool,
    pub reasons: Vec<Reason>,
    /// The 警戒レベル at which each member leaves (3 or 4), or `None` when the household stays.
    pub departure_levels: Vec<Option<u8>>,
    /// The two nearest suitable designated sites.
    pub sites: Vec<SiteChoice>,
    pub checklist: Vec<ChecklistItem>,
    /// In a flood zone: the days of supplies staying home needs (`None`: none suffice, or no
    /// flood zone).
    pub supplies_needed_days: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistItem {
    Water,
    Food,
    Flashlight,
    PhoneCharger,
    Medicines,
    MedicalDeviceBattery,
    InfantSupplies,
    PetSupplies,
    WheelchairPath,
    Documents,
    /// 母子健康手帳 and what a pregnant woman needs.
    MaternityRecord,
}

/// Decides the plan. Deterministic: same inputs, same plan.
pub fn decide(h: &Household, hazards: &Hazards, sites: &[Site]) -> Plan {
    let mut reasons = Vec::new();
    if hazards.house_collapse {
        reasons.push(Reason::HouseCollapseZone);
    }
    if hazards.landslide.is_some() {
        reasons.push(Reason::LandslideZone);
    }
    if let Some(rank) = hazards.flood {
        if rank.reaches_floor(h.living_floor) {
            reasons.push(Reason::FloodReachesLivingFloor);
        } else if supplies_needed_days(hazards.flood_duration).is_none() {
            reasons.push(Reason::WaterStaysWeeks);
        } else if !supplies_suffice(h.supply_days, hazards.flood_duration) {
            reasons.push(Reason::CannotHoldOut);
        }
    }
    let must_leave = !reasons.is_empty();
    if !must_leave {
        reasons.push(if hazards.flood.is_some() { Reason::StayAboveWater } else { Reason::NoHazard });
    }
    // 警戒レベル3 is for 高齢者等 *and those who help them* (guideline, 警戒レベル3 高齢者等避難):
    // the household leaves together rather than sending its slowest member alone.
    let level = if h.members.iter().any(|m| m.needs.needs_time()) { 3 } else { 4 };
    let departure_levels = h.members.iter().map(|_| must_leave.then_some(level)).collect();
    let slowest = h.members.iter().map(|m| m.needs.pace_m_per_min()).fold(Needs::default().pace_m_per_min(), f64::min);
    let wanted = hazards.kinds();
    let mut suitable: Vec<SiteChoice> = sites
        .iter()
        .filter(|s| s.suits(&wanted))
        .map(|s| {
            let d = h.home.distance_m(&s.at);
            SiteChoice { site: s.clone(), distance_m: d, walking_min: (d / slowest).ceil() as u32 }
        })
        .collect();
    suitable.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then_with(|| a.site.id.cmp(&b.site.id)));
    suitable.truncate(2);
    let mut checklist = vec![
        ChecklistItem::Water,
        ChecklistItem::Food,
        ChecklistItem::Flashlight,
        ChecklistItem::PhoneCharger,
        ChecklistItem::Documents,
    ];
    let any = |f: fn(&Needs) -> bool| h.members.iter().any(|m| f(&m.needs));
    if any(|n| n.medical_device || n.walking_help || n.wheelchair || n.elderly || n.pregnant) {
        checklist.push(ChecklistItem::Medicines);
    }
    if any(|n| n.medical_device) {
        checklist.push(ChecklistItem::MedicalDeviceBattery);
    }
    if any(|n| n.infant) {
        checklist.push(ChecklistItem::InfantSupplies);
    }
    if any(|n| n.pregnant) {
        checklist.push(ChecklistItem::MaternityRecord);
    }
    if any(|n| n.pets) {
        checklist.push(ChecklistItem::PetSupplies);
    }
    if any(|n| n.wheelchair) {
        checklist.push(ChecklistItem::WheelchairPath);
    }
    let supplies_needed_days = hazards.flood.and_then(|_| supplies_needed_days(hazards.flood_duration));
    Plan { must_leave, reasons, departure_levels, sites: suitable, checklist, supplies_needed_days }
}

/// What is unsafe about a plan the resident changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "warning")]
pub enum Warning {
    StaysWhereRulesSayLeave,
    WaitsForLevel5 { member: usize },
    LeavesLaterThanAdvised { member: usize, advised: u8 },
    SiteUnsuitable { site: String, hazard: Hazard },
}

/// Compares a changed plan with the rules' plan and says what became unsafe.
pub fn check(h: &Household, hazards: &Hazards, changed: &Plan) -> Vec<Warning> {
    let rules = decide(h, hazards, &[]);
    let mut w = Vec::new();
    if rules.must_leave && !changed.must_leave {
        w.push(Warning::StaysWhereRulesSayLeave);
    }
    for (i, (mine, advised)) in changed.departure_levels.iter().zip(&rules.departure_levels).enumerate() {
        match (mine, advised) {
            (Some(l), _) if *l >= 5 => w.push(Warning::WaitsForLevel5 { member: i }),
            (Some(l), Some(a)) if l > a => w.push(Warning::LeavesLaterThanAdvised { member: i, advised: *a }),
            (None, Some(a)) if changed.must_leave => w.push(Warning::LeavesLaterThanAdvised { member: i, advised: *a }),
            _ => {}
        }
    }
    for s in &changed.sites {
        for hz in hazards.kinds() {
            if !s.site.suitable_for.contains(&hz) {
                w.push(Warning::SiteUnsuitable { site: s.site.id.clone(), hazard: hz });
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(needs: Needs) -> Member {
        Member { name: "x".into(), needs }
    }

    fn household(floor: u8, supply_days: u8, members: Vec<Member>) -> Household {
        Household { home: Point::new(140.47, 37.75), living_floor: floor, members, has_car: false, supply_days }
    }

    fn site(id: &str, lon: f64, kinds: &[Hazard]) -> Site {
        Site { id: id.into(), name: id.into(), at: Point::new(lon, 37.75), suitable_for: kinds.to_vec() }
    }

    #[test]
    fn depth_ranks_and_floors() {
        let r = |n| DepthRank::new(n).unwrap();
        assert!(!r(1).reaches_floor(1), "under 0.5 m stays below the ground floor");
        assert!(r(2).reaches_floor(1) && !r(2).reaches_floor(2));
        assert!(r(3).reaches_floor(2) && !r(3).reaches_floor(3));
        assert!(r(4).reaches_floor(4) && !r(4).reaches_floor(5));
        assert!(r(6).reaches_floor(30));
        assert_eq!(DepthRank::new(0), None);
        assert_eq!(DepthRank::new(7), None);
        assert_eq!(DurationRank::new(3).and_then(DurationRank::max_hours), Some(72));
        assert_eq!(DurationRank::new(7).map(DurationRank::max_hours), Some(None));
        assert_eq!((DurationRank::new(0), DurationRank::new(8)), (None, None));
        for s in FloodScenario::ALL {
            assert_eq!(FloodScenario::parse(s.as_str()), Some(s));
        }
        assert_eq!(FloodScenario::Duration.scale(), None);
    }

    #[test]
    fn a_flooded_ground_floor_leaves_and_the_slow_go_first() {
        let hz = Hazards { flood: DepthRank::new(2), ..Default::default() };
        let h =
            household(1, 3, vec![member(Needs::default()), member(Needs { wheelchair: true, ..Default::default() })]);
        let sites = [
            site("far", 140.60, &[Hazard::Flood]),
            site("near-quake", 140.48, &[Hazard::Earthquake]),
            site("near", 140.49, &[Hazard::Flood]),
        ];
        let p = decide(&h, &hz, &sites);
        assert!(p.must_leave);
        assert_eq!(p.reasons, [Reason::FloodReachesLivingFloor]);
        // Level 3 is for the person who needs time and those who help them: all go together.
        assert_eq!(p.departure_levels, [Some(3), Some(3)]);
        let ids: Vec<&str> = p.sites.iter().map(|s| s.site.id.as_str()).collect();
        assert_eq!(ids, ["near", "far"], "the earthquake-only site is not for floods");
        assert!(p.sites[0].walking_min >= (p.sites[0].distance_m / 35.0) as u32, "wheelchair pace");
        assert!(p.checklist.contains(&ChecklistItem::WheelchairPath));
    }

    #[test]
    fn upstairs_with_supplies_may_stay() {
        let hz = Hazards { flood: DepthRank::new(2), ..Default::default() };
        let p = decide(&household(2, 3, vec![member(Needs::default())]), &hz, &[]);
        assert!(!p.must_leave);
        assert_eq!(p.reasons, [Reason::StayAboveWater]);
        assert_eq!(p.supplies_needed_days, Some(3), "no duration layer: three days");
        let p = decide(&household(2, 0, vec![member(Needs::default())]), &hz, &[]);
        assert_eq!(p.reasons, [Reason::CannotHoldOut]);
        let changed = Plan { must_leave: false, departure_levels: vec![None], ..p.clone() };
        assert!(check(&household(2, 0, vec![member(Needs::default())]), &hz, &changed)
            .contains(&Warning::StaysWhereRulesSayLeave));
        // Where the water stays up to a week, three days of supplies are not enough.
        let week = Hazards { flood_duration: DurationRank::new(4), ..hz };
        let p = decide(&household(2, 3, vec![member(Needs::default())]), &week, &[]);
        assert_eq!(
            (p.must_leave, p.reasons.as_slice(), p.supplies_needed_days),
            (true, &[Reason::CannotHoldOut][..], Some(7))
        );
        assert!(!decide(&household(2, 7, vec![member(Needs::default())]), &week, &[]).must_leave);
        // Four weeks or more: no supplies suffice.
        let weeks = Hazards { flood_duration: DurationRank::new(7), ..hz };
        let p = decide(&household(2, 60, vec![member(Needs::default())]), &weeks, &[]);
        assert_eq!((p.must_leave, p.reasons.as_slice()), (true, &[Reason::WaterStaysWeeks][..]));
    }

    #[test]
    fn supplies_needed_per_duration_class() {
        let need = |r| supplies_needed_days(DurationRank::new(r));
        let got: Vec<Option<u8>> = (1..=7).map(need).collect();
        assert_eq!(got, [Some(1), Some(1), Some(3), Some(7), Some(14), Some(28), None]);
        assert_eq!(supplies_needed_days(None), Some(DEFAULT_SUPPLY_DAYS));
    }

    pub(crate) fn any_needs() -> impl Strategy<Value = Needs> {
        proptest::collection::vec(any::<bool>(), 9).prop_map(|b| Needs {
            walking_help: b[0],
            wheelchair: b[1],
            infant: b[2],
            medical_device: b[3],
            pets: b[4],
            elderly: b[5],
            pregnant: b[6],
            sight: b[7],
            hearing: b[8],
        })
    }

    pub(crate) fn any_hazards() -> impl Strategy<Value = Hazards> {
        let phenomenon =
            prop_oneof![Just(Phenomenon::DebrisFlow), Just(Phenomenon::SteepSlope), Just(Phenomenon::Landslip)];
        let landslide = proptest::option::of(
            (phenomenon, any::<bool>(), any::<bool>()).prop_map(|(phenomenon, red, designated)| Landslide {
                phenomenon,
                red,
                designated,
            }),
        );
        let scale = prop_oneof![Just(FloodScale::Planned), Just(FloodScale::Maximum)];
        (proptest::option::of(1u8..=6), scale, proptest::option::of(1u8..=7), landslide, any::<bool>()).prop_map(
            |(f, scale, d, l, c)| Hazards {
                flood: f.and_then(DepthRank::new),
                flood_scale: f.map(|_| scale),
                flood_duration: d.and_then(DurationRank::new),
                landslide: l,
                house_collapse: c,
            },
        )
    }

    proptest! {
        // For every combination of hazards and household: nobody stays where the rules say
        // leave, nobody waits for level 5, the slow leave first, and no site is unsuitable.
        #[test]
        fn plans_follow_the_rules(hz in any_hazards(), floor in 1u8..=10, hold in 0u8..=40,
                                  needs in proptest::collection::vec(any_needs(), 1..=8),
                                  kinds in proptest::collection::vec(proptest::collection::vec(prop_oneof![Just(Hazard::Flood), Just(Hazard::Landslide), Just(Hazard::Earthquake)], 0..3), 0..6)) {
            let h = household(floor, hold, needs.iter().copied().map(member).collect());
            let sites: Vec<Site> = kinds.iter().enumerate().map(|(i, k)| site(&format!("s{i}"), 140.4 + i as f64 * 0.01, k)).collect();
            let p = decide(&h, &hz, &sites);
            let must = hz.house_collapse || hz.landslide.is_some()
                || hz.flood.is_some_and(|r| r.reaches_floor(floor) || !supplies_suffice(hold, hz.flood_duration));
            prop_assert_eq!(p.must_leave, must);
            let slow = h.members.iter().any(|m| m.needs.needs_time());
            for level in &p.departure_levels {
                match level {
                    Some(l) => {
                        prop_assert!(*l <= 4);
                        // Whoever needs time goes at 3, and the household with them.
                        prop_assert_eq!(*l == 3, slow);
                    }
                    None => prop_assert!(!must),
                }
            }
            for s in &p.sites {
                prop_assert!(s.site.suits(&hz.kinds()));
            }
            prop_assert!(p.sites.len() <= 2);
            prop_assert!(check(&h, &hz, &p).is_empty(), "the rules' own plan raises no warning");
        }

        // More supplies never make the plan less safe than fewer allowed, and a longer flood
        // duration never allows staying where a shorter one forbade it.
        #[test]
        fn supplies_and_duration_are_monotone(days in 0u8..=60, more in 0u8..=60, r in 1u8..=7, longer in 0u8..=6,
                                              hz in any_hazards(), floor in 1u8..=10) {
            let (short, long) = (DurationRank::new(r), DurationRank::new((r + longer).min(7)));
            let plus = days.saturating_add(more);
            if supplies_suffice(days, short) {
                prop_assert!(supplies_suffice(plus, short));
            }
            if !supplies_suffice(days, short) {
                prop_assert!(!supplies_suffice(days, long));
            }
            let h = |d| household(floor, d, vec![member(Needs::default())]);
            let with = |d| Hazards { flood_duration: d, ..hz };
            if decide(&h(plus), &with(short), &[]).must_leave {
                prop_assert!(decide(&h(days), &with(short), &[]).must_leave, "more supplies, yet must leave");
            }
            if decide(&h(days), &with(short), &[]).must_leave {
                prop_assert!(decide(&h(days), &with(long), &[]).must_leave, "longer water, yet may stay");
            }
            if let Some(need) = supplies_needed_days(short) {
                prop_assert_eq!(supplies_suffice(days, short), days >= need);
            }
        }
    }
}
