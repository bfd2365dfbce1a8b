//! The JSON API for staff and tenant administrators: inboxes, cases and their actions, export,
//! procedure import and API tokens.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kencho_core::procedure::ProcedureDef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::{detail, json, summaries, ApplicationDetail, ApplicationSummary, ErrorBody, StatusBody};
use super::{AppState, Ctx};
use crate::accounts;
use crate::accounts::tokens::ApiTokenInfo;
use crate::applications::{self as apps, InboxFilter};
use crate::error::{AppError, Result};
use crate::procedures;
use kencho_core::security::Scope;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/applications", get(inbox))
        .route("/staff/applications/{id}", get(staff_get_application))
        .route("/staff/applications/{id}/actions", post(staff_action))
        .route("/staff/export", get(export))
        .route("/admin/procedures", post(import_procedure))
        .route("/admin/api-tokens", get(list_tokens).post(create_token))
}

#[utoipa::path(get, path = "/api/v1/staff/applications", tag = "staff", security(("bearer" = [])), params(InboxFilter), responses((status = 200, body = [ApplicationSummary])))]
pub async fn inbox(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(f): Query<InboxFilter>,
) -> Result<Json<Vec<ApplicationSummary>>> {
    let s = ctx.staff()?;
    Ok(Json(summaries(&apps::inbox(&st.db, s, &f).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PurposeQuery {
    /// Why the application is opened (recorded in the audit log).
    #[serde(default)]
    pub purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/staff/applications/{id}", tag = "staff", security(("bearer" = [])), params(("id" = i64, Path), PurposeQuery),
    responses((status = 200, body = ApplicationDetail), (status = 404, body = ErrorBody)))]
pub async fn staff_get_application(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<ApplicationDetail>> {
    let s = ctx.staff()?;
    let purpose = q.purpose.unwrap_or_else(|| "api".into());
    if purpose.chars().count() > 200 {
        return Err(AppError::BadRequest("purpose is too long".into()));
    }
    let a = apps::open_for_staff(&st.db, s, id, &purpose).await?;
    Ok(Json(detail(&st, a).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct StaffActionBody {
    /// `accept`, `request_correction`, `reject`, `approve` or `deny`.
    pub action: String,
    /// Required for request_correction, reject, approve and deny.
    #[serde(default)]
    pub message: String,
}

#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/actions", tag = "staff", security(("bearer" = [])), params(("id" = i64, Path)), request_body = StaffActionBody,
    responses((status = 200, body = StatusBody), (status = 409, description = "Not possible in this status", body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn staff_action(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusBody>> {
    let s = ctx.staff()?;
    let b: StaffActionBody = json(&headers, &body)?;
    let action = super::staff::parse_action(&b.action, &b.message)?;
    let to =
        crate::flows::decision::staff_action(&st.db, &st.links, (&st.cfg.base_url, &st.cfg.data_dir), s, id, action)
            .await?;
    Ok(Json(StatusBody { status: to.as_str().into() }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub procedure: Option<String>,
    #[serde(default)]
    pub overdue: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/staff/export", tag = "staff", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "Applications as JSON or CSV (UTF-8 with BOM)")))]
pub async fn export(State(st): State<AppState>, ctx: Ctx, Query(q): Query<ExportQuery>) -> Result<Response> {
    let s = ctx.staff()?;
    let f = InboxFilter { status: q.status, procedure: q.procedure, overdue: q.overdue };
    let list = apps::export(&st.db, s, &f).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(super::staff::export_json_value(&list)).into_response()),
        "csv" => {
            let mut res = super::staff::to_csv(&list)?.into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            Ok(res)
        }
        other => Err(AppError::BadRequest(format!("format must be json or csv, not \"{other}\""))),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub tenant: String,
    pub code: String,
    pub version: i64,
    pub created: bool,
}

#[utoipa::path(post, path = "/api/v1/admin/procedures", tag = "admin", security(("bearer" = [])),
    request_body(content = String, content_type = "application/toml", description = "A procedure definition (TOML, or JSON with Content-Type application/json)"),
    responses((status = 201, body = ImportResult), (status = 200, description = "Identical to the current version", body = ImportResult), (status = 400, description = "Invalid definition: names the field and problem", body = ErrorBody)))]
pub async fn import_procedure(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.admin()?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let name = if ct.starts_with("application/json") {
        "request.json"
    } else if ct.starts_with("application/toml") || ct.starts_with("text/plain") {
        "request.toml"
    } else {
        return Err(AppError::UnsupportedMedia(format!("expected application/toml or application/json, got \"{ct}\"")));
    };
    if body.len() > 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("body is not UTF-8".into()))?;
    let def = ProcedureDef::parse(name, text)?;
    let outcome = procedures::import(&st.db, &def, &format!("staff:{}", s.id), Some(s.tenant_id)).await?;
    let (version, created) = match outcome {
        procedures::ImportOutcome::Created { version } => (version, true),
        procedures::ImportOutcome::Unchanged { version } => (version, false),
    };
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ImportResult { tenant: def.tenant, code: def.code, version, created })).into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/api-tokens", tag = "admin", security(("bearer" = [])), responses((status = 200, body = [ApiTokenInfo])))]
pub async fn list_tokens(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<ApiTokenInfo>>> {
    let s = ctx.admin()?;
    Ok(Json(accounts::tokens::list(&st.db, s.tenant_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    pub name: String,
    /// `staff` (acts as you; the default), `read` (acts as you, reads only) or `iot_uplink`
    /// (a network server's credential: posts uplinks for this tenant and nothing else).
    #[serde(default)]
    pub scope: Option<String>,
    /// Days until it expires (default 90 for staff and read, 365 for iot_uplink; at most 365 / 730).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct NewToken {
    /// Send as `Authorization: Bearer <token>`; shown only this once.
    pub token: String,
    pub scope: String,
    pub expires_in_days: i64,
}

#[utoipa::path(post, path = "/api/v1/admin/api-tokens", tag = "admin", security(("bearer" = [])), request_body = CreateTokenBody,
    responses((status = 201, description = "The token, shown once", body = NewToken), (status = 400, body = ErrorBody)))]
pub async fn create_token(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let b: CreateTokenBody = json(&headers, &body)?;
    let scope = match b.scope.as_deref() {
        None => Scope::Staff,
        Some(x) => Scope::parse(x)
            .ok_or_else(|| AppError::BadRequest(format!("scope must be staff, read or iot_uplink, not {x:?}")))?,
    };
    let token = accounts::tokens::create(&st.db, s, &b.name, scope, b.expires_in_days).await?;
    let days = b.expires_in_days.unwrap_or_else(|| scope.default_days());
    Ok((StatusCode::CREATED, Json(NewToken { token, scope: scope.as_str().into(), expires_in_days: days }))
        .into_response())
}
