//! From an uplink to alarms and mail: duplicate and frame-counter checks, the device's last
//! state, its events, and what they mean for traps and for watched people. A message that
//! cannot be used is recorded in `iot_rejected` with the reason; ingestion never stops on it.

use kencho_core::iot::alarm::{self as machine, AlarmKind, Dup, Effect, Input};
use kencho_core::iot::codec::{self, Event};
use kencho_core::iot::uplink::{self, Uplink};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::alarms::{self, StoredContact, Subject};
use crate::db::{now_ms, Batch, Db, Dialect};
use crate::error::{AppError, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// `accepted`, `duplicate` or `rejected`.
    pub result: String,
    pub dev_eui: Option<String>,
    pub events: Vec<String>,
    pub reason: Option<String>,
}

/// Reads one message (from MQTT with its topic, or from a webhook without one).
pub async fn ingest(db: &Db, base_url: &str, source: &str, topic: Option<&str>, body: &[u8]) -> Result<Ingested> {
    let parsed = uplink::parse(topic, body).map_err(|e| e.to_string()).and_then(|u| {
        let events = codec::decode(&u.payload, u.decoded.as_ref()).map_err(|e| e.to_string())?;
        Ok((u, events))
    });
    let (up, events) = match parsed {
        Ok(x) => x,
        Err(reason) => return reject(db, source, topic, body, None, reason).await,
    };
    let base_url = base_url.to_string();
    let eui = up.dev_eui.clone();
    let outcome = db.transact(move |conn| Box::pin(async move { apply(conn, &base_url, &up, &events).await })).await;
    match outcome {
        Ok(o) => Ok(o),
        Err(AppError::NotFound) => {
            reject(db, source, topic, body, Some(eui.clone()), format!("unknown device {eui}")).await
        }
        Err(e) => Err(e),
    }
}

async fn reject(
    db: &Db,
    source: &str,
    topic: Option<&str>,
    body: &[u8],
    eui: Option<String>,
    reason: String,
) -> Result<Ingested> {
    let excerpt: String = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
    let (source, topic, r) =
        (source.to_string(), topic.unwrap_or("").chars().take(300).collect::<String>(), reason.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO iot_rejected (at, source, topic, reason, excerpt) VALUES ($1, $2, $3, $4, $5)")
                .bind(now_ms())
                .bind(&source)
                .bind(&topic)
                .bind(&r)
                .bind(&excerpt)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await?;
    tracing::info!(reason = %reason, "IoT message rejected");
    Ok(Ingested { result: "rejected".into(), dev_eui: eui, events: vec![], reason: Some(reason) })
}

struct Device {
    id: i64,
    tenant_id: i64,
    kind: String,
    label: String,
    area: String,
    place: Option<(f64, f64)>,
    heartbeat_s: i64,
    person_id: Option<i64>,
    last_fcnt: Option<i64>,
    last_dedup: Option<String>,
}

fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Fired => "fired",
        Event::Reset => "reset",
        Event::Heartbeat => "heartbeat",
        Event::Battery { .. } => "battery",
        Event::Motion => "motion",
        Event::Door => "door",
        Event::Power => "power",
        Event::Water => "water",
        Event::Button => "button",
    }
}

