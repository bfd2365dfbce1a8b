//! Evacuation information for town areas (高齢者等避難 / 避難指示 / 緊急安全確保) and the mail that
//! tells each subscribed household what its own plan says to do now.
//!
//! Staff issue level 3 at once; level 4 and 5 wait for a second staff member's approval. JMA
//! telegrams (see [`super::jma`]) issue alerts of their own. Issuing and cancelling write one
//! delivery row and one outbox mail per subscription in the same transaction, keyed so that
//! a household is told once per issuance whatever is retried.

use std::sync::Arc;

use kencho_core::evacuation::alert::{AlertSource, AlertStatus};
use sqlx::AnyConnection;

use super::alert_mail::{cancel_mail, issue_mail, MailCtx};
use super::layers::Atlas;
pub(super) use super::model::Phase;
pub use super::model::{Alert, Request};
use super::model::{Delivery, SubscriberRole};
use super::store::alerts::{self as store, NewStaffAlert};
use super::words;
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::t;
use kencho_core::application::Role;
use kencho_core::security::policy::{Action, Policy, Who};

/// Area id meaning "every town area of the tenant" (JMA warnings are per municipality).
pub const WHOLE_TENANT: &str = "*";

/// Who is acting, for the audit log, the tenant's table of roles and the two-person rule.
pub struct Actor {
    pub tenant_id: i64,
    pub tenant_name: String,
    /// e.g. `staff:12` or `jma`.
    pub id: String,
    /// A staff member's role and division with the tenant's table (`None`: JMA telegrams,
    /// which act by law, not by a person's role).
    pub grant: Option<(Policy, Role, String)>,
    /// Opens the plans an alert speaks to (their needs are sealed).
    pub keys: Arc<crate::crypto::Keyring>,
}

impl Actor {
    /// A staff member, with the tenant's table of who may issue, approve and lift alerts.
    pub async fn staff(db: &Db, s: &crate::actor::Staff) -> Result<Actor> {
        let (policy, _) = crate::security::policy::load(db, s.tenant_id).await?;
        Ok(Actor {
            tenant_id: s.tenant_id,
            tenant_name: s.tenant_name.clone(),
            id: format!("staff:{}", s.id),
            grant: Some((policy, s.role, s.division_code.clone())),
            keys: db.keys(),
        })
    }

    /// Refuses (403 `not_permitted`) what the tenant's table does not let this person do.
    fn may(&self, action: Action) -> Result<()> {
        match &self.grant {
            Some((policy, role, division)) if !policy.allows(action, Who { role: *role, division }, None) => {
                Err(AppError::NotPermitted(action.key()))
            }
            _ => Ok(()),
        }
    }
}

/// Checks a staff request against the tenant's town table; returns the normalised towns.
fn check_request(req: &Request, atlas: &Atlas) -> Result<Vec<String>> {
    if !(3..=5).contains(&req.level) {
        return Err(AppError::BadRequest(detail!("detail.evacuation.level_3_4_5")));
    }
    let mut towns: Vec<String> = req.towns.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    towns.sort();
    towns.dedup();
    if towns.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.evacuation.choose_least_one_town")));
    }
    for id in &towns {
        if id != WHOLE_TENANT && atlas.town(id).is_none() {
            return Err(AppError::BadRequest(detail!("detail.evacuation.unknown_town_area", id = id)));
        }
    }
    if req.note.contains('\0') || towns.iter().any(|t| t.contains('\0')) {
        return Err(AppError::BadRequest(detail!("detail.evacuation.nul_characters_allowed")));
    }
    if req.note.chars().count() > 1000 {
        return Err(AppError::BadRequest(detail!("detail.evacuation.note_longer_than_1")));
    }
    Ok(towns)
}

