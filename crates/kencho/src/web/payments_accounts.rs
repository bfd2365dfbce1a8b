//! 会計 pages and API of 公金の収納: the tenant's 手数料条例 (fee schedule), the 会計管理者's review
//! of refund orders, the fiscal-year report, and the 指定納付受託者 of each provider.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::api::json;
use super::{form_get, staff_form, AppState, Ctx, InLang, PageResult};
use crate::error::{AppError, Result};
use crate::payments::{self, agents, fiscal, schedule};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/refunds/{id}/review", post(review_page))
        .route("/staff/payments/fiscal.csv", get(fiscal_csv))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/payments/schedule", get(api_get_schedule).put(api_put_schedule))
        .route("/admin/payments/agents/{provider}", put(api_put_agent))
        .route("/admin/payments/agents", get(api_agents))
        .route("/staff/refunds/{id}/review", post(api_review))
        .route("/staff/payments/fiscal", get(api_fiscal))
}

/// The tenant's 手数料条例 as its TOML document (empty when none is kept).
#[utoipa::path(get, path = "/api/v1/admin/payments/schedule", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = String, content_type = "application/toml")))]
pub(super) async fn api_get_schedule(State(st): State<AppState>, ctx: Ctx) -> Result<Response> {
    let s = ctx.admin()?;
    let text = schedule::load(&st.db, s.tenant_id).await?.map(|(_, t)| t).unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "application/toml; charset=utf-8")], text).into_response())
}

/// Replaces the tenant's 手数料条例 (fee schedule): checked whole, every problem named
/// (`items[1].amount: …`); a refused document changes nothing.
#[utoipa::path(put, path = "/api/v1/admin/payments/schedule", tag = "payments", security(("bearer" = [])),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 204), (status = 400, body = super::api::ErrorBody)))]
pub(super) async fn api_put_schedule(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> Result<StatusCode> {
    let s = ctx.admin()?;
    if body.len() > 512 * 1024 {
        return Err(AppError::TooLarge);
    }
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("the document is not UTF-8".into()))?;
    schedule::save(&st.db, s, text).await?.map_err(AppError::problems)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// true: the order is lawful and is paid; false: refused, nothing is paid.
    pub approve: bool,
}

/// The 会計管理者's review of a refund order (支出命令の審査, 地方自治法232条の4第2項): needs
/// `refund_review`, and someone other than the person who ordered it.
#[utoipa::path(post, path = "/api/v1/staff/refunds/{id}/review", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ReviewBody, responses((status = 200, body = payments::Refund), (status = 403, body = super::api::ErrorBody), (status = 409, body = super::api::ErrorBody)))]
pub(super) async fn api_review(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<payments::Refund>> {
    let s = ctx.staff()?;
    let b: ReviewBody = json(&headers, &body)?;
    let r = payments::review_refund(&st.db, s, id, b.approve).await?;
    Ok(Json(r))
}

async fn review_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    // A refusal is final: only an explicit answer counts as one.
    let approve = match form_get(&form, "approve") {
        Some("1") => true,
        Some("0") => false,
        _ => return Err(AppError::BadRequest("approve must be 1 or 0".into())).lang(&lang),
    };
    payments::review_refund(&st.db, &s, id, approve).await.lang(&lang)?;
    Ok(Redirect::to("/staff/payments").into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct YearQuery {
    /// 年度 by its starting calendar year (2026 = 令和8年度, 2026-04-01 to 2027-03-31); absent:
    /// the current one.
    #[serde(default)]
    pub year: Option<String>,
}

fn year_of(q: &YearQuery) -> Result<i32> {
    match q.year.as_deref().filter(|y| !y.is_empty()) {
        None => Ok(schedule::fiscal_year_at(crate::db::now_ms())),
        Some(y) => kencho_core::payment::fiscal::parse_year(y)
            .ok_or_else(|| AppError::BadRequest("year must be a fiscal year such as 2026".into())),
    }
}

/// 調定額, 収入済額 (with what came in the 出納整理期間), 還付 and 未収 per 歳入科目 of a 年度.
#[utoipa::path(get, path = "/api/v1/staff/payments/fiscal", tag = "payments", security(("bearer" = [])), params(YearQuery),
    responses((status = 200, body = fiscal::FiscalReport)))]
pub(super) async fn api_fiscal(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<YearQuery>,
) -> Result<Json<fiscal::FiscalReport>> {
    let s = ctx.staff()?;
    Ok(Json(fiscal::report(&st.db, s.tenant_id, year_of(&q)?).await?))
}

async fn fiscal_csv(State(st): State<AppState>, ctx: Ctx, Query(q): Query<YearQuery>) -> Result<Response> {
    let s = ctx.staff()?;
    let year = year_of(&q)?;
    let text = fiscal::csv(&fiscal::report(&st.db, s.tenant_id, year).await?)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"nendo-{year}.csv\"")),
        ],
        text,
    )
        .into_response())
}

/// Records the 指定 of a provider as 指定納付受託者 (地方自治法231条の2の3): without it the
/// provider cannot be switched on, and it takes only the revenues its 告示 names.
#[utoipa::path(put, path = "/api/v1/admin/payments/agents/{provider}", tag = "payments", security(("bearer" = [])), params(("provider" = String, Path)),
    request_body = agents::Agent, responses((status = 200, body = agents::Agent), (status = 400, body = super::api::ErrorBody)))]
pub(super) async fn api_put_agent(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<agents::Agent>> {
    let s = ctx.admin()?;
    let b: agents::Agent = json(&headers, &body)?;
    Ok(Json(agents::designate(&st.db, s, &provider, b).await?.map_err(AppError::problems)?))
}

/// The 指定納付受託者 of the tenant, one per provider.
#[utoipa::path(get, path = "/api/v1/admin/payments/agents", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = [agents::Agent])))]
pub(super) async fn api_agents(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<agents::Agent>>> {
    let s = ctx.admin()?;
    Ok(Json(agents::list(&st.db, s.tenant_id).await?))
}
