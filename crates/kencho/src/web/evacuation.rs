//! マイ避難 pages: the plan journey for residents (no account needed until saving), the print
//! sheet, subscriptions; and for staff, alerts, data layers and 個別避難計画.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use kencho_core::evacuation::geo::Point;
use kencho_core::evacuation::plan::{resolve, Answers, Destination, Resolved, MAX_MEMBERS};
use kencho_core::evacuation::towns::{match_address, nearest};
use kencho_core::evacuation::{Hazards, Member, Needs};

use super::{
    fmt_time, form_get, parse_form, read_upload, render, render_status, staff_form, AppState, Ctx, InLang, Layout,
    PageResult,
};
use crate::error::AppError;
use crate::evacuation::alerts::{self, Actor, Alert, Request};
use crate::evacuation::layers::{self, Atlas, LayerKind, LayerVersion};
use crate::evacuation::plans::{self, PlanKind, PlanListItem, Role, StoredPlan, Subscription};
use crate::evacuation::words;
use crate::i18n::{t, tf};
use crate::tenants;
use kencho_core::security::Action;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hinan", get(start_page))
        .route("/hinan/mine", get(my_plans))
        .route("/hinan/{tenant}/start", post(start))
        .route("/hinan/p/{token}", get(plan_page))
        .route("/hinan/p/{token}/where", get(where_form).post(where_save))
        .route("/hinan/p/{token}/home", get(home_form).post(home_save))
        .route("/hinan/p/{token}/people", get(people_form).post(people_save))
        .route("/hinan/p/{token}/choices", post(choices_save))
        .route("/hinan/p/{token}/print", get(print_page))
        .route("/hinan/p/{token}/save", post(save))
        .route("/hinan/p/{token}/subscribe", post(subscribe))
        .route("/hinan/unsubscribe/{token}", get(unsubscribe_form).post(unsubscribe))
        .route("/staff/hinan", get(staff_page))
        .route("/staff/hinan/alerts", post(issue_alert))
        .route("/staff/hinan/alerts/{id}/approve", post(approve_alert))
        .route("/staff/hinan/alerts/{id}/cancel", post(cancel_alert))
        .route(
            "/staff/hinan/layers",
            post(super::hinan_layers::upload_layer).layer(axum::extract::DefaultBodyLimit::max(LAYER_LIMIT)),
        )
        .route("/staff/hinan/layers/{id}/activate", post(super::hinan_layers::activate_layer))
        .route("/staff/hinan/jma", post(upload_jma))
        .route("/staff/hinan/individual/{id}", get(person_page))
        .route("/staff/hinan/individual/{id}/consent", post(person_consent))
        .route("/staff/hinan/individual/{id}/supporters", post(add_supporter))
        .route("/staff/hinan/individual/{id}/supporters/{sid}/remove", post(remove_supporter))
}

/// Hazard layers of a whole prefecture are large (hundreds of MB); only the layer upload
/// accepts bodies beyond the usual limit.
pub const LAYER_LIMIT: usize = 512 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Start and "my plans"

struct TenantChoice {
    code: String,
    name: String,
    ready: bool,
}

#[derive(Template)]
#[template(path = "hinan_start.html")]
struct StartPage {
    l: Layout,
    tenants: Vec<TenantChoice>,
    staff: bool,
}

async fn start_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    let mut tenants = Vec::new();
    for tn in tenants::list(&st.db).await.lang(&lang)? {
        let atlas = st.atlases.get(&st.db, tn.id).await.lang(&lang)?;
        tenants.push(TenantChoice {
            code: tn.code.clone(),
            name: tn.label(&lang).to_string(),
            ready: atlas.has(LayerKind::Sites) && (atlas.has(LayerKind::Flood) || atlas.has(LayerKind::Landslide)),
        });
    }
    tenants.retain(|t| t.ready);
    let staff = ctx.staff().is_ok();
    render(&StartPage { l: ctx.layout(&st, &t(&lang, "evac.title")), tenants, staff }).lang(&lang)
}

#[derive(Template)]
#[template(path = "hinan_mine.html")]
struct MinePage {
    l: Layout,
    plans: Vec<PlanListItem>,
}

impl MinePage {
    fn when(&self, p: &PlanListItem) -> String {
        fmt_time(p.updated_at)
    }
}

async fn my_plans(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    let r = ctx.resident().lang(&lang)?;
    let plans = plans::of_resident(&st.db, r.id).await.lang(&lang)?;
    render(&MinePage { l: ctx.layout(&st, &t(&lang, "evac.mine")), plans }).lang(&lang)
}

