//! The resident and staff journeys, through the pages a person uses.

use crate::harness::*;

/// Sign up, verify by the mailed link, find a procedure in Japanese, fill it page by page
/// (with errors first), confirm, submit twice (one application), get the 受付番号 on screen
/// and by e-mail, see it in 申請一覧.
#[tokio::test]
async fn resident_applies_online_end_to_end() {
    let app = spawn_app().await;
    let b = browser();

    // Sign up and verify.
    let page = b.get(app.url("/signup")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/signup"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", "hanako@example.jp"),
            ("name", "会津 花子"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mail = app.smtp.wait_for("hanako@example.jp", "/verify?token=").await;
    let link = mail.body.lines().find(|l| l.contains("/verify?token=")).unwrap().trim().to_string();
    // Logging in before verifying is refused.
    let login = b.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&login).as_str()),
            ("email", "hanako@example.jp"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let verify = b.get(&link).send().await.unwrap().text().await.unwrap();
    let token = value_of(&verify, "token");
    let res = b
        .post(app.url("/verify"))
        .form(&[("csrf", csrf_of(&verify).as_str()), ("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let b = app.resident_browser("hanako@example.jp", "correct horse battery").await;

    // Search works on Japanese words without a dictionary.
    let found = b.get(app.url("/?q=証明書")).send().await.unwrap().text().await.unwrap();
    assert!(found.contains("住民票"), "「証明書」 finds the certificate request");
    assert!(!found.contains("犬の登録"));
    let found = b.get(app.url("/?q=いぬ")).send().await.unwrap().text().await.unwrap();
    assert!(found.contains("犬の登録申請"));

    // Start 犬の登録申請.
    let proc_page = b.get(app.url("/procedures/minamisoma/inu-toroku")).send().await.unwrap().text().await.unwrap();
    assert!(proc_page.contains("狂犬病予防法第4条") && proc_page.contains("3,000円"));
    // The 審査基準 are published with the procedure (行政手続法 5条), and the identity check it needs.
    assert!(proc_page.contains("審査基準") && proc_page.contains("生後91日以上の犬であること"), "{proc_page}");
    assert!(proc_page.contains("身元確認保証レベル2"));
    let res = b
        .post(app.url("/procedures/minamisoma/inu-toroku/start"))
        .form(&[("csrf", csrf_of(&proc_page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page1_url = app.url(&location(&res));
    assert!(page1_url.ends_with("/pages/1"));
    let id: i64 = page1_url.split('/').rev().nth(2).unwrap().parse().unwrap();

    // An empty page 1: 422 with an error summary that links to each field.
    let p1 = b.get(&page1_url).send().await.unwrap().text().await.unwrap();
    assert!(!p1.contains("印鑑") && !p1.contains("印刷して"), "no page asks for a seal or a printout");
    let res = b
        .post(&page1_url)
        .form(&[("csrf", csrf_of(&p1).as_str()), ("revision", value_of(&p1, "revision").as_str()), ("intent", "next")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err_page = res.text().await.unwrap();
    assert!(err_page.contains("id=\"error-summary\""));
    assert!(err_page.contains("href=\"#f-owner_name-family\""), "summary links to the field");
    assert!(err_page.contains("aria-describedby=\"f-owner_name-family-error\""), "error tied to the input");

    // Save a draft with a half-filled page (full-width digits are fine), come back later.
    let res = b
        .post(&page1_url)
        .form(&[
            ("csrf", csrf_of(&err_page).as_str()),
            ("revision", value_of(&err_page, "revision").as_str()),
            ("intent", "save"),
            ("f.owner_name.family", "会津"),
            ("f.owner_name.given", "花子"),
            ("f.owner_name.family_kana", "アイヅ"),
            ("f.owner_name.given_kana", "はなこ"),
            ("f.phone", "０２４４－２２－２１１１"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let p1 = b.get(&page1_url).send().await.unwrap().text().await.unwrap();
    assert!(
        p1.contains("value=\"会津\"") && p1.contains("value=\"あいづ\""),
        "draft kept; kana normalised to hiragana"
    );
    assert!(p1.contains("value=\"0244-22-2111\""), "full-width digits normalised");

    let res = b
        .post(&page1_url)
        .form(&[
            ("csrf", csrf_of(&p1).as_str()),
            ("revision", value_of(&p1, "revision").as_str()),
            ("intent", "next"),
            ("f.owner_name.family", "会津"),
            ("f.owner_name.given", "花子"),
            ("f.owner_name.family_kana", "あいづ"),
            ("f.owner_name.given_kana", "はなこ"),
            ("f.owner_address.postal_code", "９７５８６８６"),
            ("f.owner_address.prefecture", "福島県"),
            ("f.owner_address.city", "南相馬市"),
            ("f.owner_address.street", "原町区本町二丁目27"),
            ("f.phone", "0244-22-2111"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).ends_with("/pages/2"));
    let p2 = b.get(app.url(&location(&res))).send().await.unwrap().text().await.unwrap();
    // An impossible date is caught.
    let bad =
        post_page(&b, &app.url(&format!("/applications/{id}/pages/2")), &p2, &dog_page("コタロウ", "柴犬", "2", "30"))
            .await;
    assert_eq!(bad.status(), 422);
    let p2 = bad.text().await.unwrap();
    assert!(p2.contains("正しい年月日を入力してください"));
    let res =
        post_page(&b, &app.url(&format!("/applications/{id}/pages/2")), &p2, &dog_page("コタロウ", "柴犬", "10", "1"))
            .await;
    assert_eq!(location(&res), format!("/applications/{id}/confirm"));

    // Confirmation shows the date in 西暦 and 和暦.
    let confirm = b.get(app.url(&format!("/applications/{id}/confirm"))).send().await.unwrap().text().await.unwrap();
    assert!(confirm.contains("2026年10月1日（令和8年10月1日）"), "{confirm}");
    assert!(confirm.contains("〒975-8686 福島県南相馬市原町区本町二丁目27"));
    let form = [("csrf", csrf_of(&confirm)), ("revision", value_of(&confirm, "revision"))];
    let done = b.post(app.url(&format!("/applications/{id}/submit"))).form(&form).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let done = done.text().await.unwrap();
    let receipt = done.split("id=\"receipt-number\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(kencho_core::receipt::is_valid_receipt(&receipt), "{receipt}");
    assert!(receipt.starts_with("MINA-"));

    // The same form posted twice gives one application and the same number.
    let again = b.post(app.url(&format!("/applications/{id}/submit"))).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains(&receipt));
    assert_eq!(app.count("SELECT COUNT(*) FROM applications").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM application_events WHERE action = 'submit'").await, 1);

    // By e-mail too, with the content hash; exactly once.
    let mail = app.smtp.wait_for("hanako@example.jp", &receipt).await;
    assert!(mail.body.contains("SHA-256"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.smtp.count_to("hanako@example.jp", &receipt), 1);

    // 申請一覧 and the application page.
    let list = b.get(app.url("/applications")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&receipt) && list.contains("申請済（受付待ち）"));
    let detail = b.get(app.url(&format!("/applications/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(detail.contains("取り下げる"), "withdrawal offered while the procedure allows it");
    // English is one click away.
    let en = b.get(app.url(&format!("/applications/{id}?lang=en"))).send().await.unwrap().text().await.unwrap();
    assert!(en.contains("Submitted (awaiting acceptance)"));
    let en2 = b.get(app.url("/applications")).send().await.unwrap().text().await.unwrap();
    assert!(en2.contains("My applications"), "the language choice sticks");
}

/// Staff (with TOTP) accept, ask for a correction; the resident corrects and resubmits;
/// the office decides. Each step is in the history and mailed to the resident.
#[tokio::test]
async fn office_works_the_application_and_resident_corrects() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let (id, receipt) = app.submit_dog(&token, "ハチ").await;

    let staff = app.staff_browser("kacho@minamisoma.example.jp").await;
    let inbox = staff.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
    assert!(inbox.contains(&receipt));
    let filtered = staff.get(app.url("/staff?status=accepted")).send().await.unwrap().text().await.unwrap();
    assert!(!filtered.contains(&receipt), "status filter");
    let case = staff.get(app.url(&format!("/staff/applications/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(case.contains("ハチ") && case.contains("福島 太郎"));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'application.view' AND target = 'application:{id}'"
        ))
        .await,
        1,
        "the view of personal data is audited"
    );

    let act = |action: &'static str, message: &'static str| {
        let staff = staff.clone();
        let url = app.url(&format!("/staff/applications/{id}"));
        async move {
            let case = staff.get(&url).send().await.unwrap().text().await.unwrap();
            staff
                .post(format!("{url}/action"))
                .form(&[("csrf", csrf_of(&case).as_str()), ("action", action), ("message", message)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(act("accept", "").await.status(), 303);
    // A correction request needs a message.
    assert_eq!(act("request_correction", "  ").await.status(), 409);
    assert_eq!(act("request_correction", "犬種を正確にご記入ください。").await.status(), 303);
    app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "犬種を正確にご記入ください。").await;
    // The 標準処理期間 clock stopped at the request. Moved three days back, as if the applicant
    // had taken three days: the resubmission must add exactly those days to the period and
    // keep the arrival date.
    let clock = format!("SELECT submitted_at, due_at, paused_at FROM applications WHERE id = {id}");
    let (arrived, due, paused): (i64, i64, Option<i64>) = sqlx::query_as(&clock).fetch_one(&app.db.read).await.unwrap();
    let paused = paused.expect("the clock stopped at the 補正");
    let three_days = 3 * 86_400_000;
    sqlx::query(&format!("UPDATE applications SET paused_at = {} WHERE id = {id}", paused - three_days))
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();

    // The resident sees the message, edits and resubmits through the pages.
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let detail = b.get(app.url(&format!("/applications/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(detail.contains("補正のお願い") && detail.contains("犬種を正確にご記入ください。"));
    let p2 = b.get(app.url(&format!("/applications/{id}/pages/2"))).send().await.unwrap().text().await.unwrap();
    let res =
        post_page(&b, &app.url(&format!("/applications/{id}/pages/2")), &p2, &dog_page("ハチ", "秋田犬", "10", "1"))
            .await;
    assert_eq!(location(&res), format!("/applications/{id}/confirm"));
    let confirm = b.get(app.url(&format!("/applications/{id}/confirm"))).send().await.unwrap().text().await.unwrap();
    assert!(confirm.contains("補正して再提出する"));
    let done = b
        .post(app.url(&format!("/applications/{id}/submit")))
        .form(&[("csrf", csrf_of(&confirm)), ("revision", value_of(&confirm, "revision"))])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains(&receipt), "the receipt number stays");
    let (arrived_after, due_after, paused_after): (i64, i64, Option<i64>) =
        sqlx::query_as(&clock).fetch_one(&app.db.read).await.unwrap();
    assert_eq!(arrived_after, arrived, "the arrival date stays");
    assert_eq!(paused_after, None, "the clock runs again");
    let added = due_after - due;
    assert!((three_days..three_days + 60_000).contains(&added), "the period grew by the pause only: {added} ms");

    // Back under review (it had been accepted); the decision follows.
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["answers"]["breed"], "秋田犬");
    assert_eq!(act("approve", "登録しました。鑑札を郵送します。").await.status(), 303);
    app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "登録しました。鑑札を郵送します。").await;
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(v["status"], "approved");
    let actions: Vec<&str> = v["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submit", "accept", "request_correction", "resubmit", "decide"]);
    assert_eq!(v["can_withdraw"], false);
    // Decided is final.
    let refused = act("reject", "x").await;
    assert_eq!(refused.status(), 409);
    assert!(
        refused.text().await.unwrap().contains("現在の状態ではこの操作はできません"),
        "the case page explains instead of acting"
    );
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(v["status"], "approved");
}

/// Roles: 担当 cannot decide; the resident withdraws until the 処分.
#[tokio::test]
async fn roles_and_withdrawal() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, "シロ").await;
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    let post = |tok: String, action: &'static str| {
        let url = app.url(&format!("/api/v1/staff/applications/{id}/actions"));
        async move {
            api()
                .post(url)
                .bearer_auth(tok)
                .json(&serde_json::json!({"action": action, "message": "理由"}))
                .send()
                .await
                .unwrap()
        }
    };
    // Deciding before acceptance is refused by the state machine.
    let res = post(kacho.clone(), "approve").await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "invalid_transition");
    assert_eq!(post(kacho.clone(), "accept").await.status(), 200);
    // 担当 of another division cannot even see it.
    let tanto = app.staff_token("tanto@aizuwakamatsu.example.jp").await;
    assert_eq!(post(tanto, "approve").await.status(), 404);
    // Accepted, it may still be withdrawn (until the 処分), although the demo's file says
    // `withdrawal = "until_accepted"`, which has no basis in 行政手続法.
    let res =
        api().post(app.url(&format!("/api/v1/applications/{id}/withdraw"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200, "withdrawal after acceptance is allowed");
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(v["status"], "withdrawn");
    // After the 処分 it is too late.
    let (id2, _) = app.submit_dog(&token, "クロ").await;
    let post2 = |action: &'static str| {
        let (url, kacho) = (app.url(&format!("/api/v1/staff/applications/{id2}/actions")), kacho.clone());
        async move {
            api()
                .post(url)
                .bearer_auth(kacho)
                .json(&serde_json::json!({"action": action, "message": "登録しました。"}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post2("accept").await.status(), 200);
    assert_eq!(post2("approve").await.status(), 200);
    let res =
        api().post(app.url(&format!("/api/v1/applications/{id2}/withdraw"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 409);
}

/// Attachments: type sniffing, size limits, the owner downloads, staff see them on the case.
#[tokio::test]
async fn attachments_are_checked_and_kept() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let c = api();
    let res = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"tenant": "aizuwakamatsu", "procedure": "juminhyo-shomei", "answers": {"applicant_kind": "self"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: serde_json::Value = res.json().await.unwrap();
    let id = v["id"].as_i64().unwrap();
    assert!(!v["problems"].as_array().unwrap().is_empty(), "an incomplete draft lists its problems");
    let up = |ct: &'static str, body: Vec<u8>, field: &'static str| {
        let url = app.url(&format!(
            "/api/v1/applications/{id}/attachments?field={field}&filename=%E5%85%8D%E8%A8%B1%E8%A8%BC.pdf"
        ));
        let token = token.clone();
        async move { api().post(url).bearer_auth(token).header("content-type", ct).body(body).send().await.unwrap() }
    };
    // Text dressed up as a PDF, a type the field does not take, too large, unknown field.
    assert_eq!(up("application/pdf", b"hello, not a pdf".to_vec(), "id_document").await.status(), 415);
    assert_eq!(up("text/csv", b"a,b\n".to_vec(), "id_document").await.status(), 415);
    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    assert_eq!(up("application/pdf", big, "id_document").await.status(), 413);
    assert_eq!(up("application/pdf", PDF.to_vec(), "nope").await.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM attachments").await, 0, "rejected uploads leave nothing");
    let res = up("application/pdf", PDF.to_vec(), "id_document").await;
    assert_eq!(res.status(), 201);
    let att: serde_json::Value = res.json().await.unwrap();
    let aid = att["attachment_id"].as_str().unwrap().to_string();

    // Complete the answers and submit.
    let detail: serde_json::Value = c
        .get(app.url(&format!("/api/v1/applications/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let person =
        serde_json::json!({"family": "福島", "given": "太郎", "family_kana": "ふくしま", "given_kana": "たろう"});
    let addr = serde_json::json!({"postal_code": "965-8601", "prefecture": "福島県", "city": "会津若松市", "street": "東栄町3-46"});
    let answers = serde_json::json!({
        "applicant_kind": "self", "requester_name": person, "requester_address": addr,
        "subject_name": person, "subject_birth_date": "1985-04-01", "subject_address": addr,
        "cert_kind": "juminhyo", "scope": "household", "copies": 2, "include_items": ["setainushi"],
        "purpose": "pension", "phone": "0242-39-1111", "email": "taro@example.jp"
    });
    let res = c
        .put(app.url(&format!("/api/v1/applications/{id}/answers")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"revision": detail["revision"], "answers": answers}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let saved: serde_json::Value = res.json().await.unwrap();
    assert_eq!(saved["problems"].as_array().unwrap().len(), 0, "{saved}");
    let res = c
        .post(app.url(&format!("/api/v1/applications/{id}/submit")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"revision": saved["revision"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // The owner downloads the same bytes; the office sees it on the case page.
    let file = c
        .get(app.url(&format!("/api/v1/applications/{id}/attachments/{aid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), PDF);
    let staff = app.staff_browser("kakaricho@aizuwakamatsu.example.jp").await;
    let case = staff.get(app.url(&format!("/staff/applications/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(case.contains("免許証.pdf"));
    let file = staff.get(app.url(&format!("/applications/{id}/attachments/{aid}"))).send().await.unwrap();
    assert_eq!(file.status(), 200);
    // After submission, files can no longer be changed.
    assert_eq!(up("application/pdf", PDF.to_vec(), "id_document").await.status(), 409);
}

/// An upload through the HTML form (multipart), with a wrong type shown on the page.
#[tokio::test]
async fn upload_through_the_form() {
    let app = spawn_app().await;
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let proc_page =
        b.get(app.url("/procedures/aizuwakamatsu/juminhyo-shomei")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/procedures/aizuwakamatsu/juminhyo-shomei/start"))
        .form(&[("csrf", csrf_of(&proc_page).as_str()), ("applicant_kind", "self")])
        .send()
        .await
        .unwrap();
    let first = location(&res);
    let id: i64 = first.split('/').nth(2).unwrap().parse().unwrap();
    // Find the page with the file field.
    let mut n = 1;
    let page = loop {
        let html = b.get(app.url(&format!("/applications/{id}/pages/{n}"))).send().await.unwrap().text().await.unwrap();
        if html.contains("enctype=\"multipart/form-data\"") {
            break html;
        }
        n += 1;
        assert!(n < 10, "no page with a file field");
    };
    let form = |bytes: &'static [u8], ct: &'static str, page: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf_of(page))
            .text("revision", value_of(page, "revision"))
            .text("intent", "save")
            .part("f.id_document", reqwest::multipart::Part::bytes(bytes).file_name("id.pdf").mime_str(ct).unwrap())
    };
    let res = b
        .post(app.url(&format!("/applications/{id}/pages/{n}")))
        .multipart(form(b"GIF89a", "application/pdf", &page))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let html = res.text().await.unwrap();
    assert!(html.contains("この形式のファイルは添付できません"));
    let res = b
        .post(app.url(&format!("/applications/{id}/pages/{n}")))
        .multipart(form(PDF, "application/pdf", &html))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let html = b.get(app.url(&format!("/applications/{id}/pages/{n}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("添付済み") && html.contains("id.pdf"));
}

/// A repeatable group through the pages: add a row, fill two children, errors point into rows.
#[tokio::test]
async fn repeatable_groups_in_the_form() {
    let app = spawn_app().await;
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let proc_page = b.get(app.url("/procedures/minamisoma/kosodate-hojo")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/procedures/minamisoma/kosodate-hojo/start"))
        .form(&[("csrf", csrf_of(&proc_page).as_str())])
        .send()
        .await
        .unwrap();
    let id: i64 = location(&res).split('/').nth(2).unwrap().parse().unwrap();
    let url = app.url(&format!("/applications/{id}/pages/2"));
    let page = b.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"f.children.0.child_name.family\""));
    assert!(!page.contains("name=\"f.children.1.child_name.family\""), "one blank row to start");
    let child = |i: usize, family: &str, given: &str, day: &str| -> Vec<(String, String)> {
        let p = format!("f.children.{i}.");
        vec![
            (format!("{p}child_name.family"), family.to_string()),
            (format!("{p}child_name.given"), given.to_string()),
            (format!("{p}child_name.family_kana"), "そうま".into()),
            (format!("{p}child_name.given_kana"), "はな".into()),
            (format!("{p}child_birth_date.year"), "2024".into()),
            (format!("{p}child_birth_date.month"), "5".into()),
            (format!("{p}child_birth_date.day"), day.to_string()),
            (format!("{p}relationship"), "child".into()),
        ]
    };
    let mut form = vec![("csrf".to_string(), csrf_of(&page)), ("revision".to_string(), value_of(&page, "revision"))];
    form.extend(child(0, "相馬", "花", "1"));
    form.push(("add_row".into(), "children".into()));
    let added = b.post(&url).form(&form).send().await.unwrap();
    assert_eq!(added.status(), 200);
    let page = added.text().await.unwrap();
    assert!(
        page.contains("value=\"相馬\"") && page.contains("name=\"f.children.1.child_name.family\""),
        "kept and one more row"
    );
    // The second child has an impossible birthday: the error names the row.
    let mut form = vec![
        ("csrf".to_string(), csrf_of(&page)),
        ("revision".to_string(), value_of(&page, "revision")),
        ("intent".into(), "next".into()),
    ];
    form.extend(child(0, "相馬", "花", "1"));
    form.extend(child(1, "相馬", "空", "32"));
    let res = b.post(&url).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("href=\"#f-children-1-child_birth_date-year\""), "summary links into row 2");
    let mut form = vec![
        ("csrf".to_string(), csrf_of(&page)),
        ("revision".to_string(), value_of(&page, "revision")),
        ("intent".into(), "next".into()),
    ];
    form.extend(child(0, "相馬", "花", "1"));
    form.extend(child(1, "相馬", "空", "30"));
    let res = b.post(&url).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let token = app.resident_token().await;
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    let kids = v["answers"]["children"].as_array().unwrap();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1]["child_birth_date"], "2024-05-30");
}
