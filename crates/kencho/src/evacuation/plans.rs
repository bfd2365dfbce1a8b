//! Household plans (マイ避難) and 個別避難計画, and who is told when an alert covers them.
//!
//! A plan is made without an account: it is a row reached by an unguessable token, so a resident
//! can try it and print it. Saving ties it to their account; subscribing (with consent) puts their
//! address on the alert list with its own unsubscribe token.

use kencho_core::evacuation::plan::{Answers, MAX_MEMBERS};
use serde::Serialize;
use sqlx::Row;

use crate::actor::{Resident, Staff};
use zeroize::Zeroizing;

use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    Household,
    /// 個別避難計画: made by municipal staff for a person who needs help to evacuate.
    Individual,
}

impl PlanKind {
    fn as_str(self) -> &'static str {
        match self {
            PlanKind::Household => "household",
            PlanKind::Individual => "individual",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoredPlan {
    pub id: i64,
    pub tenant_id: i64,
    pub token: String,
    pub kind: PlanKind,
    pub resident_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub answers: Answers,
    pub revision: i64,
    pub consent_at: Option<i64>,
    pub consent_note: String,
    /// Who recorded the consent, and the explanation of sharing given before it
    /// (災害対策基本法 49条の14第2項).
    pub consent_by: String,
    pub consent_explanation: String,
    /// The consent's withdrawal: when, by whom, how (the note is sealed).
    pub consent_withdrawn_at: Option<i64>,
    pub consent_withdrawn_by: String,
    pub consent_withdrawn_note: String,
    pub updated_at: i64,
    pub saved_at: Option<i64>,
}

impl StoredPlan {
    /// The person's consent to share the plan with supporters is in force.
    pub fn consent_in_force(&self) -> bool {
        kencho_core::evacuation::individual::consent_in_force(self.consent_at, self.consent_withdrawn_at)
    }

    /// Who may open it: anyone with the token until it is saved to an account; after that its
    /// owner, and staff of its tenant for individual plans or plans they helped make.
    pub fn may_view(&self, resident: Option<&Resident>, staff: Option<&Staff>) -> bool {
        let tenant_staff = staff.is_some_and(|s| s.tenant_id == self.tenant_id);
        // A 個別避難計画 holds a vulnerable person's needs: only the municipality's staff.
        if self.kind == PlanKind::Individual {
            return tenant_staff;
        }
        if tenant_staff && staff.is_some_and(|s| self.staff_id == Some(s.id)) {
            return true;
        }
        match self.resident_id {
            None => true,
            Some(owner) => resident.is_some_and(|r| r.id == owner),
        }
    }
}

/// Where a plan's answers (its people and their needs) are sealed (see [`crate::crypto`]).
pub fn data_place(token: &str) -> String {
    crate::crypto::place("evacuation_plans.data", token)
}

fn consent_place(token: &str) -> String {
    crate::crypto::place("evacuation_plans.consent_note", token)
}

fn withdrawal_place(token: &str) -> String {
    crate::crypto::place("evacuation_plans.consent_withdrawn_note", token)
}

/// A stored plan's answers, opened.
pub fn open_data(keys: &Keyring, token: &str, stored: &str) -> Result<Answers> {
    let data = keys.open_unless_empty(&data_place(token), stored)?;
    if data.is_empty() {
        return Ok(Answers::default());
    }
    serde_json::from_str(&data).map_err(|e| AppError::Internal(format!("stored plan: {e}")))
}

fn seal_data(keys: &Keyring, token: &str, answers: &Answers) -> Result<String> {
    let data = Zeroizing::new(serde_json::to_string(answers).map_err(AppError::unexpected)?);
    Ok(keys.seal(&data_place(token), &data)?)
}

const COLUMNS: &str =
    "id, tenant_id, token, kind, resident_id, staff_id, data, revision, consent_at, consent_note, updated_at, saved_at, \
     consent_by, consent_explanation, consent_withdrawn_at, consent_withdrawn_by, consent_withdrawn_note";

fn from_row(keys: &Keyring, r: &sqlx::any::AnyRow) -> Result<StoredPlan> {
    let kind: String = r.try_get("kind")?;
    let token: String = r.try_get("token")?;
    let answers = open_data(keys, &token, &r.try_get::<String, _>("data")?)?;
    let consent_note = keys.open_unless_empty(&consent_place(&token), &r.try_get::<String, _>("consent_note")?)?;
    let withdrawn_note =
        keys.open_unless_empty(&withdrawal_place(&token), &r.try_get::<String, _>("consent_withdrawn_note")?)?;
    Ok(StoredPlan {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        token: r.try_get("token")?,
        kind: if kind == "individual" { PlanKind::Individual } else { PlanKind::Household },
        resident_id: r.try_get("resident_id")?,
        staff_id: r.try_get("staff_id")?,
        answers,
        revision: r.try_get("revision")?,
        consent_at: r.try_get("consent_at")?,
        consent_note,
        consent_by: r.try_get("consent_by")?,
        consent_explanation: r.try_get("consent_explanation")?,
        consent_withdrawn_at: r.try_get("consent_withdrawn_at")?,
        consent_withdrawn_by: r.try_get("consent_withdrawn_by")?,
        consent_withdrawn_note: withdrawn_note,
        updated_at: r.try_get("updated_at")?,
        saved_at: r.try_get("saved_at")?,
    })
}

/// Starts an empty plan for a tenant; returns its token.
pub async fn create(db: &Db, tenant_id: i64, kind: PlanKind, staff: Option<&Staff>) -> Result<String> {
    let token = crate::crypto::random_token();
    let staff_id = staff.map(|s| s.id);
    let data = seal_data(&db.keys(), &token, &Answers::default())?;
    let t = token.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            sqlx::query(
                "INSERT INTO evacuation_plans (tenant_id, token, kind, staff_id, town_id, data, revision, consent_note, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, '', $5, 1, '', $6, $6)",
            )
            .bind(tenant_id)
            .bind(&t)
            .bind(kind.as_str())
            .bind(staff_id)
            .bind(&data)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(token)
}

pub async fn by_token(db: &Db, token: &str) -> Result<StoredPlan> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM evacuation_plans WHERE token = $1"))
        .bind(token)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    from_row(&db.keys(), &row)
}

pub async fn by_id(db: &Db, tenant_id: i64, id: i64) -> Result<StoredPlan> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM evacuation_plans WHERE id = $1 AND tenant_id = $2"))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    from_row(&db.keys(), &row)
}

