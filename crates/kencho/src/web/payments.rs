//! キャッシュレス決済 pages and API: the resident's payment page, the sandbox provider's own
//! checkout pages, the provider webhooks, and the staff's fee, refund, reconciliation and
//! report pages.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kencho_core::payment::provider::Provider;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::json;
use super::{fmt_time, form_get, parse_form, render, staff_form, AppState, Ctx, InLang, Layout, PageResult};
use crate::applications as apps;
use crate::error::{AppError, Result};
use crate::payments::{self, reconcile, sandbox, Summary};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications/{id}/payment", get(payment_page).post(pay_page))
        .route("/staff/applications/{id}/fee", post(set_fee_page))
        .route("/staff/payments/{id}/refunds", post(refund_page))
        .route("/staff/payments", get(staff_payments).post(settings_page))
        .route("/staff/payments/reconcile", post(reconcile_page))
        .route("/staff/payments/daily.csv", get(daily_csv))
}

/// The sandbox provider's pages and webhook: mounted only with `--demo` or `--payment-sandbox`.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/applications/{id}/payment", get(api_summary).post(api_pay))
        .route("/payments/webhooks/stripe/{tenant}", post(stripe_webhook))
        .route("/admin/payments/settings", get(api_get_settings).put(api_put_settings))
        .route("/staff/applications/{id}/fee", post(api_set_fee))
        .route("/staff/applications/{id}/cash", post(api_cash))
        .route("/staff/payments/{id}/refunds", post(api_refund))
        .route("/staff/payments/reconcile", post(api_reconcile))
        .route("/staff/payments/totals", get(api_totals))
}

// ---------------------------------------------------------------------------------------------
// Resident.

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage {
    l: Layout,
    id: i64,
    title: String,
    pay: Summary,
    methods: Vec<String>,
    per_unit: Option<(i64, i64)>,
    /// Back from the provider, its webhook not here yet.
    confirming: bool,
    error: String,
}

impl PaymentPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

async fn payment_view(st: &AppState, ctx: &Ctx, id: i64, error: String) -> Result<PaymentPage> {
    let r = ctx.resident()?;
    let a = apps::for_resident(&st.db, r, id).await?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    let pay = payments::summary(&st.db, &p, id).await?;
    let per_unit = match p.def.fee.rule() {
        Some((kencho_core::payment::fee::FeeRule::PerUnit { unit_price, max_units }, _)) => {
            Some((unit_price, max_units))
        }
        _ => None,
    };
    let confirming = pay.paid == 0
        && pay
            .open
            .as_ref()
            .is_some_and(|o| o.checkout_url.is_some() && matches!(o.state.as_str(), "created" | "pending"));
    Ok(PaymentPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "pay.title")),
        id,
        title: p.title(ctx.lang()).to_string(),
        methods: payments::methods(&st.db, p.tenant_id, st.cfg.payment_sandbox)
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect(),
        per_unit,
        confirming,
        pay,
        error,
    })
}

async fn payment_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&payment_view(&st, &ctx, id, String::new()).await.lang(&lang)?).lang(&lang)
}

fn units_of(v: Option<&str>) -> Result<Option<i64>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => kencho_core::text::nfkc_trim(v)
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::BadRequest("the quantity must be a whole number".into())),
    }
}

async fn pay_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let r = ctx.resident().lang(&lang)?.clone();
    let outcome = async {
        let a = apps::for_resident(&st.db, &r, id).await?;
        let p = apps::procedure_version(&st.db, a.procedure_id).await?;
        let units = units_of(form_get(&form, "units"))?;
        payments::start(
            &st.db,
            st.links.clone(),
            (&st.cfg.base_url, &st.cfg.stripe_api_base, st.cfg.payment_sandbox),
            &r,
            &p,
            id,
            (form_get(&form, "method").unwrap_or_default(), units),
        )
        .await
    }
    .await;
    match outcome {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_) | AppError::Refused(..)) => {
            let page = payment_view(&st, &ctx, id, e.message(&lang)).await.lang(&lang)?;
            super::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
    /// card or qr (what the tenant offers).
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
    request_body = PayBody, responses((status = 200, body = PayStarted), (status = 409, body = super::api::ErrorBody)))]
async fn api_pay(
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
        (&b.method, b.units),
    )
    .await?;
    Ok(Json(PayStarted { checkout_url }))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}/payment", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Summary)))]
