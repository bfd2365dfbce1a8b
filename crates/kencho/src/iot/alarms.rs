//! Alarms: one open alarm per subject (a device or a watched person) and kind, following the
//! state machine in `kencho_core::iot::alarm`. Every change is logged with the alarm, and every
//! notice goes through the outbox in the same transaction. Deadlines live in the database and
//! are claimed with a conditional UPDATE, so each fires once, after restarts and across nodes.

use kencho_core::iot::alarm::{self as machine, AlarmKind, AlarmState, Effect, Input};

pub use super::model::{AckInfo, AlarmInfo, Outcome, StoredContact, Subject};
use super::store::alarms as store;
use crate::db::{now_ms, Batch, Db};
use crate::error::{AppError, Result};
use crate::mail;

/// Applies `input` to the subject's open alarm of `kind` inside the caller's transaction.
pub async fn apply(
    conn: &mut sqlx::AnyConnection,
    subject: &Subject,
    kind: AlarmKind,
    input: Input,
    who: &str,
    next_action_at: Option<i64>,
) -> Result<Outcome> {
    let open = store::open_of(conn, &subject.key, kind).await?;
    let (id, current) = match open {
        Some((id, state)) => (Some(id), Some(state)),
        None => (None, None),
    };
    let (_, effect) = machine::step(current, input);
    let now = now_ms();
    let alarm_id = match (effect, id) {
        (Effect::Opened, _) => {
            let id = store::insert(conn, subject, kind, now, next_action_at, crate::crypto::random_token()).await?;
            store::log(conn, id, "opened", who).await?;
            Some(id)
        }
        (Effect::Updated, Some(id)) => {
            store::repeat(conn, id, now).await?;
            Some(id)
        }
        (Effect::Acknowledged, Some(id)) => {
            store::set_acknowledged(conn, id, now, who).await?;
            store::log(conn, id, "acknowledged", who).await?;
            Some(id)
        }
        (Effect::Cleared, Some(id)) => {
            store::set_cleared(conn, id, now).await?;
            store::log(conn, id, "cleared", who).await?;
            Some(id)
        }
        _ => id,
    };
    Ok(Outcome { alarm_id, effect })
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
        store::push_notified(batch, alarm_id, event, c);
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
    let mut out = store::list(db, tenant_id, kind, state).await?;
    // The lifecycles of every listed alarm in one query, not one per alarm.
    let logs = store::logs_from(db, tenant_id, out.last().map_or(0, |a| a.id)).await?;
    let at: std::collections::HashMap<i64, usize> = out.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    for (alarm, line) in logs {
        if let Some(a) = at.get(&alarm).and_then(|i| out.get_mut(*i)) {
            a.log.push(line);
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
            let alarm = store::by_token(conn, &token).await?.ok_or(AppError::NotFound)?;
            let (id, tenant_id) = (alarm.id, alarm.tenant_id);
            if alarm.state != AlarmState::Active {
                return Ok(id);
            }
            let who = match contact {
                Some(c) => match store::contact_name(conn, c, tenant_id).await? {
                    Some((name, email)) => format!("{name} <{email}>"),
                    None => "link".into(),
                },
                None => "link".into(),
            };
            if store::acknowledge_active(conn, id, now_ms(), &who).await? {
                store::log(conn, id, "acknowledged", &who).await?;
                crate::audit::append(
                    conn,
                    tenant_id,
                    &who,
                    "iot.alarm_acknowledged",
                    &format!("alarm:{id}"),
                    serde_json::json!({"subject": alarm.subject, "kind": alarm.kind.as_str()}),
                )
                .await?;
            }
            Ok(id)
        })
    })
    .await
}

/// The alarm a mailed acknowledgement token names, if any.
pub async fn by_ack_token(db: &Db, token: &str) -> Result<Option<AckInfo>> {
    if token.len() > 100 {
        return Ok(None);
    }
    store::ack_info(db, token).await
}
