//! 施行: a decided 起案 carried out, by the kind of 起案 it is.

use sqlx::AnyConnection;

use super::model::{Executed, Kian, Source};
use super::{store, Links, RouteDecision};
use crate::actor::Staff;
use crate::approval::setup::{Setup, SetupCache};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// 施行: the drafter, or anyone of the drafting section, carries out a decided 起案. For an application the decision reaches the
/// resident (status, mail; the caller then issues the signed notice); for a disposal the
/// records are disposed of (files leave the disk after the commit).
pub async fn execute<L: Links>(
    db: &Db,
    links: L,
    cache: &SetupCache,
    base_url: &str,
    data_dir: &std::path::Path,
    staff: &Staff,
    id: i64,
) -> Result<Executed> {
    let (policy, _) = crate::security::policy::load(db, staff.tenant_id).await?;
    let setup = cache.get(db, staff.tenant_id).await?;
    let (staff, base_url, dir, db2) = (staff.clone(), base_url.to_string(), data_dir.to_path_buf(), db.clone());
    let after = links.clone();
    let outcome = db
        .transact(move |conn| {
            Box::pin(async move {
                let k = store::lock(conn, id).await?;
                if k.tenant_id != staff.tenant_id {
                    return Err(AppError::NotFound);
                }
                // Who may 施行 is the roles table's (`kian_execute`): a refusal of the role, 403.
                if !k.may_execute(&policy, &staff) {
                    return Err(AppError::NotPermitted("kian_execute".into()));
                }
                if !k.is_decided() {
                    return Err(AppError::Refused("wrong_state", detail!("detail.approval.decided_carried_out")));
                }
                if k.executed_at.is_some() {
                    return Err(AppError::Refused("wrong_state", detail!("detail.approval.has_already_been_carried")));
                }
                let now = now_ms();
                store::mark_executed(conn, id, now).await?;
                let done = carry_out_source(&db2, links, conn, (&base_url, &dir), &staff, &setup, &k).await?;
                audit::append(
                    conn,
                    k.tenant_id,
                    &format!("staff:{}", staff.id),
                    "kian.executed",
                    &format!("kian:{id}"),
                    serde_json::json!({"number": k.number, "application": k.application_id}),
                )
                .await?;
                Ok(done)
            })
        })
        .await;
    match outcome {
        Ok(done) => {
            crate::approval::records::finish(db, &after, data_dir, &done.released).await;
            Ok(done)
        }
        Err(e) => {
            // Packages written for a disposal that did not commit hold personal data: remove them.
            crate::approval::records::discard_partial(data_dir, id).await;
            Err(e)
        }
    }
}

/// What 施行 does, by the kind of 起案 (inside the 施行 transaction).
async fn carry_out_source<L: Links>(
    db: &Db,
    links: L,
    conn: &mut AnyConnection,
    (base_url, dir): (&str, &std::path::Path),
    staff: &Staff,
    setup: &Setup,
    k: &Kian,
) -> Result<Executed> {
    let mut done = Executed::default();
    match k.source {
        Source::Application => {
            let app_id =
                k.application_id.ok_or_else(|| AppError::Internal("application 起案 without application".into()))?;
            let decision = RouteDecision {
                application_id: app_id,
                approve: k.decision.as_deref() == Some("approve"),
                notice: &k.body,
                number: k.number.as_deref(),
            };
            links.decide_application(db, conn, base_url, staff, decision).await?;
            done.application = Some(app_id);
        }
        Source::Disposal => {
            done.released = crate::approval::records::carry_out(conn, &links, &db.keys(), dir, staff, setup, k).await?;
        }
        // A refund above the tenant's limit waited for this 決裁.
        Source::Internal => links.internal_executed(conn, k.id).await?,
    }
    Ok(done)
}
