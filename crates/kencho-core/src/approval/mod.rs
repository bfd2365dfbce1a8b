//! 電子決裁 (electronic approval), pure: the organisation at a date ([`org`]), the 専決 table
//! ([`rules`]) and the route with its state machine ([`route`]). Storage and pages come later;
//! nothing here does I/O or reads the clock — times are passed in.

pub mod doc;
pub mod figures;
pub mod limits;
pub mod numbering;
pub mod org;
pub mod records;
pub mod route;
pub mod rules;
pub mod settings;

#[cfg(test)]
mod tests;
