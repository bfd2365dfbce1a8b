//! Capture permits (捕獲許可, 鳥獣保護管理法 第9条): registration, traps working under them, and
//! each permit's report (捕獲等の結果の報告, due 30 days after the period ends). The rules are
//! `kencho_core::iot::wildlife`; the SQL is in the store.

use kencho_core::forms::iso;
use kencho_core::iot::wildlife::{CaptureError, Species, TrapType};
use kencho_core::security::policy::{Action, Who};
use sqlx::AnyConnection;

pub use super::model::{NewPermit, PermitInfo, TrapPermit};
use super::store::permits as store;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// Today in JST, for whether a permit's report is overdue.
fn today() -> time::Date {
    crate::clock::date_at(now_ms())
}

/// Registers a permit; 許可番号 is unique within the tenant.
pub async fn add(db: &Db, tenant_id: i64, p: &NewPermit, actor: &str) -> Result<i64> {
    let permit = p.to_permit()?;
    let email = p.holder_email.trim().to_lowercase();
    if !email.is_empty() && !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest(detail!("detail.iot.holder_email_e_mail")));
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            if store::number_taken(conn, tenant_id, &permit.number).await? {
                return Err(AppError::Conflict(detail!("detail.iot.permit_already_registered", number = permit.number)));
            }
            let species: Vec<String> = permit.species.iter().map(Species::stored).collect();
            let traps: Vec<&str> = permit.trap_types.iter().map(|t| t.key()).collect();
            let id = store::insert(conn, tenant_id, (&permit, &email), (&species, &traps), &actor).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.permit_registered",
                &format!("permit:{id}"),
                serde_json::json!({"number": permit.number, "species": species, "from": iso(permit.from), "to": iso(permit.to)}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// The tenant's permits, newest period first.
pub async fn list(db: &Db, tenant_id: i64) -> Result<Vec<PermitInfo>> {
    store::list(db, tenant_id, today()).await
}

/// One permit of the tenant (another tenant's is "not found").
pub async fn get(db: &Db, tenant_id: i64, id: i64) -> Result<PermitInfo> {
    store::get(db, tenant_id, id, today()).await?.ok_or(AppError::NotFound)
}

/// Puts a trap under a permit with its trap type (one the permit allows).
pub async fn assign_device(
    db: &Db,
    tenant_id: i64,
    permit_id: i64,
    device_id: i64,
    trap_type: &str,
    actor: &str,
) -> Result<()> {
    let permit = get(db, tenant_id, permit_id).await?.permit()?;
    let t = TrapType::parse(trap_type).ok_or(CaptureError::UnknownTrapType)?;
    if !permit.trap_types.contains(&t) {
        return Err(CaptureError::TrapTypeNotPermitted.into());
    }
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            if store::assign_device(conn, tenant_id, permit_id, device_id, t.key()).await? != 1 {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.trap_permit_assigned",
                &format!("device:{device_id}"),
                serde_json::json!({"permit": permit_id, "trap_type": t.key()}),
            )
            .await
        })
    })
    .await
}

/// Records that the result was reported to the 都道府県知事 (or the office that issued it).
pub async fn mark_reported(db: &Db, tenant_id: i64, id: i64, actor: &str) -> Result<()> {
    let actor = actor.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            if store::set_reported(conn, tenant_id, id).await? != 1 {
                return Err(if store::exists(conn, tenant_id, id).await? {
                    AppError::Conflict(detail!("detail.iot.report_already_recorded"))
                } else {
                    AppError::NotFound
                });
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "iot.permit_reported",
                &format!("permit:{id}"),
                serde_json::json!({}),
            )
            .await
        })
    })
    .await
}

/// A trap's permit and trap type, read inside the capture's transaction.
pub async fn of_device(conn: &mut AnyConnection, tenant_id: i64, device_id: i64) -> Result<Option<TrapPermit>> {
    let Some((info, trap_type)) = store::of_device(conn, tenant_id, device_id, today()).await? else { return Ok(None) };
    Ok(Some(TrapPermit {
        permit_id: info.id,
        permit: info.permit()?,
        trap_type: trap_type.as_deref().and_then(TrapType::parse),
    }))
}

/// Who hears of a 錯誤捕獲: the tenant's 鳥獣 staff (everyone its roles table grants
/// [`Action::Wildlife`], by role and, when the tenant names them, division); when the table
/// grants it to nobody on the staff, the tenant's administrators, so that the news reaches
/// someone who can act or set the roles. The flag says whether it fell back.
pub async fn wildlife_staff(conn: &mut AnyConnection, tenant_id: i64) -> Result<(Vec<String>, bool)> {
    let (policy, _) = crate::security::policy::load_in(conn, tenant_id).await?;
    let (mut granted, mut admins) = (Vec::new(), Vec::new());
    for (email, role, division) in store::staff(conn, tenant_id).await? {
        let Some(role) = kencho_core::application::Role::parse(&role) else { continue };
        if policy.allows(Action::Wildlife, Who { role, division: &division }, None) {
            granted.push(email);
        } else if role == kencho_core::application::Role::Admin {
            admins.push(email);
        }
    }
    Ok(if granted.is_empty() { (admins, true) } else { (granted, false) })
}

/// The permit (and trap type) of the trap behind a mailed acknowledgement token, for the
/// capture form.
pub async fn of_ack_token(db: &Db, token: &str) -> Result<Option<(PermitInfo, Option<String>)>> {
    if token.len() > 100 {
        return Ok(None);
    }
    store::of_ack_token(db, token, today()).await
}
