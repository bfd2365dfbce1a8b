//! The tenant administrator's page and API that belong to no one capability: procedure
//! import, API tokens and the security policy (the table of roles).

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub mod api;
pub(super) mod pages;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/admin", get(pages::admin))
        .route("/staff/admin/procedures", post(pages::import_procedure))
        .route("/staff/admin/tokens", post(pages::create_token))
        .route("/staff/admin/policy", post(pages::save_policy))
        .route("/staff/admin/tokens/{id}/revoke", post(pages::revoke_token))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/procedures", post(api::import_procedure))
        .route("/admin/api-tokens", get(api::list_tokens).post(api::create_token))
}
