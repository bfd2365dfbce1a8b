//! Who a request is: a session (cookie or bearer) or an API token. Sessions end at their hard
//! expiry and after a while unused (idle timeout); tokens end at their expiry or revocation.

use kencho_core::security::Scope;

use super::model::AccountKind;
use super::{limits, staff_by_id, store, token_hash, Principal, Resident, Session};
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
    if let Some(row) = store::live_session(db, &th, now).await? {
        let id = row.principal_id;
        let seen = row.last_seen_at.max(row.created_at);
        let idle = if row.kind == AccountKind::Resident { RESIDENT_IDLE_MS } else { STAFF_IDLE_MS };
        if now - seen > idle {
            return Ok(None);
        }
        if now - seen > TOUCH_EVERY_MS {
            touch(db, th.clone(), now);
        }
        let principal = if row.kind == AccountKind::Resident {
            match (row.email, row.name) {
                (Some(email), Some(name)) => Principal::Resident(Resident { id, email, name }),
                _ => return Ok(None),
            }
        } else {
            match staff_by_id(db, id).await? {
                Some(s) => Principal::Staff(s),
                None => return Ok(None),
            }
        };
        return Ok(Some(Session { token_hash: th, csrf: row.csrf, mfa_ok: row.mfa_ok, principal, api_token: None }));
    }
    api_token(db, th, now, ip).await
}

async fn api_token(db: &Db, th: String, now: i64, ip: &str) -> Result<Option<Session>> {
    let Some(row) = store::live_token(db, &th, now).await? else {
        return Ok(None);
    };
    let (id, tenant_id) = (row.id, row.tenant_id);
    let Some(scope) = row.scope else {
        return Ok(None);
    };
    let last = row.last_used_at;
    if last.is_none_or(|l| now - l > 3_600_000) {
        // The first use in an hour is written down (when, from where).
        let ip = ip.to_string();
        db.transact(move |conn| {
            Box::pin(async move {
                store::mark_token_used(conn, id, now).await?;
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
        Scope::Staff | Scope::Read => match staff_by_id(db, row.staff_id).await? {
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
        let r = db.transact(move |conn| Box::pin(async move { store::touch_session(conn, &th, now).await })).await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "session last-seen update");
        }
    });
}

/// Deletes expired sessions, old login attempts and spent verification and reset links. Safe to run in
/// every process at once.
pub async fn purge_expired(db: &Db) -> Result<u64> {
    db.transact(|conn| {
        Box::pin(async move {
            let now = now_ms();
            let mut n = store::purge_expired_sessions(conn, now).await?;
            n += limits::purge(conn, now).await?;
            n += security::purge(conn, now).await?;
            n += store::purge_idle_sessions(conn, now - RESIDENT_IDLE_MS.max(STAFF_IDLE_MS)).await?;
            n += store::purge_verifications(conn, now - 7 * 86_400_000).await?;
            n += store::purge_resets(conn, now - 7 * 86_400_000).await?;
            Ok(n)
        })
    })
    .await
}

/// Runs [`purge_expired`] every ten minutes.
pub async fn janitor(db: Db, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("session janitor", std::time::Duration::from_secs(600));
    crate::worker::run(every, stop, || async { purge_expired(&db).await.map(|_| crate::worker::Pass::Idle) }).await;
}
