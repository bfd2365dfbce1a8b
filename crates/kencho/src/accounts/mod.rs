//! Accounts: residents (sign up with a verified e-mail), staff (tenant, division, role, TOTP),
//! sessions, API tokens and login rate limiting. All state is in the database, so any number
//! of kencho processes can serve the same users.
//!
//! The shape every capability has (docs/architecture.md): `model` (types and row decoders),
//! `store` (every SQL statement), and one service file per area: `passwords`, `residents`
//! (sign-up, verification), `reset` (changing a password, resetting a forgotten one), `signin` (passwords, TOTP, sessions made and ended), `sessions`
//! (who a request is; clearing out), `staff`, `tokens` (API tokens) `limits`, and `demo` (the demo's accounts).

pub mod demo;
pub mod limits;
mod model;
mod passwords;
mod reset;
mod residents;
pub mod sessions;
mod signin;
mod staff;
mod store;
pub mod tokens;

pub use crate::actor::{Principal, Resident, Staff};
pub use crate::crypto::random_token;
pub use model::{AccountKind, Client, Session, SignedIn, StaffEntry, SESSION_HOURS};
pub use passwords::*;
pub use reset::*;
pub use residents::*;
pub use sessions::{janitor, purge_expired, session};
pub use signin::*;
pub use staff::*;
