//! Every SQL statement of the approval setup (organisation, 専決 table, settings, absences)
//! and of holds on records. The 起案 and records areas have their own stores.

use kencho_core::approval::records::{HoldKind, RecordState};
use sqlx::{AnyConnection, Row};

use super::model::{Absence, Hold};
use crate::actor::Staff;
use crate::db::Db;
use crate::error::Result;

/// The latest stored version of each kind of setup document of a tenant: (kind, id).
pub async fn latest_setup_ids(db: &Db, tenant_id: i64) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT kind, MAX(id) AS latest_id FROM approval_setup WHERE tenant_id = $1 GROUP BY kind ORDER BY kind",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("latest_id")?))).collect()
}

/// The parsed body (JSON) of a stored setup document.
pub async fn setup_body(db: &Db, id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT body FROM approval_setup WHERE id = $1")
        .bind(id)
        .fetch_one(&db.read)
        .await?
        .try_get("body")?)
}

/// The source text of the newest document of one kind, if any was loaded.
pub async fn setup_source(db: &Db, tenant_id: i64, kind: &str) -> Result<Option<String>> {
    let row =
        sqlx::query("SELECT source FROM approval_setup WHERE tenant_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1")
            .bind(tenant_id)
            .bind(kind)
            .fetch_optional(&db.read)
            .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("source")?),
        None => None,
    })
}

/// The tenant's live staff as (id, e-mail address): who may hold a post.
pub async fn staff_emails(db: &Db, tenant_id: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, email FROM staff WHERE tenant_id = $1 AND deactivated_at IS NULL")
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("email")?))).collect()
}

/// Stores a new version of a setup document; returns its id.
pub async fn insert_setup(
    conn: &mut AnyConnection,
    admin: &Staff,
    kind: &str,
    body: &str,
    source: &str,
    sha: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO approval_setup (tenant_id, kind, body, source, sha256, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(admin.tenant_id)
    .bind(kind)
    .bind(body)
    .bind(source)
    .bind(sha)
    .bind(admin.id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Whether a staff member belongs to the tenant.
pub async fn staff_in_tenant(conn: &mut AnyConnection, staff_id: i64, tenant_id: i64) -> Result<bool> {
    let row = sqlx::query("SELECT id FROM staff WHERE id = $1 AND tenant_id = $2")
        .bind(staff_id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Stores an absence registered by `by`; returns its id.
pub async fn insert_absence(
    conn: &mut AnyConnection,
    by: &Staff,
    staff_id: i64,
    (from, to): (&str, &str),
    note: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO absences (tenant_id, staff_id, from_date, to_date, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(by.tenant_id)
    .bind(staff_id)
    .bind(from)
    .bind(to)
    .bind(note)
    .bind(by.id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// The tenant's absences ending on or after `from_date` (YYYY-MM-DD), by start.
pub async fn absences(db: &Db, tenant_id: i64, from_date: &str) -> Result<Vec<Absence>> {
    let rows = sqlx::query(
        "SELECT a.id, a.staff_id, s.name AS staff_name, a.from_date, a.to_date, a.note \
         FROM absences a JOIN staff s ON s.id = a.staff_id \
         WHERE a.tenant_id = $1 AND a.to_date >= $2 ORDER BY a.from_date, a.id",
    )
    .bind(tenant_id)
    .bind(from_date)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Absence::from_row).collect()
}

/// The staff ids of the tenant away on `date` (YYYY-MM-DD).
pub async fn absent_staff(conn: &mut AnyConnection, tenant_id: i64, date: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT staff_id FROM absences WHERE tenant_id = $1 AND from_date <= $2 AND to_date >= $2")
        .bind(tenant_id)
        .bind(date)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("staff_id")?)).collect()
}

/// Locks a record of the tenant and reads its state; `None` when the tenant has no such record.
pub async fn lock_record(conn: &mut AnyConnection, tenant_id: i64, record_id: i64) -> Result<Option<RecordState>> {
    let sql = format!("SELECT state FROM records WHERE id = $1 AND tenant_id = $2{}", crate::db::for_update(conn));
    let row = sqlx::query(&sql).bind(record_id).bind(tenant_id).fetch_optional(&mut *conn).await?;
    row.map(|r| crate::db::parsed(&r, "state", RecordState::parse)).transpose()
}

/// The kinds of the holds in place on a record.
pub async fn open_hold_kinds(conn: &mut AnyConnection, record_id: i64) -> Result<Vec<HoldKind>> {
    let rows = sqlx::query("SELECT kind FROM record_holds WHERE record_id = $1 AND lifted_at IS NULL ORDER BY id")
        .bind(record_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| crate::db::parsed(r, "kind", HoldKind::parse)).collect()
}

/// Stores a hold placed by `staff`; returns its id.
pub async fn insert_hold(
    conn: &mut AnyConnection,
    staff: &Staff,
    record_id: i64,
    kind: HoldKind,
    reference: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO record_holds (tenant_id, record_id, kind, reference, placed_by, placed_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(staff.tenant_id)
    .bind(record_id)
    .bind(kind.as_str())
    .bind(reference)
    .bind(staff.id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Marks a hold in place on the record as lifted by `staff`; returns how many rows changed.
pub async fn lift_hold(conn: &mut AnyConnection, staff: &Staff, record_id: i64, hold_id: i64, now: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE record_holds SET lifted_by = $1, lifted_at = $2 \
         WHERE id = $3 AND record_id = $4 AND tenant_id = $5 AND lifted_at IS NULL",
    )
    .bind(staff.id)
    .bind(now)
    .bind(hold_id)
    .bind(record_id)
    .bind(staff.tenant_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Whether the tenant has the record.
pub async fn record_exists(db: &Db, tenant_id: i64, record_id: i64) -> Result<bool> {
    let row = sqlx::query("SELECT id FROM records WHERE id = $1 AND tenant_id = $2")
        .bind(record_id)
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?;
    Ok(row.is_some())
}

/// Every hold of a record of the tenant, newest first.
pub async fn holds_of_record(db: &Db, tenant_id: i64, record_id: i64) -> Result<Vec<Hold>> {
    let rows = sqlx::query(
        "SELECT h.id, h.record_id, h.kind, h.reference, p.name AS placed_by, h.placed_at, l.name AS lifted_by, h.lifted_at \
         FROM record_holds h JOIN staff p ON p.id = h.placed_by LEFT JOIN staff l ON l.id = h.lifted_by \
         WHERE h.record_id = $1 AND h.tenant_id = $2 ORDER BY h.id DESC",
    )
    .bind(record_id)
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Hold::from_row).collect()
}

/// The holds in place on the tenant's records whose retention ends in `[from, to]`, oldest first.
pub async fn open_holds_between(db: &Db, tenant_id: i64, from: &str, to: &str) -> Result<Vec<Hold>> {
    let rows = sqlx::query(
        "SELECT h.id, h.record_id, h.kind, h.reference, p.name AS placed_by, h.placed_at, NULL AS lifted_by, h.lifted_at \
         FROM record_holds h JOIN staff p ON p.id = h.placed_by JOIN records r ON r.id = h.record_id \
         WHERE h.tenant_id = $1 AND h.lifted_at IS NULL AND r.expires_on >= $2 AND r.expires_on <= $3 ORDER BY h.id",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Hold::from_row).collect()
}
