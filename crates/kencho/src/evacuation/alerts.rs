//! Evacuation information for town areas (高齢者等避難 / 避難指示 / 緊急安全確保) and the mail that
//! tells each subscribed household what its own plan says to do now.
//!
//! Staff issue level 3 at once; level 4 and 5 wait for a second staff member's approval. JMA
//! telegrams (see [`super::jma`]) issue alerts of their own. Issuing and cancelling write one
//! delivery row and one outbox mail per subscription in the same transaction, keyed so that
//! a household is told once per issuance whatever is retried.

use std::sync::Arc;

use kencho_core::evacuation::alert::{AlertHazard, AlertStatus, Issuance};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::alert_mail::{cancel_mail, issue_mail, AlertInfo, MailCtx};
use super::layers::Atlas;
use super::plans::Role as SubscriberRole;
use super::words;
use crate::audit;
use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{AppError, Result};
use crate::i18n::t;
use crate::mail;
use kencho_core::application::Role;
use kencho_core::security::policy::{Action, Policy, Who};

/// Area id meaning "every town area of the tenant" (JMA warnings are per municipality).
pub const WHOLE_TENANT: &str = "*";

/// The town areas an alert covers, written in one round trip.
pub async fn add_areas<'a>(
    conn: &mut AnyConnection,
    alert_id: i64,
    towns: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut batch = Batch::new();
    for town in towns {
        batch.push(
            "INSERT INTO evacuation_alert_areas (alert_id, town_id) VALUES ($1, $2)",
            vec![Arg::Int(alert_id), Arg::Text(town.to_string())],
        );
    }
    batch.run(conn).await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: i64,
    pub level: i64,
    /// `staff` or `jma`.
    pub source: String,
    pub title: String,
    pub note: String,
    /// `pending` (waiting for a second approver), `issued`, `cancelled`, `superseded`.
    #[schema(value_type = String)]
    pub status: AlertStatus,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub event_id: String,
    /// The hazards it is about, comma-separated (`flood`, `landslide`, `storm_surge`, `rain`,
    /// `other`).
    pub hazard: String,
    /// `order` (発令 by the municipality) or `equivalent` (警戒レベル相当情報 from JMA).
    pub issuance: String,
    /// JMA's levels per hazard (JSON), '' for staff alerts.
    #[serde(skip)]
    pub jma_levels: String,
    pub created_at: i64,
    pub issued_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub towns: Vec<String>,
    /// Subscriptions told of the issue.
    pub told: i64,
}

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

pub struct Request {
    pub level: u8,
    /// What the alert is about: a household acts on it as far as its home is exposed.
    pub hazard: AlertHazard,
    pub towns: Vec<String>,
    pub note: String,
}

