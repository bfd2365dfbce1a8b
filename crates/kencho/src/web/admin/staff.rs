//! The tenant administrator's 職員管理 screen (`/staff/admin/staff`): the tenant's staff and
//! divisions; inviting a person by e-mail, changing a role or division, ending an account,
//! adding or renaming a division.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use kencho_core::application::Role;

use crate::accounts::{self, StaffChange, StaffEntry};
use crate::error::AppError;
use crate::i18n::{t, tf};
use crate::web::{fmt_time, form_get, render, render_status, staff_form, AppState, Ctx, InLang, Layout, PageResult};

#[derive(Template)]
#[template(path = "admin_staff.html")]
struct StaffPage {
    l: Layout,
    staff: Vec<StaffEntry>,
    divisions: Vec<(String, String)>,
    /// Every role, as (code, words).
    roles: Vec<(&'static str, String)>,
    message: String,
    error: String,
    /// The admin's own id: they cannot end their own account here.
    me: i64,
}

impl StaffPage {
    fn role_words(&self, role: &Role) -> String {
        crate::i18n::words::role(&self.l.lang, *role)
    }
    fn ended(&self, at: &i64) -> String {
        fmt_time(*at)
    }
}

async fn view(st: &AppState, ctx: &Ctx, message: String, error: String) -> Result<StaffPage, AppError> {
    let admin = ctx.admin()?;
    let lang = ctx.lang();
    let (staff, divisions) = accounts::staff_of_tenant(&st.db, admin.tenant_id).await?;
    Ok(StaffPage {
        l: ctx.layout(st, &t(lang, "staffadmin.title")),
        staff,
        divisions,
        roles: Role::ALL.iter().map(|r| (r.as_str(), crate::i18n::words::role(lang, *r))).collect(),
        message,
        error,
        me: admin.id,
    })
}

pub(super) async fn page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    render(&view(&st, &ctx, String::new(), String::new()).await.lang(ctx.lang())?).lang(ctx.lang())
}

/// The page again after an act: its outcome as a message, or the refusal beside the form.
async fn after(st: &AppState, ctx: &Ctx, outcome: Result<String, AppError>) -> PageResult {
    let lang = ctx.lang();
    match outcome {
        Ok(message) => render(&view(st, ctx, message, String::new()).await.lang(lang)?).lang(lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_) | AppError::NotFound)) => {
            let page = view(st, ctx, String::new(), e.message(lang)).await.lang(lang)?;
            render_status(e.status(), &page).lang(lang)
        }
        Err(e) => Err(e).lang(lang),
    }
}

fn role_of(form: &[(String, String)]) -> Result<Role, AppError> {
    accounts::parse_role(form_get(form, "role").unwrap_or_default())
}

pub(super) async fn invite(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let (form, admin) = staff_form(&ctx, &body, true)?;
    let lang = ctx.lang();
    let outcome = async {
        let email = form_get(&form, "email").unwrap_or_default();
        let inv = accounts::Invite {
            email,
            name: form_get(&form, "name").unwrap_or_default(),
            division_code: form_get(&form, "division").unwrap_or_default(),
            role: role_of(&form)?,
            lang: form_get(&form, "mail_lang").unwrap_or_default(),
            base_url: &st.cfg.base_url,
        };
        accounts::invite_staff(&st.db, &admin, inv).await?;
        Ok(tf(lang, "staffadmin.invited", &[("email", email)]))
    }
    .await;
    after(&st, &ctx, outcome).await
}

pub(super) async fn change(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (form, admin) = staff_form(&ctx, &body, true)?;
    let outcome = async {
        let division = form_get(&form, "division").unwrap_or_default();
        accounts::change_staff(&st.db, &admin, id, StaffChange::Role(role_of(&form)?, division)).await?;
        Ok(t(ctx.lang(), "staffadmin.changed"))
    }
    .await;
    after(&st, &ctx, outcome).await
}

pub(super) async fn deactivate(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let (_, admin) = staff_form(&ctx, &body, true)?;
    let outcome = accounts::change_staff(&st.db, &admin, id, StaffChange::Deactivate).await;
    after(&st, &ctx, outcome.map(|()| t(ctx.lang(), "staffadmin.deactivated"))).await
}

pub(super) async fn save_division(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let (form, admin) = staff_form(&ctx, &body, true)?;
    let (code, name) = (form_get(&form, "code").unwrap_or_default(), form_get(&form, "name").unwrap_or_default());
    let outcome = accounts::save_division(&st.db, &admin, code, name).await;
    after(&st, &ctx, outcome.map(|()| t(ctx.lang(), "staffadmin.division_saved"))).await
}
