//! The Stripe adapter over HTTP, against a local recording of Stripe's answers (no network):
//! checkout with idempotent retries, signed webhooks, refunds after the 会計管理者's review, and
//! the balance report.

use serde_json::{json, Value};

use crate::harness::*;
use crate::payments::{dog_with_fee, draft_dog, post_json, review, start_paying, summary};

/// Stripe's side, recorded: Checkout Session and refund answers built from Stripe's published
/// objects (the fixtures of `kencho-core`), the first checkout request answered 500 so the
/// retry must carry the same Idempotency-Key.
struct FakeStripe {
    base: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
}

async fn fake_stripe() -> FakeStripe {
    use axum::routing::post;
    let requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Default::default();
    let seen = requests.clone();
    let checkout = move |headers: axum::http::HeaderMap, body: String| {
        let seen = seen.clone();
        async move {
            let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let first = {
                let mut s = seen.lock().expect("lock");
                s.push((key, auth, body));
                s.len() == 1
            };
            if first {
                return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, String::from("{}"));
            }
            let json = include_str!("../../../kencho-core/tests/fixtures/stripe/checkout_session_create_response.json")
                .replace("cs_test_a1kencho0000000000000000000000000000000000000000001", "cs_test_kencho_1");
            let mut v: Value = serde_json::from_str(&json).expect("fixture");
            v["url"] = json!("https://checkout.stripe.com/c/pay/cs_test_kencho_1");
            v["amount_total"] = json!(3000);
            (axum::http::StatusCode::OK, v.to_string())
        }
    };
    let refunds = |body: String| async move {
        assert!(body.contains("payment_intent=pi_test_kencho_1"), "{body}");
        include_str!("../../../kencho-core/tests/fixtures/stripe/refund_create_response.json")
            .replace("\"amount\": 400", "\"amount\": 1000")
    };
    let app = axum::Router::new().route("/v1/checkout/sessions", post(checkout)).route("/v1/refunds", post(refunds));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("fake stripe") });
    FakeStripe { base: format!("http://{addr}"), requests }
}

fn stripe_event(kind: &str, object: Value) -> String {
    json!({"id": format!("evt_{kind}_{}", object["id"].as_str().unwrap_or("x")), "object": "event", "api_version": "2025-03-31.basil",
           "created": kencho::db::now_ms() / 1000, "livemode": false, "type": kind, "data": {"object": object}})
    .to_string()
}

async fn post_stripe(app: &TestApp, secret: &str, body: &str) -> reqwest::Response {
    let header = kencho_core::payment::stripe::sign(body.as_bytes(), secret, kencho::db::now_ms() / 1000);
    api()
        .post(app.url("/api/v1/payments/webhooks/stripe/minamisoma"))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(body.to_string())
        .send()
        .await
        .expect("webhook")
}

