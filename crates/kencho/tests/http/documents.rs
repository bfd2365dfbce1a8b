//! Signed result notices (電子交付): a decision issues a signed PDF that the resident
//! downloads and anyone verifies; altered copies fail; key rotation keeps old notices valid.

use crate::harness::*;
use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};

const KACHO: &str = "kacho@minamisoma.example.jp";

/// Accepts and approves an application through the API as 課長.
pub(crate) async fn accept_and_approve(app: &TestApp, kacho: &str, id: i64) {
    for (action, message) in [("accept", ""), ("approve", "登録しました。鑑札を郵送します。")] {
        let res = api()
            .post(app.url(&format!("/api/v1/staff/applications/{id}/actions")))
            .bearer_auth(kacho)
            .json(&serde_json::json!({"action": action, "message": message}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{action}: {}", res.text().await.unwrap());
    }
}

async fn number_of(app: &TestApp, id: i64) -> String {
    use sqlx::Row;
    sqlx::query("SELECT number FROM issued_documents WHERE application_id = $1")
        .bind(id)
        .fetch_one(&app.db.read)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// Uploads a PDF on the public verification page; returns (status, page).
async fn upload(app: &TestApp, pdf: &[u8]) -> (u16, String) {
    let b = browser();
    let page = b.get(app.url("/verify-document")).send().await.unwrap().text().await.unwrap();
    let form = Form::new()
        .text("csrf", csrf_of(&page))
        .part("file", Part::bytes(pdf.to_vec()).file_name("notice.pdf").mime_str("application/pdf").unwrap());
    let res = b.post(app.url("/verify-document")).multipart(form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn by_number(app: &TestApp, number: &str, sha: &str) -> (u16, String) {
    let b = browser();
    let page = b.get(app.url("/verify-document")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/verify-document"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("number", number), ("sha256", sha)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

pub(crate) async fn verify_api(app: &TestApp, pdf: &[u8]) -> serde_json::Value {
    let res = api()
        .post(app.url("/api/v1/documents/verify"))
        .header("content-type", "application/pdf")
        .body(pdf.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn signed_notices_are_downloaded_verified_and_survive_key_rotation() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let kacho = app.staff_token(KACHO).await;
    let (id, receipt) = app.submit_dog(&token, "ポチ").await;
    accept_and_approve(&app, &kacho, id).await;
    let number = number_of(&app, id).await;
    assert!(number.starts_with("MNS-通知-") || number.contains("-通知-"), "{number}");

    // The resident sees the notice on the application page and downloads it.
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let page = taro.get(app.url(&format!("/applications/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/applications/{id}/notice.pdf")), "download link");
    assert!(page.contains("電子署名付き"));
    let res = taro.get(app.url(&format!("/applications/{id}/notice.pdf"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("IPAexGothic") && text.contains("/FontFile2"), "the Japanese font is embedded");
    assert!(text.contains("/StructTreeRoot") && text.contains("/Lang(ja)"), "tagged, in Japanese");
    assert!(text.contains(&format!("kencho-document-number:{number}")), "the number is in the document");
    let sha = hex::encode(Sha256::digest(&pdf));

    // Anyone can check it by uploading it.
    let (status, page) = upload(&app, &pdf).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-result=\"genuine\""), "{page}");
    assert!(page.contains("南相馬市") && page.contains(&number));

    // One byte changed: not genuine, and the page says so.
    let mut altered = pdf.clone();
    let mid = altered.len() / 2;
    altered[mid] ^= 0x20;
    let (status, page) = upload(&app, &altered).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-result=\"altered\""), "{page}");
    assert!(page.contains("本物ではありません"));
    let v = verify_api(&app, &altered).await;
    assert_eq!(v["genuine"], false);
    assert_eq!(v["result"], "altered");
    assert!(v["tenant_name"].is_null(), "an altered copy learns nothing about the document");

    // By number and hash, on the page and through the API.
    let (status, page) = by_number(&app, &number, &sha.to_uppercase()).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-result=\"genuine\""));
    let (_, page) = by_number(&app, &number, &"0".repeat(64)).await;
    assert!(page.contains("data-result=\"altered\""));
    let (_, page) = by_number(&app, "MNS-通知-1999-999999", &sha).await;
    assert!(page.contains("data-result=\"unknown\""));
    let (status, page) = by_number(&app, &number, "not-a-hash").await;
    assert_eq!(status, 400, "bad input is a clear 400");
    assert!(page.contains("error-summary"));
    let res = api()
        .post(app.url("/api/v1/documents/verify"))
        .json(&serde_json::json!({"number": number, "sha256": sha}))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["result"], "genuine");
    assert_eq!(v["tenant"], "minamisoma");
    assert_eq!(v["key_status"], "active");
    let first_key = v["key_id"].as_str().unwrap().to_string();
    let res = api()
        .post(app.url("/api/v1/documents/verify"))
        .json(&serde_json::json!({"number": number, "sha256": "xyz"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "bad_request");
    let res = api().post(app.url("/api/v1/documents/verify")).body("hello").send().await.unwrap();
    assert_eq!(res.status(), 415);

    // The signature checks offline with the published public key.
    let keys: serde_json::Value =
        api().get(app.url("/api/v1/signing-keys?tenant=minamisoma")).send().await.unwrap().json().await.unwrap();
    let key = keys.as_array().unwrap().iter().find(|k| k["key_id"] == first_key.as_str()).unwrap();
    assert_eq!(key["algorithm"], "Ed25519");
    let message = kencho::documents::signed_message(&number, "minamisoma", v["issued_at"].as_i64().unwrap(), &sha);
    let vk = kencho::documents::keys::verifying_key(key["public_key"].as_str().unwrap()).unwrap();
    let sig = kencho::documents::keys::decode_signature(v["signature"].as_str().unwrap()).unwrap();
    assert!(vk.verify_strict(&message, &sig).is_ok());

    // Nobody else gets the notice.
    app.second_resident("hanako@example.jp").await;
    let hanako = app.resident_browser("hanako@example.jp", "another-long-password").await;
    let res = hanako.get(app.url(&format!("/applications/{id}/notice.pdf"))).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(browser().get(app.url(&format!("/applications/{id}/notice.pdf"))).send().await.unwrap().status(), 401);

    // Issuing again (a retry, or the 電子決裁 path) gives the same notice, not a second one.
    let links = kencho::flows::Links::new(Default::default());
    let again =
        kencho::documents::issue_decision_notice(&app.db, &links, &app.base, &app.data_dir, id, None).await.unwrap();
    assert_eq!(again.number, number);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM issued_documents WHERE application_id = {id}")).await, 1);

    // Key rotation: old notices still verify (with the retired key), new ones use the new key.
    let (_admin_browser, admin) = app.admin_api_token("admin@minamisoma.example.jp").await;
    let res = api().post(app.url("/api/v1/admin/signing-keys/rotate")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let rotated: serde_json::Value = res.json().await.unwrap();
    assert_eq!(rotated["retired"], serde_json::json!([first_key]));
    let second_key = rotated["key_id"].as_str().unwrap().to_string();
    assert_ne!(second_key, first_key);
    // Only an administrator may rotate.
    let res = api().post(app.url("/api/v1/admin/signing-keys/rotate")).bearer_auth(&kacho).send().await.unwrap();
    assert_eq!(res.status(), 403);

    let (id2, _) = app.submit_dog(&token, "タロ").await;
    assert_ne!(id2, id);
    accept_and_approve(&app, &kacho, id2).await;
    let pdf2 =
        taro.get(app.url(&format!("/applications/{id2}/notice.pdf"))).send().await.unwrap().bytes().await.unwrap();
    let v1 = verify_api(&app, &pdf).await;
    let v2 = verify_api(&app, &pdf2).await;
    assert_eq!((v1["result"].as_str(), v1["key_status"].as_str()), (Some("genuine"), Some("retired")));
    assert_eq!(v1["key_id"], first_key.as_str());
    assert_eq!((v2["result"].as_str(), v2["key_status"].as_str()), (Some("genuine"), Some("active")));
    assert_eq!(v2["key_id"], second_key.as_str());
    let (_, page) = upload(&app, &pdf).await;
    assert!(page.contains("data-result=\"genuine\"") && page.contains("更新前の鍵"));
    // The retired key's secret is gone; its public key is still published.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NOT NULL AND secret_key IS NOT NULL").await,
        0
    );
    let keys: serde_json::Value =
        api().get(app.url("/api/v1/signing-keys")).send().await.unwrap().json().await.unwrap();
    let ours: Vec<_> = keys.as_array().unwrap().iter().filter(|k| k["tenant"] == "minamisoma").collect();
    assert_eq!(ours.len(), 2);
    assert!(ours.iter().any(|k| k["key_id"] == first_key.as_str() && !k["retired_at"].is_null()));

    // Issuing and rotating are in the audit log.
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'document.issue'").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'signing_key.rotate'").await, 1);
    let _ = receipt;
}

#[tokio::test]
async fn the_admin_page_rotates_keys_and_the_page_refuses_posts_without_csrf() {
    let app = spawn_app().await;
    let admin = app.staff_browser("admin@minamisoma.example.jp").await;
    let page = admin.get(app.url("/staff/admin")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/staff/admin/signing-keys/rotate"));
    let res = admin
        .post(app.url("/staff/admin/signing-keys/rotate"))
        .form(&[("csrf", csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("署名鍵を更新しました"));
    assert_eq!(app.count("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL").await, 1);
    // Without the token nothing changes.
    let res = admin.post(app.url("/staff/admin/signing-keys/rotate")).form(&[("csrf", "wrong")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM signing_keys").await, 1);
    let res =
        browser().post(app.url("/verify-document")).form(&[("number", "x"), ("sha256", "y")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // The public page in English.
    let page = browser().get(app.url("/verify-document?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Verify a signed document"));
}

// ---------- the electronic receipt (領収書) ----------

/// Imports a version of the dog registration whose fee is paid online before submission
/// (as in `payments.rs`).
async fn dog_with_fee_before_submission(app: &TestApp) {
    let (_, admin) = app.admin_api_token("admin@minamisoma.example.jp").await;
    let def = include_str!("../../../../demo/procedures/minamisoma-inu-toroku.toml");
    let start = def.find("[fee]").expect("fee table");
    let end = start + def[start..].find("\n\n").expect("end of fee table");
    let fee = "[fee]\namount = 3000\npay = \"before_submission\"\nrevenue_code = \"14-02-01 犬登録手数料\"";
    let def = format!("{}{fee}{}", &def[..start], &def[end..]);
    let res = api()
        .post(app.url("/api/v1/admin/procedures"))
        .bearer_auth(&admin)
        .header("content-type", "application/toml")
        .body(def)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

/// A draft of the dog registration: (id, revision).
async fn draft_dog(app: &TestApp, token: &str) -> (i64, i64) {
    let res = api()
        .post(app.url("/api/v1/applications"))
        .bearer_auth(token)
        .json(&serde_json::json!({"tenant": "minamisoma", "procedure": "inu-toroku", "answers": kencho::demo::inu_toroku_answers(7)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let v: serde_json::Value = res.json().await.unwrap();
    (v["id"].as_i64().unwrap(), v["revision"].as_i64().unwrap())
}

/// Starts paying by `method`; returns the sandbox checkout URL.
async fn start_paying(app: &TestApp, token: &str, id: i64, method: &str) -> String {
    let res = api()
        .post(app.url(&format!("/api/v1/applications/{id}/payment")))
        .bearer_auth(token)
        .json(&serde_json::json!({"method": method}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let v: serde_json::Value = res.json().await.unwrap();
    v["checkout_url"].as_str().unwrap().to_string()
}

/// Waits for the sandbox's webhook to mark the application's payment paid; returns its id.
async fn wait_paid(app: &TestApp, token: &str, id: i64) -> i64 {
    for _ in 0..100 {
        let s = get_json(&app.url(&format!("/api/v1/applications/{id}/payment")), token).await;
        if let Some(p) = s["payments"].as_array().and_then(|p| p.last()).filter(|p| p["state"] == "paid") {
            return p["id"].as_i64().unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the payment of {id} never became paid");
}

#[tokio::test]
async fn a_paid_payment_gets_one_signed_receipt_that_verifies() {
    let app = spawn_app().await;
    dog_with_fee_before_submission(&app).await;
    let token = app.resident_token().await;
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;

    // Pay by card on the sandbox, then submit.
    let (id, revision) = draft_dog(&app, &token).await;
    let url = start_paying(&app, &token, id, "card").await;
    let page = taro.get(&url).send().await.unwrap().text().await.unwrap();
    let res = taro
        .post(&url)
        .form(&[("csrf", csrf_of(&page).as_str()), ("card", "4242424242424242"), ("delivery", "normal")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let pid = wait_paid(&app, &token, id).await;
    let res = api()
        .post(app.url(&format!("/api/v1/applications/{id}/submit")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"revision": revision}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // The resident downloads it: issued on the first request.
    let path = format!("/applications/{id}/payments/{pid}/receipt.pdf");
    let res = taro.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains(&format!("receipt-{pid}.pdf")));
    let pdf = res.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("IPAexGothic") && text.contains("/FontFile2"), "the Japanese font is embedded");
    let number = {
        use sqlx::Row;
        let prefix: String = sqlx::query("SELECT receipt_prefix FROM tenants WHERE code = 'minamisoma'")
            .fetch_one(&app.db.read)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        kencho::documents::receipt_number(&prefix, pid)
    };
    assert!(number.contains("-領収-"), "{number}");
    assert!(text.contains(&format!("kencho-document-number:{number}")), "the number is in the document");

    // Genuine through the API; one byte changed is not.
    let v = verify_api(&app, &pdf).await;
    assert_eq!((v["result"].as_str(), v["genuine"].as_bool()), (Some("genuine"), Some(true)), "{v}");
    assert_eq!(v["number"], number.as_str());
    assert_eq!(v["tenant"], "minamisoma");
    let mut altered = pdf.clone();
    let mid = altered.len() / 2;
    altered[mid] ^= 0x20;
    let v = verify_api(&app, &altered).await;
    assert_eq!(v["genuine"], false);
    assert_ne!(v["result"], "genuine");
    let (_, page) = upload(&app, &pdf).await;
    assert!(page.contains("data-result=\"genuine\""), "the public page agrees");

    // Once per payment: the same file again, and from the function.
    let again = taro.get(app.url(&path)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(again.to_vec(), pdf);
    let links = kencho::flows::Links::new(Default::default());
    let doc = kencho::documents::issue_receipt(&app.db, &links, &app.base, &app.data_dir, pid).await.unwrap();
    assert_eq!((doc.number.as_str(), doc.kind.as_str(), doc.application_id), (number.as_str(), "receipt", Some(id)));
    assert_eq!(app.count("SELECT COUNT(*) FROM issued_documents WHERE kind = 'receipt'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'document.issue'").await, 1);

    // Staff who may see the case get it too, and the opening is audited.
    let views = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'application.view'").await;
    let kacho = app.staff_browser(KACHO).await;
    let res = kacho.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'application.view'").await, views + 1);

    // Nobody else: another resident, no session, or a payment named under another application.
    app.second_resident("hanako@example.jp").await;
    let hanako = app.resident_browser("hanako@example.jp", "another-long-password").await;
    assert_eq!(hanako.get(app.url(&path)).send().await.unwrap().status(), 404);
    assert_eq!(browser().get(app.url(&path)).send().await.unwrap().status(), 401);
    let (id2, _) = draft_dog(&app, &token).await;
    let res = taro.get(app.url(&format!("/applications/{id2}/payments/{pid}/receipt.pdf"))).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // A payment not paid yet has no receipt.
    start_paying(&app, &token, id2, "qr").await;
    let s = get_json(&app.url(&format!("/api/v1/applications/{id2}/payment")), &token).await;
    let unpaid = s["payments"][0]["id"].as_i64().unwrap();
    let res = taro.get(app.url(&format!("/applications/{id2}/payments/{unpaid}/receipt.pdf"))).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let err = kencho::documents::issue_receipt(&app.db, &links, &app.base, &app.data_dir, unpaid).await.unwrap_err();
    assert!(matches!(err, kencho::error::AppError::Refused("not_paid", _)), "{err:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM issued_documents WHERE kind = 'receipt'").await, 1);
}

/// A 却下 is a 処分 too (行政手続法 8条): it issues a signed written notice with its reason,
/// which the resident downloads and anyone verifies like a decision notice.
#[tokio::test]
async fn a_rejection_issues_a_signed_notice() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, "ポチ").await;
    let kacho = app.staff_token(KACHO).await;
    let res = api()
        .post(app.url(&format!("/api/v1/staff/applications/{id}/actions")))
        .bearer_auth(&kacho)
        .json(&serde_json::json!({"action": "reject", "message": "飼い主の住所が管轄外のため受理できません。"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let titles = format!(
        "SELECT COUNT(*) FROM issued_documents WHERE application_id = {id} AND title LIKE '却下通知書%' AND kind = 'decision_notice'"
    );
    assert_eq!(app.count(&titles).await, 1, "one notice, titled as a 却下");
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let res = taro.get(app.url(&format!("/applications/{id}/notice.pdf"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let pdf = res.bytes().await.unwrap().to_vec();
    assert_eq!(verify_api(&app, &pdf).await["result"], "genuine");
}
