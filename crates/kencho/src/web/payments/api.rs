//! キャッシュレス決済 and 公金の収納 API: a resident's payment, the provider webhooks (Stripe's and
//! the sandbox's), fees, cash, refunds and their review, reconciliation, totals, the provider
//! settings, the 手数料条例 and the 指定納付受託者, the fiscal-year report.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kencho_core::payment::method::PaymentMethod;
use kencho_core::payment::provider::Provider;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use kencho_core::payment::event::ProviderEvent;

use super::accounts::{year_of, YearQuery};
use super::pages::set_fee;
use crate::applications as apps;
use crate::error::{AppError, Result};
use crate::payments::{self, agents, fiscal, reconcile, sandbox, schedule, Summary};
use crate::web::json;
use crate::web::{AppState, Ctx};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
    /// card or qr (what the tenant offers). Kept as text here: an unknown name is refused as
    /// a method not offered (`payments::chosen_method`), not as a malformed body.
    pub method: String,
    /// For a per-unit fee paid before submission: how many.
    #[serde(default)]
    pub units: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PayStarted {
    /// Send the resident here to pay; the result arrives by the provider's webhook.
    pub checkout_url: String,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/payment", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = PayBody, responses((status = 200, body = PayStarted), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_pay(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PayStarted>> {
    let r = ctx.resident()?;
    let b: PayBody = json(&headers, &body)?;
    let a = apps::for_resident(&st.db, r, id).await?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    let checkout_url = payments::start(
        &st.db,
        st.links.clone(),
        (&st.cfg.base_url, &st.cfg.stripe_api_base, st.cfg.payment_sandbox),
        r,
        &p,
        id,
        (payments::chosen_method(&b.method)?, b.units),
    )
    .await?;
    Ok(Json(PayStarted { checkout_url }))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}/payment", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Summary)))]
