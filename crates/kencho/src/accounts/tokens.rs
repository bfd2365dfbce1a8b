//! API tokens: made by a tenant administrator, each with one scope (`kencho_core::security::Scope`)
//! and an expiry; shown once, stored as a hash, revocable.

pub use super::model::ApiTokenInfo;
use super::{random_token, store, token_hash, Staff};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use kencho_core::security::Scope;

/// Makes a token; returns it (the only time it is shown).
pub async fn create(db: &Db, by: &Staff, name: &str, scope: Scope, days: Option<i64>) -> Result<String> {
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest(detail!("detail.accounts.token_name_1_100")));
    }
    let days = days.unwrap_or_else(|| scope.default_days());
    if !(1..=scope.max_days()).contains(&days) {
        return Err(AppError::BadRequest(detail!(
            "detail.accounts.token_lives_1_days",
            scope = scope,
            max_days = scope.max_days()
        )));
    }
    let token = format!("kct_{}", random_token());
    let (hash, tenant_id, staff_id) = (token_hash(&token), by.tenant_id, by.id);
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let expires = now + days * 86_400_000;
            let id =
                store::insert_token(conn, (tenant_id, staff_id), (&name, &hash, scope.as_str()), now, expires).await?;
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

/// The tenant's tokens, live or not, oldest first.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<ApiTokenInfo>> {
    store::tokens_of(db, tenant_id).await
}

pub async fn revoke(db: &Db, by: &Staff, id: i64) -> Result<()> {
    let (tenant_id, staff_id) = (by.tenant_id, by.id);
    db.transact(move |conn| {
        Box::pin(async move {
            if !store::revoke_token(conn, id, tenant_id, now_ms()).await? {
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
