//! Trust, stored: the security-event log (failed sign-ins, blocks, token use, refusals: what
//! was tried, kept apart from the audit log of what was done) and each tenant's table of who
//! may do the sensitive acts ([`policy`]).

pub mod policy;

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, Db};
use crate::error::Result;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A wrong password, or an unknown account.
    LoginFailed,
    /// A wrong or reused second-factor code.
    MfaFailed,
    /// An attempt refused because its key is blocked.
    LoginRefused,
    /// Too many attempts: a key is now blocked for a while.
    BlockStarted,
    /// An API token was used (at most once an hour per token is recorded).
    TokenUsed,
    /// A signed-in caller was refused (403/404 on something of another role, tenant or scope).
    Refused,
    /// Sign-up or anonymous creation slowed down for an address.
    CreationLimited,
}

kencho_core::names!(Kind, "security event kind" {
    LoginFailed = "login_failed",
    MfaFailed = "mfa_failed",
    LoginRefused = "login_refused",
    BlockStarted = "block_started",
    TokenUsed = "token_used",
    Refused = "refused",
    CreationLimited = "creation_limited",
});

/// One event to record.
pub struct Event<'a> {
    /// `None`: the platform (resident accounts, unknown addresses).
    pub tenant_id: Option<i64>,
    pub kind: Kind,
    /// `staff:3`, `resident:9`, `api_token:4`, `email:…` for unknown accounts.
    pub actor: &'a str,
    pub ip: &'a str,
    pub detail: serde_json::Value,
}

/// Records inside the caller's transaction.
pub async fn record_in(conn: &mut AnyConnection, e: &Event<'_>) -> Result<()> {
    sqlx::query("INSERT INTO security_events (at, tenant_id, kind, actor, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(now_ms())
        .bind(e.tenant_id)
        .bind(e.kind.as_str())
        .bind(e.actor.chars().take(200).collect::<String>())
        .bind(e.ip.chars().take(100).collect::<String>())
        .bind(e.detail.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records in a transaction of its own (durable before the caller answers).
pub async fn record(db: &Db, e: Event<'_>) -> Result<()> {
    let (tenant_id, kind, actor, ip, detail) = (e.tenant_id, e.kind, e.actor.to_string(), e.ip.to_string(), e.detail);
    db.transact(move |conn| {
        Box::pin(async move {
            record_in(conn, &Event { tenant_id, kind, actor: &actor, ip: &ip, detail }).await?;
            Ok(())
        })
    })
    .await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub id: i64,
    /// Epoch milliseconds.
    pub at: i64,
    #[schema(value_type = String)]
    pub kind: Kind,
    pub actor: String,
    pub ip: String,
    /// JSON text.
    pub detail: String,
}

/// A tenant's newest events.
pub async fn list(db: &Db, tenant_id: i64, limit: i64) -> Result<Vec<StoredEvent>> {
    let rows = sqlx::query(
        "SELECT id, at, kind, actor, ip, detail FROM security_events WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(tenant_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                kind: crate::db::parsed(r, "kind", Kind::parse)?,
                actor: r.try_get("actor")?,
                ip: r.try_get("ip")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// Events are kept a year.
pub async fn purge(conn: &mut AnyConnection, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM security_events WHERE at < $1")
        .bind(now - 366 * 86_400_000)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_kinds_round_trip() {
        kencho_core::name::check_names::<super::Kind>();
    }
}