pub(super) async fn api_summary(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<Summary>> {
    let r = ctx.resident()?;
    let a = apps::for_resident(&st.db, r, id).await?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    Ok(Json(payments::summary(&st.db, &p, id).await?))
}

// ---------------------------------------------------------------------------------------------
// Staff.

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeBody {
    /// The item of the tenant's 手数料条例 (absent: the procedure's own item or fee). The amount
    /// is computed from it; it is never typed.
    #[serde(default)]
    pub item: Option<String>,
    /// For a per-unit fee: how many.
    #[serde(default)]
    pub units: Option<i64>,
    /// 減免: the code of a 減免事由 of the 手数料条例 (needs `fee_reduce`).
    #[serde(default)]
    pub ground: Option<String>,
    /// The application's attachment (its id) that evidences the 減免.
    #[serde(default)]
    pub exemption_evidence: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/fee", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = FeeBody, responses((status = 201, body = i64, content_type = "application/json"), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_set_fee(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.staff()?;
    let b: FeeBody = json(&headers, &body)?;
    let pid = set_fee(&st, s, id, b).await?;
    Ok((StatusCode::CREATED, Json(pid)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub amount: i64,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/staff/payments/{id}/refunds", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = RefundBody, responses((status = 201, body = payments::Refund), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_refund(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.staff()?;
    let b: RefundBody = json(&headers, &body)?;
    let r = payments::request_refund(&st.db, st.links.clone(), s, id, b.amount, &b.reason).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReconcileQuery {
    /// The provider whose settlement file this is: `sandbox` (provider_ref,date,gross,fee) or
    /// `stripe` (Stripe's itemized balance report; its charge lines are matched).
    #[serde(default)]
    pub provider: Option<String>,
}

/// Imports a provider's settlement file (CSV) and matches it against the payments.
#[utoipa::path(post, path = "/api/v1/staff/payments/reconcile", tag = "payments", security(("bearer" = [])), params(ReconcileQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = reconcile::Report), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_reconcile(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReconcileQuery>,
    body: Bytes,
) -> Result<Json<reconcile::Report>> {
    let s = ctx.staff()?;
    if body.len() > 64 * 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let text = crate::web::utf8_body(&body)?;
    let provider = q.provider.unwrap_or_else(|| "sandbox".into());
    Ok(Json(reconcile::import(&st.db, s, &provider, "upload.csv", text).await?))
}

#[utoipa::path(get, path = "/api/v1/staff/payments/totals", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = reconcile::Totals)))]
pub(super) async fn api_totals(State(st): State<AppState>, ctx: Ctx) -> Result<Json<reconcile::Totals>> {
    let s = ctx.staff()?;
    Ok(Json(reconcile::totals(&st.db, s.tenant_id).await?))
}

/// Stripe's webhook endpoint for a tenant (configure `{base}/api/v1/payments/webhooks/stripe/{tenant}`
/// in the Stripe Dashboard). Verified with the tenant's signing secret; a forged or malformed
/// one is refused and changes nothing; events kencho does not use are acknowledged.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/stripe/{tenant}", tag = "payments", params(("tenant" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = [String]), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn stripe_webhook(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<String>>> {
    use kencho_core::payment::stripe as fmt;
    if body.len() > 256 * 1024 {
        return Err(AppError::TooLarge);
    }
    let t = crate::tenants::by_code(&st.db, &tenant).await?.ok_or(AppError::NotFound)?;
    let settings = sandbox::settings(&st.db, t.id).await?;
    let secret = settings
        .stripe_webhook_secret
        .filter(|_| settings.stripe_enabled)
        .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.stripe_configured_tenant")))?;
    let sig = headers
        .get(fmt::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.no_stripe_signature")))?;
    fmt::verify_signature(sig, &body, secret.expose(), crate::db::now_ms() / 1000, fmt::DEFAULT_TOLERANCE_S)
        .map_err(|e| AppError::BadRequest(detail!("detail.payments.webhook_refused", e = e)))?;
    let events =
        fmt::parse_event(&body).map_err(|e| AppError::BadRequest(detail!("detail.payments.invalid_event", e = e)))?;
    let charge =
        fmt::charge_link(&body).map_err(|e| AppError::BadRequest(detail!("detail.payments.invalid_event", e = e)))?;
    let sessions: Vec<String> = events.iter().filter_map(|e| e.refs.session.clone()).collect();
    let out = payments::stripe::apply_webhook(&st.db, st.links.clone(), t.id, events, charge).await?;
    for s in sessions {
        issue_receipt_if_paid(&st, Provider::Stripe, &s).await;
    }
    Ok(Json(out))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentSettingsView {
    pub sandbox_methods: String,
    pub refund_approval_above: i64,
    pub stripe_enabled: bool,
    pub stripe_methods: String,
    /// Whether a key is stored; the key itself is never shown.
    pub stripe_api_key_set: bool,
    pub stripe_webhook_secret_set: bool,
}

pub(super) async fn settings_view(st: &AppState, tenant_id: i64) -> Result<PaymentSettingsView> {
    let s = sandbox::settings(&st.db, tenant_id).await?;
    let key_set = s.stripe_api_key_set();
    Ok(PaymentSettingsView {
        sandbox_methods: PaymentMethod::join(&s.sandbox_methods),
        refund_approval_above: s.refund_approval_above,
        stripe_enabled: s.stripe_enabled,
        stripe_api_key_set: key_set,
        stripe_methods: PaymentMethod::join(&s.stripe_methods),
        stripe_webhook_secret_set: s.stripe_webhook_secret.is_some(),
    })
}

#[utoipa::path(get, path = "/api/v1/admin/payments/settings", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = PaymentSettingsView)))]
pub(super) async fn api_get_settings(State(st): State<AppState>, ctx: Ctx) -> Result<Json<PaymentSettingsView>> {
    let s = ctx.admin()?;
    Ok(Json(settings_view(&st, s.tenant_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettingsBody {
    /// Sandbox methods on: "card,qr", or "" for none.
    #[serde(default)]
    pub sandbox_methods: Option<String>,
    #[serde(default)]
    pub refund_approval_above: Option<i64>,
    #[serde(default)]
    pub stripe_enabled: Option<bool>,
    /// card, konbini, paypay (comma separated).
    #[serde(default)]
    pub stripe_methods: Option<String>,
    /// Write only.
    #[serde(default)]
    pub stripe_api_key: Option<String>,
    /// Write only (whsec_…).
    #[serde(default)]
    pub stripe_webhook_secret: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/admin/payments/settings", tag = "payments", security(("bearer" = [])),
    request_body = PaymentSettingsBody, responses((status = 200, body = PaymentSettingsView), (status = 400, body = crate::web::openapi::ErrorBody),
        (status = 409, body = crate::web::openapi::ErrorBody, description = "a provider switched on without its 指定納付受託者 record (agent_not_designated)")))]
pub(super) async fn api_put_settings(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<PaymentSettingsView>> {
    let s = ctx.admin()?;
    let b: PaymentSettingsBody = json(&headers, &body)?;
    let current = sandbox::settings(&st.db, s.tenant_id).await?;
    if b.sandbox_methods.is_some() || b.refund_approval_above.is_some() {
        sandbox::update_settings(
            &st.db,
            s,
            b.sandbox_methods.as_deref().unwrap_or(&PaymentMethod::join(&current.sandbox_methods)),
            b.refund_approval_above.unwrap_or(current.refund_approval_above),
        )
        .await?;
    }
    if b.stripe_enabled.is_some()
        || b.stripe_methods.is_some()
        || b.stripe_api_key.is_some()
        || b.stripe_webhook_secret.is_some()
    {
        sandbox::update_stripe(
            &st.db,
            s,
            b.stripe_enabled.unwrap_or(current.stripe_enabled),
            b.stripe_methods.as_deref().unwrap_or(&PaymentMethod::join(&current.stripe_methods)),
            b.stripe_api_key,
            b.stripe_webhook_secret,
        )
        .await?;
    }
    Ok(Json(settings_view(&st, s.tenant_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashBody {
    /// The yen handed over: must be exactly the amount due.
    pub amount: i64,
    /// For a per-unit fee not set yet: how many.
    #[serde(default)]
    pub units: Option<i64>,
}

/// Records a fee paid in cash at the counter (counts in the cashless share as cash): only staff
/// holding `cash_receive` (the 会計管理者 and 出納員), only for exactly the amount due.
#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/cash", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = CashBody, responses((status = 201, body = i64, content_type = "application/json"), (status = 403, body = crate::web::openapi::ErrorBody), (status = 409, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_cash(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let s = ctx.staff()?;
    let b: CashBody = json(&headers, &body)?;
    let a = apps::open_for_cashier(&st.db, s, id).await?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    let pid = payments::record_cash(&st.db, st.links.clone(), s, &p, id, b.amount, b.units).await?;
    issue_receipt_logged(&st, pid).await;
    Ok((StatusCode::CREATED, Json(pid)).into_response())
}

/// Issues the signed receipt (領収書) of a payment that is now paid, in the background: the
/// provider's webhook is answered at the payment's commit, not after a PDF is drawn and
/// signed. Idempotent; a failure is logged and the receipt is issued when first downloaded.
pub(super) async fn issue_receipt_if_paid(st: &AppState, provider: Provider, payment_ref: &str) {
    if let Ok(Some(id)) = payments::paid_by_ref(&st.db, provider, payment_ref).await {
        issue_receipt_logged(st, id).await;
    }
}

pub(super) async fn issue_receipt_logged(st: &AppState, payment_id: i64) {
    let st = st.clone();
    tokio::spawn(async move {
        if let Err(e) =
            crate::documents::issue_receipt(&st.db, &st.links, &st.cfg.base_url, &st.cfg.data_dir, payment_id).await
        {
            tracing::warn!(error = %e, payment = payment_id, "the signed receipt was not issued yet");
        }
    });
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
    responses((status = 204), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_put_schedule(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> Result<StatusCode> {
    let s = ctx.admin()?;
    if body.len() > 512 * 1024 {
        return Err(AppError::TooLarge);
    }
    let text = crate::web::utf8_body(&body)?;
    schedule::save(&st.db, s, text).await?.map_err(AppError::findings)?;
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
    request_body = ReviewBody, responses((status = 200, body = payments::Refund), (status = 403, body = crate::web::openapi::ErrorBody), (status = 409, body = crate::web::openapi::ErrorBody)))]
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

/// Records the 指定 of a provider as 指定納付受託者 (地方自治法231条の2の3): without it the
/// provider cannot be switched on, and it takes only the revenues its 告示 names.
#[utoipa::path(put, path = "/api/v1/admin/payments/agents/{provider}", tag = "payments", security(("bearer" = [])), params(("provider" = String, Path)),
    request_body = agents::Agent, responses((status = 200, body = agents::Agent), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn api_put_agent(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<agents::Agent>> {
    let s = ctx.admin()?;
    let b: agents::Agent = json(&headers, &body)?;
    Ok(Json(agents::designate(&st.db, s, &provider, b).await?.map_err(agents::refusal)?))
}

/// The 指定納付受託者 of the tenant, one per provider.
#[utoipa::path(get, path = "/api/v1/admin/payments/agents", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = [agents::Agent])))]
pub(super) async fn api_agents(State(st): State<AppState>, ctx: Ctx) -> Result<Json<Vec<agents::Agent>>> {
    let s = ctx.admin()?;
    Ok(Json(agents::list(&st.db, s.tenant_id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookResult {
    /// changed, duplicate or ignored: why.
    pub outcome: String,
}

/// The sandbox provider's webhook. Verified with the tenant's sandbox secret; a forged or
/// malformed one is refused and changes nothing.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/sandbox/{tenant}", tag = "payments", params(("tenant" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = WebhookResult), (status = 400, body = crate::web::openapi::ErrorBody)))]
pub(super) async fn sandbox_webhook(
    State(st): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookResult>> {
    if body.len() > 64 * 1024 {
        return Err(AppError::TooLarge);
    }
    let t = crate::tenants::by_code(&st.db, &tenant).await?.ok_or(AppError::NotFound)?;
    let secret = sandbox::settings(&st.db, t.id).await?.sandbox_secret;
    let sig = headers
        .get(sandbox::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.no_signature")))?;
    sandbox::verify(secret.expose(), sig, &body, crate::db::now_ms() / 1000)?;
    let e: ProviderEvent = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(detail!("detail.payments.invalid_event", e = e)))?;
    if e.event_id.is_empty() || e.event_id.len() > 200 {
        return Err(AppError::BadRequest(detail!("detail.payments.invalid_event_id")));
    }
    let payment_ref = e.payment_ref.clone();
    let out = payments::apply_event(&st.db, st.links.clone(), Provider::Sandbox, t.id, e).await?;
    issue_receipt_if_paid(&st, Provider::Sandbox, &payment_ref).await;
    Ok(Json(WebhookResult { outcome: out.describe() }))
}
