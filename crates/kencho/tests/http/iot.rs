//! IoT alerts end to end: real MQTT messages through the local Mosquitto in the ChirpStack v4
//! and The Things Stack formats, and webhooks; e-mails read at the SMTP sink. Time is moved by
//! setting the stored deadlines, which is exactly what a restarted node would find.

use std::time::Duration;

use base64::Engine;
use rumqttc::{AsyncClient, MqttOptions, QoS};

use crate::harness::*;

const ADMIN: &str = "admin@minamisoma.example.jp";

async fn admin_token(app: &TestApp) -> String {
    app.admin_api_token(ADMIN).await.1
}

/// A random DevEUI, so tests sharing the broker never see each other's devices.
fn eui() -> String {
    let t = kencho::accounts::random_token();
    t.bytes().map(|b| format!("{:X}", b % 16)).take(16).collect()
}

async fn publisher() -> AsyncClient {
    let (host, port) = mqtt_broker();
    let mut opts = MqttOptions::new(format!("test-pub-{}", eui()), host, port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(opts, 100);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    client
}

fn chirpstack(eui: &str, fcnt: u32, dedup: &str, payload: &[u8]) -> (String, String) {
    let topic = format!("application/0c6fe2cb-0000-4000-8000-000000000001/device/{}/event/up", eui.to_lowercase());
    let body = serde_json::json!({
        "deduplicationId": dedup,
        "time": "2026-11-29T05:00:00.000000+00:00",
        "deviceInfo": {"tenantId": "t", "applicationId": "a", "deviceName": "trap", "devEui": eui.to_lowercase()},
        "devAddr": "01020304", "adr": true, "dr": 5, "fCnt": fcnt, "fPort": 10, "confirmed": false,
        "data": base64::engine::general_purpose::STANDARD.encode(payload),
        "rxInfo": [{"gatewayId": "0016c001ff10a235", "rssi": -97, "snr": 7.5}]
    });
    (topic, body.to_string())
}

fn tts(eui: &str, fcnt: u32, payload: &[u8]) -> (String, String) {
    let topic = "v3/kencho-traps@ttn/devices/trap-01/up".to_string();
    let body = serde_json::json!({
        "end_device_ids": {"device_id": "trap-01", "application_ids": {"application_id": "kencho-traps"}, "dev_eui": eui},
        "received_at": "2026-11-29T05:10:00.123456789Z",
        "uplink_message": {"f_port": 10, "f_cnt": fcnt, "frm_payload": base64::engine::general_purpose::STANDARD.encode(payload),
            "rx_metadata": [{"gateway_ids": {"gateway_id": "gw"}, "rssi": -101, "snr": 4.2}]}
    });
    (topic, body.to_string())
}

async fn publish(c: &AsyncClient, (topic, body): (String, String)) {
    c.publish(topic, QoS::AtLeastOnce, false, body.into_bytes()).await.unwrap();
}

async fn eventually(app: &TestApp, sql: &str, want: i64) {
    for _ in 0..100 {
        if app.count(sql).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.count(sql).await, want, "{sql}");
}

#[tokio::test]
async fn a_trap_fires_over_mqtt_and_the_hunters_are_told() {
    let app = spawn_app_mqtt().await;
    let token = admin_token(&app).await;
    let trap = eui();
    let res = api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([{
            "dev_eui": trap, "kind": "trap", "label": "くくりわな 3号", "area": "鹿島区", "lat": 37.70, "lon": 140.95,
            "heartbeat_s": 3600,
            "hunters": [{"name": "猟友会 一郎", "email": "ichiro@hunt.example.jp"}, {"name": "猟友会 二郎", "email": "jiro@hunt.example.jp"}]
        }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let ids: Vec<i64> = res.json().await.unwrap();
    // The trap works under a capture permit (鳥獣保護管理法 第9条): a capture needs one.
    crate::wildlife::permit_for(&app, &token, ids[0], &["inoshishi"]).await;
    // A bad row rejects the whole list.
    let res = api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(format!("dev_eui,kind,label,area,hunters\n{},trap,A,北,x <a@example.jp>\nZZZ,trap,B,北,\n", eui()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("line 3"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM iot_devices WHERE label IN ('A', 'B')").await,
        0,
        "nothing half-imported"
    );

    let mqtt = publisher().await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the server subscribes
    publish(&mqtt, chirpstack(&trap, 10, "6e1b1d9a-0001", &[0x01, 87])).await;
    let m = app.smtp.wait_for("ichiro@hunt.example.jp", "くくりわな 3号").await;
    assert!(m.body.contains("37.700000, 140.950000") && m.body.contains("87%"), "{}", m.body);
    app.smtp.wait_for("jiro@hunt.example.jp", "くくりわな 3号").await;
    // The same uplink again (same deduplicationId), and a repeat with a new frame: no new mail.
    publish(&mqtt, chirpstack(&trap, 10, "6e1b1d9a-0001", &[0x01, 87])).await;
    publish(&mqtt, chirpstack(&trap, 11, "6e1b1d9a-0002", &[0x01, 86])).await;
    eventually(&app, "SELECT repeats FROM iot_alarms WHERE kind = 'trap_fired'", 1).await;
    assert_eq!(app.smtp.count_to("ichiro@hunt.example.jp", "作動しました"), 1);
    // Nobody acknowledged: at the re-send time it goes out again.
    sqlx::query("UPDATE iot_alarms SET next_action_at = 1 WHERE kind = 'trap_fired'")
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    app.smtp.wait_for("jiro@hunt.example.jp", "まだ誰も確認していません").await;
    // A hunter acknowledges from the link, then records the capture.
    let link = m.body.split("/iot/ack/").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_string();
    let b = browser();
    let page = b.get(app.url(&format!("/iot/ack/{link}"))).send().await.unwrap().text().await.unwrap();
    let (tok, c) = link.split_once("?c=").unwrap();
    let res = b
        .post(app.url(&format!("/iot/ack/{tok}")))
        .form(&[("csrf", csrf_of(&page).as_str()), ("c", c)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_alarms WHERE state = 'acknowledged' AND acknowledged_by LIKE '%ichiro@hunt.example.jp%'").await, 1);
    let res = b
        .post(app.url(&format!("/iot/ack/{tok}/capture")))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("c", c),
            ("outcome", "caught"),
            ("species", "イノシシ"),
            ("count", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "a capture counts at least one animal");
    let res = b
        .post(app.url(&format!("/iot/ack/{tok}/capture")))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("c", c),
            ("outcome", "caught"),
            ("species", "イノシシ"),
            ("count", "2"),
            ("sex", "female"),
            ("age", "adult"),
            ("disposition", "buried"),
            ("date", &crate::wildlife::jst_now().0),
            ("time", &crate::wildlife::jst_now().1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let staff = app.staff_browser("kacho@minamisoma.example.jp").await;
    let page = staff.get(app.url("/staff/iot/captures")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("イノシシ") && page.contains("鹿島区"), "{page}");
    // Acknowledged alarms are not re-sent.
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_alarms WHERE next_action_at IS NOT NULL").await, 0);
    // The Things Stack format: the trap is reset; the hunters hear it.
    publish(&mqtt, tts(&trap, 12, &[0x02, 85])).await;
    app.smtp.wait_for("ichiro@hunt.example.jp", "復帰").await;
    eventually(&app, "SELECT COUNT(*) FROM iot_alarms WHERE kind = 'trap_fired' AND state = 'cleared'", 1).await;
    // The sensor goes quiet past its deadline.
    sqlx::query(&format!("UPDATE iot_devices SET silent_deadline = 1 WHERE dev_eui = '{trap}'"))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    app.smtp.wait_for("ichiro@hunt.example.jp", "定期通信が途絶えています").await;
    // Malformed and unknown-device messages are recorded with the reason; ingestion goes on.
    // (A DevEUI of this test's own: the other IoT tests publish to the same broker meanwhile.)
    let stranger = eui();
    let stranger_topic = format!("application/x/device/{stranger}/event/up");
    publish(&mqtt, (stranger_topic.clone(), "{not json".into())).await;
    publish(&mqtt, chirpstack(&stranger, 1, "zzz", &[0x03])).await;
    eventually(
        &app,
        &format!(
            "SELECT COUNT(*) FROM iot_rejected WHERE reason LIKE '%unknown device%' AND reason LIKE '%{stranger}%'"
        ),
        1,
    )
    .await;
    eventually(
        &app,
        &format!("SELECT COUNT(*) FROM iot_rejected WHERE (reason LIKE '%JSON%' OR reason LIKE '%json%') AND topic = '{stranger_topic}'"),
        1,
    )
    .await;
    publish(&mqtt, chirpstack(&trap, 13, "6e1b1d9a-0013", &[0x03, 80])).await;
    app.smtp.wait_for("ichiro@hunt.example.jp", "通信が再開しました").await;
    // The alarm page shows the lifecycle.
    let page = staff.get(app.url("/staff/iot?kind=trap_fired")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("くくりわな 3号") && page.contains("acknowledged") && page.contains("capture:caught"),
        "{page}"
    );
}

#[tokio::test]
async fn watch_alarms_escalate_until_someone_acknowledges() {
    let app = spawn_app_mqtt().await;
    let token = admin_token(&app).await;
    let res = api()
        .post(app.url("/api/v1/admin/iot/people"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "name": "浦尻 トメ", "area": "小高区", "inactivity_hours": 12, "escalation_wait_min": 30,
            "consent": "2026-11-29 本人と長男が書面で同意",
            "contacts": [
                {"name": "長男", "email": "son@family.example.jp", "role": "family"},
                {"name": "民生委員 相馬", "email": "minsei@town.example.jp", "role": "minsei"},
                {"name": "南相馬市 長寿福祉課", "email": "city@town.example.jp", "role": "municipality"}
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let person: i64 = res.json().await.unwrap();
    let res = api()
        .post(app.url("/api/v1/admin/iot/people"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "x", "inactivity_hours": 2, "consent": "c", "contacts": [{"name": "a", "email": "a@example.jp", "role": "family"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "the window is 4–72 h");
    let (motion, button) = (eui(), eui());
    let res = api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([
            {"dev_eui": motion, "kind": "motion", "label": "居間 人感", "area": "小高区", "person_id": person},
            {"dev_eui": button, "kind": "button", "label": "呼出ボタン", "area": "小高区", "person_id": person}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let mqtt = publisher().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish(&mqtt, chirpstack(&motion, 1, "m-1", &[0x04, 90])).await;
    eventually(
        &app,
        &format!("SELECT COUNT(*) FROM iot_people WHERE id = {person} AND last_activity_at IS NOT NULL"),
        1,
    )
    .await;
    // Twelve hours without activity (moved in the database, as a restarted node would find it).
    sqlx::query(&format!("UPDATE iot_people SET inactivity_deadline = 1 WHERE id = {person}"))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    let first = app.smtp.wait_for("son@family.example.jp", "反応がありません").await;
    assert_eq!(app.smtp.count_to("minsei@town.example.jp", "反応がありません"), 0, "one contact at a time");
    // Nobody answers within the wait: the next contact is told, exactly once, even when a
    // second node (a fresh connection to the same database) runs the timers at the same moment.
    sqlx::query("UPDATE iot_alarms SET next_action_at = 1 WHERE kind = 'inactivity'")
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    let other = app.connect_again().await;
    let _ = kencho::iot::timers::run_once(&other, &app.base).await.unwrap();
    let second = app.smtp.wait_for("minsei@town.example.jp", "反応がありません").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.smtp.count_to("minsei@town.example.jp", "反応がありません"), 1);
    assert_eq!(app.smtp.count_to("son@family.example.jp", "反応がありません"), 1);
    // The 民生委員 acknowledges: no more escalation.
    let link = second.body.split("/iot/ack/").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_string();
    let (tok, c) = link.split_once("?c=").unwrap();
    let b = browser();
    let page = b.get(app.url(&format!("/iot/ack/{link}"))).send().await.unwrap().text().await.unwrap();
    b.post(app.url(&format!("/iot/ack/{tok}")))
        .form(&[("csrf", csrf_of(&page).as_str()), ("c", c)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM iot_alarms WHERE kind = 'inactivity' AND state = 'acknowledged'").await,
        1
    );
    sqlx::query("UPDATE iot_alarms SET next_action_at = 1 WHERE kind = 'inactivity'")
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.smtp.count_to("city@town.example.jp", "反応がありません"),
        0,
        "an acknowledged alarm never escalates"
    );
    // Activity resumes: those who were told hear "all clear".
    publish(&mqtt, chirpstack(&motion, 2, "m-2", &[0x05])).await;
    app.smtp.wait_for("son@family.example.jp", "解除").await;
    app.smtp.wait_for("minsei@town.example.jp", "解除").await;
    assert!(first.body.contains("浦尻 トメ"));
    // Staff open the person's record: that is audited.
    let staff = app.staff_browser("kacho@minamisoma.example.jp").await;
    let page = staff.get(app.url(&format!("/staff/iot/people/{person}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("浦尻 トメ") && page.contains("民生委員"));
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'iot.person_viewed'").await, 1);
    let other = app.staff_browser("kacho@aizuwakamatsu.example.jp").await;
    assert_eq!(other.get(app.url(&format!("/staff/iot/people/{person}"))).send().await.unwrap().status(), 404);
    // The call button alarms at once.
    publish(&mqtt, chirpstack(&button, 1, "b-1", &[0x08])).await;
    app.smtp.wait_for("son@family.example.jp", "呼出ボタンを押しました").await;
    // Subjects show on lock screens and in previews: they never name the watched person; the
    // body, for the person's own circle, does (issue 18).
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE subject LIKE '%浦尻%'").await, 0);
    assert!(
        app.count("SELECT COUNT(*) FROM outbox WHERE subject LIKE '%見守り番号%' AND body LIKE '%浦尻 トメ%'").await
            >= 2,
        "inactivity and call-button mails name the person in the body only"
    );
    // 見守り alarms name the person, and who of their circle answered, only to staff the roles
    // table allows to read 見守り records (課長 and up by default); the others see that it rang.
    let kakaricho = app.staff_token("kakaricho@minamisoma.example.jp").await;
    let hidden = get_json(&app.url("/api/v1/staff/iot/alarms"), &kakaricho).await.to_string();
    assert!(hidden.contains("call_button") && hidden.contains("小高区"), "{hidden}");
    assert!(!hidden.contains("浦尻") && !hidden.contains("民生委員"), "{hidden}");
    let page = app.staff_browser("kakaricho@minamisoma.example.jp").await;
    let html = page.get(app.url("/staff/iot")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("浦尻") && html.contains("小高区"));
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    let shown = get_json(&app.url("/api/v1/staff/iot/alarms"), &kacho).await.to_string();
    assert!(shown.contains("浦尻 トメ") && shown.contains("民生委員"), "{shown}");
    // A silent 見守り sensor goes to the staff, never to the family.
    sqlx::query(&format!("UPDATE iot_devices SET silent_deadline = 1 WHERE dev_eui = '{motion}'"))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    app.smtp.wait_for(ADMIN, "定期通信が途絶えています").await;
    // A 見守り sensor's label may carry the person's home: its subject names only the DevEUI.
    assert!(
        app.count(&format!("SELECT COUNT(*) FROM outbox WHERE subject = '【センサー無応答】見守り機器 {motion}'"))
            .await
            >= 1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE subject LIKE '%居間%'").await, 0);
    assert_eq!(app.smtp.count_to("son@family.example.jp", "定期通信"), 0);
}

#[tokio::test]
async fn webhooks_take_the_plain_format_and_need_a_token() {
    let app = spawn_app().await;
    let token = admin_token(&app).await;
    let trap = eui();
    api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([{"dev_eui": trap, "kind": "trap", "label": "箱わな 1号", "hunters": [{"name": "三郎", "email": "saburo@hunt.example.jp"}]}]))
        .send()
        .await
        .unwrap();
    let body = serde_json::json!({"dev_eui": trap, "event": "fired", "battery": 15, "f_cnt": 5});
    let res = api().post(app.url("/api/v1/iot/uplink")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = api().post(app.url("/api/v1/iot/uplink")).bearer_auth(&token).json(&body).send().await.unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    app.smtp.wait_for("saburo@hunt.example.jp", "箱わな 1号").await;
    app.smtp.wait_for("saburo@hunt.example.jp", "電池残量が15%").await;
    let v: serde_json::Value = api()
        .post(app.url("/api/v1/iot/uplink"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"], "duplicate");
    let v: serde_json::Value = api()
        .post(app.url("/api/v1/iot/uplink"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"dev_eui": trap, "payload_hex": "09"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"], "rejected");
    assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));
    // Retired, the device's uplinks are unknown; its DevEUI can be registered again.
    let id = app.count(&format!("SELECT id FROM iot_devices WHERE dev_eui = '{trap}'")).await;
    let res =
        api().delete(app.url(&format!("/api/v1/admin/iot/devices/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let open = format!("SELECT COUNT(*) FROM iot_alarms WHERE state <> 'cleared' AND subject = 'device:{id}'");
    assert_eq!(app.count(&open).await, 0, "its alarms are closed");
    let v: serde_json::Value = api()
        .post(app.url("/api/v1/iot/uplink"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"dev_eui": trap, "event": "heartbeat", "f_cnt": 9}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"], "rejected");
    let res = api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([{"dev_eui": trap, "kind": "trap", "label": "箱わな 1号（移設）"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn a_restart_in_the_middle_of_an_escalation_loses_nothing() {
    let mut app = spawn_app_mqtt().await;
    let token = admin_token(&app).await;
    let res = api()
        .post(app.url("/api/v1/admin/iot/people"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "name": "萱浜 キヨ", "area": "原町区", "consent": "2026-11-29 書面同意",
            "contacts": [
                {"name": "長女", "email": "daughter@family.example.jp", "role": "family"},
                {"name": "社協 原町", "email": "shakyo@town.example.jp", "role": "shakyo"}
            ]
        }))
        .send()
        .await
        .unwrap();
    let person: i64 = res.json().await.unwrap();
    let motion = eui();
    let res = api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([{"dev_eui": motion, "kind": "door", "label": "玄関ドア", "area": "原町区", "person_id": person}]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    sqlx::query(&format!("UPDATE iot_people SET inactivity_deadline = 1 WHERE id = {person}"))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    app.smtp.wait_for("daughter@family.example.jp", "反応がありません").await;
    // The node dies with the escalation pending.
    app.kill_server().await;
    sqlx::query("UPDATE iot_alarms SET next_action_at = 1 WHERE kind = 'inactivity'")
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.smtp.count_to("shakyo@town.example.jp", "反応がありません"),
        0,
        "nothing runs while the node is down"
    );
    // A new node on the same database: the stored deadline fires, once.
    app.start_server().await;
    app.smtp.wait_for("shakyo@town.example.jp", "反応がありません").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.smtp.count_to("shakyo@town.example.jp", "反応がありません"), 1);
    // Down again; the door opens meanwhile. The broker keeps the message for the node's
    // session, and the restarted node reads it: both contacts hear "all clear".
    app.kill_server().await;
    let mqtt = publisher().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(&mqtt, chirpstack(&motion, 1, "door-1", &[0x05])).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.start_server().await;
    app.smtp.wait_for("daughter@family.example.jp", "解除").await;
    app.smtp.wait_for("shakyo@town.example.jp", "解除").await;
    // Consent withdrawn: watching ends; contacts are deleted and nothing fires again.
    let res = api()
        .post(app.url(&format!("/api/v1/admin/iot/people/{person}/end")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"reason": "本人が同意を撤回"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM iot_contacts WHERE person_id = {person}")).await, 0);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM iot_devices WHERE person_id = {person} AND retired_at IS NULL")).await,
        0
    );
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM iot_people WHERE id = {person} AND inactivity_deadline IS NOT NULL"))
            .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_alarms WHERE kind = 'inactivity' AND state = 'cleared'").await, 1);
}

/// ChirpStack's HTTP integration posts every event to one URL with `?event=`: an uplink counts,
/// a status report updates battery and last-seen without touching the uplink's deduplication,
/// join and the rest are acknowledged and left; none of them is logged as a rejected uplink.
#[tokio::test]
async fn chirpstack_http_events_are_told_apart_by_their_event_parameter() {
    let app = spawn_app().await;
    let token = admin_token(&app).await;
    let trap = eui();
    api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([{"dev_eui": trap, "kind": "trap", "label": "箱わな 5号"}]))
        .send()
        .await
        .unwrap();
    let post = |event: &'static str, body: String| {
        let (url, token) = (app.url(&format!("/api/v1/iot/uplink?event={event}")), token.clone());
        async move {
            let res = api()
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    let dedup = "7a1f0c3e-5b2d-4e8f-9a6c-1d3e5f7a9b2c";
    let (_, up) = chirpstack(&trap, 12, dedup, &[0x01]);
    assert_eq!(post("up", up.clone()).await["result"], "accepted");
    // StatusEvent (integration.proto) for the same frame: same deduplicationId.
    let device_info =
        serde_json::json!({"tenantId": "t", "applicationId": "a", "deviceName": "trap", "devEui": trap.to_lowercase()});
    let status = serde_json::json!({
        "deduplicationId": dedup, "time": "2026-11-29T05:00:01.000000+00:00",
        "deviceInfo": device_info, "margin": 9, "batteryLevel": 64.57
    });
    let v = post("status", status.to_string()).await;
    assert_eq!((v["result"].as_str(), v["events"][0].as_str()), (Some("accepted"), Some("status")), "{v}");
    let battery = format!("SELECT battery FROM iot_devices WHERE dev_eui = '{trap}'");
    assert_eq!(app.count(&battery).await, 65);
    // The uplink posted again (ChirpStack retries) is still a duplicate: the status did not
    // take its place.
    assert_eq!(post("up", up).await["result"], "duplicate");
    let join = serde_json::json!({"deduplicationId": "8b2e", "time": "2026-11-29T04:59:00Z", "deviceInfo": device_info, "devAddr": "01fe3a2b"});
    for event in ["join", "txack", "log", "ack", "location"] {
        let v = post(event, join.to_string()).await;
        assert_eq!(v["result"], "ignored", "{event}: {v}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_rejected").await, 0);
    // An event type ChirpStack does not have is a rejection that says what was expected.
    let v = post("uplink", join.to_string()).await;
    assert_eq!(v["result"], "rejected");
    assert!(v["reason"].as_str().unwrap().contains("up, status, join"), "{v}");
    let events = format!(
        "SELECT COUNT(*) FROM iot_events e JOIN iot_devices d ON d.id = e.device_id WHERE d.dev_eui = '{trap}' AND e.kind = 'status'"
    );
    assert_eq!(app.count(&events).await, 1);
}