async fn start(State(st): State<AppState>, ctx: Ctx, Path(tenant): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let tn = tenants::by_code(&st.db, &tenant).await.lang(&lang)?.ok_or(AppError::NotFound).lang(&lang)?;
    let staff = ctx.staff().ok();
    let kind = match (form_get(&form, "kind"), staff) {
        (Some("individual"), Some(s)) if s.tenant_id == tn.id => {
            crate::security::policy::require(&st.db, s, Action::IndividualPlans, None).await.lang(&lang)?;
            PlanKind::Individual
        }
        (Some("individual"), _) => return Err(AppError::Forbidden).lang(&lang),
        _ => {
            // Anonymous plans cost a row each: a generous limit per address.
            let keys = crate::accounts::limits::creation_keys("plan", &ctx.info.ip, None);
            if crate::accounts::limits::reserve(&st.db, keys).await.lang(&lang)?.is_err() {
                return Err(AppError::RateLimited).lang(&lang);
            }
            PlanKind::Household
        }
    };
    let token = plans::create(&st.db, tn.id, kind, staff).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/hinan/p/{token}/where")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Loading a plan the visitor may see

async fn open_plan(st: &AppState, ctx: &Ctx, token: &str) -> Result<(StoredPlan, Arc<Atlas>), AppError> {
    let plan = plans::by_token(&st.db, token).await?;
    let resident = ctx.resident().ok();
    let staff = ctx.staff().ok();
    if !plan.may_view(resident, staff) {
        // A saved plan is private: say "not found" rather than confirm it exists.
        return Err(AppError::NotFound);
    }
    let plan = match (plan.kind, staff) {
        (PlanKind::Individual, Some(s)) => plans::open_individual(&st.db, s, plan, "plan page").await?,
        _ => plan,
    };
    let atlas = st.atlases.get(&st.db, plan.tenant_id).await?;
    Ok((plan, atlas))
}

struct FieldErr {
    id: String,
    message: String,
}

fn err(id: &str, message: String) -> FieldErr {
    FieldErr { id: id.into(), message }
}

fn err_for<'a>(errors: &'a [FieldErr], id: &str) -> Option<&'a str> {
    errors.iter().find(|e| e.id == id).map(|e| e.message.as_str())
}

/// The attributes of a field: its hint and, after a failed post, its error.
fn described(errors: &[FieldErr], id: &str, hint: bool) -> String {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    let invalid = err_for(errors, id).is_some();
    if invalid {
        ids.push(format!("{id}-error"));
    }
    let mut out = String::new();
    if !ids.is_empty() {
        out.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
    }
    if invalid {
        out.push_str(" aria-invalid=\"true\"");
    }
    out
}

macro_rules! field_errors {
    ($page:ty) => {
        impl $page {
            fn err_for(&self, id: &str) -> Option<&str> {
                err_for(&self.errors, id)
            }
            fn attrs(&self, id: &str, hint: bool) -> String {
                described(&self.errors, id, hint)
            }
        }
    };
}
field_errors!(WherePage);
field_errors!(HomePage);
field_errors!(PeoplePage);

// ---------------------------------------------------------------------------------------------
// Step 1: where

struct TownOption {
    id: String,
    name: String,
    selected: bool,
}

/// A small clickable overview of the area (town points and sites) for the JavaScript map.
struct MiniMap {
    min_lon: f64,
    max_lat: f64,
    /// degrees per SVG unit
    scale_lon: f64,
    scale_lat: f64,
    points: Vec<(f64, f64, String, bool)>,
    home: Option<(f64, f64)>,
}

const MAP_W: f64 = 320.0;
/// A map point further than this from every town area is refused.
const MAX_TOWN_DISTANCE_M: f64 = 30_000.0;
const MAP_H: f64 = 240.0;

fn mini_map(atlas: &Atlas, home: Option<Point>) -> Option<MiniMap> {
    let pts: Vec<(Point, String, bool)> = atlas
        .towns
        .iter()
        .map(|t| (t.at, t.name(), false))
        .chain(atlas.sites.iter().map(|s| (s.at, s.name.clone(), true)))
        .collect();
    if pts.is_empty() {
        return None;
    }
    let (mut lo0, mut lo1, mut la0, mut la1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (p, _, _) in &pts {
        lo0 = lo0.min(p.lon);
        lo1 = lo1.max(p.lon);
        la0 = la0.min(p.lat);
        la1 = la1.max(p.lat);
    }
    let pad_lon = ((lo1 - lo0) * 0.15).max(0.002);
    let pad_lat = ((la1 - la0) * 0.15).max(0.002);
    let (min_lon, max_lon, min_lat, max_lat) = (lo0 - pad_lon, lo1 + pad_lon, la0 - pad_lat, la1 + pad_lat);
    let scale_lon = (max_lon - min_lon) / MAP_W;
    let scale_lat = (max_lat - min_lat) / MAP_H;
    let xy = |p: &Point| ((p.lon - min_lon) / scale_lon, (max_lat - p.lat) / scale_lat);
    Some(MiniMap {
        min_lon,
        max_lat,
        scale_lon,
        scale_lat,
        points: pts.iter().take(2000).map(|(p, n, site)| (xy(p).0, xy(p).1, n.clone(), *site)).collect(),
        home: home.map(|h| xy(&h)),
    })
}

#[derive(Template)]
#[template(path = "hinan_where.html")]
struct WherePage {
    l: Layout,
    token: String,
    individual: bool,
    person: String,
    postcode: String,
    address: String,
    lat: String,
    lon: String,
    towns: Vec<TownOption>,
    map: Option<MiniMap>,
    errors: Vec<FieldErr>,
}

fn where_page(
    ctx: &Ctx,
    st: &AppState,
    plan: &StoredPlan,
    atlas: &Atlas,
    a: &Answers,
    errors: Vec<FieldErr>,
) -> WherePage {
    let lang = ctx.lang();
    WherePage {
        l: ctx.layout(st, &t(lang, "evac.where_title")),
        token: plan.token.clone(),
        individual: plan.kind == PlanKind::Individual,
        person: a.person.clone(),
        postcode: a.postcode.clone(),
        address: a.address.clone(),
        lat: a.at.map(|p| format!("{:.6}", p.lat)).unwrap_or_default(),
        lon: a.at.map(|p| format!("{:.6}", p.lon)).unwrap_or_default(),
        // Towns abolished (or not yet in effect) are not offered, unless the plan already names one.
        towns: atlas
            .towns
            .iter()
            .filter(|tw| tw.in_force(layers::today()) || tw.id == a.town_id)
            .map(|tw| TownOption { id: tw.id.clone(), name: tw.name(), selected: tw.id == a.town_id })
            .collect(),
        map: mini_map(atlas, a.at),
        errors,
    }
}

async fn where_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, atlas) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    render(&where_page(&ctx, &st, &plan, &atlas, &plan.answers, vec![])).lang(&lang)
}

