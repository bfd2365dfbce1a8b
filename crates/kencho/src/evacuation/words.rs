//! Puts a plan into words, in the reader's language: the hazards at home, why the household
//! leaves or stays, and what it does at each 警戒レベル. Pages, the print sheet and alert mails
//! all use these, so a mail says exactly what the resident's plan page says.

use kencho_core::evacuation::plan::{step_at, Advice, Answers, Destination, Resolved, Step};
use kencho_core::evacuation::{ChecklistItem, FloodScale, Hazard, Hazards, Landslide, Phenomenon, Reason, Warning};

use crate::i18n::{t, tf};

/// How a member is called: their name, or "the 2nd person".
pub fn member_label(lang: &str, answers: &Answers, i: usize) -> String {
    match answers.members.get(i).map(|m| m.name.trim()).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => tf(lang, "evacuation.member_n", &[("n", &(i + 1).to_string())]),
    }
}

fn join(lang: &str, names: Vec<String>) -> String {
    names.join(&t(lang, "evacuation.and"))
}

pub fn destination(lang: &str, answers: &Answers, r: &Resolved) -> String {
    match &r.destination {
        Destination::Site { choice, .. } => choice.site.name.clone(),
        Destination::SafeHouse { .. } if !answers.safe_house.trim().is_empty() => answers.safe_house.trim().to_string(),
        _ => t(lang, "evacuation.dest_unknown"),
    }
}

fn minutes(r: &Resolved) -> Option<u32> {
    match &r.destination {
        Destination::Site { minutes, .. } => Some(*minutes),
        _ => None,
    }
}

/// One line: what the household does at `level`, e.g. 「お母さんは車で○○小学校へ。所要15分。」
pub fn level_action(lang: &str, answers: &Answers, r: &Resolved, level: u8) -> String {
    step_action(lang, answers, r, step_at(&r.mine, level), level)
}

/// [`level_action`] for a step already decided (an alert's, for the hazards the home is exposed to).
pub fn step_action(lang: &str, answers: &Answers, r: &Resolved, step: Step, level: u8) -> String {
    let dest = destination(lang, answers, r);
    let how = t(lang, if r.by_car { "evacuation.by_car" } else { "evacuation.on_foot" });
    let time = minutes(r).map(|m| tf(lang, "evacuation.takes", &[("min", &m.to_string())])).unwrap_or_default();
    match step {
        Step::Prepare => t(lang, &format!("evacuation.prepare_{}", level.clamp(1, 4))),
        Step::Leave { members, rest_ready } => {
            let everyone = members.len() == r.mine.departure_levels.len();
            let names = if everyone && members.len() > 1 {
                t(lang, "evacuation.everyone")
            } else {
                join(lang, members.iter().map(|i| member_label(lang, answers, *i)).collect())
            };
            let mut s =
                tf(lang, "evacuation.leave", &[("names", &names), ("how", &how), ("dest", &dest), ("time", &time)]);
            if rest_ready {
                s.push_str(&t(lang, "evacuation.rest_ready"));
            }
            s
        }
        Step::AlreadyLeft => tf(lang, "evacuation.already_left", &[("dest", &dest)]),
        Step::StayUpstairs => {
            tf(lang, "evacuation.stay_upstairs", &[("floor", &answers.living_floor.max(1).to_string())])
        }
        Step::SafestPlaceNow => t(lang, "evacuation.level5"),
    }
}

pub fn level_name(lang: &str, level: u8) -> String {
    t(lang, &format!("evacuation.level{}_name", level.clamp(1, 5)))
}

pub use super::atlas::Loaded;

/// The hazards at home in words: flood depth (naming the scale it is for), flood duration where
/// that layer is loaded, landslide zone (and whether it is designated yet), house-collapse zone.
pub fn hazard_lines(lang: &str, hz: &Hazards, loaded: Loaded) -> Vec<String> {
    let mut v = Vec::new();
    match hz.flood {
        Some(rank) => {
            let scale = match hz.flood_scale {
                Some(FloodScale::Maximum) => "evacuation.scale_maximum",
                _ => "evacuation.scale_planned",
            };
            v.push(tf(lang, &format!("evacuation.flood_rank{}", rank.get()), &[("scale", &t(lang, scale))]));
        }
        None if !loaded.flood => v.push(t(lang, "evacuation.flood_no_data")),
        None => v.push(t(lang, "evacuation.flood_none")),
    }
    if let Some(d) = hz.flood_duration {
        let duration = t(lang, &format!("evacuation.duration_rank{}", d.get()));
        v.push(tf(lang, "evacuation.flood_duration", &[("duration", &duration)]));
    }
    match hz.landslide {
        Some(z) => v.push(landslide(lang, z)),
        None if !loaded.landslide => v.push(t(lang, "evacuation.landslide_no_data")),
        None => v.push(t(lang, "evacuation.landslide_none")),
    }
    if hz.house_collapse {
        v.push(t(lang, "evacuation.house_collapse"));
    } else if !loaded.house_collapse {
        v.push(t(lang, "evacuation.collapse_no_data"));
    }
    v
}

