//! キャッシュレス決済 over HTTP with the built-in sandbox provider: its pages are driven like a
//! resident's browser, its signed webhooks arrive over HTTP from its delivery worker.

use serde_json::{json, Value};

use crate::harness::*;

/// Imports a version of the dog registration whose fee is collected online.
pub(crate) async fn dog_with_fee(app: &TestApp, fee: &str) {
    let (_, admin) = app.admin_api_token("admin@minamisoma.example.jp").await;
    let def = include_str!("../../../../demo/procedures/minamisoma-inu-toroku.toml");
    let start = def.find("[fee]").expect("fee table");
    let end = start + def[start..].find("\n\n").expect("end of fee table");
    let def = format!("{}{fee}{}", &def[..start], &def[end..]);
    let res = api()
        .post(app.url("/api/v1/admin/procedures"))
        .bearer_auth(&admin)
        .header("content-type", "application/toml")
        .body(def)
        .send()
        .await
        .expect("import");
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
}

/// 南相馬市's 手数料条例 as the tests keep it: the dog registration fee and two 減免事由.
pub(crate) const SCHEDULE: &str = r#"
ordinance = "南相馬市手数料条例"
[[items]]
code = "inu-toroku"
name = "犬の登録手数料"
article = "別表第1 第3項"
amount = 3000
revenue_code = "14-02-01 犬登録手数料"
[[items]]
code = "shomei"
name = "証明手数料"
article = "別表第1 第1項"
amount = 300
revenue_code = "14-01-01 証明手数料"
[[grounds]]
code = "seikatsu-hogo"
text = "生活保護法による保護を受けている者"
article = "第5条第1号"
percent = 50
items = ["inu-toroku"]
"#;

/// The administrator keeps the tenant's 手数料条例.
pub(crate) async fn keep_schedule(app: &TestApp, doc: &str) -> reqwest::Response {
    let (_, admin) = app.admin_api_token("admin@minamisoma.example.jp").await;
    api()
        .put(app.url("/api/v1/admin/payments/schedule"))
        .bearer_auth(&admin)
        .header("content-type", "application/toml")
        .body(doc.to_string())
        .send()
        .await
        .expect("schedule")
}

/// The administrator replaces the tenant's roles table.
pub(crate) async fn set_policy(app: &TestApp, doc: &str) {
    let (admin, _) = app.admin_api_token("admin@minamisoma.example.jp").await;
    let page = admin.get(app.url("/staff/admin")).send().await.expect("get").text().await.expect("text");
    let res = admin
        .post(app.url("/staff/admin/policy"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("document", doc)])
        .send()
        .await
        .expect("policy");
    assert_eq!(res.status(), 200);
}

/// The 会計管理者 reviews a refund order.
pub(crate) async fn review(app: &TestApp, who: &str, refund: i64, approve: bool) -> reqwest::Response {
    api()
        .post(app.url(&format!("/api/v1/staff/refunds/{refund}/review")))
        .bearer_auth(who)
        .json(&json!({"approve": approve}))
        .send()
        .await
        .expect("review")
}

pub(crate) async fn draft_dog(app: &TestApp, token: &str) -> (i64, i64) {
    let res = api()
        .post(app.url("/api/v1/applications"))
        .bearer_auth(token)
        .json(
            &json!({"tenant": "minamisoma", "procedure": "inu-toroku", "answers": kencho::demo::inu_toroku_answers(7)}),
        )
        .send()
        .await
        .expect("draft");
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let v: Value = res.json().await.expect("json");
    (v["id"].as_i64().expect("id"), v["revision"].as_i64().expect("revision"))
}

pub(crate) async fn summary(app: &TestApp, token: &str, id: i64) -> Value {
    get_json(&app.url(&format!("/api/v1/applications/{id}/payment")), token).await
}

