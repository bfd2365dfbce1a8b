//! キャッシュレス決済, pure: fee rules ([`fee`]), the provider-neutral event ([`event`]), the
//! payment ledger and its state machine ([`ledger`]), the 手数料条例 as data ([`schedule`]),
//! 会計年度 and 出納整理期間 ([`fiscal`]), the refund order and review ([`refund`]), who takes a payment
//! ([`provider`]), how it is paid ([`method`]) and provider formats (Stripe: [`stripe`]). No I/O;
//! times are passed in.

pub mod event;
pub mod fee;
pub mod fiscal;
pub mod ledger;
pub mod method;
pub mod provider;
pub mod refund;
pub mod schedule;
pub mod stripe;
