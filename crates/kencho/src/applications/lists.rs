//! Lists: the resident's applications, staff inboxes with their filters, and export.

use std::sync::Arc;

use kencho_core::application::Status;

use super::model::{Application, InboxFilter, Summary};
use super::{procedure_version, store};
use crate::actor::{Resident, Staff};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::procedures::Procedure;

/// 申請一覧: the resident's own applications, newest first.
pub async fn list_for_resident(db: &Db, resident: &Resident) -> Result<Vec<Summary>> {
    store::of_resident(db, resident.id).await
}

/// The division's inbox (the whole tenant's for administrators), oldest due first.
pub async fn inbox(db: &Db, staff: &Staff, filter: &InboxFilter) -> Result<Vec<Summary>> {
    let status = status_of(filter)?;
    store::summaries(db, &selection(staff, filter, status)).await
}

/// The status a filter asks for, if any (never drafts).
fn status_of(filter: &InboxFilter) -> Result<Option<Status>> {
    match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Ok(Some(
            Status::parse(s)
                .filter(|s| *s != Status::Draft)
                .ok_or_else(|| AppError::BadRequest(detail!("detail.applications.unknown_status", s = s)))?,
        )),
        None => Ok(None),
    }
}

/// The applications a staff member may see that match the filter.
fn selection<'a>(staff: &Staff, filter: &'a InboxFilter, status: Option<Status>) -> store::Selection<'a> {
    store::Selection {
        tenant_id: staff.tenant_id,
        division_id: division_of(staff),
        status,
        procedure: filter.procedure.as_deref().unwrap_or(""),
        overdue_before: filter.overdue_only().then(now_ms),
    }
}

/// The division a staff member's lists are limited to (0: every division).
fn division_of(staff: &Staff) -> i64 {
    if staff.role.sees_all_divisions() {
        0
    } else {
        staff.division_id
    }
}

/// Procedures a staff member's inbox can filter by.
pub async fn inbox_procedures(db: &Db, staff: &Staff) -> Result<Vec<(String, String)>> {
    store::procedures_of(db, staff.tenant_id, division_of(staff)).await
}

/// Full records for the office's core systems; the export itself is audited.
pub async fn export(db: &Db, staff: &Staff, filter: &InboxFilter) -> Result<Vec<(Application, Arc<Procedure>)>> {
    let mut out = Vec::new();
    let status = status_of(filter)?;
    for a in store::applications(db, &selection(staff, filter, status)).await? {
        let p = procedure_version(db, a.procedure_id).await?;
        out.push((a, p));
    }
    let (tenant_id, actor) = (staff.tenant_id, format!("staff:{}", staff.id));
    let detail = serde_json::json!({"count": out.len(), "status": filter.status, "procedure": filter.procedure, "overdue": filter.overdue_only()});
    db.transact(move |conn| {
        Box::pin(
            async move { audit::append(conn, tenant_id, &actor, "application.export", "applications", detail).await },
        )
    })
    .await?;
    Ok(out)
}