fn parse_coord(s: Option<&str>) -> Option<f64> {
    s.map(str::trim).filter(|s| !s.is_empty()).and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite())
}

async fn where_save(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let (plan, atlas) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let mut a = plan.answers.clone();
    let text =
        |k: &str, max: usize| form_get(&form, k).unwrap_or_default().trim().chars().take(max).collect::<String>();
    a.postcode = text("postcode", 10).replace(['-', 'ー', '－'], "");
    a.address = text("address", 200);
    a.person = text("person", 100);
    let mut errors = Vec::new();
    if !a.postcode.is_empty() && (a.postcode.len() != 7 || !a.postcode.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(err("postcode", t(&lang, "evac.err_postcode")));
    }
    if plan.kind == PlanKind::Individual && a.person.is_empty() {
        errors.push(err("person", t(&lang, "evac.err_person")));
    }
    let town = form_get(&form, "town").unwrap_or_default();
    let (lat, lon) = (parse_coord(form_get(&form, "lat")), parse_coord(form_get(&form, "lon")));
    let typed_coords = form_get(&form, "lat").is_some_and(|s| !s.trim().is_empty())
        || form_get(&form, "lon").is_some_and(|s| !s.trim().is_empty());
    let located = if !town.is_empty() {
        atlas.town(town).map(|tw| (tw.id.clone(), tw.at))
    } else if let (Some(lat), Some(lon)) = (lat, lon) {
        let p = Point::new(lon, lat);
        let near = nearest(&atlas.towns, layers::today(), &p);
        // A point far from every town area is outside the municipality's data: no verdict.
        let too_far = near.is_some_and(|t| t.at.distance_m(&p) > MAX_TOWN_DISTANCE_M);
        if p.is_valid() && !too_far {
            Some((near.map(|t| t.id.clone()).unwrap_or_default(), p))
        } else {
            None
        }
    } else if !a.address.is_empty() {
        let pc = (!a.postcode.is_empty()).then_some(a.postcode.as_str());
        match_address(&atlas.towns, layers::today(), pc, &a.address).map(|tw| (tw.id.clone(), tw.at))
    } else {
        None
    };
    match located {
        Some((town_id, at)) => {
            // Without a typed address, the plan is named after its town area.
            a.place = match atlas.town(&town_id) {
                _ if !a.address.is_empty() => a.address.clone(),
                Some(tw) if town.is_empty() => tf(&lang, "evac.near_town", &[("town", &tw.full_name())]),
                Some(tw) => tw.full_name(),
                None => format!("{:.5}, {:.5}", at.lat, at.lon),
            };
            a.town_id = town_id;
            a.at = Some(at);
            // Looked up from the town or the address: the hazards are those at the town's point.
            a.approximate = !(town.is_empty() && typed_coords && lat.is_some() && lon.is_some());
        }
        None if typed_coords && town.is_empty() => errors.push(err("lat", t(&lang, "evac.err_coords"))),
        None if !town.is_empty() => errors.push(err("town", t(&lang, "evac.err_town"))),
        None if !a.address.is_empty() => errors.push(err("address", t(&lang, "evac.err_address_unknown"))),
        None => errors.push(err("address", t(&lang, "evac.err_where"))),
    }
    if !errors.is_empty() {
        let mut page = where_page(&ctx, &st, &plan, &atlas, &a, errors);
        // Show what was typed, not what was stored before.
        page.lat = form_get(&form, "lat").unwrap_or_default().chars().take(30).collect();
        page.lon = form_get(&form, "lon").unwrap_or_default().chars().take(30).collect();
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page).lang(&lang);
    }
    plans::update(&st.db, &plan, &a).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/hinan/p/{token}/home")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Step 2: home

#[derive(Template)]
#[template(path = "hinan_home.html")]
struct HomePage {
    l: Layout,
    token: String,
    floor: String,
    hold_out: bool,
    car: bool,
    safe_house: String,
    errors: Vec<FieldErr>,
}

async fn home_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    if plan.answers.at.is_none() {
        return Ok(Redirect::to(&format!("/hinan/p/{token}/where")).into_response());
    }
    let a = &plan.answers;
    render(&HomePage {
        l: ctx.layout(&st, &t(&lang, "evac.home_title")),
        token,
        floor: a.living_floor.to_string(),
        hold_out: a.can_hold_out,
        car: a.has_car,
        safe_house: a.safe_house.clone(),
        errors: vec![],
    })
    .lang(&lang)
}

