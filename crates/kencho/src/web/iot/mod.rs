//! IoT alerts on the web: the webhook for network servers, registration for administrators,
//! the alarm list for staff, and the acknowledgement link in every alarm mail (where a hunter
//! also records the capture: [`captures`]); capture permits and their reports are [`permits`].

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{
    fmt_time, form_get, parse_form, read_upload, render, staff_form, AppState, Ctx, InLang, Layout, PageResult,
};
use crate::accounts::Principal;
use crate::error::{AppError, Result};
use crate::iot::alarms::{self, AlarmInfo};
use crate::iot::applications::Binding;
use crate::iot::ingest::{self, Ingested};
use crate::iot::registry::{self, DeviceInfo, NewDevice, NewPerson};
use crate::security::policy;
use kencho_core::iot::alarm::AlarmState;
use kencho_core::security::Action;

mod captures;
pub(super) mod permits;

/// Pages (ack link, staff alarm list).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/iot/ack/{token}", get(ack_page).post(ack))
        .route("/iot/ack/{token}/capture", post(captures::capture))
        .route("/staff/iot", get(staff_alarms))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/iot/uplink", post(webhook))
        .route("/admin/iot/devices", get(list_devices).post(add_devices))
        .route("/admin/iot/devices/{id}", axum::routing::delete(retire_device))
        .route("/admin/iot/applications", get(list_applications).post(bind_application))
        .route("/admin/iot/applications/{id}", axum::routing::delete(unbind_application))
        .route("/admin/iot/people", post(add_person))
        .route("/admin/iot/people/{id}/end", post(end_person))
        .route("/staff/iot/alarms", get(list_alarms))
        .merge(permits::api_routes())
}

#[derive(Deserialize, utoipa::IntoParams)]
struct UplinkQuery {
    /// ChirpStack's event type: `up` (the default), `status`, `join`, `ack`, `txack`, `log`,
    /// `location` or `integration`.
    event: Option<String>,
}

/// Uplinks posted by a network server's HTTP integration (ChirpStack, The Things Stack) or a
/// gateway using the plain format. Authenticated with the tenant's integration token (scope
/// `iot_uplink`) or an administrator's; only that tenant's devices answer.
#[utoipa::path(post, path = "/api/v1/iot/uplink", tag = "iot", security(("bearer" = [])), params(UplinkQuery),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = Ingested), (status = 401, body = super::api::ErrorBody), (status = 403, body = super::api::ErrorBody), (status = 413, body = super::api::ErrorBody)))]
async fn webhook(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<UplinkQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Ingested>> {
    let (tenant_id, caller) = match ctx.session.as_ref().map(|s| &s.principal) {
        Some(Principal::Integration { token_id, tenant_id }) => (*tenant_id, format!("api_token:{token_id}")),
        _ => {
            let s = ctx.admin()?;
            let caller = match ctx.session.as_ref().and_then(|x| x.api_token) {
                Some((id, _)) => format!("api_token:{id}"),
                None => format!("staff:{}", s.id),
            };
            (s.tenant_id, caller)
        }
    };
    // ChirpStack's HTTP integration posts every event type here, named in `?event=`; a relay
    // may pass on the MQTT topic it read the message from.
    let topic = headers.get("x-kencho-topic").and_then(|v| v.to_str().ok());
    let out =
        ingest::ingest(&st.db, &st.cfg.base_url, (tenant_id, &caller), (topic, q.event.as_deref()), &body).await?;
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/admin/iot/applications", tag = "iot", security(("bearer" = [])),
    responses((status = 200, body = [Binding]), (status = 401, body = super::api::ErrorBody), (status = 403, body = super::api::ErrorBody)))]
async fn list_applications(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<Binding>>> {
    let s = ctx.admin()?;
    Ok(Json(crate::iot::applications::list(&st.db, s.tenant_id).await?))
}

/// Binds a network-server application to this tenant: MQTT uplinks on its topics are this
/// tenant's, and only this tenant's devices answer them.
#[utoipa::path(post, path = "/api/v1/admin/iot/applications", tag = "iot", security(("bearer" = [])),
    request_body = Binding,
    responses((status = 201, body = i64, content_type = "application/json"), (status = 400, body = super::api::ErrorBody), (status = 409, body = super::api::ErrorBody)))]
