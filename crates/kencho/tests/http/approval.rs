//! 電子決裁 over HTTP: real routes of the demo organisation of 南相馬市
//! (demo/approval/minamisoma-org.toml), on SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

pub(crate) fn email(who: &str) -> String {
    format!("{who}@minamisoma.example.jp")
}

pub(crate) async fn token(app: &TestApp, who: &str) -> String {
    app.staff_token(&email(who)).await
}

pub(crate) async fn call(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let c = api();
    let url = app.url(path);
    let req = match method {
        "GET" => c.get(url),
        "PUT" => c.put(url),
        _ => c.post(url),
    }
    .bearer_auth(token);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub(crate) async fn draft(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = call(app, token, "POST", "/api/v1/approval", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().expect("id")
}

pub(crate) async fn act(app: &TestApp, token: &str, id: i64, act: &str, comment: Option<&str>) -> (StatusCode, Value) {
    call(app, token, "POST", &format!("/api/v1/approval/{id}/acts"), Some(json!({"act": act, "comment": comment})))
        .await
}

pub(crate) async fn ok(app: &TestApp, token: &str, id: i64, a: &str) -> String {
    let (s, v) = act(app, token, id, a, None).await;
    assert_eq!(s, StatusCode::OK, "{a}: {v}");
    v["state"].as_str().expect("state").to_string()
}

pub(crate) async fn get(app: &TestApp, token: &str, id: i64) -> Value {
    let (s, v) = call(app, token, "GET", &format!("/api/v1/approval/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

pub(crate) fn route_posts(v: &Value) -> Vec<Vec<String>> {
    v["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|st| {
            st["steps"].as_array().expect("steps").iter().map(|s| s["post"].as_str().expect("post").into()).collect()
        })
        .collect()
}

pub(crate) async fn pending_ids(app: &TestApp, token: &str, which: &str) -> Vec<i64> {
    let (s, v) = call(app, token, "GET", &format!("/api/v1/approval?box={which}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().expect("items").iter().map(|i| i["id"].as_i64().expect("id")).collect()
}

pub(crate) fn purchase(title: &str, amount: i64, consult: Value) -> Value {
    json!({"title": title, "body": format!("{title}を購入したい。見積書を添付します。"), "matter_kind": "物品購入",
           "amount": amount, "consult": consult})
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).expect("jst")).date()
}

pub(crate) fn ymd(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// A 係長 専決 matter: the route is the 係長 alone; 引戻し works before anyone acted and is
/// refused after; the decider cannot be removed; the decided 起案 gets a number and is 施行d;
/// search and visibility follow who is involved.
#[tokio::test]
async fn kakaricho_senketsu_with_recall_and_numbering() {
    let app = spawn_app().await;
    let tanto = token(&app, "kankyo-tanto").await;
    let kakaricho = token(&app, "kankyo-kakaricho").await;
    let outsider = token(&app, "kodomo-tanto").await;

    let id = draft(&app, &tanto, purchase("コピー用紙の購入", 50_000, json!([]))).await;
    let v = get(&app, &tanto, id).await;
    assert_eq!(route_posts(&v), vec![vec!["kankyo-kakaricho".to_string()]]);
    assert_eq!(v["state"], "draft");
    assert!(v["acts"].as_array().expect("acts").contains(&json!("submit")));

    // The deciding step stays.
    let (s, e) = call(
        &app,
        &tanto,
        "POST",
        &format!("/api/v1/approval/{id}/route"),
        Some(json!({"op": "remove", "stage": 0, "index": 0})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(e["code"], "cannot_remove_decider");

    assert_eq!(ok(&app, &tanto, id, "submit").await, "in_progress");
    app.smtp.wait_for(&email("kankyo-kakaricho"), "未処理").await;
    assert_eq!(pending_ids(&app, &kakaricho, "pending").await, vec![id]);
    // 引戻し before the next person acted, then resubmitted.
    assert_eq!(ok(&app, &tanto, id, "recall").await, "withdrawn");
    assert!(pending_ids(&app, &kakaricho, "pending").await.is_empty());
    assert_eq!(ok(&app, &tanto, id, "submit").await, "in_progress");

    // Someone not on the route can neither act nor see it.
    let (s, _) = act(&app, &outsider, id, "approve", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(call(&app, &outsider, "GET", "/api/v1/approval?q=コピー用紙", None).await.1["items"]
        .as_array()
        .expect("items")
        .is_empty());

    assert_eq!(ok(&app, &kakaricho, id, "approve").await, "decided");
    let (s, e) = act(&app, &tanto, id, "recall", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "引戻し after the decision is refused");
    assert_eq!(e["code"], "wrong_state");

    let v = get(&app, &tanto, id).await;
    let fy = if today().month() as u8 >= 4 { today().year() } else { today().year() - 1 };
    assert_eq!(v["number"], format!("seikatsu-kankyo-{fy}-00001"));
    assert!(v["acts"].as_array().expect("acts").contains(&json!("execute")));
    app.smtp.wait_for(&email("kankyo-tanto"), "決裁されました").await;

    // 施行 is the section's: another section may not, a colleague of the drafter's may.
    let (s, e) = call(&app, &outsider, "POST", &format!("/api/v1/approval/{id}/execute"), None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_permitted")));
    assert!(get(&app, &kakaricho, id).await["acts"].as_array().expect("acts").contains(&json!("execute")));
    let (s, _) = call(&app, &kakaricho, "POST", &format!("/api/v1/approval/{id}/execute"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&app, &tanto, "POST", &format!("/api/v1/approval/{id}/execute"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "施行 happens once");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM records WHERE subject = 'kian:{id}'")).await, 1);
    assert_eq!(pending_ids(&app, &tanto, "decided").await, vec![id]);
    assert_eq!(pending_ids(&app, &kakaricho, "decided").await, vec![id]);

    // Japanese search: a kana-insensitive term from the body.
    let (_, found) = call(&app, &kakaricho, "GET", "/api/v1/approval?q=みつもり書", None).await;
    assert!(found["items"].as_array().expect("items").is_empty(), "search is by characters, not readings");
    let (_, found) = call(&app, &kakaricho, "GET", "/api/v1/approval?q=見積書 コピー", None).await;
    assert_eq!(found["items"][0]["id"], id);

    let history: Vec<String> =
        v["history"].as_array().expect("history").iter().map(|h| h["act"].as_str().expect("act").into()).collect();
    assert_eq!(history, ["submitted", "recalled", "submitted", "approved"]);
    assert!(app.count(&format!("SELECT COUNT(*) FROM audit_log WHERE target = 'kian:{id}'")).await >= 6);
}

/// A 課長 matter with a parallel 合議 of 財政課 and 情報政策課: one disagrees, the drafter
/// resubmits the same 起案, both agree, and the 課長 decides. Attachments are added on the way
/// and cannot be removed; the pages show it all.
#[tokio::test]
async fn kacho_matter_with_parallel_aigi_sent_back_and_resubmitted() {
    let app = spawn_app().await;
    let tanto = token(&app, "kankyo-tanto").await;
    let kakaricho = token(&app, "kankyo-kakaricho").await;
    let hosa = token(&app, "kankyo-hosa").await;
    let kacho = token(&app, "kacho").await;
    let zaisei = token(&app, "zaisei-kacho").await;
    let joho = token(&app, "admin").await;

    let id = draft(
        &app,
        &tanto,
        purchase(
            "庁内ネットワーク機器の更新",
            500_000,
            json!([{"division": "zaisei"}, {"division": "joho", "parallel": true}]),
        ),
    )
    .await;
    let v = get(&app, &tanto, id).await;
    assert_eq!(
        route_posts(&v),
        vec![
            vec!["kankyo-kakaricho".to_string()],
            vec!["kankyo-hosa".into()],
            vec!["zaisei-kacho".into(), "joho-kacho".into()],
            vec!["kankyo-kacho".into()],
        ]
    );
    ok(&app, &tanto, id, "submit").await;
    ok(&app, &kakaricho, id, "approve").await;
    // 引上げ that would pass over a 合議 is refused.
    let (s, e) = act(&app, &kacho, id, "take_over", None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(e["code"], "would_skip_aigi");
    ok(&app, &hosa, id, "approve").await;
    assert_eq!(pending_ids(&app, &zaisei, "pending").await, vec![id]);
    assert_eq!(pending_ids(&app, &joho, "pending").await, vec![id]);

    // An attachment added during the route, through the page.
    let b = app.staff_browser(&email("kankyo-tanto")).await;
    let page = b.get(app.url(&format!("/staff/approval/{id}"))).send().await.expect("get").text().await.expect("text");
    assert!(page.contains("庁内ネットワーク機器の更新") && page.contains("財政課長"), "{page}");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .part("file", reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("見積書.pdf"));
    let res = b.post(app.url(&format!("/staff/approval/{id}/files"))).multipart(form).send().await.expect("upload");
    assert_eq!(res.status(), 303);
    let v = get(&app, &zaisei, id).await;
    assert_eq!(v["files"][0]["filename"], "見積書.pdf");
    let fid = v["files"][0]["public_id"].as_str().expect("file id").to_string();
    let res = b.delete(app.url(&format!("/staff/approval/{id}/files/{fid}"))).send().await.expect("delete");
    assert!(res.status() == 405 || res.status() == 404, "files cannot be deleted: {}", res.status());

    // 合議: one agrees, the other disagrees with a comment: back to the drafter.
    assert_eq!(ok(&app, &zaisei, id, "agree").await, "in_progress");
    let (s, e) = act(&app, &joho, id, "disagree", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "disagreeing needs a comment: {e}");
    let (s, v) = act(&app, &joho, id, "disagree", Some("既存機器の保守期間を確認してください。")).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("sent_back")));
    app.smtp.wait_for(&email("kankyo-tanto"), "差し戻されました").await;
    assert_eq!(pending_ids(&app, &tanto, "drafting").await, vec![id]);

    // The same 起案 goes round again from the start.
    ok(&app, &tanto, id, "submit").await;
    assert_eq!(pending_ids(&app, &kakaricho, "pending").await, vec![id]);
    ok(&app, &kakaricho, id, "approve").await;
    ok(&app, &hosa, id, "approve").await;
    ok(&app, &joho, id, "agree").await;
    assert!(pending_ids(&app, &kacho, "pending").await.is_empty(), "waits for the whole parallel group");
    ok(&app, &zaisei, id, "agree").await;
    assert_eq!(ok(&app, &kacho, id, "approve").await, "decided");

    let v = get(&app, &tanto, id).await;
    let acts: Vec<&str> =
        v["history"].as_array().expect("history").iter().map(|h| h["act"].as_str().expect("act")).collect();
    assert_eq!(
        acts,
        [
            "submitted",
            "approved",
            "approved",
            "agreed",
            "disagreed",
            "submitted",
            "approved",
            "approved",
            "agreed",
            "agreed",
            "approved"
        ]
    );
    let disagreed = &v["history"][4];
    assert_eq!(disagreed["comment"], "既存機器の保守期間を確認してください。");
    assert_eq!(disagreed["as_post"], "joho-kacho");
    // Decided: no more files.
    let page = b.get(app.url(&format!("/staff/approval/{id}"))).send().await.expect("get").text().await.expect("text");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .part("file", reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("late.pdf"));
    let res = b.post(app.url(&format!("/staff/approval/{id}/files"))).multipart(form).send().await.expect("upload");
    assert_eq!(res.status(), 409);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM kian_files WHERE kian_id = {id}")).await, 1);

    // The staff pages render with the menu count and the figures.
    let k = app.staff_browser(&email("kodomo-kacho")).await;
    for path in [
        "/staff/approval",
        "/staff/approval/new",
        "/staff/approval/absences",
        "/staff/approval/records",
        "/staff/approval/figures",
    ] {
        let res = k.get(app.url(path)).send().await.expect("get");
        assert_eq!(res.status(), 200, "{path}");
    }
    let (_, figures) = call(&app, &tanto, "GET", "/api/v1/approval/figures", None).await;
    let all = &figures["divisions"][0];
    assert_eq!((all["decided"].as_i64(), all["sent_back"].as_i64()), (Some(1), Some(1)), "{figures}");
    assert_eq!(all["per_step"]["count"].as_i64(), Some(9), "{figures}");
}

/// 代決 while the 課長 is away, with 後閲 after; and an absent 係長 passed over automatically.
#[tokio::test]
async fn substitute_decides_while_kacho_is_absent() {
    let app = spawn_app().await;
    let tanto = token(&app, "kankyo-tanto").await;
    let kakaricho = token(&app, "kankyo-kakaricho").await;
    let hosa = token(&app, "kankyo-hosa").await;
    let kacho = token(&app, "kacho").await;
    let d = today();

    let (s, v) = call(
        &app,
        &kacho,
        "POST",
        "/api/v1/absences",
        Some(json!({"from": ymd(d), "to": ymd(d + time::Duration::days(2)), "note": "出張"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = call(
        &app,
        &kacho,
        "POST",
        "/api/v1/absences",
        Some(json!({"from": ymd(d), "to": ymd(d - time::Duration::days(1))})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "an absence cannot end before it starts");
    let (s, _) =
        call(&app, &kakaricho, "POST", "/api/v1/absences", Some(json!({"staff_id": 1, "from": ymd(d), "to": ymd(d)})))
            .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only administrators register others");

    // 急施: 代決 is only for a matter that cannot wait (issue 18).
    let mut body = purchase("防犯灯の修繕", 200_000, json!([]));
    body["urgent"] = json!(true);
    let id = draft(&app, &tanto, body).await;
    ok(&app, &tanto, id, "submit").await;
    ok(&app, &kakaricho, id, "approve").await;
    ok(&app, &hosa, id, "approve").await;
    // Only the registered substitute may 代決, only for the absent decider.
    let (s, e) = act(&app, &kakaricho, id, "substitute_decide", None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("not_allowed")));
    assert_eq!(pending_ids(&app, &hosa, "pending").await, vec![id], "the substitute sees it while the 課長 is away");
    assert_eq!(ok(&app, &hosa, id, "substitute_decide").await, "decided");

    let v = get(&app, &kacho, id).await;
    let last = v["history"].as_array().expect("history").last().expect("event").clone();
    assert_eq!(last["act"], "substitute_decided");
    assert_eq!(last["as_post"], "kankyo-hosa");
    assert_eq!(last["on_behalf_of"], "真野 八重");
    assert_eq!(pending_ids(&app, &kacho, "kouetsu").await, vec![id]);
    app.smtp.wait_for(&email("kacho"), "後閲").await;
    let (_, inbox) = call(&app, &kacho, "GET", "/api/v1/approval?box=kouetsu", None).await;
    assert_eq!(inbox["counts"]["kouetsu"], 1);
    ok(&app, &kacho, id, "read").await;
    assert!(pending_ids(&app, &kacho, "kouetsu").await.is_empty());
    assert_eq!(get(&app, &kacho, id).await["kouetsu"][0]["read"], true);

    // An absent intermediate approver is passed over and reads it afterwards.
    let (s, _) = call(&app, &kakaricho, "POST", "/api/v1/absences", Some(json!({"from": ymd(d), "to": ymd(d)}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let id2 = draft(&app, &tanto, purchase("清掃用具の購入", 150_000, json!([]))).await;
    ok(&app, &tanto, id2, "submit").await;
    let v = get(&app, &tanto, id2).await;
    assert_eq!(v["history"][1]["act"], "skipped_absent");
    assert_eq!(v["stages"][0]["steps"][0]["done"], "skipped");
    assert_eq!(pending_ids(&app, &hosa, "pending").await, vec![id2]);
    assert_eq!(pending_ids(&app, &kakaricho, "kouetsu").await, vec![id2]);
    assert!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'approval.absence_registered'").await >= 2);
}

/// The April reshuffle entered ahead: a new 専決 row and a new 係長 take effect on their day, and
/// the proposed route changes on that day, not before.
#[tokio::test]
async fn reshuffle_changes_the_route_on_its_effective_date() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_api_token(&email("admin")).await;
    let tanto = token(&app, "kankyo-tanto").await;
    let d = today();
    let (yesterday, tomorrow) = (ymd(d - time::Duration::days(1)), ymd(d + time::Duration::days(1)));
    let rules = |switch_from: &str, until: &str| {
        format!(
            "[[rule]]\nkind = \"物品購入\"\namount_min = 0\namount_max = 100000\ndecider = \"kacho\"\nfrom = \"2020-04-01\"\nto = \"{until}\"\n\
             [[rule]]\nkind = \"物品購入\"\namount_min = 0\namount_max = 100000\ndecider = \"kakaricho\"\nfrom = \"{switch_from}\"\n"
        )
    };
    let put = |body: String| {
        let admin = admin.clone();
        let url = app.url("/api/v1/admin/approval/rules");
        async move { api().put(url).bearer_auth(admin).body(body).send().await.expect("put") }
    };
    // Entered ahead: the new row starts tomorrow, so today the 課長 still decides.
    assert_eq!(put(rules(&tomorrow, &ymd(d))).await.status(), 201);
    let id = draft(&app, &tanto, purchase("文具の購入", 30_000, json!([]))).await;
    assert_eq!(route_posts(&get(&app, &tanto, id).await).last().expect("decider"), &vec!["kankyo-kacho".to_string()]);
    // On its day the 係長 decides.
    assert_eq!(put(rules(&ymd(d), &yesterday)).await.status(), 201);
    let id = draft(&app, &tanto, purchase("文具の購入", 30_000, json!([]))).await;
    assert_eq!(route_posts(&get(&app, &tanto, id).await), vec![vec!["kankyo-kakaricho".to_string()]]);

    // A table with overlapping rows is refused whole, with where the problem is.
    let before = app.count("SELECT COUNT(*) FROM approval_setup").await;
    let res = put(rules(&ymd(d), &tomorrow)).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.expect("text").contains("rule[1]: applies to the same matter as rule[0]"));
    assert_eq!(app.count("SELECT COUNT(*) FROM approval_setup").await, before);

    // A new 係長 from today: the org document with the old holder until yesterday.
    let org = include_str!("../../../../demo/approval/minamisoma-org.toml").replace(
        "staff = \"kankyo-kakaricho@minamisoma.example.jp\"\npost = \"kankyo-kakaricho\"\nfrom = \"2020-04-01\"",
        &format!(
            "staff = \"kankyo-kakaricho@minamisoma.example.jp\"\npost = \"kankyo-kakaricho\"\nfrom = \"2020-04-01\"\nto = \"{yesterday}\"\n\n\
             [[assignment]]\nstaff = \"kodomo-tanto@minamisoma.example.jp\"\npost = \"kankyo-kakaricho\"\nfrom = \"{}\"",
            ymd(d)
        ),
    );
    let res = api().put(app.url("/api/v1/admin/approval/org")).bearer_auth(&admin).body(org).send().await.expect("put");
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    ok(&app, &tanto, id, "submit").await;
    let new_kakaricho = token(&app, "kodomo-tanto").await;
    assert_eq!(pending_ids(&app, &new_kakaricho, "pending").await, vec![id]);
    assert!(pending_ids(&app, &token(&app, "kankyo-kakaricho").await, "pending").await.is_empty());
    assert_eq!(ok(&app, &new_kakaricho, id, "approve").await, "decided");

    // The editor page shows the document in use; a bad one names the problem and keeps the text.
    let b = app.staff_browser(&email("admin")).await;
    let page = b.get(app.url("/staff/approval/setup")).send().await.expect("get").text().await.expect("text");
    assert!(page.contains("kodomo-tanto@minamisoma.example.jp"));
    let res = b
        .post(app.url("/staff/approval/setup"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("kind", "org"), ("text", "[[post]]\ncode = \"x\"\nname = \"X\"\ndivision = \"nowhere\"\nrank = \"kacho\"\nfrom = \"2020-04-01\"\n")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 400);
    assert!(res.text().await.expect("text").contains("nowhere"));
}

async fn dog_definition_with_route(app: &TestApp, admin: &str) {
    let def = include_str!("../../../../demo/procedures/minamisoma-inu-toroku.toml").replacen(
        "retention_years = 5",
        "retention_years = 5\nmatter = \"補助金交付決定\"\ndisposal = \"ikan\"",
        1,
    );
    let res = api()
        .post(app.url("/api/v1/admin/procedures"))
        .bearer_auth(admin)
        .header("content-type", "application/toml")
        .body(def)
        .send()
        .await
        .expect("import");
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
}

/// A resident's application decided through a route: the one-step decision is refused, the
/// resident keeps seeing a plain status, and 施行 makes the decision reach them.
#[tokio::test]
async fn application_decision_goes_through_the_route() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_api_token(&email("admin")).await;
    dog_definition_with_route(&app, &admin).await;
    let resident = app.resident_token().await;
    let (app_id, receipt) = app.submit_dog(&resident, "ポチ").await;
    let tanto = token(&app, "kankyo-tanto").await;
    let kacho = token(&app, "kacho").await;
    let path = format!("/api/v1/staff/applications/{app_id}/actions");
    let (s, v) = call(&app, &tanto, "POST", &path, Some(json!({"action": "accept"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, e) = call(&app, &kacho, "POST", &path, Some(json!({"action": "approve", "message": "登録します"}))).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("route_required")));

    let body = json!({"title": format!("犬の登録の決定について（{receipt}）"), "body": "犬の登録を承認します。鑑札を郵送します。",
                      "application_id": app_id, "decision": "approve"});
    // Another division's clerk cannot draft it; the procedure, not the drafter, names the
    // kind of matter.
    let (s, _) = call(&app, &token(&app, "kodomo-tanto").await, "POST", "/api/v1/approval", Some(body.clone())).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut body = body;
    body["matter_kind"] = json!("物品購入");
    body["amount"] = json!(1);
    let id = draft(&app, &tanto, body.clone()).await;
    let (s, e) = call(&app, &tanto, "POST", "/api/v1/approval", Some(body)).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("already_drafted")));
    let v = get(&app, &tanto, id).await;
    assert_eq!(v["matter_kind"], "補助金交付決定", "the procedure names its kind of matter");
    assert_eq!(route_posts(&v).last().expect("decider"), &vec!["kankyo-kacho".to_string()]);
    ok(&app, &tanto, id, "submit").await;
    for who in ["kankyo-kakaricho", "kankyo-hosa", "kacho"] {
        ok(&app, &token(&app, who).await, id, "approve").await;
    }
    // Decided but not yet 施行: the resident still sees "under review".
    let status = get_json(&app.url(&format!("/api/v1/applications/{app_id}/status")), &resident).await;
    assert_eq!(status["status"], "accepted");
    let (s, _) = call(&app, &tanto, "POST", &format!("/api/v1/approval/{id}/execute"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let status = get_json(&app.url(&format!("/api/v1/applications/{app_id}/status")), &resident).await;
    assert_eq!(status["status"], "approved");
    let mail = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "鑑札を郵送します").await;
    assert!(mail.body.contains("seikatsu-kankyo-"), "the notice carries the document number: {}", mail.body);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM records WHERE subject = 'application:{app_id}' AND disposal = 'ikan'"
        ))
        .await,
        1
    );
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM records WHERE subject = 'kian:{id}'")).await, 1);
    // 電子交付: the signed notice of the routed decision, tied to its 起案, verifies.
    let issued = format!("SELECT COUNT(*) FROM issued_documents WHERE application_id = {app_id} AND kian_id = {id}");
    assert_eq!(app.count(&issued).await, 1);
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let res = b.get(app.url(&format!("/applications/{app_id}/notice.pdf"))).send().await.expect("notice");
    assert_eq!(res.status(), 200);
    let pdf = res.bytes().await.expect("bytes").to_vec();
    assert!(pdf.starts_with(b"%PDF"));
    let v: Value = api()
        .post(app.url("/api/v1/documents/verify"))
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    assert_eq!(v["result"], "genuine", "{v}");
}

/// Records whose retention ended are listed for the fiscal year; disposal needs a decided
/// route; 施行 destroys personal data and files (廃棄) or writes an archive package (移管), keeps
/// a destruction record and is audited.
#[tokio::test]
async fn disposal_run_for_a_fiscal_year() {
    let app = spawn_app().await;
    let resident = app.resident_token().await;
    // A dog application decided the one-step way: a record kept 5 years, then 廃棄.
    let (dog, _) = app.submit_dog(&resident, "タロ").await;
    let kacho = token(&app, "kacho").await;
    let path = format!("/api/v1/staff/applications/{dog}/actions");
    for body in [json!({"action": "accept"}), json!({"action": "approve", "message": "登録しました"})] {
        let (s, v) = call(&app, &kacho, "POST", &path, Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // An internal 起案 with a file, kept and then transferred (移管).
    let tanto = token(&app, "kankyo-tanto").await;
    let mut body = purchase("ごみ収集車の購入", 80_000, json!([]));
    body["disposal"] = json!("ikan");
    body["retention_years"] = json!(1);
    let internal = draft(&app, &tanto, body).await;
    let b = app.staff_browser(&email("kankyo-tanto")).await;
    let page =
        b.get(app.url(&format!("/staff/approval/{internal}"))).send().await.expect("get").text().await.expect("text");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .part("file", reqwest::multipart::Part::bytes(b"mitsumori 80000 yen".to_vec()).file_name("mitsumori.txt"));
    assert_eq!(
        b.post(app.url(&format!("/staff/approval/{internal}/files")))
            .multipart(form)
            .send()
            .await
            .expect("upload")
            .status(),
        303
    );
    ok(&app, &tanto, internal, "submit").await;
    ok(&app, &token(&app, "kankyo-kakaricho").await, internal, "approve").await;
    let (s, _) = call(&app, &tanto, "POST", &format!("/api/v1/approval/{internal}/execute"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Time passes: both records completed in 2020 and their retention ended in FY2022.
    sqlx::query("UPDATE records SET completed_on = '2020-05-01', expires_on = '2022-04-01'")
        .execute(app.db.unchecked_write_pool())
        .await
        .expect("backdate");
    let (_, admin) = app.admin_api_token(&email("admin")).await;
    let (s, list) = call(&app, &admin, "GET", "/api/v1/records/disposal?fy=2022", None).await;
    assert_eq!(s, StatusCode::OK);
    let subjects: Vec<&str> =
        list.as_array().expect("list").iter().map(|r| r["subject"].as_str().expect("subject")).collect();
    assert!(
        subjects.contains(&format!("application:{dog}").as_str())
            && subjects.contains(&format!("kian:{internal}").as_str()),
        "{list}"
    );
    let (_, none) = call(&app, &admin, "GET", "/api/v1/records/disposal?fy=2021", None).await;
    assert_eq!(none, json!([]));

    let (s, v) = call(&app, &admin, "POST", "/api/v1/records/disposal", Some(json!({"fy": 2022}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let disposal = v["id"].as_i64().expect("id");
    let (s, e) = call(&app, &admin, "POST", &format!("/api/v1/approval/{disposal}/execute"), None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("wrong_state")), "not before the route decides");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM records WHERE state = 'kept' AND disposal_kian_id = {disposal}"))
            .await,
        2
    );
    ok(&app, &admin, disposal, "submit").await;
    let v = get(&app, &admin, disposal).await;
    let decider = route_posts(&v).last().expect("decider")[0].clone();
    assert_eq!(decider, "somu-bucho");
    // The records section (総務課, the demo's records_division) agrees first (issue 18).
    ok(&app, &token(&app, "somu-kacho").await, disposal, "agree").await;
    ok(&app, &token(&app, "somu-bucho").await, disposal, "approve").await;
    let (s, e) = call(&app, &admin, "POST", &format!("/api/v1/approval/{disposal}/execute"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");

    // 廃棄: the answers, files and the signed notice are gone; that it existed remains.
    let disposed =
        format!("SELECT COUNT(*) FROM issued_documents WHERE application_id = {dog} AND disposed_at IS NOT NULL");
    assert_eq!(app.count(&disposed).await, 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM applications WHERE id = {dog} AND answers = '{{}}'")).await, 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM attachments WHERE application_id = {dog}")).await, 0);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM records WHERE subject = 'application:{dog}' AND state = 'disposed'"))
            .await,
        1
    );
    // 移管: a package with everything, then removed here.
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM records WHERE subject = 'kian:{internal}' AND state = 'transferred'"))
            .await,
        1
    );
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM kian_files WHERE kian_id = {internal}")).await, 0);
    let package = app.data_dir.join(format!("archives/kian-{internal}.tar"));
    let bytes = std::fs::read(&package).expect("package written");
    let text = String::from_utf8_lossy(&bytes);
    for needle in [
        "manifest.json",
        "kencho-archive-package/1",
        "record.json",
        "history.json",
        "signatures.json",
        "mitsumori 80000 yen",
        "ごみ収集車の購入",
    ] {
        assert!(text.contains(needle), "package lacks {needle}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM disposal_log").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('record.destroyed', 'record.transferred')").await,
        2
    );
    // Running it again finds nothing to dispose of.
    let (s, e) = call(&app, &admin, "POST", "/api/v1/records/disposal", Some(json!({"fy": 2022}))).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("nothing_to_dispose")));
    let page = app
        .staff_browser(&email("admin"))
        .await
        .get(app.url("/staff/approval/records?fy=2022"))
        .send()
        .await
        .expect("get");
    assert!(page.text().await.expect("text").contains("移管済"));
}