/// Checks a staff request against the tenant's town table; returns the normalised towns.
fn check_request(req: &Request, atlas: &Atlas) -> Result<Vec<String>> {
    if !(3..=5).contains(&req.level) {
        return Err(AppError::BadRequest("level must be 3 (高齢者等避難), 4 (避難指示) or 5 (緊急安全確保)".into()));
    }
    let mut towns: Vec<String> = req.towns.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    towns.sort();
    towns.dedup();
    if towns.is_empty() {
        return Err(AppError::BadRequest("choose at least one town area (町字)".into()));
    }
    for id in &towns {
        if id != WHOLE_TENANT && atlas.town(id).is_none() {
            return Err(AppError::BadRequest(format!("unknown town area {id}")));
        }
    }
    if req.note.contains('\0') || towns.iter().any(|t| t.contains('\0')) {
        return Err(AppError::BadRequest("NUL characters are not allowed".into()));
    }
    if req.note.chars().count() > 1000 {
        return Err(AppError::BadRequest("the note is longer than 1,000 characters".into()));
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
            let id: i64 = sqlx::query(
                "INSERT INTO evacuation_alerts (tenant_id, level, source, title, note, status, requested_by, event_id, created_at, issued_at, hazard, issuance) \
                 VALUES ($1, $2, 'staff', $3, $4, $5, $6, '', $7, $8, $9, $10) RETURNING id",
            )
            .bind(actor.tenant_id)
            .bind(i64::from(req.level))
            .bind(&title)
            .bind(req.note.trim())
            .bind(if immediate { AlertStatus::Issued } else { AlertStatus::Pending }.as_str())
            .bind(&actor.id)
            .bind(now)
            .bind(immediate.then_some(now))
            .bind(req.hazard.as_str())
            .bind(Issuance::Order.as_str())
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
            add_areas(conn, id, towns.iter().map(String::as_str)).await?;
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
            let row = sqlx::query(
                "SELECT status, requested_by, level FROM evacuation_alerts WHERE id = $1 AND tenant_id = $2",
            )
            .bind(alert_id)
            .bind(actor.tenant_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AppError::NotFound)?;
            let status = crate::db::parsed(&row, "status", AlertStatus::parse)?;
            let (requested_by, level): (String, i64) = (row.try_get("requested_by")?, row.try_get("level")?);
            if status != AlertStatus::Pending {
                return Err(AppError::Conflict(format!("the alert is {status}, not waiting for approval")));
            }
            if requested_by == actor.id {
                return Err(AppError::Conflict(
                    "a second staff member must approve (二人目の職員の承認が必要です)".into(),
                ));
            }
            actor.may(Action::AlertApprove(u8::try_from(level).unwrap_or(5)))?;
            let now = now_ms();
            let done = sqlx::query(
                "UPDATE evacuation_alerts SET status = 'issued', approved_by = $1, issued_at = $2 WHERE id = $3 AND status = 'pending'",
            )
            .bind(&actor.id)
            .bind(now)
            .bind(alert_id)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
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
    let row = sqlx::query("SELECT status FROM evacuation_alerts WHERE id = $1 AND tenant_id = $2")
        .bind(alert_id)
        .bind(actor.tenant_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let was = crate::db::parsed(&row, "status", AlertStatus::parse)?;
    if status == AlertStatus::Cancelled {
        actor.may(Action::AlertLift)?;
    }
    if !was.is_live() {
        return Err(AppError::Conflict(format!("the alert is already {was}")));
    }
    // Guarded by the status read above: an approval committing meanwhile makes this a conflict.
    let done = sqlx::query("UPDATE evacuation_alerts SET status = $1, cancelled_at = $2 WHERE id = $3 AND status = $4")
        .bind(status.as_str())
        .bind(now_ms())
        .bind(alert_id)
        .bind(was.as_str())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
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

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Issue,
    Cancel,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Issue => "issue",
            Phase::Cancel => "cancel",
        }
    }
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
    let (tenant_id, alert, towns) = load_alert(conn, alert_id).await?;
    let rows = reached(conn, tenant_id, alert_id, phase).await?;
    let now = now_ms();
    let mut batch = Batch::new();
    let mut areas_by_lang: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for r in &rows {
        let sub_id: i64 = r.try_get("sub_id")?;
        let (email, lang): (String, String) = (r.try_get("email")?, r.try_get("lang")?);
        let (sub_token, role): (String, String) = (r.try_get("sub_token")?, r.try_get("role")?);
        let (plan_token, data): (String, String) = (r.try_get("plan_token")?, r.try_get("data")?);
        // A plan that does not open still gets the alert, with the general action.
        let answers = crate::evacuation::plans::open_data(keys, &plan_token, &data).unwrap_or_else(|e| {
            tracing::error!(error = %e, subscription = sub_id, "a plan does not open; its household gets the general action");
            Default::default()
        });
        let areas = areas_by_lang
            .entry(lang.clone())
            .or_insert_with(|| {
                // A JMA warning covers the municipality: name it as a whole, not town by town.
                if alert.source == "jma" {
                    t(&lang, "evacuation.whole_area")
                } else {
                    area_names(&lang, atlas, &towns)
                }
            })
            .clone();
        let ctx = MailCtx {
            lang: &lang,
            tenant_name,
            alert: &alert,
            areas: &areas,
            base_url,
            sub_token: &sub_token,
            plan_token: &plan_token,
            supporter: role == "supporter",
        };
        let (subject, body) = match phase {
            Phase::Issue => issue_mail(&ctx, &answers, atlas),
            Phase::Cancel => cancel_mail(&ctx),
        };
        batch.push(
            "INSERT INTO evacuation_deliveries (alert_id, subscription_id, phase, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (alert_id, subscription_id, phase) DO NOTHING",
            vec![Arg::Int(alert_id), Arg::Int(sub_id), Arg::Text(phase.as_str().into()), Arg::Int(now)],
        );
        mail::enqueue_batched(
            &mut batch,
            &format!("evac:{alert_id}:{sub_id}:{}", phase.as_str()),
            &email,
            &subject,
            &body,
        );
    }
    batch.run(conn).await?;
    Ok(rows.len())
}