async fn apply(conn: &mut AnyConnection, base_url: &str, up: &Uplink, events: &[Event]) -> Result<Ingested> {
    let lock = if Dialect::of(conn) == Dialect::Postgres { " FOR UPDATE" } else { "" };
    let r = sqlx::query(&format!(
        "SELECT id, tenant_id, kind, label, area, lat, lon, heartbeat_s, person_id, last_fcnt, last_dedup \
         FROM iot_devices WHERE dev_eui = $1{lock}"
    ))
    .bind(&up.dev_eui)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let (lat, lon): (Option<f64>, Option<f64>) = (r.try_get(5)?, r.try_get(6)?);
    let d = Device {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        label: r.try_get(3)?,
        area: r.try_get(4)?,
        place: lat.zip(lon),
        heartbeat_s: r.try_get(7)?,
        person_id: r.try_get(8)?,
        last_fcnt: r.try_get(9)?,
        last_dedup: r.try_get(10)?,
    };
    let last = d.last_fcnt.map(|f| (u32::try_from(f).unwrap_or(0), d.last_dedup.as_deref()));
    let names: Vec<String> = events.iter().map(|e| event_name(e).to_string()).collect();
    if machine::is_duplicate(last, up.f_cnt, up.dedup_id.as_deref()) == Dup::Duplicate {
        return Ok(Ingested {
            result: "duplicate".into(),
            dev_eui: Some(up.dev_eui.clone()),
            events: names,
            reason: None,
        });
    }
    let now = now_ms();
    let battery = events.iter().find_map(|e| match e {
        Event::Battery { percent } => Some(i64::from(*percent)),
        _ => None,
    });
    sqlx::query(
        "UPDATE iot_devices SET last_seen_at = $1, last_fcnt = $2, last_dedup = $3, battery = COALESCE($4, battery), \
         silent_deadline = $5 WHERE id = $6",
    )
    .bind(now)
    .bind(up.f_cnt.map(i64::from).or(d.last_fcnt))
    .bind(up.dedup_id.clone())
    .bind(battery)
    .bind(machine::silence_deadline_ms(now, u32::try_from(d.heartbeat_s).unwrap_or(3600)))
    .bind(d.id)
    .execute(&mut *conn)
    .await?;
    let subject = Subject {
        tenant_id: d.tenant_id,
        key: format!("device:{}", d.id),
        label: d.label.clone(),
        area: d.area.clone(),
        place: d.place,
        battery: battery.or(None),
    };
    let who = format!("device:{}", up.dev_eui);
    // The sensor spoke: a "sensor silent" alarm is over.
    let back = alarms::apply(conn, &subject, AlarmKind::SensorSilent, Input::Clear, &who, None).await?;
    let mut batch = Batch::new();
    let hunters = if d.kind == "trap" { alarms::contacts(conn, "device_id", d.id).await? } else { vec![] };
    let all: Vec<&StoredContact> = hunters.iter().collect();
    if back.effect == Effect::Cleared {
        if let Some(id) = back.alarm_id {
            let (s, b) = texts::sensor_back(&d.label, &d.area);
            if d.kind == "trap" {
                alarms::notify(&mut batch, id, "back", &all, &s, &b, base_url, None);
            } else {
                notify_staff(conn, &mut batch, d.tenant_id, id, "back", &s, &b).await?;
            }
        }
    }
    for e in events {
        sqlx::query("INSERT INTO iot_events (device_id, at, kind, battery) VALUES ($1, $2, $3, $4)")
            .bind(d.id)
            .bind(now)
            .bind(event_name(e))
            .bind(battery)
            .execute(&mut *conn)
            .await?;
        match (d.kind.as_str(), e) {
            ("trap", Event::Fired) => {
                let resend = resend_interval_ms(conn, d.tenant_id).await?;
                let o =
                    alarms::apply(conn, &subject, AlarmKind::TrapFired, Input::Raise, &who, Some(now + resend)).await?;
                if let (Effect::Opened, Some(id)) = (o.effect, o.alarm_id) {
                    let token = ack_token(conn, id).await?;
                    let (s, b) = texts::trap_fired(&d.label, &d.area, d.place, battery, now);
                    alarms::notify(&mut batch, id, "fired", &all, &s, &b, base_url, Some(&token));
                }
            }
            ("trap", Event::Reset) => {
                let o = alarms::apply(conn, &subject, AlarmKind::TrapFired, Input::Clear, &who, None).await?;
                if let (Effect::Cleared, Some(id)) = (o.effect, o.alarm_id) {
                    let (s, b) = texts::trap_reset(&d.label, &d.area);
                    alarms::notify(&mut batch, id, "reset", &all, &s, &b, base_url, None);
                }
            }
            (_, Event::Battery { percent }) => {
                if machine::battery_low(*percent) {
                    let o = alarms::apply(conn, &subject, AlarmKind::LowBattery, Input::Raise, &who, None).await?;
                    if let (Effect::Opened, Some(id)) = (o.effect, o.alarm_id) {
                        let (s, b) = texts::low_battery(&d.label, &d.area, *percent);
                        if d.kind == "trap" {
                            alarms::notify(&mut batch, id, "battery", &all, &s, &b, base_url, None);
                        } else {
                            notify_staff(conn, &mut batch, d.tenant_id, id, "battery", &s, &b).await?;
                        }
                    }
                } else if *percent >= 30 {
                    alarms::apply(conn, &subject, AlarmKind::LowBattery, Input::Clear, &who, None).await?;
                }
            }
            (_, Event::Motion | Event::Door | Event::Power | Event::Water) => {
                if let Some(pid) = d.person_id {
                    super::watch::activity(conn, &mut batch, base_url, pid, now).await?;
                }
            }
            (_, Event::Button) => {
                if let Some(pid) = d.person_id {
                    super::watch::call_button(conn, &mut batch, base_url, pid, now).await?;
                }
            }
            _ => {}
        }
    }
    batch.run(conn).await?;
    Ok(Ingested { result: "accepted".into(), dev_eui: Some(up.dev_eui.clone()), events: names, reason: None })
}

pub async fn ack_token(conn: &mut AnyConnection, alarm_id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT ack_token FROM iot_alarms WHERE id = $1")
        .bind(alarm_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?)
}

