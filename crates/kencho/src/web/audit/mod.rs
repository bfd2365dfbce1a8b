//! Proofs that an audit entry is in the log (the API only; no pages).

use axum::routing::get;
use axum::Router;

use super::AppState;

pub mod api;

pub fn api_routes() -> Router<AppState> {
    Router::new().route("/audit/proof", get(api::api_proof))
}
