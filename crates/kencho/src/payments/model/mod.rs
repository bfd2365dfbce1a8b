//! The types of payments: the records read from its tables (each decoded by column name in one
//! `from_row`), the views it hands out and the inputs it takes. No SQL, no I/O.

use kencho_core::notice::PaymentFacts;
use kencho_core::payment::ledger::State;
use kencho_core::payment::method::PaymentMethod;
use kencho_core::payment::provider::Provider;
use kencho_core::payment::refund::RefundState;
use kencho_core::payment::schedule::{Computed, Schedule};
use serde::{Deserialize, Deserializer, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::crypto::Secret;
use crate::db::parsed;
use crate::error::Result;

mod checkout;

pub use checkout::*;

/// A payment as the application page and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: i64,
    pub application_id: i64,
    /// The procedure (version) the fee is for.
    pub procedure_id: i64,
    pub tenant_id: i64,
    pub revenue_code: String,
    pub amount: i64,
    pub units: Option<i64>,
    pub exemption_percent: Option<i64>,
    pub exemption_reason: Option<String>,
    /// The application's attachment that evidences the 減免.
    pub exemption_evidence: Option<String>,
    /// None until an attempt opens at a provider (stored and answered as "").
    #[serde(serialize_with = "provider_name")]
    #[schema(value_type = String)]
    pub provider: Option<Provider>,
    /// None until an attempt opens at a provider (stored and answered as "").
    #[serde(serialize_with = "serialize_method")]
    #[schema(value_type = String)]
    pub method: Option<PaymentMethod>,
    pub provider_ref: Option<String>,
    #[schema(value_type = String)]
    pub state: State,
    pub paid_amount: i64,
    pub refunded_amount: i64,
    pub checkout_url: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub paid_at: Option<i64>,
    /// 納付日とみなす日: the day the resident paid the provider (YYYY-MM-DD, JST).
    pub deemed_paid_on: Option<String>,
    /// The day the provider's money arrived, from its settlement file (YYYY-MM-DD).
    pub funds_arrived_on: Option<String>,
}

/// The provider column: "" while no attempt has opened.
fn provider_of(r: &AnyRow) -> Result<Option<Provider>> {
    parsed(r, "provider", |v| if v.is_empty() { Some(None) } else { Provider::parse(v).map(Some) })
}

/// The method column: "" while no attempt has opened.
pub(super) fn method_of(r: &AnyRow) -> Result<Option<PaymentMethod>> {
    parsed(r, "method", |v| if v.is_empty() { Some(None) } else { PaymentMethod::parse(v).map(Some) })
}

/// A method's name, "" for none (as stored and answered).
pub(super) fn method_name(m: Option<PaymentMethod>) -> &'static str {
    m.map_or("", PaymentMethod::as_str)
}

fn serialize_method<S: serde::Serializer>(m: &Option<PaymentMethod>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(method_name(*m))
}

pub(super) fn provider_name<S: serde::Serializer>(p: &Option<Provider>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(p.map_or("", Provider::as_str))
}

impl Payment {
    /// The method's name, "" while no attempt has opened (as the payment's page lists it).
    pub fn method_name(&self) -> &'static str {
        method_name(self.method)
    }

    pub(super) fn from_row(r: &AnyRow) -> Result<Payment> {
        Ok(Payment {
            id: r.try_get("id")?,
            application_id: r.try_get("application_id")?,
            procedure_id: r.try_get("procedure_id")?,
            tenant_id: r.try_get("tenant_id")?,
            revenue_code: r.try_get("revenue_code")?,
            amount: r.try_get("amount")?,
            units: r.try_get("units")?,
            exemption_percent: r.try_get("exemption_percent")?,
            exemption_reason: r.try_get("exemption_reason")?,
            provider: provider_of(r)?,
            method: method_of(r)?,
            provider_ref: r.try_get("provider_ref")?,
            state: parsed(r, "state", State::parse)?,
            paid_amount: r.try_get("paid_amount")?,
            refunded_amount: r.try_get("refunded_amount")?,
            checkout_url: r.try_get("checkout_url")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            paid_at: r.try_get("paid_at")?,
            exemption_evidence: r.try_get("exemption_evidence")?,
            deemed_paid_on: r.try_get("deemed_paid_on")?,
            funds_arrived_on: r.try_get("funds_arrived_on")?,
        })
    }
}