async fn home_save(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let mut a = plan.answers.clone();
    let floor_s = form_get(&form, "floor").unwrap_or_default().trim().to_string();
    let mut errors = Vec::new();
    match floor_s.parse::<u8>() {
        Ok(f) if (1..=60).contains(&f) => a.living_floor = f,
        _ => errors.push(err("floor", t(&lang, "evac.err_floor"))),
    }
    let yes_no = |k: &str| match form_get(&form, k) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    match yes_no("hold_out") {
        Some(v) => a.can_hold_out = v,
        None => errors.push(err("hold_out-yes", t(&lang, "evac.err_choose"))),
    }
    match yes_no("car") {
        Some(v) => a.has_car = v,
        None => errors.push(err("car-yes", t(&lang, "evac.err_choose"))),
    }
    a.safe_house = form_get(&form, "safe_house").unwrap_or_default().trim().chars().take(200).collect();
    if !errors.is_empty() {
        let page = HomePage {
            l: ctx.layout(&st, &t(&lang, "evac.home_title")),
            token,
            floor: floor_s,
            hold_out: a.can_hold_out,
            car: a.has_car,
            safe_house: a.safe_house.clone(),
            errors,
        };
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page).lang(&lang);
    }
    plans::update(&st.db, &plan, &a).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/hinan/p/{token}/people")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Step 3: people

struct PersonRow {
    n: usize,
    name: String,
    needs: Needs,
}

#[derive(Template)]
#[template(path = "hinan_people.html")]
struct PeoplePage {
    l: Layout,
    token: String,
    rows: Vec<PersonRow>,
    can_add: bool,
    errors: Vec<FieldErr>,
}

impl PeoplePage {
    fn legend(&self, n: &usize) -> String {
        tf(&self.l.lang, "evac.member_n", &[("n", &n.to_string())])
    }
}

fn person_rows(members: &[Member], extra: usize) -> Vec<PersonRow> {
    let n = (members.len() + extra).clamp(1, MAX_MEMBERS);
    (0..n)
        .map(|i| {
            let m = members.get(i);
            PersonRow {
                n: i + 1,
                name: m.map(|m| m.name.clone()).unwrap_or_default(),
                needs: m.map(|m| m.needs).unwrap_or_default(),
            }
        })
        .collect()
}

async fn people_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let rows = person_rows(&plan.answers.members, usize::from(plan.answers.members.is_empty()));
    render(&PeoplePage {
        l: ctx.layout(&st, &t(&lang, "evac.people_title")),
        can_add: rows.len() < MAX_MEMBERS,
        token,
        rows,
        errors: vec![],
    })
    .lang(&lang)
}

