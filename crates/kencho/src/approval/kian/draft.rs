//! Drafting a 起案: the draft checked, its route proposed, and the 起案 stored in the caller's
//! transaction (or in its own, for [`create`]).

use kencho_core::approval::org::{DivisionId, Org, PostId};
use kencho_core::approval::records::RetentionClass;
use kencho_core::approval::route;
use kencho_core::search;
use sqlx::AnyConnection;
use time::Date;

use super::model::{Draft, Prepared, Source};
use super::{store, Links};
use crate::actor::Staff;
use crate::approval::setup::{person_of, SetupCache};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Detail, Result};

fn check_text(field: &str, s: &str, max: usize, multiline: bool) -> Result<()> {
    if s.trim().is_empty() {
        return Err(AppError::BadRequest(detail!("detail.approval.empty", field = field)));
    }
    if s.chars().count() > max || kencho_core::text::has_control_chars(s, multiline) {
        return Err(AppError::BadRequest(detail!("detail.approval.text_most_characters", field = field, max = max)));
    }
    Ok(())
}

impl Draft {
    fn check(&self) -> Result<()> {
        check_text("title", &self.title, 200, false)?;
        check_text("body", &self.body, 20_000, true)?;
        check_text("kind of matter", &self.matter_kind, 100, false)?;
        if self.amount.is_some_and(|a| a < 0) {
            return Err(AppError::BadRequest(detail!("detail.approval.amount_negative")));
        }
        if RetentionClass::from_code(self.retention_years).is_none() {
            return Err(AppError::BadRequest(detail!("detail.approval.retention_1_0_1")));
        }
        if kencho_core::procedure::Disposal::parse(&self.disposal).is_none() {
            return Err(AppError::BadRequest(detail!("detail.approval.disposal_haiki_ikan")));
        }
        if self.consult.len() > 20 {
            return Err(AppError::BadRequest(detail!("detail.approval.most_20_divisions")));
        }
        Ok(())
    }
}

/// The drafter's post: the one named, which they must hold today, or their first.
fn drafter_post(org: &Org, staff: &Staff, wanted: Option<&str>, date: Date) -> Result<PostId> {
    let mine = org.posts_of(&person_of(staff.id), date);
    match wanted.filter(|w| !w.is_empty()) {
        Some(w) => mine
            .into_iter()
            .find(|p| p.0 == w)
            .ok_or_else(|| AppError::BadRequest(detail!("detail.approval.you_do_hold_post", w = w))),
        None => mine
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Refused("no_post", detail!("detail.approval.you_hold_no_post"))),
    }
}

fn propose_error(e: route::ProposeError) -> AppError {
    AppError::Refused("no_route", Detail::from(&e))
}

fn search_text(title: &str, body: &str) -> String {
    search::normalise(&format!("{title}\n{body}"))
}

/// Checks a draft and proposes its route (outside any transaction: it reads the setup). For
/// an application, [`create`] has filled in what the procedure decides (the kind of matter,
/// retention and disposal) before this; only the decision is the drafter's.
pub async fn prepare(db: &Db, cache: &SetupCache, staff: &Staff, d: &mut Draft) -> Result<Prepared> {
    if d.application_id.is_some() {
        if !matches!(d.decision.as_deref(), Some("approve" | "deny")) {
            return Err(AppError::BadRequest(detail!("detail.approval.decision_approve_deny")));
        }
    } else if d.source == Source::Application {
        return Err(AppError::BadRequest(detail!("detail.approval.application_needs_application")));
    } else {
        d.decision = None;
    }
    d.check()?;
    let setup = cache.get(db, staff.tenant_id).await?;
    let now = now_ms();
    let date = crate::clock::date_at(now);
    let post = drafter_post(&setup.org, staff, d.drafter_post.as_deref(), date)?;
    let consult: Vec<(DivisionId, bool)> = d.consult.iter().map(|(c, p)| (DivisionId(c.clone()), *p)).collect();
    let mut route = route::propose(
        &setup.org,
        &setup.rules,
        &person_of(staff.id),
        &post,
        d.matter_kind.trim(),
        d.amount,
        d.important,
        date,
        &consult,
    )
    .map_err(propose_error)?;
    route.set_flags(d.important, d.urgent);
    let division =
        setup.org.post(&post, date).map(|p| p.division.0.clone()).ok_or_else(|| AppError::Internal("post".into()))?;
    let route_json = serde_json::to_string(&route).map_err(AppError::unexpected)?;
    Ok(Prepared { post, division, route_json, now })
}

/// Stores a prepared 起案 in the caller's transaction; returns its id. An application gets at
/// most one live 起案: [`create`] locks its row (through [`Links`]) before this checks.
pub async fn insert(conn: &mut AnyConnection, staff: &Staff, d: &Draft, prep: &Prepared) -> Result<i64> {
    if let Some(app_id) = d.application_id {
        if store::application_has_live(conn, app_id).await? {
            return Err(AppError::Refused("already_drafted", detail!("detail.approval.application_already_has")));
        }
    }
    let id = store::insert(conn, staff, d, prep, &search_text(&d.title, &d.body)).await?;
    audit::append(
        conn,
        staff.tenant_id,
        &format!("staff:{}", staff.id),
        "kian.drafted",
        &format!("kian:{id}"),
        serde_json::json!({"title": d.title.trim(), "kind": d.matter_kind.trim(), "amount": d.amount, "source": d.source.as_str(), "application": d.application_id, "important": d.important, "urgent": d.urgent}),
    )
    .await?;
    Ok(id)
}

/// Starts a 起案 with the route kencho proposes; returns its id. It stays a draft until the
/// drafter submits it, so the route can be changed first. For an application, its procedure
/// decides the kind of matter, retention and disposal, and the drafter must be allowed to see
/// it.
pub async fn create<L: Links>(db: &Db, links: L, cache: &SetupCache, staff: &Staff, mut d: Draft) -> Result<i64> {
    if let Some(app_id) = d.application_id {
        let m = links.application_matter(db, staff, app_id).await?;
        d.matter_kind = m.kind;
        d.retention_years = m.retention_years;
        d.disposal = m.disposal;
        d.source = Source::Application;
    }
    let prep = prepare(db, cache, staff, &mut d).await?;
    let (staff, keys) = (staff.clone(), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            if let Some(app_id) = d.application_id {
                links.lock_application(conn, &keys, &staff, app_id).await?;
            }
            insert(conn, &staff, &d, &prep).await
        })
    })
    .await
}
