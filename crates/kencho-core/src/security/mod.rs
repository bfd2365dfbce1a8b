//! Trust rules without I/O: the password policy, the login rate limiter, roles as data (which
//! roles may do what, per tenant) and API token scopes.

pub mod password;
pub mod policy;
pub mod rate;
pub mod scope;

pub use policy::{Action, Grant, Policy};
pub use scope::Scope;
