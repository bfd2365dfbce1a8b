//! Capture records on the web: the hunter's form behind the mailed link, and the staff's
//! captures page (per area, species and month; every record with its permit).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use kencho_core::iot::wildlife::{Age, BycatchAction, CaptureOutcome, Disposition, Sex, SpeciesKind, TrapType};

use super::super::{fmt_time, form_get, parse_form, render, AppState, Ctx, InLang, Layout, PageResult};
use crate::iot::captures::{self as store, CaptureEntry};

pub fn routes() -> Router<AppState> {
    Router::new().route("/staff/iot/captures", get(captures_page))
}

/// The choices of the capture form, as (key, label) in the reader's language.
pub struct Options {
    pub species: Vec<(String, String)>,
    pub trap_types: Vec<(String, String)>,
    pub sexes: Vec<(String, String)>,
    pub ages: Vec<(String, String)>,
    pub dispositions: Vec<(String, String)>,
    pub bycatch_actions: Vec<(String, String)>,
}

fn pairs<'a>(lang: &str, prefix: &str, keys: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    keys.map(|k| (k.to_string(), crate::i18n::t(lang, &format!("{prefix}{k}")))).collect()
}

impl Options {
    pub fn new(lang: &str) -> Options {
        Options {
            species: pairs(lang, "iot.species_", SpeciesKind::ALL.iter().map(|k| k.key())),
            trap_types: pairs(lang, "iot.trap_type_", TrapType::ALL.iter().map(|k| k.key())),
            sexes: pairs(lang, "iot.sex_", Sex::ALL.iter().map(|k| k.key())),
            ages: pairs(lang, "iot.age_", Age::ALL.iter().map(|k| k.key())),
            dispositions: pairs(lang, "iot.disposition_", Disposition::ALL.iter().map(|k| k.key())),
            bycatch_actions: pairs(lang, "iot.bycatch_action_", BycatchAction::ALL.iter().map(|k| k.key())),
        }
    }
}

/// A hunter records what the trap caught (or that it fired empty), from the mailed link.
pub async fn capture(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let text = |k: &str| form_get(&form, k).unwrap_or_default().chars().take(600).collect::<String>();
    let entry = CaptureEntry {
        outcome: CaptureOutcome::parse(&text("outcome")),
        species: text("species"),
        species_name: text("species_name"),
        count: text("count").trim().parse::<i64>().unwrap_or(-1),
        sex: text("sex"),
        age: text("age"),
        disposition: text("disposition"),
        date: text("date"),
        time: text("time"),
        trap_type: text("trap_type"),
        place: text("place"),
        lat: text("lat"),
        lon: text("lon"),
        bycatch_action: text("bycatch_action"),
        note: text("note"),
    };
    let who = text("c").chars().take(20).collect::<String>();
    let who = if who.is_empty() { "link".to_string() } else { who };
    store::record(&st.db, &st.cfg.base_url, &token, entry, &who).await.lang(&lang)?;
    render(&super::alarms::ack_view(&st, &ctx, &token, None).await.lang(&lang)?).lang(&lang)
}

struct CaptureRow {
    area: String,
    species: String,
    month: String,
    count: i64,
}

struct Bar {
    month: String,
    count: i64,
    x: i64,
    h: i64,
}

#[derive(Template)]
#[template(path = "iot_captures.html")]
struct CapturesPage {
    l: Layout,
    rows: Vec<CaptureRow>,
    bars: Vec<Bar>,
    never: Vec<(String, String)>,
    empty: i64,
    bycatch: i64,
}

impl CapturesPage {
    /// At least a year's width, so a single month is a bar, not a wall.
    fn chart_width(&self) -> usize {
        (60 + self.bars.len() * 60).max(780)
    }
}

/// Captures per area, species and month (table and bar chart), and traps that never caught.
async fn captures_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    // Where animals were caught, by whom, is for the tenant's 鳥獣 staff, like the permits.
    let s = super::permits::wildlife_staff(&st, &ctx).await.lang(&lang)?;
    let raw = store::list(&st.db, s.tenant_id).await.lang(&lang)?;
    let mut table: std::collections::BTreeMap<(String, String, String), i64> = Default::default();
    let mut months: std::collections::BTreeMap<String, i64> = Default::default();
    let (mut empty, mut bycatch) = (0, 0);
    for store::Capture { area, species, at, count, outcome } in raw {
        match outcome {
            CaptureOutcome::Caught => {
                let month: String = fmt_time(at).chars().take(7).collect();
                *table.entry((area, store::species_label(&lang, &species), month.clone())).or_default() += count;
                *months.entry(month).or_default() += count;
            }
            CaptureOutcome::Empty => empty += 1,
            CaptureOutcome::Bycatch => bycatch += 1,
        }
    }
    let max = months.values().copied().max().unwrap_or(1).max(1);
    let bars = months
        .iter()
        .enumerate()
        .map(|(i, (m, c))| Bar { month: m.clone(), count: *c, x: 40 + i as i64 * 60, h: c * 150 / max })
        .collect();
    let never = store::traps_that_never_caught(&st.db, s.tenant_id).await.lang(&lang)?;
    render(&CapturesPage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "iot.captures_title")),
        rows: table
            .into_iter()
            .map(|((area, species, month), count)| CaptureRow { area, species, month, count })
            .collect(),
        bars,
        never,
        empty,
        bycatch,
    })
    .lang(&lang)
}
