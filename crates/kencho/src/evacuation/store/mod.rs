//! Every SQL statement of マイ避難, one file per area it serves.

pub mod alerts;
pub mod jma;
pub mod layers;
pub mod plans;
