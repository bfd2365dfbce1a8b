//! Signed documents (電子交付): the result notices (決定通知書) and the receipts of paid fees
//! (領収書, [`issue_receipt`]) kencho issues as PDFs signed with the tenant's Ed25519 key, and
//! their public verification ([`verify_pdf`], [`verify_number`]). Every kind is rendered by
//! [`pdf`] and signed and stored by one path ([`signed_message`]). Its types are in [`model`];
//! every SQL statement is in `store`.
//!
//! A final decision's notice is rendered, signed and written to the file store *before* the
//! decision's transaction (no write lock is held while rendering), and its row is inserted
//! *inside* that transaction ([`prepare_for_decision`], [`record_for_decision`]): the decision
//! and its notice commit together or not at all. A file whose row never committed is an
//! orphan in the content-addressed store and verifies as unknown. [`issue_decision_notice`]
//! issues for a decision that has already committed (the 電子決裁 path at 施行, or a retry); it
//! is idempotent: one notice per application.
//!
//! The signature is detached: it is stored with the document's row and returned by the
//! verification API, over the message [`signed_message`] describes.
//!
//! When the tenant has configured a signing certificate ([`certificate`]), every document
//! also carries an embedded PAdES signature ([`pades`]) that PDF readers check. It is added
//! before hashing: the hash register holds the SHA-256 of the final, signed file.

pub mod certificate;
mod issue;
pub mod keys;
mod links;
pub mod model;
mod notice;
pub mod pades;
pub mod pdf;
mod receipt;
pub mod records;
mod store;
mod verify;

use issue::LANG;
pub use issue::{pdf_bytes, signed_message, VERIFY_PATH};
pub use links::{ApplicationFacts, Decision, Links, PaymentFacts};
pub use model::{DocumentKind, IssuedDocument, Verification};
pub use notice::{
    issue_decision_notice, notice_for_application, notice_number, prepare_for_decision, record_for_decision,
    PreparedNotice,
};
pub use receipt::{issue_receipt, receipt_number, yen};
pub use verify::{by_number, parse_sha256, verify_number, verify_pdf};
