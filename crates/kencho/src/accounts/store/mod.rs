//! Every SQL statement of accounts: residents and their e-mail verifications, staff, sessions,
//! API tokens, sign-in limits and known devices. No rules here: what a sign-in checks, what is
//! audited and what is written together are the service files' business.

use kencho_core::security::rate::State;
use sqlx::{AnyConnection, Row};

use super::model::{AccountKind, ApiTokenInfo, LoginRow, SessionRow, TokenRow, TotpRow};
use crate::db::Db;
use crate::error::Result;

mod reset;
mod staff;

pub(super) use reset::*;
pub(super) use staff::*;

// ---------- residents ----------

pub(super) async fn insert_resident(
    conn: &mut AnyConnection,
    email: &str,
    name: &str,
    hash: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO residents (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(hash)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

pub(super) async fn insert_verification(
    conn: &mut AnyConnection,
    token_hash: &str,
    resident_id: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO email_verifications (token_hash, resident_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(resident_id)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Uses up a live verification link: the resident it was for, if it was live.
pub(super) async fn use_verification(conn: &mut AnyConnection, token_hash: &str, now: i64) -> Result<Option<i64>> {
    let row = sqlx::query(
        "UPDATE email_verifications SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING resident_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.try_get("resident_id")).transpose()?)
}

pub(super) async fn mark_verified(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE residents SET verified_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *conn).await?;
    Ok(())
}

// ---------- sign-in ----------

/// The account of this kind with this e-mail, as a sign-in checks it.
pub(super) async fn login_row(db: &Db, kind: AccountKind, email: &str) -> Result<Option<LoginRow>> {
    let sql = match kind {
        AccountKind::Resident => {
            "SELECT id, password_hash, verified_at AS extra, 0 AS tenant_id FROM residents WHERE email = $1"
        }
        AccountKind::Staff => {
            "SELECT id, password_hash, totp_enabled AS extra, tenant_id FROM staff WHERE email = $1 AND deactivated_at IS NULL"
        }
    };
    sqlx::query(sql).bind(email).fetch_optional(&db.read).await?.as_ref().map(LoginRow::from_row).transpose()
}

/// A new session row; `token_hash` and `csrf` are made by the caller.
pub(super) struct NewSession<'a> {
    pub token_hash: &'a str,
    pub kind: AccountKind,
    pub principal_id: i64,
    pub csrf: &'a str,
    pub mfa_ok: bool,
    pub now: i64,
    pub expires_at: i64,
}

pub(super) async fn insert_session(conn: &mut AnyConnection, s: NewSession<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, kind, principal_id, csrf, mfa_ok, created_at, expires_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
    )
    .bind(s.token_hash)
    .bind(s.kind.as_str())
    .bind(s.principal_id)
    .bind(s.csrf)
    .bind(i64::from(s.mfa_ok))
    .bind(s.now)
    .bind(s.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A staff member's e-mail and sealed TOTP secret.
pub(super) async fn totp_secret(db: &Db, staff_id: i64) -> Result<(String, Option<String>)> {
    let row =
        sqlx::query("SELECT email, totp_secret FROM staff WHERE id = $1").bind(staff_id).fetch_one(&db.read).await?;
    Ok((row.try_get("email")?, row.try_get("totp_secret")?))
}

/// Stores a sealed TOTP secret unless one is there or TOTP is enabled already.
pub(super) async fn set_totp_secret(conn: &mut AnyConnection, staff_id: i64, sealed: &str) -> Result<()> {
    sqlx::query("UPDATE staff SET totp_secret = $1 WHERE id = $2 AND totp_secret IS NULL AND totp_enabled = 0")
        .bind(sealed)
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn totp_row(db: &Db, staff_id: i64) -> Result<TotpRow> {
    let row = sqlx::query("SELECT email, totp_secret, totp_last_step, tenant_id FROM staff WHERE id = $1")
        .bind(staff_id)
        .fetch_one(&db.read)
        .await?;
    Ok(TotpRow {
        email: row.try_get("email")?,
        secret: row.try_get("totp_secret")?,
        last_step: row.try_get("totp_last_step")?,
        tenant_id: row.try_get("tenant_id")?,
    })
}

/// Uses up a TOTP time step (enabling TOTP): false when this step or a later one was used.
pub(super) async fn use_totp_step(conn: &mut AnyConnection, staff_id: i64, step: i64) -> Result<bool> {
    let n = sqlx::query("UPDATE staff SET totp_enabled = 1, totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
        .bind(step)
        .bind(staff_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Gives a staff member's password session a new token and csrf and marks it signed in:
/// false when there is no such session.
pub(super) async fn promote_session(
    conn: &mut AnyConnection,
    (old, new): (&str, &str),
    csrf: &str,
    staff_id: i64,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE sessions SET token_hash = $1, csrf = $2, mfa_ok = 1, last_seen_at = $3 \
         WHERE token_hash = $4 AND kind = 'staff' AND principal_id = $5",
    )
    .bind(new)
    .bind(csrf)
    .bind(now)
    .bind(old)
    .bind(staff_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub(super) async fn delete_session(conn: &mut AnyConnection, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *conn).await?;
    Ok(())
}

// ---------- sessions and tokens as a request presents them ----------

/// A session not past its hard expiry (one query for the common case, a resident).
pub(super) async fn live_session(db: &Db, token_hash: &str, now: i64) -> Result<Option<SessionRow>> {
    sqlx::query(
        "SELECT s.kind, s.principal_id, s.csrf, s.mfa_ok, s.created_at, s.last_seen_at, r.email, r.name \
         FROM sessions s LEFT JOIN residents r ON s.kind = 'resident' AND r.id = s.principal_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&db.read)
    .await?
    .as_ref()
    .map(SessionRow::from_row)
    .transpose()
}

pub(super) async fn touch_session(conn: &mut AnyConnection, token_hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
        .bind(now)
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An API token neither revoked nor expired.
pub(super) async fn live_token(db: &Db, token_hash: &str, now: i64) -> Result<Option<TokenRow>> {
    sqlx::query(
        "SELECT id, tenant_id, staff_id, scope, last_used_at FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&db.read)
    .await?
    .as_ref()
    .map(TokenRow::from_row)
    .transpose()
}

pub(super) async fn mark_token_used(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// A new API token's row: (tenant, staff member, name, hash, scope, now, expiry) → its id.
pub(super) async fn insert_token(
    conn: &mut AnyConnection,
    (tenant_id, staff_id): (i64, i64),
    (name, hash, scope): (&str, &str, &str),
    now: i64,
    expires_at: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO api_tokens (tenant_id, staff_id, name, token_hash, created_at, scope, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant_id)
    .bind(staff_id)
    .bind(name)
    .bind(hash)
    .bind(now)
    .bind(scope)
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

pub(super) async fn tokens_of(db: &Db, tenant_id: i64) -> Result<Vec<ApiTokenInfo>> {
    sqlx::query(
        "SELECT id, name, scope, created_at, expires_at, last_used_at, revoked_at FROM api_tokens \
         WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?
    .iter()
    .map(ApiTokenInfo::from_row)
    .collect()
}

/// Revokes one of the tenant's live tokens: false when there is none by that id.
pub(super) async fn revoke_token(conn: &mut AnyConnection, id: i64, tenant_id: i64, now: i64) -> Result<bool> {
    let n =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(n == 1)
}

// ---------- limits and devices ----------

/// A limit key's state, its row made to exist and then read under its lock (PostgreSQL);
/// SQLite has one writer.
pub(super) async fn limit_state(conn: &mut AnyConnection, key: &str) -> Result<State> {
    sqlx::query(
        "INSERT INTO rate_limits (key, count, window_start, blocked_until, strikes, updated_at) \
         VALUES ($1, 0, 0, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .execute(&mut *conn)
    .await?;
    let lock = crate::db::for_update(conn);
    let r = sqlx::query(&format!(
        "SELECT count, window_start, blocked_until, strikes FROM rate_limits WHERE key = $1{lock}"
    ))
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    Ok(State {
        count: u32::try_from(r.try_get::<i64, _>("count")?).unwrap_or(0),
        window_start: r.try_get("window_start")?,
        blocked_until: r.try_get("blocked_until")?,
        strikes: u32::try_from(r.try_get::<i64, _>("strikes")?).unwrap_or(0),
    })
}

pub(super) async fn save_limit(conn: &mut AnyConnection, key: &str, s: State, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE rate_limits SET count = $1, window_start = $2, blocked_until = $3, strikes = $4, updated_at = $5 \
         WHERE key = $6",
    )
    .bind(i64::from(s.count))
    .bind(s.window_start)
    .bind(s.blocked_until)
    .bind(i64::from(s.strikes))
    .bind(now)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether a device (by its token's hash) is remembered for the account and not expired.
pub(super) async fn device_known(db: &Db, token_hash: &str, kind: &str, principal_id: i64, now: i64) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM known_devices WHERE token_hash = $1 AND kind = $2 AND principal_id = $3 AND expires_at > $4",
    )
    .bind(token_hash)
    .bind(kind)
    .bind(principal_id)
    .bind(now)
    .fetch_optional(&db.read)
    .await?
    .is_some())
}

pub(super) async fn remember_device(
    conn: &mut AnyConnection,
    token_hash: &str,
    kind: &str,
    id: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO known_devices (token_hash, kind, principal_id, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (token_hash, kind, principal_id) DO UPDATE SET expires_at = excluded.expires_at",
    )
    .bind(token_hash)
    .bind(kind)
    .bind(id)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---------- clearing out ----------

/// Limits idle for a day and no longer blocking, and expired devices: how many rows went.
pub(super) async fn purge_limits(conn: &mut AnyConnection, now: i64) -> Result<u64> {
    let mut n = sqlx::query("DELETE FROM rate_limits WHERE updated_at < $1 AND blocked_until < $2")
        .bind(now - 24 * 3_600_000)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    n += sqlx::query("DELETE FROM known_devices WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n)
}

/// Sessions past their hard expiry.
pub(super) async fn purge_expired_sessions(conn: &mut AnyConnection, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(&mut *conn).await?.rows_affected())
}

/// Sessions unused since `before`.
pub(super) async fn purge_idle_sessions(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Verification links that expired before `before`.
pub(super) async fn purge_verifications(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM email_verifications WHERE expires_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
