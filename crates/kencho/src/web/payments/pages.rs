//! キャッシュレス決済 pages: the resident's payment page, and the staff's fee, refund,
//! reconciliation and report pages.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use kencho_core::payment::method::PaymentMethod;
use serde::Deserialize;

use super::api::FeeBody;
use crate::applications as apps;
use crate::error::{AppError, Result};
use crate::payments::{self, reconcile, sandbox, Summary};
use crate::web::{fmt_time, form_get, parse_form, render, staff_form, AppState, Ctx, InLang, Layout, PageResult};

// ---------------------------------------------------------------------------------------------
// Resident.

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage {
    l: Layout,
    id: i64,
    title: String,
    pay: Summary,
    methods: Vec<PaymentMethod>,
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

pub(super) async fn payment_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&payment_view(&st, &ctx, id, String::new()).await.lang(&lang)?).lang(&lang)
}

fn units_of(v: Option<&str>) -> Result<Option<i64>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => kencho_core::text::nfkc_trim(v)
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::BadRequest(detail!("detail.payments.quantity_whole_number"))),
    }
}

pub(super) async fn pay_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
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
            (payments::chosen_method(form_get(&form, "method").unwrap_or_default())?, units),
        )
        .await
    }
    .await;
    match outcome {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_) | AppError::Refused(..)) => {
            let page = payment_view(&st, &ctx, id, e.message(&lang)).await.lang(&lang)?;
            crate::web::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

pub(super) async fn set_fee(st: &AppState, s: &crate::accounts::Staff, id: i64, b: FeeBody) -> Result<i64> {
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

pub(super) async fn set_fee_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
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

pub(super) async fn refund_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let outcome = async {
        let amount = units_of(form_get(&form, "amount"))?
            .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.amount")))?;
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
    /// The sandbox methods on.
    methods: Vec<PaymentMethod>,
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
        today: crate::web::fmt_date(crate::db::now_ms()),
        reviews: if crate::security::policy::allows(&st.db, s, kencho_core::security::Action::RefundReview).await? {
            payments::awaiting_review(&st.db, s.tenant_id).await?
        } else {
            Vec::new()
        },
        fiscal_year: payments::schedule::fiscal_year_at(crate::db::now_ms()),
    })
}

pub(super) async fn staff_payments(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&staff_payments_view(&st, &ctx, None).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn settings_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let methods: Vec<PaymentMethod> =
        PaymentMethod::SANDBOX.into_iter().filter(|m| form_get(&form, &format!("method_{m}")).is_some()).collect();
    let above = units_of(form_get(&form, "refund_above")).lang(&lang)?.unwrap_or(10_000);
    sandbox::update_settings(&st.db, &s, &PaymentMethod::join(&methods), above).await.lang(&lang)?;
    Ok(Redirect::to("/staff/payments").into_response())
}

pub(super) async fn reconcile_page(State(st): State<AppState>, ctx: Ctx, mp: axum::extract::Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = ctx.staff().lang(&lang)?.clone();
    let (csrf, _, file) = crate::web::read_upload(mp).await.lang(&lang)?;
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let (name, text) =
        file.ok_or_else(|| AppError::BadRequest(detail!("detail.payments.choose_settlement_file"))).lang(&lang)?;
    let report = reconcile::import(&st.db, &s, "sandbox", &name, &text).await.lang(&lang)?;
    render(&staff_payments_view(&st, &ctx, Some(report)).await.lang(&lang)?).lang(&lang)
}

#[derive(Deserialize)]
pub(super) struct DateQuery {
    #[serde(default)]
    date: Option<String>,
}

/// The daily 収納 report per 歳入科目 (CSV, UTF-8 with BOM).
pub(super) async fn daily_csv(State(st): State<AppState>, ctx: Ctx, Query(q): Query<DateQuery>) -> Result<Response> {
    let s = ctx.staff()?;
    let date = q.date.unwrap_or_else(|| crate::web::fmt_date(crate::db::now_ms()));
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
