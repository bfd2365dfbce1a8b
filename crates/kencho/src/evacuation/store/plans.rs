//! Plans (`evacuation_plans`) and their alert lists (`evacuation_subscriptions`).

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::super::model::{PlanKind, PlanListItem, StoredPlan, SubscriberRole, Subscription, SubscriptionRef};
use crate::db::Db;
use crate::error::Result;

const COLUMNS: &str =
    "id, tenant_id, token, kind, resident_id, staff_id, data, revision, consent_at, consent_note, updated_at, saved_at, \
     consent_by, consent_explanation, consent_withdrawn_at, consent_withdrawn_by, consent_withdrawn_note";

/// Writes an empty plan (revision 1) with its sealed answers.
pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: i64,
    token: &str,
    kind: PlanKind,
    staff_id: Option<i64>,
    data: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO evacuation_plans (tenant_id, token, kind, staff_id, town_id, data, revision, consent_note, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, '', $5, 1, '', $6, $6)",
    )
    .bind(tenant_id)
    .bind(token)
    .bind(kind.as_str())
    .bind(staff_id)
    .bind(data)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn by_token(db: &Db, token: &str) -> Result<Option<StoredPlan>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM evacuation_plans WHERE token = $1"))
        .bind(token)
        .fetch_optional(&db.read)
        .await?;
    row.map(|r| StoredPlan::from_row(&db.keys(), &r)).transpose()
}

pub async fn by_id(db: &Db, tenant_id: i64, id: i64) -> Result<Option<StoredPlan>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM evacuation_plans WHERE id = $1 AND tenant_id = $2"))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?;
    row.map(|r| StoredPlan::from_row(&db.keys(), &r)).transpose()
}

/// Replaces the sealed answers and town if the plan is still at `revision`; returns whether it was.
pub async fn update_data(
    conn: &mut AnyConnection,
    id: i64,
    revision: i64,
    data: &str,
    town: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE evacuation_plans SET data = $1, town_id = $2, revision = revision + 1, updated_at = $3 \
         WHERE id = $4 AND revision = $5",
    )
    .bind(data)
    .bind(town)
    .bind(now)
    .bind(id)
    .bind(revision)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Ties the plan to a resident's account.
