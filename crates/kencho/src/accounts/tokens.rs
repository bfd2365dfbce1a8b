//! API tokens: made by a tenant administrator, each with one scope (`kencho_core::security::Scope`)
//! and an expiry; shown once, stored as a hash, revocable.

use kencho_core::security::Scope;
use serde::Serialize;
use sqlx::Row;

use super::{random_token, token_hash, Staff};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// Makes a token; returns it (the only time it is shown).
pub async fn create(db: &Db, by: &Staff, name: &str, scope: Scope, days: Option<i64>) -> Result<String> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest("token name must be 1-100 characters / 名前は1〜100文字".into()));
    }
    let days = days.unwrap_or_else(|| scope.default_days());
    if !(1..=scope.max_days()).contains(&days) {
        return Err(AppError::BadRequest(format!(
            "a {scope} token lives 1 to {} days / 有効期間は1〜{}日",
            scope.max_days(),
            scope.max_days()
        )));
    }
    let token = format!("kct_{}", random_token());
    let (hash, tenant_id, staff_id) = (token_hash(&token), by.tenant_id, by.id);
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let expires = now + days * 86_400_000;
            let id: i64 = sqlx::query(
                "INSERT INTO api_tokens (tenant_id, staff_id, name, token_hash, created_at, scope, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(tenant_id)
            .bind(staff_id)
            .bind(&name)
            .bind(&hash)
            .bind(now)
            .bind(scope.as_str())
            .bind(expires)
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
            audit::append(
                conn,
                tenant_id,
                &format!("staff:{staff_id}"),
                "api_token.create",
                &format!("api_token:{id}"),
                serde_json::json!({"name": name, "scope": scope.as_str(), "expires_at": expires}),
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(token)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    /// `staff`, `read` or `iot_uplink`.
    pub scope: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<ApiTokenInfo>> {
    let rows = sqlx::query(
        "SELECT id, name, scope, created_at, expires_at, last_used_at, revoked_at FROM api_tokens \
         WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiTokenInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                scope: r.try_get("scope")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            })
        })
        .collect()
}

pub async fn revoke(db: &Db, by: &Staff, id: i64) -> Result<()> {
    let (tenant_id, staff_id) = (by.tenant_id, by.id);
    db.transact(move |conn| {
        Box::pin(async move {
            let n = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL",
            )
            .bind(now_ms())
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                tenant_id,
                &format!("staff:{staff_id}"),
                "api_token.revoke",
                &format!("api_token:{id}"),
                serde_json::json!({}),
            )
            .await?;
            Ok(())
        })
    })
    .await
}
