//! The plan page, the print sheet, saving to an account and subscribing to alerts.

use super::*;
use crate::evacuation::alert_mail;

pub(super) struct LevelRow {
    level: u8,
    name: String,
    action: String,
    in_force: bool,
}

pub(super) struct MemberRow {
    label: String,
    needs: String,
    leaves_at: String,
    advised: String,
    choice: Option<u8>,
}

pub(super) struct SiteRow {
    id: String,
    name: String,
    suits: String,
    distance: String,
    d: f64,
    chosen: bool,
    suitable: bool,
}

/// The house picture: floors and how high the water may reach.
pub(super) struct Picture {
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

pub(super) struct PlanView {
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
    /// Why supplies allow staying home or not (flood zones only).
    supplies: String,
    /// Warnings of their own: by car, with pets, for someone who cannot hear or see.
    advice: Vec<String>,
}

pub(super) fn needs_text(lang: &str, n: &Needs) -> String {
    let mut v = Vec::new();
    for (on, key) in [
        (n.walking_help, "evacuation.need_walking"),
        (n.wheelchair, "evacuation.need_wheelchair"),
        (n.infant, "evacuation.need_infant"),
        (n.medical_device, "evacuation.need_medical"),
        (n.pets, "evacuation.need_pets"),
        (n.elderly, "evacuation.need_elderly"),
        (n.pregnant, "evacuation.need_pregnant"),
        (n.sight, "evacuation.need_sight"),
        (n.hearing, "evacuation.need_hearing"),
    ] {
        if on {
            v.push(t(lang, key));
        }
    }
    v.join(&t(lang, "evacuation.list_sep"))
}

pub(super) fn picture(lang: &str, hz: &Hazards, floor: u8, loaded: words::Loaded) -> Picture {
    let floors = floor.clamp(2, 4);
    // One floor is about 3 m: 40 units.
    let water_m = hz.flood.map(|r| r.max_depth_m().min(14.0)).unwrap_or(0.0);
    let water = (water_m / 3.0 * 40.0).round() as u32;
    let mut label = words::hazard_lines(lang, hz, loaded).join(" ");
    label.push_str(&tf(lang, "evacuation.pic_living", &[("floor", &floor.to_string())]));
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

pub(super) fn plan_view(lang: &str, tenant: &str, plan: &StoredPlan, atlas: &Atlas, in_force: &[Alert]) -> PlanView {
    let a = &plan.answers;
    let (in_force_lines, in_force_level) = in_force_lines(lang, tenant, a, atlas, in_force);
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
        in_force: in_force_lines,
        supplies: String::new(),
        advice: vec![],
    };
    let Some(h) = a.household() else { return v };
    let hz = atlas.hazards_at(&h.home);
    let r: Resolved = resolve(&h, &hz, &atlas.sites, &a.choices);
    v.complete = !a.members.is_empty();
    let here = atlas.coverage_at(&h.home);
    v.hazards = words::hazard_lines(lang, &hz, here);
    if a.approximate {
        v.hazards.push(t(lang, "evacuation.town_point_used"));
    }
    v.picture = picture(lang, &hz, h.living_floor, here);
    v.must_leave = r.mine.must_leave;
    v.reasons = r.rules.reasons.iter().map(|x| words::reason(lang, *x)).collect();
    v.members = member_rows(lang, a, &h, &r);
    v.destination = words::destination(lang, a, &r);
    v.minutes = match &r.destination {
        Destination::Site { minutes, .. } => Some(*minutes),
        _ => None,
    };
    v.by_car = r.by_car;
    v.second_site = r.mine.sites.get(1).map(|s| {
        tf(
            lang,
            "evacuation.second_site",
            &[("site", &s.site.name), ("m", &format!("{:.0}", s.distance_m)), ("min", &s.walking_min.to_string())],
        )
    });
    v.levels = (1..=5u8)
        .map(|level| LevelRow {
            level,
            name: words::level_name(lang, level),
            action: words::level_action(lang, a, &r, level),
            in_force: level == in_force_level,
        })
        .collect();
    v.checklist = r.rules.checklist.iter().map(|c| words::checklist_item(lang, *c)).collect();
    v.supplies = words::supplies_line(lang, a, &hz, r.rules.supplies_needed_days);
    v.advice = r.advice.iter().map(|x| words::advice(lang, *x)).collect();
    v.warnings = warning_lines(lang, a, atlas, &r);
    v.sites = site_rows(lang, atlas, &h, &hz, &r);
    v
}

/// Each alert in force with what this household does for it (its hazard, its home), and the
/// level row to mark: the highest asked of this household (an alert about a hazard its home is
/// outside every zone of asks nothing of it).
fn in_force_lines(lang: &str, tenant: &str, a: &Answers, atlas: &Atlas, in_force: &[Alert]) -> (Vec<String>, u8) {
    let mut in_force_level = 0;
    let lines = in_force
        .iter()
        .map(|x| {
            let info = x.info();
            let (line, level) = alert_mail::personal(lang, tenant, a, atlas, &info);
            in_force_level = in_force_level.max(level.unwrap_or(0));
            format!("{} — {line}", alert_mail::label(lang, &info))
        })
        .collect();
    (lines, in_force_level)
}

/// One row per member: their needs, the level they leave at as planned and as advised, and
/// the level they chose themselves.
fn member_rows(lang: &str, a: &Answers, h: &kencho_core::evacuation::Household, r: &Resolved) -> Vec<MemberRow> {
    h.members
        .iter()
        .enumerate()
        .map(|(i, m)| MemberRow {
            label: words::member_label(lang, a, i),
            needs: needs_text(lang, &m.needs),
            leaves_at: match r.mine.departure_levels.get(i).copied().flatten() {
                Some(l) => tf(lang, "evacuation.level_n", &[("level", &l.to_string())]),
                None => t(lang, "evacuation.stays"),
            },
            advised: match r.rules.departure_levels.get(i).copied().flatten() {
                Some(l) => tf(lang, "evacuation.level_n", &[("level", &l.to_string())]),
                None => t(lang, "evacuation.stays"),
            },
            choice: a.choices.levels.get(i).copied().flatten(),
        })
        .collect()
}

/// The plan's warnings in words; an unsuitable site is named as the atlas names it.
fn warning_lines(lang: &str, a: &Answers, atlas: &Atlas, r: &Resolved) -> Vec<String> {
    r.warnings
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
        .collect()
}

/// The 30 sites to choose from: those suited to the home's hazards first, then the nearest.
fn site_rows(
    lang: &str,
    atlas: &Atlas,
    h: &kencho_core::evacuation::Household,
    hz: &Hazards,
    r: &Resolved,
) -> Vec<SiteRow> {
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
    sites
}

#[derive(Template)]
#[template(path = "evacuation_plan.html")]
pub(super) struct PlanPage {
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

pub(super) async fn plan_page_view(
    st: &AppState,
    ctx: &Ctx,
    token: &str,
    message: String,
) -> Result<PlanPage, AppError> {
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
        l: ctx.layout(st, &t(lang, "evacuation.plan_title")),
        p: plan_view(lang, &tenant_label(st, plan.tenant_id, lang).await?, &plan, &atlas, &in_force),
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

pub(super) async fn plan_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let page = plan_page_view(&st, &ctx, &token, String::new()).await.lang(&lang)?;
    if page.p.address.is_empty() {
        return Ok(Redirect::to(&format!("/evacuation/p/{token}/where")).into_response());
    }
    render(&page).lang(&lang)
}

pub(super) async fn choices_save(
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
    a.choices.stay = match form_get(&form, "stay") {
        Some("stay") => Some(true),
        Some("leave") => Some(false),
        Some("rules") | None => None,
        Some(_) => return Err(AppError::BadRequest(detail!("detail.evacuation.stay_rules_stay_leave"))).lang(&lang),
    };
    let mut levels = Vec::new();
    for i in 1..=a.members.len().max(1) {
        levels.push(match form_get(&form, &format!("level{i}")) {
            None | Some("") | Some("rules") => None,
            Some(s) => match s.parse::<u8>() {
                Ok(l) if (3..=5).contains(&l) => Some(l),
                _ => return Err(AppError::BadRequest(detail!("detail.evacuation.level_3_4_5_2"))).lang(&lang),
            },
        });
    }
    a.choices.levels = levels;
    a.choices.site_id = match form_get(&form, "site") {
        None | Some("") | Some("rules") => None,
        Some(id) if atlas.site(id).is_some() => Some(id.to_string()),
        Some(_) => return Err(AppError::BadRequest(detail!("detail.evacuation.unknown_site"))).lang(&lang),
    };
    a.choices.by_car = form_get(&form, "by_car").is_some() && a.has_car;
    a.choices.to_safe_house = form_get(&form, "to_safe_house").is_some() && !a.safe_house.is_empty();
    plans::update(&st.db, &plan, &a).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/evacuation/p/{token}#changes")).into_response())
}

#[derive(Template)]
#[template(path = "evacuation_print.html")]
pub(super) struct PrintPage {
    l: Layout,
    p: PlanView,
    tenant: String,
    /// The plan's address, so a plan made at the counter can be opened (and saved) at home.
    link: String,
}

/// The municipality's name in the reader's language.
async fn tenant_label(st: &AppState, tenant_id: i64, lang: &str) -> Result<String, AppError> {
    Ok(tenants::list(&st.db)
        .await?
        .into_iter()
        .find(|x| x.id == tenant_id)
        .map(|x| x.label(lang).to_string())
        .unwrap_or_default())
}

pub(super) async fn print_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    let (plan, atlas) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    let tenant = tenant_label(&st, plan.tenant_id, &lang).await.lang(&lang)?;
    let p = plan_view(&lang, &tenant, &plan, &atlas, &[]);
    let link = format!("{}/evacuation/p/{}", st.cfg.base_url, plan.token);
    render(&PrintPage { l: ctx.layout(&st, &t(&lang, "evacuation.print_title")), p, tenant, link }).lang(&lang)
}

pub(super) async fn save(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let r = match ctx.resident() {
        Ok(r) => r,
        Err(AppError::Unauthenticated) => {
            return Ok(Redirect::to(&format!("/login?next=/evacuation/p/{token}")).into_response());
        }
        Err(e) => return Err(e).lang(&lang),
    };
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    if plan.kind != PlanKind::Household {
        return Err(AppError::Forbidden).lang(&lang);
    }
    plans::save_to(&st.db, &plan, r.id, &format!("resident:{}", r.id)).await.lang(&lang)?;
    let page = plan_page_view(&st, &ctx, &token, t(&lang, "evacuation.saved")).await.lang(&lang)?;
    render(&page).lang(&lang)
}

pub(super) async fn subscribe(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let r = ctx.resident().lang(&lang)?;
    let (plan, _) = open_plan(&st, &ctx, &token).await.lang(&lang)?;
    if plan.resident_id != Some(r.id) {
        return Err(AppError::Conflict(detail!("evacuation.save_first"))).lang(&lang);
    }
    if form_get(&form, "consent") != Some("yes") {
        let page = plan_page_view(&st, &ctx, &token, String::new()).await.lang(&lang)?;
        let page = PlanPage { message: t(&lang, "evacuation.err_consent"), ..page };
        return render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page).lang(&lang);
    }
    plans::subscribe(&st.db, &plan, SubscriberRole::Household, &r.name, &r.email, &lang, &format!("resident:{}", r.id))
        .await
        .lang(&lang)?;
    let page = plan_page_view(&st, &ctx, &token, t(&lang, "evacuation.subscribed")).await.lang(&lang)?;
    render(&page).lang(&lang)
}

#[derive(Template)]
#[template(path = "evacuation_unsubscribe.html")]
pub(super) struct UnsubscribePage {
    l: Layout,
    token: String,
    done: bool,
}

pub(super) async fn unsubscribe_form(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&UnsubscribePage { l: ctx.layout(&st, &t(&lang, "evacuation.unsub_title")), token, done: false }).lang(&lang)
}

pub(super) async fn unsubscribe(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    plans::unsubscribe(&st.db, &token).await.lang(&lang)?;
    render(&UnsubscribePage { l: ctx.layout(&st, &t(&lang, "evacuation.unsub_title")), token, done: true }).lang(&lang)
}
