//! The tenant administrator's page: procedure import, API tokens and the security policy
//! (the table of roles).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use kencho_core::procedure::ProcedureDef;

use crate::accounts::tokens::ApiTokenInfo;
use crate::accounts::{self};
use crate::error::AppError;
use crate::web::{fmt_time, form_get, parse_form, render, render_status, AppState, Ctx, InLang, Layout, PageResult};
use kencho_core::security::Scope;

#[derive(Template)]
#[template(path = "admin.html")]
pub(super) struct AdminPage {
    l: Layout,
    tokens: Vec<ApiTokenInfo>,
    /// The tenant's signing keys (電子交付), oldest first.
    keys: Vec<crate::documents::keys::PublicKey>,
    new_token: String,
    message: String,
    error: String,
    /// The table of roles as rows: (act, roles, divisions), and as its document.
    policy_rows: Vec<(String, String, String)>,
    policy_document: String,
    /// The newest security events of the tenant.
    events: Vec<crate::security::StoredEvent>,
}

impl AdminPage {
    fn created(&self, t: &ApiTokenInfo) -> String {
        fmt_time(t.created_at)
    }
    fn scope_key(&self, t: &ApiTokenInfo) -> String {
        format!("admin.scope_{}", t.scope)
    }
    fn time(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
}

pub(super) async fn admin_view(
    st: &AppState,
    ctx: &Ctx,
    new_token: String,
    message: String,
    error: String,
) -> Result<AdminPage, AppError> {
    let s = ctx.admin()?;
    let lang = ctx.lang();
    let (policy, stored) = crate::security::policy::load(&st.db, s.tenant_id).await?;
    let policy_rows = kencho_core::security::policy::all()
        .into_iter()
        .map(|a| {
            let g = policy.grant(a);
            let roles: Vec<String> = g.roles.iter().map(|r| crate::i18n::words::role(lang, *r)).collect();
            let divisions =
                if g.divisions.is_empty() { crate::i18n::t(lang, "admin.policy_any") } else { g.divisions.join(", ") };
            (crate::i18n::t(lang, &format!("policy.{}", a.key())), roles.join("・"), divisions)
        })
        .collect();
    Ok(AdminPage {
        l: ctx.layout(st, &crate::i18n::t(lang, "admin.title")),
        tokens: accounts::tokens::list(&st.db, s.tenant_id).await?,
        keys: crate::documents::keys::public_keys(&st.db, Some(&s.tenant_code)).await?,
        new_token,
        message,
        error,
        policy_document: if stored.is_empty() { policy.to_toml() } else { stored },
        policy_rows,
        events: crate::security::list(&st.db, s.tenant_id, 50).await?,
    })
}

/// The admin page with a success message on top.
pub async fn admin_page_with_message(st: &AppState, ctx: &Ctx, message: String) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&admin_view(st, ctx, String::new(), message, String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn admin(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&admin_view(&st, &ctx, String::new(), String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn import_procedure(
    State(st): State<AppState>,
    ctx: Ctx,
    mut mp: axum::extract::Multipart,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let mut csrf = None;
    let mut file: Option<(String, String)> = None;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))
        .lang(&lang)?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(
                    field.text().await.map_err(|_| AppError::BadRequest(detail!("detail.request.csrf"))).lang(&lang)?,
                )
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("procedure.toml").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::TooLarge).lang(&lang)?;
                if bytes.len() > 1024 * 1024 {
                    return Err(AppError::TooLarge).lang(&lang);
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| AppError::BadRequest(detail!("detail.request.file_utf_8_text")))
                    .lang(&lang)?;
                file = Some((name, text));
            }
            _ => {}
        }
    }
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let s = ctx.admin().lang(&lang)?;
    let Some((name, text)) = file else {
        return Err(AppError::BadRequest(detail!("detail.admin.choose_file"))).lang(&lang);
    };
    let outcome = match ProcedureDef::parse(&name, &text) {
        Ok(def) => crate::procedures::import(&st.db, &def, &format!("staff:{}", s.id), Some(s.tenant_id))
            .await
            .map(|o| (def, o)),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok((def, o)) => {
            let msg = match o {
                crate::procedures::ImportOutcome::Created { version } => {
                    format!("{} — {} {version}", def.title, crate::i18n::t(&lang, "admin.imported_version"))
                }
                crate::procedures::ImportOutcome::Unchanged { version } => {
                    format!("{} — {} {version}", def.title, crate::i18n::t(&lang, "admin.unchanged"))
                }
            };
            render(&admin_view(&st, &ctx, String::new(), msg, String::new()).await.lang(&lang)?).lang(&lang)
        }
        Err(e @ (AppError::Definition(_) | AppError::BadRequest(_) | AppError::Forbidden)) => {
            let status = e.status();
            render_status(
                status,
                &admin_view(&st, &ctx, String::new(), String::new(), e.message(&lang)).await.lang(&lang)?,
            )
            .lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

pub(super) async fn create_token(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let s = ctx.admin().lang(&lang)?;
    let made = async {
        let scope = Scope::parse(form_get(&form, "scope").unwrap_or("staff"))
            .ok_or_else(|| AppError::BadRequest(detail!("detail.admin.scope")))?;
        let days = match form_get(&form, "days").map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(
                kencho_core::text::digits_only(d)
                    .parse::<i64>()
                    .map_err(|_| AppError::BadRequest(detail!("admin.token_days_hint")))?,
            ),
            None => None,
        };
        accounts::tokens::create(&st.db, s, form_get(&form, "name").unwrap_or_default(), scope, days).await
    }
    .await;
    match made {
        Ok(token) => render(&admin_view(&st, &ctx, token, String::new(), String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ AppError::BadRequest(_)) => render_status(
            e.status(),
            &admin_view(&st, &ctx, String::new(), String::new(), e.message(&lang)).await.lang(&lang)?,
        )
        .lang(&lang),
        Err(e) => Err(e).lang(&lang),
    }
}

/// The tenant's table of roles (roles as data), replaced whole; refused whole with every
/// problem named.
pub(super) async fn save_policy(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = crate::web::staff_form(&ctx, &body, true)?;
    match crate::security::policy::save(&st.db, &s, form_get(&form, "document").unwrap_or_default()).await {
        Ok(_) => admin_page_with_message(&st, &ctx, crate::i18n::t(&lang, "admin.policy_saved")).await,
        Err(e @ AppError::BadRequest(_)) => render_status(
            e.status(),
            &admin_view(&st, &ctx, String::new(), String::new(), e.message(&lang)).await.lang(&lang)?,
        )
        .lang(&lang),
        Err(e) => Err(e).lang(&lang),
    }
}

pub(super) async fn revoke_token(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let s = ctx.admin().lang(&lang)?;
    accounts::tokens::revoke(&st.db, s, id).await.lang(&lang)?;
    Ok(Redirect::to("/staff/admin").into_response())
}