/// The alert's tenant, what it says, and the towns it covers (`*` for the whole tenant).
async fn load_alert(conn: &mut AnyConnection, alert_id: i64) -> Result<(i64, AlertInfo, Vec<String>)> {
    let row = sqlx::query(
        "SELECT tenant_id, level, source, title, note, hazard, issuance, jma_levels FROM evacuation_alerts WHERE id = $1",
    )
    .bind(alert_id)
    .fetch_one(&mut *conn)
    .await?;
    let tenant_id: i64 = row.try_get("tenant_id")?;
    let level = u8::try_from(row.try_get::<i64, _>("level")?.clamp(1, 5)).unwrap_or(5);
    let alert = AlertInfo::new(
        level,
        row.try_get("source")?,
        row.try_get("title")?,
        row.try_get("note")?,
        &row.try_get::<String, _>("hazard")?,
        &row.try_get::<String, _>("issuance")?,
        &row.try_get::<String, _>("jma_levels")?,
    );
    let towns: Vec<String> =
        sqlx::query("SELECT town_id FROM evacuation_alert_areas WHERE alert_id = $1 ORDER BY town_id")
            .bind(alert_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("town_id"))
            .collect::<std::result::Result<_, _>>()?;
    Ok((tenant_id, alert, towns))
}

/// The active subscriptions the alert reaches, with their plans, in id order. A cancellation
/// reaches only those the issue reached.
async fn reached(
    conn: &mut AnyConnection,
    tenant_id: i64,
    alert_id: i64,
    phase: Phase,
) -> Result<Vec<sqlx::any::AnyRow>> {
    let told_filter = match phase {
        Phase::Issue => "",
        Phase::Cancel => {
            " AND EXISTS (SELECT 1 FROM evacuation_deliveries d WHERE d.alert_id = $2 AND d.subscription_id = s.id AND d.phase = 'issue')"
        }
    };
    // A supporter is told only while the person's consent to share the plan is in force
    // (災害対策基本法 49条の15第2項); withdrawing it ends the sharing.
    Ok(sqlx::query(&format!(
        "SELECT s.id AS sub_id, s.email, s.lang, s.token AS sub_token, s.role, p.token AS plan_token, p.data \
         FROM evacuation_subscriptions s JOIN evacuation_plans p ON p.id = s.plan_id \
         WHERE s.active = 1 AND p.tenant_id = $1 \
         AND (s.role <> 'supporter' OR (p.consent_at IS NOT NULL \
              AND (p.consent_withdrawn_at IS NULL OR p.consent_withdrawn_at < p.consent_at))) \
         AND EXISTS (SELECT 1 FROM evacuation_alert_areas a WHERE a.alert_id = $2 AND (a.town_id = '*' OR a.town_id = p.town_id)){told_filter} \
         ORDER BY s.id"
    ))
    .bind(tenant_id)
    .bind(alert_id)
    .fetch_all(&mut *conn)
    .await?)
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

const ALERT_COLUMNS: &str =
    "a.id, a.level, a.source, a.title, a.note, a.status, a.requested_by, a.approved_by, a.event_id, \
     a.created_at, a.issued_at, a.cancelled_at, \
     (SELECT COUNT(*) FROM evacuation_deliveries d WHERE d.alert_id = a.id AND d.phase = 'issue') AS told, \
     a.hazard, a.issuance, a.jma_levels";

fn alert_from(r: &sqlx::any::AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: r.try_get("id")?,
        level: r.try_get("level")?,
        source: r.try_get("source")?,
        title: r.try_get("title")?,
        note: r.try_get("note")?,
        status: crate::db::parsed(r, "status", AlertStatus::parse)?,
        requested_by: r.try_get("requested_by")?,
        approved_by: r.try_get("approved_by")?,
        event_id: r.try_get("event_id")?,
        created_at: r.try_get("created_at")?,
        issued_at: r.try_get("issued_at")?,
        cancelled_at: r.try_get("cancelled_at")?,
        hazard: r.try_get("hazard")?,
        issuance: r.try_get("issuance")?,
        jma_levels: r.try_get("jma_levels")?,
        towns: Vec::new(),
        told: r.try_get("told")?,
    })
}