fn landslide(lang: &str, z: Landslide) -> String {
    let kind = match z.phenomenon {
        Phenomenon::DebrisFlow => "debris_flow",
        Phenomenon::SteepSlope => "steep_slope",
        Phenomenon::Landslip => "landslip",
    };
    let mut zone = t(lang, if z.red { "evacuation.zone_red" } else { "evacuation.zone_yellow" });
    if !z.designated {
        zone.push_str(&t(lang, "evacuation.zone_pending"));
    }
    tf(lang, "evacuation.landslide_zone", &[("kind", &t(lang, &format!("evacuation.ls_{kind}"))), ("zone", &zone)])
}

pub fn reason(lang: &str, r: Reason) -> String {
    t(
        lang,
        match r {
            Reason::HouseCollapseZone => "evacuation.why_house_collapse",
            Reason::LandslideZone => "evacuation.why_landslide",
            Reason::FloodReachesLivingFloor => "evacuation.why_flood_floor",
            Reason::CannotHoldOut => "evacuation.why_hold_out",
            Reason::WaterStaysWeeks => "evacuation.why_water_weeks",
            Reason::StayAboveWater => "evacuation.why_stay_above",
            Reason::NoHazard => "evacuation.why_no_hazard",
        },
    )
}

pub fn hazard_kind(lang: &str, h: Hazard) -> String {
    t(
        lang,
        match h {
            Hazard::Flood => "evacuation.hz_flood",
            Hazard::Landslide => "evacuation.hz_landslide",
            Hazard::StormSurge => "evacuation.hz_storm_surge",
            Hazard::Earthquake => "evacuation.hz_earthquake",
            Hazard::Tsunami => "evacuation.hz_tsunami",
            Hazard::LargeFire => "evacuation.hz_large_fire",
            Hazard::InlandFlooding => "evacuation.hz_inland_flooding",
            Hazard::Volcano => "evacuation.hz_volcano",
        },
    )
}

pub fn warning(lang: &str, answers: &Answers, w: &Warning, site_name: &str) -> String {
    match w {
        Warning::StaysWhereRulesSayLeave => t(lang, "evacuation.warn_stay"),
        Warning::WaitsForLevel5 { member } => {
            tf(lang, "evacuation.warn_level5", &[("name", &member_label(lang, answers, *member))])
        }
        Warning::LeavesLaterThanAdvised { member, advised } => tf(
            lang,
            "evacuation.warn_later",
            &[("name", &member_label(lang, answers, *member)), ("level", &advised.to_string())],
        ),
        Warning::SiteUnsuitable { hazard, .. } => {
            tf(lang, "evacuation.warn_site", &[("site", site_name), ("hazard", &hazard_kind(lang, *hazard))])
        }
    }
}

pub fn checklist_item(lang: &str, c: ChecklistItem) -> String {
    let key = match c {
        ChecklistItem::Water => "water",
        ChecklistItem::Food => "food",
        ChecklistItem::Flashlight => "flashlight",
        ChecklistItem::PhoneCharger => "phone_charger",
        ChecklistItem::Medicines => "medicines",
        ChecklistItem::MedicalDeviceBattery => "medical_battery",
        ChecklistItem::InfantSupplies => "infant",
        ChecklistItem::PetSupplies => "pets",
        ChecklistItem::WheelchairPath => "wheelchair_path",
        ChecklistItem::Documents => "documents",
        ChecklistItem::MaternityRecord => "maternity",
    };
    t(lang, &format!("evacuation.take_{key}"))
}

/// Why staying home is allowed or not, by supplies: the days the water may stay ask for, and the
/// days the household has (empty outside flood zones).
pub fn supplies_line(lang: &str, answers: &Answers, hz: &Hazards, need: Option<u8>) -> String {
    if hz.flood.is_none() {
        return String::new();
    }
    let have = answers.supplies().to_string();
    let duration = match hz.flood_duration {
        Some(d) => t(lang, &format!("evacuation.duration_rank{}", d.get())),
        None => t(lang, "evacuation.duration_unknown"),
    };
    match need {
        Some(need) => tf(
            lang,
            "evacuation.supplies_need",
            &[("duration", &duration), ("need", &need.to_string()), ("have", &have)],
        ),
        None => tf(lang, "evacuation.supplies_never", &[("duration", &duration)]),
    }
}

pub fn advice(lang: &str, a: Advice) -> String {
    t(
        lang,
        match a {
            Advice::ByCar => "evacuation.advice_car",
            Advice::Pets => "evacuation.advice_pets",
            Advice::Hearing => "evacuation.advice_hearing",
            Advice::Sight => "evacuation.advice_sight",
        },
    )
}
