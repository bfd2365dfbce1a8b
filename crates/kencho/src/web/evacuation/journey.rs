//! The plan journey: choosing a municipality and starting a plan, the list of one's plans, and
//! the steps: where the home is, the home itself, the people in it.

use super::*;
use kencho_core::evacuation::plan::MAX_SUPPLY_DAYS;
use kencho_core::evacuation::DEFAULT_SUPPLY_DAYS;

pub(super) struct TownOption {
    id: String,
    name: String,
    selected: bool,
}

/// A small clickable overview of the area (town points and sites) for the JavaScript map.
pub(super) struct MiniMap {
    min_lon: f64,
    max_lat: f64,
    /// degrees per SVG unit
    scale_lon: f64,
    scale_lat: f64,
    points: Vec<(f64, f64, String, bool)>,
    home: Option<(f64, f64)>,
}

pub(super) const MAP_W: f64 = 320.0;
/// A map point further than this from every town area is refused.
pub(super) const MAX_TOWN_DISTANCE_M: f64 = 30_000.0;
pub(super) const MAP_H: f64 = 240.0;

pub(super) fn mini_map(atlas: &Atlas, home: Option<Point>) -> Option<MiniMap> {
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
#[template(path = "evacuation_where.html")]
pub(super) struct WherePage {
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

pub(super) fn where_page(
    ctx: &Ctx,
    st: &AppState,
    plan: &StoredPlan,
    atlas: &Atlas,
    a: &Answers,
    errors: Vec<FieldErr>,
) -> WherePage {
    let lang = ctx.lang();
    WherePage {
        l: ctx.layout(st, &t(lang, "evacuation.where_title")),
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

pub(super) async fn where_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, atlas) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    render(&where_page(&ctx, &st, &plan, &atlas, &plan.answers, vec![])).lang(&lang)
}

pub(super) fn parse_coord(s: Option<&str>) -> Option<f64> {
    s.map(str::trim).filter(|s| !s.is_empty()).and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite())
}

pub(super) async fn where_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
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
        errors.push(err("postcode", t(&lang, "evacuation.err_postcode")));
    }
    if plan.kind == PlanKind::Individual && a.person.is_empty() {
        errors.push(err("person", t(&lang, "evacuation.err_person")));
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
                Some(tw) if town.is_empty() => tf(&lang, "evacuation.near_town", &[("town", &tw.full_name())]),
                Some(tw) => tw.full_name(),
                None => format!("{:.5}, {:.5}", at.lat, at.lon),
            };
            a.town_id = town_id;
            a.at = Some(at);
            // Looked up from the town or the address: the hazards are those at the town's point.
            a.approximate = !(town.is_empty() && typed_coords && lat.is_some() && lon.is_some());
        }
        None if typed_coords && town.is_empty() => errors.push(err("lat", t(&lang, "evacuation.err_coords"))),
        None if !town.is_empty() => errors.push(err("town", t(&lang, "evacuation.err_town"))),
        None if !a.address.is_empty() => errors.push(err("address", t(&lang, "evacuation.err_address_unknown"))),
        None => errors.push(err("address", t(&lang, "evacuation.err_where"))),
    }
    if !errors.is_empty() {
        let mut page = where_page(&ctx, &st, &plan, &atlas, &a, errors);
        // Show what was typed, not what was stored before.
        page.lat = form_get(&form, "lat").unwrap_or_default().chars().take(30).collect();
        page.lon = form_get(&form, "lon").unwrap_or_default().chars().take(30).collect();
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page).lang(&lang);
    }
    plans::update(&st.db, &plan, &a).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/evacuation/p/{token}/home")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Step 2: home

#[derive(Template)]
#[template(path = "evacuation_home.html")]
pub(super) struct HomePage {
    l: Layout,
    token: String,
    floor: String,
    supplies: String,
    car: bool,
    safe_house: String,
    errors: Vec<FieldErr>,
}

pub(super) async fn home_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    if plan.answers.at.is_none() {
        return Ok(Redirect::to(&format!("/evacuation/p/{token}/where")).into_response());
    }
    let a = &plan.answers;
    render(&HomePage {
        l: ctx.layout(&st, &t(&lang, "evacuation.home_title")),
        token,
        floor: a.living_floor.to_string(),
        supplies: a.supply_days.map(|d| d.to_string()).unwrap_or_default(),
        car: a.has_car,
        safe_house: a.safe_house.clone(),
        errors: vec![],
    })
    .lang(&lang)
}

