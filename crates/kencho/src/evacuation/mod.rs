//! マイ避難 (My Evacuation): the public hazard data a tenant loads ([`layers`], read from the files
//! as published by [`upload`], held in memory by [`atlas`]), household plans
//! and 個別避難計画 ([`plans`]), evacuation information for town areas and the personal mails it
//! sends ([`alerts`]), JMA warning telegrams ([`jma`]), and the words all of them use
//! ([`words`]). The rules themselves are in `kencho_core::evacuation`.

pub mod alert_mail;
pub mod alerts;
pub mod atlas;
pub mod jma;
pub mod layers;
pub mod plans;
pub mod upload;
pub mod words;
