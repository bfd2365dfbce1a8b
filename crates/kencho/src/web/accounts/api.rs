//! The sign-up, address check, sign-in and sign-out API (`/api/v1/auth/…`): a session's bearer
//! token for systems that act for a resident or a staff member.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{self};
use crate::error::{AppError, Result};
use crate::web::openapi::ErrorBody;
use crate::web::{json, AppState, Ctx};

// ---------- auth ----------

#[derive(Deserialize, ToSchema)]
pub struct SignupBody {
    pub email: String,
    pub name: String,
    /// 10–128 characters.
    pub password: String,
    #[serde(default)]
    pub lang: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupBody,
    responses((status = 202, description = "Verification mail queued"), (status = 400, description = "Invalid input", body = ErrorBody)))]
pub(super) async fn signup(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let b: SignupBody = json(&headers, &body)?;
    let lang = b.lang.as_deref().unwrap_or("ja");
    accounts::sign_up(&st.db, &st.cfg.base_url, (&b.email, &b.name, &b.password), lang, &ctx.info.ip).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// The token from the verification link.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/verify", tag = "auth", request_body = VerifyBody,
    responses((status = 204, description = "Address verified"), (status = 400, description = "Invalid or expired", body = ErrorBody)))]
pub(super) async fn verify(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<StatusCode> {
    let b: VerifyBody = json(&headers, &body)?;
    accounts::verify_email(&st.db, &b.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
    /// `resident` (default) or `staff`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Staff only: the current TOTP code.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_in_hours: i64,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Wrong credentials or code", body = ErrorBody), (status = 429, description = "Too many attempts", body = ErrorBody)))]
pub(super) async fn login(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TokenResponse>> {
    let b: LoginBody = json(&headers, &body)?;
    let token = match b.kind.as_deref().unwrap_or("resident") {
        "resident" => accounts::login_resident(&st.db, &b.email, &b.password, ctx.client()).await?.token,
        "staff" => {
            let (token, staff_id, _) =
                accounts::login_staff_password(&st.db, &b.email, &b.password, ctx.client()).await?;
            let th = accounts::token_hash(&token);
            match accounts::complete_mfa(&st.db, &th, staff_id, b.totp.as_deref().unwrap_or_default(), ctx.client())
                .await
            {
                Ok(signed) => signed.token,
                Err(e) => {
                    accounts::logout(&st.db, &th).await?;
                    return Err(e);
                }
            }
        }
        other => return Err(AppError::BadRequest(detail!("detail.accounts.kind_resident_staff", other = other))),
    };
    Ok(Json(TokenResponse { token, expires_in_hours: accounts::SESSION_HOURS }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204, description = "Session ended")))]
pub(super) async fn logout(State(st): State<AppState>, ctx: Ctx) -> Result<StatusCode> {
    let s = ctx.session.as_ref().ok_or(AppError::Unauthenticated)?;
    accounts::logout(&st.db, &s.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotBody {
    pub email: String,
    /// `resident` (default) or `staff`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The language of the mail (`ja` by default).
    #[serde(default)]
    pub lang: Option<String>,
}

/// The account kind a body names, `resident` when it names none.
fn account_kind(kind: Option<&str>) -> Result<accounts::AccountKind> {
    let kind = kind.unwrap_or("resident");
    accounts::AccountKind::parse(kind)
        .ok_or_else(|| AppError::BadRequest(detail!("detail.accounts.kind_resident_staff", other = kind)))
}

#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotBody,
    responses((status = 202, description = "A reset link is mailed if the address has an account (the same answer either way)"),
        (status = 400, description = "Not an e-mail address", body = ErrorBody), (status = 429, description = "Too many requests", body = ErrorBody)))]
pub(super) async fn forgot_password(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let b: ForgotBody = json(&headers, &body)?;
    let kind = account_kind(b.kind.as_deref())?;
    let lang = b.lang.as_deref().unwrap_or("ja");
    let req = accounts::ResetRequest { kind, email: &b.email, lang, base_url: &st.cfg.base_url, ip: &ctx.info.ip };
    accounts::request_reset(&st.db, req).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    /// The token from the reset link.
    pub token: String,
    /// The new password (the password policy applies).
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetBody,
    responses((status = 204, description = "Password set; every session of the account ended"),
        (status = 400, description = "Link used or expired, or the password refused", body = ErrorBody)))]
pub(super) async fn reset_password(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<StatusCode> {
    let b: ResetBody = json(&headers, &body)?;
    accounts::reset_password(&st.db, &b.token, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordBody {
    pub current: String,
    /// The new password (the password policy applies).
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])), request_body = ChangePasswordBody,
    responses((status = 204, description = "Password changed; the account's other sessions ended"),
        (status = 400, description = "Current password wrong, or the new one refused", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(super) async fn change_password(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let (kind, id, session) = ctx.account()?;
    let b: ChangePasswordBody = json(&headers, &body)?;
    accounts::change_password(&st.db, (kind, id), (session, &ctx.info.ip), (&b.current, &b.password)).await?;
    Ok(StatusCode::NO_CONTENT)
}
