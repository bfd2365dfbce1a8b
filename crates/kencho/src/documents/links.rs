//! What documents need from other capabilities: the facts a notice or a receipt prints (of
//! an application, of a payment), the text written with a decision, and the row locks that
//! make issuing once-only. Wired in `crate::flows`, which implements [`Links`], so this module
//! names no other capability and reads none of their tables.

use std::future::Future;

pub use kencho_core::notice::{ApplicationFacts, PaymentFacts};
use sqlx::AnyConnection;

use crate::error::Result;

/// Which final act a decision notice reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 承認 or 不承認.
    Decide,
    /// 却下.
    Reject,
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