/// A payment's [`PaymentFacts`], as its receipt prints them.
pub(super) fn payment_facts_of(r: &AnyRow) -> Result<PaymentFacts> {
    Ok(PaymentFacts {
        tenant_id: r.try_get("tenant_id")?,
        application_id: r.try_get("application_id")?,
        revenue_code: r.try_get("revenue_code")?,
        amount: r.try_get("amount")?,
        paid_amount: r.try_get("paid_amount")?,
        method: method_of(r)?,
        paid: r.try_get::<String, _>("state")? == State::Paid.as_str(),
        paid_at: r.try_get("paid_at")?,
    })
}

/// What is due, paid and refunded for an application.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Integer yen still to pay (0 when paid or nothing is due).
    pub due: i64,
    pub paid: i64,
    pub refunded: i64,
    /// The payment the resident pays now, if one is open.
    pub open: Option<Payment>,
    pub payments: Vec<Payment>,
    /// The procedure collects its fee online, and when.
    pub timing: Option<String>,
    /// 調定額, 収入済額 and 未収 (施行令154条).
    pub standing: Standing,
}

/// What staff choose when they set a fee: an item of the 手数料条例 (absent: the procedure's
/// own), how many, and a 減免事由 of the 条例.
#[derive(Debug, Clone, Default)]
pub struct FeeChoice {
    pub item: Option<String>,
    pub units: Option<i64>,
    pub ground: Option<String>,
    /// The application's attachment that evidences the 減免.
    pub evidence: Option<String>,
}

/// Whose a payment is: the tenant, the application and its procedure (version), the resident.
#[derive(Debug, Clone, Copy)]
pub(super) struct Owner {
    pub tenant_id: i64,
    pub application_id: i64,
    pub procedure_id: i64,
    pub resident_id: i64,
}

/// A new payment's row: its 調定's terms as the payment keeps them.
pub(super) struct NewPayment<'a> {
    pub owner: Owner,
    pub due: &'a Due,
    pub ledger: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a ledger writes on its payment's row besides itself.
pub(super) struct LedgerColumns {
    pub paid_at: Option<i64>,
    /// Kept when the row has one already.
    pub deemed_paid_on: Option<String>,
    pub now: i64,
}

/// A refund as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: i64,
    pub payment_id: i64,
    pub application_id: i64,
    pub amount: i64,
    pub reason: String,
    #[schema(value_type = String)]
    pub state: RefundState,
    pub kian_id: Option<i64>,
}

impl Refund {
    pub(super) fn from_row(r: &AnyRow) -> Result<Refund> {
        Ok(Refund {
            id: r.try_get("id")?,
            payment_id: r.try_get("payment_id")?,
            application_id: r.try_get("application_id")?,
            amount: r.try_get("amount")?,
            reason: r.try_get("reason")?,
            state: parsed(r, "state", RefundState::parse)?,
            kian_id: r.try_get("kian_id")?,
        })
    }
}

/// A refund order as its next step needs it: where it stands and who ordered it.
pub(super) struct RefundStep {
    pub id: i64,
    pub state: RefundState,
    pub requested_by: i64,
}

impl RefundStep {
    pub(super) fn from_row(r: &AnyRow) -> Result<RefundStep> {
        Ok(RefundStep {
            id: r.try_get("id")?,
            state: parsed(r, "state", RefundState::parse)?,
            requested_by: r.try_get("requested_by")?,
        })
    }
}

