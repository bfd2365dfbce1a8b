//! The SQL of 見守り: a watched person as the alarms read them, their activity, and an
//! alarm's escalation step.

use sqlx::{AnyConnection, Row};

use crate::error::Result;
use crate::iot::model::Person;

/// Watched person `id`.
pub async fn person(conn: &mut AnyConnection, id: i64) -> Result<Person> {
    let r = sqlx::query(
        "SELECT id, tenant_id, name, area, inactivity_hours, quiet_start, quiet_end, escalation_wait_min, last_activity_at \
         FROM iot_people WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Person::from_row(&r)
}

/// Records activity at `now` and the next inactivity deadline.
pub async fn set_activity(conn: &mut AnyConnection, id: i64, now: i64, deadline: i64) -> Result<()> {
    sqlx::query("UPDATE iot_people SET last_activity_at = $1, inactivity_deadline = $2 WHERE id = $3")
        .bind(now)
        .bind(deadline)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Who the alarm's history says was notified ("name <address>").
pub async fn notified(conn: &mut AnyConnection, alarm_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query("SELECT who FROM iot_alarm_log WHERE alarm_id = $1 AND what LIKE 'notified:%'")
        .bind(alarm_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("who"))
        .collect::<std::result::Result<_, _>>()?)
}

/// Sets the alarm's escalation step (1 = the first contact).
pub async fn set_step(conn: &mut AnyConnection, alarm_id: i64, step: i64) -> Result<()> {
    sqlx::query("UPDATE iot_alarms SET step = $1 WHERE id = $2").bind(step).bind(alarm_id).execute(&mut *conn).await?;
    Ok(())
}

/// Ends the alarm's escalation: no next action.
pub async fn stop_escalation(conn: &mut AnyConnection, alarm_id: i64) -> Result<()> {
    sqlx::query("UPDATE iot_alarms SET next_action_at = NULL WHERE id = $1").bind(alarm_id).execute(&mut *conn).await?;
    Ok(())
}