async fn people_save(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let mut members = Vec::new();
    let (mut posted, mut last_filled) = (Vec::new(), 0);
    let mut errors = Vec::new();
    for i in 1..=MAX_MEMBERS {
        let name: String = form_get(&form, &format!("name{i}")).unwrap_or_default().trim().to_string();
        if name.chars().count() > 40 {
            errors.push(err(&format!("name{i}"), t(&lang, "evac.err_name_long")));
        }
        let has = |k: &str| form_get(&form, &format!("{k}{i}")).is_some();
        let needs = Needs {
            walking_help: has("walking"),
            wheelchair: has("wheelchair"),
            infant: has("infant"),
            medical_device: has("medical"),
            pets: has("pets"),
        };
        let row = Member { name, needs };
        if !row.name.is_empty() || needs != Needs::default() {
            members.push(row.clone());
            last_filled = posted.len() + 1;
        }
        posted.push(row);
    }
    posted.truncate(last_filled);
    if members.is_empty() {
        errors.push(err("name1", t(&lang, "evac.err_people")));
    }
    let adding = form_get(&form, "intent") == Some("add");
    if !errors.is_empty() || adding {
        let status =
            if errors.is_empty() { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNPROCESSABLE_ENTITY };
        let rows = person_rows(&members, usize::from(adding || members.is_empty()));
        let page = PeoplePage {
            l: ctx.layout(&st, &t(&lang, "evac.people_title")),
            can_add: rows.len() < MAX_MEMBERS,
            token,
            rows,
            errors,
        };
        return render_status(status, &page).lang(&lang);
    }
    let mut a = plan.answers.clone();
    if a.members != members {
        // Per-person choices belong to the people they were made for.
        a.choices.levels.clear();
    }
    a.members = members;
    plans::update(&st.db, &plan, &a).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/hinan/p/{token}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// The plan

struct LevelRow {
    level: u8,
    name: String,
    action: String,
    in_force: bool,
}

struct MemberRow {
    label: String,
    needs: String,
    leaves_at: String,
    advised: String,
    choice: Option<u8>,
}

struct SiteRow {
    id: String,
    name: String,
    suits: String,
    distance: String,
    d: f64,
    chosen: bool,
    suitable: bool,
}

/// The house picture: floors and how high the water may reach.
struct Picture {
    /// Top of the walls, the living floor's top edge, the water surface (SVG y; ground at 200;
    /// one storey is 40 units, about 3 m).
    house_y: u32,
    living_y: u32,
    water_y: u32,
    water_h: u32,
    floor_lines: Vec<u32>,
    landslide: bool,
    collapse: bool,
    label: String,
}

struct PlanView {
    token: String,
    complete: bool,
    address: String,
    person: String,
    hazards: Vec<String>,
    picture: Picture,
    must_leave: bool,
    reasons: Vec<String>,
    members: Vec<MemberRow>,
    destination: String,
    minutes: Option<u32>,
    by_car: bool,
    second_site: Option<String>,
    levels: Vec<LevelRow>,
    checklist: Vec<String>,
    warnings: Vec<String>,
    sites: Vec<SiteRow>,
    stay_choice: String,
    has_car: bool,
    to_safe_house: bool,
    safe_house: String,
    in_force: Vec<String>,
}

fn needs_text(lang: &str, n: &Needs) -> String {
    let mut v = Vec::new();
    for (on, key) in [
        (n.walking_help, "evac.need_walking"),
        (n.wheelchair, "evac.need_wheelchair"),
        (n.infant, "evac.need_infant"),
        (n.medical_device, "evac.need_medical"),
        (n.pets, "evac.need_pets"),
    ] {
        if on {
            v.push(t(lang, key));
        }
    }
    v.join(&t(lang, "evac.list_sep"))
}

fn picture(lang: &str, hz: &Hazards, floor: u8, loaded: words::Loaded) -> Picture {
    let floors = floor.clamp(2, 4);
    // One floor is about 3 m: 40 units.
    let water_m = hz.flood.map(|r| r.max_depth_m().min(14.0)).unwrap_or(0.0);
    let water = (water_m / 3.0 * 40.0).round() as u32;
    let mut label = words::hazard_lines(lang, hz, loaded).join(" ");
    label.push_str(&tf(lang, "evac.pic_living", &[("floor", &floor.to_string())]));
    let water = water.min(u32::from(floors) * 40 + 20);
    let living = u32::from(floor.min(floors));
    Picture {
        house_y: 200 - u32::from(floors) * 40,
        living_y: 200 - living * 40,
        water_y: 200 - water,
        water_h: water,
        floor_lines: (1..u32::from(floors)).map(|f| 200 - f * 40).collect(),
        landslide: hz.landslide.is_some(),
        collapse: hz.house_collapse,
        label,
    }
}

fn plan_view(lang: &str, plan: &StoredPlan, atlas: &Atlas, in_force: &[Alert]) -> PlanView {
    let a = &plan.answers;
    let in_force_level = in_force.iter().map(|x| x.level).max().unwrap_or(0);
    let mut v = PlanView {
        token: plan.token.clone(),
        complete: false,
        address: if a.at.is_some() { a.place.clone() } else { String::new() },
        person: a.person.clone(),
        hazards: vec![],
        picture: picture(lang, &Hazards::default(), 1, atlas.loaded()),
        must_leave: false,
        reasons: vec![],
        members: vec![],
        destination: String::new(),
        minutes: None,
        by_car: false,
        second_site: None,
        levels: vec![],
        checklist: vec![],
        warnings: vec![],
        sites: vec![],
        stay_choice: match a.choices.stay {
            None => "rules",
            Some(true) => "stay",
            Some(false) => "leave",
        }
        .into(),
        has_car: a.has_car,
        to_safe_house: a.choices.to_safe_house,
        safe_house: a.safe_house.clone(),
        in_force: in_force
            .iter()
            .map(|x| format!("{}（{}）", x.title, tf(lang, "evac.level_n", &[("level", &x.level.to_string())])))
            .collect(),
    };
    let Some(h) = a.household() else { return v };
    let hz = atlas.hazards_at(&h.home);
    let r: Resolved = resolve(&h, &hz, &atlas.sites, &a.choices);
    v.complete = !a.members.is_empty();
    v.hazards = words::hazard_lines(lang, &hz, atlas.loaded());
    if a.approximate {
        v.hazards.push(t(lang, "evac.town_point_used"));
    }
    v.picture = picture(lang, &hz, h.living_floor, atlas.loaded());
    v.must_leave = r.mine.must_leave;
    v.reasons = r.rules.reasons.iter().map(|x| words::reason(lang, *x)).collect();
    v.members = h
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| MemberRow {
            label: words::member_label(lang, a, i),
            needs: needs_text(lang, &m.needs),
            leaves_at: match r.mine.departure_levels.get(i).copied().flatten() {
                Some(l) => tf(lang, "evac.level_n", &[("level", &l.to_string())]),
                None => t(lang, "evac.stays"),
            },
            advised: match r.rules.departure_levels.get(i).copied().flatten() {
                Some(l) => tf(lang, "evac.level_n", &[("level", &l.to_string())]),
                None => t(lang, "evac.stays"),
            },
            choice: a.choices.levels.get(i).copied().flatten(),
        })
        .collect();
    v.destination = words::destination(lang, a, &r);
    v.minutes = match &r.destination {
        Destination::Site { minutes, .. } => Some(*minutes),
        _ => None,
    };
    v.by_car = r.by_car;
    v.second_site = r.mine.sites.get(1).map(|s| {
        tf(
            lang,
            "evac.second_site",
            &[("site", &s.site.name), ("m", &format!("{:.0}", s.distance_m)), ("min", &s.walking_min.to_string())],
        )
    });
    v.levels = (1..=5u8)
        .map(|level| LevelRow {
            level,
            name: words::level_name(lang, level),
            action: words::level_action(lang, a, &r, level),
            in_force: i64::from(level) == in_force_level,
        })
        .collect();
    v.checklist = r.rules.checklist.iter().map(|c| words::checklist_item(lang, *c)).collect();
    v.warnings = r
        .warnings
        .iter()
        .map(|w| {
            let site = match w {
                kencho_core::evacuation::Warning::SiteUnsuitable { site, .. } => {
                    atlas.site(site).map(|s| s.name.clone()).unwrap_or_else(|| site.clone())
                }
                _ => String::new(),
            };
            words::warning(lang, a, w, &site)
        })
        .collect();
    let wanted = hz.kinds();
    let chosen = r.mine.sites.first().map(|s| s.site.id.clone());
    let mut sites: Vec<SiteRow> = atlas
        .sites
        .iter()
        .map(|s| {
            let d = h.home.distance_m(&s.at);
            SiteRow {
                id: s.id.clone(),
                name: s.name.clone(),
                suits: s.suitable_for.iter().map(|k| words::hazard_kind(lang, *k)).collect::<Vec<_>>().join("・"),
                distance: format!("{d:.0}"),
                d,
                chosen: chosen.as_deref() == Some(s.id.as_str()),
                suitable: s.suits(&wanted),
            }
        })
        .collect();
    sites.sort_by(|x, y| y.suitable.cmp(&x.suitable).then(x.d.total_cmp(&y.d)));
    sites.truncate(30);
    v.sites = sites;
    v
}