/// A refund order locked for its review.
pub(super) struct RefundUnderReview {
    pub state: RefundState,
    pub requested_by: i64,
    pub tenant_id: i64,
}

impl RefundUnderReview {
    pub(super) fn from_row(r: &AnyRow) -> Result<RefundUnderReview> {
        Ok(RefundUnderReview {
            tenant_id: r.try_get("tenant_id")?,
            state: parsed(r, "state", RefundState::parse)?,
            requested_by: r.try_get("requested_by")?,
        })
    }
}

/// A refund order as the provider is asked for it.
pub(super) struct RefundToSend {
    pub amount: i64,
    /// The payment's provider; none for one never sent to a provider.
    pub provider: Option<Provider>,
    pub provider_ref: Option<String>,
    pub tenant_id: i64,
}

impl RefundToSend {
    pub(super) fn from_row(r: &AnyRow) -> Result<RefundToSend> {
        Ok(RefundToSend {
            amount: r.try_get("amount")?,
            provider: Provider::parse(&r.try_get::<String, _>("provider")?),
            provider_ref: r.try_get("provider_ref")?,
            tenant_id: r.try_get("tenant_id")?,
        })
    }
}

/// A refund waiting for Stripe, with the tenant's sealed API key.
pub(super) struct StripeRefund {
    pub id: i64,
    pub amount: i64,
    pub reason: String,
    pub payment_intent: Option<String>,
    pub sealed_api_key: Option<String>,
    pub tenant_id: i64,
}

impl StripeRefund {
    pub(super) fn from_row(r: &AnyRow) -> Result<StripeRefund> {
        Ok(StripeRefund {
            id: r.try_get("id")?,
            amount: r.try_get("amount")?,
            reason: r.try_get("reason")?,
            payment_intent: r.try_get("payment_intent")?,
            sealed_api_key: r.try_get("stripe_api_key")?,
            tenant_id: r.try_get("tenant_id")?,
        })
    }
}

/// A 指定納付受託者 as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// sandbox or stripe (from the path; a body's own is not used).
    #[serde(default, deserialize_with = "ignored_provider", serialize_with = "provider_name")]
    #[schema(value_type = String)]
    pub provider: Option<Provider>,
    /// 指定納付受託者の名称.
    pub agent_name: String,
    /// 告示番号 (e.g. 南相馬市告示第12号).
    pub kokuji_number: String,
    /// 告示日 (YYYY-MM-DD).
    pub kokuji_date: String,
    /// The revenues the 告示 names: item codes of the 手数料条例, or `["*"]` for every fee.
    pub covers: Vec<String>,
}

/// The provider a body names is replaced by the path's, so any text is accepted there.
fn ignored_provider<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Provider>, D::Error> {
    Ok(Provider::parse(&String::deserialize(d)?))
}

impl Agent {
    /// The provider's name ("" when none is set yet).
    pub fn provider_name(&self) -> &'static str {
        self.provider.map_or("", Provider::as_str)
    }

    pub fn covers_item(&self, item: &str) -> bool {
        self.covers.iter().any(|c| c == "*" || (!item.is_empty() && c == item))
    }

    pub(super) fn from_row(r: &AnyRow) -> Result<Agent> {
        let covers: String = r.try_get("covers")?;
        Ok(Agent {
            provider: Some(parsed(r, "provider", Provider::parse)?),
            agent_name: r.try_get("agent_name")?,
            kokuji_number: r.try_get("kokuji_number")?,
            kokuji_date: r.try_get("kokuji_date")?,
            covers: covers.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
        })
    }
}

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

/// A 調定 with what its payment received, as the fiscal report reads it.
pub(super) struct ChoteiReceived {
    pub revenue_code: String,
    pub amount: i64,
    pub fiscal_year: i64,
    pub paid_amount: i64,
    pub refunded_amount: i64,
    pub paid_at: Option<i64>,
    pub deemed_paid_on: Option<String>,
}

