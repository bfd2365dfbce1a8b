//! The SQL of alarms (`iot_alarms`, `iot_alarm_log`) and of the contacts they notify.

use kencho_core::iot::alarm::{AlarmKind, AlarmState};
use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, parsed, Arg, Batch, Db};
use crate::error::Result;
use crate::iot::model::{AckInfo, AlarmInfo, AlarmRef, StoredContact, Subject};

/// The subject's alarm of `kind` that is not cleared: its id and state.
pub async fn open_of(conn: &mut AnyConnection, subject: &str, kind: AlarmKind) -> Result<Option<(i64, AlarmState)>> {
    let row = sqlx::query("SELECT id, state FROM iot_alarms WHERE subject = $1 AND kind = $2 AND state <> 'cleared'")
        .bind(subject)
        .bind(kind.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match &row {
        Some(r) => Ok(Some((r.try_get::<i64, _>("id")?, parsed(r, "state", AlarmState::parse)?))),
        None => Ok(None),
    }
}

/// Opens an active alarm for the subject (its label and area kept as the alarm's detail).
pub async fn insert(
    conn: &mut AnyConnection,
    subject: &Subject,
    kind: AlarmKind,
    now: i64,
    next_action_at: Option<i64>,
    ack_token: String,
) -> Result<i64> {
    let detail = serde_json::json!({"label": subject.label, "area": subject.area}).to_string();
    Ok(sqlx::query(
        "INSERT INTO iot_alarms (tenant_id, subject, kind, state, opened_at, updated_at, repeats, step, next_action_at, ack_token, detail) \
         VALUES ($1, $2, $3, 'active', $4, $4, 0, 0, $5, $6, $7) RETURNING id",
    )
    .bind(subject.tenant_id)
    .bind(&subject.key)
    .bind(kind.as_str())
    .bind(now)
    .bind(next_action_at)
    .bind(ack_token)
    .bind(detail)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// Counts one more repeat of an open alarm.
pub async fn repeat(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE iot_alarms SET repeats = repeats + 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks the alarm acknowledged by `who`; its next action is dropped.
pub async fn set_acknowledged(conn: &mut AnyConnection, id: i64, now: i64, who: &str) -> Result<()> {
    sqlx::query(
        "UPDATE iot_alarms SET state = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $1, \
         next_action_at = NULL WHERE id = $3",
    )
    .bind(now)
    .bind(who)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks the alarm cleared; its next action is dropped.
pub async fn set_cleared(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE iot_alarms SET state = 'cleared', cleared_at = $1, updated_at = $1, next_action_at = NULL WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Acknowledges the alarm only while it is active; whether it was.
pub async fn acknowledge_active(conn: &mut AnyConnection, id: i64, now: i64, who: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE iot_alarms SET state = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $1, \
         next_action_at = NULL WHERE id = $3 AND state = 'active'",
    )
    .bind(now)
    .bind(who)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One line of an alarm's history.
pub async fn log(conn: &mut AnyConnection, alarm_id: i64, what: &str, who: &str) -> Result<()> {
    sqlx::query("INSERT INTO iot_alarm_log (alarm_id, at, what, who) VALUES ($1, $2, $3, $4)")
        .bind(alarm_id)
        .bind(now_ms())
        .bind(what)
        .bind(who)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The history line saying contact `c` was sent the notice `event`, queued in `batch`.
pub fn push_notified(batch: &mut Batch, alarm_id: i64, event: &str, c: &StoredContact) {
    batch.push(
        "INSERT INTO iot_alarm_log (alarm_id, at, what, who) VALUES ($1, $2, $3, $4)",
        vec![
            Arg::Int(alarm_id),
            Arg::Int(now_ms()),
            Arg::Text(format!("notified:{event}")),
            Arg::Text(format!("{} <{}>", c.contact.name, c.contact.email)),
        ],
    );
}

/// The contacts of a device (`column` = `device_id`) or a watched person (`person_id`), in
/// their order.
pub async fn contacts(conn: &mut AnyConnection, column: &str, id: i64) -> Result<Vec<StoredContact>> {
    let column = if column == "person_id" { "person_id" } else { "device_id" };
    let rows = sqlx::query(&format!(
        "SELECT id, name, email, hours_start, hours_end FROM iot_contacts WHERE {column} = $1 ORDER BY position, id"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(StoredContact::from_row).collect()
}

/// The tenant's newest 500 alarms of a kind and a state (each `None`: any), lifecycles empty.
pub async fn list(
    db: &Db,
    tenant_id: i64,
    kind: Option<AlarmKind>,
    state: Option<AlarmState>,
) -> Result<Vec<AlarmInfo>> {
    let rows = sqlx::query(
        "SELECT id, subject, kind, state, detail, opened_at, updated_at, repeats, acknowledged_at, acknowledged_by, cleared_at \
         FROM iot_alarms WHERE tenant_id = $1 AND ($2 = '' OR kind = $2) AND ($3 = '' OR state = $3) ORDER BY id DESC LIMIT 500",
    )
    .bind(tenant_id)
    .bind(kind.map_or("", AlarmKind::as_str))
    .bind(state.map_or("", AlarmState::as_str))
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(AlarmInfo::from_row).collect()
}

/// The history lines of the tenant's alarms from id `from_id` on, in order:
/// (alarm id, (when, what, who)).
pub async fn logs_from(db: &Db, tenant_id: i64, from_id: i64) -> Result<Vec<(i64, (i64, String, String))>> {
    let logs = sqlx::query(
        "SELECT l.alarm_id, l.at, l.what, l.who FROM iot_alarm_log l JOIN iot_alarms a ON a.id = l.alarm_id \
         WHERE a.tenant_id = $1 AND a.id >= $2 ORDER BY l.id",
    )
    .bind(tenant_id)
    .bind(from_id)
    .fetch_all(&db.read)
    .await?;
    logs.iter()
        .map(|l| Ok((l.try_get("alarm_id")?, (l.try_get("at")?, l.try_get("what")?, l.try_get("who")?))))
        .collect()
}

/// The alarm a mailed acknowledgement token names, inside a transaction.
pub async fn by_token(conn: &mut AnyConnection, token: &str) -> Result<Option<AlarmRef>> {
    sqlx::query("SELECT id, tenant_id, subject, kind, state FROM iot_alarms WHERE ack_token = $1")
        .bind(token)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(AlarmRef::from_row)
        .transpose()
}

/// (name, e-mail) of the tenant's contact `id`.
pub async fn contact_name(conn: &mut AnyConnection, id: i64, tenant_id: i64) -> Result<Option<(String, String)>> {
    let r = sqlx::query("SELECT name, email FROM iot_contacts WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    match r {
        Some(r) => Ok(Some((r.try_get("name")?, r.try_get("email")?))),
        None => Ok(None),
    }
}

/// What the acknowledgement page shows of the alarm a token names, with whether a capture
/// was recorded for it.
pub async fn ack_info(db: &Db, token: &str) -> Result<Option<AckInfo>> {
    sqlx::query(
        "SELECT a.kind AS kind, a.state AS state, a.detail AS detail, \
         (SELECT COUNT(*) FROM iot_captures c WHERE c.alarm_id = a.id) AS captures \
         FROM iot_alarms a WHERE a.ack_token = $1",
    )
    .bind(token)
    .fetch_optional(&db.read)
    .await?
    .as_ref()
    .map(AckInfo::from_row)
    .transpose()
}

/// The alarm's acknowledgement token (for the links in its mails).
pub async fn ack_token(conn: &mut AnyConnection, alarm_id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT ack_token FROM iot_alarms WHERE id = $1")
        .bind(alarm_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("ack_token")?)
}