#[derive(Template)]
#[template(path = "hinan_plan.html")]
struct PlanPage {
    l: Layout,
    p: PlanView,
    mine: bool,
    can_save: bool,
    logged_in: bool,
    subscriptions: Vec<Subscription>,
    message: String,
    staff_view: bool,
    individual_id: Option<i64>,
}

async fn plan_page_view(st: &AppState, ctx: &Ctx, token: &str, message: String) -> Result<PlanPage, AppError> {
    let lang = ctx.lang();
    let (plan, atlas) = open_plan(st, ctx, token).await?;
    let in_force = if plan.answers.town_id.is_empty() {
        vec![]
    } else {
        alerts::in_force_for(&st.db, plan.tenant_id, &plan.answers.town_id).await?
    };
    let resident = ctx.resident().ok();
    let mine = resident.is_some_and(|r| plan.resident_id == Some(r.id));
    let subscriptions = if mine { plans::subscriptions(&st.db, plan.id).await? } else { vec![] };
    let staff_view = ctx.staff().is_ok();
    Ok(PlanPage {
        l: ctx.layout(st, &t(lang, "evac.plan_title")),
        p: plan_view(lang, &plan, &atlas, &in_force),
        mine,
        can_save: plan.kind == PlanKind::Household && plan.resident_id.is_none(),
        logged_in: resident.is_some(),
        subscriptions,
        message,
        staff_view,
        individual_id: (plan.kind == PlanKind::Individual).then_some(plan.id),
    })
}

impl PlanPage {
    fn subscribed(&self) -> bool {
        self.subscriptions.iter().any(|s| s.active)
    }
}

async fn plan_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let page = plan_page_view(&st, &ctx, &token, String::new()).await.lang(&lang)?;
    if page.p.address.is_empty() {
        return Ok(Redirect::to(&format!("/hinan/p/{token}/where")).into_response());
    }
    render(&page).lang(&lang)
}

async fn choices_save(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let (plan, atlas) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let mut a = plan.answers.clone();
    a.choices.stay = match form_get(&form, "stay") {
        Some("stay") => Some(true),
        Some("leave") => Some(false),
        Some("rules") | None => None,
        Some(_) => return Err(AppError::BadRequest("stay must be rules, stay or leave".into())).lang(&lang),
    };
    let mut levels = Vec::new();
    for i in 1..=a.members.len().max(1) {
        levels.push(match form_get(&form, &format!("level{i}")) {
            None | Some("") | Some("rules") => None,
            Some(s) => match s.parse::<u8>() {
                Ok(l) if (3..=5).contains(&l) => Some(l),
                _ => return Err(AppError::BadRequest("a level must be 3, 4 or 5".into())).lang(&lang),
            },
        });
    }
    a.choices.levels = levels;
    a.choices.site_id = match form_get(&form, "site") {
        None | Some("") | Some("rules") => None,
        Some(id) if atlas.site(id).is_some() => Some(id.to_string()),
        Some(_) => return Err(AppError::BadRequest("unknown site".into())).lang(&lang),
    };
    a.choices.by_car = form_get(&form, "by_car").is_some() && a.has_car;
    a.choices.to_safe_house = form_get(&form, "to_safe_house").is_some() && !a.safe_house.is_empty();
    plans::update(&st.db, &plan, &a).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/hinan/p/{token}#changes")).into_response())
}

#[derive(Template)]
#[template(path = "hinan_print.html")]
struct PrintPage {
    l: Layout,
    p: PlanView,
    tenant: String,
    /// The plan's address, so a plan made at the counter can be opened (and saved) at home.
    link: String,
}

async fn print_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, atlas) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let tenant = tenants::list(&st.db)
        .await
        .lang(&lang)?
        .into_iter()
        .find(|x| x.id == plan.tenant_id)
        .map(|x| x.label(&lang).to_string())
        .unwrap_or_default();
    let p = plan_view(&lang, &plan, &atlas, &[]);
    let link = format!("{}/hinan/p/{}", st.cfg.base_url, plan.token);
    render(&PrintPage { l: ctx.layout(&st, &t(&lang, "evac.print_title")), p, tenant, link }).lang(&lang)
}

async fn save(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let r = match ctx.resident() {
        Ok(r) => r,
        Err(AppError::Unauthenticated) => {
            return Ok(Redirect::to(&format!("/login?next=/hinan/p/{token}")).into_response());
        }
        Err(e) => return Err(e).lang(&lang),
    };
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    if plan.kind != PlanKind::Household {
        return Err(AppError::Forbidden).lang(&lang);
    }
    plans::save_to(&st.db, &plan, r.id, &format!("resident:{}", r.id)).await.lang(&lang)?;
    let page = plan_page_view(&st, &ctx, &token, t(&lang, "evac.saved")).await.lang(&lang)?;
    render(&page).lang(&lang)
}

