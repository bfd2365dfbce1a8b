//! Network-server applications bound to a tenant. An MQTT broker is shared by the deployment;
//! the application named in an uplink's topic (ChirpStack's application id, The Things Stack's
//! application id, the plain format's `kencho/{name}/up`) says whose uplink it is, and only that
//! tenant's devices answer it. An application belongs to one tenant at most.

use kencho_core::iot::uplink::Format;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{is_unique_violation, AppError, Result};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Binding {
    #[serde(default)]
    pub id: i64,
    /// `chirpstack`, `tts` (The Things Stack) or `plain`.
    pub format: String,
    /// ChirpStack application id (a UUID), The Things Stack application id (with `@tenant` on
    /// multi-tenant TTS), or the plain topic's name segment.
    pub application: String,
}

fn check(b: &Binding) -> Result<(Format, String)> {
    let format = Format::from_key(&b.format)
        .ok_or_else(|| AppError::BadRequest(format!("format must be chirpstack, tts or plain, not {:?}", b.format)))?;
    let app = b.application.trim().to_string();
    let fine = !app.is_empty()
        && app.len() <= 100
        && app.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if !fine {
        return Err(AppError::BadRequest(
            "application: 1-100 characters of letters, digits, - _ . @ (an MQTT topic segment)".into(),
        ));
    }
    Ok((format, app))
}

/// Binds an application to the tenant; one already bound to any tenant is a conflict.
pub async fn bind(db: &Db, tenant_id: i64, b: &Binding, actor: &str) -> Result<i64> {
    let (format, app) = check(b)?;
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let row = sqlx::query(
                "INSERT INTO iot_applications (tenant_id, format, application, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(tenant_id)
            .bind(format.key())
            .bind(&app)
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await;
            let id: i64 = match row {
                Ok(r) => r.try_get("id")?,
                Err(e) if is_unique_violation(&e) => {
                    return Err(AppError::Conflict(format!("{} application {app} is already bound", format.key())))
                }
                Err(e) => return Err(e.into()),
            };
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.application_bound",
                &format!("iot_application:{id}"),
                serde_json::json!({"format": format.key(), "application": app}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Binding>> {
    let rows = sqlx::query("SELECT id, format, application FROM iot_applications WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Binding { id: r.try_get("id")?, format: r.try_get("format")?, application: r.try_get("application")? })
        })
        .collect()
}

pub async fn unbind(db: &Db, tenant_id: i64, id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let n = sqlx::query("DELETE FROM iot_applications WHERE id = $1 AND tenant_id = $2")
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
                &actor,
                "iot.application_unbound",
                &format!("iot_application:{id}"),
                serde_json::json!({}),
            )
            .await?;
            Ok(())
        })
    })
    .await
}