/// Waits until the payment of `id` reaches `state` (webhooks arrive from the sandbox's worker).
pub(crate) async fn wait_state(app: &TestApp, token: &str, id: i64, state: &str) -> Value {
    for _ in 0..100 {
        let s = summary(app, token, id).await;
        if s["payments"].as_array().and_then(|p| p.last()).is_some_and(|p| p["state"] == state) {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("payment of {id} never became {state}: {}", summary(app, token, id).await);
}

pub(crate) async fn post_json(app: &TestApp, token: &str, path: String, body: Value) -> reqwest::Response {
    api().post(app.url(&path)).bearer_auth(token).json(&body).send().await.expect("post")
}

/// Opens the checkout page in the resident's browser and posts `fields` to `action`.
pub(crate) async fn sandbox_post(
    b: &reqwest::Client,
    url: &str,
    action_suffix: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = b.get(url).send().await.expect("checkout page").text().await.expect("text");
    assert!(page.contains("決済サンドボックス"), "{page}");
    let mut form = vec![("csrf", csrf_of(&page))];
    form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    b.post(format!("{url}{action_suffix}")).form(&form).send().await.expect("post")
}

pub(crate) async fn start_paying(app: &TestApp, token: &str, id: i64, method: &str) -> String {
    let res = api()
        .post(app.url(&format!("/api/v1/applications/{id}/payment")))
        .bearer_auth(token)
        .json(&json!({"method": method}))
        .send()
        .await
        .expect("pay");
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let v: Value = res.json().await.expect("json");
    v["checkout_url"].as_str().expect("url").to_string()
}

/// Pay before submission: submitting unpaid is refused; a declined card, then a card that
/// works with every webhook delivered twice; the receipt mail; then the submission goes in.
#[tokio::test]
async fn pay_before_submission_decline_then_success() {
    let app = spawn_app().await;
    dog_with_fee(&app, "[fee]\namount = 3000\npay = \"before_submission\"\nrevenue_code = \"14-02-01 犬登録手数料\"")
        .await;
    let token = app.resident_token().await;
    let (id, revision) = draft_dog(&app, &token).await;
    let submit = |rev: i64| {
        api()
            .post(app.url(&format!("/api/v1/applications/{id}/submit")))
            .bearer_auth(&token)
            .json(&json!({"revision": rev}))
            .send()
    };
    let res = submit(revision).await.expect("submit");
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "payment_required");
    assert_eq!(summary(&app, &token, id).await["due"], 0, "nothing is due before paying starts");

    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let url = start_paying(&app, &token, id, "card").await;
    let res = sandbox_post(&b, &url, "", &[("card", "4000 0000 0000 0002"), ("delivery", "normal")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), app.url(&format!("/applications/{id}/payment")), "back to kencho's payment page");
    wait_state(&app, &token, id, "failed").await;
    app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "お支払いが完了しませんでした").await;

    // The same payment, a second attempt (a new idempotency key), every webhook twice.
    let url2 = start_paying(&app, &token, id, "card").await;
    assert_eq!(url, url2, "the same checkout, tried again after the decline");
    let res = sandbox_post(&b, &url2, "", &[("card", "4242424242424242"), ("delivery", "duplicate")]).await;
    assert_eq!(res.status(), 303);
    let s = wait_state(&app, &token, id, "paid").await;
    assert_eq!((s["paid"].as_i64(), s["due"].as_i64(), s["refunded"].as_i64()), (Some(3000), Some(0), Some(0)));
    assert_eq!(s["payments"].as_array().map(Vec::len), Some(1), "one payment, retried");
    let mail = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "電子領収書").await;
    // The signed receipt was issued with the confirmation, once.
    let receipts = format!("SELECT COUNT(*) FROM issued_documents WHERE kind = 'receipt' AND application_id = {id}");
    for _ in 0..50 {
        if app.count(&receipts).await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.count(&receipts).await, 1);
    assert!(mail.body.contains("3000 円") && mail.body.contains("14-02-01"), "{}", mail.body);
    // Let the duplicates arrive, then count: paid once.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, "電子領収書"), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(COALESCE(SUM(paid_amount), 0) AS BIGINT) FROM payments WHERE application_id = {id}"
        ))
        .await,
        3000
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sandbox_webhooks WHERE delivered_at IS NOT NULL").await, 6);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payment_events WHERE provider = 'sandbox'").await,
        4,
        "duplicates are not recorded twice"
    );
    // Paying again is refused; the submission goes in.
    let res = api()
        .post(app.url(&format!("/api/v1/applications/{id}/payment")))
        .bearer_auth(&token)
        .json(&json!({"method": "card"}))
        .send()
        .await
        .expect("pay");
    assert_eq!(res.status(), 409);
    let res = submit(revision).await.expect("submit");
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let page = b.get(app.url(&format!("/applications/{id}"))).send().await.expect("page").text().await.expect("text");
    assert!(page.contains("3000 円"));
    assert!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.paid'").await >= 1);
}

