//! Alerts (`evacuation_alerts`), the town areas they cover (`evacuation_alert_areas`) and who was
//! told of them (`evacuation_deliveries`, written with the outbox mail).

use kencho_core::evacuation::alert::{AlertStatus, Issuance};
use sqlx::{AnyConnection, Row};

use super::super::model::{Alert, AlertText, Delivery, PendingAlert, Phase, Reached};
use crate::db::{Arg, Batch, Db};
use crate::error::Result;

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

/// A staff alert as written: `issued_at` is set when it is issued at once.
pub struct NewStaffAlert<'a> {
    pub tenant_id: i64,
    pub level: i64,
    pub title: &'a str,
    pub note: &'a str,
    pub status: AlertStatus,
    pub requested_by: &'a str,
    pub created_at: i64,
    pub issued_at: Option<i64>,
    pub hazard: &'a str,
    pub issuance: Issuance,
}

/// Writes a staff alert; returns its id.
pub async fn insert_staff(conn: &mut AnyConnection, a: NewStaffAlert<'_>) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO evacuation_alerts (tenant_id, level, source, title, note, status, requested_by, event_id, created_at, issued_at, hazard, issuance) \
         VALUES ($1, $2, 'staff', $3, $4, $5, $6, '', $7, $8, $9, $10) RETURNING id",
    )
    .bind(a.tenant_id)
    .bind(a.level)
    .bind(a.title)
    .bind(a.note)
    .bind(a.status.as_str())
    .bind(a.requested_by)
    .bind(a.created_at)
    .bind(a.issued_at)
    .bind(a.hazard)
    .bind(a.issuance.as_str())
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// The tenant's alert `alert_id` as its approval reads it.
pub async fn for_approval(conn: &mut AnyConnection, tenant_id: i64, alert_id: i64) -> Result<Option<PendingAlert>> {
    let row = sqlx::query("SELECT status, requested_by, level FROM evacuation_alerts WHERE id = $1 AND tenant_id = $2")
        .bind(alert_id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(PendingAlert::from_row).transpose()
}

/// Issues a pending alert as approved by `approved_by`; returns whether it was still pending.
pub async fn mark_issued(conn: &mut AnyConnection, alert_id: i64, approved_by: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE evacuation_alerts SET status = 'issued', approved_by = $1, issued_at = $2 WHERE id = $3 AND status = 'pending'",
    )
    .bind(approved_by)
    .bind(now)
    .bind(alert_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The tenant's alert's status, if it has that alert.
pub async fn status(conn: &mut AnyConnection, tenant_id: i64, alert_id: i64) -> Result<Option<AlertStatus>> {
    let row = sqlx::query("SELECT status FROM evacuation_alerts WHERE id = $1 AND tenant_id = $2")
        .bind(alert_id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| crate::db::parsed(&r, "status", AlertStatus::parse)).transpose()
}

/// Moves the alert from `was` to `status` (cancelled or superseded); returns whether it was
/// still `was`.
pub async fn set_ended(
    conn: &mut AnyConnection,
    alert_id: i64,
    status: AlertStatus,
    was: AlertStatus,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query("UPDATE evacuation_alerts SET status = $1, cancelled_at = $2 WHERE id = $3 AND status = $4")
        .bind(status.as_str())
        .bind(now)
        .bind(alert_id)
        .bind(was.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// What the alert says, with its tenant.
pub async fn text(conn: &mut AnyConnection, alert_id: i64) -> Result<AlertText> {
    let row = sqlx::query(
        "SELECT tenant_id, level, source, title, note, hazard, issuance, jma_levels FROM evacuation_alerts WHERE id = $1",
    )
    .bind(alert_id)
    .fetch_one(&mut *conn)
    .await?;
    AlertText::from_row(&row)
}

/// The towns the alert covers (`*` for the whole tenant), in order.
pub async fn towns(conn: &mut AnyConnection, alert_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query("SELECT town_id FROM evacuation_alert_areas WHERE alert_id = $1 ORDER BY town_id")
        .bind(alert_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("town_id"))
        .collect::<std::result::Result<_, _>>()?)
}

/// The active subscriptions the alert reaches, with their plans, in id order. A cancellation
/// reaches only those the issue reached.
pub async fn reached(conn: &mut AnyConnection, tenant_id: i64, alert_id: i64, phase: Phase) -> Result<Vec<Reached>> {
    let told_filter = match phase {
        Phase::Issue => "",
        Phase::Cancel => {
            " AND EXISTS (SELECT 1 FROM evacuation_deliveries d WHERE d.alert_id = $2 AND d.subscription_id = s.id AND d.phase = 'issue')"
        }
    };
    // A supporter is told only while the person's consent to share the plan is in force
    // (災害対策基本法 49条の15第2項); withdrawing it ends the sharing.
    sqlx::query(&format!(
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
    .await?
    .iter()
    .map(Reached::from_row)
    .collect()
}

/// Writes, in one batch, a delivery row and the outbox mail for each household told; a
/// delivery already written for the same subscription and phase is kept as it is.
pub async fn deliver(
    conn: &mut AnyConnection,
    alert_id: i64,
    phase: Phase,
    now: i64,
    deliveries: &[Delivery],
) -> Result<()> {
    let mut batch = Batch::new();
    for d in deliveries {
        batch.push(
            "INSERT INTO evacuation_deliveries (alert_id, subscription_id, phase, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (alert_id, subscription_id, phase) DO NOTHING",
            vec![Arg::Int(alert_id), Arg::Int(d.sub_id), Arg::Text(phase.as_str().into()), Arg::Int(now)],
        );
        crate::mail::enqueue_batched(
            &mut batch,
            &format!("evac:{alert_id}:{}:{}", d.sub_id, phase.as_str()),
            &d.email,
            &d.subject,
            &d.body,
        );
    }
    batch.run(conn).await
}

const ALERT_COLUMNS: &str =
    "a.id, a.level, a.source, a.title, a.note, a.status, a.requested_by, a.approved_by, a.event_id, \
     a.created_at, a.issued_at, a.cancelled_at, \
     (SELECT COUNT(*) FROM evacuation_deliveries d WHERE d.alert_id = a.id AND d.phase = 'issue') AS told, \
     a.hazard, a.issuance, a.jma_levels";

/// The tenant's latest `limit` alerts, newest first, without their towns.
pub async fn latest(db: &Db, tenant_id: i64, limit: i64) -> Result<Vec<Alert>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM evacuation_alerts a WHERE a.tenant_id = $1 ORDER BY a.id DESC LIMIT $2"
    ))
    .bind(tenant_id)
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Alert::from_row).collect()
}

/// The town areas of the tenant's alerts from `from_id` on, by alert id, each in town order.
pub async fn areas_from(db: &Db, tenant_id: i64, from_id: i64) -> Result<Vec<(i64, String)>> {
    let areas = sqlx::query(
        "SELECT x.alert_id, x.town_id FROM evacuation_alert_areas x JOIN evacuation_alerts a ON a.id = x.alert_id \
         WHERE a.tenant_id = $1 AND a.id >= $2 ORDER BY x.town_id",
    )
    .bind(tenant_id)
    .bind(from_id)
    .fetch_all(&db.read)
    .await?;
    areas.iter().map(|r| Ok((r.try_get("alert_id")?, r.try_get("town_id")?))).collect()
}

/// Issued alerts that cover a town (or the whole tenant), highest level first.
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
    rows.iter().map(Alert::from_row).collect()
}
