//! The sandbox payment provider's own pages (what a real provider would host: card entry,
//! 3-D Secure, the konbini scan) and its settlement report; its signed webhook into kencho is in
//! `api.rs`, mounted here at its full path.
//! Mounted only where the sandbox is on.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kencho_core::payment::method::PaymentMethod;

use crate::error::{AppError, Result};
use crate::payments::sandbox;
use crate::web::{form_get, parse_form, render, AppState, Ctx, InLang, Layout, PageResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/pay/{r}", get(sandbox_page).post(sandbox_card))
        .route("/sandbox/pay/{r}/authenticate", post(sandbox_authenticate))
        .route("/sandbox/pay/{r}/scan", post(sandbox_scan))
        .route("/staff/payments/sandbox-settlement.csv", get(sandbox_settlement))
        .route("/api/v1/payments/webhooks/sandbox/{tenant}", post(super::api::sandbox_webhook))
}

// ---------------------------------------------------------------------------------------------
// The sandbox provider's own pages (what a real provider would host).

#[derive(Template)]
#[template(path = "sandbox_pay.html")]
struct SandboxPage {
    l: Layout,
    c: sandbox::Checkout,
    qr_svg: String,
    authenticate: bool,
    error: String,
}

async fn sandbox_view(st: &AppState, ctx: &Ctx, r: &str, authenticate: bool, error: String) -> Result<SandboxPage> {
    let c = sandbox::checkout(&st.db, r).await?;
    let qr_svg = if c.method == PaymentMethod::Qr {
        qrcode::QrCode::new(format!("{}/sandbox/pay/{}", st.cfg.base_url, c.r).as_bytes())
            .map(|q| q.render::<qrcode::render::svg::Color>().min_dimensions(180, 180).build())
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(SandboxPage { l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "sandbox.title")), c, qr_svg, authenticate, error })
}

async fn sandbox_page(State(st): State<AppState>, ctx: Ctx, Path(r): Path<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&sandbox_view(&st, &ctx, &r, false, String::new()).await.lang(&lang)?).lang(&lang)
}

fn sandbox_form(ctx: &Ctx, body: &[u8]) -> Result<Vec<(String, String)>> {
    let form = parse_form(body)?;
    ctx.check_csrf(form_get(&form, "csrf"))?;
    Ok(form)
}

async fn sandbox_done(st: &AppState, ctx: &Ctx, r: &str, outcome: Result<sandbox::Checkout>) -> PageResult {
    let lang = ctx.lang().to_string();
    match outcome {
        // Back to kencho at once; the result follows as a webhook.
        Ok(c) => Ok(Redirect::to(&c.return_url).into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_) | AppError::Refused(..)) => {
            let page = sandbox_view(st, ctx, r, false, e.message(&lang)).await.lang(&lang)?;
            crate::web::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

async fn sandbox_card(State(st): State<AppState>, ctx: Ctx, Path(r): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = sandbox_form(&ctx, &body).lang(&lang)?;
    let delivery = sandbox::Delivery::parse(form_get(&form, "delivery").unwrap_or_default());
    let number: String = form_get(&form, "card").unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    let outcome = match number.as_str() {
        sandbox::CARD_OK => sandbox::settle(&st.db, &r, sandbox::Outcome::Paid, delivery).await,
        sandbox::CARD_DECLINED => sandbox::settle(&st.db, &r, sandbox::Outcome::Declined, delivery).await,
        sandbox::CARD_3DS => {
            let c = sandbox::settle(&st.db, &r, sandbox::Outcome::NeedsAuthentication, delivery).await;
            return match c {
                Ok(_) => render(&sandbox_view(&st, &ctx, &r, true, String::new()).await.lang(&lang)?).lang(&lang),
                Err(e) => sandbox_done(&st, &ctx, &r, Err(e)).await,
            };
        }
        _ => Err(AppError::BadRequest(detail!("detail.payments.use_test_card_4242424242424242"))),
    };
    sandbox_done(&st, &ctx, &r, outcome).await
}

async fn sandbox_authenticate(State(st): State<AppState>, ctx: Ctx, Path(r): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = sandbox_form(&ctx, &body).lang(&lang)?;
    let delivery = sandbox::Delivery::parse(form_get(&form, "delivery").unwrap_or_default());
    let outcome =
        if form_get(&form, "result") == Some("ok") { sandbox::Outcome::Paid } else { sandbox::Outcome::Declined };
    sandbox_done(&st, &ctx, &r, sandbox::settle(&st.db, &r, outcome, delivery).await).await
}

async fn sandbox_scan(State(st): State<AppState>, ctx: Ctx, Path(r): Path<String>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = sandbox_form(&ctx, &body).lang(&lang)?;
    let delivery = sandbox::Delivery::parse(form_get(&form, "delivery").unwrap_or_default());
    sandbox_done(&st, &ctx, &r, sandbox::settle(&st.db, &r, sandbox::Outcome::Paid, delivery).await).await
}

/// The sandbox provider's settlement report for the tenant (to try the reconciliation).
async fn sandbox_settlement(State(st): State<AppState>, ctx: Ctx) -> Result<Response> {
    let s = ctx.staff()?;
    let csv = sandbox::settlement_csv(&st.db, s.tenant_id).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}