/// Replaces the answers, if nobody else changed the plan since `revision` was read.
pub async fn update(db: &Db, plan: &StoredPlan, answers: &Answers) -> Result<()> {
    if answers.members.len() > MAX_MEMBERS {
        return Err(AppError::BadRequest(format!("at most {MAX_MEMBERS} people")));
    }
    let data = seal_data(&db.keys(), &plan.token, answers)?;
    let (id, revision, town) = (plan.id, plan.revision, answers.town_id.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE evacuation_plans SET data = $1, town_id = $2, revision = revision + 1, updated_at = $3 \
                 WHERE id = $4 AND revision = $5",
            )
            .bind(&data)
            .bind(&town)
            .bind(now_ms())
            .bind(id)
            .bind(revision)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(AppError::StaleForm);
            }
            Ok(())
        })
    })
    .await
}

/// Ties a plan to a resident's account.
pub async fn save_to(db: &Db, plan: &StoredPlan, resident_id: i64, actor: &str) -> Result<()> {
    if plan.resident_id.is_some_and(|r| r != resident_id) {
        return Err(AppError::NotFound);
    }
    let (id, tenant_id, actor) = (plan.id, plan.tenant_id, actor.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE evacuation_plans SET resident_id = $1, saved_at = $2 WHERE id = $3")
                .bind(resident_id)
                .bind(now_ms())
                .bind(id)
                .execute(&mut *conn)
                .await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.plan_saved",
                &format!("plan:{id}"),
                serde_json::json!({"resident": resident_id}),
            )
            .await
        })
    })
    .await
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanListItem {
    pub token: String,
    pub id: i64,
    pub tenant_name: String,
    pub address: String,
    pub person: String,
    pub updated_at: i64,
    pub subscribed: bool,
}

