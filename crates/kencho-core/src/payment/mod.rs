//! キャッシュレス決済, pure: fee rules ([`fee`]), the provider-neutral event ([`event`]), the
//! payment ledger and its state machine ([`ledger`]) and provider formats (Stripe:
//! [`stripe`]). No I/O; times are passed in.

pub mod event;
pub mod fee;
pub mod ledger;
pub mod stripe;
