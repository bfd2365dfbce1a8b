//! Trust between tenants and roles (issue 11): IoT ingestion scoped to the caller's tenant,
//! token scopes and expiry, JMA state per tenant, demo conveniences off by default, no body
//! read before the caller is known, roles as data for alerts, 個別避難計画 and 見守り records.

use serde_json::{json, Value};

use crate::harness::*;

const MINA_ADMIN: &str = "admin@minamisoma.example.jp";
const AIZU_ADMIN: &str = "admin@aizuwakamatsu.example.jp";
/// A demo trap of 南相馬市.
const MINA_TRAP: &str = "70B3D5FFFE000001";

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(app.db.unchecked_write_pool()).await.expect("sql");
}

/// Makes an API token on the admin page with a scope; returns it.
async fn token_with_scope(app: &TestApp, b: &reqwest::Client, scope: &str) -> String {
    let page = b.get(app.url("/staff/admin")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/staff/admin/tokens"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("name", scope), ("scope", scope), ("days", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    page.split("<code id=\"new-token\">").nth(1).and_then(|s| s.split('<').next()).expect("token shown").to_string()
}

async fn uplink(app: &TestApp, token: &str, eui: &str, fcnt: u32, event: &str) -> reqwest::Response {
    api()
        .post(app.url("/api/v1/iot/uplink"))
        .bearer_auth(token)
        .json(&json!({"dev_eui": eui, "event": event, "battery": 80, "f_cnt": fcnt}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn uplinks_are_scoped_to_the_callers_tenant() {
    let app = spawn_app().await;
    let (_, aizu) = app.admin_api_token(AIZU_ADMIN).await;
    let alarms = "SELECT COUNT(*) FROM iot_alarms";
    // Another municipality's administrator cannot fire 南相馬市's trap: it is an unknown device,
    // answered exactly like a DevEUI nobody registered.
    let res = uplink(&app, &aizu, MINA_TRAP, 1, "fired").await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (v["result"].as_str(), v["reason"].as_str()),
        (Some("rejected"), Some("unknown device 70B3D5FFFE000001"))
    );
    let v: Value = uplink(&app, &aizu, "0102030405060708", 1, "fired").await.json().await.unwrap();
    assert_eq!(v["reason"], "unknown device 0102030405060708");
    assert_eq!(app.count(alarms).await, 0);
    let aizu_id = app.count("SELECT id FROM tenants WHERE code = 'aizuwakamatsu'").await;
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM iot_rejected WHERE tenant_id = {aizu_id}")).await,
        2,
        "the rejection is the caller's tenant's to see"
    );

    // 南相馬市's network server has an integration token: it fires the trap, and the audit log
    // names the token.
    let mina_admin = app.staff_browser(MINA_ADMIN).await;
    let integration = token_with_scope(&app, &mina_admin, "iot_uplink").await;
    let v: Value = uplink(&app, &integration, MINA_TRAP, 1, "fired").await.json().await.unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    assert_eq!(app.count(alarms).await, 1);
    let token_id = app.count("SELECT id FROM api_tokens WHERE scope = 'iot_uplink'").await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'iot.uplink' AND actor = 'api_token:{token_id}'"
        ))
        .await,
        1
    );
    // The integration token is nobody's account: nothing else is open to it.
    for path in ["/api/v1/admin/iot/devices", "/api/v1/staff/applications", "/api/v1/applications"] {
        let res = api().get(app.url(path)).bearer_auth(&integration).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "token_scope");
    }
    // A read-only token reads, and changes nothing.
    let read = token_with_scope(&app, &mina_admin, "read").await;
    assert_eq!(api().get(app.url("/api/v1/admin/iot/devices")).bearer_auth(&read).send().await.unwrap().status(), 200);
    let res = uplink(&app, &read, MINA_TRAP, 2, "reset").await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "token_scope");
    // An expired token is no token.
    exec(&app, &format!("UPDATE api_tokens SET expires_at = 1 WHERE id = {token_id}")).await;
    assert_eq!(uplink(&app, &integration, MINA_TRAP, 3, "reset").await.status(), 401);
    // Token use and the refusals are in the security-event log.
    assert!(app.count("SELECT COUNT(*) FROM security_events WHERE kind = 'token_used'").await >= 2);
    assert!(app.count("SELECT COUNT(*) FROM security_events WHERE kind = 'refused'").await >= 4);
    // Tokens have a scope and an expiry, and a bad scope or life is refused.
    let res = api()
        .post(app.url("/api/v1/admin/api-tokens"))
        .bearer_auth(&aizu)
        .json(&json!({"name": "x", "scope": "iot_uplink", "expires_in_days": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = api()
        .post(app.url("/api/v1/admin/api-tokens"))
        .bearer_auth(&aizu)
        .json(&json!({"name": "x", "scope": "root"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn mqtt_applications_belong_to_one_tenant() {
    let app = spawn_app().await;
    let (_, mina) = app.admin_api_token(MINA_ADMIN).await;
    let (_, aizu) = app.admin_api_token(AIZU_ADMIN).await;
    let bind = |token: String, app_id: &'static str| {
        let url = app.url("/api/v1/admin/iot/applications");
        async move {
            api()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"format": "chirpstack", "application": app_id}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(bind(aizu.clone(), "aizu-traps").await.status(), 201);
    // 南相馬市's demo application cannot be taken over by another tenant.
    assert_eq!(bind(aizu.clone(), "0c6fe2cb-0000-4000-8000-000000000001").await.status(), 409);
    assert_eq!(bind(aizu.clone(), "bad/segment").await.status(), 400);
    let list: Value = api()
        .get(app.url("/api/v1/admin/iot/applications"))
        .bearer_auth(&mina)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(3), "南相馬市 sees its own three: {list}");
    // A message on 会津若松市's application naming 南相馬市's trap: unknown device, no alarm.
    let body = |eui: &str| {
        json!({"deduplicationId": "d-1", "deviceInfo": {"devEui": eui.to_lowercase()}, "fCnt": 1, "fPort": 10, "data": "AVA="})
            .to_string()
    };
    let msg = |topic: String, eui: &str| kencho::iot::ingest::Incoming {
        source: "mqtt",
        topic: Some(topic),
        event: None,
        body: body(eui).into_bytes(),
        tenant_id: None,
        caller: "mqtt".into(),
    };
    let out = kencho::iot::ingest::ingest_many(
        &app.db,
        &app.base,
        vec![
            msg(format!("application/aizu-traps/device/{}/event/up", MINA_TRAP.to_lowercase()), MINA_TRAP),
            msg(format!("application/nobody/device/{}/event/up", MINA_TRAP.to_lowercase()), MINA_TRAP),
            msg(
                format!(
                    "application/0c6fe2cb-0000-4000-8000-000000000001/device/{}/event/up",
                    MINA_TRAP.to_lowercase()
                ),
                MINA_TRAP,
            ),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out[0].reason.as_deref(), Some("unknown device 70B3D5FFFE000001"));
    assert!(out[1].reason.as_deref().unwrap_or_default().contains("not bound to a tenant"), "{:?}", out[1]);
    assert_eq!(out[2].result, "accepted", "{:?}", out[2]);
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_alarms").await, 1, "only the bound application's uplink counts");
}

#[tokio::test]
async fn a_tenants_upload_never_makes_another_tenants_telegram_stale() {
    let app = spawn_app().await;
    let issue = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/evacuation/jma/01-issue.xml"))
        .unwrap();
    // 会津若松市's administrator uploads the same event with a time far in the future.
    let forged = issue.replace("2026-11-29T10:00:00+09:00", "2099-01-01T00:00:00+09:00");
    let aizu = app.staff_token(AIZU_ADMIN).await;
    let res = api()
        .post(app.url("/api/v1/admin/evacuation/jma"))
        .bearer_auth(aizu)
        .header("content-type", "application/xml")
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The genuine telegram from the trusted folder still issues 南相馬市's alert.
    let atlases = kencho::evacuation::layers::Atlases::default();
    let o =
        kencho::evacuation::jma::ingest(&app.db, &atlases, &app.base, &issue, "file:01-issue.xml", None).await.unwrap();
    assert_eq!(o.result, "issued", "{o:?}");
    assert_eq!(o.issued.len(), 1);
}

#[tokio::test]
async fn demo_conveniences_are_off_unless_asked_for() {
    let mut app = spawn_app().await;
    // The suite's servers have a real SMTP relay and no mailbox.
    assert_eq!(browser().get(app.url("/demo/mailbox")).send().await.unwrap().status(), 404);
    // Without the sandbox, its pages and webhook do not exist and no test card is offered.
    app.cfg.payment_sandbox = false;
    app.kill_server().await;
    app.start_server().await;
    assert_eq!(browser().get(app.url("/sandbox/pay/x")).send().await.unwrap().status(), 404);
    let res = api().post(app.url("/api/v1/payments/webhooks/sandbox/minamisoma")).body("{}").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let methods =
        kencho::payments::methods(&app.db, app.count("SELECT id FROM tenants WHERE code = 'minamisoma'").await, false)
            .await
            .unwrap();
    assert!(methods.iter().all(|(p, _)| p.as_str() != "sandbox"), "{methods:?}");
    // With the mailbox asked for (the demo), it is there.
    app.cfg.demo_mailbox = true;
    app.cfg.smtp_url = None;
    app.kill_server().await;
    app.start_server().await;
    assert_eq!(browser().get(app.url("/demo/mailbox")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn no_body_is_read_before_the_caller_is_known() {
    let app = spawn_app().await;
    // An anonymous 30 MiB upload to a layer route is refused before its body is read.
    let res = api()
        .put(app.url("/api/v1/admin/evacuation/layers/flood"))
        .body(vec![b'x'; 30 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "unauthenticated");
    // A resident is not an administrator: refused just as early.
    let resident = app.resident_token().await;
    let res = api()
        .put(app.url("/api/v1/admin/evacuation/layers/flood"))
        .bearer_auth(&resident)
        .body(vec![b'x'; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Anonymous routes take small bodies only.
    let res = browser().post(app.url("/login")).body(vec![b'a'; 100 * 1024]).send().await.unwrap();
    assert_eq!(res.status(), 413);
    // A signed-in resident's API call is limited to 1 MiB; attachments take more.
    let res = api()
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&resident)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // axum's own rejections answer as the API does: JSON with a code.
    let res = api().get(app.url("/api/v1/applications/not-a-number")).bearer_auth(&resident).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "bad_request");
}

#[tokio::test]
async fn a_half_sent_request_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut s = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // The server stops waiting for the rest of the head (10 s); allow it three times that.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was closed by the server");
}

#[tokio::test]
async fn roles_are_data_for_alerts_individual_plans_and_watch_records() {
    let app = spawn_app().await;
    let post = |who: String, path: String, body: Value| {
        let url = app.url(&path);
        async move { api().post(url).bearer_auth(who).json(&body).send().await.unwrap() }
    };
    let level = |l: u8| json!({"level": l, "towns": ["0721250001001"], "note": ""});
    let tanto = app.staff_token("kankyo-tanto@minamisoma.example.jp").await;
    let kakaricho = app.staff_token("kakaricho@minamisoma.example.jp").await;
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    let kacho2 = app.staff_token("kodomo-kacho@minamisoma.example.jp").await;
    // A clerk issues nothing; a 係長 does not ask for level 5.
    let res = post(tanto.clone(), "/api/v1/staff/evacuation/alerts".into(), level(3)).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_permitted");
    assert_eq!(post(kakaricho.clone(), "/api/v1/staff/evacuation/alerts".into(), level(5)).await.status(), 403);
    // A 課長 asks for level 5; a 係長 cannot approve it, another 課長 can.
    let res = post(kacho.clone(), "/api/v1/staff/evacuation/alerts".into(), level(5)).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(
        post(kakaricho.clone(), format!("/api/v1/staff/evacuation/alerts/{id}/approve"), json!({})).await.status(),
        403
    );
    assert_eq!(
        post(kacho.clone(), format!("/api/v1/staff/evacuation/alerts/{id}/approve"), json!({})).await.status(),
        409
    );
    assert_eq!(
        post(kacho2.clone(), format!("/api/v1/staff/evacuation/alerts/{id}/approve"), json!({})).await.status(),
        204
    );
    // Lifting it is not for a 係長 either.
    assert_eq!(
        post(kakaricho.clone(), format!("/api/v1/staff/evacuation/alerts/{id}/cancel"), json!({})).await.status(),
        403
    );
    assert_eq!(
        post(kacho.clone(), format!("/api/v1/staff/evacuation/alerts/{id}/cancel"), json!({})).await.status(),
        204
    );

    // The administrator changes the table: level 3 is for the 生活環境課's 担当 too.
    let admin = app.staff_browser(MINA_ADMIN).await;
    let page = admin.get(app.url("/staff/admin")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("alert_issue_3"), "the table is shown as a document");
    let bad = admin
        .post(app.url("/staff/admin/policy"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("document", "[alert_issue_3]\nroles = [\"boss\"]\n")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("boss"), "the mistake is named");
    let doc = "[alert_issue_3]\nroles = [\"tanto\", \"kakaricho\", \"kacho\", \"admin\"]\ndivisions = [\"seikatsu-kankyo\", \"joho\"]\n";
    let res = admin
        .post(app.url("/staff/admin/policy"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("document", doc)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(post(tanto.clone(), "/api/v1/staff/evacuation/alerts".into(), level(3)).await.status(), 201);
    // …and no longer for the こども家庭課's 係長.
    assert_eq!(post(kakaricho.clone(), "/api/v1/staff/evacuation/alerts".into(), level(3)).await.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'policy.update'").await, 1);

    // 見守り records: 課長 and administrators by default, and every opening is audited.
    let person = app.count("SELECT id FROM iot_people").await;
    let kakaricho_b = app.staff_browser("kakaricho@minamisoma.example.jp").await;
    let res = kakaricho_b.get(app.url(&format!("/staff/iot/people/{person}"))).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = admin.get(app.url(&format!("/staff/iot/people/{person}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'iot.person_viewed' AND detail LIKE '%purpose%'")
            .await,
        1
    );
}

#[tokio::test]
async fn individual_plans_are_open_to_the_roles_the_table_names_and_every_read_is_audited() {
    let app = spawn_app().await;
    let clerk = app.staff_browser("kakaricho@minamisoma.example.jp").await;
    let page = clerk.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    let res = clerk
        .post(app.url("/evacuation/minamisoma/start"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("kind", "individual")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let id = app.count("SELECT id FROM evacuation_plans WHERE kind = 'individual'").await;
    // A 担当 of any division cannot open it, nor start one.
    let tanto = app.staff_browser("kodomo-tanto@minamisoma.example.jp").await;
    assert_eq!(tanto.get(app.url(&format!("/staff/evacuation/individual/{id}"))).send().await.unwrap().status(), 403);
    let page = tanto.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(&format!("/staff/evacuation/individual/{id}")), "not even listed");
    let res = tanto
        .post(app.url("/evacuation/minamisoma/start"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("kind", "individual")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The 係長 opens it; the reading is audited with its purpose.
    assert_eq!(clerk.get(app.url(&format!("/staff/evacuation/individual/{id}"))).send().await.unwrap().status(), 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'evacuation.individual_plan_view' AND detail LIKE '%person page%'")
            .await,
        1
    );
}

#[tokio::test]
async fn each_mail_is_marked_sent_as_soon_as_the_relay_accepts_it() {
    let app = spawn_app().await;
    // The relay accepts three messages, then goes quiet in the middle of the batch.
    app.smtp.hold_after.store(3, std::sync::atomic::Ordering::SeqCst);
    app.db
        .transact(|conn| {
            Box::pin(async move {
                for i in 0..20 {
                    kencho::mail::enqueue(conn, &format!("hold-{i}"), &format!("r{i}@example.jp"), "件名", "本文")
                        .await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    for _ in 0..150 {
        if app.smtp.all().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.smtp.all().len(), 3);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    // The node dies now: what the relay took is already marked, so no other node sends it again.
    app.kill_server().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'hold-%' AND status = 'sent'").await, 3);
    // The rest are leased for 30 s at most (renewed while a sender lives), not 120 s.
    let leased =
        app.count("SELECT MAX(locked_until) FROM outbox WHERE dedupe_key LIKE 'hold-%' AND status = 'pending'").await;
    assert!(leased - kencho::db::now_ms() <= 30_000, "lease {} ms", leased - kencho::db::now_ms());
}
