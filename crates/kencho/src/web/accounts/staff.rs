//! Staff sign-in: the login page and the second factor (TOTP).

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};

use crate::accounts::{self, Principal};
use crate::error::AppError;
use crate::web::accounts::signin::{with_session_cookie, LoginPage};
use crate::web::{form_get, parse_form, render, render_status, AppState, Ctx, InLang, Layout, PageResult};

pub(super) async fn login_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    let t = crate::i18n::t(&lang, "staff.login_title");
    render(&LoginPage {
        l: ctx.layout(&st, &t),
        error: String::new(),
        email: String::new(),
        action: "/staff/login".into(),
        heading: t,
        staff: true,
        next: String::new(),
    })
    .lang(&lang)
}

pub(super) async fn login(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let email = form_get(&form, "email").unwrap_or_default();
    match accounts::login_staff_password(&st.db, email, form_get(&form, "password").unwrap_or_default(), ctx.client())
        .await
    {
        Ok((token, _, _)) => Ok(with_session_cookie(&st, &token, "/staff/mfa")),
        Err(e @ (AppError::BadLogin | AppError::RateLimited)) => {
            let t = crate::i18n::t(&lang, "staff.login_title");
            let status = e.status();
            render_status(
                status,
                &LoginPage {
                    l: ctx.layout(&st, &t),
                    error: e.message(&lang),
                    email: email.into(),
                    action: "/staff/login".into(),
                    heading: t,
                    staff: true,
                    next: String::new(),
                },
            )
            .lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "staff_mfa.html")]
pub(super) struct MfaPage {
    l: Layout,
    enrol: bool,
    secret: String,
    otpauth: String,
    qr_svg: String,
    error: String,
}

pub(super) async fn mfa_view(st: &AppState, ctx: &Ctx, error: String) -> Result<MfaPage, AppError> {
    let lang = ctx.lang();
    let Some(Principal::Staff(s)) = ctx.session.as_ref().map(|s| &s.principal) else {
        return Err(AppError::Unauthenticated);
    };
    let (enrol, secret, otpauth, qr_svg) = if s.totp_enabled {
        (false, String::new(), String::new(), String::new())
    } else {
        let (secret, url) = accounts::totp_enrolment(&st.db, s.id).await?;
        let svg = qrcode::QrCode::new(url.as_bytes())
            .map(|c| c.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
            .unwrap_or_default();
        let data = format!(
            "data:image/svg+xml;base64,{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)
        );
        (true, secret, url, data)
    };
    Ok(MfaPage { l: ctx.layout(st, &crate::i18n::t(lang, "mfa.title")), enrol, secret, otpauth, qr_svg, error })
}

pub(super) async fn mfa_form(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    if ctx.session.as_ref().is_some_and(|s| s.mfa_ok) {
        return Ok(Redirect::to("/staff").into_response());
    }
    render(&mfa_view(&st, &ctx, String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn mfa(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let Some(sess) = ctx.session.as_ref() else {
        return Err(AppError::Unauthenticated).lang(&lang);
    };
    let Principal::Staff(s) = &sess.principal else {
        return Err(AppError::Forbidden).lang(&lang);
    };
    match accounts::complete_mfa(
        &st.db,
        &sess.token_hash,
        s.id,
        form_get(&form, "code").unwrap_or_default(),
        ctx.client(),
    )
    .await
    {
        // A new session token now that both factors are in (the half-way one is dead).
        Ok(signed) => Ok(super::signin::signed_in(&st, &signed, "/staff")),
        Err(e @ (AppError::BadLogin | AppError::RateLimited)) => {
            let status = e.status();
            render_status(status, &mfa_view(&st, &ctx, e.message(&lang)).await.lang(&lang)?).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}
