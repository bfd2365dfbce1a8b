//! マイ避難 against the statutes and the Cabinet Office guideline (issue 18): staying home
//! (屋内安全確保) needs supplies for as long as the water stays; an alert names its hazard and a
//! household outside that hazard's zones is not sent out; JMA's 警戒レベル相当情報 is not an order;
//! level 3 is for those who need time and their helpers; a 個別避難計画 records what 災害対策基本法
//! 49条の14 asks, its consent follows an explanation and can be withdrawn, and supporters are
//! told to keep its secrets (49条の17).

use crate::harness::*;

const MINA_ADMIN: &str = "admin@minamisoma.example.jp";
const MINA_KAKARICHO: &str = "kakaricho@minamisoma.example.jp";
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/evacuation");

/// Walks the journey with the given home and people answers; returns (token, plan page).
async fn plan(
    app: &TestApp,
    b: &reqwest::Client,
    town: &str,
    home: &[(&str, &str)],
    people: &[(&str, &str)],
) -> (String, String) {
    let start = b.get(app.url("/evacuation")).send().await.unwrap().text().await.unwrap();
    let res = b.post(app.url("/evacuation/minamisoma/start")).form(&[("csrf", csrf_of(&start))]).send().await.unwrap();
    let to = location(&res);
    let token = to.trim_start_matches("/evacuation/p/").trim_end_matches("/where").to_string();
    let csrf = csrf_of(&b.get(app.url(&to)).send().await.unwrap().text().await.unwrap());
    let res = b.post(app.url(&to)).form(&[("csrf", csrf.as_str()), ("town", town)]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(home);
    if !home.iter().any(|(k, _)| *k == "car") {
        form.push(("car", "no"));
    }
    let res = b.post(app.url(&format!("/evacuation/p/{token}/home"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    let mut form = vec![("csrf", csrf.as_str()), ("intent", "next")];
    form.extend_from_slice(people);
    b.post(app.url(&format!("/evacuation/p/{token}/people"))).form(&form).send().await.unwrap();
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    (token, page)
}

#[tokio::test]
async fn staying_home_needs_supplies_for_as_long_as_the_water_stays() {
    let app = spawn_app().await;
    let b = browser();
    // 本町一丁目, third floor: the 計画規模 water (0.5–3 m) stays below it. Without a duration
    // layer three days of supplies are the measure.
    let (_, page) =
        plan(&app, &b, "0721250001001", &[("floor", "3"), ("supply_days", "3")], &[("name1", "太郎")]).await;
    assert!(page.contains("条件つきで自宅にとどまれます（屋内安全確保）"), "{page}");
    assert!(page.contains("3日分の備えが必要です（あなたの家は3日分）"), "{page}");
    assert!(!page.contains("在宅"), "the guideline's word is 屋内安全確保");
    // A bad number is refused on the form, and nothing is saved.
    let (token, _) =
        plan(&app, &b, "0721250001001", &[("floor", "3"), ("supply_days", "2")], &[("name1", "太郎")]).await;
    let csrf =
        csrf_of(&b.get(app.url(&format!("/evacuation/p/{token}/home"))).send().await.unwrap().text().await.unwrap());
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/home")))
        .form(&[("csrf", csrf.as_str()), ("floor", "3"), ("supply_days", "61"), ("car", "no")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    // The 浸水継続時間 layer says 3日〜1週間 here: three days no longer do, seven do.
    let admin = app.staff_token(MINA_ADMIN).await;
    let name = "A31a-30-24_07_8303030555_20.geojson";
    let body = std::fs::read(format!("{DATA}/{name}")).unwrap();
    let url = app.url(&format!("/api/v1/admin/evacuation/layers/flood?file_name={name}"));
    let res = api().put(url).bearer_auth(&admin).body(body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let (_, page) =
        plan(&app, &b, "0721250001001", &[("floor", "3"), ("supply_days", "3")], &[("name1", "太郎")]).await;
    assert!(page.contains("家の外へ避難が必要です"), "{page}");
    assert!(page.contains("7日分の備えが必要です（あなたの家は3日分）"), "{page}");
    let (_, page) =
        plan(&app, &b, "0721250001001", &[("floor", "3"), ("supply_days", "7")], &[("name1", "太郎")]).await;
    assert!(page.contains("屋内安全確保"), "{page}");
    // The API applies the same rule.
    let url = app.url("/api/v1/evacuation/minamisoma/plan");
    let ask = |days: u8| serde_json::json!({"lat": 37.6435, "lon": 140.948, "living_floor": 3, "supply_days": days, "members": [{"name": "x"}]});
    let v: serde_json::Value = api().post(&url).json(&ask(3)).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["must_leave"], true, "{v}");
    let v: serde_json::Value = api().post(&url).json(&ask(7)).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["must_leave"], false, "{v}");
    assert_eq!(api().post(&url).json(&ask(61)).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn level_3_sends_the_slow_and_their_helpers_and_the_plan_warns_about_cars_pets_and_hearing() {
    let app = spawn_app().await;
    let b = browser();
    let (_, page) = plan(
        &app,
        &b,
        "0721250001001",
        &[("floor", "1"), ("supply_days", "3"), ("car", "yes")],
        &[("name1", "母"), ("name2", "祖母"), ("elderly2", "1"), ("hearing2", "1"), ("pets1", "1")],
    )
    .await;
    assert!(page.contains("高齢") && page.contains("耳が聞こえにくい"), "the new needs are shown");
    assert!(page.contains("全員は徒歩で"), "the elderly member and her helper leave together at 3: {page}");
    assert!(!page.contains("ほかの人は避難の準備を"), "nobody is sent alone");
    assert!(page.contains("サイレンや防災行政無線が届かないことがあります"), "hearing: {page}");
    assert!(page.contains("同行避難") && page.contains("受け入れるか"), "pets: {page}");
    assert!(!page.contains("アンダーパス"), "the car warning is for those who go by car");
    let token = page.split("/evacuation/p/").nth(1).and_then(|s| s.split(['/', '"', '#']).next()).unwrap().to_string();
    let csrf = csrf_of(&page);
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/choices")))
        .form(&[("csrf", csrf.as_str()), ("stay", "rules"), ("by_car", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("渋滞") && page.contains("アンダーパス"), "by car: {page}");
}

async fn staff_post(app: &TestApp, b: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let page = b.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    let mut form = vec![("csrf", csrf_of(&page))];
    form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let res = b.post(app.url(path)).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn subscribe(app: &TestApp, b: &reqwest::Client, token: &str) {
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    let res =
        b.post(app.url(&format!("/evacuation/p/{token}/save"))).form(&[("csrf", csrf_of(&page))]).send().await.unwrap();
    let page = res.text().await.unwrap();
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/subscribe")))
        .form(&[("csrf", csrf_of(&page).as_str()), ("consent", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_alert_is_about_a_hazard_and_jma_information_is_not_an_order() {
    let app = spawn_app().await;
    // Taro: 本町一丁目, in the flood zone only, ground floor.
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let (token, _) =
        plan(&app, &taro, "0721250001001", &[("floor", "1"), ("supply_days", "3")], &[("name1", "太郎")]).await;
    subscribe(&app, &taro, &token).await;
    let clerk = app.staff_browser(MINA_KAKARICHO).await;
    let page = clerk.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"hazard\"") && page.contains("土砂災害"), "staff choose the hazard");
    // An unknown hazard, or none chosen on the form, is refused and changes nothing.
    let before = app.count("SELECT COUNT(*) FROM evacuation_alerts").await;
    for bad in ["quake", ""] {
        let (status, _) = staff_post(
            &app,
            &clerk,
            "/staff/evacuation/alerts",
            &[("level", "3"), ("hazard", bad), ("town", "0721250001001")],
        )
        .await;
        assert_eq!(status, 400, "{bad:?}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM evacuation_alerts").await, before);

    // 土砂災害 at level 3 for his town: he is told his home is outside the landslide zones.
    let (status, page) = staff_post(
        &app,
        &clerk,
        "/staff/evacuation/alerts",
        &[("level", "3"), ("hazard", "landslide"), ("town", "0721250001001")],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("高齢者等避難（警戒レベル3・土砂災害）"), "{page}");
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "土砂災害の想定区域の外").await;
    assert!(!m.body.contains("徒歩で"), "not sent out: {}", m.body);
    // 洪水: his plan's action.
    let (status, _) = staff_post(
        &app,
        &clerk,
        "/staff/evacuation/alerts",
        &[("level", "3"), ("hazard", "flood"), ("town", "0721250001001")],
    )
    .await;
    assert_eq!(status, 200);
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "洪水）を発令しました").await;
    assert!(m.body.contains("レベル3：避難の準備"), "{}", m.body);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM evacuation_alerts WHERE hazard = 'flood' AND issuance = 'order'").await,
        1
    );

    // JMA's 土砂災害警戒情報 is 警戒レベル4相当情報: said so, with the municipality's own order to check.
    let admin = app.staff_token(MINA_ADMIN).await;
    let xml = std::fs::read_to_string(format!("{SAMPLES}/jma/03-landslide.xml")).unwrap();
    let res = api()
        .post(app.url("/api/v1/admin/evacuation/jma"))
        .bearer_auth(&admin)
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "警戒レベル4相当情報［土砂災害］").await;
    assert!(m.body.contains("避難情報（避難指示など）ではありません"), "{}", m.body);
    assert!(m.body.contains("土砂災害の想定区域の外"), "a flood-only home is not sent out: {}", m.body);
    assert!(!m.body.contains("を発令しました"), "JMA does not 発令: {}", m.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM evacuation_alerts WHERE source = 'jma' AND issuance = 'equivalent' AND hazard = 'landslide'").await, 1);
    let page = taro.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("警戒レベル4相当情報［土砂災害］") && page.contains("市町村の避難情報ではありません"),
        "{page}"
    );
    // The level marked on his plan is the flood's 3, not the landslide's 4 that asks nothing of him.
    assert!(page.contains("class=\"level level3 now\"") && !page.contains("class=\"level level4 now\""), "{page}");
    // Its end is not the lifting of an evacuation order.
    let id = app.count("SELECT MAX(id) FROM evacuation_alerts WHERE source = 'jma'").await;
    let kacho = app.staff_browser("kacho@minamisoma.example.jp").await;
    let (status, _) = staff_post(&app, &kacho, &format!("/staff/evacuation/alerts/{id}/cancel"), &[]).await;
    assert_eq!(status, 200);
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "相当情報［土砂災害］）は解除").await;
    assert!(m.body.contains("避難指示など）の解除ではありません"), "{}", m.body);
}

#[tokio::test]
async fn an_individual_plan_records_what_the_law_asks_and_its_consent_can_be_withdrawn() {
    let app = spawn_app().await;
    let clerk = app.staff_browser(MINA_KAKARICHO).await;
    let page = clerk.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let res = clerk
        .post(app.url("/evacuation/minamisoma/start"))
        .form(&[("csrf", csrf.as_str()), ("kind", "individual")])
        .send()
        .await
        .unwrap();
    let to = location(&res);
    let token = to.trim_start_matches("/evacuation/p/").trim_end_matches("/where").to_string();
    clerk
        .post(app.url(&to))
        .form(&[("csrf", csrf.as_str()), ("town", "0721250002000"), ("person", "真野 ウメ")])
        .send()
        .await
        .unwrap();
    clerk
        .post(app.url(&format!("/evacuation/p/{token}/home")))
        .form(&[("csrf", csrf.as_str()), ("floor", "1"), ("supply_days", "1"), ("car", "no")])
        .send()
        .await
        .unwrap();
    clerk
        .post(app.url(&format!("/evacuation/p/{token}/people")))
        .form(&[("csrf", csrf.as_str()), ("name1", "ウメさん"), ("sight1", "1"), ("intent", "next")])
        .send()
        .await
        .unwrap();
    let id = app.count("SELECT id FROM evacuation_plans WHERE kind = 'individual'").await;
    let person = format!("/staff/evacuation/individual/{id}");
    let page = clerk.get(app.url(&person)).send().await.unwrap().text().await.unwrap();
    for item in ["生年月日", "性別", "電話番号その他の連絡先", "避難支援等を必要とする事由", "避難経路"]
    {
        assert!(page.contains(item), "{item} is listed as missing");
    }
    assert!(
        page.contains("消防機関") && page.contains("民生委員") && page.contains("撤回"),
        "the explanation is shown"
    );
    // Details: a bad date is refused; the rest is saved and leaves the missing list.
    let details = |date: &'static str| {
        vec![
            ("birth_date", date),
            ("sex", "female"),
            ("phone", "0244-00-0000"),
            ("help_reason", "目が見えにくく、ひとりで避難できない"),
            ("place", "原町第一小学校"),
            ("route", "本町通りを北へ、信号を渡って校門まで"),
        ]
    };
    let (status, _) = staff_post(&app, &clerk, &format!("{person}/details"), &details("1940-02-30")).await;
    assert_eq!(status, 400);
    let (status, page) = staff_post(&app, &clerk, &format!("{person}/details"), &details("1940-02-29")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        !page.contains("<li>生年月日</li>") && page.contains("<li>避難支援等実施者（氏名・住所・電話番号）</li>"),
        "{page}"
    );

    // Consent only after the explanation.
    let (status, _) = staff_post(&app, &clerk, &format!("{person}/consent"), &[("note", "本人が署名")]).await;
    assert_eq!(status, 400, "not explained");
    assert_eq!(app.count("SELECT COUNT(*) FROM evacuation_plans WHERE consent_at IS NOT NULL").await, 0);
    let (status, _) = staff_post(&app, &clerk, &format!("{person}/consent/withdraw"), &[("note", "電話で")]).await;
    assert_eq!(status, 409, "nothing to withdraw yet");
    let (status, _) =
        staff_post(&app, &clerk, &format!("{person}/consent"), &[("note", "本人が署名"), ("explained", "yes")]).await;
    assert_eq!(status, 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM evacuation_plans WHERE consent_explanation LIKE '%第49条の15第3項%' AND consent_by LIKE 'staff:%'").await, 1);
    // A supporter needs address and phone (49条の14第3項第1号).
    let sup = [("name", "民生委員 相馬"), ("email", "minsei@example.jp"), ("supporter_consent", "yes")];
    let (status, _) = staff_post(&app, &clerk, &format!("{person}/supporters"), &sup).await;
    assert_eq!(status, 400);
    let mut full = sup.to_vec();
    full.extend([("address", "原町区旭町1-1"), ("phone", "090-0000-0000")]);
    let (status, page) = staff_post(&app, &clerk, &format!("{person}/supporters"), &full).await;
    assert_eq!(status, 200);
    assert!(page.contains("090-0000-0000") && !page.contains("<li>避難支援等実施者"), "{page}");

    // The supporter's mail carries the secrecy notice.
    let (status, _) =
        staff_post(&app, &clerk, "/staff/evacuation/alerts", &[("level", "3"), ("town", "0721250002000")]).await;
    assert_eq!(status, 200);
    let m = app.smtp.wait_for("minsei@example.jp", "真野 ウメさんの個別避難計画").await;
    assert!(m.body.contains("第49条の17") && m.body.contains("秘密"), "{}", m.body);

    // Withdrawn: the supporter is no longer told; the record says when and by whom.
    let (status, page) = staff_post(&app, &clerk, &format!("{person}/consent/withdraw"), &[("note", "")]).await;
    assert_eq!(status, 400, "how it was withdrawn: {page}");
    let (status, page) =
        staff_post(&app, &clerk, &format!("{person}/consent/withdraw"), &[("note", "12月3日 本人から電話で撤回")])
            .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("登録終了") && page.contains("12月3日 本人から電話で撤回"), "{page}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM evacuation_subscriptions WHERE role = 'supporter' AND active = 1").await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'evacuation.consent_withdrawn' AND actor LIKE 'staff:%'"
        )
        .await,
        1
    );
    let (status, _) = staff_post(&app, &clerk, &format!("{person}/supporters"), &full).await;
    assert_eq!(status, 409, "no new supporter without consent");
    let (status, _) = staff_post(&app, &clerk, &format!("{person}/consent/withdraw"), &[("note", "again")]).await;
    assert_eq!(status, 409);
    let (status, _) =
        staff_post(&app, &clerk, "/staff/evacuation/alerts", &[("level", "3"), ("town", "0721250002000")]).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(
        app.smtp.count_to("minsei@example.jp", "真野 ウメさんの個別避難計画"),
        1,
        "not told after the withdrawal"
    );
    // The withdrawal note and the details are sealed at rest.
    use sqlx::Row;
    let row = sqlx::query("SELECT data, consent_withdrawn_note FROM evacuation_plans WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.read)
        .await
        .unwrap();
    let (data, note): (String, String) = (row.try_get("data").unwrap(), row.try_get("consent_withdrawn_note").unwrap());
    assert!(data.starts_with("sealed:v1:") && !data.contains("1940") && !data.contains("090-0000"), "{data}");
    assert!(note.starts_with("sealed:v1:") && !note.contains("電話"), "{note}");
}
