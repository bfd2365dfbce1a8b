//! マイ避難 (My Evacuation): the public hazard data a tenant loads ([`layers`], read from the files
//! as published by [`upload`], held in memory by [`atlas`]), household plans
//! and 個別避難計画 ([`plans`]), evacuation information for town areas and the personal mails it
//! sends ([`alerts`]), JMA warning telegrams ([`jma`]), and the words all of them use
//! ([`words`]). The rules themselves are in `kencho_core::evacuation`. Its types are in
//! [`model`]; every SQL statement is in [`store`].

pub mod alert_mail;
pub mod alerts;
pub mod atlas;
pub mod jma;
pub mod layers;
pub mod model;
pub mod plans;
mod store;
pub mod upload;
pub mod words;

pub use model::{
    Alert, LayerKind, LayerVersion, Note, Outcome, PlanKind, PlanListItem, Request, Slot, StoredPlan, SubscriberRole,
    Subscription,
};