/// A staff member issues (level 3) or proposes (levels 4–5) evacuation information.
pub async fn request(db: &Db, atlas: Arc<Atlas>, base_url: &str, actor: Actor, req: Request) -> Result<i64> {
    let towns = check_request(&req, &atlas)?;
    actor.may(Action::AlertIssue(req.level))?;
    let title = words::level_name(crate::i18n::OFFICE, req.level);
    let base_url = base_url.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let immediate = req.level == 3;
            let new = NewStaffAlert {
                tenant_id: actor.tenant_id,
                level: i64::from(req.level),
                title: &title,
                note: req.note.trim(),
                status: if immediate { AlertStatus::Issued } else { AlertStatus::Pending },
                requested_by: &actor.id,
                created_at: now,
                issued_at: immediate.then_some(now),
                hazard: req.hazard.as_str(),
                issuance: AlertSource::Staff.issuance(),
            };
            let id = store::insert_staff(conn, new).await?;
            store::add_areas(conn, id, towns.iter().map(String::as_str)).await?;
            audit::append(
                conn,
                actor.tenant_id,
                &actor.id,
                if immediate { "evacuation.alert_issued" } else { "evacuation.alert_requested" },
                &format!("alert:{id}"),
                serde_json::json!({"level": req.level, "hazard": req.hazard.as_str(), "towns": towns, "note": req.note.trim()}),
            )
            .await?;
            if immediate {
                fan_out(conn, &actor.keys, id, &atlas, &base_url, &actor.tenant_name, Phase::Issue).await?;
            }
            Ok(id)
        })
    })
    .await
}

/// A second staff member approves a level 4–5 request: it is issued and mailed.
pub async fn approve(db: &Db, atlas: Arc<Atlas>, base_url: &str, actor: Actor, alert_id: i64) -> Result<()> {
    let base_url = base_url.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let found = store::for_approval(conn, actor.tenant_id, alert_id).await?.ok_or(AppError::NotFound)?;
            let (status, requested_by, level) = (found.status, found.requested_by, found.level);
            if status != AlertStatus::Pending {
                return Err(AppError::Conflict(detail!("detail.evacuation.alert_waiting_approval", status = status)));
            }
            if requested_by == actor.id {
                return Err(AppError::Conflict(detail!("detail.evacuation.second_staff_member_approve")));
            }
            actor.may(Action::AlertApprove(u8::try_from(level).unwrap_or(5)))?;
            if !store::mark_issued(conn, alert_id, &actor.id, now_ms()).await? {
                return Err(AppError::StaleForm);
            }
            audit::append(
                conn,
                actor.tenant_id,
                &actor.id,
                "evacuation.alert_approved",
                &format!("alert:{alert_id}"),
                serde_json::json!({"level": level, "requested_by": requested_by}),
            )
            .await?;
            fan_out(conn, &actor.keys, alert_id, &atlas, &base_url, &actor.tenant_name, Phase::Issue).await?;
            Ok(())
        })
    })
    .await
}

/// Cancels (解除) an issued or pending alert; households told of it are told it is over.
pub async fn cancel(db: &Db, atlas: Arc<Atlas>, base_url: &str, actor: Actor, alert_id: i64) -> Result<()> {
    let base_url = base_url.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            cancel_in(conn, alert_id, &atlas, &base_url, &actor, AlertStatus::Cancelled).await?;
            Ok(())
        })
    })
    .await
}

/// Cancels inside the caller's transaction. `status` is `Cancelled` (people are told) or
/// `Superseded` (a newer alert replaces it and says so itself).
pub(super) async fn cancel_in(
    conn: &mut AnyConnection,
    alert_id: i64,
    atlas: &Atlas,
    base_url: &str,
    actor: &Actor,
    status: AlertStatus,
) -> Result<()> {
    let was = store::status(conn, actor.tenant_id, alert_id).await?.ok_or(AppError::NotFound)?;
    if status == AlertStatus::Cancelled {
        actor.may(Action::AlertLift)?;
    }
    if !was.is_live() {
        return Err(AppError::Conflict(detail!("detail.evacuation.alert_already", was = was)));
    }
    // Guarded by the status read above: an approval committing meanwhile makes this a conflict.
    if !store::set_ended(conn, alert_id, status, was, now_ms()).await? {
        return Err(AppError::StaleForm);
    }
    audit::append(
        conn,
        actor.tenant_id,
        &actor.id,
        if status == AlertStatus::Cancelled { "evacuation.alert_cancelled" } else { "evacuation.alert_superseded" },
        &format!("alert:{alert_id}"),
        serde_json::json!({"was": was.as_str()}),
    )
    .await?;
    if was == AlertStatus::Issued && status == AlertStatus::Cancelled {
        fan_out(conn, &actor.keys, alert_id, atlas, base_url, &actor.tenant_name, Phase::Cancel).await?;
    }
    Ok(())
}

