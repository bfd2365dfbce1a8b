//! What payments need from other capabilities inside their own transactions: the application
//! a fee belongs to, and the 起案 a large refund waits for. Wired in `crate::flows`, which
//! implements [`Links`], so this module names no other capability.

use std::future::Future;

pub use kencho_core::application::Addressee;
use kencho_core::application::Status;
use sqlx::AnyConnection;

use super::model::Owner;
use crate::actor::Staff;
use crate::crypto::Keyring;
use crate::db::Db;
use crate::error::Result;

/// Who is acting on the application a payment is for; each sees a different set.
#[derive(Debug, Clone)]
pub enum Payer {
    /// The applicant (only their own applications).
    Resident(i64),
    /// Staff of the division (as they may see the application).
    Staff(Staff),
    /// The 出納員 at the counter: any application of the tenant that is not a draft.
    Cashier(Staff),
}

/// What a payment needs to know of its application.
#[derive(Debug, Clone)]
pub struct ForApplication {
    pub id: i64,
    pub tenant_id: i64,
    /// The procedure (version) it was made under.
    pub procedure_id: i64,
    pub resident_id: i64,
    pub resident_name: String,
    pub resident_email: String,
    pub receipt_number: Option<String>,
    pub status: Status,
}

impl ForApplication {
    /// Whose a payment of this application is.
    pub(super) fn owner(&self) -> Owner {
        Owner {
            tenant_id: self.tenant_id,
            application_id: self.id,
            procedure_id: self.procedure_id,
            resident_id: self.resident_id,
        }
    }
}

/// The 起案 a refund above the tenant's limit is decided by.
#[derive(Debug, Clone)]
pub struct RefundDecision {
    pub payment_id: i64,
    pub amount: i64,
    pub reason: String,
}

/// The other capabilities as payments reach them (implemented by `crate::flows::Links`).
pub trait Links: Clone + Send + Sync + 'static {
    /// A 起案 checked and its route proposed, before the refund's transaction.
    type Drafted: Send + Sync + 'static;

    /// In the payment's transaction: locks the application and answers what a payment needs
    /// of it; "not found" unless `payer` may act on it.
    fn lock_application(
        &self,
        conn: &mut AnyConnection,
        keys: &Keyring,
        application_id: i64,
        payer: Payer,
    ) -> impl Future<Output = Result<ForApplication>> + Send;

    /// In the payment's transaction: whom a mail about the application's fee goes to.
    fn addressee(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
    ) -> impl Future<Output = Result<Addressee>> + Send;

    /// The code of the division the application belongs to (who may order its refunds).
    fn division_code(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
    ) -> impl Future<Output = Result<String>> + Send;

    /// The file name of the application's attachment `public_id` (a 減免's evidence), if any.
    fn attachment_name(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
        public_id: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Drafts (outside any transaction) the 起案 a refund above the limit waits for.
    fn draft_refund_decision(
        &self,
        db: &Db,
        staff: &Staff,
        d: RefundDecision,
    ) -> impl Future<Output = Result<Self::Drafted>> + Send;

    /// Stores that 起案 in the refund's transaction; returns its id.
    fn insert_refund_decision(
        &self,
        conn: &mut AnyConnection,
        staff: &Staff,
        drafted: &Self::Drafted,
    ) -> impl Future<Output = Result<i64>> + Send;
}
