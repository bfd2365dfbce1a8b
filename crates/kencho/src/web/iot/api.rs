//! IoT API: the uplink webhook, devices, application bindings, 見守り people, the alarm list and
//! 捕獲許可 (capture permits).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::alarms::AlarmFilter;
use super::permits::{build, wildlife_staff, Report};
use crate::accounts::Principal;
use crate::error::{AppError, Result};
use crate::iot::alarms::{self, AlarmInfo};
use crate::iot::applications::Binding;
use crate::iot::ingest::{self, Ingested};
use crate::iot::permits::{self as store, NewPermit, PermitInfo};
use crate::iot::registry::{self, DeviceInfo, NewDevice, NewPerson};
use crate::security::policy;
use crate::web::{AppState, Ctx};
use kencho_core::security::Action;

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct UplinkQuery {
    /// ChirpStack's event type: `up` (the default), `status`, `join`, `ack`, `txack`, `log`,
    /// `location` or `integration`.
    event: Option<String>,
}

/// Uplinks posted by a network server's HTTP integration (ChirpStack, The Things Stack) or a
/// gateway using the plain format. Authenticated with the tenant's integration token (scope
/// `iot_uplink`) or an administrator's; only that tenant's devices answer.
#[utoipa::path(post, path = "/api/v1/iot/uplink", tag = "iot", security(("bearer" = [])), params(UplinkQuery),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = Ingested), (status = 401, body = crate::web::openapi::ErrorBody), (status = 403, body = crate::web::openapi::ErrorBody), (status = 413, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn webhook(
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
    responses((status = 200, body = [Binding]), (status = 401, body = crate::web::openapi::ErrorBody), (status = 403, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn list_applications(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<Binding>>> {
    let s = ctx.admin()?;
    Ok(Json(crate::iot::applications::list(&st.db, s.tenant_id).await?))
}

/// Binds a network-server application to this tenant: MQTT uplinks on its topics are this
/// tenant's, and only this tenant's devices answer them.
#[utoipa::path(post, path = "/api/v1/admin/iot/applications", tag = "iot", security(("bearer" = [])),
    request_body = Binding,
    responses((status = 201, body = i64, content_type = "application/json"), (status = 400, body = crate::web::openapi::ErrorBody), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn bind_application(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.admin()?;
    let b: Binding = crate::web::json(&headers, &body)?;
    let id = crate::iot::applications::bind(&st.db, s.tenant_id, &b, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(id)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/admin/iot/applications/{id}", tag = "iot", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn unbind_application(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let s = ctx.admin()?;
    crate::iot::applications::unbind(&st.db, s.tenant_id, id, &format!("staff:{}", s.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/admin/iot/devices", tag = "iot", security(("bearer" = [])),
    responses((status = 200, body = [DeviceInfo])))]
pub(super) async fn list_devices(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<DeviceInfo>>> {
    let s = ctx.admin()?;
    Ok(Json(registry::list_devices(&st.db, s.tenant_id).await?))
}

/// Registers devices: a JSON list, or CSV (`text/csv`) with columns dev_eui, kind, label, area,
/// lat, lon, heartbeat_s, person_id, hunters ("name <email>; …"). All or nothing.
#[utoipa::path(post, path = "/api/v1/admin/iot/devices", tag = "iot", security(("bearer" = [])),
    request_body = [NewDevice],
    responses((status = 201, body = [i64]), (status = 400, body = crate::web::openapi::ErrorBody), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn add_devices(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.admin()?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if body.len() > 8 * 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let devices: Vec<NewDevice> = if ct.starts_with("text/csv") {
        let text = crate::web::utf8_body(&body)?;
        registry::devices_from_csv(text)?
    } else if ct.starts_with("application/json") {
        crate::web::json(&headers, &body)?
    } else {
        return Err(AppError::UnsupportedMedia(format!("expected application/json or text/csv, got \"{ct}\"")));
    };
    let ids = registry::add_devices(&st.db, s.tenant_id, devices, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(ids)).into_response())
}

/// Takes a device out of service (its history stays; its DevEUI can be registered again).
#[utoipa::path(delete, path = "/api/v1/admin/iot/devices/{id}", tag = "iot", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn retire_device(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.admin()?;
    registry::retire_device(&st.db, s.tenant_id, id, &format!("staff:{}", s.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/iot/people", tag = "iot", security(("bearer" = [])),
    request_body = NewPerson, responses((status = 201, body = i64, content_type = "application/json"), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn add_person(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let p: NewPerson = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(detail!("detail.request.invalid_json_body", e = e)))?;
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
    params(("id" = i64, Path)), request_body = EndBody, responses((status = 204), (status = 400, body = crate::web::openapi::ErrorBody), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn end_person(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<StatusCode> {
    let s = ctx.admin()?;
    let b: EndBody = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(detail!("detail.request.invalid_json_body", e = e)))?;
    registry::end_person(&st.db, s.tenant_id, id, &b.reason, &format!("staff:{}", s.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/staff/iot/alarms", tag = "iot", security(("bearer" = [])), params(AlarmFilter),
    responses((status = 200, body = [AlarmInfo])))]
pub(super) async fn list_alarms(
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

#[utoipa::path(get, path = "/api/v1/staff/iot/permits", tag = "iot", security(("bearer" = [])),
    responses((status = 200, body = [PermitInfo]), (status = 403, body = crate::web::openapi::ErrorBody)))]
pub async fn api_list(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<PermitInfo>>> {
    let s = wildlife_staff(&st, &ctx).await?;
    Ok(Json(store::list(&st.db, s.tenant_id).await?))
}

/// Registers a 捕獲許可 (許可番号 unique within the tenant).
#[utoipa::path(post, path = "/api/v1/staff/iot/permits", tag = "iot", security(("bearer" = [])), request_body = NewPermit,
    responses((status = 201, body = i64, content_type = "application/json"), (status = 409, body = crate::web::openapi::ErrorBody), (status = 422, body = crate::web::openapi::ErrorBody)))]
pub async fn api_add(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = wildlife_staff(&st, &ctx).await?;
    let p: NewPermit = crate::web::json(&headers, &body)?;
    let id = store::add(&st.db, s.tenant_id, &p, &format!("staff:{}", s.id)).await?;
    Ok((StatusCode::CREATED, Json(id)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    pub device_id: i64,
    /// kukuri, hako, hakootoshi or kakoi; one the permit allows.
    pub trap_type: String,
}

/// Puts a trap under the permit.
#[utoipa::path(post, path = "/api/v1/staff/iot/permits/{id}/devices", tag = "iot", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Assign,
    responses((status = 204), (status = 404, body = crate::web::openapi::ErrorBody), (status = 422, body = crate::web::openapi::ErrorBody)))]
pub async fn api_assign(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let s = wildlife_staff(&st, &ctx).await?;
    let a: Assign = crate::web::json(&headers, &body)?;
    store::assign_device(&st.db, s.tenant_id, id, a.device_id, &a.trap_type, &format!("staff:{}", s.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The permit's report: captures of its period counted per species, sex and age, the due date
/// (period end + 30 days) and whether it is overdue.
#[utoipa::path(get, path = "/api/v1/staff/iot/permits/{id}/report", tag = "iot", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Report), (status = 404, body = crate::web::openapi::ErrorBody)))]
pub async fn api_report(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<Report>> {
    let s = wildlife_staff(&st, &ctx).await?;
    Ok(Json(build(&st, &s, id, ctx.lang()).await?.0))
}