/// Minutes between re-sends of an unacknowledged trap alarm (tenant setting, default 30).
pub async fn resend_interval_ms(conn: &mut AnyConnection, tenant_id: i64) -> Result<i64> {
    let r = sqlx::query("SELECT trap_resend_min FROM iot_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    let min = match r {
        Some(r) => r.try_get::<i64, _>(0)?,
        None => 30,
    };
    Ok(min.clamp(1, 24 * 60) * 60_000)
}

/// Silent sensors and low batteries of 見守り devices go to the tenant's staff, never the family.
pub async fn notify_staff(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    tenant_id: i64,
    alarm_id: i64,
    event: &str,
    subject: &str,
    body: &str,
) -> Result<()> {
    let configured = sqlx::query("SELECT staff_email FROM iot_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()?
        .filter(|e| !e.is_empty());
    let emails: Vec<String> = match configured {
        Some(e) => vec![e],
        None => sqlx::query("SELECT email FROM staff WHERE tenant_id = $1 AND role = 'admin' ORDER BY id")
            .bind(tenant_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?,
    };
    let staff: Vec<StoredContact> = emails
        .into_iter()
        .enumerate()
        .map(|(i, email)| StoredContact {
            id: -(i as i64) - 1,
            contact: kencho_core::iot::alarm::Contact { name: "職員".into(), email, hours: None },
        })
        .collect();
    let refs: Vec<&StoredContact> = staff.iter().collect();
    alarms::notify(batch, alarm_id, event, &refs, subject, body, "", None);
    Ok(())
}

/// The mail texts (Japanese; the recipients are local hunters, families and staff).
pub mod texts {
    use super::alarms::map_link;

    fn when(ms: i64) -> String {
        crate::web::fmt_time(ms)
    }

    pub fn trap_fired(
        label: &str,
        area: &str,
        place: Option<(f64, f64)>,
        battery: Option<i64>,
        at: i64,
    ) -> (String, String) {
        (
            format!("【わな作動】{label}（{area}）"),
            format!(
                "わな「{label}」（{area}）が作動しました。\n時刻: {}\n場所: {}\n電池: {}\n\n見回りをお願いします。捕獲の記録は確認リンクの画面からできます。",
                when(at),
                map_link(place),
                battery.map(|b| format!("{b}%")).unwrap_or_else(|| "不明".into())
            ),
        )
    }

    pub fn trap_resend(label: &str, area: &str, place: Option<(f64, f64)>, opened: i64) -> (String, String) {
        (
            format!("【再送・わな作動】{label}（{area}）"),
            format!(
                "わな「{label}」（{area}）の作動（{}）をまだ誰も確認していません。\n場所: {}",
                when(opened),
                map_link(place)
            ),
        )
    }

    pub fn trap_reset(label: &str, area: &str) -> (String, String) {
        (format!("【わな復帰】{label}（{area}）"), format!("わな「{label}」（{area}）は復帰（リセット）されました。"))
    }

    pub fn sensor_silent(label: &str, area: &str, last: Option<i64>) -> (String, String) {
        (
            format!("【センサー無応答】{label}（{area}）"),
            format!(
                "センサー「{label}」（{area}）からの定期通信が途絶えています。最終受信: {}\n電池切れや故障の可能性があります。これは見守り対象の方の異常ではなく、機器の状態のお知らせです。",
                last.map(when).unwrap_or_else(|| "なし".into())
            ),
        )
    }

    pub fn sensor_back(label: &str, area: &str) -> (String, String) {
        (
            format!("【センサー復旧】{label}（{area}）"),
            format!("センサー「{label}」（{area}）からの通信が再開しました。"),
        )
    }

    pub fn low_battery(label: &str, area: &str, percent: u8) -> (String, String) {
        (
            format!("【電池残量低下】{label}（{area}）"),
            format!("センサー「{label}」（{area}）の電池残量が{percent}%です。止まる前に交換してください。"),
        )
    }

    pub fn inactivity(name: &str, area: &str, hours: i64, since: Option<i64>) -> (String, String) {
        (
            format!("【見守り】{name}さん（{area}）の反応がありません"),
            format!(
                "{name}さん（{area}）のセンサーに{hours}時間以上反応がありません（最後の反応: {}）。\n様子を確認してください。確認したら下のリンクを押してください。押されない場合は次の連絡先にお知らせします。",
                since.map(when).unwrap_or_else(|| "記録なし".into())
            ),
        )
    }

    pub fn call_button(name: &str, area: &str) -> (String, String) {
        (
            format!("【至急・呼出】{name}さん（{area}）が呼出ボタンを押しました"),
            format!("{name}さん（{area}）が呼出ボタンを押しました。すぐに連絡・訪問してください。確認したら下のリンクを押してください。"),
        )
    }

    pub fn all_clear(name: &str, area: &str) -> (String, String) {
        (
            format!("【見守り・解除】{name}さん（{area}）"),
            format!("{name}さん（{area}）のセンサーに反応がありました。見守りの呼びかけを解除します。"),
        )
    }
}