pub(super) async fn home_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let mut a = plan.answers.clone();
    let floor_s = form_get(&form, "floor").unwrap_or_default().trim().to_string();
    let mut errors = Vec::new();
    match floor_s.parse::<u8>() {
        Ok(f) if (1..=60).contains(&f) => a.living_floor = f,
        _ => errors.push(err("floor", t(&lang, "evacuation.err_floor"))),
    }
    let yes_no = |k: &str| match form_get(&form, k) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    // Days of supplies (屋内安全確保 needs them to last as long as the water stays); a form of
    // the earlier yes/no question ("about three days") is still read.
    let supplies_s = form_get(&form, "supply_days").unwrap_or_default().trim().to_string();
    let days = match (supplies_s.as_str(), yes_no("hold_out")) {
        ("", Some(true)) => Ok(DEFAULT_SUPPLY_DAYS),
        ("", Some(false)) => Ok(0),
        (s, _) => s.parse::<u8>().ok().filter(|d| *d <= MAX_SUPPLY_DAYS).ok_or(()),
    };
    match days {
        Ok(d) => a.supply_days = Some(d),
        Err(()) => errors.push(err("supply_days", t(&lang, "evacuation.err_supply_days"))),
    }
    match yes_no("car") {
        Some(v) => a.has_car = v,
        None => errors.push(err("car-yes", t(&lang, "evacuation.err_choose"))),
    }
    a.safe_house = form_get(&form, "safe_house").unwrap_or_default().trim().chars().take(200).collect();
    if !errors.is_empty() {
        let page = HomePage {
            l: ctx.layout(&st, &t(&lang, "evacuation.home_title")),
            token,
            floor: floor_s,
            supplies: supplies_s,
            car: a.has_car,
            safe_house: a.safe_house.clone(),
            errors,
        };
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page).lang(&lang);
    }
    plans::update(&st.db, &plan, &a).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/evacuation/p/{token}/people")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Step 3: people

pub(super) struct PersonRow {
    n: usize,
    name: String,
    needs: Needs,
}

#[derive(Template)]
#[template(path = "evacuation_people.html")]
pub(super) struct PeoplePage {
    l: Layout,
    token: String,
    rows: Vec<PersonRow>,
    can_add: bool,
    errors: Vec<FieldErr>,
}

impl PeoplePage {
    fn legend(&self, n: &usize) -> String {
        tf(&self.l.lang, "evacuation.member_n", &[("n", &n.to_string())])
    }
}

pub(super) fn person_rows(members: &[Member], extra: usize) -> Vec<PersonRow> {
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

pub(super) async fn people_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let rows = person_rows(&plan.answers.members, usize::from(plan.answers.members.is_empty()));
    render(&PeoplePage {
        l: ctx.layout(&st, &t(&lang, "evacuation.people_title")),
        can_add: rows.len() < MAX_MEMBERS,
        token,
        rows,
        errors: vec![],
    })
    .lang(&lang)
}

pub(super) async fn people_save(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
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
            errors.push(err(&format!("name{i}"), t(&lang, "evacuation.err_name_long")));
        }
        let has = |k: &str| form_get(&form, &format!("{k}{i}")).is_some();
        let needs = Needs {
            walking_help: has("walking"),
            wheelchair: has("wheelchair"),
            infant: has("infant"),
            medical_device: has("medical"),
            pets: has("pets"),
            elderly: has("elderly"),
            pregnant: has("pregnant"),
            sight: has("sight"),
            hearing: has("hearing"),
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
        errors.push(err("name1", t(&lang, "evacuation.err_people")));
    }
    let adding = form_get(&form, "intent") == Some("add");
    if !errors.is_empty() || adding {
        let status =
            if errors.is_empty() { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNPROCESSABLE_ENTITY };
        let rows = person_rows(&members, usize::from(adding || members.is_empty()));
        let page = PeoplePage {
            l: ctx.layout(&st, &t(&lang, "evacuation.people_title")),
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
    Ok(Redirect::to(&format!("/evacuation/p/{token}")).into_response())
}

field_errors!(WherePage);
field_errors!(HomePage);
field_errors!(PeoplePage);

// ---------------------------------------------------------------------------------------------
// Start and "my plans"

struct TenantChoice {
    code: String,
    name: String,
    ready: bool,
}

#[derive(Template)]
#[template(path = "evacuation_start.html")]
struct StartPage {
    l: Layout,
    tenants: Vec<TenantChoice>,
    staff: bool,
}

pub(super) async fn start_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
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
    render(&StartPage { l: ctx.layout(&st, &t(&lang, "evacuation.title")), tenants, staff }).lang(&lang)
}

#[derive(Template)]
#[template(path = "evacuation_mine.html")]
struct MinePage {
    l: Layout,
    plans: Vec<PlanListItem>,
}

impl MinePage {
    fn when(&self, p: &PlanListItem) -> String {
        fmt_time(p.updated_at)
    }
}

pub(super) async fn my_plans(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    let r = ctx.resident().lang(&lang)?;
    let plans = plans::of_resident(&st.db, r.id).await.lang(&lang)?;
    render(&MinePage { l: ctx.layout(&st, &t(&lang, "evacuation.mine")), plans }).lang(&lang)
}

pub(super) async fn start(State(st): State<AppState>, ctx: Ctx, Path(tenant): Path<String>, body: Bytes) -> PageResult {
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
    Ok(Redirect::to(&format!("/evacuation/p/{token}/where")).into_response())
}
