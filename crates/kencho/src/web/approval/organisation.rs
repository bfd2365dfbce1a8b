//! The 不在登録 page and the organisation / 専決 table editor.

use super::*;

#[derive(Template)]
#[template(path = "approval_absences.html")]
pub(super) struct AbsencesPage {
    l: Layout,
    absences: Vec<setup::Absence>,
    staff: Vec<(i64, String)>,
    me: i64,
    admin: bool,
    error: String,
}

pub(super) async fn absences_view(st: &AppState, ctx: &Ctx, error: String) -> Result<AbsencesPage> {
    let s = ctx.staff()?;
    let absences = setup::absences(&st.db, s.tenant_id, crate::clock::date_at(now_ms())).await?;
    let mut staff: Vec<(i64, String)> = staff_names(st, s.tenant_id).await?.into_iter().collect();
    staff.sort();
    Ok(AbsencesPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "approval.absences_title")),
        absences,
        staff,
        me: s.id,
        admin: s.role == kencho_core::application::Role::Admin,
        error,
    })
}

pub(super) async fn absences_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&absences_view(&st, &ctx, String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn add_absence_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let who = form_get(&form, "staff_id").and_then(|v| v.parse().ok()).unwrap_or(s.id);
    let outcome = setup::add_absence(
        &st.db,
        &s,
        who,
        form_get(&form, "from").unwrap_or_default(),
        form_get(&form, "to").unwrap_or_default(),
        form_get(&form, "note").unwrap_or_default(),
    )
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to("/staff/approval/absences").into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_)) => {
            let page = absences_view(&st, &ctx, e.message(&lang)).await.lang(&lang)?;
            crate::web::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

#[derive(Template)]
#[template(path = "approval_setup.html")]
pub(super) struct SetupPage {
    l: Layout,
    org: String,
    rules: String,
    errors: Vec<String>,
    saved: bool,
}

pub(super) async fn setup_view(st: &AppState, ctx: &Ctx) -> Result<SetupPage> {
    let s = ctx.admin()?;
    Ok(SetupPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "approval.setup_title")),
        org: setup::source(&st.db, s.tenant_id, "org").await?,
        rules: setup::source(&st.db, s.tenant_id, "rules").await?,
        errors: Vec::new(),
        saved: false,
    })
}

pub(super) async fn setup_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&setup_view(&st, &ctx).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn load_setup_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let kind = form_get(&form, "kind").unwrap_or_default().to_string();
    let text = form_get(&form, "text").unwrap_or_default().to_string();
    let outcome = setup::load(&st.db, &st.approval, &s, &kind, &text).await;
    let mut page = setup_view(&st, &ctx).await.lang(&lang)?;
    match outcome {
        Ok(_) => {
            page.saved = true;
            render(&page).lang(&lang)
        }
        Err(AppError::BadRequest(m)) => {
            page.errors = m.text(&lang).lines().map(str::to_string).collect();
            // Keep what was typed, so the administrator fixes it rather than retypes it.
            if kind == "org" {
                page.org = text;
            } else {
                page.rules = text;
            }
            crate::web::render_status(StatusCode::BAD_REQUEST, &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}
