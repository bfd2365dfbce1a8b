//! The fiscal-year report (年度別 調定・収入): per 歳入科目, the 調定 of a 会計年度 (4月1日–3月31日),
//! what was received against them until the accounts close (出納整理期間, to 5月31日 of the next
//! year; 地方自治法235条の5), what was refunded, and what is still owed (未収). Rules in
//! `kencho_core::payment::fiscal`.

use std::collections::BTreeMap;

use kencho_core::payment::fiscal::{booking_year, bounds, closing_day, in_closing_period};

pub use super::model::{FiscalReport, FiscalRow, Standing};
use super::store;
use crate::db::Db;
use crate::error::{AppError, Result};

/// The report of fiscal year `year` for a tenant. A 調定 whose payment was replaced (another
/// method, cash at the counter) or cancelled is not counted; its replacement carries it. Money
/// received this year for a 調定 of an earlier year whose accounts had closed is this year's
/// 過年度収入, apart from this year's own 調定.
pub async fn report(db: &Db, tenant_id: i64, year: i32) -> Result<FiscalReport> {
    // An earlier year's money can be this year's only if it came this year: kencho hears of a
    // payment on or after the day it is deemed paid, so older payments need not be read.
    let since = crate::clock::start_of(bounds(year).0);
    let rows = store::chotei_received(db, tenant_id, year, since).await?;
    let mut table: BTreeMap<String, FiscalRow> = BTreeMap::new();
    for r in &rows {
        let code = r.revenue_code.clone();
        let chotei_year = i32::try_from(r.fiscal_year).unwrap_or(year);
        let of_year = chotei_year == year;
        // Booked on the day the resident paid the agent (納付日とみなす日), not on the day
        // kencho heard of it: a payment at 23:59 on 5月31日 told after midnight is still the
        // closing year's.
        let paid_on = match r.paid_at {
            Some(at) => {
                let deemed = &r.deemed_paid_on;
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
        let paid = r.paid_amount;
        if !of_year {
            e.received_prior_years += paid;
            continue;
        }
        e.chotei += r.amount;
        if let Some(day) = paid_on {
            // Received after the accounts closed: revenue of a later year (施行令160条).
            if booked_here {
                e.received += paid;
                if in_closing_period(year, day) {
                    e.received_in_closing += paid;
                }
            }
            e.refunded += r.refunded_amount;
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
    w.write_record(crate::i18n::t(crate::i18n::OFFICE, "pay.fiscal_csv_header").split(',')).map_err(io)?;
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

/// 調定額, 収入済額 and 未収 of one application.
pub async fn standing(db: &Db, application_id: i64) -> Result<Standing> {
    let rows = store::chotei_of_application(db, application_id).await?;
    let mut s = Standing::default();
    for (amount, fiscal_year, paid) in rows {
        s.chotei += amount;
        s.received += paid;
        s.fiscal_year = Some(i32::try_from(fiscal_year).unwrap_or_default());
    }
    s.unpaid = (s.chotei - s.received).max(0);
    Ok(s)
}
