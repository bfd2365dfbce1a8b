//! IoT alerts on the web: the webhook for network servers, registration for administrators,
//! the alarm list for staff, and the acknowledgement link in every alarm mail (where a hunter
//! also records the capture).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sqlx::Row;

use super::{fmt_time, form_get, parse_form, render, AppState, Ctx, InLang, Layout, PageResult};
use crate::error::{AppError, Result};
use crate::iot::alarms::{self, AlarmInfo};
use crate::iot::ingest::{self, Ingested};
use crate::iot::registry::{self, DeviceInfo, NewDevice, NewPerson};

/// Pages (ack link, staff alarm list).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/iot/ack/{token}", get(ack_page).post(ack))
        .route("/iot/ack/{token}/capture", post(capture))
        .route("/staff/iot", get(staff_alarms))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/iot/uplink", post(webhook))
        .route("/admin/iot/devices", get(list_devices).post(add_devices))
        .route("/admin/iot/people", post(add_person))
        .route("/staff/iot/alarms", get(list_alarms))
}

/// Uplinks posted by a network server's HTTP integration (ChirpStack, The Things Stack) or a
/// gateway using the plain format. Authenticated with an administrator's API token.
#[utoipa::path(post, path = "/api/v1/iot/uplink", tag = "iot", security(("bearer" = [])),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = Ingested), (status = 401, body = super::api::ErrorBody)))]
async fn webhook(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Json<Ingested>> {
    ctx.admin()?;
    if body.len() > 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    // The Things Stack names the event in a header; ChirpStack in `?event=up`.
    let topic = headers.get("x-kencho-topic").and_then(|v| v.to_str().ok());
    let out = ingest::ingest(&st.db, &st.cfg.base_url, "webhook", topic, &body).await?;
    st.nudge.notify_one();
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/admin/iot/devices", tag = "iot", security(("bearer" = [])),
    responses((status = 200, body = [DeviceInfo])))]
async fn list_devices(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<DeviceInfo>>> {
    let s = ctx.admin()?;
    Ok(Json(registry::list_devices(&st.db, s.tenant_id).await?))
}

/// Registers devices: a JSON list, or CSV (`text/csv`) with columns dev_eui, kind, label, area,
/// lat, lon, heartbeat_s, person_id, hunters ("name <email>; …"). All or nothing.
#[utoipa::path(post, path = "/api/v1/admin/iot/devices", tag = "iot", security(("bearer" = [])),
    request_body = [NewDevice],
    responses((status = 201, body = [i64]), (status = 400, body = super::api::ErrorBody), (status = 409, body = super::api::ErrorBody)))]
async fn add_devices(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if body.len() > 8 * 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let devices: Vec<NewDevice> = if ct.starts_with("text/csv") {
        let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("the CSV is not UTF-8".into()))?;
        registry::devices_from_csv(text)?
    } else if ct.starts_with("application/json") {
        serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?
    } else {
        return Err(AppError::UnsupportedMedia(format!("expected application/json or text/csv, got \"{ct}\"")));
    };
    let ids = registry::add_devices(&st.db, s.tenant_id, devices, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(ids)).into_response())
}

#[utoipa::path(post, path = "/api/v1/admin/iot/people", tag = "iot", security(("bearer" = [])),
    request_body = NewPerson, responses((status = 201, body = i64), (status = 400, body = super::api::ErrorBody)))]
