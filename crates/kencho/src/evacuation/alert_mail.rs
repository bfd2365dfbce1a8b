//! What an alert says to one reader: the mail at issue and at cancellation, and the line on the
//! plan page. A municipality's 発令 and JMA's 警戒レベル相当情報 are worded apart (the latter is
//! not an order, and its end is not the lifting of a 避難指示); each household is told what its
//! own plan says for the hazards its home is exposed to (see
//! [`kencho_core::evacuation::alert::for_alert`]).

use std::collections::BTreeMap;

use kencho_core::evacuation::alert::{for_alert, parse_hazard, AlertHazard, AlertSource, Coverage, ForAlert, Issuance};
use kencho_core::evacuation::plan::Answers;
use kencho_core::evacuation::Household;

use super::layers::Atlas;
use super::words;
use crate::i18n::{t, tf};

/// An alert as its words need it.
pub struct AlertInfo {
    pub level: u8,
    pub source: AlertSource,
    pub title: String,
    pub note: String,
    pub issuance: Issuance,
    /// The levels per hazard a household acts on: JMA's per-hazard levels, or the one hazard
    /// staff named at the alert's level.
    pub levels: BTreeMap<AlertHazard, u8>,
}

impl AlertInfo {
    /// From the stored columns (`hazard` comma-separated, `jma_levels` JSON or '').
    pub fn new(
        level: u8,
        (source, issuance): (AlertSource, Issuance),
        title: String,
        note: String,
        hazard: &str,
        jma: &str,
    ) -> Self {
        let mut levels: BTreeMap<AlertHazard, u8> = serde_json::from_str(jma).unwrap_or_default();
        if levels.is_empty() {
            for h in hazard.split(',').filter_map(parse_hazard) {
                levels.insert(h, level);
            }
        }
        if levels.is_empty() {
            levels.insert(AlertHazard::Other, level);
        }
        AlertInfo { level, source, title, note, issuance, levels }
    }

    /// The hazards at the alert's own level, for its label.
    pub fn top_hazards(&self) -> Vec<AlertHazard> {
        let top = self.levels.values().copied().max().unwrap_or(self.level);
        self.levels.iter().filter(|(_, l)| **l == top).map(|(h, _)| *h).collect()
    }

    fn equivalent(&self) -> bool {
        self.issuance == Issuance::Equivalent
    }
}

pub fn hazard_name(lang: &str, h: AlertHazard) -> String {
    t(lang, &format!("evacuation.ah_{}", h.as_str()))
}

fn hazard_names(lang: &str, hs: &[AlertHazard]) -> String {
    hs.iter().map(|h| hazard_name(lang, *h)).collect::<Vec<_>>().join(&t(lang, "evacuation.list_sep"))
}

/// How an alert is named in lists: 「避難指示（警戒レベル4・洪水）」 for a municipality's order,
/// 「警戒レベル4相当情報［土砂災害］（気象庁：土砂災害警戒情報）」 for JMA's.
pub fn label(lang: &str, a: &AlertInfo) -> String {
    let level = a.level.to_string();
    let hazard = hazard_names(lang, &a.top_hazards());
    if a.equivalent() {
        tf(lang, "evacuation.label_equivalent", &[("level", &level), ("hazard", &hazard), ("title", &a.title)])
    } else {
        tf(
            lang,
            "evacuation.label_order",
            &[("level", &level), ("hazard", &hazard), ("name", &words::level_name(lang, a.level))],
        )
    }
}

/// What an alert asks of a household, for its home: the hazards it concerns there, and only where
/// a layer speaks for the home is "outside every zone" taken as not exposed.
fn act_for(h: &Household, answers: &Answers, atlas: &Atlas, a: &AlertInfo) -> ForAlert {
    let hz = atlas.hazards_at(&h.home);
    let here = atlas.coverage_at(&h.home);
    let cov = Coverage { flood: here.flood, landslide: here.landslide };
    for_alert(h, &hz, cov, &atlas.sites, &answers.choices, &a.levels)
}

/// What the household does now, in one line ("レベル4：…"), for its own plan and its exposure.
pub fn personal_line(lang: &str, tenant: &str, answers: &Answers, atlas: &Atlas, a: &AlertInfo) -> String {
    personal(lang, tenant, answers, atlas, a).0
}

