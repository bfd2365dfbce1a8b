//! The マイ避難 part of the JSON API: public hazard look-ups and plan previews (no account, no
//! database on the hot path), data layers and JMA telegrams for administrators, and evacuation
//! information for staff.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kencho_core::evacuation::alert::requested_hazard;
use kencho_core::evacuation::geo::Point;
use kencho_core::evacuation::plan::{resolve, Answers, Choices, Destination, MAX_MEMBERS, MAX_SUPPLY_DAYS};
use kencho_core::evacuation::{FloodScale, Landslide, Member, Needs, Phenomenon, Reason, Warning};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, Result};
use crate::evacuation::alerts::{self, Actor, Alert, Request};
use crate::evacuation::jma::{self, Outcome};
use crate::evacuation::layers::{self, Atlas, LayerKind, LayerVersion};
use crate::evacuation::upload::Upload;
use crate::evacuation::words;
use crate::web::{AppState, Ctx};

use crate::web::json;
use crate::web::openapi::Created;

fn point(lat: f64, lon: f64) -> Result<Point> {
    let p = Point::new(lon, lat);
    if p.is_valid() {
        Ok(p)
    } else {
        Err(AppError::BadRequest(detail!("detail.evacuation.lat_within_90_lon")))
    }
}

#[derive(Deserialize, IntoParams)]
pub struct At {
    /// Latitude in degrees (WGS 84 / JGD2011).
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

#[derive(Serialize, ToSchema)]
pub struct LandslideZone {
    /// `debris_flow` (土石流), `steep_slope` (急傾斜地の崩壊) or `landslip` (地すべり).
    #[schema(value_type = String)]
    pub kind: Phenomenon,
    /// 特別警戒区域 (red) rather than 警戒区域 (yellow).
    pub red: bool,
    /// False for a zone whose survey results are published but which is not yet designated
    /// (指定前, A33 区域区分 3 or 4).
    pub designated: bool,
}

#[derive(Serialize, ToSchema)]
pub struct HazardsAt {
    /// Depth rank 1–6 (国土数値情報 浸水深ランク), or null outside the flood zones.
    pub flood_rank: Option<u8>,
    /// The layer the depth comes from: `maximum` (想定最大規模) where that layer covers the point,
    /// else `planned` (計画規模).
    #[schema(value_type = Option<String>)]
    pub flood_scale: Option<FloodScale>,
    /// 浸水継続時間ランク 1–7 where a duration layer is loaded and covers the point.
    pub flood_duration_rank: Option<u8>,
    pub landslide: Option<LandslideZone>,
    pub house_collapse: bool,
    /// The nearest town area (町字) in force, when the tenant has loaded its town table.
    pub town_id: Option<String>,
    pub town_name: Option<String>,
    /// The hazards in words, in the request's language.
    pub description: Vec<String>,
}

fn landslide_zone(l: Landslide) -> LandslideZone {
    LandslideZone { kind: l.phenomenon, red: l.red, designated: l.designated }
}

fn hazards_out(lang: &str, atlas: &Atlas, p: &Point) -> HazardsAt {
    let hz = atlas.hazards_at(p);
    let town = kencho_core::evacuation::towns::nearest(&atlas.towns, layers::today(), p);
    HazardsAt {
        flood_rank: hz.flood.map(|r| r.get()),
        flood_scale: hz.flood_scale,
        flood_duration_rank: hz.flood_duration.map(|d| d.get()),
        landslide: hz.landslide.map(landslide_zone),
        house_collapse: hz.house_collapse,
        town_id: town.map(|t| t.id.clone()),
        town_name: town.map(|t| t.name()),
        description: words::hazard_lines(lang, &hz, atlas.coverage_at(p)),
    }
}

/// What the hazard layers say about a point. Public and read from memory: no session, no query.
#[utoipa::path(get, path = "/api/v1/evacuation/{tenant}/hazards", tag = "evacuation", params(("tenant" = String, Path), At),
    responses((status = 200, body = HazardsAt), (status = 400, body = crate::web::openapi::ErrorBody), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn hazards(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    Query(at): Query<At>,
    headers: HeaderMap,
) -> Result<Json<HazardsAt>> {
    let p = point(at.lat, at.lon)?;
    let tenant_id = st.atlases.tenant_id(&st.db, &tenant).await?;
    let atlas = st.atlases.get(&st.db, tenant_id).await?;
    Ok(Json(hazards_out(lang_of(&headers), &atlas, &p)))
}

/// The API speaks Japanese unless asked otherwise (Accept-Language: en or ja-x-easy).
fn lang_of(headers: &HeaderMap) -> &'static str {
    let v = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("").trim_start();
    if v.starts_with("ja-x-easy") {
        "ja-x-easy"
    } else if v.starts_with("en") {
        "en"
    } else {
        "ja"
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub walking_help: bool,
    #[serde(default)]
    pub wheelchair: bool,
    #[serde(default)]
    pub infant: bool,
    #[serde(default)]
    pub medical_device: bool,
    #[serde(default)]
    pub pets: bool,
    /// 高齢者.
    #[serde(default)]
    pub elderly: bool,
    /// 妊産婦.
    #[serde(default)]
    pub pregnant: bool,
    #[serde(default)]
    pub sight_impaired: bool,
    #[serde(default)]
    pub hearing_impaired: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub lat: f64,
    pub lon: f64,
    /// Floor of the living room, 1 = ground floor.
    pub living_floor: u8,
    #[serde(default)]
    pub has_car: bool,
    /// Supplies to wait out the water at home (about 3 days); read only when `supply_days` is
    /// absent.
    #[serde(default)]
    pub can_hold_out: bool,
    /// Days of water, food and toilet supplies at home (0–60). Staying home needs as many days
    /// as the 浸水継続時間 at the home may last.
    #[serde(default)]
    pub supply_days: Option<u8>,
    /// 1 to 8 people.
    pub members: Vec<PersonBody>,
    #[serde(default)]
    pub go_by_car: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SiteOut {
    pub id: String,
    pub name: String,
    pub distance_m: u32,
    pub walking_min: u32,
}

#[derive(Serialize, ToSchema)]
pub struct PlanOut {
    pub hazards: HazardsAt,
    pub must_leave: bool,
    pub reasons: Vec<String>,
    /// Per member, the alert level they leave at (null: stays home).
    pub departure_levels: Vec<Option<u8>>,
    /// The two nearest designated sites suitable for the household's hazards.
    pub sites: Vec<SiteOut>,
    pub destination: Option<String>,
    pub minutes: Option<u32>,
    /// What to do at levels 1–5, in words.
    pub levels: Vec<String>,
    pub checklist: Vec<String>,
    pub warnings: Vec<String>,
}

/// Makes a plan from a household without saving anything (for other front ends and kiosks).
/// The limits of a plan to preview, beyond what its JSON types say.
fn check_plan(b: &PlanBody) -> Result<()> {
    let detail = if !(1..=60).contains(&b.living_floor) {
        detail!("detail.evacuation.living_floor_1_60")
    } else if b.supply_days.is_some_and(|d| d > MAX_SUPPLY_DAYS) {
        detail!("detail.evacuation.supply_days_0", max_supply_days = MAX_SUPPLY_DAYS)
    } else if b.members.is_empty() || b.members.len() > MAX_MEMBERS {
        detail!("detail.evacuation.members_1_people", max_members = MAX_MEMBERS)
    } else if b.members.iter().any(|m| m.name.chars().count() > 40) {
        detail!("detail.evacuation.member_s_name_longer")
    } else {
        return Ok(());
    };
    Err(AppError::BadRequest(detail))
}

#[utoipa::path(post, path = "/api/v1/evacuation/{tenant}/plan", tag = "evacuation", params(("tenant" = String, Path)), request_body = PlanBody,
    responses((status = 200, body = PlanOut), (status = 400, body = crate::web::openapi::ErrorBody), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn preview_plan(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PlanOut>> {
    let b: PlanBody = json(&headers, &body)?;
    let p = point(b.lat, b.lon)?;
    check_plan(&b)?;
    let lang = lang_of(&headers);
    let tenant_id = st.atlases.tenant_id(&st.db, &tenant).await?;
    let atlas = st.atlases.get(&st.db, tenant_id).await?;
    let answers = Answers {
        at: Some(p),
        living_floor: b.living_floor,
        has_car: b.has_car,
        can_hold_out: b.can_hold_out,
        supply_days: b.supply_days,
        members: b
            .members
            .into_iter()
            .map(|m| Member {
                name: m.name,
                needs: Needs {
                    walking_help: m.walking_help,
                    wheelchair: m.wheelchair,
                    infant: m.infant,
                    medical_device: m.medical_device,
                    pets: m.pets,
                    elderly: m.elderly,
                    pregnant: m.pregnant,
                    sight: m.sight_impaired,
                    hearing: m.hearing_impaired,
                },
            })
            .collect(),
        choices: Choices { by_car: b.go_by_car, ..Choices::default() },
        ..Answers::default()
    };
    let h = answers.household().ok_or_else(|| AppError::BadRequest(detail!("detail.evacuation.no_position")))?;
    let hz = atlas.hazards_at(&p);
    let r = resolve(&h, &hz, &atlas.sites, &answers.choices);
    let (destination, minutes) = match &r.destination {
        Destination::Site { choice, minutes } => (Some(choice.site.name.clone()), Some(*minutes)),
        _ => (None, None),
    };
    Ok(Json(PlanOut {
        hazards: hazards_out(lang, &atlas, &p),
        must_leave: r.mine.must_leave,
        reasons: r.rules.reasons.iter().map(|x: &Reason| words::reason(lang, *x)).collect(),
        departure_levels: r.mine.departure_levels.clone(),
        sites: r
            .mine
            .sites
            .iter()
            .map(|s| SiteOut {
                id: s.site.id.clone(),
                name: s.site.name.clone(),
                distance_m: s.distance_m.round() as u32,
                walking_min: s.walking_min,
            })
            .collect(),
        destination,
        minutes,
        levels: (1..=5).map(|l| words::level_action(lang, &answers, &r, l)).collect(),
        checklist: r.rules.checklist.iter().map(|c| words::checklist_item(lang, *c)).collect(),
        warnings: r.warnings.iter().map(|w: &Warning| words::warning(lang, &answers, w, "")).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/admin/evacuation/layers", tag = "evacuation", security(("bearer" = [])),
    responses((status = 200, body = [LayerVersion]), (status = 403, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn list_layers(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<LayerVersion>>> {
    let s = ctx.admin()?;
    Ok(Json(layers::list(&st.db, s.tenant_id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct LayerQuery {
    /// Name to record for the file (default: the kind).
    pub file_name: Option<String>,
}

/// Loads the body as the next version of a layer: one file (GeoJSON or CSV, UTF-8 with or
/// without BOM or Shift_JIS; or a zip), or with `multipart/form-data` several `file` parts (the
/// Address Base Registry's mt_town and mt_town_pos, in either order). It is validated whole, and
/// a bad file changes nothing (the error names the file, line or feature and the attribute).
#[utoipa::path(put, path = "/api/v1/admin/evacuation/layers/{kind}", tag = "evacuation", security(("bearer" = [])),
    params(("kind" = String, Path, description = "flood, landslide, house_collapse, sites or towns"), LayerQuery),
    request_body(content = String, content_type = "application/geo+json"),
    responses((status = 201, body = LayerVersion),
        (status = 400, body = crate::web::openapi::ErrorBody, description = "The files do not make a layer; nothing was loaded. \
            `data_feature`, `data_row`, `data_column`, `data_not_geojson`, `data_encoding`, `data_files`, `data_empty`: \
            the message names the file, the feature or line, the attribute or column found and the one expected"),
        (status = 403, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn load_layer(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
    Query(q): Query<LayerQuery>,
    req: axum::extract::Request,
) -> Result<Response> {
    let s = ctx.admin()?;
    let kind = LayerKind::parse(&kind)
        .ok_or_else(|| AppError::BadRequest(detail!("detail.evacuation.kind_flood_landslide_house")))?;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let files = if multipart {
        use axum::extract::FromRequest;
        let mp = axum::extract::Multipart::from_request(req, &st)
            .await
            .map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))?;
        crate::web::read_uploads(mp).await?.1
    } else {
        let body = axum::body::to_bytes(req.into_body(), super::LAYER_LIMIT).await.map_err(|_| AppError::TooLarge)?;
        vec![Upload::new(q.file_name.unwrap_or_else(|| kind.as_str().to_string()), body.to_vec())]
    };
    if files.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.evacuation.no_file_was_sent")));
    }
    let v = layers::load(&st.db, s.tenant_id, kind, files, &format!("staff:{}", s.id)).await?;
    st.atlases.invalidate(s.tenant_id);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Reads one 気象庁防災情報XML telegram (as the watched folder or feed would).
#[utoipa::path(post, path = "/api/v1/admin/evacuation/jma", tag = "evacuation", security(("bearer" = [])),
    request_body(content = String, content_type = "application/xml"),
    responses((status = 200, body = Outcome), (status = 400, body = crate::web::openapi::ErrorBody), (status = 403, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn read_telegram(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> Result<Json<Outcome>> {
    let s = ctx.admin()?;
    if body.len() > 10 * 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let xml = crate::web::utf8_body(&body)?;
    let o = jma::ingest(&st.db, &st.atlases, &st.cfg.base_url, xml, &format!("api:staff:{}", s.id), Some(s.tenant_id))
        .await?;
    Ok(Json(o))
}

#[utoipa::path(get, path = "/api/v1/staff/evacuation/alerts", tag = "evacuation", security(("bearer" = [])),
    responses((status = 200, body = [Alert]), (status = 401, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn list_alerts(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<Alert>>> {
    let s = ctx.staff()?;
    Ok(Json(alerts::list(&st.db, s.tenant_id, 200).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBody {
    /// 3 高齢者等避難 (issued at once), 4 避難指示 or 5 緊急安全確保 (wait for a second staff member).
    pub level: u8,
    /// Town-area ids (町字) from the tenant's town table, or "*" for the whole municipality.
    pub towns: Vec<String>,
    #[serde(default)]
    pub note: String,
    /// What it is about: `flood`, `landslide`, `storm_surge`, `rain` or `other` (the default:
    /// every household acts on its whole plan). A household whose home lies outside the zones
    /// of the hazard is told so instead of being sent out.
    #[serde(default)]
    pub hazard: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/staff/evacuation/alerts", tag = "evacuation", security(("bearer" = [])), request_body = AlertBody,
    responses((status = 201, body = Created), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn issue_alert(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.staff()?;
    let b: AlertBody = json(&headers, &body)?;
    let hazard = requested_hazard(b.hazard.as_deref())
        .ok_or_else(|| AppError::BadRequest(detail!("detail.evacuation.hazard_flood_landslide_storm")))?;
    let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
    let id = alerts::request(
        &st.db,
        atlas,
        &st.cfg.base_url,
        Actor::staff(&st.db, s).await?,
        Request { level: b.level, hazard, towns: b.towns, note: b.note },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[utoipa::path(post, path = "/api/v1/staff/evacuation/alerts/{id}/approve", tag = "evacuation", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn approve_alert(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.staff()?;
    let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
    alerts::approve(&st.db, atlas, &st.cfg.base_url, Actor::staff(&st.db, s).await?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/staff/evacuation/alerts/{id}/cancel", tag = "evacuation", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn cancel_alert(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.staff()?;
    let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
    alerts::cancel(&st.db, atlas, &st.cfg.base_url, Actor::staff(&st.db, s).await?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