/// Writes one delivery and one mail per subscription the alert reaches. Each mail carries
/// that household's own action for the level and the hazards its home is exposed to.
pub(super) async fn fan_out(
    conn: &mut AnyConnection,
    keys: &crate::crypto::Keyring,
    alert_id: i64,
    atlas: &Atlas,
    base_url: &str,
    tenant_name: &str,
    phase: Phase,
) -> Result<usize> {
    let text = store::text(conn, alert_id).await?;
    let (tenant_id, alert) = (text.tenant_id, text.info);
    let towns = store::towns(conn, alert_id).await?;
    let rows = store::reached(conn, tenant_id, alert_id, phase).await?;
    let now = now_ms();
    let mut deliveries = Vec::with_capacity(rows.len());
    let mut areas_by_lang: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for r in &rows {
        let (sub_id, lang) = (r.sub_id, &r.lang);
        // A plan that does not open still gets the alert, with the general action.
        let answers = super::model::open_data(keys, &r.plan_token, &r.data).unwrap_or_else(|e| {
            tracing::error!(error = %e, subscription = sub_id, "a plan does not open; its household gets the general action");
            Default::default()
        });
        let areas = areas_by_lang
            .entry(lang.clone())
            .or_insert_with(|| {
                // A JMA warning covers the municipality: name it as a whole, not town by town.
                if alert.source == AlertSource::Jma {
                    t(lang, "evacuation.whole_area")
                } else {
                    area_names(lang, atlas, &towns)
                }
            })
            .clone();
        let ctx = MailCtx {
            lang,
            tenant_name,
            alert: &alert,
            areas: &areas,
            base_url,
            sub_token: &r.sub_token,
            plan_token: &r.plan_token,
            supporter: r.role == SubscriberRole::Supporter,
        };
        let (subject, body) = match phase {
            Phase::Issue => issue_mail(&ctx, &answers, atlas),
            Phase::Cancel => cancel_mail(&ctx),
        };
        deliveries.push(Delivery { sub_id, email: r.email.clone(), subject, body });
    }
    store::deliver(conn, alert_id, phase, now, &deliveries).await?;
    Ok(rows.len())
}

fn area_names(lang: &str, atlas: &Atlas, towns: &[String]) -> String {
    let names: Vec<String> = towns
        .iter()
        .map(|id| {
            if id == WHOLE_TENANT {
                t(lang, "evacuation.whole_area")
            } else {
                atlas.town(id).map(|t| t.name()).unwrap_or_else(|| id.clone())
            }
        })
        .collect();
    names.join(&t(lang, "evacuation.list_sep"))
}

/// The tenant's alerts, newest first, with their town areas.
pub async fn list(db: &Db, tenant_id: i64, limit: i64) -> Result<Vec<Alert>> {
    let mut out = store::latest(db, tenant_id, limit).await?;
    // The areas of every listed alert in one query, not one per alert.
    let areas = store::areas_from(db, tenant_id, out.last().map_or(0, |a| a.id)).await?;
    let at: std::collections::HashMap<i64, usize> = out.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    for (alert, town) in areas {
        if let Some(a) = at.get(&alert).and_then(|i| out.get_mut(*i)) {
            a.towns.push(town);
        }
    }
    Ok(out)
}

/// Issued alerts that cover a plan's town (what a resident sees on their plan page).
pub async fn in_force_for(db: &Db, tenant_id: i64, town_id: &str) -> Result<Vec<Alert>> {
    store::in_force_for(db, tenant_id, town_id).await
}

impl SubscriberRole {
    pub fn label(self, lang: &str) -> String {
        t(
            lang,
            if self == SubscriberRole::Supporter { "evacuation.role_supporter" } else { "evacuation.role_household" },
        )
    }
}
