//! 見守り: activity moves a person's inactivity deadline; silence past it (outside quiet hours)
//! or the call button opens an alarm that goes to the first contact on duty and escalates
//! down the list until someone acknowledges. Sensor silence is a device matter (see ingest).

use kencho_core::iot::alarm::{next_contact, AlarmKind, Effect, Input};
use sqlx::AnyConnection;

use super::alarms::{self, Subject};
pub use super::model::Person;
use super::store::{alarms as alarm_store, watch as store};
use super::texts;
use crate::db::Batch;
use crate::error::Result;

/// Watched person `id`, as the alarms read them.
pub async fn person(conn: &mut AnyConnection, id: i64) -> Result<Person> {
    store::person(conn, id).await
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
    store::set_activity(conn, p.id, now, now + p.inactivity_hours * 3_600_000).await?;
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
    let all = alarm_store::contacts(conn, "person_id", person_id).await?;
    let log = store::notified(conn, alarm_id).await?;
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
    let list = alarm_store::contacts(conn, "person_id", p.id).await?;
    let plain: Vec<_> = list.iter().map(|c| c.contact.clone()).collect();
    let minute = alarms::jst_minute(now);
    match next_contact(&plain, after, minute) {
        Some(i) => {
            let token = alarm_store::ack_token(conn, alarm_id).await?;
            store::set_step(conn, alarm_id, i as i64 + 1).await?;
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
            store::stop_escalation(conn, alarm_id).await?;
            alarm_store::log(conn, alarm_id, "escalation list exhausted", "timer").await?;
            Ok(false)
        }
    }
}