/// The Stripe adapter end to end against recorded answers: settings keep secrets write-only;
/// the checkout request is retried with the same idempotency key; signed webhooks pay once
/// (a duplicate changes nothing, a forged one is refused); a refund goes to Stripe's refunds
/// API and is counted when Stripe's refund event arrives.
#[tokio::test]
async fn stripe_checkout_webhooks_and_refund() {
    let stripe = fake_stripe().await;
    let app = spawn_app_stripe(stripe.base.clone()).await;
    dog_with_fee(&app, "[fee]\namount = 3000\npay = \"before_submission\"\nrevenue_code = \"14-02-01 犬登録手数料\"")
        .await;
    let (_, admin) = app.admin_api_token("admin@minamisoma.example.jp").await;
    let secret = "whsec_test_kencho_secret";
    let on = json!({"stripe_enabled": true, "stripe_methods": "card", "stripe_api_key": "sk_test_kencho", "stripe_webhook_secret": secret});
    let res = api()
        .put(app.url("/api/v1/admin/payments/settings"))
        .bearer_auth(&admin)
        .json(&on)
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), 409, "not without its 指定 as 指定納付受託者");
    assert_eq!(res.json::<Value>().await.expect("json")["code"], "agent_not_designated");
    let agent = json!({"agent_name": "Stripe Payments Japan 合同会社", "kokuji_number": "南相馬市告示第12号",
                       "kokuji_date": "2026-04-01", "covers": ["*"]});
    let res = api()
        .put(app.url("/api/v1/admin/payments/agents/stripe"))
        .bearer_auth(&admin)
        .json(&agent)
        .send()
        .await
        .expect("agent");
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let res = api()
        .put(app.url("/api/v1/admin/payments/settings"))
        .bearer_auth(&admin)
        .json(&json!({"stripe_enabled": true, "stripe_methods": "card", "stripe_api_key": "sk_test_kencho", "stripe_webhook_secret": secret}))
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("text");
    assert!(!text.contains("sk_test_kencho") && !text.contains(secret), "secrets are never shown back: {text}");
    assert!(text.contains("\"stripe_api_key_set\":true"));

    let token = app.resident_token().await;
    let (id, revision) = draft_dog(&app, &token).await;
    let url = start_paying(&app, &token, id, "card").await;
    assert_eq!(url, "https://checkout.stripe.com/c/pay/cs_test_kencho_1");
    {
        let reqs = stripe.requests.lock().expect("lock");
        assert_eq!(reqs.len(), 2, "retried once after the 500");
        assert_eq!(reqs[0].0, reqs[1].0, "the retry carries the same Idempotency-Key");
        assert_eq!(reqs[0].1, "Bearer sk_test_kencho");
        assert!(reqs[1].2.contains("currency%5D=jpy") || reqs[1].2.contains("currency]=jpy"), "{}", reqs[1].2);
        assert!(reqs[1].2.contains("unit_amount%5D=3000") || reqs[1].2.contains("unit_amount]=3000"), "{}", reqs[1].2);
    }
    let session = json!({"id": "cs_test_kencho_1", "object": "checkout.session", "amount_total": 3000, "currency": "jpy",
        "payment_status": "paid", "status": "complete", "payment_intent": "pi_test_kencho_1", "metadata": {"payment_id": "1"}});
    let completed = stripe_event("checkout.session.completed", session);
    // A forged signature: refused, nothing changes.
    let res = post_stripe(&app, "whsec_wrong", &completed).await;
    assert_eq!(res.status(), 400);
    assert_eq!(summary(&app, &token, id).await["paid"], 0);
    for _ in 0..2 {
        let res = post_stripe(&app, secret, &completed).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }
    let s = summary(&app, &token, id).await;
    assert_eq!((s["paid"].as_i64(), s["payments"][0]["state"].as_str()), (Some(3000), Some("paid")));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payment_events WHERE provider = 'stripe'").await,
        1,
        "the duplicate counted once"
    );
    let res = api()
        .post(app.url(&format!("/api/v1/applications/{id}/submit")))
        .bearer_auth(&token)
        .json(&json!({"revision": revision}))
        .send()
        .await
        .expect("submit");
    assert_eq!(res.status(), 200);

    // A partial refund through Stripe's refunds API; counted when Stripe says it succeeded.
    let kakaricho = app.staff_token("kankyo-kakaricho@minamisoma.example.jp").await;
    let payment = s["payments"][0]["id"].as_i64().expect("payment");
    let res = post_json(
        &app,
        &kakaricho,
        format!("/api/v1/staff/payments/{payment}/refunds"),
        json!({"amount": 1000, "reason": "一部返金"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let order = res.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let kaikei = app.staff_token("kaikei-kanrisha@minamisoma.example.jp").await;
    assert_eq!(review(&app, &kaikei, order, true).await.status(), 200);
    let mut re_id = String::new();
    for _ in 0..50 {
        re_id = sqlx::query_scalar::<_, Option<String>>("SELECT provider_ref FROM refunds")
            .fetch_one(&app.db.read)
            .await
            .expect("refund")
            .unwrap_or_default();
        if re_id.starts_with("re_") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(re_id.starts_with("re_"), "sent to Stripe: {re_id:?}");
    assert_eq!(summary(&app, &token, id).await["refunded"], 0, "not counted before Stripe confirms");
    let refund = json!({"id": re_id, "object": "refund", "amount": 1000, "currency": "jpy", "status": "succeeded",
                        "payment_intent": "pi_test_kencho_1", "metadata": {"kencho_refund_id": "1"}});
    let res = post_stripe(&app, secret, &stripe_event("refund.updated", refund)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    assert_eq!(summary(&app, &token, id).await["refunded"], 1000);
    assert_eq!(app.count("SELECT COUNT(*) FROM refunds WHERE state = 'succeeded'").await, 1);
    // Stripe's itemized balance report: the charge line matches by payment_intent.
    let report = "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,charge_id,payment_intent_id\n\
        txn_1,2026-01-05 10:00:00,2026-01-09 00:00:00,jpy,3000,108,2892,charge,ch_1,ch_1,pi_test_kencho_1\n\
        txn_2,2026-01-05 11:00:00,2026-01-05 11:00:00,jpy,-1000,0,-1000,refund,re_1,ch_1,pi_test_kencho_1\n";
    let res = api()
        .post(app.url("/api/v1/staff/payments/reconcile?provider=stripe"))
        .bearer_auth(&kakaricho)
        .body(report)
        .send()
        .await
        .expect("reconcile");
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    assert_eq!(res.json::<Value>().await.expect("json")["matched"], 1);
    // The charge the payment became, from Stripe's charge event; a report whose chosen
    // columns name only charges then matches by charge.
    let charge = json!({"id": "ch_test_kencho_1", "object": "charge", "amount": 3000, "currency": "jpy",
                        "status": "succeeded", "paid": true, "payment_intent": "pi_test_kencho_1"});
    let res = post_stripe(&app, secret, &stripe_event("charge.succeeded", charge)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let reconcile = |report: &'static str| {
        let (url, kakaricho) = (app.url("/api/v1/staff/payments/reconcile?provider=stripe"), kakaricho.clone());
        async move { api().post(url).bearer_auth(&kakaricho).body(report).send().await.expect("reconcile") }
    };
    let res = reconcile(
        "created_utc,currency,gross,fee,net,reporting_category,charge_id\n\
         2026-01-05 10:00:00,jpy,3000,108,2892,charge,ch_test_kencho_1\n",
    )
    .await;
    assert_eq!(res.status(), 200);
    let v = res.json::<Value>().await.expect("json");
    assert_eq!((v["matched"].as_i64(), v["unknown"].as_array().map(Vec::len)), (Some(1), Some(0)), "{v}");
    // Without a column to find payments by, the report is refused and says which it needs.
    let res = reconcile("created_utc,currency,gross,fee,net,reporting_category\n2026-01-05,jpy,1,0,1,charge\n").await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap_or_default().contains("payment_intent_id or charge_id"));
    // An event for a Checkout Session kencho did not create (another system on the same Stripe
    // account): 2xx, so Stripe stops retrying, and kept for whoever looks.
    let other = json!({"id": "cs_test_not_kencho", "object": "checkout.session", "amount_total": 500, "currency": "jpy",
        "payment_status": "paid", "status": "complete", "payment_intent": "pi_test_not_kencho"});
    for _ in 0..2 {
        let res = post_stripe(&app, secret, &stripe_event("checkout.session.completed", other.clone())).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payment_unmatched_events WHERE object_ref = 'cs_test_not_kencho'").await,
        1
    );
    // Secrets are not in the audit log.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%sk_test_kencho%' OR detail LIKE '%whsec_test%'")
            .await,
        0
    );
}
