//! 電子決裁 (electronic approval) and 公文書管理 (records management), in storage. The rules
//! themselves (organisation, 専決 table, the route's state machine) are in
//! `kencho_core::approval`; this module keeps them, runs acts in transactions, fills the
//! inboxes and tells people.

pub mod holds;
pub mod kian;
mod model;
pub mod records;
pub mod setup;
mod store;

pub use kian::{figures, kian_body};
pub use model::{Absence, Hold, Setup};