async fn add_person(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let p: NewPerson =
        serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    let id = registry::add_person(&st.db, s.tenant_id, p, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(id)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AlarmFilter {
    /// trap_fired, sensor_silent, low_battery, inactivity, call_button
    pub kind: Option<String>,
    /// active, acknowledged, cleared
    pub state: Option<String>,
    pub area: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/staff/iot/alarms", tag = "iot", security(("bearer" = [])), params(AlarmFilter),
    responses((status = 200, body = [AlarmInfo])))]
async fn list_alarms(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(f): Query<AlarmFilter>,
) -> Result<Json<Vec<AlarmInfo>>> {
    let s = ctx.staff()?;
    let mut list = alarms::list(&st.db, s.tenant_id, f.kind.as_deref(), f.state.as_deref()).await?;
    if let Some(a) = f.area.as_deref().filter(|a| !a.is_empty()) {
        list.retain(|x| x.area == a);
    }
    Ok(Json(list))
}

#[derive(Template)]
#[template(path = "iot_ack.html")]
struct AckPage {
    l: Layout,
    token: String,
    contact: String,
    label: String,
    area: String,
    kind: String,
    state: String,
    is_trap: bool,
    captured: bool,
}

impl AckPage {
    fn kind_label(&self) -> String {
        self.l.t(&format!("iot.kind_{}", self.kind))
    }
    fn state_label(&self) -> String {
        self.l.t(&format!("iot.state_{}", self.state))
    }
}

#[derive(Deserialize)]
struct Who {
    c: Option<i64>,
}

async fn ack_view(st: &AppState, ctx: &Ctx, token: &str, contact: Option<i64>) -> Result<AckPage> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let r = sqlx::query("SELECT id, kind, state, detail FROM iot_alarms WHERE ack_token = $1")
        .bind(token)
        .fetch_optional(&st.db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    let (id, kind, state, detail): (i64, String, String, String) =
        (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
    let captured = sqlx::query("SELECT 1 FROM iot_captures WHERE alarm_id = $1")
        .bind(id)
        .fetch_optional(&st.db.read)
        .await?
        .is_some();
    Ok(AckPage {
        l: ctx.layout(st, "確認"),
        token: token.to_string(),
        contact: contact.map(|c| c.to_string()).unwrap_or_default(),
        label: detail["label"].as_str().unwrap_or_default().to_string(),
        area: detail["area"].as_str().unwrap_or_default().to_string(),
        is_trap: kind == "trap_fired",
        kind,
        state,
        captured,
    })
}

async fn ack_page(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, Query(w): Query<Who>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&ack_view(&st, &ctx, &token, w.c).await.lang(&lang)?).lang(&lang)
}

async fn ack(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let contact = form_get(&form, "c").and_then(|c| c.parse::<i64>().ok());
    alarms::acknowledge(&st.db, &token, contact).await.lang(&lang)?;
    render(&ack_view(&st, &ctx, &token, contact).await.lang(&lang)?).lang(&lang)
}

/// A hunter records what the trap caught (or that it fired empty / caught the wrong animal).
async fn capture(State(st): State<AppState>, ctx: Ctx, Path(token): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let outcome = form_get(&form, "outcome").unwrap_or_default().to_string();
    let species = form_get(&form, "species").unwrap_or_default().trim().chars().take(50).collect::<String>();
    let count = form_get(&form, "count").unwrap_or("0").trim().parse::<i64>().unwrap_or(-1);
    let valid = match outcome.as_str() {
        "caught" | "bycatch" => !species.is_empty() && (1..=50).contains(&count),
        "empty" => true,
        _ => false,
    };
    if !valid {
        return Err(AppError::BadRequest("choose the outcome; a capture needs the species and a count of 1–50".into()))
            .lang(&lang);
    }
    let who = form_get(&form, "c").unwrap_or("link").chars().take(20).collect::<String>();
    let t = token.clone();
    st.db
        .transact(move |conn| {
            Box::pin(async move {
                let r = sqlx::query("SELECT id, tenant_id, subject FROM iot_alarms WHERE ack_token = $1 AND kind = 'trap_fired'")
                    .bind(&t)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let (id, tenant_id, subject): (i64, i64, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                let device: i64 = subject.strip_prefix("device:").and_then(|s| s.parse().ok()).ok_or(AppError::NotFound)?;
                let done = sqlx::query("SELECT 1 FROM iot_captures WHERE alarm_id = $1").bind(id).fetch_optional(&mut *conn).await?;
                if done.is_some() {
                    return Err(AppError::Conflict("this capture is already recorded".into()));
                }
                sqlx::query(
                    "INSERT INTO iot_captures (tenant_id, alarm_id, device_id, outcome, species, count, recorded_by, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(tenant_id)
                .bind(id)
                .bind(device)
                .bind(&outcome)
                .bind(if outcome == "empty" { String::new() } else { species.clone() })
                .bind(if outcome == "empty" { 0 } else { count })
                .bind(format!("contact:{who}"))
                .bind(crate::db::now_ms())
                .execute(&mut *conn)
                .await?;
                alarms::log(conn, id, &format!("capture:{outcome}"), &format!("contact:{who}")).await
            })
        })
        .await
        .lang(&lang)?;
    render(&ack_view(&st, &ctx, &token, None).await.lang(&lang)?).lang(&lang)
}

#[derive(Template)]
#[template(path = "iot_alarms.html")]
struct AlarmsPage {
    l: Layout,
    alarms: Vec<AlarmInfo>,
    kind: String,
    state: String,
    area: String,
    areas: Vec<String>,
}

impl AlarmsPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

async fn staff_alarms(State(st): State<AppState>, ctx: Ctx, Query(f): Query<AlarmFilter>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?;
    let mut list = alarms::list(&st.db, s.tenant_id, f.kind.as_deref(), f.state.as_deref()).await.lang(&lang)?;
    let mut areas: Vec<String> = list.iter().map(|a| a.area.clone()).filter(|a| !a.is_empty()).collect();
    areas.sort();
    areas.dedup();
    let area = f.area.clone().unwrap_or_default();
    if !area.is_empty() {
        list.retain(|x| x.area == area);
    }
    render(&AlarmsPage {
        l: ctx.layout(&st, "アラーム"),
        alarms: list,
        kind: f.kind.unwrap_or_default(),
        state: f.state.unwrap_or_default(),
        area,
        areas,
    })
    .lang(&lang)
}
