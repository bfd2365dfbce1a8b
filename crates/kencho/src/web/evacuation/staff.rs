//! The staff page: alerts (issue, approve, lift), JMA telegrams, layers and the list of 個別避難計画.

use super::*;
use kencho_core::evacuation::alert::{requested_hazard, AlertStatus, STAFF_HAZARDS};

pub(super) struct TownPick {
    id: String,
    name: String,
    households: i64,
}

#[derive(Template)]
#[template(path = "staff_evacuation.html")]
pub(super) struct StaffPage {
    l: Layout,
    tenant_code: String,
    admin: bool,
    me: String,
    alerts: Vec<Alert>,
    towns: Vec<TownPick>,
    layers: Vec<LayerVersion>,
    people: Vec<PlanListItem>,
    message: String,
    error: String,
}

impl StaffPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn town_names(&self, a: &Alert) -> String {
        a.towns
            .iter()
            .map(|id| {
                if id == alerts::WHOLE_TENANT {
                    t(&self.l.lang, "evacuation.whole_area")
                } else {
                    self.towns.iter().find(|t| &t.id == id).map(|t| t.name.clone()).unwrap_or_else(|| id.clone())
                }
            })
            .collect::<Vec<_>>()
            .join(&t(&self.l.lang, "evacuation.list_sep"))
    }
    fn kind_label(&self, k: &LayerKind) -> String {
        t(&self.l.lang, &format!("evacuation.layer_{}", k.as_str()))
    }
    fn scenario_label(&self, v: &LayerVersion) -> String {
        v.scenario.map(|s| t(&self.l.lang, &format!("evacuation.scenario_{}", s.as_str()))).unwrap_or_default()
    }
    fn status_label(&self, s: &AlertStatus) -> String {
        t(&self.l.lang, &format!("evacuation.alert_{s}"))
    }
    /// 「避難指示（警戒レベル4・洪水）」 or 「警戒レベル4相当情報［土砂災害］（気象庁：…）」.
    fn alert_label(&self, a: &Alert) -> String {
        crate::evacuation::alert_mail::label(&self.l.lang, &a.info())
    }
    fn hazard_options(&self) -> Vec<(&'static str, String)> {
        STAFF_HAZARDS
            .iter()
            .map(|h| (h.as_str(), crate::evacuation::alert_mail::hazard_name(&self.l.lang, *h)))
            .collect()
    }
    fn may_approve(&self, a: &Alert) -> bool {
        a.status == AlertStatus::Pending && a.requested_by != self.me
    }
}

pub(super) async fn staff_view(
    st: &AppState,
    ctx: &Ctx,
    message: String,
    error: String,
) -> Result<StaffPage, AppError> {
    let s = ctx.staff()?;
    let lang = ctx.lang();
    let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
    let counts = town_households(st, s.tenant_id).await?;
    Ok(StaffPage {
        l: ctx.layout(st, &t(lang, "evacuation.staff_title")),
        tenant_code: s.tenant_code.clone(),
        admin: s.role == kencho_core::application::Role::Admin,
        me: format!("staff:{}", s.id),
        alerts: alerts::list(&st.db, s.tenant_id, 50).await?,
        towns: atlas
            .towns
            .iter()
            .map(|tw| TownPick {
                id: tw.id.clone(),
                name: tw.name(),
                households: counts.get(&tw.id).copied().unwrap_or(0),
            })
            .collect(),
        layers: layers::list(&st.db, s.tenant_id).await?,
        people: if crate::security::policy::allows(&st.db, s, Action::IndividualPlans).await? {
            plans::individual_plans(&st.db, s.tenant_id).await?
        } else {
            Vec::new()
        },
        message,
        error,
    })
}

/// Subscribed plans per town, so staff see how many households an alert will reach.
pub(super) async fn town_households(
    st: &AppState,
    tenant_id: i64,
) -> Result<std::collections::HashMap<String, i64>, AppError> {
    plans::households_by_town(&st.db, tenant_id).await
}

pub(super) async fn staff_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&staff_view(&st, &ctx, String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

/// Shows the staff page again with the outcome of an action (errors that are the user's to fix
/// are shown on the page, with the status they carry).
pub(in crate::web) async fn staff_outcome(st: &AppState, ctx: &Ctx, result: Result<String, AppError>) -> PageResult {
    let lang = ctx.lang().to_string();
    match result {
        Ok(msg) => render(&staff_view(st, ctx, msg, String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Data(_) | AppError::Conflict(_) | AppError::StaleForm)) => {
            let status = e.status();
            render_status(status, &staff_view(st, ctx, String::new(), e.message(&lang)).await.lang(&lang)?).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

pub(super) async fn issue_alert(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let level = form_get(&form, "level")
            .and_then(|l| l.parse::<u8>().ok())
            .ok_or_else(|| AppError::BadRequest(detail!("evacuation.err_level")))?;
        // What the alert is about decides who is sent out (a home outside its zones is not).
        // A form without the field (older clients) means "every hazard": the whole plan.
        let hazard = requested_hazard(form_get(&form, "hazard"))
            .ok_or_else(|| AppError::BadRequest(detail!("evacuation.err_hazard")))?;
        let towns: Vec<String> = form.iter().filter(|(k, _)| k == "town").map(|(_, v)| v.clone()).collect();
        let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
        let note = form_get(&form, "note").unwrap_or_default().to_string();
        alerts::request(
            &st.db,
            atlas,
            &st.cfg.base_url,
            Actor::staff(&st.db, &s).await?,
            Request { level, hazard, towns, note },
        )
        .await?;
        Ok(t(&lang, if level == 3 { "evacuation.alert_sent" } else { "evacuation.alert_waiting" }))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

pub(super) async fn approve_alert(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
        alerts::approve(&st.db, atlas, &st.cfg.base_url, Actor::staff(&st.db, &s).await?, id).await?;
        Ok(t(&lang, "evacuation.alert_sent"))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

pub(super) async fn cancel_alert(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, false)?;
    let result = async {
        let atlas = st.atlases.get(&st.db, s.tenant_id).await?;
        alerts::cancel(&st.db, atlas, &st.cfg.base_url, Actor::staff(&st.db, &s).await?, id).await?;
        Ok(t(&lang, "evacuation.alert_cancelled_msg"))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

pub(super) async fn upload_jma(State(st): State<AppState>, ctx: Ctx, mp: Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    // Who is asking comes first: nothing of the upload is read for anyone else.
    let s = ctx.admin().lang(&lang)?.clone();
    let (csrf, _, file) = read_upload(mp).await.lang(&lang)?;
    ctx.check_csrf(csrf.as_deref()).lang(&lang)?;
    let result = async {
        let (name, text) = file.ok_or_else(|| AppError::BadRequest(detail!("evacuation.err_file")))?;
        let o = crate::evacuation::jma::ingest(
            &st.db,
            &st.atlases,
            &st.cfg.base_url,
            &text,
            &format!("upload:staff:{}:{name}", s.id),
            Some(s.tenant_id),
        )
        .await?;
        Ok(tf(&lang, "evacuation.jma_read", &[("result", &o.result), ("event", &o.event_id)]))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}