pub async fn of_resident(db: &Db, resident_id: i64) -> Result<Vec<PlanListItem>> {
    let rows = sqlx::query(
        "SELECT p.token, p.id, t.name AS tenant_name, p.data, p.updated_at, \
         (SELECT COUNT(*) FROM evacuation_subscriptions s WHERE s.plan_id = p.id AND s.active = 1) AS subscribed \
         FROM evacuation_plans p JOIN tenants t ON t.id = p.tenant_id WHERE p.resident_id = $1 ORDER BY p.updated_at DESC",
    )
    .bind(resident_id)
    .fetch_all(&db.read)
    .await?;
    list_items(&db.keys(), &rows)
}

/// A 個別避難計画 opened by staff: only those the tenant's table allows
/// (`individual_plans`), only of their own tenant, and every opening is audited with its
/// purpose (a vulnerable person's health and mobility needs are special-care data).
pub async fn open_individual(db: &Db, s: &Staff, plan: StoredPlan, purpose: &str) -> Result<StoredPlan> {
    if plan.kind != PlanKind::Individual || plan.tenant_id != s.tenant_id {
        return Err(AppError::NotFound);
    }
    crate::security::policy::require(db, s, kencho_core::security::Action::IndividualPlans, None).await?;
    let (tenant_id, actor, id, purpose) = (s.tenant_id, format!("staff:{}", s.id), plan.id, purpose.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.individual_plan_view",
                &format!("evac_plan:{id}"),
                serde_json::json!({"purpose": purpose}),
            )
            .await
        })
    })
    .await?;
    Ok(plan)
}

