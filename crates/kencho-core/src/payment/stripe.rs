//! Stripe, as pure code: the request bodies kencho sends, the responses and webhooks it reads,
//! and the settlement report it reconciles (消込). No I/O and no clock: the kencho binary does
//! the HTTP and passes the current time in.
//!
//! Each part names the Stripe document it follows (API reference at
//! `https://docs.stripe.com/api`, guides at `https://docs.stripe.com/...`).
//!
//! # Money
//! JPY is a zero-decimal currency at Stripe (docs: "Supported currencies", zero-decimal
//! currencies): `amount: 400` means ¥400, so API amounts are integer yen as they stand. The
//! CSV reports instead give *major units* as decimal strings ("400.00" or "400"), which are
//! converted to integer yen exactly (no floats) and must have no fractional yen. Anything not
//! in `jpy` is refused: kencho only bills in yen.
//!
//! # Mapping Stripe objects to one kencho payment
//! A kencho payment attempt is one Checkout Session; its id (`cs_…`) is the
//! [`ProviderEvent::payment_ref`]. Checkout events carry the session id directly. Charge and
//! refund objects do not: they carry the PaymentIntent id (`pi_…`), which Stripe creates only
//! when the resident confirms the session (API 2022-08-01 "deferred PaymentIntent creation").
//! The rule kencho follows:
//!
//! 1. When a `checkout.session.completed` (or `async_payment_*`) event arrives, kencho stores
//!    the pair (session id, `payment_intent`) from [`StripeEvent::refs`].
//! 2. A charge or refund event is resolved through that pair
//!    ([`StripeEvent::resolve`] with a lookup by [`StripeRef::payment_intent`]). As a second
//!    key, kencho's own payment id travels in the session's `metadata[payment_id]` and in
//!    `payment_intent_data[metadata][payment_id]` (so the PaymentIntent carries it), and its
//!    refund id in the refund's `metadata[kencho_refund_id]`; these are in [`StripeRef`] too.
//! 3. An event that cannot be resolved yet (its session event has not arrived) is kept and
//!    retried; Stripe also retries webhooks that were not acknowledged.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::event::{EventKind, ProviderEvent};

mod charge;
mod report;
mod signature;

pub use charge::*;
pub use report::*;
pub use signature::*;

/// `POST` target for [`checkout_session_form`].
pub const CHECKOUT_SESSIONS_URL: &str = "https://api.stripe.com/v1/checkout/sessions";
/// `POST` target for [`refund_form`].
pub const REFUNDS_URL: &str = "https://api.stripe.com/v1/refunds";
/// The webhook header [`verify_signature`] reads.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";
/// The request header carrying [`idempotency_key`] / [`refund_idempotency_key`].
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Stripe's libraries accept a signed timestamp up to five minutes away.
pub const DEFAULT_TOLERANCE_S: i64 = 300;
/// `expires_at` must be at least 30 minutes after creation …
pub const EXPIRES_MIN_S: i64 = 30 * 60;
/// … and at most 24 hours.
pub const EXPIRES_MAX_S: i64 = 24 * 60 * 60;
/// Payment method types kencho may ask Checkout for (Japanese residents: cards, コンビニ払い,
/// PayPay). Each must also be enabled on the Stripe account.
pub const PAYMENT_METHOD_TYPES: &[&str] = &["card", "konbini", "paypay"];

/// Stripe's metadata values are at most 500 characters.
const METADATA_VALUE_MAX: usize = 500;
/// `client_reference_id` is at most 200 characters.
const CLIENT_REFERENCE_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    #[error("invalid Stripe request: {0}")]
    Request(String),
    #[error("the webhook signing secret is empty")]
    Secret,
    #[error("malformed Stripe-Signature header: {0}")]
    Header(String),
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("no v1 signature matches the payload")]
    SignatureMismatch,
    #[error("signature timestamp {t} is more than {tolerance_s} s away from now ({now})")]
    Timestamp { t: i64, now: i64, tolerance_s: i64 },
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("field `{0}` is missing or has the wrong type")]
    Field(String),
    #[error("currency {0:?} is not jpy")]
    Currency(String),
    #[error("Stripe API error ({kind}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Api { kind: String, code: Option<String>, message: String },
    #[error("report line {line}: {message}")]
    Report { line: usize, message: String },
}

// ─── Checkout Sessions ─────────────────────────────────────────────────────────────────────

/// One payment attempt to open as a Stripe-hosted Checkout page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// kencho's payment id (goes to `metadata[payment_id]`).
    pub payment_id: i64,
    /// What the resident pays for, shown on the page (`product_data[name]`).
    pub product_name: String,
    /// Yen per unit.
    pub unit_amount: i64,
    pub quantity: u32,
    pub success_url: String,
    pub cancel_url: String,
    /// Shown in the Dashboard and returned on the session (the application's number).
    pub client_reference_id: String,
    /// Unix seconds; 30 min – 24 h after `now_unix`. Fix it per attempt: a retry of the same
    /// attempt must send the same body (see [`idempotency_key`]).
    pub expires_at: i64,
    /// The caller's clock, to check `expires_at`.
    pub now_unix: i64,
    /// Configured methods, from [`PAYMENT_METHOD_TYPES`]; empty: let Stripe choose from the
    /// methods enabled in the Dashboard.
    pub payment_method_types: Vec<String>,
}