/// Pay after review (事後決済) with a 減免: the office sets the amount, the resident gets a link;
/// a 3-D Secure step with a late webhook shows "confirming" first; a forged webhook is refused
/// and changes nothing; an out-of-order pair on the QR wallet still ends paid.
#[tokio::test]
async fn pay_after_review_late_forged_and_out_of_order_webhooks() {
    let app = spawn_app().await;
    dog_with_fee(&app, "[fee]\nitem = \"inu-toroku\"\npay = \"after_review\"").await;
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, "ハチ").await;
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    let act = |body: Value, path: String| post_json(&app, &kacho, path, body);
    assert_eq!(
        act(json!({"action": "accept"}), format!("/api/v1/staff/applications/{id}/actions")).await.status(),
        200
    );
    let fee = format!("/api/v1/staff/applications/{id}/fee");
    // Without the 手数料条例 kept in kencho there is nothing to compute the fee from.
    let res = act(json!({}), fee.clone()).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "no_fee_schedule");
    assert_eq!(keep_schedule(&app, SCHEDULE).await.status(), 204);
    // A typed amount or a 減免 of free text is not a field any more.
    let res =
        act(json!({"amount": 10, "exemption_percent": 50, "exemption_reason": "気の毒なので"}), fee.clone()).await;
    assert_eq!(res.status(), 400, "no free amount, no free-text 減免");
    let res = act(json!({"ground": "kinodoku"}), fee.clone()).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "reduction_ground_unknown");
    let res = act(json!({"item": "shomei"}), fee.clone()).await;
    assert_eq!(
        res.json::<Value>().await.expect("json")["code"],
        "fee_item_mismatch",
        "this procedure's fee is the dog's"
    );
    // A 担当 may set a fee but not decide a 減免 (roles as data: fee_reduce).
    let tanto = app.staff_token("kankyo-tanto@minamisoma.example.jp").await;
    let res = post_json(&app, &tanto, fee.clone(), json!({"ground": "seikatsu-hogo"})).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "not_permitted");
    let res = act(json!({"ground": "seikatsu-hogo", "exemption_evidence": "not-an-attachment"}), fee.clone()).await;
    assert_eq!(res.status(), 400, "evidence must be one of the application's attachments");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM chotei WHERE application_id = {id}")).await,
        0,
        "refusals change nothing"
    );
    let res = act(json!({"ground": "seikatsu-hogo"}), fee.clone()).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let mail = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "お支払いをお願いします").await;
    assert!(
        mail.body.contains("1500 円")
            && mail.body.contains("第5条第1号")
            && mail.body.contains(&format!("/applications/{id}/payment")),
        "{}",
        mail.body
    );
    let s = summary(&app, &token, id).await;
    assert_eq!(s["due"], 1500);
    // The 調定 is made before anything is received: 調定額 1500, nothing received yet.
    assert_eq!((s["standing"]["chotei"].as_i64(), s["standing"]["unpaid"].as_i64()), (Some(1500), Some(1500)), "{s}");
    let sql = format!(
        "SELECT COUNT(*) FROM chotei WHERE application_id = {id} AND item_code = 'inu-toroku' AND gross = 3000 AND reduction = 1500 \
         AND ground_code = 'seikatsu-hogo' AND decided_by LIKE 'staff:%'"
    );
    assert_eq!(app.count(&sql).await, 1);

    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let url = start_paying(&app, &token, id, "card").await;
    let res = sandbox_post(&b, &url, "", &[("card", "4000000000003220"), ("delivery", "late")]).await;
    let page = res.text().await.expect("text");
    assert!(page.contains("本人認証"), "the extra step: {page}");
    let res = sandbox_post(&b, &url, "/authenticate", &[("result", "ok"), ("delivery", "late")]).await;
    assert_eq!(res.status(), 303);
    let page = b.get(location(&res)).send().await.expect("back").text().await.expect("text");
    assert!(page.contains("お支払いを確認しています"), "back before the webhook: {page}");

    // A forged webhook (wrong secret) for the same payment: refused, nothing changes.
    let pref = summary(&app, &token, id).await["payments"][0]["provider_ref"].as_str().expect("ref").to_string();
    let event = json!({"event_id": "evt_forged", "at_unix": 1, "payment_ref": pref, "kind": "paid", "amount": 1500});
    let body = event.to_string();
    let t = kencho::db::now_ms() / 1000;
    let forged = kencho::payments::sandbox::sign("whsec_not_the_secret", t, body.as_bytes());
    let res = api()
        .post(app.url("/api/v1/payments/webhooks/sandbox/minamisoma"))
        .header("content-type", "application/json")
        .header("kencho-sandbox-signature", forged)
        .body(body.clone())
        .send()
        .await
        .expect("forged");
    assert_eq!(res.status(), 400);
    let res =
        api().post(app.url("/api/v1/payments/webhooks/sandbox/minamisoma")).body(body).send().await.expect("unsigned");
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_events WHERE event_id = 'evt_forged'").await, 0);
    assert_ne!(summary(&app, &token, id).await["payments"][0]["state"], "paid");

    let s = wait_state(&app, &token, id, "paid").await;
    assert_eq!(s["paid"], 1500);
    assert_eq!((s["standing"]["received"].as_i64(), s["standing"]["unpaid"].as_i64()), (Some(1500), Some(0)), "{s}");
    let page =
        b.get(app.url(&format!("/applications/{id}/payment"))).send().await.expect("get").text().await.expect("text");
    assert!(!page.contains("お支払いを確認しています") && page.contains("支払済み"));

    // Another application, paid by QR wallet with the webhooks in reverse order.
    let (id2, _) = app.submit_dog(&token, "ジロ").await;
    assert_eq!(
        act(json!({"action": "accept"}), format!("/api/v1/staff/applications/{id2}/actions")).await.status(),
        200
    );
    assert_eq!(act(json!({}), format!("/api/v1/staff/applications/{id2}/fee")).await.status(), 201);
    let url = start_paying(&app, &token, id2, "qr").await;
    let page = b.get(&url).send().await.expect("get").text().await.expect("text");
    assert!(page.contains("<svg"), "a QR code to scan");
    sandbox_post(&b, &url, "/scan", &[("delivery", "reorder")]).await;
    let s = wait_state(&app, &token, id2, "paid").await;
    assert_eq!(s["paid"], 3000);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sql = format!(
        "SELECT COUNT(*) FROM payment_events e JOIN payments p ON p.id = e.payment_id WHERE p.application_id = {id2} AND e.outcome LIKE 'ignored%'"
    );
    assert_eq!(app.count(&sql).await, 1, "the late 'pending' after 'paid' changes nothing");

    // A third fee paid in cash at the counter: only the 会計課 (会計管理者・出納員) takes cash,
    // only for the amount due; the cashless share counts it.
    let (id3, _) = app.submit_dog(&token, "サブロー").await;
    assert_eq!(
        act(json!({"action": "accept"}), format!("/api/v1/staff/applications/{id3}/actions")).await.status(),
        200
    );
    let cash = format!("/api/v1/staff/applications/{id3}/cash");
    let res = act(json!({"amount": 3000}), cash.clone()).await;
    assert_eq!(res.status(), 403, "the division's 課長 does not keep cash");
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "not_permitted");
    let suitoin = app.staff_token("suitoin@minamisoma.example.jp").await;
    let res = post_json(&app, &suitoin, cash.clone(), json!({"amount": 2999})).await;
    assert_eq!(res.status(), 409);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["code"], "cash_amount_mismatch", "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("3000"), "{v}");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM payments WHERE application_id = {id3}")).await, 0);
    assert_eq!(post_json(&app, &suitoin, cash.clone(), json!({"amount": 3000})).await.status(), 201);
    assert_eq!(post_json(&app, &suitoin, cash.clone(), json!({"amount": 3000})).await.status(), 409, "paid once");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM chotei WHERE application_id = {id3} AND amount = 3000")).await,
        1
    );
    let totals = get_json(&app.url("/api/v1/staff/payments/totals"), &kacho).await;
    assert_eq!(totals["collected"], 7500, "{totals}");
    assert_eq!(totals["cashless_share"], 0.6, "{totals}");
}

