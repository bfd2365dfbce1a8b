//! 消込 and 収納 reports: a provider's settlement file matched line by line against kencho's
//! payments (matched, amount differs, unknown to kencho, missing from the file), the daily
//! collection report per 歳入科目 for the accounting system, and totals.

use std::collections::HashMap;

use kencho_core::payment::provider::Provider;

use super::model::{method_name, LineRow, PaidAtProvider, StoredFile};
pub use super::model::{Line, Report, Totals};
use super::store;
use crate::actor::Staff;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Detail, Result};

fn yen(field: &str, line: usize, what: &str) -> Result<i64> {
    let v = field.trim().replace(',', "");
    v.parse::<i64>().map_err(|_| {
        AppError::BadRequest(detail!(
            "detail.payments.line_whole_yen",
            line = line,
            what = what,
            field = format!("{field:?}")
        ))
    })
}

/// Reads a settlement CSV with the columns `provider_ref,date,gross,fee` (found by header
/// name, in any order; UTF-8, a BOM allowed). Every error names its line; nothing is imported
/// from a file with an error.
pub fn parse(text: &str) -> Result<Vec<Line>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| AppError::BadRequest(detail!("detail.iot.line_1", e = e)))?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            AppError::BadRequest(detail!("detail.payments.line_1_no_column", name = format!("{name:?}")))
        })
    };
    let (c_ref, c_date, c_gross, c_fee) = (col("provider_ref")?, col("date")?, col("gross")?, col("fee")?);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| AppError::BadRequest(detail!("detail.payments.line", line = line, e = e)))?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim().to_string();
        let provider_ref = get(c_ref);
        if provider_ref.is_empty() || provider_ref.len() > 200 {
            return Err(AppError::BadRequest(detail!("detail.payments.line_provider_ref_empty", line = line)));
        }
        let date = get(c_date);
        if kencho_core::approval::doc::parse_date(&date).is_none() {
            return Err(AppError::BadRequest(detail!("detail.payments.line_date_yyyy_mm", line = line)));
        }
        out.push(Line {
            line,
            provider_ref,
            charge_id: None,
            date,
            gross: yen(&get(c_gross), line, "gross")?,
            fee: yen(&get(c_fee), line, "fee")?,
        });
    }
    Ok(out)
}

/// Reads Stripe's itemized balance report: its `charge` lines, matched by payment_intent or,
/// where the report's columns leave that out, by charge.
pub fn parse_stripe(text: &str) -> Result<Vec<Line>> {
    use kencho_core::payment::stripe::{parse_balance_report, StripeError};
    let lines = parse_balance_report(text).map_err(|e| match e {
        StripeError::Report { line, problem } => AppError::BadRequest(
            detail!("detail.payments.report_line", line = line).arg_detail("what", Detail::from(&problem)),
        ),
        // The report's reader names a line in every error it makes.
        other => AppError::unexpected(other),
    })?;
    Ok(lines
        .into_iter()
        .filter(|l| l.category == "charge")
        .map(|l| Line {
            line: l.line,
            provider_ref: l.provider_ref,
            charge_id: l.charge_id,
            date: l.created.chars().take(10).collect(),
            gross: l.gross,
            fee: l.fee,
        })
        .collect())
}

