//! A staff member's decision on an application with its signed notice (電子交付): the
//! notice is rendered and signed before the decision's transaction, recorded in it, and issued
//! after it when it could not be made with it (`documents`).

use std::path::Path;

use kencho_core::application::{Action, Status};

use super::Links;
use crate::actor::Staff;
use crate::applications;
use crate::db::Db;
use crate::documents;
use crate::error::Result;

/// A staff action: 受付, 補正依頼, 却下, or the one-step decision (承認 / 不承認). A decision's
/// signed notice (決定通知書) is issued with it.
pub async fn staff_action(
    db: &Db,
    links: &Links,
    (base_url, data_dir): (&str, &Path),
    staff: &Staff,
    id: i64,
    action: Action,
) -> Result<Status> {
    let notice = documents::prepare_for_decision(db, links, base_url, data_dir, staff, id, &action).await;
    let (db2, links2, base_url2, staff) = (db.clone(), links.clone(), base_url.to_string(), staff.clone());
    let (to, notice_recorded) = db
        .transact(move |conn| {
            Box::pin(async move {
                let (a, to) = applications::staff_act(conn, &db2, links2, &base_url2, &staff, id, &action).await?;
                let recorded = match &notice {
                    Some(n) => {
                        let actor = format!("staff:{}", staff.id);
                        documents::record_for_decision(conn, n, a.id, a.revision, to, &actor).await?
                    }
                    None => false,
                };
                Ok((to, recorded))
            })
        })
        .await?;
    // The decision has committed; a notice not made with it is issued now (idempotent).
    if matches!(to, Status::Approved | Status::Denied | Status::Rejected) && !notice_recorded {
        if let Err(e) = documents::issue_decision_notice(db, links, base_url, data_dir, id, None).await {
            tracing::error!(error = %e, application_id = id, "the decision notice could not be issued");
        }
    }
    Ok(to)
}
