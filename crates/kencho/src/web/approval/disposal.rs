//! The records page (公文書管理): the disposal list of a fiscal year and drafting the disposal.

use kencho_core::approval::records::RecordState;

use super::*;

#[derive(Deserialize)]
pub(super) struct FyQuery {
    #[serde(default)]
    pub(super) fy: Option<i32>,
}

pub(super) fn fy_of(q: &FyQuery) -> Result<i32> {
    let fy = q.fy.unwrap_or_else(|| fiscal_year(crate::clock::date_at(now_ms())));
    if !(2000..=2200).contains(&fy) {
        return Err(AppError::BadRequest(detail!("detail.approval.fiscal_year_between_2000")));
    }
    Ok(fy)
}

#[derive(Template)]
#[template(path = "approval_records.html")]
pub(super) struct RecordsPage {
    l: Layout,
    fy: i32,
    records: Vec<records::Record>,
    log: Vec<records::Disposed>,
    /// Holds in place on the year's records (廃棄の留保), with the record's title.
    holds: Vec<(holds::Hold, String)>,
    may_hold: bool,
    admin: bool,
    due: usize,
    error: String,
}

impl RecordsPage {
    fn when(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }

    fn hold_kinds(&self) -> Vec<(&'static str, &'static str)> {
        HoldKind::ALL.map(|k| (k.as_str(), k.label())).to_vec()
    }

    fn hold_label(&self, kind: &HoldKind) -> &'static str {
        kind.label()
    }
}

pub(super) async fn records_view(st: &AppState, ctx: &Ctx, fy: i32, error: String) -> Result<RecordsPage> {
    let s = ctx.staff()?;
    let list = records::expiring(&st.db, s.tenant_id, fy).await?;
    let today = format_date(crate::clock::date_at(now_ms()));
    let (from, to) = records::fiscal_bounds(fy);
    let title = |id: i64| list.iter().find(|r| r.id == id).map(|r| r.title.clone()).unwrap_or_default();
    // Hold references are for those who may place holds; others see only that a record is held.
    let may_hold =
        crate::security::policy::allows(&st.db, s, kencho_core::security::policy::Action::RecordHold).await?;
    let holds = if may_hold {
        holds::open_between(&st.db, s.tenant_id, &from, &to)
            .await?
            .into_iter()
            .map(|h| (h.clone(), title(h.record_id)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(RecordsPage {
        l: ctx.layout(st, &crate::i18n::t(ctx.lang(), "approval.records_title")),
        fy,
        due: list.iter().filter(|r| r.state == RecordState::Kept && r.expires_on <= today).count(),
        records: list,
        log: records::disposal_log(&st.db, s.tenant_id).await?,
        holds,
        may_hold,
        admin: s.role == kencho_core::application::Role::Admin,
        error,
    })
}

pub(super) async fn records_page(State(st): State<AppState>, ctx: Ctx, Query(q): Query<FyQuery>) -> PageResult {
    let lang = ctx.lang().to_string();
    let fy = fy_of(&q).lang(&lang)?;
    render(&records_view(&st, &ctx, fy, String::new()).await.lang(&lang)?).lang(&lang)
}

pub(super) async fn dispose_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, true)?;
    let fy = fy_of(&FyQuery { fy: form_get(&form, "fy").and_then(|v| v.parse().ok()) }).lang(&lang)?;
    match records::draft_disposal(&st.db, &st.approval, &s, fy).await {
        Ok(id) => Ok(Redirect::to(&format!("/staff/approval/{id}")).into_response()),
        Err(e) if matches!(e, AppError::Refused(..)) => {
            let page = records_view(&st, &ctx, fy, e.message(&lang)).await.lang(&lang)?;
            crate::web::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

/// Places a hold from the records page (kind, reference), or lifts one (`lift` = its id).
pub(super) async fn hold_page(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(record): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    let fy = fy_of(&FyQuery { fy: form_get(&form, "fy").and_then(|v| v.parse().ok()) }).lang(&lang)?;
    let outcome = match form_get(&form, "lift").and_then(|v| v.parse::<i64>().ok()) {
        Some(hold) => holds::lift(&st.db, &s, record, hold).await,
        None => {
            let kind = form_get(&form, "kind").unwrap_or_default();
            let reference = form_get(&form, "reference").unwrap_or_default();
            holds::place(&st.db, &s, record, kind, reference).await.map(|_| ())
        }
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/staff/approval/records?fy={fy}")).into_response()),
        Err(e) if matches!(e, AppError::BadRequest(_) | AppError::Refused(..) | AppError::NotPermitted(_)) => {
            let page = records_view(&st, &ctx, fy, e.message(&lang)).await.lang(&lang)?;
            crate::web::render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}
