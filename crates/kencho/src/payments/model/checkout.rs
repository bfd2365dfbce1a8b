//! The sandbox's checkouts and the webhooks kencho owes a provider-like caller: their records
//! and states.

use kencho_core::payment::method::PaymentMethod;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::parsed;
use crate::error::Result;

/// A checkout as the sandbox's own page shows it.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub r: String,
    pub tenant_id: i64,
    pub amount: i64,
    pub method: PaymentMethod,
    pub description: String,
    pub return_url: String,
    pub state: CheckoutState,
}

impl Checkout {
    pub(in crate::payments) fn from_row(row: &AnyRow) -> Result<Checkout> {
        Ok(Checkout {
            r: row.try_get("ref")?,
            tenant_id: row.try_get("tenant_id")?,
            amount: row.try_get("amount")?,
            method: parsed(row, "method", PaymentMethod::parse)?,
            description: row.try_get("description")?,
            return_url: row.try_get("return_url")?,
            state: parsed(row, "state", CheckoutState::parse)?,
        })
    }
}

/// A checkout to open at the sandbox.
pub(in crate::payments) struct NewCheckout {
    pub r: String,
    pub tenant_id: i64,
    pub amount: i64,
    pub method: PaymentMethod,
    pub description: String,
    pub return_url: String,
    pub idempotency_key: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Where a checkout stands at the sandbox (its own states, not the payment's ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutState {
    Open,
    /// The card asked for the extra authentication step.
    Authenticating,
    Paid,
    Expired,
}

impl CheckoutState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutState::Open => "open",
            CheckoutState::Authenticating => "authenticating",
            CheckoutState::Paid => "paid",
            CheckoutState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<CheckoutState> {
        use CheckoutState::*;
        [Open, Authenticating, Paid, Expired].into_iter().find(|x| x.as_str() == s)
    }
}

/// How the sandbox delivers the webhooks of one outcome, chosen on its page for testing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Normal,
    /// Every webhook twice.
    Duplicate,
    /// Held back for a few seconds (the resident is back first and sees "confirming").
    Late,
    /// The last event first.
    Reordered,
}

impl Delivery {
    pub fn parse(s: &str) -> Delivery {
        match s {
            "duplicate" => Delivery::Duplicate,
            "late" => Delivery::Late,
            "reorder" => Delivery::Reordered,
            _ => Delivery::Normal,
        }
    }
}

/// The outcome of the resident's action on the sandbox page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Declined,
    /// The card asks for the extra authentication step first.
    NeedsAuthentication,
}

/// A sandbox webhook due to be delivered, with its tenant's code and sealed secret.
pub(in crate::payments) struct DueWebhook {
    pub id: i64,
    pub body: String,
    pub attempts: i64,
    pub tenant_code: String,
    pub sealed_secret: String,
    pub tenant_id: i64,
}

impl DueWebhook {
    pub(in crate::payments) fn from_row(r: &AnyRow) -> Result<DueWebhook> {
        Ok(DueWebhook {
            id: r.try_get("id")?,
            body: r.try_get("body")?,
            attempts: r.try_get("attempts")?,
            tenant_code: r.try_get("tenant_code")?,
            sealed_secret: r.try_get("sandbox_secret")?,
            tenant_id: r.try_get("tenant_id")?,
        })
    }
}

/// A webhook to send: (row id, body, attempts so far, tenant code, tenant secret).
pub(in crate::payments) type Outgoing = (i64, String, i64, String, String);
