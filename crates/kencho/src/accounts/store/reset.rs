//! Passwords: the account a password is set for, and the single-use links that set one.

use sqlx::{AnyConnection, Row};

use super::super::model::{AccountKind, PasswordOwner};
use crate::db::Db;
use crate::error::Result;

/// The account whose password may be set: its e-mail and name (the password policy's context
/// words) and tenant (0 for a resident). A deactivated staff account has none.
fn owner_sql(kind: AccountKind, by: &str) -> String {
    match kind {
        AccountKind::Resident => {
            format!("SELECT id, email, name, password_hash, 0 AS tenant_id FROM residents WHERE {by} = $1")
        }
        AccountKind::Staff => format!(
            "SELECT id, email, name, password_hash, tenant_id FROM staff WHERE {by} = $1 AND deactivated_at IS NULL"
        ),
    }
}

pub(in crate::accounts) async fn owner_by_id(db: &Db, kind: AccountKind, id: i64) -> Result<Option<PasswordOwner>> {
    let row = sqlx::query(&owner_sql(kind, "id")).bind(id).fetch_optional(&db.read).await?;
    row.as_ref().map(PasswordOwner::from_row).transpose()
}

pub(in crate::accounts) async fn owner_by_email(
    db: &Db,
    kind: AccountKind,
    email: &str,
) -> Result<Option<PasswordOwner>> {
    let row = sqlx::query(&owner_sql(kind, "email")).bind(email).fetch_optional(&db.read).await?;
    row.as_ref().map(PasswordOwner::from_row).transpose()
}

pub(in crate::accounts) async fn insert_reset(
    conn: &mut AnyConnection,
    token_hash: &str,
    (kind, id): (AccountKind, i64),
    purpose: &str,
    (now, expires_at): (i64, i64),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO password_resets (token_hash, kind, purpose, principal_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(kind.as_str())
    .bind(purpose)
    .bind(id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The account a reset link is for, while the link is live (not used, not expired).
pub(in crate::accounts) async fn live_reset(db: &Db, token_hash: &str, now: i64) -> Result<Option<(AccountKind, i64)>> {
    let row = sqlx::query(
        "SELECT kind, principal_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    row.map(|r| reset_row(&r)).transpose()
}

/// Uses up a live reset link, and every other live link of the same account with it.
pub(in crate::accounts) async fn use_reset(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<(AccountKind, i64)>> {
    let row = sqlx::query(
        "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING kind, principal_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(account) = row.map(|r| reset_row(&r)).transpose()? else {
        return Ok(None);
    };
    sqlx::query("UPDATE password_resets SET used_at = $1 WHERE kind = $2 AND principal_id = $3 AND used_at IS NULL")
        .bind(now)
        .bind(account.0.as_str())
        .bind(account.1)
        .execute(&mut *conn)
        .await?;
    Ok(Some(account))
}

fn reset_row(r: &sqlx::any::AnyRow) -> Result<(AccountKind, i64)> {
    Ok((crate::db::parsed(r, "kind", AccountKind::parse)?, r.try_get("principal_id")?))
}

/// Sets the password; a resident who proved the address by a reset link is verified too.
pub(in crate::accounts) async fn set_password(
    conn: &mut AnyConnection,
    (kind, id): (AccountKind, i64),
    hash: &str,
    now: i64,
) -> Result<()> {
    let q = match kind {
        AccountKind::Resident => sqlx::query(
            "UPDATE residents SET password_hash = $1, verified_at = COALESCE(verified_at, $2) WHERE id = $3",
        )
        .bind(hash)
        .bind(now),
        AccountKind::Staff => sqlx::query("UPDATE staff SET password_hash = $1 WHERE id = $2").bind(hash),
    };
    q.bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Ends every session of the account but `keep` (the caller's own, when it changed its password).
pub(in crate::accounts) async fn end_sessions(
    conn: &mut AnyConnection,
    (kind, id): (AccountKind, i64),
    keep: &str,
) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE kind = $1 AND principal_id = $2 AND token_hash <> $3")
        .bind(kind.as_str())
        .bind(id)
        .bind(keep)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Forgets every browser that signed in to the account (they skip the per-account limit).
pub(in crate::accounts) async fn forget_devices(
    conn: &mut AnyConnection,
    (kind, id): (AccountKind, i64),
) -> Result<()> {
    sqlx::query("DELETE FROM known_devices WHERE kind = $1 AND principal_id = $2")
        .bind(kind.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(in crate::accounts) async fn purge_resets(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM password_resets WHERE expires_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
