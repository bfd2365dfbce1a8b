//! A household's plan as the resident keeps it: their answers (where, home, people), the changes
//! they make to what the rules decide, and what each 警戒レベル means for them. No I/O, no text:
//! the web layer words it in the reader's language.

use serde::{Deserialize, Serialize};

use super::geo::Point;
use super::individual::Individual;
use super::{check, decide, Hazards, Household, Member, Needs, Plan, Site, SiteChoice, Warning, DEFAULT_SUPPLY_DAYS};

/// Most people one plan covers.
pub const MAX_MEMBERS: usize = 8;
/// Most days of supplies a household is asked about (beyond the longest bounded duration class,
/// 4 weeks).
pub const MAX_SUPPLY_DAYS: u8 = 60;
/// Travel by car in a disaster, slowed by traffic and water: about 15 km/h.
pub const CAR_M_PER_MIN: f64 = 250.0;

/// What the resident has told us, step by step. Stored as JSON with the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Answers {
    pub postcode: String,
    pub address: String,
    /// How the home is named in lists: the address, or the town area it was placed in.
    pub place: String,
    /// 町字 id from the tenant's town table ('' when not known).
    pub town_id: String,
    /// The home's position (from the town's representative point or a map click).
    pub at: Option<Point>,
    /// `at` is the town area's representative point, not the house itself.
    pub approximate: bool,
    pub living_floor: u8,
    pub has_car: bool,
    /// The answer of plans made before the days were asked: "about three days of supplies".
    pub can_hold_out: bool,
    /// Days of water, food and toilet supplies at home (`None`: not asked yet).
    pub supply_days: Option<u8>,
    pub members: Vec<Member>,
    /// A relative's or friend's house that is safe (name and address, free text).
    pub safe_house: String,
    pub choices: Choices,
    /// For a 個別避難計画: the person the plan is for, and their contact.
    pub person: String,
    /// For a 個別避難計画: what 災害対策基本法 49条の14第3項 asks to be recorded.
    pub individual: Individual,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            postcode: String::new(),
            address: String::new(),
            place: String::new(),
            town_id: String::new(),
            at: None,
            approximate: false,
            living_floor: 1,
            has_car: false,
            can_hold_out: false,
            supply_days: None,
            members: Vec::new(),
            safe_house: String::new(),
            choices: Choices::default(),
            person: String::new(),
            individual: Individual::default(),
        }
    }
}

/// The resident's changes to the rules' plan. `None` everywhere means "as the rules say".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Choices {
    /// `Some(true)`: the household chose to stay home; `Some(false)`: to leave.
    pub stay: Option<bool>,
    /// Per member, the level they leave at (3, 4 or 5).
    pub levels: Vec<Option<u8>>,
    /// The designated site they chose to go to (an id from the sites table).
    pub site_id: Option<String>,
    pub by_car: bool,
    /// Go to the safe relative's or friend's house instead of a designated site.
    pub to_safe_house: bool,
}

impl Answers {
    pub fn household(&self) -> Option<Household> {
        Some(Household {
            home: self.at?,
            living_floor: self.living_floor.max(1),
            members: if self.members.is_empty() {
                vec![Member { name: String::new(), needs: Needs::default() }]
            } else {
                self.members.clone()
            },
            has_car: self.has_car,
            supply_days: self.supplies(),
        })
    }

    /// Days of supplies: as answered, or for plans made before the question, three days when
    /// they said they could hold out.
    pub fn supplies(&self) -> u8 {
        self.supply_days.unwrap_or(if self.can_hold_out { DEFAULT_SUPPLY_DAYS } else { 0 })
    }
}

/// Where the household goes when it leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Destination {
    Site {
        choice: SiteChoice,
        minutes: u32,
    },
    SafeHouse {
        label: String,
    },
    /// Leaves, but no suitable designated site is loaded for the area.
    Unknown,
}

/// The plan as the household keeps it: the rules' plan, theirs, and what became unsafe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub rules: Plan,
    pub mine: Plan,
    pub warnings: Vec<Warning>,
    pub destination: Destination,
    pub by_car: bool,
    /// Warnings of their own for how the household travels and who is with it.
    pub advice: Vec<Advice>,
}

/// Advice the plan carries beyond the rules' verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Advice {
    /// 車での避難: traffic jams, flooded roads and underpasses; leave early or go on foot.
    ByCar,
    /// 同行避難: a cage or carrier, food, and whether the site takes pets.
    Pets,
    /// Someone who cannot hear sirens or loudspeaker broadcasts: rely on mail, screens and
    /// neighbours.
    Hearing,
    /// Someone who cannot see: a helper walks the way with them beforehand.
    Sight,
}

