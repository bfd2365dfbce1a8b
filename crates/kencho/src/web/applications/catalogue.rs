//! The catalogue: the home page with search, a procedure's public page, starting an application.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use kencho_core::procedure::FieldKind;
use serde::Deserialize;

use crate::accounts::Principal;
use crate::applications::{self as apps};
use crate::error::AppError;
use crate::procedures::{self, Procedure};
use crate::web::form_html::{self};
use crate::web::{form_get, parse_form, render, AppState, Ctx, InLang, Layout, PageResult};

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tenant: String,
}

pub struct ProcItem {
    pub href: String,
    pub title: String,
    pub tenant: String,
    pub description: String,
    pub fee: String,
    pub days: u32,
}

pub(super) fn item(p: &Procedure, lang: &str) -> ProcItem {
    ProcItem {
        href: format!("/procedures/{}/{}", p.tenant_code, p.code),
        title: p.title(lang).to_string(),
        tenant: p.tenant_label(lang).to_string(),
        description: {
            let d = p.description(lang);
            if d.chars().count() > 120 {
                format!("{}…", d.chars().take(119).collect::<String>())
            } else {
                d.to_string()
            }
        },
        fee: fee_label(p.def.fee.amount, lang),
        days: p.def.standard_days,
    }
}

pub fn fee_label(amount: u64, lang: &str) -> String {
    if amount == 0 {
        crate::i18n::t(lang, "proc.free")
    } else {
        crate::i18n::tf(lang, "proc.fee_amount", &[("amount", &group_digits(amount))])
    }
}

pub(super) fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct HomePage {
    l: Layout,
    q: String,
    tenant: String,
    tenants: Vec<(String, String)>,
    items: Vec<ProcItem>,
}

pub(super) async fn home(State(st): State<AppState>, ctx: Ctx, Query(q): Query<SearchQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    if q.q.chars().count() > 100 {
        return Err(AppError::BadRequest(detail!("detail.request.search_too_long"))).lang(&lang);
    }
    let tenant = (!q.tenant.is_empty()).then_some(q.tenant.as_str());
    let found = procedures::search(&st.db, &q.q, tenant).await.lang(&lang)?;
    let tenants = crate::tenants::list(&st.db)
        .await
        .lang(&lang)?
        .into_iter()
        .map(|t| (t.code.clone(), t.label(&lang).to_string()))
        .collect();
    let page = HomePage {
        l: ctx.layout(&st, &crate::i18n::t(&lang, "home.title")),
        q: q.q.clone(),
        tenant: q.tenant.clone(),
        tenants,
        items: found.iter().map(|p| item(p, &lang)).collect(),
    };
    render(&page).lang(&lang)
}

#[derive(Template)]
#[template(path = "procedure.html")]
pub(super) struct ProcedurePage {
    l: Layout,
    p: ProcItem,
    tenant_code: String,
    code: String,
    legal_basis: String,
    review_criteria: Option<String>,
    identity: &'static str,
    division: String,
    fee_note: String,
    allows_agent: bool,
    allows_self: bool,
    attachments: Vec<String>,
    version: i64,
    signed_in: bool,
    retention: u32,
}

pub(super) async fn procedure_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((tenant, code)): Path<(String, String)>,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let p = procedures::current(&st.db, &tenant, &code).await.lang(&lang)?;
    let attachments = p
        .def
        .fields()
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
        .map(|f| {
            let req = if f.required {
                crate::i18n::t(&lang, "form.required")
            } else {
                crate::i18n::t(&lang, "form.if_applicable")
            };
            format!("{}（{req}）", form_html::label_of(f, &lang))
        })
        .collect();
    let page = ProcedurePage {
        l: ctx.layout(&st, p.title(&lang)),
        p: item(&p, &lang),
        tenant_code: p.tenant_code.clone(),
        code: p.code.clone(),
        legal_basis: p.def.legal_basis.clone(),
        review_criteria: p.def.review_criteria.clone(),
        identity: p.def.identity_assurance.key(),
        division: p.def.division.name.clone(),
        fee_note: p.def.fee.note.clone().unwrap_or_default(),
        allows_agent: p.def.allows_agent(),
        allows_self: p.def.applicants.contains(&kencho_core::procedure::ApplicantKind::Myself),
        attachments,
        version: p.version,
        signed_in: matches!(ctx.session.as_ref().map(|s| &s.principal), Some(Principal::Resident(_))),
        retention: p.def.retention_years,
    };
    render(&page).lang(&lang)
}

pub(super) async fn start(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((tenant, code)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let form = parse_form(&body).lang(&lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(&lang)?;
    let resident = ctx.resident().lang(&lang)?;
    let p = procedures::current(&st.db, &tenant, &code).await.lang(&lang)?;
    let kind = super::applicant_kind(form_get(&form, "applicant_kind")).lang(&lang)?;
    let id = apps::create_draft(&st.db, resident, &p, kind).await.lang(&lang)?;
    Ok(Redirect::to(&format!("/applications/{id}/pages/1")).into_response())
}
