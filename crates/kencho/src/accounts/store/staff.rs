//! Staff accounts: found, listed, created, changed and ended by their tenant's administrator.

use sqlx::{AnyConnection, Row};

use super::super::model::{staff_from_row, StaffEntry};
use crate::actor::Staff;
use crate::db::Db;
use crate::error::{is_unique_violation, Result};

const STAFF_COLS: &str = "s.id, s.tenant_id, t.code AS tenant_code, t.name AS tenant_name, s.division_id, \
     d.code AS division_code, d.name AS division_name, s.email, s.name, s.role, s.totp_enabled";

/// A live (not deactivated) staff member: what a session or token acts as.
pub(in crate::accounts) async fn staff_by_id(db: &Db, id: i64) -> Result<Option<Staff>> {
    let sql = format!(
        "SELECT {STAFF_COLS} FROM staff s JOIN tenants t ON t.id = s.tenant_id JOIN divisions d ON d.id = s.division_id \
         WHERE s.id = $1 AND s.deactivated_at IS NULL"
    );
    sqlx::query(&sql).bind(id).fetch_optional(&db.read).await?.as_ref().map(staff_from_row).transpose()
}

pub(in crate::accounts) async fn staff_by_email(db: &Db, email: &str) -> Result<Option<Staff>> {
    let sql = format!(
        "SELECT {STAFF_COLS} FROM staff s JOIN tenants t ON t.id = s.tenant_id JOIN divisions d ON d.id = s.division_id WHERE s.email = $1"
    );
    sqlx::query(&sql).bind(email).fetch_optional(&db.read).await?.as_ref().map(staff_from_row).transpose()
}

/// A new staff account: its id, or `None` when the e-mail has an account already.
pub(in crate::accounts) struct NewStaff<'a> {
    pub tenant_id: i64,
    pub division_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub now: i64,
}

pub(in crate::accounts) async fn insert_staff(conn: &mut AnyConnection, s: NewStaff<'_>) -> Result<Option<i64>> {
    let inserted = sqlx::query(
        "INSERT INTO staff (tenant_id, division_id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(s.tenant_id)
    .bind(s.division_id)
    .bind(s.email)
    .bind(s.name)
    .bind(s.role)
    .bind(s.password_hash)
    .bind(s.now)
    .fetch_one(&mut *conn)
    .await;
    match inserted {
        Ok(r) => Ok(Some(r.try_get("id")?)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(in crate::accounts) async fn staff_names(
    db: &Db,
    tenant_id: i64,
) -> Result<std::collections::HashMap<i64, String>> {
    let rows =
        sqlx::query("SELECT id, name FROM staff WHERE tenant_id = $1").bind(tenant_id).fetch_all(&db.read).await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect()
}

/// The demo's staff member, created with TOTP enabled unless the e-mail has an account: its id.
pub(in crate::accounts) async fn insert_enrolled_staff(
    conn: &mut AnyConnection,
    s: NewStaff<'_>,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO staff (tenant_id, division_id, email, name, role, password_hash, totp_enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(s.tenant_id)
    .bind(s.division_id)
    .bind(s.email)
    .bind(s.name)
    .bind(s.role)
    .bind(s.password_hash)
    .bind(s.now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

pub(in crate::accounts) async fn store_totp_secret(
    conn: &mut AnyConnection,
    staff_id: i64,
    sealed: &str,
) -> Result<()> {
    sqlx::query("UPDATE staff SET totp_secret = $1 WHERE id = $2")
        .bind(sealed)
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A staff member's id and sealed TOTP secret by e-mail.
pub(in crate::accounts) async fn totp_by_email(db: &Db, email: &str) -> Result<(i64, Option<String>)> {
    let row = sqlx::query("SELECT id, totp_secret FROM staff WHERE email = $1").bind(email).fetch_one(&db.read).await?;
    Ok((row.try_get("id")?, row.try_get("totp_secret")?))
}

/// A resident whose address counts as verified already (the demo's), unless it has an account.
pub(in crate::accounts) async fn insert_verified_resident(
    conn: &mut AnyConnection,
    email: &str,
    name: &str,
    hash: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO residents (email, name, password_hash, verified_at, created_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (email) DO NOTHING")
        .bind(email)
        .bind(name)
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The password hash of an invited account that has not set its password yet: no password
/// matches it, so nobody signs in until the invitation's link is used.
pub(in crate::accounts) const NOT_SET: &str = "!invited";

/// Every staff account of a tenant, for its administrator: ended accounts last.
pub(in crate::accounts) async fn staff_list(db: &Db, tenant_id: i64) -> Result<Vec<StaffEntry>> {
    let rows = sqlx::query(
        "SELECT s.id, s.email, s.name, s.role, d.code AS division_code, d.name AS division_name, s.totp_enabled, \
         s.deactivated_at, CASE WHEN s.password_hash = $2 THEN 1 ELSE 0 END AS invited \
         FROM staff s JOIN divisions d ON d.id = s.division_id WHERE s.tenant_id = $1 \
         ORDER BY CASE WHEN s.deactivated_at IS NULL THEN 0 ELSE 1 END, d.code, s.id",
    )
    .bind(tenant_id)
    .bind(NOT_SET)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(StaffEntry::from_row).collect()
}

/// A tenant's divisions (code, name), by code.
pub(in crate::accounts) async fn divisions(db: &Db, tenant_id: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT code, name FROM divisions WHERE tenant_id = $1 ORDER BY code")
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("name")?))).collect()
}

/// Serialises changes to a tenant's staff (on PostgreSQL; SQLite has one writer) by locking
/// the tenant's row.
pub(in crate::accounts) async fn lock_tenant_staff(conn: &mut AnyConnection, tenant_id: i64) -> Result<()> {
    crate::db::lock_for_update(conn, "tenants", tenant_id).await
}

/// The role of a live staff account of the tenant, or `None` when there is no such live
/// account (another tenant's is "none" too).
pub(in crate::accounts) async fn live_staff_role(
    conn: &mut AnyConnection,
    tenant_id: i64,
    id: i64,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT role FROM staff WHERE id = $1 AND tenant_id = $2 AND deactivated_at IS NULL")
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("role")).transpose()?)
}

/// How many live administrators who can sign in (their password set) the tenant has: it must
/// keep one.
pub(in crate::accounts) async fn live_admins(conn: &mut AnyConnection, tenant_id: i64) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM staff \
         WHERE tenant_id = $1 AND role = 'admin' AND deactivated_at IS NULL AND password_hash <> $2",
    )
    .bind(tenant_id)
    .bind(NOT_SET)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}

pub(in crate::accounts) async fn set_staff_role(
    conn: &mut AnyConnection,
    id: i64,
    role: &str,
    division_id: i64,
) -> Result<()> {
    sqlx::query("UPDATE staff SET role = $1, division_id = $2 WHERE id = $3")
        .bind(role)
        .bind(division_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends an account: it can no longer sign in, and its API tokens are revoked (its sessions
/// are ended by the caller with the other sessions' rule).
pub(in crate::accounts) async fn deactivate_staff(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE staff SET deactivated_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *conn).await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