/// The `application/x-www-form-urlencoded` parameters for
/// `POST /v1/checkout/sessions` (API reference: "Create a Checkout Session"), one line item
/// with inline `price_data` in `jpy`. Arrays use Stripe's indexed form (`line_items[0][…]`,
/// `payment_method_types[0]`). Encode with [`form_encode`].
///
/// Checks what Stripe would refuse later: `expires_at` must be 30 minutes to 24 hours ahead
/// (guide: "Manage limited inventory" / `expires_at` parameter), the amount positive, the URLs
/// absolute, the payment method types known and not repeated.
pub fn checkout_session_form(req: &CheckoutRequest) -> Result<Vec<(String, String)>, StripeError> {
    let bad = |m: String| Err(StripeError::Request(m));
    if req.unit_amount <= 0 {
        return bad(format!("unit_amount must be positive, not {}", req.unit_amount));
    }
    if req.quantity == 0 {
        return bad("quantity must be at least 1".into());
    }
    if req.unit_amount.checked_mul(i64::from(req.quantity)).is_none() {
        return bad("amount overflows".into());
    }
    if req.product_name.trim().is_empty() {
        return bad("product name is empty".into());
    }
    for (name, url) in [("success_url", &req.success_url), ("cancel_url", &req.cancel_url)] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return bad(format!("{name} must be an absolute http(s) URL"));
        }
    }
    if req.client_reference_id.chars().count() > CLIENT_REFERENCE_MAX {
        return bad(format!("client_reference_id is longer than {CLIENT_REFERENCE_MAX} characters"));
    }
    let ahead = i128::from(req.expires_at) - i128::from(req.now_unix);
    if ahead < i128::from(EXPIRES_MIN_S) || ahead > i128::from(EXPIRES_MAX_S) {
        return bad(format!("expires_at must be 30 minutes to 24 hours ahead; it is {ahead} s ahead"));
    }
    for (i, t) in req.payment_method_types.iter().enumerate() {
        if !PAYMENT_METHOD_TYPES.contains(&t.as_str()) {
            return bad(format!("unknown payment method type {t:?} (known: {})", PAYMENT_METHOD_TYPES.join(", ")));
        }
        if req.payment_method_types[..i].contains(t) {
            return bad(format!("payment method type {t:?} given twice"));
        }
    }
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| f.push((k.to_string(), v));
    put("mode", "payment".into());
    put("line_items[0][price_data][currency]", "jpy".into());
    put("line_items[0][price_data][unit_amount]", req.unit_amount.to_string());
    put("line_items[0][price_data][product_data][name]", truncate(&req.product_name, METADATA_VALUE_MAX));
    put("line_items[0][quantity]", req.quantity.to_string());
    put("success_url", req.success_url.clone());
    put("cancel_url", req.cancel_url.clone());
    put("client_reference_id", req.client_reference_id.clone());
    put("metadata[payment_id]", req.payment_id.to_string());
    // So the PaymentIntent (and the charges and refunds hanging off it) name the payment too.
    put("payment_intent_data[metadata][payment_id]", req.payment_id.to_string());
    put("expires_at", req.expires_at.to_string());
    for (i, t) in req.payment_method_types.iter().enumerate() {
        put(&format!("payment_method_types[{i}]"), t.clone());
    }
    Ok(f)
}

/// The `Idempotency-Key` header for creating the Checkout Session of one attempt (API
/// reference: "Idempotent requests"). Stable for the attempt, so a retry after a timeout
/// returns the session already created instead of opening a second one; a new attempt (the
/// resident tries again) gets a new key. Stripe keeps keys for at least 24 hours and rejects
/// a reused key with different parameters, hence the fixed `expires_at` per attempt.
pub fn idempotency_key(payment_id: i64, attempt: u32) -> String {
    format!("kencho-checkout-{payment_id}-{attempt}")
}

/// A Checkout Session as Stripe returns it (API reference: "The Checkout Session object").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    /// The hosted page to send the resident to (null once the session is complete/expired).
    pub url: Option<String>,
    pub expires_at: i64,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    /// `open`, `complete` or `expired`.
    pub status: Option<String>,
    /// Null until the resident confirms (API 2022-08-01 and later).
    pub payment_intent: Option<String>,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
}

/// Reads the response of "Create a Checkout Session" (or "Retrieve"). A Stripe error body
/// (`{"error": {…}}`) becomes [`StripeError::Api`].
pub fn parse_checkout_session(body: &[u8]) -> Result<CheckoutSession, StripeError> {
    let v = parse_json(body)?;
    let s = CheckoutSession {
        id: req_str(&v, "id")?,
        url: opt_str(&v, "url")?,
        expires_at: req_i64(&v, "expires_at")?,
        payment_status: req_str(&v, "payment_status")?,
        status: opt_str(&v, "status")?,
        payment_intent: opt_id(&v, "payment_intent")?,
        amount_total: opt_i64(&v, "amount_total")?,
        currency: opt_str(&v, "currency")?,
    };
    if let Some(c) = &s.currency {
        jpy(c)?;
    }
    Ok(s)
}

// ─── Refunds ───────────────────────────────────────────────────────────────────────────────

