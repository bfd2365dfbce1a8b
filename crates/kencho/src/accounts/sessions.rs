//! Who a request is: a session (cookie or bearer) or an API token. Sessions end at their hard
//! expiry and after a while unused (idle timeout); tokens end at their expiry or revocation.

use kencho_core::security::Scope;
use sqlx::Row;

use super::{staff_by_id, token_hash, Principal, Resident, Session};
use crate::db::{now_ms, Db};
use crate::error::Result;
use crate::security::{self, Event, Kind};

/// A resident's session ends after this long unused.
pub const RESIDENT_IDLE_MS: i64 = 60 * 60_000;
/// A staff session ends after this long unused (it opens personal data).
pub const STAFF_IDLE_MS: i64 = 30 * 60_000;
/// How stale `last_seen_at` may get before it is written again (one write a minute at most).
const TOUCH_EVERY_MS: i64 = 60_000;

/// Looks a session token up. API tokens are accepted too: a `staff` or `read` token acts as
/// its staff member with the second factor satisfied; an `iot_uplink` token is the tenant's
/// integration credential and nobody's account.
pub async fn session(db: &Db, token: &str, ip: &str) -> Result<Option<Session>> {
    let th = token_hash(token);
    let now = now_ms();
    // One query for the common case (a resident); staff need a second for their post.
    let row = sqlx::query(
        "SELECT s.kind, s.principal_id, s.csrf, s.mfa_ok, s.created_at, s.last_seen_at, r.email, r.name \
         FROM sessions s LEFT JOIN residents r ON s.kind = 'resident' AND r.id = s.principal_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(&th)
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    if let Some(row) = row {
        let kind: String = row.try_get("kind")?;
        let id: i64 = row.try_get("principal_id")?;
        let seen = row.try_get::<i64, _>("last_seen_at")?.max(row.try_get::<i64, _>("created_at")?);
        let idle = if kind == "resident" { RESIDENT_IDLE_MS } else { STAFF_IDLE_MS };
        if now - seen > idle {
            return Ok(None);
        }
        if now - seen > TOUCH_EVERY_MS {
            touch(db, th.clone(), now);
        }
        let principal = if kind == "resident" {
            match (row.try_get::<Option<String>, _>("email")?, row.try_get::<Option<String>, _>("name")?) {
                (Some(email), Some(name)) => Principal::Resident(Resident { id, email, name }),
                _ => return Ok(None),
            }
        } else {
            match staff_by_id(db, id).await? {
                Some(s) => Principal::Staff(s),
                None => return Ok(None),
            }
        };
        let csrf: String = row.try_get("csrf")?;
        let mfa_ok = row.try_get::<i64, _>("mfa_ok")? == 1;
        return Ok(Some(Session { token_hash: th, csrf, mfa_ok, principal, api_token: None }));
    }
    api_token(db, th, now, ip).await
}

async fn api_token(db: &Db, th: String, now: i64, ip: &str) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT id, tenant_id, staff_id, scope, last_used_at FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(&th)
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let tenant_id: i64 = row.try_get("tenant_id")?;
    let Some(scope) = Scope::parse(&row.try_get::<String, _>("scope")?) else {
        return Ok(None);
    };
    let last: Option<i64> = row.try_get("last_used_at")?;
    if last.is_none_or(|l| now - l > 3_600_000) {
        // The first use in an hour is written down (when, from where).
        let ip = ip.to_string();
        db.transact(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                let actor = format!("api_token:{id}");
                let detail = serde_json::json!({"scope": scope.as_str()});
                security::record_in(
                    conn,
                    &Event { tenant_id: Some(tenant_id), kind: Kind::TokenUsed, actor: &actor, ip: &ip, detail },
                )
                .await
            })
        })
        .await?;
    }
    let principal = match scope {
        Scope::IotUplink => Principal::Integration { token_id: id, tenant_id },
        Scope::Staff | Scope::Read => match staff_by_id(db, row.try_get("staff_id")?).await? {
            Some(s) if s.tenant_id == tenant_id => Principal::Staff(s),
            _ => return Ok(None),
        },
    };
    Ok(Some(Session { token_hash: th, csrf: String::new(), mfa_ok: true, principal, api_token: Some((id, scope)) }))
}

/// Writes `last_seen_at` in the background: the request need not wait for it.
fn touch(db: &Db, th: String, now: i64) {
    let db = db.clone();
    tokio::spawn(async move {
        let r = db
            .transact(move |conn| {
                Box::pin(async move {
                    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
                        .bind(now)
                        .bind(th)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "session last-seen update");
        }
    });
}
