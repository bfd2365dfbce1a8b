//! Signed documents on the web: the resident's notice and receipt downloads, the public
//! verification page and the key rotation (notices.rs), the office's signing certificate page
//! (certificate.rs), and their API (api.rs).

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub mod api;
mod certificate;
mod notices;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/verify-document", get(notices::verify_form).post(notices::verify_post))
        .route("/applications/{id}/notice.pdf", get(notices::notice_pdf))
        .route("/applications/{id}/payments/{pid}/receipt.pdf", get(notices::receipt_pdf))
        .route("/staff/admin/signing-keys/rotate", post(notices::rotate_page))
        .route("/staff/admin/certificate", get(certificate::page).post(certificate::upload_page))
        .route("/staff/admin/certificate/remove", post(certificate::remove_page))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/documents/verify", post(api::api_verify))
        .route("/signing-keys", get(api::api_keys))
        .route("/admin/signing-keys/rotate", post(api::api_rotate))
        .route("/admin/signing-certificate", get(api::api_get).put(api::api_put).delete(api::api_delete))
}
