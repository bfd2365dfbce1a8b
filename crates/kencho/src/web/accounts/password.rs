//! Passwords on the web: asking for a reset link (residents at `/password/forgot`, staff at
//! `/staff/password/forgot`), the link's page that sets a new one, and changing one's own
//! password while signed in (`/account/password`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::signin::{MessagePage, TokenQuery};
use crate::accounts::{self, AccountKind};
use crate::error::AppError;
use crate::i18n::t;
use crate::web::{form_get, parse_form, render, render_status, AppState, Ctx, InLang, Layout, PageResult};

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    l: Layout,
    action: &'static str,
    error: String,
    email: String,
}

fn forgot_action(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Resident => "/password/forgot",
        AccountKind::Staff => "/staff/password/forgot",
    }
}

fn login_path(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Resident => "/login",
        AccountKind::Staff => "/staff/login",
    }
}

fn forgot_page(st: &AppState, ctx: &Ctx, kind: AccountKind, error: String, email: &str) -> ForgotPage {
    ForgotPage {
        l: ctx.layout(st, &t(ctx.lang(), "password.forgot_title")),
        action: forgot_action(kind),
        error,
        email: email.into(),
    }
}

pub(super) async fn forgot_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    render(&forgot_page(&st, &ctx, AccountKind::Resident, String::new(), "")).lang(ctx.lang())
}

pub(super) async fn staff_forgot_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    render(&forgot_page(&st, &ctx, AccountKind::Staff, String::new(), "")).lang(ctx.lang())
}

pub(super) async fn forgot(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    ask_for_link(&st, &ctx, AccountKind::Resident, &body).await
}

pub(super) async fn staff_forgot(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    ask_for_link(&st, &ctx, AccountKind::Staff, &body).await
}

/// The same answer whether the address has an account or not.
async fn ask_for_link(st: &AppState, ctx: &Ctx, kind: AccountKind, body: &[u8]) -> PageResult {
    let lang = ctx.lang();
    let form = parse_form(body).lang(lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(lang)?;
    let email = form_get(&form, "email").unwrap_or_default();
    let req = accounts::ResetRequest { kind, email, lang, base_url: &st.cfg.base_url, ip: &ctx.info.ip };
    match accounts::request_reset(&st.db, req).await {
        Ok(()) => render(&MessagePage {
            l: ctx.layout(st, &t(lang, "password.sent_title")),
            heading: t(lang, "password.sent_title"),
            body: crate::i18n::tf(lang, "password.sent_body", &[("minutes", &accounts::RESET_MINUTES.to_string())]),
            link: login_path(kind).into(),
            link_label: t(lang, "nav.login"),
        })
        .lang(lang),
        Err(e @ (AppError::BadRequest(_) | AppError::RateLimited)) => {
            let status = if matches!(e, AppError::RateLimited) { e.status() } else { StatusCode::UNPROCESSABLE_ENTITY };
            render_status(status, &forgot_page(st, ctx, kind, e.message(lang), email)).lang(lang)
        }
        Err(e) => Err(e).lang(lang),
    }
}

#[derive(Template)]
#[template(path = "password_set.html")]
struct SetPage {
    l: Layout,
    /// Where the form posts: the reset link's page, or the signed-in change.
    action: &'static str,
    token: String,
    /// The change asks for the current password; a reset link stands in for it.
    ask_current: bool,
    error: String,
}

impl SetPage {
    /// The reset link's form (carrying its token), or with no token the signed-in change.
    fn new(st: &AppState, ctx: &Ctx, token: Option<String>, error: String) -> SetPage {
        let (title, action) = match token {
            Some(_) => ("password.reset_title", "/password/reset"),
            None => ("password.change_title", "/account/password"),
        };
        SetPage {
            l: ctx.layout(st, &t(ctx.lang(), title)),
            action,
            ask_current: token.is_none(),
            token: token.unwrap_or_default(),
            error,
        }
    }
}

/// The link in the mail opens a form; only posting it uses the link up (mail scanners that
/// follow links change nothing).
pub(super) async fn reset_form(State(st): State<AppState>, ctx: Ctx, Query(q): Query<TokenQuery>) -> PageResult {
    let lang = ctx.lang();
    accounts::reset_link(&st.db, &q.token).await.lang(lang)?;
    render(&SetPage::new(&st, &ctx, Some(q.token), String::new())).lang(lang)
}

pub(super) async fn reset(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang();
    let form = parse_form(&body).lang(lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(lang)?;
    let token = form_get(&form, "token").unwrap_or_default();
    let password = form_get(&form, "password").unwrap_or_default();
    match accounts::reset_password(&st.db, token, password).await {
        Ok(kind) => done(ctx.layout(&st, &t(lang, "password.done_title")), lang, (login_path(kind), "nav.login")),
        Err(e @ AppError::Password(_)) => {
            let page = SetPage::new(&st, &ctx, Some(token.into()), e.message(lang));
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page).lang(lang)
        }
        Err(e) => Err(e).lang(lang),
    }
}

/// The password is set: a link onwards (to sign in again after a reset, home after a change).
fn done(l: Layout, lang: &str, (link, label): (&str, &str)) -> PageResult {
    render(&MessagePage {
        l,
        heading: t(lang, "password.done_title"),
        body: t(lang, "password.done_body"),
        link: link.into(),
        link_label: t(lang, label),
    })
    .lang(lang)
}

pub(super) async fn change_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang();
    ctx.account().lang(lang)?;
    render(&SetPage::new(&st, &ctx, None, String::new())).lang(lang)
}

pub(super) async fn change(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang();
    let (kind, id, session) = ctx.account().lang(lang)?;
    let form = parse_form(&body).lang(lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(lang)?;
    let current = form_get(&form, "current").unwrap_or_default();
    let new = form_get(&form, "password").unwrap_or_default();
    match accounts::change_password(&st.db, (kind, id), (session, &ctx.info.ip), (current, new)).await {
        Ok(()) => {
            let home = if kind == AccountKind::Staff { "/staff" } else { "/applications" };
            done(ctx.layout(&st, &t(lang, "password.done_title")), lang, (home, "password.back"))
        }
        Err(e @ (AppError::Password(_) | AppError::BadRequest(_))) => {
            let page = SetPage::new(&st, &ctx, None, e.message(lang));
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page).lang(lang)
        }
        Err(e) => Err(e).lang(lang),
    }
}
