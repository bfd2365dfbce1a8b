//! キャッシュレス決済 and 公金の収納: the resident's payment page, the staff's fee, refund,
//! reconciliation and report pages (pages.rs), the 会計 pages (accounts.rs: refund review, the
//! fiscal-year report), the administrator's fee schedule page (fees.rs), the sandbox provider's
//! own pages (sandbox.rs), and the API (api.rs).

use axum::routing::{get, post, put};
use axum::Router;

use super::AppState;

mod accounts;
pub mod api;
mod fees;
mod pages;
mod sandbox;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications/{id}/payment", get(pages::payment_page).post(pages::pay_page))
        .route("/staff/applications/{id}/fee", post(pages::set_fee_page))
        .route("/staff/payments/{id}/refunds", post(pages::refund_page))
        .route("/staff/payments", get(pages::staff_payments).post(pages::settings_page))
        .route("/staff/payments/reconcile", post(pages::reconcile_page))
        .route("/staff/payments/daily.csv", get(pages::daily_csv))
        .route("/staff/refunds/{id}/review", post(accounts::review_page))
        .route("/staff/payments/fiscal.csv", get(accounts::fiscal_csv))
        .route("/staff/admin/fees", get(fees::fees_page))
        .route("/staff/admin/fees/schedule", post(fees::save_schedule))
        .route("/staff/admin/fees/agents", post(fees::save_agent))
}

/// The sandbox provider's pages and webhook: mounted only with `--demo` or `--payment-sandbox`.
pub fn sandbox_routes() -> Router<AppState> {
    sandbox::routes()
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/applications/{id}/payment", get(api::api_summary).post(api::api_pay))
        .route("/payments/webhooks/stripe/{tenant}", post(api::stripe_webhook))
        .route("/admin/payments/settings", get(api::api_get_settings).put(api::api_put_settings))
        .route("/staff/applications/{id}/fee", post(api::api_set_fee))
        .route("/staff/applications/{id}/cash", post(api::api_cash))
        .route("/staff/payments/{id}/refunds", post(api::api_refund))
        .route("/staff/payments/reconcile", post(api::api_reconcile))
        .route("/staff/payments/totals", get(api::api_totals))
        .route("/admin/payments/schedule", get(api::api_get_schedule).put(api::api_put_schedule))
        .route("/admin/payments/agents/{provider}", put(api::api_put_agent))
        .route("/admin/payments/agents", get(api::api_agents))
        .route("/staff/refunds/{id}/review", post(api::api_review))
        .route("/staff/payments/fiscal", get(api::api_fiscal))
}
