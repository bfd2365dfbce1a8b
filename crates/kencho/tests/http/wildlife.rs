//! 鳥獣保護管理法 (issue 18): capture permits (第9条), what a capture record must carry, 錯誤捕獲
//! told to the 鳥獣 staff at once, and the per-permit report due 30 days after the period.

use kencho_core::iot::wildlife::jst_date;
use time::Duration;

use crate::harness::*;

const ADMIN: &str = "admin@minamisoma.example.jp";

/// Today's JST date and the current JST time `HH:MM`, as a hunter would type them.
pub fn jst_now() -> (String, String) {
    jst_parts(kencho::db::now_ms())
}

pub fn jst_parts(ms: i64) -> (String, String) {
    let minute = (ms.div_euclid(60_000) + 9 * 60).rem_euclid(1440);
    (kencho_core::forms::iso(jst_date(ms)), format!("{:02}:{:02}", minute / 60, minute % 60))
}

fn day(offset: i64) -> String {
    kencho_core::forms::iso(jst_date(kencho::db::now_ms()) + Duration::days(offset))
}

/// Registers a permit around today for `species` with くくりわな, and puts the trap under it.
pub async fn permit_for(app: &TestApp, token: &str, device: i64, species: &[&str]) -> i64 {
    let number = format!("テスト第{}号", kencho::accounts::random_token().chars().take(6).collect::<String>());
    let res = api()
        .post(app.url("/api/v1/staff/iot/permits"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "number": number, "holder": "猟友会 一郎", "species": species, "valid_from": day(-10), "valid_to": day(10),
            "area": "鹿島区", "trap_types": ["kukuri"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let id: i64 = res.json().await.unwrap();
    let res = api()
        .post(app.url(&format!("/api/v1/staff/iot/permits/{id}/devices")))
        .bearer_auth(token)
        .json(&serde_json::json!({"device_id": device, "trap_type": "kukuri"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204, "{}", res.text().await.unwrap_or_default());
    id
}

fn eui() -> String {
    kencho::accounts::random_token().bytes().map(|b| format!("{:X}", b % 16)).take(16).collect()
}

async fn fire(app: &TestApp, token: &str, dev_eui: &str, event: &str, f_cnt: u32) {
    let body = serde_json::json!({"dev_eui": dev_eui, "event": event, "battery": 80, "f_cnt": f_cnt});
    let res = api().post(app.url("/api/v1/iot/uplink")).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn open_token(app: &TestApp, device: i64) -> String {
    let row = sqlx::query(&format!(
        "SELECT ack_token FROM iot_alarms WHERE subject = 'device:{device}' AND kind = 'trap_fired' AND state <> 'cleared'"
    ))
    .fetch_one(&app.db.read)
    .await
    .unwrap();
    sqlx::Row::try_get(&row, 0).unwrap()
}

async fn post_capture(app: &TestApp, tok: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let b = browser();
    let page = b.get(app.url(&format!("/iot/ack/{tok}"))).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = b.post(app.url(&format!("/iot/ack/{tok}/capture"))).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn permits_are_validated_tenant_scoped_and_role_checked() {
    let app = spawn_app().await;
    let token = app.admin_api_token(ADMIN).await.1;
    let url = app.url("/api/v1/staff/iot/permits");
    let good = serde_json::json!({
        "number": "南相馬市指令第R8-7号", "holder": "猟友会 二郎", "species": ["inoshishi", "other:キツネ"],
        "valid_from": day(-100), "valid_to": day(-40), "area": "原町区", "trap_types": ["hako"]
    });
    let mut bad = good.clone();
    bad["species"] = serde_json::json!([]);
    let res = api().post(&url).bearer_auth(&token).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "permit_no_species");
    let mut bad = good.clone();
    bad["valid_to"] = serde_json::json!(day(-200));
    let res = api().post(&url).bearer_auth(&token).json(&bad).send().await.unwrap();
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "permit_period");
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_permits WHERE number LIKE '%R8-7%'").await, 0, "nothing stored");
    let res = api().post(&url).bearer_auth(&token).json(&good).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let id: i64 = res.json().await.unwrap();
    let res = api().post(&url).bearer_auth(&token).json(&good).send().await.unwrap();
    assert_eq!(res.status(), 409, "許可番号 is unique in the tenant");
    // 担当 of another division may not register permits (roles as data: `wildlife`).
    let tanto = app.staff_token("kankyo-tanto@minamisoma.example.jp").await;
    let res = api().post(&url).bearer_auth(&tanto).json(&good).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "not_permitted");
    // Another tenant does not see it.
    let other = app.staff_token("kacho@aizuwakamatsu.example.jp").await;
    let res =
        api().get(app.url(&format!("/api/v1/staff/iot/permits/{id}/report"))).bearer_auth(&other).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // The period ended 40 days ago: the report was due 10 days ago and is overdue.
    let r = get_json(&app.url(&format!("/api/v1/staff/iot/permits/{id}/report")), &token).await;
    assert_eq!(r["permit"]["report_due"], day(-11), "the last day is day 1 of the thirty");
    assert_eq!(r["permit"]["overdue"], true, "{r}");
    // A trap type the permit does not allow is refused.
    let trap = eui();
    let res = api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([{"dev_eui": trap, "kind": "trap", "label": "箱わな 9号", "area": "原町区"}]))
        .send()
        .await
        .unwrap();
    let device = res.json::<Vec<i64>>().await.unwrap()[0];
    let res = api()
        .post(app.url(&format!("/api/v1/staff/iot/permits/{id}/devices")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"device_id": device, "trap_type": "kukuri"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "capture_trap_type_not_permitted");
    // Staff mark it reported from the report page; then it is no longer overdue.
    let kacho = app.staff_browser("kacho@minamisoma.example.jp").await;
    let page = kacho.get(app.url(&format!("/staff/iot/permits/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("南相馬市指令第R8-7号") && page.contains("キツネ"), "{page}");
    let res = kacho
        .post(app.url(&format!("/staff/iot/permits/{id}/reported")))
        .form(&[("csrf", csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let r = get_json(&app.url(&format!("/api/v1/staff/iot/permits/{id}/report")), &token).await;
    assert_eq!(r["permit"]["overdue"], false, "{r}");
    let page = app.staff_browser("kankyo-tanto@minamisoma.example.jp").await;
    assert_eq!(page.get(app.url("/staff/iot/permits")).send().await.unwrap().status(), 403);
    assert_eq!(page.get(app.url("/staff/iot/captures")).send().await.unwrap().status(), 403, "captures too");
}

#[tokio::test]
async fn a_capture_carries_the_permit_and_bycatch_tells_the_wildlife_staff() {
    let app = spawn_app().await;
    let token = app.admin_api_token(ADMIN).await.1;
    let trap = eui();
    let res = api()
        .post(app.url("/api/v1/admin/iot/devices"))
        .bearer_auth(&token)
        .json(&serde_json::json!([{"dev_eui": trap, "kind": "trap", "label": "くくりわな 7号", "area": "鹿島区",
            "lat": 37.7, "lon": 140.9, "hunters": [{"name": "猟友会 一郎", "email": "ichiro@hunt.example.jp"}]}]))
        .send()
        .await
        .unwrap();
    let device = res.json::<Vec<i64>>().await.unwrap()[0];
    // Without a permit, only an empty trigger can be recorded.
    fire(&app, &token, &trap, "fired", 1).await;
    let tok = open_token(&app, device).await;
    let (now_d, now_t) = jst_now();
    let animal = |species: &'static str| {
        vec![
            ("outcome", "caught"),
            ("species", species),
            ("count", "1"),
            ("sex", "male"),
            ("age", "adult"),
            ("disposition", "buried"),
        ]
    };
    let f: Vec<(&str, &str)> =
        animal("inoshishi").into_iter().chain([("date", now_d.as_str()), ("time", now_t.as_str())]).collect();
    let (status, body) = post_capture(&app, &tok, &f).await;
    assert_eq!(status, 422);
    assert!(body.contains("capture_no_permit"), "{body}");
    let permit = permit_for(&app, &token, device, &["inoshishi"]).await;
    let page = browser().get(app.url(&format!("/iot/ack/{tok}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("テスト第") && page.contains("猟友会 一郎"), "the form names the permit: {page}");
    // The capture time is as stated, checked: not tomorrow, not before the trap fired.
    let tomorrow = day(1);
    let f: Vec<(&str, &str)> =
        animal("inoshishi").into_iter().chain([("date", tomorrow.as_str()), ("time", "06:00")]).collect();
    let (status, body) = post_capture(&app, &tok, &f).await;
    assert_eq!(status, 422);
    assert!(body.contains("capture_in_future"), "{body}");
    let (before_d, before_t) = jst_parts(kencho::db::now_ms() - 3 * 3_600_000);
    let f: Vec<(&str, &str)> =
        animal("inoshishi").into_iter().chain([("date", before_d.as_str()), ("time", before_t.as_str())]).collect();
    let (status, body) = post_capture(&app, &tok, &f).await;
    assert!(status == 422 && body.contains("capture_before_firing"), "{status} {body}");
    // A bear in a boar trap is 錯誤捕獲: the action taken is required …
    let f: Vec<(&str, &str)> =
        animal("tsukinowaguma").into_iter().chain([("date", now_d.as_str()), ("time", now_t.as_str())]).collect();
    let (status, body) = post_capture(&app, &tok, &f).await;
    assert!(status == 422 && body.contains("capture_bycatch_action"), "{status} {body}");
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_captures").await, 0, "refused records change nothing");
    // … and with it the record is kept and the 鳥獣 staff are mailed in the same transaction.
    let f: Vec<(&str, &str)> =
        f.into_iter().chain([("bycatch_action", "awaiting_instruction"), ("place", "=1+2 沢の奥")]).collect();
    let (status, body) = post_capture(&app, &tok, &f).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM iot_captures WHERE outcome = 'bycatch' AND species = 'tsukinowaguma' AND captured_at IS NOT NULL AND at >= captured_at").await,
        1
    );
    let told = "SELECT COUNT(*) FROM outbox WHERE subject LIKE '【錯誤捕獲】ツキノワグマ%' AND recipient = ";
    assert_eq!(app.count(&format!("{told}'kacho@minamisoma.example.jp'")).await, 1);
    assert_eq!(
        app.count(&format!("{told}'kankyo-tanto@minamisoma.example.jp'")).await,
        0,
        "担当 is not in the default grant"
    );
    app.smtp.wait_for("kacho@minamisoma.example.jp", "/staff/iot/permits/").await;
    // The trap is reset and fires again: a boar, two females.
    fire(&app, &token, &trap, "reset", 2).await;
    fire(&app, &token, &trap, "fired", 3).await;
    let tok = open_token(&app, device).await;
    // The time of this firing (the minute may have turned since the first).
    let (now_d, now_t) = jst_now();
    let f: Vec<(&str, &str)> = vec![
        ("outcome", "caught"),
        ("species", "イノシシ"),
        ("count", "2"),
        ("sex", "female"),
        ("age", "juvenile"),
        ("disposition", "meat_facility"),
        ("date", now_d.as_str()),
        ("time", now_t.as_str()),
        ("place", "沢沿いの獣道"),
    ];
    let (status, body) = post_capture(&app, &tok, &f).await;
    assert_eq!(status, 200, "{body}");
    // The report counts per species, sex and age what the permit covers; the bear is 錯誤捕獲,
    // counted apart and not among the captures under the permit.
    let r = get_json(&app.url(&format!("/api/v1/staff/iot/permits/{permit}/report")), &token).await;
    let lines = r["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{r}");
    assert!(lines.iter().all(|l| l["species"] != "ツキノワグマ"), "{r}");
    assert!(
        lines.iter().any(|l| l["species"] == "イノシシ" && l["sex"] == "メス" && l["age"] == "幼獣" && l["count"] == 2),
        "{r}"
    );
    assert_eq!(r["bycatch"], 1);
    assert_eq!(r["permit"]["report_due"], day(39));
    let kacho = app.staff_browser("kacho@minamisoma.example.jp").await;
    let res = kacho.get(app.url(&format!("/staff/iot/permits/{permit}/report.csv"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    assert!(
        csv.contains("沢沿いの獣道") && csv.contains("食肉処理施設") && csv.contains("鳥獣担当に連絡して指示を待つ"),
        "{csv}"
    );
    // A place typed like a formula is quoted, not run by the spreadsheet.
    assert!(csv.contains("\"'=1+2 沢の奥") && !csv.contains(",=1+2") && !csv.contains("\"=1+2"), "{csv}");
    let other = app.staff_browser("kacho@aizuwakamatsu.example.jp").await;
    let res = other.get(app.url(&format!("/staff/iot/permits/{permit}/report.csv"))).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // A roles table that grants `wildlife` to nobody on the staff: the administrators hear of
    // the next 錯誤捕獲 instead, and the alarm's history says so.
    crate::payments::set_policy(&app, "[wildlife]\nroles = [\"kacho\"]\ndivisions = [\"nowhere\"]\n").await;
    fire(&app, &token, &trap, "reset", 4).await;
    fire(&app, &token, &trap, "fired", 5).await;
    let tok = open_token(&app, device).await;
    let (d, t) = jst_now();
    let f: Vec<(&str, &str)> = animal("tsukinowaguma")
        .into_iter()
        .chain([("date", d.as_str()), ("time", t.as_str()), ("bycatch_action", "released")])
        .collect();
    let (status, body) = post_capture(&app, &tok, &f).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.count(&format!("{told}'kacho@minamisoma.example.jp'")).await, 1, "the 課長 is no longer granted");
    assert_eq!(app.count(&format!("{told}'admin@minamisoma.example.jp'")).await, 2, "told of both bears");
    assert_eq!(app.count("SELECT COUNT(*) FROM iot_alarm_log WHERE what = 'bycatch:admins_told'").await, 1);
}
