//! What a payment provider tells kencho, in one shape for every provider. Adapters (the
//! sandbox, Stripe) turn their verified webhooks into these; the ledger applies them.

use serde::{Deserialize, Serialize};

/// One verified signal from a provider about one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEvent {
    /// The provider's own id of this event; the same id twice is the same event (duplicates
    /// and retries change nothing).
    pub event_id: String,
    /// When the provider says it happened (Unix seconds); orders late and out-of-order events.
    pub at_unix: i64,
    /// The provider's id of the payment (a checkout session, a sandbox payment).
    pub payment_ref: String,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EventKind {
    /// The resident is paying (an extra authentication step, a wallet waiting for the scan).
    Pending,
    /// Money taken: the amount in integer yen.
    Paid { amount: i64 },
    /// The attempt failed (declined card, cancelled authentication).
    Failed { reason: String },
    /// The provider gave up waiting for the resident.
    Expired,
    /// Cancelled before payment.
    Cancelled,
    /// Money returned. `refund_ref` identifies the refund at the provider, so the same refund
    /// reported twice (or as a cumulative total) counts once.
    Refunded { refund_ref: String, amount: i64 },
}
