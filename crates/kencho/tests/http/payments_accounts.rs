//! 公金の収納 over HTTP: the 手数料条例 kept as data, 指定納付受託者 and the revenues their
//! 告示 covers, the deemed payment date apart from the day funds arrive, and the fiscal-year
//! report with the 出納整理期間.

use serde_json::{json, Value};

use crate::harness::*;
use crate::payments::{dog_with_fee, draft_dog, keep_schedule, sandbox_post, summary, wait_state, SCHEDULE};

fn day(y: i32, m: u8, d: u8) -> time::Date {
    time::Date::from_calendar_date(y, time::Month::try_from(m).expect("month"), d).expect("date")
}

/// Noon JST of a day, as stored (ms).
fn noon_jst(d: time::Date) -> i64 {
    d.with_hms(3, 0, 0).expect("time").assume_utc().unix_timestamp() * 1000
}

fn today_jst() -> time::Date {
    time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).expect("jst")).date()
}

async fn put_agent(app: &TestApp, admin: &str, provider: &str, covers: Value) -> reqwest::Response {
    let body = json!({"agent_name": "決済代行 株式会社", "kokuji_number": "南相馬市告示第7号", "kokuji_date": "2026-04-01",
                      "covers": covers});
    api()
        .put(app.url(&format!("/api/v1/admin/payments/agents/{provider}")))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .expect("agent")
}

/// The schedule is checked whole (every mistake named, nothing kept from a bad one); a
/// provider takes only the revenues its 告示 covers; a payment keeps the day the resident paid
/// the agent apart from the day the agent's money arrived.
#[tokio::test]
async fn schedule_agents_and_the_two_dates() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_api_token("admin@minamisoma.example.jp").await;
    let bad = SCHEDULE.replace("amount = 300\n", "amount = -300\n").replace("percent = 50\n", "percent = 500\n");
    let res = keep_schedule(&app, &bad).await;
    assert_eq!(res.status(), 400);
    let text = res.text().await.expect("text");
    assert!(text.contains("items[1].amount") && text.contains("grounds[0].percent"), "every mistake is named: {text}");
    let kept = api().get(app.url("/api/v1/admin/payments/schedule")).bearer_auth(&admin).send().await.expect("get");
    assert_eq!(kept.text().await.expect("text"), "", "a refused schedule keeps nothing");
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    let res = api()
        .put(app.url("/api/v1/admin/payments/schedule"))
        .bearer_auth(&kacho)
        .body(SCHEDULE)
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), 403, "administrators keep the schedule");
    assert_eq!(keep_schedule(&app, SCHEDULE).await.status(), 204);

    // The sandbox's 告示 names only the 証明手数料: the dog fee is refused through it.
    dog_with_fee(&app, "[fee]\nitem = \"inu-toroku\"\npay = \"before_submission\"").await;
    let res = put_agent(&app, &admin, "sandbox", json!(["nai"])).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.expect("text").contains("is not an item of the 手数料条例"));
    assert_eq!(put_agent(&app, &admin, "sandbox", json!(["shomei"])).await.status(), 200);
    let token = app.resident_token().await;
    let (id, _) = draft_dog(&app, &token).await;
    let pay = |method: &str| {
        let (url, token, method) =
            (app.url(&format!("/api/v1/applications/{id}/payment")), token.clone(), method.to_string());
        async move { api().post(url).bearer_auth(token).json(&json!({"method": method})).send().await.expect("pay") }
    };
    let res = pay("card").await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "agent_not_covering");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM payments WHERE application_id = {id}")).await, 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM chotei WHERE application_id = {id}")).await, 0);

    // Covered: paid; the deemed payment date is the day the resident paid the agent.
    assert_eq!(put_agent(&app, &admin, "sandbox", json!(["inu-toroku"])).await.status(), 200);
    let res = pay("card").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let url = res.json::<Value>().await.expect("json")["checkout_url"].as_str().expect("url").to_string();
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    sandbox_post(&b, &url, "", &[("card", "4242424242424242"), ("delivery", "normal")]).await;
    let s = wait_state(&app, &token, id, "paid").await;
    let p = &s["payments"][0];
    let today = today_jst().to_string();
    assert_eq!((p["deemed_paid_on"].as_str(), p["funds_arrived_on"].as_str()), (Some(today.as_str()), None), "{p}");
    assert_eq!(p["revenue_code"], "14-02-01 犬登録手数料", "the 歳入科目 comes from the 条例");
    // The agent's settlement file says when its money arrived: kept apart.
    let arrived = (today_jst() + time::Duration::days(3)).to_string();
    let csv = format!("provider_ref,date,gross,fee\n{},{arrived},3000,108\n", p["provider_ref"].as_str().expect("ref"));
    let kakaricho = app.staff_token("kankyo-kakaricho@minamisoma.example.jp").await;
    let res = api()
        .post(app.url("/api/v1/staff/payments/reconcile?provider=sandbox"))
        .bearer_auth(&kakaricho)
        .body(csv)
        .send()
        .await
        .expect("reconcile");
    assert_eq!(res.json::<Value>().await.expect("json")["matched"], 1);
    let p = summary(&app, &token, id).await["payments"][0].clone();
    assert_eq!(
        (p["deemed_paid_on"].as_str(), p["funds_arrived_on"].as_str()),
        (Some(today.as_str()), Some(arrived.as_str()))
    );
    let agents = get_json(&app.url("/api/v1/admin/payments/agents"), &admin).await;
    assert_eq!(agents[0]["kokuji_number"], "南相馬市告示第7号", "{agents}");
}