async fn api_summary(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Result<Json<Summary>> {
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

async fn set_fee(st: &AppState, s: &crate::accounts::Staff, id: i64, b: FeeBody) -> Result<i64> {
    let a = apps::open_for_staff(&st.db, s, id, "set the fee").await?;
    let p = apps::procedure_version(&st.db, a.procedure_id).await?;
    let choice = payments::FeeChoice {
        item: b.item.filter(|v| !v.trim().is_empty()),
        units: b.units,
        ground: b.ground.filter(|v| !v.trim().is_empty()),
        evidence: b.exemption_evidence,
    };
    let pid = payments::set_due(&st.db, st.links.clone(), &st.cfg.base_url, s, &p, id, choice).await?;
    Ok(pid)
}

#[utoipa::path(post, path = "/api/v1/staff/applications/{id}/fee", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = FeeBody, responses((status = 201, body = i64, content_type = "application/json"), (status = 409, body = super::api::ErrorBody)))]
async fn api_set_fee(
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

async fn set_fee_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let num = |k: &str| units_of(form_get(&form, k));
    let outcome = async {
        let text = |k: &str| form_get(&form, k).filter(|v| !v.is_empty()).map(str::to_string);
        let b = FeeBody {
            item: text("item"),
            units: num("units")?,
            ground: text("ground"),
            exemption_evidence: text("exemption_evidence"),
        };
        set_fee(&st, &s, id, b).await
    }
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/staff/applications/{id}")).into_response()),
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub amount: i64,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/staff/payments/{id}/refunds", tag = "payments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = RefundBody, responses((status = 201, body = payments::Refund), (status = 409, body = super::api::ErrorBody)))]
async fn api_refund(
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

async fn refund_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        let amount = units_of(form_get(&form, "amount"))?.ok_or_else(|| AppError::BadRequest("the amount".into()))?;
        payments::request_refund(
            &st.db,
            st.links.clone(),
            &s,
            id,
            amount,
            form_get(&form, "reason").unwrap_or_default(),
        )
        .await
    }
    .await;
    match outcome {
        Ok(r) => Ok(Redirect::to(&format!("/staff/applications/{}", r.application_id)).into_response()),
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "staff_payments.html")]
struct StaffPaymentsPage {
    l: Layout,
    totals: reconcile::Totals,
    report: Option<reconcile::Report>,
    admin: bool,
    methods: String,
    refund_above: i64,
    today: String,
    /// Refund orders waiting for the 会計管理者's review (shown to those who may review).
    reviews: Vec<payments::Refund>,
    fiscal_year: i32,
}

async fn staff_payments_view(st: &AppState, ctx: &Ctx, report: Option<reconcile::Report>) -> Result<StaffPaymentsPage> {
    let s = ctx.staff()?;
    let settings = sandbox::settings(&st.db, s.tenant_id).await?;
    Ok(StaffPaymentsPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "pay.staff_title")),
        totals: reconcile::totals(&st.db, s.tenant_id).await?,
        report,
        admin: s.role == kencho_core::application::Role::Admin,
        methods: settings.sandbox_methods,
        refund_above: settings.refund_approval_above,
        today: super::fmt_date(crate::db::now_ms()),
        reviews: if crate::security::policy::allows(&st.db, s, kencho_core::security::Action::RefundReview).await? {
            payments::awaiting_review(&st.db, s.tenant_id).await?
        } else {
            Vec::new()
        },
        fiscal_year: payments::schedule::fiscal_year_at(crate::db::now_ms()),
    })
}

async fn staff_payments(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&staff_payments_view(&st, &ctx, None).await.lang(&lang)?).lang(&lang)
}

async fn settings_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let methods: Vec<&str> =
        ["card", "qr"].into_iter().filter(|m| form_get(&form, &format!("method_{m}")).is_some()).collect();
    let above = units_of(form_get(&form, "refund_above")).lang(&lang)?.unwrap_or(10_000);
    sandbox::update_settings(&st.db, &s, &methods.join(","), above).await.lang(&lang)?;
    Ok(Redirect::to("/staff/payments").into_response())
}

async fn reconcile_page(State(st): State<AppState>, ctx: Ctx, mp: axum::extract::Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let (csrf, _, file) = super::read_upload(mp).await.lang(&lang)?;
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let (name, text) = file.ok_or_else(|| AppError::BadRequest("choose the settlement file".into())).lang(&lang)?;
    let report = reconcile::import(&st.db, &s, "sandbox", &name, &text).await.lang(&lang)?;
    render(&staff_payments_view(&st, &ctx, Some(report)).await.lang(&lang)?).lang(&lang)
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
    responses((status = 200, body = reconcile::Report), (status = 400, body = super::api::ErrorBody)))]
