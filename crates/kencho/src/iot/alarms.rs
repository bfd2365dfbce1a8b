//! Alarms: one open alarm per subject (a device or a watched person) and kind, following the
//! state machine in `kencho_core::iot::alarm`. Every change is logged with the alarm, and every
//! notice goes through the outbox in the same transaction. Deadlines live in the database and
//! are claimed with a conditional UPDATE, so each fires once, after restarts and across nodes.

use kencho_core::iot::alarm::{self as machine, AlarmKind, AlarmState, Contact, Effect, Input};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{AppError, Result};
use crate::mail;

/// What an alarm is about, for the texts.
pub struct Subject {
    pub tenant_id: i64,
    /// `device:12` or `person:3`.
    pub key: String,
    pub label: String,
    pub area: String,
}

pub struct Outcome {
    pub alarm_id: Option<i64>,
    pub effect: Effect,
}

/// Applies `input` to the subject's open alarm of `kind` inside the caller's transaction.
pub async fn apply(
    conn: &mut AnyConnection,
    subject: &Subject,
    kind: AlarmKind,
    input: Input,
    who: &str,
    next_action_at: Option<i64>,
) -> Result<Outcome> {
    let row = sqlx::query("SELECT id, state FROM iot_alarms WHERE subject = $1 AND kind = $2 AND state <> 'cleared'")
        .bind(&subject.key)
        .bind(kind.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let (id, current) = match &row {
        Some(r) => (Some(r.try_get::<i64, _>("id")?), Some(crate::db::parsed(r, "state", AlarmState::parse)?)),
        None => (None, None),
    };
    let (_, effect) = machine::step(current, input);
    let now = now_ms();
    let alarm_id = match (effect, id) {
        (Effect::Opened, _) => {
            let detail = serde_json::json!({"label": subject.label, "area": subject.area}).to_string();
            let id: i64 = sqlx::query(
                "INSERT INTO iot_alarms (tenant_id, subject, kind, state, opened_at, updated_at, repeats, step, next_action_at, ack_token, detail) \
                 VALUES ($1, $2, $3, 'active', $4, $4, 0, 0, $5, $6, $7) RETURNING id",
            )
            .bind(subject.tenant_id)
            .bind(&subject.key)
            .bind(kind.as_str())
            .bind(now)
            .bind(next_action_at)
            .bind(crate::crypto::random_token())
            .bind(detail)
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
            log(conn, id, "opened", who).await?;
            Some(id)
        }
        (Effect::Updated, Some(id)) => {
            sqlx::query("UPDATE iot_alarms SET repeats = repeats + 1, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Some(id)
        }
        (Effect::Acknowledged, Some(id)) => {
            sqlx::query(
                "UPDATE iot_alarms SET state = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $1, \
                 next_action_at = NULL WHERE id = $3",
            )
            .bind(now)
            .bind(who)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            log(conn, id, "acknowledged", who).await?;
            Some(id)
        }
        (Effect::Cleared, Some(id)) => {
            sqlx::query(
                "UPDATE iot_alarms SET state = 'cleared', cleared_at = $1, updated_at = $1, next_action_at = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            log(conn, id, "cleared", who).await?;
            Some(id)
        }
        _ => id,
    };
    Ok(Outcome { alarm_id, effect })
}

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

/// A contact as stored.
pub struct StoredContact {
    pub id: i64,
    pub contact: Contact,
}

pub async fn contacts(conn: &mut AnyConnection, column: &str, id: i64) -> Result<Vec<StoredContact>> {
    let column = if column == "person_id" { "person_id" } else { "device_id" };
    let rows = sqlx::query(&format!(
        "SELECT id, name, email, hours_start, hours_end FROM iot_contacts WHERE {column} = $1 ORDER BY position, id"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let (s, e): (Option<i64>, Option<i64>) = (r.try_get("hours_start")?, r.try_get("hours_end")?);
            Ok(StoredContact {
                id: r.try_get("id")?,
                contact: Contact {
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    hours: match (s, e) {
                        (Some(s), Some(e)) => Some((s.clamp(0, 1439) as u16, e.clamp(0, 1439) as u16)),
                        _ => None,
                    },
                },
            })
        })
        .collect()
}

/// Queues one notice per recipient, keyed so that a retried transaction sends it once.
#[allow(clippy::too_many_arguments)]
pub fn notify(
    batch: &mut Batch,
    alarm_id: i64,
    event: &str,
    recipients: &[&StoredContact],
    subject: &str,
    body: &str,
    base_url: &str,
    ack_token: Option<&str>,
) {
    for c in recipients {
        let mut text = body.to_string();
        if let Some(tok) = ack_token {
            text.push_str(&super::texts::ack_line(&format!("{base_url}/iot/ack/{tok}?c={}", c.id)));
        }
        mail::enqueue_batched(batch, &format!("iot:{alarm_id}:{event}:{}", c.id), &c.contact.email, subject, &text);
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
}

/// Minute of the day in JST (for working hours and quiet hours).
pub fn jst_minute(ms: i64) -> u16 {
    let jst = ms.div_euclid(60_000) + 9 * 60;
    jst.rem_euclid(1440) as u16
}

pub fn map_link(place: Option<(f64, f64)>) -> String {
    match place {
        Some((lat, lon)) => format!("{lat:.6}, {lon:.6}  https://maps.gsi.go.jp/#17/{lat:.6}/{lon:.6}/"),
        None => super::texts::no_place(),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlarmInfo {
    pub id: i64,
    pub subject: String,
    #[schema(value_type = String)]
    pub kind: AlarmKind,
    #[schema(value_type = String)]
    pub state: AlarmState,
    pub label: String,
    pub area: String,
    pub opened_at: i64,
    pub updated_at: i64,
    pub repeats: i64,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub cleared_at: Option<i64>,
    /// The lifecycle: (when, what, who).
    pub log: Vec<(i64, String, String)>,
}

impl AlarmInfo {
    /// A 見守り alarm: about a watched person, not a device.
    pub fn is_about_a_person(&self) -> bool {
        self.subject.starts_with("person:")
    }
}

/// Hides who a 見守り alarm is about, and who of their circle answered, from staff the
/// tenant's table does not allow to read 見守り records: they still see that it rang, where,
/// when and in what state, which is what answering it needs.
pub fn hide_people(list: &mut [AlarmInfo], hidden: &str) {
    for a in list.iter_mut().filter(|a| a.is_about_a_person()) {
        a.label = hidden.to_string();
        // Contacts are "name <address>"; sensors, timers and staff stay as they are.
        for who in a.acknowledged_by.iter_mut().chain(a.log.iter_mut().map(|(_, _, w)| w)) {
            if who.contains('@') {
                *who = hidden.to_string();
            }
        }
    }
}

/// An optional filter: `Some(None)` when absent or empty, `Some(Some(v))` when it names a
/// value, `None` when it names none.
fn named<T>(v: Option<&str>, parse: fn(&str) -> Option<T>) -> Option<Option<T>> {
    match v.filter(|v| !v.is_empty()) {
        None => Some(None),
        Some(v) => parse(v).map(Some),
    }
}

/// The tenant's alarms, newest first, of one kind and in one state when those are given (a
/// state no alarm can be in lists none).
pub async fn list(db: &Db, tenant_id: i64, kind: Option<&str>, state: Option<&str>) -> Result<Vec<AlarmInfo>> {
    // A filter that names no kind or state matches nothing, as the SQL would.
    let (kind, state) = match (named(kind, AlarmKind::parse), named(state, AlarmState::parse)) {
        (Some(k), Some(s)) => (k, s),
        _ => return Ok(Vec::new()),
    };
    let rows = sqlx::query(
        "SELECT id, subject, kind, state, detail, opened_at, updated_at, repeats, acknowledged_at, acknowledged_by, cleared_at \
         FROM iot_alarms WHERE tenant_id = $1 AND ($2 = '' OR kind = $2) AND ($3 = '' OR state = $3) ORDER BY id DESC LIMIT 500",
    )
    .bind(tenant_id)
    .bind(kind.map_or("", AlarmKind::as_str))
    .bind(state.map_or("", AlarmState::as_str))
    .fetch_all(&db.read)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let detail: serde_json::Value = serde_json::from_str(&r.try_get::<String, _>("detail")?).unwrap_or_default();
        out.push(AlarmInfo {
            id: r.try_get("id")?,
            subject: r.try_get("subject")?,
            kind: crate::db::parsed(r, "kind", AlarmKind::parse)?,
            state: crate::db::parsed(r, "state", AlarmState::parse)?,
            label: detail["label"].as_str().unwrap_or_default().to_string(),
            area: detail["area"].as_str().unwrap_or_default().to_string(),
            opened_at: r.try_get("opened_at")?,
            updated_at: r.try_get("updated_at")?,
            repeats: r.try_get("repeats")?,
            acknowledged_at: r.try_get("acknowledged_at")?,
            acknowledged_by: r.try_get("acknowledged_by")?,
            cleared_at: r.try_get("cleared_at")?,
            log: Vec::new(),
        });
    }
    // The lifecycles of every listed alarm in one query, not one per alarm.
    let logs = sqlx::query(
        "SELECT l.alarm_id, l.at, l.what, l.who FROM iot_alarm_log l JOIN iot_alarms a ON a.id = l.alarm_id \
         WHERE a.tenant_id = $1 AND a.id >= $2 ORDER BY l.id",
    )
    .bind(tenant_id)
    .bind(out.last().map_or(0, |a| a.id))
    .fetch_all(&db.read)
    .await?;
    let at: std::collections::HashMap<i64, usize> = out.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    for l in &logs {
        let alarm: i64 = l.try_get("alarm_id")?;
        if let Some(a) = at.get(&alarm).and_then(|i| out.get_mut(*i)) {
            a.log.push((l.try_get("at")?, l.try_get("what")?, l.try_get("who")?));
        }
    }
    Ok(out)
}

/// Acknowledges by the token in the mails; `contact` names who (from the link).
pub async fn acknowledge(db: &Db, token: &str, contact: Option<i64>) -> Result<i64> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let token = token.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let row = sqlx::query("SELECT id, tenant_id, subject, kind, state FROM iot_alarms WHERE ack_token = $1")
                .bind(&token)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(AppError::NotFound)?;
            let (id, tenant_id, subject): (i64, i64, String) =
                (row.try_get("id")?, row.try_get("tenant_id")?, row.try_get("subject")?);
            let kind = crate::db::parsed(&row, "kind", AlarmKind::parse)?;
            if crate::db::parsed(&row, "state", AlarmState::parse)? != AlarmState::Active {
                return Ok(id);
            }
            let who = match contact {
                Some(c) => {
                    let r = sqlx::query("SELECT name, email FROM iot_contacts WHERE id = $1 AND tenant_id = $2")
                        .bind(c)
                        .bind(tenant_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                    match r {
                        Some(r) => {
                            format!("{} <{}>", r.try_get::<String, _>("name")?, r.try_get::<String, _>("email")?)
                        }
                        None => "link".into(),
                    }
                }
                None => "link".into(),
            };
            let done = sqlx::query(
                "UPDATE iot_alarms SET state = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $1, \
                 next_action_at = NULL WHERE id = $3 AND state = 'active'",
            )
            .bind(now_ms())
            .bind(&who)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 1 {
                log(conn, id, "acknowledged", &who).await?;
                crate::audit::append(
                    conn,
                    tenant_id,
                    &who,
                    "iot.alarm_acknowledged",
                    &format!("alarm:{id}"),
                    serde_json::json!({"subject": subject, "kind": kind.as_str()}),
                )
                .await?;
            }
            Ok(id)
        })
    })
    .await
}

/// What the acknowledgement page shows of the alarm behind a mailed link.
pub struct AckInfo {
    pub kind: AlarmKind,
    pub state: AlarmState,
    pub label: String,
    pub area: String,
    /// A trap alarm whose capture was recorded.
    pub captured: bool,
}

/// The alarm a mailed acknowledgement token names, if any.
pub async fn by_ack_token(db: &Db, token: &str) -> Result<Option<AckInfo>> {
    if token.len() > 100 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT a.kind AS kind, a.state AS state, a.detail AS detail, \
         (SELECT COUNT(*) FROM iot_captures c WHERE c.alarm_id = a.id) AS captures \
         FROM iot_alarms a WHERE a.ack_token = $1",
    )
    .bind(token)
    .fetch_optional(&db.read)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let detail: serde_json::Value = serde_json::from_str(&r.try_get::<String, _>("detail")?).unwrap_or_default();
    Ok(Some(AckInfo {
        kind: crate::db::parsed(&r, "kind", AlarmKind::parse)?,
        state: crate::db::parsed(&r, "state", AlarmState::parse)?,
        label: detail["label"].as_str().unwrap_or_default().to_string(),
        area: detail["area"].as_str().unwrap_or_default().to_string(),
        captured: r.try_get::<i64, _>("captures")? > 0,
    }))
}