/// Applies the resident's choices to the rules' plan and checks the result.
pub fn resolve(h: &Household, hazards: &Hazards, sites: &[Site], choices: &Choices) -> Resolved {
    let rules = decide(h, hazards, sites);
    let mut mine = rules.clone();
    if let Some(stay) = choices.stay {
        mine.must_leave = !stay;
    }
    mine.departure_levels = (0..h.members.len())
        .map(|i| {
            if !mine.must_leave {
                return None;
            }
            let chosen = choices.levels.get(i).copied().flatten().filter(|l| (3..=5).contains(l));
            // When the household leaves against the rules' "stay", a household with someone slow
            // still goes at 3, together.
            let default = if h.members.iter().any(|m| m.needs.needs_time()) { 3 } else { 4 };
            chosen.or(rules.departure_levels.get(i).copied().flatten()).or(Some(default))
        })
        .collect();
    if let Some(chosen) = choices.site_id.as_deref().and_then(|id| sites.iter().find(|s| s.id == id)) {
        let slowest = slowest_pace(&h.members);
        let d = h.home.distance_m(&chosen.at);
        let pick = SiteChoice { site: chosen.clone(), distance_m: d, walking_min: (d / slowest).ceil() as u32 };
        mine.sites.retain(|s| s.site.id != chosen.id);
        mine.sites.insert(0, pick);
        mine.sites.truncate(2);
    }
    let warnings = check(h, hazards, &mine);
    let by_car = choices.by_car && h.has_car;
    let destination = if choices.to_safe_house {
        Destination::SafeHouse { label: String::new() }
    } else {
        match mine.sites.first() {
            Some(c) => {
                let minutes = if by_car { (c.distance_m / CAR_M_PER_MIN).ceil() as u32 } else { c.walking_min };
                Destination::Site { choice: c.clone(), minutes: minutes.max(1) }
            }
            None => Destination::Unknown,
        }
    };
    let mut advice = Vec::new();
    let any = |f: fn(&Needs) -> bool| h.members.iter().any(|m| f(&m.needs));
    if by_car {
        advice.push(Advice::ByCar);
    }
    if any(|n| n.pets) {
        advice.push(Advice::Pets);
    }
    if any(|n| n.hearing) {
        advice.push(Advice::Hearing);
    }
    if any(|n| n.sight) {
        advice.push(Advice::Sight);
    }
    Resolved { rules, mine, warnings, destination, by_car, advice }
}

fn slowest_pace(members: &[Member]) -> f64 {
    members.iter().map(|m| m.needs.pace_m_per_min()).fold(Needs::default().pace_m_per_min(), f64::min)
}

/// What the household does at one alert level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "do")]
pub enum Step {
    /// Levels 1–2: check the plan, the way and the supplies.
    Prepare,
    /// These members leave now; the others get ready.
    Leave { members: Vec<usize>, rest_ready: bool },
    /// Everyone has already left at an earlier level.
    AlreadyLeft,
    /// The household stays home, on or above its living floor.
    StayUpstairs,
    /// Level 5: disaster is imminent or happening; if still home, take the safest place now.
    SafestPlaceNow,
}

