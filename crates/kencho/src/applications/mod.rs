//! Applications (申請): drafts, attachments, submission, the office's actions, inboxes and
//! export. Every change is one transaction that also writes its history event, its audit
//! entry and its e-mail (outbox), so an acknowledged action is durable with its side effects.
//!
//! The shape every capability has (docs/architecture.md): `model` (the types and their row
//! decoders), `store` (every SQL statement), `links` (what it needs of other capabilities),
//! and one service file per area: `access` (who may open an application), `drafts`,
//! `files` (attachments), `actions` (submission and the office's acts), `lists` (the
//! resident's list, inboxes, export) and `archive` (the record it becomes when it leaves).

mod access;
mod actions;
mod archive;
mod drafts;
mod files;
mod links;
mod lists;
mod model;
mod store;

pub use crate::procedures::version as procedure_version;
pub use access::*;
pub use actions::*;
pub use archive::{archived, erase, file_uses};
pub use drafts::*;
pub use files::*;
pub use links::Links;
pub use lists::*;
pub use model::{answers_place, seal_answers, Application, Attachment, Event, InboxFilter, Submitted, Summary};
pub use store::{attachment_name, division_code, document_facts, last_message, load, lock_row, mail_facts};
