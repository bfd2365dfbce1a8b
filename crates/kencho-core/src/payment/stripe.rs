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
use super::method::PaymentMethod;

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
pub const PAYMENT_METHOD_TYPES: [PaymentMethod; 3] =
    [PaymentMethod::Card, PaymentMethod::Konbini, PaymentMethod::Paypay];

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
    /// A line of a settlement report (the header is line 1) and what is wrong there, worded by
    /// the server (`check.<code>`): it reaches the staff member who gave the file.
    #[error("report line {line}: {problem}")]
    Report { line: usize, problem: crate::check::Finding },
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
        if !PAYMENT_METHOD_TYPES.iter().any(|m| m.as_str() == t) {
            let known: Vec<&str> = PAYMENT_METHOD_TYPES.iter().map(|m| m.as_str()).collect();
            return bad(format!("unknown payment method type {t:?} (known: {})", known.join(", ")));
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
    let env =
        Envelope { event_id: req_str(&v, "id")?, event_type: req_str(&v, "type")?, at_unix: req_i64(&v, "created")? };
    let obj = v.get("data").and_then(|d| d.get("object")).filter(|o| o.is_object());
    let Some(obj) = obj else { return Err(StripeError::Field("data.object".into())) };
    match env.event_type.as_str() {
        t if t.starts_with("checkout.session.") => session_events(&env, obj),
        "charge.refunded" => charge_refunded_events(&env, obj),
        "refund.created" | "refund.updated" => refund_events(&env, obj),
        _ => Ok(Vec::new()),
    }
}

/// What every ledger event read from one Stripe event shares.
struct Envelope {
    event_id: String,
    event_type: String,
    at_unix: i64,
}

impl Envelope {
    fn one(&self, refs: StripeRef, kind: EventKind) -> Vec<StripeEvent> {
        vec![StripeEvent {
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            at_unix: self.at_unix,
            refs,
            kind,
        }]
    }
}

/// `checkout.session.*`: the session's outcome (other session events yield nothing).
fn session_events(env: &Envelope, obj: &Value) -> Result<Vec<StripeEvent>, StripeError> {
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
    Ok(match env.event_type.as_str() {
        "checkout.session.completed" => match req_str(obj, "payment_status")?.as_str() {
            "paid" => env.one(session_refs()?, paid()?),
            "unpaid" => env.one(session_refs()?, EventKind::Pending),
            // `no_payment_required`: nothing to collect; kencho never opens such sessions.
            _ => Vec::new(),
        },
        "checkout.session.async_payment_succeeded" => env.one(session_refs()?, paid()?),
        "checkout.session.async_payment_failed" => env.one(
            session_refs()?,
            EventKind::Failed { reason: "the delayed payment (e.g. konbini) was not completed".into() },
        ),
        "checkout.session.expired" => env.one(session_refs()?, EventKind::Expired),
        _ => Vec::new(),
    })
}

/// `charge.refunded`: one `Refunded` per succeeded refund the charge lists (none when the
/// charge's refunds were not expanded).
fn charge_refunded_events(env: &Envelope, obj: &Value) -> Result<Vec<StripeEvent>, StripeError> {
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
        // One Stripe event, several ledger events: each needs its own id.
        out.push(StripeEvent {
            event_id: format!("{}:{}", env.event_id, refund.id),
            event_type: env.event_type.clone(),
            at_unix: env.at_unix,
            refs,
            kind: EventKind::Refunded { refund_ref: refund.id, amount: refund.amount },
        });
    }
    Ok(out)
}

/// `refund.created` / `refund.updated`: the refund, once it has succeeded.
fn refund_events(env: &Envelope, obj: &Value) -> Result<Vec<StripeEvent>, StripeError> {
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
    Ok(env.one(refs, EventKind::Refunded { refund_ref: refund.id, amount: refund.amount }))
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
mod tests;
