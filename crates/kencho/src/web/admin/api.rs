//! The JSON API for tenant administrators: procedure import and API tokens.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kencho_core::procedure::ProcedureDef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::accounts::tokens::ApiTokenInfo;
use crate::error::{AppError, Result};
use crate::procedures;
use crate::web::json;
use crate::web::openapi::ErrorBody;
use crate::web::{AppState, Ctx};
use kencho_core::security::Scope;

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
    let text = crate::web::utf8_body(&body)?;
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
    #[schema(value_type = String)]
    pub scope: Scope,
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
            .ok_or_else(|| AppError::BadRequest(detail!("detail.admin.scope_staff_read_iot", x = format!("{x:?}"))))?,
    };
    let token = accounts::tokens::create(&st.db, s, &b.name, scope, b.expires_in_days).await?;
    let days = b.expires_in_days.unwrap_or_else(|| scope.default_days());
    Ok((StatusCode::CREATED, Json(NewToken { token, scope, expires_in_days: days })).into_response())
}

// ---------- staff (職員管理) ----------

#[derive(Serialize, ToSchema)]
pub struct StaffList {
    pub staff: Vec<accounts::StaffEntry>,
    /// The tenant's divisions as (code, name).
    pub divisions: Vec<(String, String)>,
}

#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "admin", security(("bearer" = [])), responses((status = 200, body = StaffList)))]
pub async fn list_staff(State(st): State<AppState>, ctx: Ctx) -> Result<Json<StaffList>> {
    let s = ctx.admin()?;
    let (staff, divisions) = accounts::staff_of_tenant(&st.db, s.tenant_id).await?;
    Ok(Json(StaffList { staff, divisions }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub email: String,
    pub name: String,
    /// The code of one of the tenant's divisions.
    pub division: String,
    /// `tanto`, `kakaricho`, `kacho` or `admin`.
    pub role: String,
    /// The language of the invitation mail (`ja` by default, or `en`).
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Invited {
    pub id: i64,
}

#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin", security(("bearer" = [])), request_body = InviteBody,
    responses((status = 201, description = "Account made, invitation mailed (its link sets the password, good for 7 days)", body = Invited),
        (status = 400, body = ErrorBody), (status = 409, description = "The address has an account", body = ErrorBody)))]
pub async fn invite_staff(State(st): State<AppState>, ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let s = ctx.admin()?;
    let b: InviteBody = json(&headers, &body)?;
    let inv = accounts::Invite {
        email: &b.email,
        name: &b.name,
        division_code: &b.division,
        role: accounts::parse_role(&b.role)?,
        lang: b.lang.as_deref().unwrap_or_default(),
        base_url: &st.cfg.base_url,
    };
    let id = accounts::invite_staff(&st.db, s, inv).await?;
    Ok((StatusCode::CREATED, Json(Invited { id })).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStaffBody {
    pub role: String,
    pub division: String,
}

#[utoipa::path(patch, path = "/api/v1/admin/staff/{id}", tag = "admin", security(("bearer" = [])), params(("id" = i64, Path)), request_body = ChangeStaffBody,
    responses((status = 204, description = "Role and division changed"), (status = 404, body = ErrorBody),
        (status = 409, description = "The tenant's last administrator", body = ErrorBody)))]
pub async fn change_staff(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let s = ctx.admin()?;
    let b: ChangeStaffBody = json(&headers, &body)?;
    accounts::change_staff(&st.db, s, id, accounts::StaffChange::Role(accounts::parse_role(&b.role)?, &b.division))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/staff/{id}/deactivate", tag = "admin", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Account ended: no sign-in, sessions and tokens ended"), (status = 404, body = ErrorBody),
        (status = 409, description = "Oneself, or the tenant's last administrator", body = ErrorBody)))]
pub async fn deactivate_staff(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<StatusCode> {
    let s = ctx.admin()?;
    accounts::change_staff(&st.db, s, id, accounts::StaffChange::Deactivate).await?;
    Ok(StatusCode::NO_CONTENT)
}