pub async fn set_resident(conn: &mut AnyConnection, id: i64, resident_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE evacuation_plans SET resident_id = $1, saved_at = $2 WHERE id = $3")
        .bind(resident_id)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A resident's plans, last changed first.
pub async fn of_resident(db: &Db, resident_id: i64) -> Result<Vec<PlanListItem>> {
    let rows = sqlx::query(
        "SELECT p.token, p.id, t.name AS tenant_name, p.data, p.updated_at, \
         (SELECT COUNT(*) FROM evacuation_subscriptions s WHERE s.plan_id = p.id AND s.active = 1) AS subscribed \
         FROM evacuation_plans p JOIN tenants t ON t.id = p.tenant_id WHERE p.resident_id = $1 ORDER BY p.updated_at DESC",
    )
    .bind(resident_id)
    .fetch_all(&db.read)
    .await?;
    let keys = db.keys();
    rows.iter().map(|r| PlanListItem::from_row(&keys, r)).collect()
}

/// The tenant's 個別避難計画, newest first.
pub async fn individual(db: &Db, tenant_id: i64) -> Result<Vec<PlanListItem>> {
    let rows = sqlx::query(
        "SELECT p.token, p.id, t.name AS tenant_name, p.data, p.updated_at, \
         (SELECT COUNT(*) FROM evacuation_subscriptions s WHERE s.plan_id = p.id AND s.active = 1) AS subscribed \
         FROM evacuation_plans p JOIN tenants t ON t.id = p.tenant_id WHERE p.tenant_id = $1 AND p.kind = 'individual' \
         ORDER BY p.id DESC",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    let keys = db.keys();
    rows.iter().map(|r| PlanListItem::from_row(&keys, r)).collect()
}

/// Locks the plan's row and reads its consent: (given at, withdrawn at).
pub async fn lock_consent(conn: &mut AnyConnection, plan_id: i64) -> Result<(Option<i64>, Option<i64>)> {
    let lock = crate::db::for_update(conn);
    let row =
        sqlx::query(&format!("SELECT consent_at, consent_withdrawn_at FROM evacuation_plans WHERE id = $1{lock}"))
            .bind(plan_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok((row.try_get("consent_at")?, row.try_get("consent_withdrawn_at")?))
}

/// A subscription as written: the same address on a plan twice is one row.
pub struct NewSubscription<'a> {
    pub tenant_id: i64,
    pub plan_id: i64,
    pub role: SubscriberRole,
    pub name: &'a str,
    pub email: &'a str,
    pub lang: &'a str,
    pub token: &'a str,
    pub now: i64,
}

/// Writes the subscription, or re-activates the plan's one for the same address.
pub async fn upsert_subscription(conn: &mut AnyConnection, s: NewSubscription<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO evacuation_subscriptions (tenant_id, plan_id, role, name, email, lang, token, consent_at, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $8) \
         ON CONFLICT (plan_id, email) DO UPDATE SET active = 1, consent_at = excluded.consent_at, \
         name = excluded.name, lang = excluded.lang, role = excluded.role, ended_at = NULL",
    )
    .bind(s.tenant_id)
    .bind(s.plan_id)
    .bind(s.role.as_str())
    .bind(s.name)
    .bind(s.email)
    .bind(s.lang)
    .bind(s.token)
    .bind(s.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A plan's subscriptions, in the order they were made.
pub async fn subscriptions(db: &Db, plan_id: i64) -> Result<Vec<Subscription>> {
    let rows = sqlx::query(
        "SELECT id, role, name, email, active, consent_at FROM evacuation_subscriptions WHERE plan_id = $1 ORDER BY id",
    )
    .bind(plan_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Subscription::from_row).collect()
}

pub async fn subscription_by_token(conn: &mut AnyConnection, token: &str) -> Result<Option<SubscriptionRef>> {
    let row = sqlx::query("SELECT id, tenant_id, plan_id, active FROM evacuation_subscriptions WHERE token = $1")
        .bind(token)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(SubscriptionRef::from_row).transpose()
}

/// Ends subscription `id`.
pub async fn end_subscription(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE evacuation_subscriptions SET active = 0, ended_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends subscription `id` if it is a supporter's on this plan; returns whether it was.
pub async fn end_supporter(conn: &mut AnyConnection, plan_id: i64, id: i64, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE evacuation_subscriptions SET active = 0, ended_at = $1 WHERE id = $2 AND plan_id = $3 AND role = 'supporter'",
    )
    .bind(now)
    .bind(id)
    .bind(plan_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Records the person's consent (the note sealed) and who recorded it after which explanation.
pub async fn set_consent(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
    sealed_note: &str,
    by: &str,
    explanation: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE evacuation_plans SET consent_at = $1, consent_note = $2, consent_by = $3, consent_explanation = $4 WHERE id = $5",
    )
    .bind(now)
    .bind(sealed_note)
    .bind(by)
    .bind(explanation)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the consent's withdrawal (the note sealed) and who recorded it.
pub async fn set_withdrawal(conn: &mut AnyConnection, id: i64, now: i64, by: &str, sealed_note: &str) -> Result<()> {
    sqlx::query(
        "UPDATE evacuation_plans SET consent_withdrawn_at = $1, consent_withdrawn_by = $2, consent_withdrawn_note = $3 WHERE id = $4",
    )
    .bind(now)
    .bind(by)
    .bind(sealed_note)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The plan's active supporter subscriptions.
pub async fn active_supporters(conn: &mut AnyConnection, plan_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM evacuation_subscriptions WHERE plan_id = $1 AND role = 'supporter' AND active = 1",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Ends every active supporter subscription of the plan; returns how many.
pub async fn end_supporters(conn: &mut AnyConnection, plan_id: i64, now: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE evacuation_subscriptions SET active = 0, ended_at = $1 WHERE plan_id = $2 AND role = 'supporter' AND active = 1",
    )
    .bind(now)
    .bind(plan_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Plans with an active subscription, per 町字.
pub async fn households_by_town(db: &Db, tenant_id: i64) -> Result<HashMap<String, i64>> {
    let rows = sqlx::query(
        "SELECT p.town_id AS town_id, COUNT(DISTINCT p.id) AS households FROM evacuation_plans p \
         JOIN evacuation_subscriptions s ON s.plan_id = p.id WHERE p.tenant_id = $1 AND s.active = 1 GROUP BY p.town_id",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("town_id")?, r.try_get("households")?))).collect()
}