/// Refunds: partial by a 係長 under the limit; refused to a clerk; beyond what is left refused;
/// above the tenant's limit through a 決裁 (route, then 施行), then the provider's webhook. The
/// resident is told each time. Then reconciliation and the reports.
#[tokio::test]
async fn refunds_reconciliation_and_reports() {
    let app = spawn_app().await;
    dog_with_fee(&app, "[fee]\namount = 30000\npay = \"before_submission\"\nrevenue_code = \"14-02-01 犬登録手数料\"")
        .await;
    let token = app.resident_token().await;
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let mut paid = Vec::new();
    for _ in 0..3 {
        let (id, revision) = draft_dog(&app, &token).await;
        let url = start_paying(&app, &token, id, "card").await;
        sandbox_post(&b, &url, "", &[("card", "4242424242424242"), ("delivery", "normal")]).await;
        let s = wait_state(&app, &token, id, "paid").await;
        let res = api()
            .post(app.url(&format!("/api/v1/applications/{id}/submit")))
            .bearer_auth(&token)
            .json(&json!({"revision": revision}))
            .send()
            .await
            .expect("submit");
        assert_eq!(res.status(), 200);
        paid.push((
            id,
            s["payments"][0]["id"].as_i64().expect("payment id"),
            s["payments"][0]["provider_ref"].as_str().expect("ref").to_string(),
        ));
    }
    let (app1, pay1, ref1) = paid[0].clone();
    let kakaricho = app.staff_token("kankyo-kakaricho@minamisoma.example.jp").await;
    let tanto = app.staff_token("kankyo-tanto@minamisoma.example.jp").await;
    let refund = |who: String, payment: i64, amount: i64| {
        let url = app.url(&format!("/api/v1/staff/payments/{payment}/refunds"));
        async move {
            api()
                .post(url)
                .bearer_auth(who)
                .json(&json!({"amount": amount, "reason": "二重申請のため"}))
                .send()
                .await
                .expect("refund")
        }
    };
    assert_eq!(refund(tanto.clone(), pay1, 1000).await.status(), 403, "a clerk cannot refund");
    // Nor a 係長 of another division (こども家庭課 cannot refund a 生活環境課 fee).
    let other = app.staff_token("kakaricho@minamisoma.example.jp").await;
    let res = refund(other, pay1, 1000).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<serde_json::Value>().await.expect("json")["code"], "not_permitted");
    assert_eq!(refund(kakaricho.clone(), pay1, 30001).await.status(), 409, "not more than was paid");
    let res = refund(kakaricho.clone(), pay1, 5000).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let order: Value = res.json().await.expect("json");
    assert_eq!(order["state"], "ordered", "a 支出命令, waiting for the 会計管理者");
    let order = order["id"].as_i64().expect("id");
    // Nothing goes to the provider before the review; the orderer's division cannot review it.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(summary(&app, &token, app1).await["refunded"], 0);
    let res = review(&app, &kakaricho, order, true).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "not_permitted");
    let kaikei = app.staff_token("kaikei-kanrisha@minamisoma.example.jp").await;
    assert_eq!(review(&app, &kaikei, order, true).await.status(), 200);
    assert_eq!(review(&app, &kaikei, order, true).await.status(), 409, "reviewed once");
    let mut s = summary(&app, &token, app1).await;
    for _ in 0..50 {
        if s["refunded"] == 5000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        s = summary(&app, &token, app1).await;
    }
    assert_eq!((s["paid"].as_i64(), s["refunded"].as_i64()), (Some(30000), Some(5000)));
    app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "を返金しました").await;

    // Above the limit (10,000 yen): a 起案 under 還付. Abandoned (廃案), its order ends and
    // holds no yen: the same 20,000 can be ordered again.
    let post = |who: String, path: String, body: Value| {
        let url = app.url(&path);
        async move { api().post(url).bearer_auth(who).json(&body).send().await.expect("post") }
    };
    let res = refund(kakaricho.clone(), pay1, 20000).await;
    assert_eq!(res.status(), 201);
    let dropped: Value = res.json().await.expect("json");
    let dropped_kian = dropped["kian_id"].as_i64().expect("a 起案");
    let res = post(kakaricho.clone(), format!("/api/v1/approval/{dropped_kian}/acts"), json!({"act": "abandon"})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM refunds WHERE id = {} AND state = 'rejected'", dropped["id"])).await,
        1,
        "an abandoned 起案 ends the order it was for"
    );
    // Decided by the 課長, then 施行.
    let res = refund(kakaricho.clone(), pay1, 20000).await;
    assert_eq!(res.status(), 201);
    let r: Value = res.json().await.expect("json");
    assert_eq!(r["state"], "awaiting_approval");
    let kian = r["kian_id"].as_i64().expect("a 起案");
    assert_eq!(
        post(kakaricho.clone(), format!("/api/v1/approval/{kian}/acts"), json!({"act": "submit"})).await.status(),
        200
    );
    for who in ["kankyo-hosa", "kacho"] {
        let t = app.staff_token(&format!("{who}@minamisoma.example.jp")).await;
        let res = post(t, format!("/api/v1/approval/{kian}/acts"), json!({"act": "approve"})).await;
        assert_eq!(res.status(), 200, "{who}: {}", res.text().await.unwrap_or_default());
    }
    assert_eq!(summary(&app, &token, app1).await["refunded"], 5000, "nothing refunded before 施行");
    assert_eq!(post(kakaricho.clone(), format!("/api/v1/approval/{kian}/execute"), json!({})).await.status(), 204);
    let big = r["id"].as_i64().expect("refund id");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM refunds WHERE id = {big} AND state = 'ordered'")).await,
        1,
        "施行 makes the order; the 会計管理者 still reviews it"
    );
    assert_eq!(review(&app, &kaikei, big, true).await.status(), 200);
    for _ in 0..50 {
        if summary(&app, &token, app1).await["refunded"] == 25000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(summary(&app, &token, app1).await["refunded"], 25000);
    assert_eq!(app.count("SELECT COUNT(*) FROM refunds WHERE state = 'succeeded'").await, 2);
    // A refused review pays nothing and cannot be taken back.
    let res = refund(kakaricho.clone(), pay1, 1000).await;
    let small = res.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let res = review(&app, &kaikei, small, false).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.expect("json")["state"], "rejected");
    let res = review(&app, &kaikei, small, true).await;
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "refund_wrong_state");
    // Where the table lets the ordering division review too, still never one's own order.
    set_policy(&app, "[refund_review]\nroles = [\"kakaricho\", \"kacho\"]\n").await;
    let res = refund(kakaricho.clone(), pay1, 1000).await;
    let own = res.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let res = review(&app, &kakaricho, own, true).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "refund_same_person");
    assert_eq!(review(&app, &kaikei, own, false).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(summary(&app, &token, app1).await["refunded"], 25000, "refused orders change nothing");

    // Reconciliation: one line matches, one differs in amount, one is unknown, one paid
    // payment is missing from the file.
    let today = {
        let t = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).expect("jst")).date();
        format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day())
    };
    let csv = format!(
        "provider_ref,date,gross,fee\n{ref1},{today},30000,1080\n{},{today},29000,1044\nsbx_unknown,{today},400,14\n",
        paid[1].2
    );
    let res = api()
        .post(app.url("/api/v1/staff/payments/reconcile?provider=sandbox"))
        .bearer_auth(&kakaricho)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("reconcile");
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let rep: Value = res.json().await.expect("json");
    assert_eq!(rep["matched"], 1, "{rep}");
    assert_eq!(rep["amount_differs"][0][1], paid[1].2.as_str());
    assert_eq!(rep["unknown"][0][1], "sbx_unknown");
    assert_eq!(rep["missing"][0][1], paid[2].2.as_str());
    let bad = api()
        .post(app.url("/api/v1/staff/payments/reconcile"))
        .bearer_auth(&kakaricho)
        .body("provider_ref,date,gross,fee\nx,2026-01-01,12.5,0\n")
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.expect("text").contains("line 2"));
    assert_eq!(app.count("SELECT COUNT(*) FROM settlement_imports").await, 1, "a bad file imports nothing");

    // The daily 収納 report and the totals.
    let sb = app.staff_browser("kankyo-kakaricho@minamisoma.example.jp").await;
    let daily = sb.get(app.url(&format!("/staff/payments/daily.csv?date={today}"))).send().await.expect("csv");
    assert_eq!(daily.status(), 200);
    let text = daily.text().await.expect("text");
    assert!(text.contains("収納日,年度,歳入科目"), "{text}");
    assert!(text.contains("14-02-01 犬登録手数料,card,3,90000,2,25000,65000"), "{text}");
    let fy = get_json(&app.url("/api/v1/staff/payments/fiscal"), &kakaricho).await;
    let row = &fy["rows"][0];
    assert_eq!(
        (row["chotei"].as_i64(), row["received"].as_i64(), row["refunded"].as_i64(), row["unpaid"].as_i64()),
        (Some(90000), Some(90000), Some(25000), Some(0)),
        "{fy}"
    );
    let totals = get_json(&app.url("/api/v1/staff/payments/totals"), &kakaricho).await;
    assert_eq!((totals["collected"].as_i64(), totals["refunded"].as_i64()), (Some(90000), Some(25000)), "{totals}");
    assert_eq!(totals["cashless_share"], 1.0);
    let page = sb.get(app.url("/staff/payments")).send().await.expect("get");
    assert_eq!(page.status(), 200);
}

