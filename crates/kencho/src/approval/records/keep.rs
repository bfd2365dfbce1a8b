//! Keeping records: a decided 起案 or finished application becomes a record with its
//! retention, and the lists of records and of disposals.

use kencho_core::approval::doc::format_date;
use kencho_core::approval::records::RetentionClass;
use time::Date;

use super::model::{Disposed, Record};
use super::store::{self, NewRecord};
use crate::db::{Batch, Db};
use crate::error::Result;

/// The day a 常用 record would expire: never, while in use.
const NEVER: &str = "9999-12-31";

/// The first day a record may be disposed of, as stored (`expires_on`).
fn expires_on(retention: i64, completed: Date) -> String {
    // Retention is checked when the 起案 or procedure is stored; an unknown value keeps the
    // record longest rather than shortest.
    let class = RetentionClass::from_code(retention).unwrap_or(RetentionClass::Years(30));
    class.disposable_from(completed).map(format_date).unwrap_or_else(|| NEVER.to_string())
}

/// Keeps a record (once; a second call for the same subject changes nothing), in the caller's
/// batch.
#[allow(clippy::too_many_arguments)]
pub fn keep_batched(
    batch: &mut Batch,
    tenant_id: i64,
    subject: &str,
    title: &str,
    division: &str,
    retention_years: i64,
    disposal: &str,
    completed: Date,
    now: i64,
) {
    store::keep(
        batch,
        NewRecord {
            tenant_id,
            subject,
            title,
            division,
            retention_years,
            disposal,
            completed_on: format_date(completed),
            expires_on: expires_on(retention_years, completed),
            now,
        },
    );
}

/// The first and last day of fiscal year `fy` (April to March).
pub fn fiscal_bounds(fy: i32) -> (String, String) {
    (format!("{fy:04}-04-01"), format!("{:04}-03-31", fy + 1))
}

/// The disposal list: records whose retention ends during fiscal year `fy` (they may be
/// disposed of from that day), with what is to happen to each.
pub async fn expiring(db: &Db, tenant_id: i64, fy: i32) -> Result<Vec<Record>> {
    let (from, to) = fiscal_bounds(fy);
    store::expiring(db, tenant_id, &from, &to).await
}

/// The destruction and transfer records of the tenant, newest first (the last 1,000).
pub async fn disposal_log(db: &Db, tenant_id: i64) -> Result<Vec<Disposed>> {
    store::disposal_log(db, tenant_id).await
}