impl ChoteiReceived {
    pub(super) fn from_row(r: &AnyRow) -> Result<ChoteiReceived> {
        Ok(ChoteiReceived {
            revenue_code: r.try_get("revenue_code")?,
            amount: r.try_get("amount")?,
            fiscal_year: r.try_get("fiscal_year")?,
            paid_amount: r.try_get("paid_amount")?,
            refunded_amount: r.try_get("refunded_amount")?,
            paid_at: r.try_get("paid_at")?,
            deemed_paid_on: r.try_get("deemed_paid_on")?,
        })
    }
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

/// What is due, as the 調定 records it.
#[derive(Debug, Clone)]
pub struct Due {
    /// The item of the 手数料条例 ('' for a procedure's own fixed fee without one).
    pub item: String,
    pub article: String,
    pub revenue_code: String,
    pub units: i64,
    pub gross: i64,
    pub reduction: i64,
    pub ground: Option<String>,
    /// The ground as the 条例 words it, with its article (for the resident's mail).
    pub ground_text: Option<String>,
    pub amount: i64,
    /// 年度 of the 調定: `None` for a new one (the year of today); a payment replacing another
    /// keeps the year of the 調定 it carries over.
    pub fiscal_year: Option<i32>,
}

impl Due {
    pub(super) fn of(c: Computed, s: &Schedule) -> Due {
        let it = s.item(&c.item);
        let ground_text = c.ground.as_deref().and_then(|g| s.ground(g)).map(|g| format!("{}（{}）", g.text, g.article));
        Due {
            ground_text,
            article: it.map(|i| format!("{} {}", s.ordinance, i.article)).unwrap_or_default(),
            revenue_code: it.map(|i| i.revenue_code.clone()).unwrap_or_default(),
            item: c.item,
            units: c.units,
            gross: c.gross,
            reduction: c.reduction,
            ground: c.ground,
            amount: c.net,
            fiscal_year: None,
        }
    }

    /// A `chotei` row as `Due`, with who decided it.
    pub(super) fn from_chotei_row(r: &AnyRow) -> Result<(Due, String)> {
        Ok((
            Due {
                item: r.try_get("item_code")?,
                article: r.try_get("article")?,
                revenue_code: r.try_get("revenue_code")?,
                units: r.try_get("units")?,
                gross: r.try_get("gross")?,
                reduction: r.try_get("reduction")?,
                ground: r.try_get("ground_code")?,
                ground_text: None,
                amount: r.try_get("amount")?,
                fiscal_year: i32::try_from(r.try_get::<i64, _>("fiscal_year")?).ok(),
            },
            r.try_get("decided_by")?,
        ))
    }
}

/// One line of a settlement file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub line: usize,
    pub provider_ref: String,
    /// A second way to find the payment: the charge it became (Stripe).
    pub charge_id: Option<String>,
    pub date: String,
    pub gross: i64,
    pub fee: i64,
}

/// A settlement line as stored: (line, provider ref, gross, fee, payment, result).
pub(super) type LineRow = (i64, String, i64, i64, Option<i64>, &'static str);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub import_id: i64,
    pub lines: usize,
    pub matched: usize,
    /// In the file and in kencho, amounts differ: (line, provider_ref, file gross, kencho paid).
    #[schema(value_type = Vec<Object>)]
    pub amount_differs: Vec<(usize, String, i64, i64)>,
    /// In the file, unknown to kencho: (line, provider_ref, gross).
    #[schema(value_type = Vec<Object>)]
    pub unknown: Vec<(usize, String, i64)>,
    /// Paid in kencho within the file's dates but not in the file: (payment id, provider_ref, paid).
    #[schema(value_type = Vec<Object>)]
    pub missing: Vec<(i64, String, i64)>,
}

