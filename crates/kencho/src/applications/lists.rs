//! Lists: the resident's applications, staff inboxes with their filters, and export.

use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: i64,
    pub tenant_id: i64,
    pub procedure_id: i64,
    pub procedure_title: String,
    pub receipt_number: Option<String>,
    pub status: Status,
    pub applicant_name: String,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub due_at: Option<i64>,
}

impl Summary {
    pub fn is_overdue(&self, now: i64) -> bool {
        self.status.is_open_for_office() && self.due_at.is_some_and(|d| d < now)
    }
}

pub(super) const SUMMARY_COLS: &str =
    "a.id, a.tenant_id, a.procedure_id, p.title AS procedure_title, a.receipt_number, \
    a.status, r.name AS applicant_name, a.updated_at, a.submitted_at, a.due_at";

pub(super) fn summary_from_row(r: &sqlx::any::AnyRow) -> Result<Summary> {
    Ok(Summary {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        procedure_id: r.try_get("procedure_id")?,
        procedure_title: r.try_get("procedure_title")?,
        receipt_number: r.try_get("receipt_number")?,
        status: crate::db::parsed(r, "status", Status::parse)?,
        applicant_name: r.try_get("applicant_name")?,
        updated_at: r.try_get("updated_at")?,
        submitted_at: r.try_get("submitted_at")?,
        due_at: r.try_get("due_at")?,
    })
}

/// 申請一覧: the resident's own applications, newest first.
pub async fn list_for_resident(db: &Db, resident: &Resident) -> Result<Vec<Summary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLS} FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id \
         WHERE a.resident_id = $1 ORDER BY a.updated_at DESC LIMIT 500"
    );
    let rows = sqlx::query(&sql).bind(resident.id).fetch_all(&db.read).await?;
    rows.iter().map(summary_from_row).collect()
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct InboxFilter {
    /// Status (e.g. `submitted`, `accepted`, `correction_requested`); empty for all but drafts.
    #[serde(default)]
    pub status: Option<String>,
    /// Procedure code.
    #[serde(default)]
    pub procedure: Option<String>,
    /// Only applications past their 標準処理期間.
    #[serde(default)]
    pub overdue: Option<String>,
}

impl InboxFilter {
    pub fn overdue_only(&self) -> bool {
        matches!(self.overdue.as_deref(), Some("1" | "true" | "on" | "yes"))
    }
}

/// The division's inbox (the whole tenant's for administrators), oldest due first.
pub async fn inbox(db: &Db, staff: &Staff, filter: &InboxFilter) -> Result<Vec<Summary>> {
    filtered(db, staff, filter, SUMMARY_COLS).await?.iter().map(summary_from_row).collect()
}

/// The applications a staff member may see that match the filter, with the given columns.
async fn filtered(db: &Db, staff: &Staff, filter: &InboxFilter, cols: &str) -> Result<Vec<sqlx::any::AnyRow>> {
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            Status::parse(s)
                .filter(|s| *s != Status::Draft)
                .ok_or_else(|| AppError::BadRequest(format!("unknown status \"{s}\"")))?,
        ),
        None => None,
    };
    let division = if staff.role.sees_all_divisions() { 0 } else { staff.division_id };
    let sql = format!(
        "SELECT {cols} FROM applications a JOIN procedures p ON p.id = a.procedure_id JOIN residents r ON r.id = a.resident_id \
         WHERE a.tenant_id = $1 AND ($2 = 0 OR a.division_id = $2) AND a.status <> 'draft' AND ($3 = '' OR a.status = $3) \
         AND ($4 = '' OR p.code = $4) AND ($5 = 0 OR (a.status IN ('submitted', 'accepted') AND a.due_at < $6)) \
         ORDER BY a.due_at, a.id LIMIT 1000"
    );
    Ok(sqlx::query(&sql)
        .bind(staff.tenant_id)
        .bind(division)
        .bind(status.map(|s| s.as_str()).unwrap_or(""))
        .bind(filter.procedure.clone().unwrap_or_default())
        .bind(i64::from(filter.overdue_only()))
        .bind(now_ms())
        .fetch_all(&db.read)
        .await?)
}

/// Procedures a staff member's inbox can filter by.
pub async fn inbox_procedures(db: &Db, staff: &Staff) -> Result<Vec<(String, String)>> {
    let division = if staff.role.sees_all_divisions() { 0 } else { staff.division_id };
    let rows = sqlx::query("SELECT DISTINCT code, title FROM procedures WHERE tenant_id = $1 AND ($2 = 0 OR division_id = $2) AND is_current = 1 ORDER BY code")
        .bind(staff.tenant_id)
        .bind(division)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("title")?))).collect()
}

/// Full records for the office's core systems; the export itself is audited.
pub async fn export(db: &Db, staff: &Staff, filter: &InboxFilter) -> Result<Vec<(Application, Arc<Procedure>)>> {
    let mut out = Vec::new();
    for row in filtered(db, staff, filter, COLS).await? {
        let a = from_row(&db.keys(), &row)?;
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