/// An abandoned checkout expires (the worker's step, run here at once); money the provider
/// reports after that is still recorded, so the office sees it.
#[tokio::test]
async fn abandoned_checkouts_expire_and_late_money_is_recorded() {
    let app = spawn_app().await;
    dog_with_fee(&app, "[fee]\namount = 3000\npay = \"before_submission\"\nrevenue_code = \"14-02-01 犬登録手数料\"")
        .await;
    let token = app.resident_token().await;
    let (id, _) = draft_dog(&app, &token).await;
    let url = start_paying(&app, &token, id, "card").await;
    sqlx::query("UPDATE payments SET expires_at = 0")
        .execute(app.db.unchecked_write_pool())
        .await
        .expect("time passes");
    let links = kencho::flows::Links::new(Default::default());
    assert_eq!(kencho::payments::expire_due(&app.db, &links).await.expect("expire"), 1);
    assert_eq!(kencho::payments::expire_due(&app.db, &links).await.expect("expire"), 0, "once");
    assert_eq!(summary(&app, &token, id).await["payments"][0]["state"], "expired");
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    sandbox_post(&b, &url, "", &[("card", "4242424242424242"), ("delivery", "normal")]).await;
    let s = wait_state(&app, &token, id, "paid").await;
    assert_eq!(s["paid"], 3000);
    assert!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.expired'").await >= 1);
}
