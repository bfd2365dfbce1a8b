//! 起案 (decision documents) in storage: drafting, the route's acts, 施行, inboxes and search.
//!
//! The route and its history are the core state machine (`kencho_core::approval::route`),
//! stored whole as JSON in `kian.route`; each act also appends its events to `kian_events`
//! and rewrites `kian_waiting` (who it waits for), so inboxes, search and figures are queries.
//! Every act runs in one transaction with the row locked, so two people acting at once are
//! applied one after the other against the state the other left.

mod acts;
mod draft;
mod execution;
mod files;
mod inbox;
mod links;
mod model;
mod store;
mod view;

pub use acts::*;
pub use draft::*;
pub use execution::*;
pub use files::*;
pub use inbox::*;
pub use links::{Archived, Links, Matter, RouteDecision};
pub use model::*;
pub use view::*;
