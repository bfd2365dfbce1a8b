//! The tenant administrator's page for 公金の収納 set-up: the 手数料条例 (fee schedule) in
//! force, read as a table and edited as its TOML document, and the 指定納付受託者 of each
//! provider. The same store functions as the API (`/api/v1/admin/payments/…`) do the work.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use kencho_core::payment::schedule::Schedule;
use serde::Deserialize;

use crate::error::{AppError, Detail, Result};
use crate::payments::{agents, schedule};
use crate::web::{form_get, render, render_status, staff_form, AppState, Ctx, InLang, Layout, PageResult};

/// One line of the schedule's 別表 as shown.
struct ItemRow {
    code: String,
    name: String,
    article: String,
    amount: String,
    revenue_code: String,
}

/// One 減免事由 as shown: what is waived, and the items it applies to ('' for every item).
struct GroundRow {
    code: String,
    text: String,
    article: String,
    waived: String,
    items: String,
}

#[derive(Template)]
#[template(path = "admin_fees.html")]
struct FeesPage {
    l: Layout,
    message: String,
    /// The schedule in force (none: not kept yet).
    ordinance: Option<String>,
    items: Vec<ItemRow>,
    grounds: Vec<GroundRow>,
    /// The document in the textarea: the one in force, or the refused one sent back.
    document: String,
    schedule_errors: Vec<String>,
    agents: Vec<agents::Agent>,
    providers: Vec<&'static str>,
    /// The agent form's values (an agent to update, or what was refused).
    agent: agents::Agent,
    /// (field id, problem) of a refused 指定.
    agent_errors: Vec<(String, String)>,
}

impl FeesPage {
    fn covers(&self, a: &agents::Agent) -> String {
        a.covers
            .iter()
            .map(|c| if c == "*" { self.l.t("fees.covers_all") } else { c.clone() })
            .collect::<Vec<_>>()
            .join("、")
    }
    fn checked(&self, code: &str) -> bool {
        self.agent.covers.iter().any(|c| c == code)
    }
    /// The problem of one field of the agent form, if it has one.
    fn agent_error(&self, field: &str) -> String {
        self.agent_errors.iter().filter(|(f, _)| f == field).map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" ")
    }
}

fn rows(s: &Schedule, lang: &str) -> (Vec<ItemRow>, Vec<GroundRow>) {
    let items = s
        .items
        .iter()
        .map(|i| ItemRow {
            code: i.code.clone(),
            name: i.name.clone(),
            article: i.article.clone(),
            amount: crate::documents::yen(i.amount),
            revenue_code: i.revenue_code.clone(),
        })
        .collect();
    let grounds = s
        .grounds
        .iter()
        .map(|g| GroundRow {
            code: g.code.clone(),
            text: g.text.clone(),
            article: g.article.clone(),
            waived: match (g.percent, g.amount_off) {
                (Some(p), _) => format!("{p}%"),
                (None, Some(a)) => crate::i18n::tf(lang, "fees.amount_off", &[("yen", &crate::documents::yen(a))]),
                (None, None) => String::new(),
            },
            items: g.items.join("、"),
        })
        .collect();
    (items, grounds)
}

async fn fees_view(st: &AppState, ctx: &Ctx) -> Result<FeesPage> {
    let s = ctx.admin()?;
    let lang = ctx.lang();
    let kept = schedule::load(&st.db, s.tenant_id).await?;
    let (items, grounds) = kept.as_ref().map(|(sch, _)| rows(sch, lang)).unwrap_or_default();
    Ok(FeesPage {
        l: ctx.layout(st, &crate::i18n::t(lang, "fees.title")),
        message: String::new(),
        ordinance: kept.as_ref().map(|(sch, _)| sch.ordinance.clone()),
        items,
        grounds,
        document: kept.map(|(_, text)| text).unwrap_or_default(),
        schedule_errors: Vec::new(),
        agents: agents::list(&st.db, s.tenant_id).await?,
        providers: agents::PROVIDERS.iter().map(|p| p.as_str()).collect(),
        agent: agents::Agent {
            provider: Some(agents::PROVIDERS[0]),
            agent_name: String::new(),
            kokuji_number: String::new(),
            kokuji_date: String::new(),
            covers: Vec::new(),
        },
        agent_errors: Vec::new(),
    })
}

#[derive(Deserialize)]
pub(super) struct FeesQuery {
    /// What was just saved: `schedule` or `agent`.
    #[serde(default)]
    saved: Option<String>,
    /// A provider whose 指定 fills the form, to update it.
    #[serde(default)]
    edit: Option<String>,
}

pub(super) async fn fees_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<FeesQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let mut page = fees_view(&st, &ctx).await.lang(&lang)?;
    page.message = match q.saved.as_deref() {
        Some("schedule") => crate::i18n::t(&lang, "fees.schedule_saved"),
        Some("agent") => crate::i18n::t(&lang, "fees.agent_saved"),
        _ => String::new(),
    };
    if let Some(a) = q.edit.and_then(|p| page.agents.iter().find(|a| a.provider_name() == p).cloned()) {
        page.agent = a;
    }
    render(&page).lang(&lang)
}

/// Replaces the schedule: a refused document is shown again with every problem, and nothing
/// is kept.
pub(super) async fn save_schedule(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    // Browsers send a textarea's lines ending in CRLF; the document is kept as it is typed.
    let text = form_get(&form, "document").unwrap_or_default().replace("\r\n", "\n");
    if text.len() > 512 * 1024 {
        return Err(AppError::TooLarge).lang(&lang);
    }
    if let Err(problems) = schedule::save(&st.db, &s, &text).await.lang(&lang)? {
        let mut page = fees_view(&st, &ctx).await.lang(&lang)?;
        page.document = text;
        page.schedule_errors = problems.iter().map(|f| Detail::from(f).text(&lang)).collect();
        return render_status(StatusCode::BAD_REQUEST, &page).lang(&lang);
    }
    Ok(Redirect::to("/staff/admin/fees?saved=schedule").into_response())
}

/// Records or updates a provider's 指定: refused whole, every problem shown by its field.
pub(super) async fn save_agent(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let text = |k: &str| form_get(&form, k).unwrap_or_default().trim().to_string();
    let provider = text("provider");
    let agent = agents::Agent {
        provider: kencho_core::payment::provider::Provider::parse(&provider),
        agent_name: text("agent_name"),
        kokuji_number: text("kokuji_number"),
        kokuji_date: text("kokuji_date"),
        covers: form
            .iter()
            .filter(|(k, v)| k == "covers" && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect(),
    };
    if let Err(problems) = agents::designate(&st.db, &s, &provider, agent.clone()).await.lang(&lang)? {
        let mut page = fees_view(&st, &ctx).await.lang(&lang)?;
        page.agent_errors = problems.into_iter().map(|(field, d)| (field.to_string(), d.text(&lang))).collect();
        page.agent = agent;
        return render_status(StatusCode::BAD_REQUEST, &page).lang(&lang);
    }
    Ok(Redirect::to("/staff/admin/fees?saved=agent").into_response())
}
