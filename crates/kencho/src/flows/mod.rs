//! Use cases that span capabilities, kept here so the capabilities need not import each other.
//!
//! - [`Links`]: implements each capability's `Links` trait (what it needs of the others inside
//!   its own transaction: a fee paid before submission, the record a finished application
//!   becomes, an application's 起案 and its 施行, a refund's 起案).
//! - [`decision`]: a staff decision on an application with its signed notice.
//! - [`checkpoints`]: the audit log's signed checkpoints (audit + the tenant's signing key + mail).

pub mod checkpoints;
pub mod decision;
mod links;

pub use links::Links;
