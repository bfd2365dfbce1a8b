//! 会計 pages of 公金の収納: the 会計管理者's review of refund orders and the fiscal-year report
//! (their API, with the 手数料条例 and the 指定納付受託者, is in `api.rs`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::{AppError, Result};
use crate::payments::{self, fiscal, schedule};
use crate::web::{form_get, staff_form, AppState, Ctx, InLang, PageResult};

pub(super) async fn review_page(State(st): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: Bytes) -> PageResult {
    let lang = ctx.lang().to_string();
    let (form, s) = staff_form(&ctx, &body, false)?;
    // A refusal is final: only an explicit answer counts as one.
    let approve = match form_get(&form, "approve") {
        Some("1") => true,
        Some("0") => false,
        _ => return Err(AppError::BadRequest(detail!("detail.payments.approve_1_0"))).lang(&lang),
    };
    payments::review_refund(&st.db, &s, id, approve).await.lang(&lang)?;
    Ok(Redirect::to("/staff/payments").into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct YearQuery {
    /// 年度 by its starting calendar year (2026 = 令和8年度, 2026-04-01 to 2027-03-31); absent:
    /// the current one.
    #[serde(default)]
    pub year: Option<String>,
}

pub(super) fn year_of(q: &YearQuery) -> Result<i32> {
    match q.year.as_deref().filter(|y| !y.is_empty()) {
        None => Ok(schedule::fiscal_year_at(crate::db::now_ms())),
        Some(y) => kencho_core::payment::fiscal::parse_year(y)
            .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.year_fiscal_year_such"))),
    }
}

pub(super) async fn fiscal_csv(State(st): State<AppState>, ctx: Ctx, Query(q): Query<YearQuery>) -> Result<Response> {
    let s = ctx.staff()?;
    let year = year_of(&q)?;
    let text = fiscal::csv(&fiscal::report(&st.db, s.tenant_id, year).await?)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"nendo-{year}.csv\"")),
        ],
        text,
    )
        .into_response())
}