/// What the plan says to do at `level` (1–5).
pub fn step_at(mine: &Plan, level: u8) -> Step {
    if level <= 2 {
        return Step::Prepare;
    }
    if level >= 5 {
        return Step::SafestPlaceNow;
    }
    if !mine.must_leave {
        return Step::StayUpstairs;
    }
    let members: Vec<usize> = mine
        .departure_levels
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == Some(level) || (level == 4 && l.is_some_and(|l| l > 4)))
        .map(|(i, _)| i)
        .collect();
    let later = mine.departure_levels.iter().any(|l| l.is_some_and(|l| l > level));
    if members.is_empty() {
        if mine.departure_levels.iter().all(|l| l.is_some_and(|l| l < level)) {
            Step::AlreadyLeft
        } else {
            Step::Prepare
        }
    } else {
        Step::Leave { members, rest_ready: later && level < 4 }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DepthRank, Hazard};
    use super::*;
    use proptest::prelude::*;

    fn site(id: &str, lon: f64, kinds: &[Hazard]) -> Site {
        Site { id: id.into(), name: id.into(), at: Point::new(lon, 37.64), suitable_for: kinds.to_vec() }
    }

    fn answers(needs: Vec<Needs>) -> Answers {
        Answers {
            at: Some(Point::new(140.95, 37.64)),
            members: needs.into_iter().map(|n| Member { name: "x".into(), needs: n }).collect(),
            ..Answers::default()
        }
    }

    #[test]
    fn choices_change_the_plan_and_unsafe_ones_warn() {
        let hz = Hazards { flood: DepthRank::new(2), ..Default::default() };
        let a = answers(vec![Needs::default(), Needs { walking_help: true, ..Default::default() }]);
        let h = a.household().expect("has a point");
        let sites = [site("a", 140.96, &[Hazard::Flood]), site("quake", 140.951, &[Hazard::Earthquake])];
        let r = resolve(&h, &hz, &sites, &Choices::default());
        assert!(r.warnings.is_empty());
        assert!(matches!(&r.destination, Destination::Site { choice, .. } if choice.site.id == "a"));
        // Level 3 is for the person who needs time and their helpers: the household goes together.
        assert_eq!(step_at(&r.mine, 3), Step::Leave { members: vec![0, 1], rest_ready: false });
        assert_eq!(step_at(&r.mine, 4), Step::AlreadyLeft);
        assert!(r.advice.is_empty());
        let mut pets = a.clone();
        pets.members[0].needs.pets = true;
        pets.members[1].needs.hearing = true;
        pets.has_car = true;
        let r =
            resolve(&pets.household().expect("point"), &hz, &sites, &Choices { by_car: true, ..Default::default() });
        assert_eq!(r.advice, [Advice::ByCar, Advice::Pets, Advice::Hearing]);

        let unsafe_choice =
            Choices { site_id: Some("quake".into()), levels: vec![Some(5), None], ..Default::default() };
        let r = resolve(&h, &hz, &sites, &unsafe_choice);
        assert!(r.warnings.contains(&Warning::SiteUnsuitable { site: "quake".into(), hazard: Hazard::Flood }));
        assert!(r.warnings.contains(&Warning::WaitsForLevel5 { member: 0 }));
        let stay = Choices { stay: Some(true), ..Default::default() };
        let r = resolve(&h, &hz, &sites, &stay);
        assert!(r.warnings.contains(&Warning::StaysWhereRulesSayLeave));
        assert_eq!(step_at(&r.mine, 4), Step::StayUpstairs);
    }

    #[test]
    fn car_trips_are_timed_at_car_pace() {
        let hz = Hazards { flood: DepthRank::new(3), ..Default::default() };
        let mut a = answers(vec![Needs::default()]);
        a.has_car = true;
        let h = a.household().expect("point");
        let sites = [site("far", 141.0, &[Hazard::Flood])];
        let walk = resolve(&h, &hz, &sites, &Choices::default());
        let car = resolve(&h, &hz, &sites, &Choices { by_car: true, ..Default::default() });
        let mins = |r: &Resolved| match r.destination {
            Destination::Site { minutes, .. } => minutes,
            _ => 0,
        };
        assert!(mins(&car) < mins(&walk));
    }

    proptest! {
        // Whatever the resident changes, the rules' own plan is untouched, nobody is ever told
        // to wait for level 5 without a warning, and every member leaving is named once.
        #[test]
        fn any_choice_is_either_safe_or_warned(stay in proptest::option::of(any::<bool>()),
                                               levels in proptest::collection::vec(proptest::option::of(0u8..=6), 0..9),
                                               n in 1usize..=8, rank in proptest::option::of(1u8..=6), slide in any::<bool>()) {
            let landslide = slide.then_some(super::super::Landslide { phenomenon: super::super::Phenomenon::SteepSlope, red: false, designated: true });
            let hz = Hazards { flood: rank.and_then(DepthRank::new), landslide, ..Default::default() };
            let a = answers(vec![Needs::default(); n]);
            let h = a.household().expect("point");
            let r = resolve(&h, &hz, &[], &Choices { stay, levels, ..Default::default() });
            prop_assert_eq!(&r.rules, &decide(&h, &hz, &[]));
            for (i, l) in r.mine.departure_levels.iter().enumerate() {
                if *l == Some(5) {
                    let w = Warning::WaitsForLevel5 { member: i };
                    prop_assert!(r.warnings.contains(&w), "member {} waits for 5", i);
                }
            }
            if r.rules.must_leave && !r.mine.must_leave {
                prop_assert!(r.warnings.contains(&Warning::StaysWhereRulesSayLeave));
            }
            let mut named = Vec::new();
            for level in 1..=5 {
                if let Step::Leave { members, .. } = step_at(&r.mine, level) {
                    named.extend(members);
                }
            }
            named.sort_unstable();
            let leaving: Vec<usize> = r.mine.departure_levels.iter().enumerate().filter(|(_, l)| l.is_some_and(|l| l <= 4)).map(|(i, _)| i).collect();
            prop_assert_eq!(named.len(), named.iter().collect::<std::collections::BTreeSet<_>>().len());
            for i in leaving {
                prop_assert!(named.contains(&i));
            }
        }
    }
}
