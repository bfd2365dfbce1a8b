//! Reading 起案: one 起案 for those who may see it, its history, an application's live 起案,
//! a 起案's body for the notice, and the paperless figures.

use kencho_core::approval::figures::{self, DivisionFigures};
use kencho_core::approval::org::{Org, PostId};
use kencho_core::approval::route::StateKind;
use sqlx::AnyConnection;

use super::model::{HistoryLine, Kian};
use super::store;
use crate::actor::Staff;
use crate::approval::setup::{person_of, Setup};
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// Loads a 起案 for a staff member of its tenant who may see it.
pub async fn get(db: &Db, setup: &Setup, staff: &Staff, id: i64) -> Result<Kian> {
    let k = store::by_id(db, id).await?.ok_or(AppError::NotFound)?;
    if k.tenant_id != staff.tenant_id || !may_see(&setup.org, staff, &k) {
        return Err(AppError::NotFound);
    }
    Ok(k)
}

/// The drafter, whoever holds (or acted in) a step or reads it, owes it a 後閲, and
/// administrators see a 起案; nobody else in the office does.
pub(super) fn may_see(org: &Org, staff: &Staff, k: &Kian) -> bool {
    if staff.id == k.drafter_id || staff.role == kencho_core::application::Role::Admin {
        return true;
    }
    let me = person_of(staff.id);
    let today = crate::clock::date_at(now_ms());
    // The posts held today, once: this runs for every row a search looks at.
    let mine = org.posts_of(&me, today);
    let holds = |p: &PostId| {
        org.holder(p, today).as_ref() == Some(&me)
            || org.is_substitute(&me, p, today)
            || mine.iter().any(|m| org.is_above(m, p, today))
    };
    k.route.stages().iter().flat_map(|s| s.steps.iter()).any(|s| holds(&s.post))
        || k.route.readers().iter().any(holds)
        || k.route.events().iter().any(|e| e.actor.as_ref() == Some(&me))
        || k.route.kouetsu().iter().any(|x| x.person == me)
}

/// A 起案's history, for the table.
pub async fn history(db: &Db, id: i64) -> Result<Vec<HistoryLine>> {
    store::history(db, id).await
}

/// The live 起案 of an application, if any.
pub async fn of_application(db: &Db, application_id: i64) -> Result<Option<(i64, StateKind)>> {
    store::live_of_application(db, application_id).await
}

/// A 起案's body, if there is such a 起案: the reasons a decision notice issued at its 施行
/// gives when the decision itself carried no text.
pub async fn kian_body(conn: &mut AnyConnection, id: i64) -> Result<Option<String>> {
    store::body(conn, id).await
}

/// Paperless figures for a tenant over 起案 created in `[from_ms, to_ms)`.
pub async fn figures(db: &Db, tenant_id: i64, from_ms: i64, to_ms: i64) -> Result<Vec<DivisionFigures>> {
    Ok(figures::compute(&store::figure_rows(db, tenant_id, from_ms, to_ms).await?))
}
