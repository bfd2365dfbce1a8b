//! The rules of issue 18 over HTTP, on the demo organisation of 南相馬市: 代決 only while the
//! decider is absent and the matter urgent, never for 重要・異例 or after a 合議 disagreed;
//! 専決の制限 one level up; 施行 as roles as data; 文書番号 by the tenant's template; records
//! with 1年未満 and 常用, disposal agreed by the records section and stopped by holds.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::approval::{act, call, draft, email, get, ok, purchase, route_posts, today, token, ymd};
use crate::harness::*;

async fn put_settings(app: &TestApp, admin: &str, text: &str) -> (StatusCode, String) {
    let res = api()
        .put(app.url("/api/v1/admin/approval/settings"))
        .bearer_auth(admin)
        .header("content-type", "application/toml")
        .body(text.to_string())
        .send()
        .await
        .expect("put");
    (res.status(), res.text().await.expect("text"))
}

fn fiscal_year() -> i32 {
    let d = today();
    if d.month() as u8 >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

fn urgent(mut body: Value) -> Value {
    body["urgent"] = json!(true);
    body
}

async fn events(app: &TestApp, token: &str, id: i64) -> usize {
    get(app, token, id).await["history"].as_array().expect("history").len()
}

/// 代決 is refused for a matter that is not urgent, for a 重要・異例 matter and after a 合議
/// disagreed — each with its own code, changing nothing — and 重要・異例 goes one level above
/// its 専決 holder, not to the 市長.
#[tokio::test]
async fn daiketsu_limits_and_senketsu_one_level_up() {
    let app = spawn_app().await;
    let tanto = token(&app, "kankyo-tanto").await;
    let kakaricho = token(&app, "kankyo-kakaricho").await;
    let hosa = token(&app, "kankyo-hosa").await;
    let kacho = token(&app, "kacho").await;
    let zaisei = token(&app, "zaisei-kacho").await;
    let d = today();
    let (s, _) = call(&app, &kacho, "POST", "/api/v1/absences", Some(json!({"from": ymd(d), "to": ymd(d)}))).await;
    assert_eq!(s, StatusCode::CREATED);

    // Not urgent: the 課長 is away, the substitute is registered, and still no 代決.
    let id = draft(&app, &tanto, purchase("防犯灯の修繕", 200_000, json!([]))).await;
    ok(&app, &tanto, id, "submit").await;
    ok(&app, &kakaricho, id, "approve").await;
    ok(&app, &hosa, id, "approve").await;
    let before = events(&app, &hosa, id).await;
    let (s, e) = act(&app, &hosa, id, "substitute_decide", None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("daiketsu_not_urgent")), "{e}");
    assert!(e["message"].as_str().expect("message").contains("代決"), "the refusal says why: {e}");
    let v = get(&app, &hosa, id).await;
    assert_eq!((v["state"].as_str(), events(&app, &hosa, id).await), (Some("in_progress"), before));
    assert!(!v["acts"].as_array().expect("acts").contains(&json!("substitute_decide")));

    // 重要・異例: a 係長専決 purchase goes one level up, to the 課長 (not the 市長), and is
    // never decided by 代決 however urgent.
    let mut body = urgent(purchase("公用車の修理", 50_000, json!([])));
    body["important"] = json!(true);
    let important = draft(&app, &tanto, body).await;
    let v = get(&app, &tanto, important).await;
    assert_eq!(route_posts(&v).last().expect("decider")[0], "kankyo-kacho");
    assert_eq!(v["important"], true);
    ok(&app, &tanto, important, "submit").await;
    ok(&app, &kakaricho, important, "approve").await;
    ok(&app, &hosa, important, "approve").await;
    let (s, e) = act(&app, &hosa, important, "substitute_decide", None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("daiketsu_important")), "{e}");
    // A 課長専決 matter that is 重要・異例 goes to the 部長; a 部長専決 one to the 副市長.
    let mut body = purchase("焼却炉の部品", 300_000, json!([]));
    body["important"] = json!(true);
    let v = get(&app, &tanto, draft(&app, &tanto, body).await).await;
    assert_eq!(route_posts(&v).last().expect("decider")[0], "shimin-bucho");
    let mut body = purchase("ごみ収集車", 5_000_000, json!([]));
    body["important"] = json!(true);
    let v = get(&app, &tanto, draft(&app, &tanto, body).await).await;
    assert_eq!(route_posts(&v).last().expect("decider")[0], "fukushicho");

    // A 合議 disagreed: even after the resubmission is agreed, no 代決.
    let consult = json!([{"division": "zaisei"}]);
    let id = draft(&app, &tanto, urgent(purchase("街路灯の更新", 400_000, consult))).await;
    ok(&app, &tanto, id, "submit").await;
    ok(&app, &kakaricho, id, "approve").await;
    ok(&app, &hosa, id, "approve").await;
    let (s, _) = act(&app, &zaisei, id, "disagree", Some("単価の根拠が足りない")).await;
    assert_eq!(s, StatusCode::OK);
    ok(&app, &tanto, id, "submit").await;
    ok(&app, &kakaricho, id, "approve").await;
    ok(&app, &hosa, id, "approve").await;
    ok(&app, &zaisei, id, "agree").await;
    let (s, e) = act(&app, &hosa, id, "substitute_decide", None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("daiketsu_disagreed")), "{e}");
    assert_eq!(get(&app, &hosa, id).await["state"], "in_progress");
}