async fn bind_application(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let b: Binding = super::api::json(&headers, &body)?;
    let id = crate::iot::applications::bind(&st.db, s.tenant_id, &b, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(id)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/admin/iot/applications/{id}", tag = "iot", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::api::ErrorBody)))]
async fn unbind_application(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.admin()?;
    crate::iot::applications::unbind(&st.db, s.tenant_id, id, &format!("staff:{}", s.id)).await?;
    Ok(StatusCode::NO_CONTENT)
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
        super::api::json(&headers, &body)?
    } else {
        return Err(AppError::UnsupportedMedia(format!("expected application/json or text/csv, got \"{ct}\"")));
    };
    let ids = registry::add_devices(&st.db, s.tenant_id, devices, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(ids)).into_response())
}

/// Takes a device out of service (its history stays; its DevEUI can be registered again).
#[utoipa::path(delete, path = "/api/v1/admin/iot/devices/{id}", tag = "iot", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::api::ErrorBody)))]
async fn retire_device(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.admin()?;
    registry::retire_device(&st.db, s.tenant_id, id, &format!("staff:{}", s.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/iot/people", tag = "iot", security(("bearer" = [])),
    request_body = NewPerson, responses((status = 201, body = i64, content_type = "application/json"), (status = 400, body = super::api::ErrorBody)))]
async fn add_person(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let p: NewPerson =
        serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    let id = registry::add_person(&st.db, s.tenant_id, p, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(id)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EndBody {
    /// Why watching ends (consent withdrawn, moved, in care …).
    pub reason: String,
}

/// Ends watching over a person: contacts deleted, sensors retired, notices stopped.
#[utoipa::path(post, path = "/api/v1/admin/iot/people/{id}/end", tag = "iot", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = EndBody, responses((status = 204), (status = 400, body = super::api::ErrorBody), (status = 404, body = super::api::ErrorBody)))]
async fn end_person(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> Result<StatusCode> {
    let s = ctx.admin()?;
    let b: EndBody =
        serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    registry::end_person(&st.db, s.tenant_id, id, &b.reason, &format!("staff:{}", s.id)).await?;
    Ok(StatusCode::NO_CONTENT)
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
    if !policy::allows(&st.db, s, Action::WatchRecords).await? {
        alarms::hide_people(&mut list, &crate::i18n::t(ctx.lang(), "iot.person_hidden"));
    }
    if let Some(a) = f.area.as_deref().filter(|a| !a.is_empty()) {
        list.retain(|x| x.area == a);
    }
    Ok(Json(list))
}

#[derive(Template)]
#[template(path = "iot_ack.html")]
pub(super) struct AckPage {
    l: Layout,
    token: String,
    contact: String,
    label: String,
    area: String,
    kind: String,
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
    o: captures::Options,
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
struct Who {
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
        o: captures::Options::new(lang),
        l: ctx.layout(st, "確認"),
        token: token.to_string(),
        contact: contact.map(|c| c.to_string()).unwrap_or_default(),
        label: a.label,
        area: a.area,
        is_trap: a.kind == "trap_fired",
        kind: a.kind,
        state: a.state,
        captured: a.captured,
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

#[derive(Template)]
#[template(path = "iot_alarms.html")]
struct AlarmsPage {
    l: Layout,
    alarms: Vec<AlarmInfo>,
    kind: String,
    /// The state filter, when it names one.
    state: Option<AlarmState>,
    area: String,
    areas: Vec<String>,
}

impl AlarmsPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn states(&self) -> [AlarmState; 3] {
        AlarmState::ALL
    }
    fn selected(&self, s: &AlarmState) -> bool {
        self.state == Some(*s)
    }
}

async fn staff_alarms(State(st): State<AppState>, ctx: Ctx, Query(f): Query<AlarmFilter>) -> PageResult {
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
        l: ctx.layout(&st, "アラーム"),
        alarms: list,
        kind: f.kind.unwrap_or_default(),
        state: f.state.as_deref().and_then(AlarmState::parse),
        area,
        areas,
    })
    .lang(&lang)
}

// ---------------------------------------------------------------------------------------------
// Administration pages: devices, watched people, settings; captures.

pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/staff/iot/devices", get(devices_page).post(devices_csv))
        .route("/staff/iot/settings", post(save_settings))
        .route("/staff/iot/applications", post(bind_application_page))
        .route("/staff/iot/applications/{id}/remove", post(unbind_application_page))
        .route("/staff/iot/people", post(add_person_page))
        .route("/staff/iot/devices/{id}/retire", post(retire_device_page))
        .route("/staff/iot/people/{id}/end", post(end_person_page))
        .route("/staff/iot/people/{id}", get(person_page))
        .merge(captures::routes())
        .merge(permits::routes())
}

struct PersonRow {
    id: i64,
    name: String,
    area: String,
    devices: i64,
}

#[derive(Template)]
#[template(path = "iot_devices.html")]
struct DevicesPage {
    l: Layout,
    devices: Vec<DeviceInfo>,
    people: Vec<PersonRow>,
    resend_min: i64,
    staff_email: String,
    /// Network-server applications bound to the tenant (MQTT).
    applications: Vec<Binding>,
    message: String,
    error: String,
}

impl DevicesPage {
    fn when(&self, ms: &Option<i64>) -> String {
        ms.map(fmt_time).unwrap_or_else(|| "—".into())
    }
}

async fn devices_view(st: &AppState, ctx: &Ctx, message: String, error: String) -> Result<DevicesPage> {
    let s = ctx.admin()?;
    let people = registry::list_people(&st.db, s.tenant_id)
        .await?
        .into_iter()
        .map(|p| PersonRow { id: p.id, name: p.name, area: p.area, devices: p.devices })
        .collect();
    let (resend_min, staff_email) = registry::settings(&st.db, s.tenant_id).await?;
    Ok(DevicesPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "iot.devices_title")),
        devices: registry::list_devices(&st.db, s.tenant_id).await?,
        people,
        resend_min,
        staff_email,
        applications: crate::iot::applications::list(&st.db, s.tenant_id).await?,
        message,
        error,
    })
}

