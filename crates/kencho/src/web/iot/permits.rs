//! Capture permits (捕獲許可, 鳥獣保護管理法 第9条) on the web and the API: registering them,
//! putting traps under them, and each permit's report (捕獲等の結果の報告, due 30 days after the
//! period) as a printable page and CSV. Everything here needs the `wildlife` act of the tenant's
//! roles table.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use kencho_core::iot::wildlife::{self as rules, Species};
use kencho_core::security::Action;
use serde::Serialize;

use crate::accounts::Staff;
use crate::error::{AppError, Result};
use crate::i18n::t;
use crate::iot::captures::{self as captures, species_label, PermitCapture};
use crate::iot::permits::{self as store, NewPermit, PermitInfo};
use crate::iot::registry::{self, DeviceInfo};
use crate::security::policy;
use crate::web::{fmt_time, form_get, render, render_status, staff_form, AppState, Ctx, InLang, Layout, PageResult};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/iot/permits", get(permits_page).post(add_page))
        .route("/staff/iot/permits/{id}", get(report_page))
        .route("/staff/iot/permits/{id}/report.csv", get(report_csv))
        .route("/staff/iot/permits/{id}/devices", post(assign_page))
        .route("/staff/iot/permits/{id}/reported", post(reported_page))
}

/// The signed-in staff member, if the tenant's table lets them do 鳥獣 work.
pub(super) async fn wildlife_staff(st: &AppState, ctx: &Ctx) -> Result<Staff> {
    let s = ctx.staff()?.clone();
    policy::require(&st.db, &s, Action::Wildlife, None).await?;
    Ok(s)
}

/// One line of the report: species, sex, age and how many.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub species: String,
    pub sex: String,
    pub age: String,
    pub count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Report {
    pub permit: PermitInfo,
    pub lines: Vec<Line>,
    /// Animals of species the permit does not cover.
    pub bycatch: i64,
}

pub(super) async fn build(st: &AppState, s: &Staff, id: i64, lang: &str) -> Result<(Report, Vec<PermitCapture>)> {
    let permit = store::get(&st.db, s.tenant_id, id).await?;
    let caps = captures::of_permit(&st.db, s.tenant_id, id).await?;
    let counted: Vec<_> = caps.iter().filter_map(PermitCapture::counted).collect();
    let lines = rules::report_lines(&permit.permit()?, &counted)
        .into_iter()
        .map(|l| Line {
            species: species_label(lang, &Species::stored(&l.species)),
            sex: t(lang, &format!("iot.sex_{}", l.sex.key())),
            age: t(lang, &format!("iot.age_{}", l.age.key())),
            count: l.count,
        })
        .collect();
    let bycatch = caps.iter().filter(|c| c.bycatch).map(|c| c.count).sum();
    Ok((Report { permit, lines, bycatch }, caps))
}

#[derive(Template)]
#[template(path = "iot_permits.html")]
struct PermitsPage {
    l: Layout,
    permits: Vec<PermitInfo>,
    traps: Vec<DeviceInfo>,
    o: super::captures::Options,
    message: String,
    error: String,
}

impl PermitsPage {
    fn species(&self, p: &PermitInfo) -> String {
        p.species.iter().map(|s| species_label(&self.l.lang, s)).collect::<Vec<_>>().join("、")
    }
}

async fn permits_view(st: &AppState, ctx: &Ctx, message: String, error: String) -> Result<PermitsPage> {
    let s = wildlife_staff(st, ctx).await?;
    let mut traps = registry::list_devices(&st.db, s.tenant_id).await?;
    traps.retain(|d| d.kind == kencho_core::iot::alarm::DeviceKind::Trap);
    Ok(PermitsPage {
        l: ctx.layout(st, &t(ctx.lang(), "iot.permits_title")),
        permits: store::list(&st.db, s.tenant_id).await?,
        traps,
        o: super::captures::Options::new(ctx.lang()),
        message,
        error,
    })
}

async fn permits_page(State(st): State<AppState>, ctx: Ctx) -> PageResult {
    let lang = ctx.lang().to_string();
    render(&permits_view(&st, &ctx, String::new(), String::new()).await.lang(&lang)?).lang(&lang)
}

/// Shows the list again with the outcome of a form: a refusal keeps its status and message.
async fn outcome(st: &AppState, ctx: &Ctx, r: Result<String>) -> PageResult {
    let lang = ctx.lang().to_string();
    match r {
        Ok(m) => render(&permits_view(st, ctx, m, String::new()).await.lang(&lang)?).lang(&lang),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_) | AppError::Capture(_) | AppError::NotFound)) => {
            let page = permits_view(st, ctx, String::new(), e.message(&lang)).await.lang(&lang)?;
            render_status(e.status(), &page).lang(&lang)
        }
        Err(e) => Err(e).lang(&lang),
    }
}

