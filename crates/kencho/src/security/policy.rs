//! Each tenant's table of who may do the sensitive acts (roles as data; the rules and the
//! document format are `kencho_core::security::policy`). No row: the defaults.

use kencho_core::security::policy::{Action, Policy, Who};
use sqlx::Row;

use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// The tenant's table and its document as stored (empty: defaults).
pub async fn load(db: &Db, tenant_id: i64) -> Result<(Policy, String)> {
    let mut conn = db.read.acquire().await?;
    load_in(&mut conn, tenant_id).await
}

/// [`load`] inside the caller's transaction.
pub async fn load_in(conn: &mut sqlx::AnyConnection, tenant_id: i64) -> Result<(Policy, String)> {
    let row = sqlx::query("SELECT document FROM tenant_policies WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok((Policy::default(), String::new()));
    };
    let text: String = row.try_get("document")?;
    // Stored documents were checked when saved; a later, stricter reader keeps the defaults
    // for safety rather than opening anything up.
    let policy = Policy::parse(&text).unwrap_or_default();
    Ok((policy, text))
}

/// Refuses (403 `not_permitted`, naming the act) unless the tenant's table lets `staff` do
/// `action`; `on_division`: the division code of what is acted on, when it has one.
pub async fn require(db: &Db, staff: &Staff, action: Action, on_division: Option<&str>) -> Result<()> {
    let (policy, _) = load(db, staff.tenant_id).await?;
    if policy.allows(action, Who { role: staff.role, division: &staff.division_code }, on_division) {
        Ok(())
    } else {
        Err(AppError::NotPermitted(action.key()))
    }
}

/// Whether `staff` may do `action` (for showing or hiding controls).
pub async fn allows(db: &Db, staff: &Staff, action: Action) -> Result<bool> {
    let (policy, _) = load(db, staff.tenant_id).await?;
    Ok(policy.allows(action, Who { role: staff.role, division: &staff.division_code }, None))
}

/// Replaces the tenant's table (administrators only); checked whole first.
pub async fn save(db: &Db, by: &Staff, text: &str) -> Result<Policy> {
    let policy = Policy::parse(text).map_err(AppError::findings)?;
    let (tenant_id, actor, text) = (by.tenant_id, format!("staff:{}", by.id), text.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            sqlx::query(
                "INSERT INTO tenant_policies (tenant_id, document, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
            )
            .bind(tenant_id)
            .bind(&text)
            .bind(now)
            .bind(&actor)
            .execute(&mut *conn)
            .await?;
            audit::append(conn, tenant_id, &actor, "policy.update", "policy", serde_json::json!({"document": text}))
                .await?;
            Ok(())
        })
    })
    .await?;
    Ok(policy)
}
