//! The fiscal-year report (年度別 調定・収入): per 歳入科目, the 調定 of a 会計年度 (4月1日–3月31日),
//! what was received against them until the accounts close (出納整理期間, to 5月31日 of the next
//! year; 地方自治法235条の5), what was refunded, and what is still owed (未収). Rules in
//! `kencho_core::payment::fiscal`.

use std::collections::BTreeMap;

use kencho_core::payment::fiscal::{booking_year, bounds, closing_day, in_closing_period};
use serde::Serialize;
use sqlx::Row;

use crate::db::Db;
use crate::error::{AppError, Result};

/// One 歳入科目 of a fiscal year.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FiscalRow {
    pub revenue_code: String,
    /// 調定額.
    pub chotei: i64,
    /// 収入済額 booked to this year (received by the close of its accounts).
    pub received: i64,
    /// Of which received in the 出納整理期間 (翌年度4月1日–5月31日).
    pub received_in_closing: i64,
    /// 還付済額.
    pub refunded: i64,
    /// 未収額: 調定額 − 収入済額.
    pub unpaid: i64,
    /// 過年度収入: received this year, after their own year's accounts closed, for 調定 of
    /// earlier years (施行令160条). Not part of this year's 調定 or 未収.
    pub received_prior_years: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FiscalReport {
    /// 年度, by its starting calendar year (2026 = 令和8年度).
    pub year: i32,
    /// The last day money is received for this year (出納閉鎖).
    pub closing_day: String,
    pub rows: Vec<FiscalRow>,
}

/// The report of fiscal year `year` for a tenant. A 調定 whose payment was replaced (another
/// method, cash at the counter) or cancelled is not counted; its replacement carries it. Money
/// received this year for a 調定 of an earlier year whose accounts had closed is this year's
/// 過年度収入, apart from this year's own 調定.
pub async fn report(db: &Db, tenant_id: i64, year: i32) -> Result<FiscalReport> {
    let rows = sqlx::query(
        "SELECT c.revenue_code, c.amount, c.fiscal_year, p.paid_amount, p.refunded_amount, p.paid_at, p.deemed_paid_on \
         FROM chotei c JOIN payments p ON p.id = c.payment_id WHERE c.tenant_id = $1 \
         AND (c.fiscal_year = $2 OR (c.fiscal_year < $2 AND p.paid_at >= $3)) \
         AND p.state NOT IN ('cancelled', 'expired') ORDER BY c.id",
    )
    .bind(tenant_id)
    .bind(i64::from(year))
    // An earlier year's money can be this year's only if it came this year: kencho hears of a
    // payment on or after the day it is deemed paid, so older payments need not be read.
    .bind(crate::clock::start_of(bounds(year).0))
    .fetch_all(&db.read)
    .await?;
    let mut table: BTreeMap<String, FiscalRow> = BTreeMap::new();
    for r in &rows {
        let code: String = r.try_get("revenue_code")?;
        let chotei_year = i32::try_from(r.try_get::<i64, _>("fiscal_year")?).unwrap_or(year);
        let of_year = chotei_year == year;
        // Booked on the day the resident paid the agent (納付日とみなす日), not on the day
        // kencho heard of it: a payment at 23:59 on 5月31日 told after midnight is still the
        // closing year's.
        let paid_on = match r.try_get::<Option<i64>, _>("paid_at")? {
            Some(at) => {
                let deemed: Option<String> = r.try_get("deemed_paid_on")?;
                Some(
                    deemed
                        .as_deref()
                        .and_then(kencho_core::forms::parse_iso_date)
                        .unwrap_or_else(|| crate::clock::date_at(at)),
                )
            }
            None => None,
        };
        let booked_here = paid_on.is_some_and(|day| booking_year(chotei_year, day) == year);
        if !of_year && !booked_here {
            continue;
        }
        let e = table.entry(code.clone()).or_insert_with(|| FiscalRow { revenue_code: code, ..Default::default() });
        let paid: i64 = r.try_get("paid_amount")?;
        if !of_year {
            e.received_prior_years += paid;
            continue;
        }
        e.chotei += r.try_get::<i64, _>("amount")?;
        if let Some(day) = paid_on {
            // Received after the accounts closed: revenue of a later year (施行令160条).
            if booked_here {
                e.received += paid;
                if in_closing_period(year, day) {
                    e.received_in_closing += paid;
                }
            }
            e.refunded += r.try_get::<i64, _>("refunded_amount")?;
        }
    }
    let rows = table
        .into_values()
        .map(|mut r| {
            r.unpaid = (r.chotei - r.received).max(0);
            r
        })
        .collect();
    Ok(FiscalReport { year, closing_day: closing_day(year).to_string(), rows })
}

/// The same as CSV (UTF-8 with BOM), one line per 歳入科目 with its 年度.
pub fn csv(r: &FiscalReport) -> Result<String> {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let io = |e: csv::Error| AppError::unexpected(e);
    w.write_record(["年度", "歳入科目", "調定額", "収入済額", "うち出納整理期間", "還付済額", "未収額", "過年度収入"])
        .map_err(io)?;
    for x in &r.rows {
        w.write_record([
            r.year.to_string(),
            kencho_core::text::csv_cell(&x.revenue_code).into_owned(),
            x.chotei.to_string(),
            x.received.to_string(),
            x.received_in_closing.to_string(),
            x.refunded.to_string(),
            x.unpaid.to_string(),
            x.received_prior_years.to_string(),
        ])
        .map_err(io)?;
    }
    let bytes = w.into_inner().map_err(AppError::unexpected)?;
    String::from_utf8(bytes).map_err(AppError::unexpected)
}

/// 調定額, 収入済額 and 未収 of one application (for its page and its receipt).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub chotei: i64,
    pub received: i64,
    pub unpaid: i64,
    /// 年度 of the 調定.
    pub fiscal_year: Option<i32>,
}

pub async fn standing(db: &Db, application_id: i64) -> Result<Standing> {
    let rows = sqlx::query(
        "SELECT c.amount, c.fiscal_year, p.paid_amount FROM chotei c JOIN payments p ON p.id = c.payment_id \
         WHERE c.application_id = $1 AND p.state NOT IN ('cancelled', 'expired')",
    )
    .bind(application_id)
    .fetch_all(&db.read)
    .await?;
    let mut s = Standing::default();
    for r in &rows {
        s.chotei += r.try_get::<i64, _>("amount")?;
        s.received += r.try_get::<i64, _>("paid_amount")?;
        s.fiscal_year = Some(i32::try_from(r.try_get::<i64, _>("fiscal_year")?).unwrap_or_default());
    }
    s.unpaid = (s.chotei - s.received).max(0);
    Ok(s)
}
