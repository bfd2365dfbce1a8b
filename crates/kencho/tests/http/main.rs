//! kencho's integration tests: the real program on port 0, its own database (SQLite, or
//! PostgreSQL when KENCHO_TEST_DATABASE_URL is set), a real SMTP conversation with a sink the
//! test starts, and HTTP from the outside. One test binary for the crate.

#![allow(clippy::unwrap_used)] // a test may stop at the first surprise

mod harness;

mod admin_pages;
mod applications;
mod approval;
mod approval_rules;
mod audit_and_mail;
mod audit_hold;
mod cli;
mod documents;
mod encryption;
mod evacuation;
mod evacuation_data;
mod evacuation_rules;
mod iot;
mod isolation;
mod jma;
mod pades;
mod passwords;
mod payments;
mod payments_accounts;
mod payments_stripe;
mod procedures_api;
mod security;
mod signin;
mod staff_admin;
mod trust;
mod wildlife;