async fn subscribe(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let r = ctx.resident().lang(&lang)?;
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    if plan.resident_id != Some(r.id) {
        return Err(AppError::Conflict(t(&lang, "evac.save_first"))).lang(&lang);
    }
    if form_get(&form, "consent") != Some("yes") {
        let page = plan_page_view(&st, &ctx, &token, String::new()).await.lang(&lang)?;
        let page = PlanPage { message: t(&lang, "evac.err_consent"), ..page };
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page).lang(&lang);
    }
    plans::subscribe(&st.db, &plan, Role::Household, &r.name, &r.email, &lang, &format!("resident:{}", r.id))
        .await
        .lang(&lang)?;
    let page = plan_page_view(&st, &ctx, &token, t(&lang, "evac.subscribed")).await.lang(&lang)?;
    render(&page).lang(&lang)
}

#[derive(Template)]
#[template(path = "hinan_unsubscribe.html")]
struct UnsubscribePage {
    l: Layout,
    token: String,
    done: bool,
}

async fn unsubscribe_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&UnsubscribePage { l: ctx.layout(&st, &t(&lang, "evac.unsub_title")), token, done: false }).lang(&lang)
}

async fn unsubscribe(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    plans::unsubscribe(&st.db, &token).await.lang(&lang)?;
    render(&UnsubscribePage { l: ctx.layout(&st, &t(&lang, "evac.unsub_title")), token, done: true }).lang(&lang)
}

// ---------------------------------------------------------------------------------------------
// Staff

struct TownPick {
    id: String,
    name: String,
    households: i64,
}

#[derive(Template)]
#[template(path = "staff_hinan.html")]
struct StaffPage {
    l: Layout,
    tenant_code: String,
    admin: bool,
    me: String,
    alerts: Vec<Alert>,
    towns: Vec<TownPick>,
    layers: Vec<LayerVersion>,
    people: Vec<PlanListItem>,
    message: String,
    error: String,
}

impl StaffPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn town_names(&self, a: &Alert) -> String {
        a.towns
            .iter()
            .map(|id| {
                if id == alerts::WHOLE_TENANT {
                    t(&self.l.lang, "evac.whole_area")
                } else {
                    self.towns.iter().find(|t| &t.id == id).map(|t| t.name.clone()).unwrap_or_else(|| id.clone())
                }
            })
            .collect::<Vec<_>>()
            .join(&t(&self.l.lang, "evac.list_sep"))
    }
    fn kind_label(&self, k: &LayerKind) -> String {
        t(&self.l.lang, &format!("evac.layer_{}", k.as_str()))
    }
    fn scenario_label(&self, v: &LayerVersion) -> String {
        v.scenario.map(|s| t(&self.l.lang, &format!("evac.scenario_{}", s.as_str()))).unwrap_or_default()
    }
    fn status_label(&self, s: &str) -> String {
        t(&self.l.lang, &format!("evac.alert_{s}"))
    }
    fn may_approve(&self, a: &Alert) -> bool {
        a.status == "pending" && a.requested_by != self.me
    }
}

async fn staff_view(st: &AppState, ctx: &Ctx, message: String, error: String) -> Result<StaffPage, AppError> {
    let s = ctx.staff()?;
    let lang = ctx.lang();
    let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
    let counts = town_households(st, s.tenant_id).await?;
    Ok(StaffPage {
        l: ctx.layout(st, &t(lang, "evac.staff_title")),
        tenant_code: s.tenant_code.clone(),
        admin: s.role == kencho_core::application::Role::Admin,
        me: format!("staff:{}", s.id),
        alerts: alerts::list(&st.db, s.tenant_id, 50).await?,
        towns: atlas
            .towns
            .iter()
            .map(|tw| TownPick {
                id: tw.id.clone(),
                name: tw.name(),
                households: counts.get(&tw.id).copied().unwrap_or(0),
            })
            .collect(),
        layers: layers::list(&st.db, s.tenant_id).await?,
        people: if crate::security::policy::allows(&st.db, s, Action::IndividualPlans).await? {
            plans::individual_plans(&st.db, s.tenant_id).await?
        } else {
            Vec::new()
        },
        message,
        error,
    })
}

/// Subscribed plans per town, so staff see how many households an alert will reach.
async fn town_households(st: &AppState, tenant_id: i64) -> Result<std::collections::HashMap<String, i64>, AppError> {
    plans::households_by_town(&st.db, tenant_id).await
}

