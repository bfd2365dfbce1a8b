//! キャッシュレス決済 in storage: payments of application fees, moved only by verified provider
//! events through the ledger (`kencho_core::payment::ledger`), refunds, expiry, receipts by
//! mail, and the figures the accounting system and the CIO office read.
//!
//! A payment belongs to one application. Its row keeps the ledger (JSON) and, for queries, the
//! state and amounts; every provider event received is a `payment_events` row whose unique
//! (provider, event id) makes a duplicate webhook a no-op even when two arrive at once.
//!
//! The areas: `checkout` (the resident pays online, and checkouts expire), `due` (the office
//! sets the fee after review), `cash` (the counter), `events` (what a provider's event does),
//! `refunds`, `receipts`, `summary` (what an application owes), `agents` (指定納付受託者),
//! `schedule` (手数料条例 and 調定), `fiscal` and `reconcile` (reports and 消込), and the
//! providers `sandbox` and `stripe`. Their types are in `model`, their SQL in `store`.

pub mod agents;
mod cash;
mod checkout;
mod due;
mod events;
pub mod fiscal;
mod links;
mod model;
mod receipts;
pub mod reconcile;
mod refunds;
pub mod sandbox;
pub mod schedule;
mod store;
pub mod stripe;
mod summary;

pub use cash::record_cash;
pub use checkout::{chosen_method, expire_due, expiry_worker, methods, start, CHECKOUT_MINUTES};
pub use due::set_due;
pub use events::apply_event;
pub use links::{Addressee, ForApplication, Links, Payer, RefundDecision};
pub use model::{FeeChoice, Payment, Refund, Summary};
pub use receipts::{lock_paid, receipt_facts};
pub use refunds::{
    awaiting_review, on_kian_closed, on_kian_executed, refunds_of, request_refund, review_refund, send_refund,
};
pub use summary::{for_application, paid_by_ref, require_paid_before_submission, summary};
