//! The settlement report kencho reconciles (消込).

use super::*;
use crate::check::Finding;

/// One balance transaction of a settlement report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementLine {
    /// The line in the CSV text (the header is line 1).
    pub line: usize,
    /// `balance_transaction_id` (`txn_…`), empty if the report leaves the column out.
    pub balance_transaction_id: String,
    /// What to match the payment by: `payment_intent_id`, else `charge_id`, else `source_id`.
    pub provider_ref: String,
    /// The charge (`ch_…`, `py_…`) from `charge_id`, or from `source_id` when that is a
    /// charge: the second way to find the payment.
    pub charge_id: Option<String>,
    /// `reporting_category`: `charge`, `refund`, `fee`, `payout`, …
    pub category: String,
    /// Yen.
    pub gross: i64,
    pub fee: i64,
    pub net: i64,
    /// `created_utc` (or `created`, in the report's time zone) as written.
    pub created: String,
    /// `automatic_payout_id` (or `payout_id`) when the report has it and the line is paid out.
    pub payout_id: Option<String>,
}

/// Reads Stripe's itemized balance reports as CSV (docs: "Report types" — Balance
/// `balance_change_from_activity.itemized.*` and Payout reconciliation
/// `payout_reconciliation.itemized.*`, `ending_balance_reconciliation.itemized.*`). Columns
/// are found by header name, in any order; extra columns are ignored. Required: `currency`,
/// `gross`, `fee`, `net`, `reporting_category`, `created_utc` or `created`, and something to
/// find the payment by: `payment_intent_id`, `charge_id` or `source_id` (the reports' columns
/// are chosen in the Dashboard, and not every choice has them). Amounts are
/// major units as decimal strings; for JPY they become integer yen exactly ("1200.00" → 1200)
/// and a fraction of a yen is an error. Streams the text (100,000 lines are fine); errors name
/// the line.
pub fn parse_balance_report(text: &str) -> Result<Vec<SettlementLine>, StripeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| StripeError::Report {
        line: e.position().map(|p| p.line() as usize).unwrap_or(0),
        problem: Finding::unreadable(e),
    };
    let header = |problem: Finding| StripeError::Report { line: 1, problem };
    let headers = rdr.headers().map_err(csv_err)?.clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
        return Err(header(Finding::new("report_no_header", "")));
    }
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let need =
        |name: &str| col(name).ok_or_else(|| header(Finding::new("report_missing_column", "").with("column", name)));
    let c_currency = need("currency")?;
    let c_gross = need("gross")?;
    let c_fee = need("fee")?;
    let c_net = need("net")?;
    let c_category = need("reporting_category")?;
    let c_created = col("created_utc").or_else(|| col("created")).ok_or_else(|| {
        header(Finding::new("report_missing_column_either", "").with("column", "created_utc").with("other", "created"))
    })?;
    let c_txn = col("balance_transaction_id");
    let c_refs: Vec<usize> = ["payment_intent_id", "charge_id", "source_id"].iter().filter_map(|n| col(n)).collect();
    if c_refs.is_empty() {
        return Err(header(Finding::new("report_no_payment_column", "")));
    }
    let c_charge = col("charge_id");
    let c_source = col("source_id");
    let c_payout = col("automatic_payout_id").or_else(|| col("payout_id"));

    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(csv_err)? {
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        let err = |problem: Finding| StripeError::Report { line, problem };
        let currency = get(c_currency);
        if !currency.eq_ignore_ascii_case("jpy") {
            return Err(err(Finding::new("report_not_jpy", "").with("currency", format!("{currency:?}"))));
        }
        let amount = |i: usize, name: &str| yen(get(i)).map_err(|f| err(f.at(name)));
        let provider_ref = c_refs.iter().map(|&i| get(i)).find(|s| !s.is_empty()).unwrap_or("").to_string();
        let is_charge = |s: &&str| s.starts_with("ch_") || s.starts_with("py_");
        let charge_id = c_charge
            .map(get)
            .filter(|s| !s.is_empty())
            .or_else(|| c_source.map(get).filter(is_charge))
            .map(str::to_string);
        out.push(SettlementLine {
            line,
            balance_transaction_id: c_txn.map(get).unwrap_or("").to_string(),
            provider_ref,
            charge_id,
            category: get(c_category).to_string(),
            gross: amount(c_gross, "gross")?,
            fee: amount(c_fee, "fee")?,
            net: amount(c_net, "net")?,
            created: get(c_created).to_string(),
            payout_id: c_payout.map(get).filter(|s| !s.is_empty()).map(str::to_string),
        });
    }
    Ok(out)
}

/// A JPY major-unit decimal string as integer yen: `-?digits(.0*)?`, exactly.
pub(super) fn yen(s: &str) -> Result<i64, Finding> {
    let shown = |problem: Finding, s: &str| problem.with("value", format!("{s:?}"));
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (whole, frac) = match rest.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (rest, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(shown(Finding::new("report_not_an_amount", ""), &truncate(s, 40)));
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(shown(Finding::new("report_not_an_amount", ""), &truncate(s, 40)));
        }
        if f.bytes().any(|b| b != b'0') {
            return Err(shown(Finding::new("report_fraction_of_yen", ""), s));
        }
    }
    let n = whole
        .bytes()
        .try_fold(0i64, |n, b| n.checked_mul(10)?.checked_add(i64::from(b - b'0')))
        .ok_or_else(|| shown(Finding::new("report_too_large", ""), &truncate(s, 40)))?;
    Ok(if neg { -n } else { n })
}