/// A paid payment as a settlement file finds it: by the reference the file uses (the
/// PaymentIntent at Stripe) or by its charge.
pub(super) struct PaidAtProvider {
    pub id: i64,
    pub match_ref: Option<String>,
    pub charge_id: Option<String>,
    pub paid_amount: i64,
    pub paid_at: Option<i64>,
}

impl PaidAtProvider {
    pub(super) fn from_row(r: &AnyRow) -> Result<PaidAtProvider> {
        Ok(PaidAtProvider {
            id: r.try_get("id")?,
            match_ref: r.try_get("match_ref")?,
            charge_id: r.try_get("charge_id")?,
            paid_amount: r.try_get("paid_amount")?,
            paid_at: r.try_get("paid_at")?,
        })
    }
}

/// The imported file as recorded: provider, name, SHA-256 and (lines, matched, amount
/// differs, unknown, missing).
pub(super) struct StoredFile {
    pub provider: Provider,
    pub filename: String,
    pub sha: String,
    pub counts: (usize, usize, usize, usize, usize),
}

/// One group of the daily 収納 report: money of one 歳入科目, method and 年度 of 調定.
pub(super) struct DailyGroup {
    pub fiscal_year: Option<i64>,
    pub revenue_code: String,
    pub method: Option<PaymentMethod>,
    pub n: i64,
    pub total: i64,
}

impl DailyGroup {
    pub(super) fn from_row(r: &AnyRow) -> Result<DailyGroup> {
        Ok(DailyGroup {
            fiscal_year: r.try_get("fiscal_year")?,
            revenue_code: r.try_get("revenue_code")?,
            method: method_of(r)?,
            n: r.try_get("n")?,
            total: r.try_get("total")?,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Totals {
    /// (procedure title, method, count, collected yen, refunded yen)
    #[schema(value_type = Vec<Object>)]
    pub by_procedure_and_method: Vec<(String, String, i64, i64, i64)>,
    pub collected: i64,
    pub refunded: i64,
    /// Collected online (cashless) ÷ all collected, 0–1; counter cash is recorded as method `cash`.
    pub cashless_share: f64,
}

/// A tenant's payment settings (secrets are never shown back).
#[derive(Debug, Clone)]
pub struct Settings {
    pub sandbox_enabled: bool,
    pub sandbox_methods: Vec<PaymentMethod>,
    pub sandbox_secret: Secret,
    pub refund_approval_above: i64,
    pub stripe_enabled: bool,
    pub stripe_methods: Vec<PaymentMethod>,
    pub stripe_api_key: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
}

impl Settings {
    pub fn stripe_api_key_set(&self) -> bool {
        self.stripe_api_key.is_some()
    }
}

/// A tenant's payment settings as stored, its secrets still sealed.
pub(super) struct SealedSettings {
    pub sandbox_enabled: bool,
    pub sandbox_methods: Vec<PaymentMethod>,
    pub sandbox_secret: String,
    pub refund_approval_above: i64,
    pub stripe_enabled: bool,
    pub stripe_methods: Vec<PaymentMethod>,
    pub stripe_api_key: Option<String>,
    pub stripe_webhook_secret: Option<String>,
}

impl SealedSettings {
    pub(super) fn from_row(r: &AnyRow) -> Result<SealedSettings> {
        Ok(SealedSettings {
            sandbox_enabled: r.try_get::<i64, _>("sandbox_enabled")? != 0,
            sandbox_methods: parsed(r, "sandbox_methods", |v| PaymentMethod::read_list(v).ok())?,
            sandbox_secret: r.try_get("sandbox_secret")?,
            refund_approval_above: r.try_get("refund_approval_above")?,
            stripe_enabled: r.try_get::<i64, _>("stripe_enabled")? != 0,
            stripe_methods: parsed(r, "stripe_methods", |v| PaymentMethod::read_list(v).ok())?,
            stripe_api_key: r.try_get("stripe_api_key")?,
            stripe_webhook_secret: r.try_get("stripe_webhook_secret")?,
        })
    }
}