/// The tenant's alerts, newest first, with their town areas.
pub async fn list(db: &Db, tenant_id: i64, limit: i64) -> Result<Vec<Alert>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM evacuation_alerts a WHERE a.tenant_id = $1 ORDER BY a.id DESC LIMIT $2"
    ))
    .bind(tenant_id)
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    let mut out = rows.iter().map(alert_from).collect::<Result<Vec<_>>>()?;
    // The areas of every listed alert in one query, not one per alert.
    let areas = sqlx::query(
        "SELECT x.alert_id, x.town_id FROM evacuation_alert_areas x JOIN evacuation_alerts a ON a.id = x.alert_id \
         WHERE a.tenant_id = $1 AND a.id >= $2 ORDER BY x.town_id",
    )
    .bind(tenant_id)
    .bind(out.last().map_or(0, |a| a.id))
    .fetch_all(&db.read)
    .await?;
    let at: std::collections::HashMap<i64, usize> = out.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    for r in &areas {
        let (alert, town): (i64, String) = (r.try_get("alert_id")?, r.try_get("town_id")?);
        if let Some(a) = at.get(&alert).and_then(|i| out.get_mut(*i)) {
            a.towns.push(town);
        }
    }
    Ok(out)
}

/// Issued alerts that cover a plan's town (what a resident sees on their plan page).
pub async fn in_force_for(db: &Db, tenant_id: i64, town_id: &str) -> Result<Vec<Alert>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM evacuation_alerts a WHERE a.tenant_id = $1 AND a.status = 'issued' \
         AND EXISTS (SELECT 1 FROM evacuation_alert_areas x WHERE x.alert_id = a.id AND (x.town_id = '*' OR x.town_id = $2)) \
         ORDER BY a.level DESC, a.id DESC"
    ))
    .bind(tenant_id)
    .bind(town_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(alert_from).collect()
}

impl Alert {
    /// The alert as its words need it.
    pub fn info(&self) -> AlertInfo {
        let level = u8::try_from(self.level.clamp(1, 5)).unwrap_or(5);
        AlertInfo::new(
            level,
            self.source.clone(),
            self.title.clone(),
            self.note.clone(),
            &self.hazard,
            &self.issuance,
            &self.jma_levels,
        )
    }
}

impl SubscriberRole {
    pub fn label(self, lang: &str) -> String {
        t(
            lang,
            if self == SubscriberRole::Supporter { "evacuation.role_supporter" } else { "evacuation.role_household" },
        )
    }
}