/// The household's line for an alert, and the level the alert asks it to act at: `None` when
/// its home is outside every zone of the alert's hazards (without a plan yet, the alert's own).
pub fn personal(lang: &str, tenant: &str, answers: &Answers, atlas: &Atlas, a: &AlertInfo) -> (String, Option<u8>) {
    let line = |level: u8, action: &str| {
        tf(lang, "evacuation.level_line", &[("level", &level.to_string()), ("action", action)])
    };
    let Some(h) = answers.household() else {
        return (line(a.level, &t(lang, "evacuation.no_plan_action")), Some(a.level));
    };
    match act_for(&h, answers, atlas, a) {
        ForAlert::NotExposed { hazards } => {
            let names = hazard_names(lang, &hazards);
            (line(a.level, &tf(lang, "evacuation.not_exposed", &[("hazard", &names), ("tenant", tenant)])), None)
        }
        ForAlert::Act { level, resolved, step, .. } => {
            (line(level, &words::step_action(lang, answers, &resolved, step, level)), Some(level))
        }
    }
}

pub struct MailCtx<'a> {
    pub lang: &'a str,
    pub tenant_name: &'a str,
    pub alert: &'a AlertInfo,
    pub areas: &'a str,
    pub base_url: &'a str,
    pub sub_token: &'a str,
    pub plan_token: &'a str,
    pub supporter: bool,
}

fn unsubscribe(c: &MailCtx, body: &mut String) {
    body.push_str(&tf(
        c.lang,
        "evacuation.mail_unsubscribe",
        &[("url", &format!("{}/evacuation/unsubscribe/{}", c.base_url, c.sub_token))],
    ));
    body.push('\n');
}

pub fn issue_mail(c: &MailCtx, answers: &Answers, atlas: &Atlas) -> (String, String) {
    let (lang, a) = (c.lang, c.alert);
    let level_s = a.level.to_string();
    let hazard = hazard_names(lang, &a.top_hazards());
    let (subject, mut body) = if a.equivalent() {
        let args = [
            ("tenant", c.tenant_name),
            ("level", level_s.as_str()),
            ("name", a.title.as_str()),
            ("hazard", hazard.as_str()),
            ("order", &words::level_name(lang, a.level.min(5))),
        ];
        (tf(lang, "evacuation.mail_subject_jma", &args), tf(lang, "evacuation.mail_intro_jma", &args))
    } else {
        let name = words::level_name(lang, a.level);
        let args = [
            ("tenant", c.tenant_name),
            ("areas", c.areas),
            ("level", level_s.as_str()),
            ("name", name.as_str()),
            ("hazard", hazard.as_str()),
        ];
        (tf(lang, "evacuation.mail_subject", &args), tf(lang, "evacuation.mail_intro", &args))
    };
    if !a.note.is_empty() {
        body.push_str("\n\n");
        body.push_str(&a.note);
    }
    body.push_str("\n\n");
    if c.supporter {
        body.push_str(&tf(lang, "evacuation.mail_supporter", &[("person", answers.person.trim())]));
    } else {
        body.push_str(&t(lang, "evacuation.mail_your_plan"));
    }
    body.push('\n');
    body.push_str(&personal_line(lang, c.tenant_name, answers, atlas, a));
    body.push_str("\n\n");
    if c.supporter {
        // 災害対策基本法 49条の17: whoever receives a 個別避難計画 keeps its secrets.
        body.push_str(&t(lang, "evacuation.mail_secrecy"));
        body.push_str("\n\n");
    } else {
        body.push_str(&tf(
            lang,
            "evacuation.mail_plan_link",
            &[("url", &format!("{}/evacuation/p/{}", c.base_url, c.plan_token))],
        ));
        body.push('\n');
    }
    unsubscribe(c, &mut body);
    (subject, body)
}

pub fn cancel_mail(c: &MailCtx) -> (String, String) {
    let (lang, a) = (c.lang, c.alert);
    let level_s = a.level.to_string();
    let hazard = hazard_names(lang, &a.top_hazards());
    // The end of 相当情報 is not the lifting of the municipality's 避難指示: said so.
    let (subject_key, body_key, name) = if a.equivalent() {
        ("evacuation.mail_cancel_subject_jma", "evacuation.mail_cancel_body_jma", a.title.clone())
    } else {
        ("evacuation.mail_cancel_subject", "evacuation.mail_cancel_body", words::level_name(lang, a.level))
    };
    let args = [
        ("tenant", c.tenant_name),
        ("areas", c.areas),
        ("level", level_s.as_str()),
        ("name", name.as_str()),
        ("hazard", hazard.as_str()),
    ];
    let subject = tf(lang, subject_key, &args);
    let mut body = tf(lang, body_key, &args);
    body.push_str("\n\n");
    if c.supporter {
        body.push_str(&t(lang, "evacuation.mail_secrecy"));
        body.push_str("\n\n");
    }
    unsubscribe(c, &mut body);
    (subject, body)
}
