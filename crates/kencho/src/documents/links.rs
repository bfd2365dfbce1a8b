//! What documents need from other capabilities: the facts a notice or a receipt prints (of
//! an application, of a payment), the text written with a decision, and the row locks that
//! make issuing once-only. Wired in `crate::flows`, which implements [`Links`], so this module
//! names no other capability and reads none of their tables.

use std::future::Future;

use kencho_core::application::Status;
use sqlx::AnyConnection;

use crate::error::Result;

/// What a notice or a receipt prints of an application.
#[derive(Debug, Clone)]
pub struct ApplicationFacts {
    pub tenant_id: i64,
    /// The division that handles it (named as the contact and the issuer).
    pub division_name: String,
    pub resident_name: String,
    pub procedure_title: String,
    /// The 受付番号, once submitted.
    pub receipt_number: Option<String>,
    /// Epoch milliseconds.
    pub submitted_at: Option<i64>,
    pub status: Status,
    /// The revision a notice is made from (a notice prepared before a decision is recorded
    /// only if nothing changed meanwhile).
    pub revision: i64,
}

/// Which final act a decision notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 承認 or 不承認.
    Decide,
    /// 却下.
    Reject,
}

/// What a receipt prints of a payment.
#[derive(Debug, Clone)]
pub struct PaymentFacts {
    pub tenant_id: i64,
    pub application_id: i64,
    pub revenue_code: String,
    /// Integer yen due, and received (0 until paid).
    pub amount: i64,
    pub paid_amount: i64,
    /// `card`, `qr` …
    pub method: String,
    /// Whether the payment is paid now.
    pub paid: bool,
    /// Epoch milliseconds.
    pub paid_at: Option<i64>,
}

/// The other capabilities as documents reach them (implemented by `crate::flows::Links`).
pub trait Links: Clone + Send + Sync + 'static {
    /// An application's facts (`NotFound` if there is none).
    fn application(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
    ) -> impl Future<Output = Result<ApplicationFacts>> + Send;

    /// The text a notice gives as its reasons: what the staff member wrote with the last act
    /// of that kind, else the body of the 起案 `kian_id` that decided it.
    fn decision_text(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
        decision: Decision,
        kian_id: Option<i64>,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Inside a notice's transaction: locks the application's row (a second issuer waits,
    /// then finds the first one's notice).
    fn lock_application(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A payment's facts (`NotFound` if there is none).
    fn payment(&self, conn: &mut AnyConnection, payment_id: i64) -> impl Future<Output = Result<PaymentFacts>> + Send;

    /// Inside a receipt's transaction: locks the payment's row and says whether it is paid.
    fn lock_payment(&self, conn: &mut AnyConnection, payment_id: i64) -> impl Future<Output = Result<bool>> + Send;
}
