//! 見守り: activity moves a person's inactivity deadline; silence past it (outside quiet hours)
//! or the call button opens an alarm that goes to the first contact on duty and escalates
//! down the list until someone acknowledges. Sensor silence is a device matter (see ingest).

use kencho_core::iot::alarm::{next_contact, AlarmKind, Effect, Input};
use sqlx::{AnyConnection, Row};

use super::alarms::{self, Subject};
use super::ingest::ack_token;
use super::texts;
use crate::db::Batch;
use crate::error::Result;

pub struct Person {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub area: String,
    pub inactivity_hours: i64,
    pub quiet: Option<(u16, u16)>,
    pub wait_min: i64,
    pub last_activity_at: Option<i64>,
}

pub async fn person(conn: &mut AnyConnection, id: i64) -> Result<Person> {
    let r = sqlx::query(
        "SELECT id, tenant_id, name, area, inactivity_hours, quiet_start, quiet_end, escalation_wait_min, last_activity_at \
         FROM iot_people WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let (qs, qe): (Option<i64>, Option<i64>) = (r.try_get("quiet_start")?, r.try_get("quiet_end")?);
    Ok(Person {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        area: r.try_get("area")?,
        inactivity_hours: r.try_get("inactivity_hours")?,
        quiet: qs.zip(qe).map(|(s, e)| (s.clamp(0, 1439) as u16, e.clamp(0, 1439) as u16)),
        wait_min: r.try_get("escalation_wait_min")?,
        last_activity_at: r.try_get("last_activity_at")?,
    })
}

fn subject(p: &Person) -> Subject {
    Subject { tenant_id: p.tenant_id, key: format!("person:{}", p.id), label: p.name.clone(), area: p.area.clone() }
}

/// Activity from any of the person's sensors.
pub async fn activity(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    base_url: &str,
    person_id: i64,
    now: i64,
) -> Result<()> {
    let p = person(conn, person_id).await?;
    sqlx::query("UPDATE iot_people SET last_activity_at = $1, inactivity_deadline = $2 WHERE id = $3")
        .bind(now)
        .bind(now + p.inactivity_hours * 3_600_000)
        .bind(p.id)
        .execute(&mut *conn)
        .await?;
    // Whoever was told of the silence hears that it is over.
    let o = alarms::apply(conn, &subject(&p), AlarmKind::Inactivity, Input::Clear, "activity", None).await?;
    if let (Effect::Cleared, Some(id)) = (o.effect, o.alarm_id) {
        let told = told_contacts(conn, p.id, id).await?;
        let refs: Vec<&alarms::StoredContact> = told.iter().collect();
        let (s, b) = texts::all_clear(p.id, &p.name, &p.area);
        alarms::notify(batch, id, "clear", &refs, &s, &b, base_url, None);
    }
    Ok(())
}

/// Contacts already notified of an alarm (its log says so).
async fn told_contacts(conn: &mut AnyConnection, person_id: i64, alarm_id: i64) -> Result<Vec<alarms::StoredContact>> {
    let all = alarms::contacts(conn, "person_id", person_id).await?;
    let log: Vec<String> = sqlx::query("SELECT who FROM iot_alarm_log WHERE alarm_id = $1 AND what LIKE 'notified:%'")
        .bind(alarm_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("who"))
        .collect::<std::result::Result<_, _>>()?;
    Ok(all.into_iter().filter(|c| log.iter().any(|w| w.ends_with(&format!("<{}>", c.contact.email)))).collect())
}

pub async fn call_button(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    base_url: &str,
    person_id: i64,
    now: i64,
) -> Result<()> {
    let p = person(conn, person_id).await?;
    let wait = p.wait_min * 60_000;
    let o = alarms::apply(conn, &subject(&p), AlarmKind::CallButton, Input::Raise, "button", Some(now + wait)).await?;
    if let (Effect::Opened, Some(id)) = (o.effect, o.alarm_id) {
        let (s, b) = texts::call_button(p.id, &p.name, &p.area);
        escalate(conn, batch, base_url, &p, id, None, now, &s, &b).await?;
    }
    // Pressing the button is also a sign of life.
    activity(conn, batch, base_url, person_id, now).await
}

/// Raises the inactivity alarm (called by the timer once the deadline has passed).
pub async fn inactivity(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    base_url: &str,
    p: &Person,
    now: i64,
) -> Result<()> {
    let wait = p.wait_min * 60_000;
    let o = alarms::apply(conn, &subject(p), AlarmKind::Inactivity, Input::Raise, "timer", Some(now + wait)).await?;
    if let (Effect::Opened, Some(id)) = (o.effect, o.alarm_id) {
        let (s, b) = texts::inactivity(p.id, &p.name, &p.area, p.inactivity_hours, p.last_activity_at);
        escalate(conn, batch, base_url, p, id, None, now, &s, &b).await?;
    }
    Ok(())
}

/// Tells the next contact on duty after step `after` and records the step; returns whether
/// anyone was left to tell.
#[allow(clippy::too_many_arguments)]
pub async fn escalate(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    base_url: &str,
    p: &Person,
    alarm_id: i64,
    after: Option<usize>,
    now: i64,
    subject: &str,
    body: &str,
) -> Result<bool> {
    let list = alarms::contacts(conn, "person_id", p.id).await?;
    let plain: Vec<_> = list.iter().map(|c| c.contact.clone()).collect();
    let minute = alarms::jst_minute(now);
    match next_contact(&plain, after, minute) {
        Some(i) => {
            let token = ack_token(conn, alarm_id).await?;
            sqlx::query("UPDATE iot_alarms SET step = $1 WHERE id = $2")
                .bind(i as i64 + 1)
                .bind(alarm_id)
                .execute(&mut *conn)
                .await?;
            alarms::notify(
                batch,
                alarm_id,
                &format!("step{}", i + 1),
                &[&list[i]],
                subject,
                body,
                base_url,
                Some(&token),
            );
            Ok(true)
        }
        None => {
            sqlx::query("UPDATE iot_alarms SET next_action_at = NULL WHERE id = $1")
                .bind(alarm_id)
                .execute(&mut *conn)
                .await?;
            alarms::log(conn, alarm_id, "escalation list exhausted", "timer").await?;
            Ok(false)
        }
    }
}
