//! Network-server applications bound to a tenant. An MQTT broker is shared by the deployment;
//! the application named in an uplink's topic (ChirpStack's application id, The Things Stack's
//! application id, the plain format's `kencho/{name}/up`) says whose uplink it is, and only that
//! tenant's devices answer it. An application belongs to one tenant at most.

use kencho_core::iot::uplink::Format;

pub use super::model::Binding;
use super::store::applications as store;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{is_unique_violation, AppError, Result};

fn check(b: &Binding) -> Result<(Format, String)> {
    let format = Format::from_key(&b.format).ok_or_else(|| {
        AppError::BadRequest(detail!("detail.iot.format_chirpstack_tts_plain", format = format!("{:?}", b.format)))
    })?;
    let app = b.application.trim().to_string();
    let fine = !app.is_empty()
        && app.len() <= 100
        && app.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if !fine {
        return Err(AppError::BadRequest(detail!("detail.iot.application_name")));
    }
    Ok((format, app))
}

/// Binds an application to the tenant; one already bound to any tenant is a conflict.
pub async fn bind(db: &Db, tenant_id: i64, b: &Binding, actor: &str) -> Result<i64> {
    let (format, app) = check(b)?;
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let id = match store::insert(conn, tenant_id, format.key(), &app, now_ms()).await {
                Ok(id) => id,
                Err(e) if is_unique_violation(&e) => {
                    return Err(AppError::Conflict(detail!(
                        "detail.iot.application_already_bound",
                        key = format.key(),
                        app = app
                    )))
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

/// The tenant's bound applications.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<Binding>> {
    store::list(db, tenant_id).await
}

pub async fn unbind(db: &Db, tenant_id: i64, id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let n = store::delete(conn, id, tenant_id).await?;
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
