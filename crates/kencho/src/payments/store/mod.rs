//! Every SQL statement of payments, one file per area (named as the service file it serves).
//! A function here runs one statement (or one batch) and answers model types: the rules, the
//! audit entries and the mail are the service files'.

mod agents;
mod cash;
mod checkout;
mod due;
mod events;
mod fiscal;
mod receipts;
mod reconcile;
mod refunds;
mod sandbox;
mod schedule;
mod stripe;
mod summary;

pub use agents::*;
pub use cash::*;
pub use checkout::*;
pub use due::*;
pub use events::*;
pub use fiscal::*;
pub use receipts::*;
pub use reconcile::*;
pub use refunds::*;
pub use sandbox::*;
pub use schedule::*;
pub use stripe::*;
pub use summary::*;

/// The columns [`super::Payment::from_row`] reads.
const COLS: &str = "id, application_id, procedure_id, tenant_id, revenue_code, amount, units, exemption_percent, exemption_reason, \
    provider, method, provider_ref, state, paid_amount, refunded_amount, checkout_url, created_at, expires_at, paid_at, \
    exemption_evidence, deemed_paid_on, funds_arrived_on";
