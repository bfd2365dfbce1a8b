//! Household plans (マイ避難) and 個別避難計画, and who is told when an alert covers them.
//!
//! A plan is made without an account: it is a row reached by an unguessable token, so a resident
//! can try it and print it. Saving ties it to their account; subscribing (with consent) puts their
//! address on the alert list with its own unsubscribe token.

use kencho_core::evacuation::plan::{Answers, MAX_MEMBERS};
use zeroize::Zeroizing;

use super::model::{consent_place, withdrawal_place};
pub use super::model::{data_place, open_data, PlanKind, PlanListItem, StoredPlan, SubscriberRole, Subscription};
use super::store::plans::{self as store, NewSubscription};
use crate::actor::Staff;
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

fn seal_data(keys: &Keyring, token: &str, answers: &Answers) -> Result<String> {
    let data = Zeroizing::new(serde_json::to_string(answers).map_err(AppError::unexpected)?);
    Ok(keys.seal(&data_place(token), &data)?)
}

/// Starts an empty plan for a tenant; returns its token.
pub async fn create(db: &Db, tenant_id: i64, kind: PlanKind, staff: Option<&Staff>) -> Result<String> {
    let token = crate::crypto::random_token();
    let staff_id = staff.map(|s| s.id);
    let data = seal_data(&db.keys(), &token, &Answers::default())?;
    let t = token.clone();
    db.transact(move |conn| {
        Box::pin(async move { store::insert(conn, tenant_id, &t, kind, staff_id, &data, now_ms()).await })
    })
    .await?;
    Ok(token)
}

pub async fn by_token(db: &Db, token: &str) -> Result<StoredPlan> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    store::by_token(db, token).await?.ok_or(AppError::NotFound)
}

pub async fn by_id(db: &Db, tenant_id: i64, id: i64) -> Result<StoredPlan> {
    store::by_id(db, tenant_id, id).await?.ok_or(AppError::NotFound)
}

/// Replaces the answers, if nobody else changed the plan since `revision` was read.
pub async fn update(db: &Db, plan: &StoredPlan, answers: &Answers) -> Result<()> {
    if answers.members.len() > MAX_MEMBERS {
        return Err(AppError::BadRequest(detail!("detail.evacuation.most_people", max_members = MAX_MEMBERS)));
    }
    let data = seal_data(&db.keys(), &plan.token, answers)?;
    let (id, revision, town) = (plan.id, plan.revision, answers.town_id.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            if !store::update_data(conn, id, revision, &data, &town, now_ms()).await? {
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
            store::set_resident(conn, id, resident_id, now_ms()).await?;
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

pub async fn of_resident(db: &Db, resident_id: i64) -> Result<Vec<PlanListItem>> {
    store::of_resident(db, resident_id).await
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
    store::individual(db, tenant_id).await
}

/// Puts an address on a plan's alert list. Consent is required; the same address twice is one
/// subscription (re-activated if it had unsubscribed).
pub async fn subscribe(
    db: &Db,
    plan: &StoredPlan,
    role: SubscriberRole,
    name: &str,
    email: &str,
    lang: &str,
    actor: &str,
) -> Result<()> {
    let email = email.trim().to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest(detail!("detail.evacuation.e_mail_address_valid")));
    }
    let name: String = name.trim().chars().take(100).collect();
    let (plan_id, tenant_id, lang, actor) = (plan.id, plan.tenant_id, lang.to_string(), actor.to_string());
    let token = crate::crypto::random_token();
    db.transact(move |conn| {
        Box::pin(async move {
            if role == SubscriberRole::Supporter {
                // Read again under the plan's lock: a withdrawal committed since the page was
                // read must stop the sharing (災害対策基本法 49条の15第2項).
                let (at, withdrawn) = store::lock_consent(conn, plan_id).await?;
                if !kencho_core::evacuation::individual::consent_in_force(at, withdrawn) {
                    return Err(AppError::Refused(
                        "consent_required",
                        detail!("detail.evacuation.person_s_consent_force"),
                    ));
                }
            }
            let sub = NewSubscription {
                tenant_id,
                plan_id,
                role,
                name: &name,
                email: &email,
                lang: &lang,
                token: &token,
                now: now_ms(),
            };
            store::upsert_subscription(conn, sub).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "evacuation.subscribed",
                &format!("plan:{plan_id}"),
                serde_json::json!({"role": role.as_str(), "email": email}),
            )
            .await
        })
    })
    .await
}

pub async fn subscriptions(db: &Db, plan_id: i64) -> Result<Vec<Subscription>> {
    store::subscriptions(db, plan_id).await
}

/// Ends a subscription by its unsubscribe token (from the link in every alert mail).
pub async fn unsubscribe(db: &Db, token: &str) -> Result<()> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let token = token.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let sub = store::subscription_by_token(conn, &token).await?.ok_or(AppError::NotFound)?;
            let (id, tenant_id, plan_id) = (sub.id, sub.tenant_id, sub.plan_id);
            if !sub.active {
                return Ok(());
            }
            store::end_subscription(conn, id, now_ms()).await?;
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
            if !store::end_supporter(conn, plan_id, subscription_id, now_ms()).await? {
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
        return Err(AppError::BadRequest(detail!("detail.evacuation.say_how_consent_was")));
    }
    let (id, tenant_id, actor, explanation) = (plan.id, plan.tenant_id, actor.to_string(), explanation.to_string());
    let sealed = db.keys().seal(&consent_place(&plan.token), &note)?;
    db.transact(move |conn| {
        Box::pin(async move {
            store::set_consent(conn, id, now_ms(), &sealed, &actor, &explanation).await?;
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
        return Err(AppError::Conflict(detail!("detail.evacuation.no_consent_force_withdraw")));
    }
    let note: String = note.trim().chars().take(500).collect();
    if note.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.evacuation.say_how_withdrawal_was")));
    }
    let (id, tenant_id, actor) = (plan.id, plan.tenant_id, actor.to_string());
    let sealed = db.keys().seal(&withdrawal_place(&plan.token), &note)?;
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            store::set_withdrawal(conn, id, now, &actor, &sealed).await?;
            let subs = store::active_supporters(conn, id).await?;
            let ended = store::end_supporters(conn, id, now).await?;
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
    store::households_by_town(db, tenant_id).await
}