async fn api_reconcile(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReconcileQuery>,
    body: Bytes,
) -> Result<Json<reconcile::Report>> {
    let s = ctx.staff()?;
    if body.len() > 64 * 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("the file is not UTF-8".into()))?;
    let provider = q.provider.unwrap_or_else(|| "sandbox".into());
    Ok(Json(reconcile::import(&st.db, s, &provider, "upload.csv", text).await?))
}

#[derive(Deserialize)]
struct DateQuery {
    #[serde(default)]
    date: Option<String>,
}

/// The daily 収納 report per 歳入科目 (CSV, UTF-8 with BOM).
async fn daily_csv(State(st): State<AppState>, ctx: Ctx, Query(q): Query<DateQuery>) -> Result<Response> {
    let s = ctx.staff()?;
    let date = q.date.unwrap_or_else(|| super::fmt_date(crate::db::now_ms()));
    let csv = reconcile::daily_csv(&st.db, s.tenant_id, &date).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"shuno-{date}.csv\"")),
        ],
        csv,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/staff/payments/totals", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = reconcile::Totals)))]
async fn api_totals(State(st): State<AppState>, ctx: Ctx) -> Result<Json<reconcile::Totals>> {
    let s = ctx.staff()?;
    Ok(Json(reconcile::totals(&st.db, s.tenant_id).await?))
}

/// Stripe's webhook endpoint for a tenant (configure `{base}/api/v1/payments/webhooks/stripe/{tenant}`
/// in the Stripe Dashboard). Verified with the tenant's signing secret; a forged or malformed
/// one is refused and changes nothing; events kencho does not use are acknowledged.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/stripe/{tenant}", tag = "payments", params(("tenant" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = [String]), (status = 400, body = super::api::ErrorBody)))]
async fn stripe_webhook(
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
        .ok_or_else(|| AppError::BadRequest("Stripe is not configured for this tenant".into()))?;
    let sig = headers
        .get(fmt::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::BadRequest("no Stripe-Signature".into()))?;
    fmt::verify_signature(sig, &body, secret.expose(), crate::db::now_ms() / 1000, fmt::DEFAULT_TOLERANCE_S)
        .map_err(|e| AppError::BadRequest(format!("webhook refused: {e}")))?;
    let events = fmt::parse_event(&body).map_err(|e| AppError::BadRequest(format!("invalid event: {e}")))?;
    let charge = fmt::charge_link(&body).map_err(|e| AppError::BadRequest(format!("invalid event: {e}")))?;
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

async fn settings_view(st: &AppState, tenant_id: i64) -> Result<PaymentSettingsView> {
    let s = sandbox::settings(&st.db, tenant_id).await?;
    let key_set = s.stripe_api_key_set();
    Ok(PaymentSettingsView {
        sandbox_methods: s.sandbox_methods,
        refund_approval_above: s.refund_approval_above,
        stripe_enabled: s.stripe_enabled,
        stripe_api_key_set: key_set,
        stripe_methods: s.stripe_methods,
        stripe_webhook_secret_set: s.stripe_webhook_secret.is_some(),
    })
}

#[utoipa::path(get, path = "/api/v1/admin/payments/settings", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = PaymentSettingsView)))]
async fn api_get_settings(State(st): State<AppState>, ctx: Ctx) -> Result<Json<PaymentSettingsView>> {
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
    request_body = PaymentSettingsBody, responses((status = 200, body = PaymentSettingsView), (status = 400, body = super::api::ErrorBody),
        (status = 409, body = super::api::ErrorBody, description = "a provider switched on without its 指定納付受託者 record (agent_not_designated)")))]
async fn api_put_settings(
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
            b.sandbox_methods.as_deref().unwrap_or(&current.sandbox_methods),
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
            b.stripe_methods.as_deref().unwrap_or(&current.stripe_methods),
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
    request_body = CashBody, responses((status = 201, body = i64, content_type = "application/json"), (status = 403, body = super::api::ErrorBody), (status = 409, body = super::api::ErrorBody)))]
async fn api_cash(
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

async fn issue_receipt_logged(st: &AppState, payment_id: i64) {
    let st = st.clone();
    tokio::spawn(async move {
        if let Err(e) =
            crate::documents::issue_receipt(&st.db, &st.links, &st.cfg.base_url, &st.cfg.data_dir, payment_id).await
        {
            tracing::warn!(error = %e, payment = payment_id, "the signed receipt was not issued yet");
        }
    });
}
