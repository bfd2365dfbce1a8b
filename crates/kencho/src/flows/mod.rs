//! Use cases that span capabilities, kept here so the capabilities need not import each other.
//!
//! - [`checkpoints`]: the audit log's signed checkpoints (audit + the tenant's signing key + mail).

pub mod checkpoints;