async fn add_page(State(st): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, _) = staff_form(&ctx, &body, false)?;
    let result = async {
        let s = wildlife_staff(&st, &ctx).await?;
        let all = |k: &str| form.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        let text = |k: &str| form_get(&form, k).unwrap_or_default().to_string();
        let mut species = all("species");
        let other = text("species_other");
        if !other.trim().is_empty() {
            species.push(format!("other:{}", other.trim()));
        }
        let p = NewPermit {
            number: text("number"),
            holder: text("holder"),
            holder_email: text("holder_email"),
            species,
            valid_from: text("valid_from"),
            valid_to: text("valid_to"),
            area: text("area"),
            trap_types: all("trap_types"),
        };
        let id = store::add(&st.db, s.tenant_id, &p, &format!("staff:{}", s.id)).await?;
        Ok(crate::i18n::tf(&lang, "iot.permit_added", &[("id", &id.to_string())]))
    }
    .await;
    outcome(&st, &ctx, result).await
}

async fn assign_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, _) = staff_form(&ctx, &body, false)?;
    let result = async {
        let s = wildlife_staff(&st, &ctx).await?;
        let device = form_get(&form, "device_id").unwrap_or("").parse::<i64>().map_err(|_| AppError::NotFound)?;
        let tt = form_get(&form, "trap_type").unwrap_or("");
        store::assign_device(&st.db, s.tenant_id, id, device, tt, &format!("staff:{}", s.id)).await?;
        Ok(t(&lang, "iot.saved"))
    }
    .await;
    outcome(&st, &ctx, result).await
}

async fn reported_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, _) = staff_form(&ctx, &body, false)?;
    let result = async {
        let s = wildlife_staff(&st, &ctx).await?;
        store::mark_reported(&st.db, s.tenant_id, id, &format!("staff:{}", s.id)).await?;
        Ok(t(&lang, "iot.saved"))
    }
    .await;
    outcome(&st, &ctx, result).await
}

struct Row {
    captured_at: String,
    recorded_at: String,
    trap: String,
    trap_type: String,
    species: String,
    sex: String,
    age: String,
    count: i64,
    disposition: String,
    place: String,
    bycatch: String,
    recorded_by: String,
}

fn rows(lang: &str, caps: &[PermitCapture]) -> Vec<Row> {
    let label = |prefix: &str, k: &str| if k.is_empty() { String::new() } else { t(lang, &format!("{prefix}{k}")) };
    caps.iter()
        .map(|c| Row {
            captured_at: fmt_time(c.captured_at),
            recorded_at: fmt_time(c.recorded_at),
            trap: c.trap.clone(),
            trap_type: label("iot.trap_type_", &c.trap_type),
            species: species_label(lang, &c.species),
            sex: label("iot.sex_", &c.sex),
            age: label("iot.age_", &c.age),
            count: c.count,
            disposition: label("iot.disposition_", &c.disposition),
            place: match (c.lat, c.lon) {
                (Some(a), Some(o)) => format!("{}（{a:.6}, {o:.6}）", c.place),
                _ => c.place.clone(),
            },
            bycatch: if c.bycatch { label("iot.bycatch_action_", &c.bycatch_action) } else { String::new() },
            recorded_by: c.recorded_by.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "iot_permit_report.html")]
struct ReportPage {
    l: Layout,
    r: Report,
    species: String,
    rows: Vec<Row>,
}

async fn report_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = wildlife_staff(&st, &ctx).await.lang(&lang)?;
    let (r, caps) = build(&st, &s, id, &lang).await.lang(&lang)?;
    let species = r.permit.species.iter().map(|x| species_label(&lang, x)).collect::<Vec<_>>().join("、");
    render(&ReportPage { l: ctx.layout(&st, &t(&lang, "iot.report_title")), rows: rows(&lang, &caps), species, r })
        .lang(&lang)
}

/// The report's animals as CSV (UTF-8 with BOM, for spreadsheet software).
async fn report_csv(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let lang = ctx.lang().to_string();
    let s = wildlife_staff(&st, &ctx).await.lang(&lang)?;
    let (r, caps) = build(&st, &s, id, &lang).await.lang(&lang)?;
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let head: Vec<String> = [
        "permit",
        "holder",
        "captured_at",
        "recorded_at",
        "trap",
        "trap_type",
        "species",
        "sex",
        "age",
        "count",
        "disposition",
        "place",
        "bycatch_action",
        "recorded_by",
    ]
    .iter()
    .map(|k| t(&lang, &format!("iot.csv_{k}")))
    .collect();
    let csv_err = |e: csv::Error| AppError::unexpected(e);
    w.write_record(&head).map_err(csv_err).lang(&lang)?;
    for x in rows(&lang, &caps) {
        let count = x.count.to_string();
        let cells = [
            r.permit.number.as_str(),
            r.permit.holder.as_str(),
            &x.captured_at,
            &x.recorded_at,
            &x.trap,
            &x.trap_type,
            &x.species,
            &x.sex,
            &x.age,
            &count,
            &x.disposition,
            &x.place,
            &x.bycatch,
            &x.recorded_by,
        ];
        // Hunters and staff type the place, the holder and "other" species: a cell that starts
        // like a formula is quoted so a spreadsheet shows it instead of running it.
        w.write_record(cells.map(kencho_core::text::csv_cell).iter().map(|c| c.as_ref()))
            .map_err(csv_err)
            .lang(&lang)?;
    }
    let bytes = w.into_inner().map_err(AppError::unexpected).lang(&lang)?;
    let mut res = bytes.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let name = format!("attachment; filename=\"permit-{id}-report.csv\"");
    if let Ok(v) = HeaderValue::from_str(&name) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