/// The form parameters for `POST /v1/refunds` (API reference: "Create a refund"): refund
/// `amount` yen of the PaymentIntent, tagged with kencho's refund id and the staff's note
/// (cut to Stripe's 500-character metadata limit). Send with [`refund_idempotency_key`].
/// The caller checks the amount against the ledger's `balance()` first.
pub fn refund_form(payment_intent: &str, amount: i64, reason_note: &str, refund_id: i64) -> Vec<(String, String)> {
    vec![
        ("payment_intent".into(), payment_intent.into()),
        ("amount".into(), amount.to_string()),
        ("metadata[kencho_refund_id]".into(), refund_id.to_string()),
        ("metadata[note]".into(), truncate(reason_note, METADATA_VALUE_MAX)),
    ]
}

/// The `Idempotency-Key` for creating kencho refund `refund_id`: a retry never refunds twice.
pub fn refund_idempotency_key(refund_id: i64) -> String {
    format!("kencho-refund-{refund_id}")
}

/// A refund as Stripe returns it (API reference: "The Refund object").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    pub payment_intent: Option<String>,
}

/// Reads the response of "Create a refund" (or "Retrieve a refund").
pub fn parse_refund(body: &[u8]) -> Result<Refund, StripeError> {
    let v = parse_json(body)?;
    refund_of(&v)
}

fn refund_of(v: &Value) -> Result<Refund, StripeError> {
    if let Some(c) = opt_str(v, "currency")? {
        jpy(&c)?;
    }
    Ok(Refund {
        id: req_str(v, "id")?,
        amount: req_i64(v, "amount")?,
        status: opt_str(v, "status")?.unwrap_or_default(),
        payment_intent: opt_id(v, "payment_intent")?,
    })
}

// ─── Webhook events ────────────────────────────────────────────────────────────────────────

/// Which Stripe objects an event is about, to find the kencho payment (see the module text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeRef {
    /// The Checkout Session id, when the event is about a session.
    pub session: Option<String>,
    pub payment_intent: Option<String>,
    /// kencho's payment id from `metadata[payment_id]`, where Stripe carries it.
    pub payment_id: Option<i64>,
    /// kencho's refund id from a refund's `metadata[kencho_refund_id]`.
    pub refund_id: Option<i64>,
}

/// One ledger event read from a webhook, before its payment is resolved to a session id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeEvent {
    /// Stripe's event id, or `{evt_id}:{re_id}` for one refund of a `charge.refunded`.
    pub event_id: String,
    /// The Stripe event type it came from.
    pub event_type: String,
    /// The event's `created`.
    pub at_unix: i64,
    pub refs: StripeRef,
    pub kind: EventKind,
}

impl StripeEvent {
    /// The ledger event for the payment with Checkout Session id `session_id`.
    pub fn to_provider_event(&self, session_id: &str) -> ProviderEvent {
        ProviderEvent {
            event_id: self.event_id.clone(),
            at_unix: self.at_unix,
            payment_ref: session_id.to_string(),
            kind: self.kind.clone(),
        }
    }

    /// The ledger event, with the session id from the event itself or, for charges and
    /// refunds, from `lookup` (kencho's stored session ↔ payment_intent pairs). `None`: not
    /// resolvable yet.
    pub fn resolve(&self, lookup: impl FnOnce(&StripeRef) -> Option<String>) -> Option<ProviderEvent> {
        let session = match &self.refs.session {
            Some(s) => s.clone(),
            None => lookup(&self.refs)?,
        };
        Some(self.to_provider_event(&session))
    }
}