async fn devices_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&devices_view(&st, &ctx, String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

async fn devices_outcome(st: &AppState, ctx: &Ctx, r: Result<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    match r {
        Ok(m) => render(&devices_view(st, ctx, m, String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => {
            let status = e.status();
            let page = devices_view(st, ctx, String::new(), e.message(&lang)).await.lang(&lang)?;
            super::render_status(status, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

/// CSV import of devices from the page (all rows or none).
async fn devices_csv(State(st): State<AppState>, ctx: Ctx, mp: axum::extract::Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.admin().lang(&lang)?.clone();
    let (csrf, _, file) = read_upload(mp).await.lang(&lang)?;
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let result = async {
        let (_, text) = file.ok_or_else(|| AppError::BadRequest("choose a CSV file".into()))?;
        let devices = registry::devices_from_csv(&text)?;
        let ids = registry::add_devices(&st.db, s.tenant_id, devices, &format!("staff:{}", s.id)).await?;
        Ok(crate::i18n::tf(&lang, "iot.imported", &[("n", &ids.len().to_string())]))
    }
    .await;
    devices_outcome(&st, &ctx, result).await
}

async fn save_settings(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let result = async {
        let min = form_get(&form, "resend_min").unwrap_or("").trim().parse::<i64>().unwrap_or(0);
        if !(5..=720).contains(&min) {
            return Err(AppError::BadRequest("the re-send interval is 5–720 minutes".into()));
        }
        let email = form_get(&form, "staff_email").unwrap_or("").trim().to_lowercase();
        if !email.is_empty() && !kencho_core::forms::is_email(&email) {
            return Err(AppError::BadRequest("not an e-mail address".into()));
        }
        registry::save_settings(&st.db, s.tenant_id, &format!("staff:{}", s.id), min, &email).await?;
        Ok(crate::i18n::t(&lang, "iot.saved"))
    }
    .await;
    devices_outcome(&st, &ctx, result).await
}

/// Binds a network-server application (MQTT) to the tenant from the page.
async fn bind_application_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let b = Binding {
        id: 0,
        format: form_get(&form, "format").unwrap_or_default().to_string(),
        application: form_get(&form, "application").unwrap_or_default().to_string(),
    };
    let result = crate::iot::applications::bind(&st.db, s.tenant_id, &b, &format!("staff:{}", s.id))
        .await
        .map(|_| crate::i18n::t(&lang, "iot.saved"));
    devices_outcome(&st, &ctx, result).await
}

async fn unbind_application_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, true)?;
    let result = crate::iot::applications::unbind(&st.db, s.tenant_id, id, &format!("staff:{}", s.id))
        .await
        .map(|_| crate::i18n::t(&lang, "iot.saved"));
    devices_outcome(&st, &ctx, result).await
}

/// Registers a watched person and up to three contacts from the page.
async fn add_person_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let result = async {
        let text = |k: &str| form_get(&form, k).unwrap_or("").trim().to_string();
        let num = |k: &str| -> Result<Option<u32>> {
            let v = text(k);
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{k}: not a number")))
            }
        };
        let mut contacts = Vec::new();
        for i in 1..=3 {
            let (name, email) = (text(&format!("c{i}_name")), text(&format!("c{i}_email")));
            if name.is_empty() && email.is_empty() {
                continue;
            }
            let hours = text(&format!("c{i}_hours"));
            contacts.push(registry::NewContact {
                name,
                email,
                role: text(&format!("c{i}_role")),
                hours: (!hours.is_empty()).then_some(hours),
            });
        }
        let quiet = text("quiet_hours");
        let p = NewPerson {
            name: text("name"),
            area: text("area"),
            inactivity_hours: num("inactivity_hours")?,
            quiet_hours: (!quiet.is_empty()).then_some(quiet),
            escalation_wait_min: num("escalation_wait_min")?,
            consent: text("consent"),
            contacts,
        };
        let id = registry::add_person(&st.db, s.tenant_id, p, &format!("staff:{}", s.id)).await?;
        Ok(crate::i18n::tf(&lang, "iot.person_added", &[("id", &id.to_string())]))
    }
    .await;
    devices_outcome(&st, &ctx, result).await
}

async fn retire_device_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, true)?;
    let r = registry::retire_device(&st.db, s.tenant_id, id, &format!("staff:{}", s.id))
        .await
        .map(|_| crate::i18n::t(&lang, "iot.retired"));
    devices_outcome(&st, &ctx, r).await
}