/// Imports a settlement file of `provider` for the staff member's tenant and matches it.
pub async fn import(db: &Db, staff: &Staff, provider: &str, filename: &str, text: &str) -> Result<Report> {
    let (provider, lines) = match Provider::parse(provider) {
        Some(p @ Provider::Sandbox) => (p, parse(text)?),
        Some(p @ Provider::Stripe) => (p, parse_stripe(text)?),
        _ => return Err(AppError::BadRequest(detail!("detail.payments.settlement_files_read_sandbox"))),
    };
    if lines.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.payments.file_has_no_lines")));
    }
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
    let paid = paid_payments(db, staff.tenant_id, provider).await?;
    let m = match_lines(&lines, &paid);
    let counts = (lines.len(), m.matched, m.differs.len(), m.unknown.len(), m.missing.len());
    let rows: Vec<LineRow> = m
        .results
        .iter()
        .map(|(l, id, r)| (i64::try_from(l.line).unwrap_or(0), l.provider_ref.clone(), l.gross, l.fee, *id, *r))
        .collect();
    // The day the agent's money arrived, kept apart from the day the resident paid it.
    let arrivals: Vec<(i64, String)> = m
        .results
        .iter()
        .filter(|(_, _, r)| *r == "matched")
        .filter_map(|(l, id, _)| id.map(|id| (id, l.date.clone())))
        .collect();
    let file = StoredFile { provider, filename: filename.to_string(), sha, counts };
    let import_id = record(db, staff, file, rows, arrivals).await?;
    Ok(Report {
        import_id,
        lines: counts.0,
        matched: m.matched,
        amount_differs: m.differs,
        unknown: m.unknown,
        missing: m.missing,
    })
}

/// kencho's paid payments at a provider, by the reference its settlement file uses.
struct Paid {
    /// Reference → (payment id, paid yen, paid at).
    by_ref: HashMap<String, (i64, i64, i64)>,
    /// Charge → the reference `by_ref` is keyed by.
    by_charge: HashMap<String, String>,
}

async fn paid_payments(db: &Db, tenant_id: i64, provider: Provider) -> Result<Paid> {
    let rows = store::paid_at_provider(db, tenant_id, provider).await?;
    let mut paid = Paid { by_ref: HashMap::with_capacity(rows.len()), by_charge: HashMap::new() };
    for PaidAtProvider { id, match_ref, charge_id, paid_amount, paid_at } in rows {
        if let Some(rf) = match_ref {
            if let Some(charge) = charge_id {
                paid.by_charge.insert(charge, rf.clone());
            }
            paid.by_ref.insert(rf, (id, paid_amount, paid_at.unwrap_or(0)));
        }
    }
    Ok(paid)
}

/// The file's lines matched against kencho's payments.
struct Matching<'a> {
    matched: usize,
    differs: Vec<(usize, String, i64, i64)>,
    unknown: Vec<(usize, String, i64)>,
    missing: Vec<(i64, String, i64)>,
    /// Each line with its payment and result.
    results: Vec<(&'a Line, Option<i64>, &'static str)>,
}

fn match_lines<'a>(lines: &'a [Line], paid: &Paid) -> Matching<'a> {
    let (mut matched, mut differs, mut unknown) = (0, Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::with_capacity(lines.len());
    let mut results = Vec::with_capacity(lines.len());
    for l in lines {
        let key = [Some(&l.provider_ref), l.charge_id.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|r| if paid.by_ref.contains_key(r) { Some(r) } else { paid.by_charge.get(r) })
            .unwrap_or(&l.provider_ref);
        seen.insert(key.as_str());
        match paid.by_ref.get(key) {
            Some((id, amount, _)) if *amount == l.gross => {
                matched += 1;
                results.push((l, Some(*id), "matched"));
            }
            Some((id, amount, _)) => {
                differs.push((l.line, l.provider_ref.clone(), l.gross, *amount));
                results.push((l, Some(*id), "amount_differs"));
            }
            None => {
                unknown.push((l.line, l.provider_ref.clone(), l.gross));
                results.push((l, None, "unknown"));
            }
        }
    }
    let first = lines.iter().map(|l| l.date.as_str()).min().unwrap_or("");
    let last = lines.iter().map(|l| l.date.as_str()).max().unwrap_or("");
    let mut missing: Vec<(i64, String, i64)> = paid
        .by_ref
        .iter()
        .filter(|(rf, (_, _, at))| {
            let day = crate::clock::fmt_date(*at);
            !seen.contains(rf.as_str()) && day.as_str() >= first && day.as_str() <= last
        })
        .map(|(rf, (id, amount, _))| (*id, rf.clone(), *amount))
        .collect();
    missing.sort();
    Matching { matched, differs, unknown, missing, results }
}

