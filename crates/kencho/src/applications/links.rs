//! What an application's acts need from other capabilities, inside their own transaction:
//! a fee paid before submission, and the record a finished application becomes. Wired in
//! `crate::flows`, which implements [`Links`], so this module names no other capability.

use std::future::Future;

use sqlx::AnyConnection;

use super::Application;
use crate::db::Batch;
use crate::error::Result;
use crate::procedures::Procedure;

/// The other capabilities as an application's acts reach them (implemented by
/// `crate::flows::Links`).
pub trait Links: Clone + Send + Sync + 'static {
    /// In the submission's transaction, before a draft is submitted: refuses
    /// (`payment_required`) when the procedure's fee is due first and is not paid.
    fn before_submission(
        &self,
        conn: &mut AnyConnection,
        p: &Procedure,
        application_id: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// 公文書管理: a finished application becomes a record kept for its procedure's period,
    /// written in the same batch as the act that finished it.
    fn keep_record(&self, batch: &mut Batch, a: &Application, p: &Procedure, now: i64);
}
