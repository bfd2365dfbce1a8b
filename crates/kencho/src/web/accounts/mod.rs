//! Accounts on the web: residents' sign-up, address check, sign-in and sign-out (signin.rs; the
//! sign-in page is shared with staff), staff sign-in with a second factor (staff.rs), changing
//! and resetting passwords (password.rs), and the `/auth/…` API (api.rs).

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub mod api;
mod password;
pub(super) mod signin;
mod staff;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signin::signup_form).post(signin::signup))
        .route("/verify", get(signin::verify_form).post(signin::verify))
        .route("/login", get(signin::login_form).post(signin::login))
        .route("/logout", post(signin::logout))
        .route("/staff/login", get(staff::login_form).post(staff::login))
        .route("/staff/mfa", get(staff::mfa_form).post(staff::mfa))
        .route("/password/forgot", get(password::forgot_form).post(password::forgot))
        .route("/staff/password/forgot", get(password::staff_forgot_form).post(password::staff_forgot))
        .route("/password/reset", get(password::reset_form).post(password::reset))
        .route("/account/password", get(password::change_form).post(password::change))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(api::signup))
        .route("/auth/verify", post(api::verify))
        .route("/auth/login", post(api::login))
        .route("/auth/logout", post(api::logout))
        .route("/auth/password", post(api::change_password))
        .route("/auth/password/forgot", post(api::forgot_password))
        .route("/auth/password/reset", post(api::reset_password))
}