/// Reads a (verified) webhook body (API reference: "The Event object"; guide: "Fulfill
/// orders" for the Checkout events; "Refund a charge" for refunds) into ledger events. One
/// webhook may yield several (`charge.refunded` names each refund); an event type kencho does
/// not use yields none and should still be acknowledged with 2xx.
///
/// | Stripe event | ledger event |
/// |---|---|
/// | `checkout.session.completed`, `payment_status` `paid` | `Paid { amount_total }` |
/// | `checkout.session.completed`, `unpaid` (konbini voucher issued) | `Pending` |
/// | `checkout.session.async_payment_succeeded` | `Paid { amount_total }` |
/// | `checkout.session.async_payment_failed` | `Failed` |
/// | `checkout.session.expired` | `Expired` |
/// | `charge.refunded` | one `Refunded` per succeeded refund in `refunds.data` |
/// | `refund.created`, `refund.updated` with status `succeeded` | `Refunded` |
///
/// Since API 2022-11-15 a charge no longer includes `refunds` unless expanded; then
/// `charge.refunded` yields nothing and the `refund.*` events (subscribe to them) carry the
/// refunds. The same refund reported by both counts once: the ledger keys refunds by `re_…`.
pub fn parse_event(payload: &[u8]) -> Result<Vec<StripeEvent>, StripeError> {
    let v = parse_json(payload)?;
    let event_id = req_str(&v, "id")?;
    let event_type = req_str(&v, "type")?;
    let at_unix = req_i64(&v, "created")?;
    let obj = v.get("data").and_then(|d| d.get("object")).filter(|o| o.is_object());
    let Some(obj) = obj else { return Err(StripeError::Field("data.object".into())) };
    let one = |refs: StripeRef, kind: EventKind| {
        vec![StripeEvent { event_id: event_id.clone(), event_type: event_type.clone(), at_unix, refs, kind }]
    };
    let session_refs = || -> Result<StripeRef, StripeError> {
        Ok(StripeRef {
            session: Some(req_str(obj, "id")?),
            payment_intent: opt_id(obj, "payment_intent")?,
            payment_id: metadata_i64(obj, "payment_id"),
            refund_id: None,
        })
    };
    let paid = || -> Result<EventKind, StripeError> {
        let currency = opt_str(obj, "currency")?.unwrap_or_default();
        jpy(&currency)?;
        Ok(EventKind::Paid { amount: req_i64(obj, "amount_total")? })
    };
    Ok(match event_type.as_str() {
        "checkout.session.completed" => match req_str(obj, "payment_status")?.as_str() {
            "paid" => one(session_refs()?, paid()?),
            "unpaid" => one(session_refs()?, EventKind::Pending),
            // `no_payment_required`: nothing to collect; kencho never opens such sessions.
            _ => Vec::new(),
        },
        "checkout.session.async_payment_succeeded" => one(session_refs()?, paid()?),
        "checkout.session.async_payment_failed" => one(
            session_refs()?,
            EventKind::Failed { reason: "the delayed payment (e.g. konbini) was not completed".into() },
        ),
        "checkout.session.expired" => one(session_refs()?, EventKind::Expired),
        "charge.refunded" => {
            if let Some(c) = opt_str(obj, "currency")? {
                jpy(&c)?;
            }
            let charge_refs = StripeRef {
                session: None,
                payment_intent: opt_id(obj, "payment_intent")?,
                payment_id: metadata_i64(obj, "payment_id"),
                refund_id: None,
            };
            let list = obj.get("refunds").and_then(|r| r.get("data")).and_then(Value::as_array);
            let mut out = Vec::new();
            for r in list.into_iter().flatten() {
                let refund = refund_of(r)?;
                if refund.status != "succeeded" {
                    continue;
                }
                let refs = StripeRef {
                    payment_intent: refund.payment_intent.clone().or_else(|| charge_refs.payment_intent.clone()),
                    refund_id: metadata_i64(r, "kencho_refund_id"),
                    ..charge_refs.clone()
                };
                out.push(StripeEvent {
                    event_id: format!("{event_id}:{}", refund.id),
                    event_type: event_type.clone(),
                    at_unix,
                    refs,
                    kind: EventKind::Refunded { refund_ref: refund.id, amount: refund.amount },
                });
            }
            out
        }
        "refund.created" | "refund.updated" => {
            let refund = refund_of(obj)?;
            if refund.status != "succeeded" {
                return Ok(Vec::new());
            }
            let refs = StripeRef {
                session: None,
                payment_intent: refund.payment_intent.clone(),
                payment_id: metadata_i64(obj, "payment_id"),
                refund_id: metadata_i64(obj, "kencho_refund_id"),
            };
            one(refs, EventKind::Refunded { refund_ref: refund.id, amount: refund.amount })
        }
        _ => Vec::new(),
    })
}

// ─── Helpers ───────────────────────────────────────────────────────────────────────────────

/// `application/x-www-form-urlencoded` text of form parameters (bytes other than
/// `A–Z a–z 0–9 - . _ ~` percent-encoded, space as `+`), for the request body.
pub fn form_encode(params: &[(String, String)]) -> String {
    fn enc(out: &mut String, s: &str) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(&mut out, k);
        out.push('=');
        enc(&mut out, v);
    }
    out
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn jpy(currency: &str) -> Result<(), StripeError> {
    if currency.eq_ignore_ascii_case("jpy") {
        Ok(())
    } else {
        Err(StripeError::Currency(truncate(currency, 16)))
    }
}

fn parse_json(body: &[u8]) -> Result<Value, StripeError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| StripeError::Json(e.to_string()))?;
    if !v.is_object() {
        return Err(StripeError::Json("not a JSON object".into()));
    }
    if let Some(e) = v.get("error").filter(|e| e.is_object()) {
        let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        return Err(StripeError::Api {
            kind: s("type").unwrap_or_else(|| "unknown".into()),
            code: s("code"),
            message: s("message").unwrap_or_default(),
        });
    }
    Ok(v)
}

fn req_str(v: &Value, k: &str) -> Result<String, StripeError> {
    v.get(k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| StripeError::Field(k.into()))
}

fn opt_str(v: &Value, k: &str) -> Result<Option<String>, StripeError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(StripeError::Field(k.into())),
    }
}

fn req_i64(v: &Value, k: &str) -> Result<i64, StripeError> {
    v.get(k).and_then(Value::as_i64).ok_or_else(|| StripeError::Field(k.into()))
}

fn opt_i64(v: &Value, k: &str) -> Result<Option<i64>, StripeError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_i64().map(Some).ok_or_else(|| StripeError::Field(k.into())),
    }
}

/// An id field that may be expanded into its object (`"pi_…"` or `{"id": "pi_…", …}`).
fn opt_id(v: &Value, k: &str) -> Result<Option<String>, StripeError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(o @ Value::Object(_)) => req_str(o, "id").map(Some).map_err(|_| StripeError::Field(format!("{k}.id"))),
        Some(_) => Err(StripeError::Field(k.into())),
    }
}

