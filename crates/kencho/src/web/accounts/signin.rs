//! Accounts of residents: sign-up, the address check, sign-in and sign-out (the sign-in page is
//! shared with staff).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::accounts::{self};
use crate::error::AppError;
use crate::web::{
    cookie_header, form_get, parse_form, render, render_status, AppState, Ctx, InLang, Layout, PageResult,
    SESSION_COOKIE,
};

#[derive(Template)]
#[template(path = "signup.html")]
pub(super) struct SignupPage {
    l: Layout,
    error: String,
    email: String,
    name: String,
}

pub(super) async fn signup_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&SignupPage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "signup.title")),
        error: String::new(),
        email: String::new(),
        name: String::new(),
    })
    .lang(&lang)
}

#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct MessagePage {
    pub(super) l: Layout,
    pub(super) heading: String,
    pub(super) body: String,
    pub(super) link: String,
    pub(super) link_label: String,
}

pub(super) async fn signup(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let email = form_get(&form, "email").unwrap_or_default();
    let name = form_get(&form, "name").unwrap_or_default();
    let password = form_get(&form, "password").unwrap_or_default();
    match accounts::sign_up(&st.db, &st.cfg.base_url, (email, name, password), &lang, &ctx.info.ip).await {
        Ok(()) => {
            let t = |k: &str| crate::i18n::t(&lang, k);
            render(&MessagePage {
                l: ctx.layout(&st, &t("signup.sent_title")),
                heading: t("signup.sent_title"),
                body: t("signup.sent_body"),
                link: "/login".into(),
                link_label: t("nav.login"),
            })
            .lang(&lang)
        }
        Err(e @ (AppError::BadRequest(_) | AppError::Password(_) | AppError::RateLimited)) => {
            let status = if matches!(e, AppError::RateLimited) { e.status() } else { StatusCode::UNPROCESSABLE_ENTITY };
            let page = SignupPage {
                l: ctx.layout(&st, &crate::i18n::t(&lang, "signup.title")),
                error: e.message(&lang),
                email: email.into(),
                name: name.into(),
            };
            render_status(status, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    #[serde(default)]
    pub(super) token: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
pub(super) struct VerifyPage {
    l: Layout,
    token: String,
}

/// The link in the mail opens a page with a button: a GET never changes anything, so mail
/// scanners that follow links do not verify addresses.
pub(super) async fn verify_form(State(st): State<AppState>, ctx: Ctx, Query(q): Query<TokenQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&VerifyPage { l: ctx.layout(&st, &crate::i18n::t(&lang, "verify.title")), token: q.token }).lang(&lang)
}

pub(super) async fn verify(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    accounts::verify_email(&st.db, form_get(&form, "token").unwrap_or_default()).await.lang(&lang)?;
    let t = |k: &str| crate::i18n::t(&lang, k);
    render(&MessagePage {
        l: ctx.layout(&st, &t("verify.done_title")),
        heading: t("verify.done_title"),
        body: t("verify.done_body"),
        link: "/login".into(),
        link_label: t("nav.login"),
    })
    .lang(&lang)
}

/// The sign-in page, for residents and (with `staff`) for staff.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub l: Layout,
    pub error: String,
    pub email: String,
    pub action: String,
    pub heading: String,
    pub staff: bool,
    /// Where to go after signing in (a local path, e.g. back to a マイ避難 plan).
    pub next: String,
}

/// Only local マイ避難 paths are followed after sign-in, so the parameter cannot redirect away.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/evacuation/") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_".contains(&b)) =>
        {
            n.to_string()
        }
        _ => String::new(),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

pub(super) async fn login_form(State(st): State<AppState>, ctx: Ctx, Query(q): Query<NextQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let t = crate::i18n::t(&lang, "login.title");
    render(&LoginPage {
        l: ctx.layout(&st, &t),
        error: String::new(),
        email: String::new(),
        action: "/login".into(),
        heading: t,
        staff: false,
        next: safe_next(q.next.as_deref()),
    })
    .lang(&lang)
}

pub fn with_session_cookie(st: &AppState, token: &str, to: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&st.cfg, SESSION_COOKIE, token, Some(accounts::SESSION_HOURS * 3600)),
    );
    res
}

/// A full sign-in: the session cookie and the device cookie (this browser is known to the
/// account from now on; see `accounts::limits`).
pub fn signed_in(st: &AppState, s: &accounts::SignedIn, to: &str) -> Response {
    let mut res = with_session_cookie(st, &s.token, to);
    let age = accounts::limits::DEVICE_DAYS * 86_400;
    res.headers_mut()
        .append(header::SET_COOKIE, cookie_header(&st.cfg, crate::web::DEVICE_COOKIE, &s.device, Some(age)));
    res
}

pub(super) async fn login(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let email = form_get(&form, "email").unwrap_or_default();
    let password = form_get(&form, "password").unwrap_or_default();
    match accounts::login_resident(&st.db, email, password, ctx.client()).await {
        Ok(signed) => {
            let next = safe_next(form_get(&form, "next"));
            Ok(signed_in(&st, &signed, if next.is_empty() { "/applications" } else { &next }))
        }
        Err(e @ (AppError::BadLogin | AppError::RateLimited | AppError::Conflict(_))) => {
            let t = crate::i18n::t(&lang, "login.title");
            let status = e.status();
            let page = LoginPage {
                l: ctx.layout(&st, &t),
                error: e.message(&lang),
                email: email.into(),
                action: "/login".into(),
                heading: t,
                staff: false,
                next: safe_next(form_get(&form, "next")),
            };
            render_status(status, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

pub(super) async fn logout(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    if let Some(s) = &ctx.session {
        accounts::logout(&st.db, &s.token_hash).await.lang(&lang)?;
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie_header(&st.cfg, SESSION_COOKIE, "", Some(0)));
    Ok(res)
}
