//! The alarm pages: the acknowledgement link a contact follows, and the staff's alarm list.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use crate::error::{AppError, Result};
use crate::iot::alarms::{self, AlarmInfo};
use crate::security::policy;
use crate::web::{fmt_time, form_get, parse_form, render, AppState, Ctx, InLang, Layout, PageResult};
use kencho_core::iot::alarm::{AlarmKind, AlarmState};
use kencho_core::security::Action;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AlarmFilter {
    /// trap_fired, sensor_silent, low_battery, inactivity, call_button
    pub kind: Option<String>,
    /// active, acknowledged, cleared
    pub state: Option<String>,
    pub area: Option<String>,
}

#[derive(Template)]
#[template(path = "iot_ack.html")]
pub(super) struct AckPage {
    l: Layout,
    token: String,
    contact: String,
    label: String,
    area: String,
    kind: AlarmKind,
    state: AlarmState,
    is_trap: bool,
    captured: bool,
    /// The trap's permit: number, holder, species it allows ("" without one).
    permit_number: String,
    permit_holder: String,
    permit_species: String,
    /// The trap's type (the form's default) and today's date (JST).
    trap_type: String,
    today: String,
    o: super::captures::Options,
}

impl AckPage {
    fn kind_label(&self) -> String {
        self.l.t(&format!("iot.kind_{}", self.kind))
    }
    fn state_label(&self) -> String {
        self.l.t(&format!("iot.state_{}", self.state))
    }
    fn is_active(&self) -> bool {
        self.state == AlarmState::Active
    }
}

#[derive(Deserialize)]
pub(super) struct Who {
    c: Option<i64>,
}

pub(super) async fn ack_view(st: &AppState, ctx: &Ctx, token: &str, contact: Option<i64>) -> Result<AckPage> {
    let a = alarms::by_ack_token(&st.db, token).await?.ok_or(AppError::NotFound)?;
    let lang = ctx.lang();
    let permit = crate::iot::permits::of_ack_token(&st.db, token).await?;
    let (permit_number, permit_holder, permit_species, trap_type) = match permit {
        Some((p, t)) => {
            let species: Vec<String> = p.species.iter().map(|s| crate::iot::captures::species_label(lang, s)).collect();
            (p.number, p.holder, species.join("、"), t.unwrap_or_default())
        }
        None => Default::default(),
    };
    Ok(AckPage {
        permit_number,
        permit_holder,
        permit_species,
        trap_type,
        today: kencho_core::forms::iso(crate::clock::date_at(crate::db::now_ms())),
        o: super::captures::Options::new(lang),
        l: ctx.layout(st, &crate::i18n::t(lang, "iot.ack_title")),
        token: token.to_string(),
        contact: contact.map(|c| c.to_string()).unwrap_or_default(),
        label: a.label,
        area: a.area,
        is_trap: a.kind == AlarmKind::TrapFired,
        kind: a.kind,
        state: a.state,
        captured: a.captured,
    })
}

pub(super) async fn ack_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Query(w): Query<Who>,
) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&ack_view(&st, &ctx, &token, w.c).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn ack(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let contact = form_get(&form, "c").and_then(|c| c.parse::<i64>().ok());
    alarms::acknowledge(&st.db, &token, contact).await.lang(&lang)?;
    render(&ack_view(&st, &ctx, &token, contact).await.lang(&lang)?).lang(&lang)
}

#[derive(Template)]
#[template(path = "iot_alarms.html")]
pub(super) struct AlarmsPage {
    l: Layout,
    alarms: Vec<AlarmInfo>,
    /// The kind filter, when it names one.
    kind: Option<AlarmKind>,
    /// The state filter, when it names one.
    state: Option<AlarmState>,
    area: String,
    areas: Vec<String>,
}

impl AlarmsPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn kinds(&self) -> [AlarmKind; 5] {
        AlarmKind::ALL
    }
    fn kind_selected(&self, k: &AlarmKind) -> bool {
        self.kind == Some(*k)
    }
    fn states(&self) -> [AlarmState; 3] {
        AlarmState::ALL
    }
    fn selected(&self, s: &AlarmState) -> bool {
        self.state == Some(*s)
    }
}

pub(super) async fn staff_alarms(State(st): State<AppState>, ctx: Ctx, Query(f): Query<AlarmFilter>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let mut list = alarms::list(&st.db, s.tenant_id, f.kind.as_deref(), f.state.as_deref()).await.lang(&lang)?;
    if !policy::allows(&st.db, s, Action::WatchRecords).await.lang(&lang)? {
        alarms::hide_people(&mut list, &crate::i18n::t(&lang, "iot.person_hidden"));
    }
    let mut areas: Vec<String> = list.iter().map(|a| a.area.clone()).filter(|a| !a.is_empty()).collect();
    areas.sort();
    areas.dedup();
    let area = f.area.clone().unwrap_or_default();
    if !area.is_empty() {
        list.retain(|x| x.area == area);
    }
    render(&AlarmsPage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "iot.alarms_title")),
        alarms: list,
        kind: f.kind.as_deref().and_then(AlarmKind::parse),
        state: f.state.as_deref().and_then(AlarmState::parse),
        area,
        areas,
    })
    .lang(&lang)
}