/// The tenant's 個別避難計画 (names and addresses: the caller checks the table of roles first).
pub async fn individual_plans(db: &Db, tenant_id: i64) -> Result<Vec<PlanListItem>> {
    let rows = sqlx::query(
        "SELECT p.token, p.id, t.name AS tenant_name, p.data, p.updated_at, \
         (SELECT COUNT(*) FROM evacuation_subscriptions s WHERE s.plan_id = p.id AND s.active = 1) AS subscribed \
         FROM evacuation_plans p JOIN tenants t ON t.id = p.tenant_id WHERE p.tenant_id = $1 AND p.kind = 'individual' \
         ORDER BY p.id DESC",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    list_items(&db.keys(), &rows)
}

fn list_items(keys: &Keyring, rows: &[sqlx::any::AnyRow]) -> Result<Vec<PlanListItem>> {
    rows.iter()
        .map(|r| {
            let a = open_data(keys, &r.try_get::<String, _>("token")?, &r.try_get::<String, _>("data")?)?;
            Ok(PlanListItem {
                token: r.try_get("token")?,
                id: r.try_get("id")?,
                tenant_name: r.try_get("tenant_name")?,
                address: if a.place.is_empty() { a.address } else { a.place },
                person: a.person,
                updated_at: r.try_get("updated_at")?,
                subscribed: r.try_get::<i64, _>("subscribed")? > 0,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Household,
    Supporter,
}

#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub id: i64,
    pub role: Role,
    pub name: String,
    pub email: String,
    pub active: bool,
    pub consent_at: i64,
}

/// Puts an address on a plan's alert list. Consent is required; the same address twice is one
/// subscription (re-activated if it had unsubscribed).
pub async fn subscribe(
    db: &Db,
    plan: &StoredPlan,
    role: Role,
    name: &str,
    email: &str,
    lang: &str,
    actor: &str,
) -> Result<()> {
    let email = email.trim().to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest("the e-mail address is not valid".into()));
    }
    let name: String = name.trim().chars().take(100).collect();
    let (plan_id, tenant_id, lang, actor) = (plan.id, plan.tenant_id, lang.to_string(), actor.to_string());
    let token = crate::crypto::random_token();
    let role_s = match role {
        Role::Household => "household",
        Role::Supporter => "supporter",
    };
    db.transact(move |conn| {
        Box::pin(async move {
            if role == Role::Supporter {
                // Read again under the plan's lock: a withdrawal committed since the page was
                // read must stop the sharing (災害対策基本法 49条の15第2項).
                let lock = crate::db::for_update(conn);
                let row = sqlx::query(&format!(
                    "SELECT consent_at, consent_withdrawn_at FROM evacuation_plans WHERE id = $1{lock}"
                ))
                .bind(plan_id)
                .fetch_one(&mut *conn)
                .await?;
                let (at, withdrawn): (Option<i64>, Option<i64>) =
                    (row.try_get("consent_at")?, row.try_get("consent_withdrawn_at")?);
                if !kencho_core::evacuation::individual::consent_in_force(at, withdrawn) {
                    return Err(AppError::Refused("consent_required", "the person's consent is not in force".into()));
                }
            }
            let now = now_ms();
            sqlx::query(
                "INSERT INTO evacuation_subscriptions (tenant_id, plan_id, role, name, email, lang, token, consent_at, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $8) \
                 ON CONFLICT (plan_id, email) DO UPDATE SET active = 1, consent_at = excluded.consent_at, \
                 name = excluded.name, lang = excluded.lang, role = excluded.role, ended_at = NULL",
            )
            .bind(tenant_id)
            .bind(plan_id)
            .bind(role_s)
            .bind(&name)
            .bind(&email)
            .bind(&lang)
            .bind(&token)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.subscribed",
                &format!("plan:{plan_id}"),
                serde_json::json!({"role": role_s, "email": email}),
            )
            .await
        })
    })
    .await
}

pub async fn subscriptions(db: &Db, plan_id: i64) -> Result<Vec<Subscription>> {
    let rows = sqlx::query(
        "SELECT id, role, name, email, active, consent_at FROM evacuation_subscriptions WHERE plan_id = $1 ORDER BY id",
    )
    .bind(plan_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Subscription {
                id: r.try_get("id")?,
                role: if r.try_get::<String, _>("role")? == "supporter" { Role::Supporter } else { Role::Household },
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                active: r.try_get::<i64, _>("active")? == 1,
                consent_at: r.try_get("consent_at")?,
            })
        })
        .collect()
}

/// Ends a subscription by its unsubscribe token (from the link in every alert mail).
pub async fn unsubscribe(db: &Db, token: &str) -> Result<()> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let token = token.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let row =
                sqlx::query("SELECT id, tenant_id, plan_id, active FROM evacuation_subscriptions WHERE token = $1")
                    .bind(&token)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(AppError::NotFound)?;
            let (id, tenant_id, plan_id): (i64, i64, i64) =
                (row.try_get("id")?, row.try_get("tenant_id")?, row.try_get("plan_id")?);
            if row.try_get::<i64, _>("active")? == 0 {
                return Ok(());
            }
            sqlx::query("UPDATE evacuation_subscriptions SET active = 0, ended_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(id)
                .execute(&mut *conn)
                .await?;
            audit::append(
                conn,
                tenant_id,
                &format!("subscription:{id}"),
                "evacuation.unsubscribed",
                &format!("plan:{plan_id}"),
                serde_json::json!({}),
            )
            .await
        })
    })
    .await
}

/// Ends a supporter's subscription from the staff page.
pub async fn remove_subscription(db: &Db, plan: &StoredPlan, subscription_id: i64, actor: &str) -> Result<()> {
    let (plan_id, tenant_id, actor) = (plan.id, plan.tenant_id, actor.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE evacuation_subscriptions SET active = 0, ended_at = $1 WHERE id = $2 AND plan_id = $3 AND role = 'supporter'",
            )
                    .bind(now_ms())
                    .bind(subscription_id)
                    .bind(plan_id)
                    .execute(&mut *conn)
                    .await?;
            if done.rows_affected() == 0 {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.subscription_ended",
                &format!("plan:{plan_id}"),
                serde_json::json!({"subscription": subscription_id}),
            )
            .await
        })
    })
    .await
}