/// Stripe metadata values are strings.
fn metadata_i64(v: &Value, k: &str) -> Option<i64> {
    v.get("metadata")?.get(k)?.as_str()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::payment::ledger::{Applied, Ledger};

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../tests/fixtures/stripe/", $name))
        };
    }

    const SECRET: &str = "whsec_kencho_test_secret";
    const SESSION: &str = "cs_test_a1kencho0000000000000000000000000000000000000000001";
    const PI: &str = "pi_3KenchoPaymentIntent0001";

    fn request() -> CheckoutRequest {
        CheckoutRequest {
            payment_id: 42,
            product_name: "住民票の写し".into(),
            unit_amount: 400,
            quantity: 3,
            success_url: "https://kencho.example.jp/pay/42/done?session_id={CHECKOUT_SESSION_ID}".into(),
            cancel_url: "https://kencho.example.jp/pay/42/cancel".into(),
            client_reference_id: "APP-2025-000123".into(),
            expires_at: 1_750_003_600,
            now_unix: 1_750_000_000,
            payment_method_types: vec!["card".into(), "konbini".into(), "paypay".into()],
        }
    }

    fn one(payload: &[u8]) -> StripeEvent {
        let mut v = parse_event(payload).expect("parses");
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    #[test]
    fn checkout_form_has_every_parameter() {
        let f = checkout_session_form(&request()).expect("valid");
        let m: HashMap<&str, &str> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(m["mode"], "payment");
        assert_eq!(m["line_items[0][price_data][currency]"], "jpy");
        assert_eq!(m["line_items[0][price_data][unit_amount]"], "400");
        assert_eq!(m["line_items[0][price_data][product_data][name]"], "住民票の写し");
        assert_eq!(m["line_items[0][quantity]"], "3");
        assert_eq!(m["client_reference_id"], "APP-2025-000123");
        assert_eq!(m["metadata[payment_id]"], "42");
        assert_eq!(m["payment_intent_data[metadata][payment_id]"], "42");
        assert_eq!(m["expires_at"], "1750003600");
        assert_eq!(m["payment_method_types[0]"], "card");
        assert_eq!(m["payment_method_types[2]"], "paypay");
        let body = form_encode(&f);
        assert!(body.starts_with("mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=jpy&"));
        assert!(body.contains(
            "success_url=https%3A%2F%2Fkencho.example.jp%2Fpay%2F42%2Fdone%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D"
        ));
        // No types configured: none sent, Stripe uses the Dashboard's.
        let f = checkout_session_form(&CheckoutRequest { payment_method_types: vec![], ..request() }).expect("valid");
        assert!(!f.iter().any(|(k, _)| k.starts_with("payment_method_types")));
    }

    #[test]
    fn checkout_form_refuses_what_stripe_would() {
        let now = 1_750_000_000;
        for (ahead, ok) in
            [(29 * 60 + 59, false), (30 * 60, true), (24 * 3600, true), (24 * 3600 + 1, false), (-5, false)]
        {
            let r = checkout_session_form(&CheckoutRequest { expires_at: now + ahead, now_unix: now, ..request() });
            assert_eq!(r.is_ok(), ok, "{ahead}: {r:?}");
        }
        let bad = [
            CheckoutRequest { unit_amount: 0, ..request() },
            CheckoutRequest { quantity: 0, ..request() },
            CheckoutRequest { product_name: " ".into(), ..request() },
            CheckoutRequest { success_url: "/relative".into(), ..request() },
            CheckoutRequest { payment_method_types: vec!["alipay".into()], ..request() },
            CheckoutRequest { payment_method_types: vec!["card".into(), "card".into()], ..request() },
            CheckoutRequest { expires_at: i64::MAX, now_unix: i64::MIN, ..request() },
        ];
        for r in bad {
            assert!(matches!(checkout_session_form(&r), Err(StripeError::Request(_))), "{r:?}");
        }
    }

    #[test]
    fn idempotency_keys_are_stable_per_attempt() {
        assert_eq!(idempotency_key(42, 1), idempotency_key(42, 1));
        assert_ne!(idempotency_key(42, 1), idempotency_key(42, 2));
        assert_ne!(idempotency_key(4, 21), idempotency_key(42, 1));
        assert_eq!(refund_idempotency_key(8), "kencho-refund-8");
    }

    #[test]
    fn reads_the_created_session() {
        let s = parse_checkout_session(fixture!("checkout_session_create_response.json")).expect("parses");
        assert_eq!(s.id, SESSION);
        assert!(s.url.as_deref().is_some_and(|u| u.starts_with("https://checkout.stripe.com/")));
        assert_eq!(
            (s.expires_at, s.payment_status.as_str(), s.status.as_deref()),
            (1_750_003_600, "unpaid", Some("open"))
        );
        assert_eq!((s.payment_intent, s.amount_total, s.currency.as_deref()), (None, Some(1200), Some("jpy")));
        let err = br#"{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","message":"Invalid integer: x","param":"expires_at"}}"#;
        let e = parse_checkout_session(err).expect_err("an error body");
        assert!(
            matches!(&e, StripeError::Api { kind, code: Some(c), .. } if kind == "invalid_request_error" && c == "parameter_invalid_integer")
        );
        assert!(e.to_string().contains("Invalid integer"));
        assert!(matches!(parse_checkout_session(b"[]"), Err(StripeError::Json(_))));
        assert!(matches!(parse_checkout_session(br#"{"id":"cs_1"}"#), Err(StripeError::Field(_))));
    }

    #[test]
    fn refund_form_and_response() {
        let f = refund_form(PI, 300, &"あ".repeat(600), 7);
        assert_eq!(f[0], ("payment_intent".into(), PI.into()));
        assert_eq!(f[1], ("amount".into(), "300".into()));
        assert_eq!(f[2], ("metadata[kencho_refund_id]".into(), "7".into()));
        assert_eq!(f[3].1.chars().count(), 500);
        let r = parse_refund(fixture!("refund_create_response.json")).expect("parses");
        assert_eq!(
            r,
            Refund {
                id: "re_3KenchoRefund0000000001".into(),
                amount: 300,
                status: "succeeded".into(),
                payment_intent: Some(PI.into())
            }
        );
        assert!(matches!(parse_refund(br#"{"id":"re_1","amount":3,"currency":"usd"}"#), Err(StripeError::Currency(_))));
    }

    #[test]
    fn signatures() {
        let payload = fixture!("evt_checkout_session_completed_paid.json");
        let t = 1_750_000_900;
        let h = sign(payload, SECRET, t);
        assert!(h.starts_with("t=1750000900,v1="));
        assert_eq!(verify_signature(&h, payload, SECRET, t + 10, DEFAULT_TOLERANCE_S), Ok(()));
        // Clock skew both ways.
        assert_eq!(verify_signature(&h, payload, SECRET, t - 300, 300), Ok(()));
        assert!(matches!(verify_signature(&h, payload, SECRET, t + 301, 300), Err(StripeError::Timestamp { .. })));
        assert!(matches!(verify_signature(&h, payload, SECRET, t - 301, 300), Err(StripeError::Timestamp { .. })));
        // One changed byte.
        let mut changed = payload.to_vec();
        changed[40] ^= 1;
        assert_eq!(verify_signature(&h, &changed, SECRET, t, 300), Err(StripeError::SignatureMismatch));
        assert_eq!(verify_signature(&h, payload, "whsec_other", t, 300), Err(StripeError::SignatureMismatch));
        // A replayed header with a newer t does not verify.
        let replay = h.replacen("t=1750000900", "t=1750000999", 1);
        assert_eq!(verify_signature(&replay, payload, SECRET, 1_750_000_999, 300), Err(StripeError::SignatureMismatch));
        // Several v1 (secret being rolled), the second matches; v0 and unknown schemes ignored.
        let good = h.split_once(",v1=").expect("v1").1;
        let multi = format!("t={t},v1={},v1={good},v0={}", "0".repeat(64), "ab".repeat(32));
        assert_eq!(verify_signature(&multi, payload, SECRET, t, 300), Ok(()));
        let spaced = format!("t={t}, v1={good}, scheme2=x");
        assert_eq!(verify_signature(&spaced, payload, SECRET, t, 300), Ok(()));
        // Garbage.
        for g in [
            "".to_string(),
            "   ".into(),
            "garbage".into(),
            format!("v1={good}"),
            format!("t=abc,v1={good}"),
            format!("t=-5,v1={good}"),
            format!("t={t},t={t},v1={good}"),
            format!("t={t},v1=xyz"),
            format!("t={t},v1={}", &good[..63]),
            "t=99999999999999999999999,v1=00".into(),
        ] {
            assert!(matches!(verify_signature(&g, payload, SECRET, t, 300), Err(StripeError::Header(_))), "{g:?}");
        }
        assert_eq!(
            verify_signature(&format!("t={t},v0={good}"), payload, SECRET, t, 300),
            Err(StripeError::NoSignature)
        );
        assert_eq!(verify_signature(&h, payload, "", t, 300), Err(StripeError::Secret));
    }

    #[test]
    fn checkout_events() {
        let e = one(fixture!("evt_checkout_session_completed_paid.json"));
        assert_eq!((e.event_id.as_str(), e.at_unix), ("evt_1KenchoCompleted0000001", 1_750_000_900));
        assert_eq!(e.kind, EventKind::Paid { amount: 1200 });
        assert_eq!(
            e.refs,
            StripeRef {
                session: Some(SESSION.into()),
                payment_intent: Some(PI.into()),
                payment_id: Some(42),
                refund_id: None
            }
        );
        let p = e.resolve(|_| unreachable!("a session event names its session")).expect("resolved");
        assert_eq!(p.payment_ref, SESSION);

        let e = one(fixture!("evt_checkout_session_completed_unpaid.json"));
        assert_eq!(e.kind, EventKind::Pending);
        let e = one(fixture!("evt_checkout_session_async_payment_succeeded.json"));
        assert_eq!((e.kind, e.refs.payment_id), (EventKind::Paid { amount: 300 }, Some(43)));
        let e = one(fixture!("evt_checkout_session_async_payment_failed.json"));
        assert!(matches!(e.kind, EventKind::Failed { .. }));
        assert_eq!(e.refs.payment_intent.as_deref(), Some("pi_3KenchoPaymentIntent0003"), "an expanded payment_intent");
        let e = one(fixture!("evt_checkout_session_expired.json"));
        assert_eq!((e.kind, e.refs.payment_intent), (EventKind::Expired, None));
        assert_eq!(parse_event(fixture!("evt_unknown.json")), Ok(vec![]));
    }

    #[test]
    fn refund_events() {
        let v = parse_event(fixture!("evt_charge_refunded.json")).expect("parses");
        let got: Vec<_> = v.iter().map(|e| (e.event_id.as_str(), &e.kind, e.refs.refund_id)).collect();
        assert_eq!(
            got,
            vec![
                (
                    "evt_3KenchoChargeRefunded01:re_3KenchoRefund0000000002",
                    &EventKind::Refunded { refund_ref: "re_3KenchoRefund0000000002".into(), amount: 400 },
                    Some(8)
                ),
                (
                    "evt_3KenchoChargeRefunded01:re_3KenchoRefund0000000001",
                    &EventKind::Refunded { refund_ref: "re_3KenchoRefund0000000001".into(), amount: 300 },
                    Some(7)
                ),
            ]
        );
        assert!(v.iter().all(|e| e.refs.session.is_none() && e.refs.payment_intent.as_deref() == Some(PI)));
        assert!(v[0].resolve(|_| None).is_none(), "unresolvable until the session is known");

        let e = one(fixture!("evt_refund_updated.json"));
        assert_eq!(e.kind, EventKind::Refunded { refund_ref: "re_3KenchoRefund0000000002".into(), amount: 400 });
        assert_eq!((e.refs.payment_intent.as_deref(), e.refs.refund_id), (Some(PI), Some(8)));

        // A pending refund is not money back yet; a charge without `refunds` (API 2022-11-15+)
        // yields nothing.
        let pending =
            String::from_utf8_lossy(fixture!("evt_refund_updated.json")).replace("\"succeeded\"", "\"pending\"");
        assert_eq!(parse_event(pending.as_bytes()), Ok(vec![]));
        let bare = br#"{"id":"evt_1","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","object":"charge","currency":"jpy","payment_intent":"pi_1","amount_refunded":100}}}"#;
        assert_eq!(parse_event(bare), Ok(vec![]));
    }

    #[test]
    fn malformed_events_are_errors() {
        assert!(matches!(parse_event(b"not json"), Err(StripeError::Json(_))));
        assert!(matches!(parse_event(br#"{"id":"evt_1","type":"x","created":1}"#), Err(StripeError::Field(_))));
        let usd = br#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1","payment_status":"paid","amount_total":100,"currency":"usd"}}}"#;
        assert_eq!(parse_event(usd), Err(StripeError::Currency("usd".into())));
        let no_amount = br#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1","payment_status":"paid","currency":"jpy"}}}"#;
        assert_eq!(parse_event(no_amount), Err(StripeError::Field("amount_total".into())));
    }

    /// A webhook history as Stripe delivers it: the payment, the same webhook again, the
    /// refunds (as one `charge.refunded`, delivered twice, and one `refund.updated`).
    #[test]
    fn end_to_end_into_the_ledger() {
        let t = 1_750_300_000;
        let deliveries: [&[u8]; 5] = [
            fixture!("evt_checkout_session_completed_paid.json"),
            fixture!("evt_checkout_session_completed_paid.json"),
            fixture!("evt_charge_refunded.json"),
            fixture!("evt_charge_refunded.json"),
            fixture!("evt_refund_updated.json"),
        ];
        let mut intents: HashMap<String, String> = HashMap::new();
        let mut ledger = Ledger::new(1200);
        let mut changed = 0;
        for body in deliveries {
            let header = sign(body, SECRET, t);
            verify_signature(&header, body, SECRET, t + 2, DEFAULT_TOLERANCE_S).expect("verifies");
            for e in parse_event(body).expect("parses") {
                if let (Some(s), Some(pi)) = (&e.refs.session, &e.refs.payment_intent) {
                    intents.insert(pi.clone(), s.clone());
                }
                let p = e
                    .resolve(|r| r.payment_intent.as_ref().and_then(|pi| intents.get(pi)).cloned())
                    .expect("the session is known by now");
                assert_eq!(p.payment_ref, SESSION);
                if ledger.apply(&p) == Applied::Changed {
                    changed += 1;
                }
            }
        }
        assert_eq!(changed, 3, "one payment, two refunds");
        assert_eq!((ledger.paid(), ledger.counted_refunds(), ledger.balance()), (1200, 700, 500));
    }

    #[test]
    fn balance_report() {
        let text = String::from_utf8_lossy(fixture!("balance_report_itemized.csv"));
        let lines = parse_balance_report(&text).expect("parses");
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            SettlementLine {
                line: 2,
                balance_transaction_id: "txn_3KenchoCharge000000001".into(),
                provider_ref: PI.into(),
                charge_id: Some("ch_3KenchoCharge000000001".into()),
                category: "charge".into(),
                gross: 1200,
                fee: 43,
                net: 1157,
                created: "2025-06-15 15:21:30".into(),
                payout_id: Some("po_1KenchoPayout0000001".into()),
            }
        );
        assert_eq!((lines[1].gross, lines[1].fee, lines[1].net), (300, 11, 289));
        assert_eq!((lines[2].category.as_str(), lines[2].gross, lines[2].net), ("refund", -300, -300));
        assert_eq!((lines[3].line, lines[3].payout_id.as_deref()), (5, None));
        let refunded: i64 =
            lines.iter().filter(|l| l.provider_ref == PI && l.category == "refund").map(|l| -l.gross).sum();
        assert_eq!(refunded, 700);

        // Order-independent, BOM tolerated, `created` instead of `created_utc`, fallback refs.
        let text = "\u{feff}net,fee,gross,reporting_category,currency,created,charge_id\n96,4,100,charge,JPY,2025-06-01,ch_1\n";
        let l = parse_balance_report(text).expect("parses");
        assert_eq!((l[0].gross, l[0].fee, l[0].net, l[0].provider_ref.as_str()), (100, 4, 96, "ch_1"));
        assert_eq!(l[0].charge_id.as_deref(), Some("ch_1"));
        assert_eq!(
            parse_balance_report("currency,gross,fee,net,reporting_category,created_utc,payment_intent_id\n"),
            Ok(vec![])
        );
    }

    #[test]
    fn balance_report_errors_name_the_line() {
        let head = "currency,gross,fee,net,reporting_category,created_utc,charge_id\n";
        let cases = [
            (format!("{head}jpy,1,0,1,charge,x,ch_1\njpy,100.50,0,100.50,charge,x,ch_2\n"), 3, "fraction"),
            (format!("{head}usd,1,0,1,charge,x,ch_1\n"), 2, "not jpy"),
            (format!("{head}jpy,1,0,1,charge,x,ch_1\njpy,1e3,0,1,charge,x,ch_2\n"), 3, "not an amount"),
            (format!("{head}jpy,,0,1,charge,x,ch_1\n"), 2, "gross"),
            (format!("{head}jpy,1,0,1,charge\n"), 2, ""),
            (format!("{head}jpy,99999999999999999999,0,1,charge,x,ch_1\n"), 2, "too large"),
            ("gross,fee,net\n1,2,3\n".to_string(), 1, "missing column currency"),
            (
                "currency,gross,fee,net,reporting_category,created_utc\n".to_string(),
                1,
                "missing column payment_intent_id or charge_id",
            ),
            (String::new(), 1, "no header"),
        ];
        for (text, line, needle) in cases {
            match parse_balance_report(&text) {
                Err(StripeError::Report { line: l, message }) => {
                    assert_eq!(l, line, "{text:?}: {message}");
                    assert!(message.contains(needle), "{message}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert_eq!(yen("-0400.000"), Ok(-400));
        assert!(yen("4.").is_err() && yen("-").is_err() && yen(".5").is_err() && yen("+4").is_err());
    }

    #[test]
    fn balance_report_of_100k_lines() {
        let mut text = String::from(
            "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,payment_intent_id\n",
        );
        for i in 0..100_000 {
            text.push_str(&format!(
                "txn_{i},2025-06-01 00:00:00,jpy,{}.00,11.00,{}.00,charge,pi_{i}\n",
                300 + i,
                289 + i
            ));
        }
        let start = std::time::Instant::now();
        let lines = parse_balance_report(&text).expect("parses");
        let took = start.elapsed();
        assert_eq!(lines.len(), 100_000);
        assert_eq!(lines[99_999].line, 100_001);
        assert_eq!(lines.iter().map(|l| l.gross - l.fee - l.net).sum::<i64>(), 0);
        assert!(took.as_secs() < 10, "took {took:?}");
    }

    proptest! {
        #[test]
        fn sign_then_verify(payload in prop::collection::vec(any::<u8>(), 0..512), secret in "[ -~]{1,40}", t in 0i64..4_000_000_000, skew in -300i64..=300) {
            let h = sign(&payload, &secret, t);
            prop_assert_eq!(verify_signature(&h, &payload, &secret, t + skew, 300), Ok(()));
        }

        #[test]
        fn verify_never_panics(header in ".{0,200}", payload in prop::collection::vec(any::<u8>(), 0..64), now in any::<i64>(), tol in any::<i64>()) {
            let _ = verify_signature(&header, &payload, SECRET, now, tol);
        }

        #[test]
        fn verify_never_panics_on_near_headers(t in "[-+0-9a]{0,22}", v in "[0-9a-fA-FxX]{0,70}", extra in "(,[a-z0-9]{0,3}=?[0-9a-f]{0,4}){0,3}") {
            let _ = verify_signature(&format!("t={t},v1={v}{extra}"), b"{}", SECRET, 0, 300);
        }

        #[test]
        fn parse_event_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_event(&bytes);
        }

        #[test]
        fn parse_event_never_panics_on_near_events(
            ty in prop::sample::select(vec!["checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed", "checkout.session.expired", "charge.refunded", "refund.updated", "refund.created", "x"]),
            status in prop::sample::select(vec!["\"paid\"", "\"unpaid\"", "\"succeeded\"", "null", "1", "{}", "[]"]),
            amount in prop::sample::select(vec!["1200", "-1", "1.5", "\"3\"", "null", "99999999999999999999"]),
            pi in prop::sample::select(vec!["\"pi_1\"", "{\"id\":\"pi_1\"}", "{}", "3", "null"]),
            refunds in prop::sample::select(vec!["null", "{}", "{\"data\":3}", "{\"data\":[{}]}", "{\"data\":[{\"id\":\"re_1\",\"amount\":5,\"status\":\"succeeded\"}]}"]),
        ) {
            let body = format!(r#"{{"id":"evt_1","type":"{ty}","created":1,"data":{{"object":{{"id":"x_1","payment_status":{status},"status":{status},"amount_total":{amount},"amount":{amount},"currency":"jpy","payment_intent":{pi},"refunds":{refunds},"metadata":{{"payment_id":"4"}}}}}}}}"#);
            let _ = parse_event(body.as_bytes());
        }

        #[test]
        fn parse_balance_report_never_panics(text in ".{0,400}") {
            let _ = parse_balance_report(&text);
            let _ = parse_balance_report(&format!("currency,gross,fee,net,reporting_category,created_utc\n{text}"));
        }

        #[test]
        fn yen_amounts_are_exact(n in -1_000_000_000_000i64..1_000_000_000_000, zeros in 0usize..4) {
            let frac = if zeros == 0 { String::new() } else { format!(".{}", "0".repeat(zeros)) };
            prop_assert_eq!(yen(&format!("{n}{frac}")), Ok(n));
            let cents = format!("{n}.01");
            prop_assert!(yen(&cents).is_err());
        }
    }
}