async fn staff_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&staff_view(&st, &ctx, String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

/// Shows the staff page again with the outcome of an action (errors that are the user's to fix
/// are shown on the page, with the status they carry).
pub(super) async fn staff_outcome(st: &AppState, ctx: &Ctx, result: Result<String, AppError>) -> PageResult {
    let lang = ctx.lang().to_string();
    match result {
        Ok(msg) => render(&staff_view(st, ctx, msg, String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Data(_) | AppError::Conflict(_) | AppError::StaleForm)) => {
            let status = e.status();
            render_status(status, &staff_view(st, ctx, String::new(), e.message(&lang)).await.lang(&lang)?).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

async fn issue_alert(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let level = form_get(&form, "level")
            .and_then(|l| l.parse::<u8>().ok())
            .ok_or_else(|| AppError::BadRequest(t(&lang, "evac.err_level")))?;
        let towns: Vec<String> = form.iter().filter(|(k, _)| k == "town").map(|(_, v)| v.clone()).collect();
        let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
        let note = form_get(&form, "note").unwrap_or_default().to_string();
        alerts::request(
            &st.db,
            atlas,
            &st.cfg.base_url,
            Actor::staff(&st.db, &s).await?,
            Request { level, towns, note },
        )
        .await?;
        st.nudge.notify_one();
        Ok(t(&lang, if level == 3 { "evac.alert_sent" } else { "evac.alert_waiting" }))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

async fn approve_alert(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
        alerts::approve(&st.db, atlas, &st.cfg.base_url, Actor::staff(&st.db, &s).await?, id).await?;
        st.nudge.notify_one();
        Ok(t(&lang, "evac.alert_sent"))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

async fn cancel_alert(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
        alerts::cancel(&st.db, atlas, &st.cfg.base_url, Actor::staff(&st.db, &s).await?, id).await?;
        st.nudge.notify_one();
        Ok(t(&lang, "evac.alert_cancelled_msg"))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

async fn upload_jma(State(st): State<AppState>, ctx: Ctx, mp: Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    // Who is asking comes first: nothing of the upload is read for anyone else.
    let s = ctx.admin().lang(&lang)?.clone();
    let (csrf, _, file) = read_upload(mp).await.lang(&lang)?;
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let result = async {
        let (name, text) = file.ok_or_else(|| AppError::BadRequest(t(&lang, "evac.err_file")))?;
        let o = crate::evacuation::jma::ingest(
            &st.db,
            &st.atlases,
            &st.cfg.base_url,
            &text,
            &format!("upload:staff:{}:{name}", s.id),
            Some(s.tenant_id),
        )
        .await?;
        st.nudge.notify_one();
        Ok(tf(&lang, "evac.jma_read", &[("result", &o.result), ("event", &o.event_id)]))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

#[derive(Template)]
#[template(path = "staff_hinan_person.html")]
struct PersonPage {
    l: Layout,
    id: i64,
    token: String,
    person: String,
    address: String,
    consent: String,
    consent_note: String,
    supporters: Vec<Subscription>,
    message: String,
    error: String,
}

async fn person_view(
    st: &AppState,
    ctx: &Ctx,
    id: i64,
    message: String,
    error: String,
) -> Result<PersonPage, AppError> {
    let s = ctx.staff()?;
    let lang = ctx.lang();
    let plan = plans::open_individual(&st.db, s, plans::by_id(&st.db, s.tenant_id, id).await?, "person page").await?;
    let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
    let supporters =
        plans::subscriptions(&st.db, plan.id).await?.into_iter().filter(|x| x.role == Role::Supporter).collect();
    Ok(PersonPage {
        l: ctx.layout(st, &t(lang, "evac.person_title")),
        id,
        token: plan.token.clone(),
        person: plan.answers.person.clone(),
        address: atlas
            .town(&plan.answers.town_id)
            .map(|t| t.full_name())
            .unwrap_or_else(|| plan.answers.address.clone()),
        consent: plan.consent_at.map(fmt_time).unwrap_or_default(),
        consent_note: plan.consent_note.clone(),
        supporters,
        message,
        error,
    })
}

impl PersonPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

async fn person_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&person_view(&st, &ctx, id, String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

async fn person_outcome(st: &AppState, ctx: &Ctx, id: i64, result: Result<String, AppError>) -> PageResult {
    let lang = ctx.lang().to_string();
    match result {
        Ok(msg) => render(&person_view(st, ctx, id, msg, String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => {
            let status = e.status();
            render_status(status, &person_view(st, ctx, id, String::new(), e.message(&lang)).await.lang(&lang)?)
                .lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

async fn person_consent(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan =
            plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "record consent").await?;
        plans::record_consent(&st.db, &plan, form_get(&form, "note").unwrap_or_default(), &format!("staff:{}", s.id))
            .await?;
        Ok(t(&lang, "evac.consent_recorded"))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}

async fn add_supporter(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan =
            plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "add supporter").await?;
        if plan.consent_at.is_none() {
            return Err(AppError::Conflict(t(&lang, "evac.err_consent_first")));
        }
        let name = form_get(&form, "name").unwrap_or_default();
        if name.trim().is_empty() {
            return Err(AppError::BadRequest(t(&lang, "evac.err_supporter_name")));
        }
        // The supporter must have agreed to receive the person's plan and alerts.
        if form_get(&form, "supporter_consent") != Some("yes") {
            return Err(AppError::BadRequest(t(&lang, "evac.err_supporter_consent")));
        }
        let sub_lang = match form_get(&form, "lang") {
            Some(l) if crate::i18n::supported(l) => l,
            _ => "ja",
        };
        plans::subscribe(
            &st.db,
            &plan,
            Role::Supporter,
            name,
            form_get(&form, "email").unwrap_or_default(),
            sub_lang,
            &format!("staff:{}", s.id),
        )
        .await?;
        Ok(t(&lang, "evac.supporter_added"))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}

async fn remove_supporter(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((id, sid)): Path<(i64, i64)>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let plan = plans::open_individual(&st.db, &s, plans::by_id(&st.db, s.tenant_id, id).await?, "remove supporter")
            .await?;
        plans::remove_subscription(&st.db, &plan, sid, &format!("staff:{}", s.id)).await?;
        Ok(t(&lang, "evac.supporter_removed"))
    }
    .await;
    person_outcome(&st, &ctx, id, result).await
}