/// Records the person's consent to share their individual plan with supporters and the office.
/// The explanation of how it is shared must have been given first (災害対策基本法 49条の14第2項):
/// `explanation` is the text shown, recorded with the consent.
pub async fn record_consent(db: &Db, plan: &StoredPlan, note: &str, explanation: &str, actor: &str) -> Result<()> {
    let note: String = note.trim().chars().take(500).collect();
    if note.is_empty() {
        return Err(AppError::BadRequest("say how consent was given (同意の方法)".into()));
    }
    let (id, tenant_id, actor, explanation) = (plan.id, plan.tenant_id, actor.to_string(), explanation.to_string());
    let sealed = db.keys().seal(&consent_place(&plan.token), &note)?;
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query(
                "UPDATE evacuation_plans SET consent_at = $1, consent_note = $2, consent_by = $3, consent_explanation = $4 WHERE id = $5",
            )
            .bind(now_ms())
            .bind(&sealed)
            .bind(&actor)
            .bind(&explanation)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.consent_recorded",
                &format!("plan:{id}"),
                // The note itself is special-care data, sealed in the plan; the log says it was recorded.
                serde_json::json!({"note_recorded": true, "explained": true}),
            )
            .await
        })
    })
    .await
}

/// Records that the person withdrew their consent: from now on the plan is not shared with
/// supporters (their subscriptions end; 49条の15第2項). Sharing without consent in a disaster
/// (第3項) is the mayor's decision outside kencho.
pub async fn withdraw_consent(db: &Db, plan: &StoredPlan, note: &str, actor: &str) -> Result<usize> {
    if !plan.consent_in_force() {
        return Err(AppError::Conflict("no consent in force to withdraw (撤回できる同意がありません)".into()));
    }
    let note: String = note.trim().chars().take(500).collect();
    if note.is_empty() {
        return Err(AppError::BadRequest("say how the withdrawal was made (撤回の方法)".into()));
    }
    let (id, tenant_id, actor) = (plan.id, plan.tenant_id, actor.to_string());
    let sealed = db.keys().seal(&withdrawal_place(&plan.token), &note)?;
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            sqlx::query(
                "UPDATE evacuation_plans SET consent_withdrawn_at = $1, consent_withdrawn_by = $2, consent_withdrawn_note = $3 WHERE id = $4",
            )
            .bind(now)
            .bind(&actor)
            .bind(&sealed)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            let subs: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM evacuation_subscriptions WHERE plan_id = $1 AND role = 'supporter' AND active = 1",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            let ended = sqlx::query(
                "UPDATE evacuation_subscriptions SET active = 0, ended_at = $1 WHERE plan_id = $2 AND role = 'supporter' AND active = 1",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            // Alert mails already queued for them are not delivered after the withdrawal.
            for sub in &subs {
                crate::mail::cancel_pending(conn, &format!("evac:%:{sub}:%")).await?;
            }
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.consent_withdrawn",
                &format!("plan:{id}"),
                serde_json::json!({"note_recorded": true, "supporters_ended": ended}),
            )
            .await?;
            Ok(usize::try_from(ended).unwrap_or(usize::MAX))
        })
    })
    .await
}

/// Plans with an active subscription, per 町字: how many households an alert there reaches.
pub async fn households_by_town(db: &Db, tenant_id: i64) -> Result<std::collections::HashMap<String, i64>> {
    let rows = sqlx::query(
        "SELECT p.town_id AS town_id, COUNT(DISTINCT p.id) AS households FROM evacuation_plans p \
         JOIN evacuation_subscriptions s ON s.plan_id = p.id WHERE p.tenant_id = $1 AND s.active = 1 GROUP BY p.town_id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("town_id")?, r.try_get("households")?))).collect()
}