async fn end_person_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let r = registry::end_person(
        &st.db,
        s.tenant_id,
        id,
        form_get(&form, "reason").unwrap_or(""),
        &format!("staff:{}", s.id),
    )
    .await
    .map(|_| crate::i18n::t(&lang, "iot.ended"));
    devices_outcome(&st, &ctx, r).await
}

#[derive(Template)]
#[template(path = "iot_person.html")]
struct PersonPage {
    l: Layout,
    id: i64,
    admin: bool,
    name: String,
    area: String,
    window: i64,
    consent: String,
    last_activity: String,
    contacts: Vec<(String, String, String)>,
    devices: Vec<(String, String, String)>,
    activity: Vec<(String, String)>,
}

/// A watched person's record: for those the tenant's table allows (`watch_records`; by
/// default 課長 and administrators). Opening it is audited: who looked, when, why.
async fn person_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let r = registry::open_person(&st.db, &s, id, "record page").await.lang(&lang)?;
    let (contacts, devices, recent) = registry::person_details(&st.db, id).await.lang(&lang)?;
    let activity = recent.into_iter().map(|(at, kind)| (fmt_time(at), kind)).collect();
    let last = r.last_activity_at;
    render(&PersonPage {
        id,
        admin: s.role == kencho_core::application::Role::Admin,
        l: ctx.layout(&st, &crate::i18n::t(&lang, "iot.person_title")),
        name: r.name,
        area: r.area,
        window: r.inactivity_hours,
        consent: r.consent,
        last_activity: last.map(fmt_time).unwrap_or_else(|| "—".into()),
        contacts,
        devices,
        activity,
    })
    .lang(&lang)
}
