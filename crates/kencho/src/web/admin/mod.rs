//! The tenant administrator's page and API that belong to no one capability: procedure
//! import, API tokens, the security policy (the table of roles), and staff and divisions
//! (職員管理, staff.rs).

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub mod api;
pub(super) mod pages;
mod staff;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/admin", get(pages::admin))
        .route("/staff/admin/procedures", post(pages::import_procedure))
        .route("/staff/admin/tokens", post(pages::create_token))
        .route("/staff/admin/policy", post(pages::save_policy))
        .route("/staff/admin/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/staff/admin/staff", get(staff::page).post(staff::invite))
        .route("/staff/admin/staff/{id}/role", post(staff::change))
        .route("/staff/admin/staff/{id}/deactivate", post(staff::deactivate))
        .route("/staff/admin/divisions", post(staff::save_division))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/procedures", post(api::import_procedure))
        .route("/admin/api-tokens", get(api::list_tokens).post(api::create_token))
        .route("/admin/staff", get(api::list_staff).post(api::invite_staff))
        .route("/admin/staff/{id}", axum::routing::patch(api::change_staff))
        .route("/admin/staff/{id}/deactivate", post(api::deactivate_staff))
}