/// 年度 runs 4月1日–3月31日; money for a 調定 of the old year received by 5月31日 (出納整理期間)
/// is that year's, after it the new year's.
#[tokio::test]
async fn fiscal_year_report_with_the_closing_period() {
    let app = spawn_app().await;
    dog_with_fee(&app, "[fee]\namount = 3000\npay = \"after_review\"\nrevenue_code = \"14-02-01 犬登録手数料\"").await;
    let token = app.resident_token().await;
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    let suitoin = app.staff_token("suitoin@minamisoma.example.jp").await;
    let mut ids = Vec::new();
    for name in ["ハチ", "ジロ", "サブロー"] {
        let (id, _) = app.submit_dog(&token, name).await;
        let res = api()
            .post(app.url(&format!("/api/v1/staff/applications/{id}/actions")))
            .bearer_auth(&kacho)
            .json(&json!({"action": "accept"}))
            .send()
            .await
            .expect("accept");
        assert_eq!(res.status(), 200);
        if name == "サブロー" {
            // The fee was set and the resident opened a card payment: its 調定 was made in
            // 2025年度, and the cash that replaces it at the counter stays that year's.
            let res = api()
                .post(app.url(&format!("/api/v1/staff/applications/{id}/fee")))
                .bearer_auth(&kacho)
                .json(&json!({}))
                .send()
                .await
                .expect("fee");
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
            let res = api()
                .post(app.url(&format!("/api/v1/applications/{id}/payment")))
                .bearer_auth(&token)
                .json(&json!({"method": "card"}))
                .send()
                .await
                .expect("pay");
            assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
            sqlx::query(&format!("UPDATE chotei SET fiscal_year = 2025 WHERE application_id = {id}"))
                .execute(app.db.unchecked_write_pool())
                .await
                .expect("year");
        }
        let res = api()
            .post(app.url(&format!("/api/v1/staff/applications/{id}/cash")))
            .bearer_auth(&suitoin)
            .json(&json!({"amount": 3000}))
            .send()
            .await
            .expect("cash");
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        ids.push(id);
    }
    let last = ids[2];
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM chotei c JOIN payments p ON p.id = c.payment_id \
             WHERE c.application_id = {last} AND p.method = 'cash' AND c.fiscal_year = 2025"
        ))
        .await,
        1,
        "the replacement keeps the year of the 調定 it carries over"
    );
    // The three 調定 are of 2025年度; the money came in March, in May (出納整理期間) and in June.
    sqlx::query("UPDATE chotei SET fiscal_year = 2025").execute(app.db.unchecked_write_pool()).await.expect("year");
    for (id, d) in ids.iter().zip([day(2026, 3, 10), day(2026, 5, 20), day(2026, 6, 2)]) {
        sqlx::query(&format!(
            "UPDATE payments SET paid_at = {}, deemed_paid_on = '{d}' WHERE application_id = {id}",
            noon_jst(d)
        ))
        .execute(app.db.unchecked_write_pool())
        .await
        .expect("paid at");
    }
    let r = get_json(&app.url("/api/v1/staff/payments/fiscal?year=2025"), &kacho).await;
    assert_eq!(r["closing_day"], "2026-05-31");
    let row = &r["rows"][0];
    assert_eq!(
        (row["chotei"].as_i64(), row["received"].as_i64(), row["received_in_closing"].as_i64(), row["unpaid"].as_i64()),
        (Some(9000), Some(6000), Some(3000), Some(3000)),
        "{r}"
    );
    // The June money is the next year's 過年度収入, outside that year's own 調定 and 未収.
    let r = get_json(&app.url("/api/v1/staff/payments/fiscal?year=2026"), &kacho).await;
    let row = &r["rows"][0];
    assert_eq!(
        (
            row["chotei"].as_i64(),
            row["received"].as_i64(),
            row["unpaid"].as_i64(),
            row["received_prior_years"].as_i64()
        ),
        (Some(0), Some(0), Some(0), Some(3000)),
        "{r}"
    );
    let r = get_json(&app.url("/api/v1/staff/payments/fiscal?year=2024"), &kacho).await;
    assert_eq!(r["rows"], json!([]), "no year before the 調定 books them: {r}");
    let b = app.staff_browser("kacho@minamisoma.example.jp").await;
    let csv =
        b.get(app.url("/staff/payments/fiscal.csv?year=2025")).send().await.expect("csv").text().await.expect("text");
    assert!(csv.contains("年度,歳入科目,調定額,収入済額,うち出納整理期間,還付済額,未収額"), "{csv}");
    assert!(csv.contains("2025,14-02-01 犬登録手数料,9000,6000,3000,0,3000,0"), "{csv}");
    let res = b.get(app.url("/staff/payments/fiscal.csv?year=R7")).send().await.expect("csv");
    assert_eq!(res.status(), 400);
    // The June money is in the daily report under the new year (過年度収入).
    let daily = b
        .get(app.url("/staff/payments/daily.csv?date=2026-06-02"))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert!(daily.contains("2026-06-02,2026,14-02-01 犬登録手数料,cash,1,3000"), "{daily}");
    let daily = b
        .get(app.url("/staff/payments/daily.csv?date=2026-05-20"))
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert!(daily.contains("2026-05-20,2025,14-02-01 犬登録手数料,cash,1,3000"), "{daily}");
    let page = b.get(app.url("/staff/payments")).send().await.expect("page").text().await.expect("text");
    assert!(page.contains("fiscal.csv"), "the page offers the year");
}