/// Records the import, its lines and the days money arrived, audited, in one transaction.
async fn record(
    db: &Db,
    staff: &Staff,
    file: StoredFile,
    rows: Vec<LineRow>,
    arrivals: Vec<(i64, String)>,
) -> Result<i64> {
    let staff = staff.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            let id = store::insert_import(conn, (staff.tenant_id, staff.id), &file, now_ms()).await?;
            store::insert_lines(conn, id, &rows).await?;
            store::record_arrivals(conn, &arrivals).await?;
            let StoredFile { provider, filename, sha, counts } = file;
            crate::audit::append(
                conn,
                staff.tenant_id,
                &format!("staff:{}", staff.id),
                "payment.settlement_imported",
                &format!("settlement:{id}"),
                serde_json::json!({"provider": provider.as_str(), "file": filename, "sha256": sha, "lines": counts.0, "matched": counts.1,
                                   "amount_differs": counts.2, "unknown": counts.3, "missing": counts.4}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// The daily 収納 report: per 年度 and 歳入科目, what was collected and refunded on `date` (JST), as CSV
/// for the accounting system (UTF-8 with BOM so spreadsheet programs read it as Japanese).
pub async fn daily_csv(db: &Db, tenant_id: i64, date: &str) -> Result<String> {
    let d = kencho_core::approval::doc::parse_date(date)
        .ok_or_else(|| AppError::BadRequest(detail!("detail.payments.date_yyyy_mm_dd")))?;
    let start = crate::clock::start_of(d);
    let end = start + 86_400_000;
    // 年度: the 調定's year while its accounts are open (出納整理期間), else the year of the day.
    let year_of = |fy: Option<i64>| {
        let fy = fy.and_then(|y| i32::try_from(y).ok()).unwrap_or_else(|| kencho_core::payment::fiscal::fiscal_year(d));
        kencho_core::payment::fiscal::booking_year(fy, d)
    };
    let rows = store::collected_between(db, tenant_id, (start, end)).await?;
    let refunds = store::refunded_between(db, tenant_id, (start, end)).await?;
    // By the method's name, so the rows keep their order.
    type Key = (i32, String, &'static str);
    let mut table: std::collections::BTreeMap<Key, (i64, i64, i64, i64)> = Default::default();
    for g in rows {
        let e = table.entry((year_of(g.fiscal_year), g.revenue_code, method_name(g.method))).or_default();
        e.0 += g.n;
        e.1 += g.total;
    }
    for g in refunds {
        let e = table.entry((year_of(g.fiscal_year), g.revenue_code, method_name(g.method))).or_default();
        e.2 += g.n;
        e.3 += g.total;
    }
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let io = |e: csv::Error| AppError::unexpected(e);
    w.write_record(crate::i18n::t(crate::i18n::OFFICE, "pay.daily_csv_header").split(',')).map_err(io)?;
    for ((year, code, method), (n, paid, rn, refunded)) in &table {
        w.write_record([
            date.to_string(),
            year.to_string(),
            kencho_core::text::csv_cell(code).into_owned(),
            kencho_core::text::csv_cell(method).into_owned(),
            n.to_string(),
            paid.to_string(),
            rn.to_string(),
            refunded.to_string(),
            (paid - refunded).to_string(),
        ])
        .map_err(io)?;
    }
    let bytes = w.into_inner().map_err(AppError::unexpected)?;
    String::from_utf8(bytes).map_err(AppError::unexpected)
}

pub async fn totals(db: &Db, tenant_id: i64) -> Result<Totals> {
    let rows = store::paid_by_procedure(db, tenant_id).await?;
    let mut out = Vec::new();
    let (mut collected, mut refunded, mut cash) = (0, 0, 0);
    for (title, method, n, paid, refd) in rows {
        collected += paid;
        refunded += refd;
        if method.is_some_and(|m| !m.is_cashless()) {
            cash += paid;
        }
        out.push((title, method_name(method).to_string(), n, paid, refd));
    }
    let share = if collected > 0 { (collected - cash) as f64 / collected as f64 } else { 0.0 };
    Ok(Totals { by_procedure_and_method: out, collected, refunded, cashless_share: (share * 1000.0).round() / 1000.0 })
}