/// 施行 is roles as data (`kian_execute`): by default the drafting section; a tenant that
/// narrows it to 課長 keeps even the drafter out.
#[tokio::test]
async fn execute_follows_the_roles_table() {
    let app = spawn_app().await;
    let tanto = token(&app, "kankyo-tanto").await;
    let kakaricho = token(&app, "kankyo-kakaricho").await;
    let kacho = token(&app, "kacho").await;
    let id = draft(&app, &tanto, purchase("封筒の購入", 30_000, json!([]))).await;
    ok(&app, &tanto, id, "submit").await;
    ok(&app, &kakaricho, id, "approve").await;
    assert!(get(&app, &tanto, id).await["acts"].as_array().expect("acts").contains(&json!("execute")));

    let admin = app.staff_browser(&email("admin")).await;
    let page = admin.get(app.url("/staff/admin")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("kian_execute"), "the act is in the tenant's table");
    let doc = "[kian_execute]\nroles = [\"kacho\"]\n";
    let res = admin
        .post(app.url("/staff/admin/policy"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("document", doc)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!get(&app, &tanto, id).await["acts"].as_array().expect("acts").contains(&json!("execute")));
    for who in [&tanto, &kakaricho] {
        let (s, e) = call(&app, who, "POST", &format!("/api/v1/approval/{id}/execute"), None).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_permitted")));
    }
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM kian WHERE id = {id} AND executed_at IS NULL")).await, 1);
    let (s, _) = call(&app, &kacho, "POST", &format!("/api/v1/approval/{id}/execute"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

const ALL_ABBRS: &str = "minamisoma = \"市\"\nshimin-seikatsu-bu = \"民\"\nseikatsu-kankyo = \"環\"\n\
kodomo-mirai-bu = \"未\"\nkodomo-katei = \"子\"\nsomu-bu = \"総部\"\nzaisei = \"財\"\njoho = \"情\"\nsomu = \"総\"\n";

/// 文書番号 by the tenant's template: refused with the unknown placeholder or the missing
/// abbreviation named; then 「8南環第1号」 style, counted per division and fiscal year.
#[tokio::test]
async fn document_numbers_follow_the_tenant_template() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_api_token(&email("admin")).await;
    let tanto = token(&app, "kankyo-tanto").await;
    let kakaricho = token(&app, "kankyo-kakaricho").await;
    let template = "template = \"{wareki_year}{tenant_abbr}{division_abbr}第{seq}号\"\ntenant_abbr = \"南\"\n";

    let bad = "[numbering]\ntemplate = \"{nendo}{tenant_abbr}第{seq}号\"\ntenant_abbr = \"南\"\n";
    let (s, text) = put_settings(&app, &admin, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("{nendo}"), "the unknown placeholder is named: {text}");
    let missing = format!("[numbering]\n{template}[numbering.divisions]\nseikatsu-kankyo = \"環\"\n");
    let (s, text) = put_settings(&app, &admin, &missing).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("kodomo-katei"), "a division without its abbreviation is named: {text}");
    let good = format!("records_division = \"somu\"\n[numbering]\n{template}[numbering.divisions]\n{ALL_ABBRS}");
    let (s, text) = put_settings(&app, &admin, &good).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");

    let reiwa = fiscal_year() - 2018;
    for n in 1..=2 {
        let id = draft(&app, &tanto, purchase(&format!("事務用品 {n}"), 10_000, json!([]))).await;
        ok(&app, &tanto, id, "submit").await;
        ok(&app, &kakaricho, id, "approve").await;
        assert_eq!(get(&app, &tanto, id).await["number"], format!("{reiwa}南環第{n}号"));
    }
    // Another division counts on its own.
    let kodomo = token(&app, "kodomo-tanto").await;
    let id = draft(&app, &kodomo, purchase("絵本の購入", 10_000, json!([]))).await;
    ok(&app, &kodomo, id, "submit").await;
    ok(&app, &token(&app, "kakaricho").await, id, "approve").await;
    assert_eq!(get(&app, &kodomo, id).await["number"], format!("{reiwa}南子第1号"));
    assert!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'approval.settings_loaded'").await >= 1);
}

async fn record_of(app: &TestApp, admin: &str, subject: &str) -> Value {
    let fy = fiscal_year();
    let (s, list) = call(app, admin, "GET", &format!("/api/v1/records/disposal?fy={fy}"), None).await;
    assert_eq!(s, StatusCode::OK);
    list.as_array().expect("list").iter().find(|r| r["subject"] == subject).cloned().unwrap_or(Value::Null)
}

/// A decided, carried-out internal 起案 kept with `retention`; returns its id.
async fn kept(app: &TestApp, title: &str, retention: &str) -> i64 {
    let tanto = token(app, "kankyo-tanto").await;
    let mut body = purchase(title, 10_000, json!([]));
    body["retention"] = json!(retention);
    let id = draft(app, &tanto, body).await;
    ok(app, &tanto, id, "submit").await;
    ok(app, &token(app, "kankyo-kakaricho").await, id, "approve").await;
    let (s, _) = call(app, &tanto, "POST", &format!("/api/v1/approval/{id}/execute"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    id
}

/// 1年未満 may go the same year, 常用 never; a disposal needs the records section (its 合議,
/// recorded) and is stopped by a hold — when drafting and when carried out.
#[tokio::test]
async fn disposal_needs_the_records_section_and_waits_for_holds() {
    let app = spawn_app().await;
    let (_, admin) = app.admin_api_token(&email("admin")).await;
    let fy = fiscal_year();
    let short = kept(&app, "会議室の予約票", "1年未満").await;
    let in_use = kept(&app, "例規集の加除", "常用").await;
    let r = record_of(&app, &admin, &format!("kian:{short}")).await;
    assert_eq!((r["retention"].as_str(), r["expires_on"].as_str()), (Some("1年未満"), Some(ymd(today()).as_str())));
    assert_eq!(record_of(&app, &admin, &format!("kian:{in_use}")).await, Value::Null, "常用 is never listed");
    let record = r["id"].as_i64().expect("id");

    // No records section: no disposal.
    let (s, _) = put_settings(&app, &admin, "").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = call(&app, &admin, "POST", "/api/v1/records/disposal", Some(json!({"fy": fy}))).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("records_section_unset")), "{e}");
    let (s, _) = put_settings(&app, &admin, "records_domain = 1\n").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "an unknown setting is refused");
    let (s, _) = put_settings(&app, &admin, "records_division = \"somu\"\n").await;
    assert_eq!(s, StatusCode::CREATED);

    // A disclosure request holds the record: placing it is for the roles table's roles.
    let holds = format!("/api/v1/records/{record}/holds");
    let hold = json!({"kind": "disclosure", "reference": "開示請求 第12号"});
    let tanto = token(&app, "kankyo-tanto").await;
    let (s, e) = call(&app, &tanto, "POST", &holds, Some(hold.clone())).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_permitted")));
    let (s, e) = call(&app, &admin, "POST", &holds, Some(json!({"kind": "rumour", "reference": "x"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, v) = call(&app, &admin, "POST", &holds, Some(hold)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = v["id"].as_i64().expect("id");
    assert_eq!(record_of(&app, &admin, &format!("kian:{short}")).await["open_holds"], 1);
    // Its reference is read only by those who may place holds; the others see that it is held.
    let (s, e) = call(&app, &tanto, "GET", &holds, None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_permitted")), "{e}");
    let page = app
        .staff_browser(&email("kankyo-tanto"))
        .await
        .get(app.url(&format!("/staff/approval/records?fy={fy}")))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(!page.contains("開示請求 第12号") && !page.contains("廃棄の留保"), "no references for a 担当");
    let (s, e) = call(&app, &admin, "POST", "/api/v1/records/disposal", Some(json!({"fy": fy}))).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("nothing_to_dispose")), "held: {e}");
    let (s, _) = call(&app, &admin, "POST", &format!("{holds}/{first}/lift"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&app, &admin, "POST", &format!("{holds}/{first}/lift"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a hold is lifted once");

    // Drafted: the records section is on the route; a lawsuit hold placed meanwhile stops 施行.
    let (s, v) = call(&app, &admin, "POST", "/api/v1/records/disposal", Some(json!({"fy": fy}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let disposal = v["id"].as_i64().expect("id");
    assert_eq!(route_posts(&get(&app, &admin, disposal).await), vec![vec!["somu-kacho"], vec!["somu-bucho"]]);
    let (s, v) =
        call(&app, &admin, "POST", &holds, Some(json!({"kind": "lawsuit", "reference": "令和8年(行ウ)第3号"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let second = v["id"].as_i64().expect("id");
    let somu = token(&app, "somu-kacho").await;
    ok(&app, &admin, disposal, "submit").await;
    ok(&app, &somu, disposal, "agree").await;
    ok(&app, &token(&app, "somu-bucho").await, disposal, "approve").await;
    let execute = format!("/api/v1/approval/{disposal}/execute");
    let (s, e) = call(&app, &admin, "POST", &execute, None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("record_on_hold")), "{e}");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM records WHERE id = {record} AND state = 'kept'")).await, 1);
    let (_, list) = call(&app, &admin, "GET", &holds, None).await;
    assert_eq!(list.as_array().expect("holds").len(), 2);
    assert_eq!(list[0]["kind"], "lawsuit");
    call(&app, &admin, "POST", &format!("{holds}/{second}/lift"), None).await;
    let (s, e) = call(&app, &admin, "POST", &execute, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let somu_id = app.count("SELECT id FROM staff WHERE email = 'somu-kacho@minamisoma.example.jp'").await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM disposal_log WHERE record_id = {record} AND consulted_by = {somu_id}"
        ))
        .await,
        1,
        "who of the records section agreed is kept with the disposal"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('record.hold_placed', 'record.hold_lifted')").await,
        4
    );

    // The records section's 合議 cannot be taken off a disposal's route; the refused edit
    // changes nothing, and the section still agrees before 施行.
    let other = kept(&app, "回覧の写し", "1年未満").await;
    let (s, v) = call(&app, &admin, "POST", "/api/v1/records/disposal", Some(json!({"fy": fy}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second_disposal = v["id"].as_i64().expect("id");
    let route_before = app.count(&format!("SELECT revision FROM kian WHERE id = {second_disposal}")).await;
    let (s, e) = call(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/approval/{second_disposal}/route"),
        Some(json!({"op": "remove", "stage": 0, "index": 0})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("records_consult_required")), "{e}");
    assert_eq!(app.count(&format!("SELECT revision FROM kian WHERE id = {second_disposal}")).await, route_before);
    ok(&app, &admin, second_disposal, "submit").await;
    ok(&app, &somu, second_disposal, "agree").await;
    ok(&app, &token(&app, "somu-bucho").await, second_disposal, "approve").await;
    // The records section moved before 施行: the agreement given is no longer the section's.
    let (s, _) = put_settings(&app, &admin, "records_division = \"seikatsu-kankyo\"\n").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = call(&app, &admin, "POST", &format!("/api/v1/approval/{second_disposal}/execute"), None).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("records_consult_missing")), "{e}");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM records WHERE subject = 'kian:{other}' AND state = 'kept'")).await,
        1
    );
    let (s, _) = put_settings(&app, &admin, "records_division = \"somu\"\n").await;
    assert_eq!(s, StatusCode::CREATED);

    // The records page places and lifts holds too.
    let other_id = record_of(&app, &admin, &format!("kian:{other}")).await["id"].as_i64().expect("id");
    let b = app.staff_browser(&email("kankyo-kakaricho")).await;
    let page_url = app.url(&format!("/staff/approval/records?fy={fy}"));
    let page = b.get(page_url.clone()).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("廃棄の留保"), "the page offers holds");
    let form_url = app.url(&format!("/staff/approval/records/{other_id}/holds"));
    let fy_s = fy.to_string();
    let placed = b
        .post(form_url.clone())
        .form(&[("csrf", csrf_of(&page).as_str()), ("fy", &fy_s), ("kind", "audit"), ("reference", "定期監査 第4号")])
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 303);
    let page = b.get(page_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("定期監査 第4号"), "the hold is listed");
    let (_, list) = call(&app, &admin, "GET", &format!("/api/v1/records/{other_id}/holds"), None).await;
    let hold_id = list[0]["id"].as_i64().expect("id").to_string();
    let lifted = b
        .post(form_url)
        .form(&[("csrf", csrf_of(&page).as_str()), ("fy", &fy_s), ("lift", &hold_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.status(), 303);
    assert_eq!(record_of(&app, &admin, &format!("kian:{other}")).await["open_holds"], 0);
}
