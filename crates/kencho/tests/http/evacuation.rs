//! マイ避難 over HTTP: loading layers, making plans with and without an account, subscribing,
//! alerts with two-person approval, JMA telegrams, individual plans and their supporters.

use crate::harness::*;

const MINA_ADMIN: &str = "admin@minamisoma.example.jp";
const MINA_KAKARICHO: &str = "kakaricho@minamisoma.example.jp";
const MINA_KACHO: &str = "kacho@minamisoma.example.jp";
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/evacuation");

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{SAMPLES}/{name}")).expect("sample file")
}

/// Walks the plan journey in `b`: start, where (`fields`), home, people. Returns the token.
async fn make_plan(
    app: &TestApp,
    b: &reqwest::Client,
    where_fields: &[(&str, &str)],
    people: &[(&str, &str)],
) -> String {
    let start = b.get(app.url("/evacuation")).send().await.unwrap().text().await.unwrap();
    assert!(start.contains("/evacuation/minamisoma/start"), "南相馬市 has data loaded");
    let res = b.post(app.url("/evacuation/minamisoma/start")).form(&[("csrf", csrf_of(&start))]).send().await.unwrap();
    let to = location(&res);
    let token = to.trim_start_matches("/evacuation/p/").trim_end_matches("/where").to_string();
    let page = b.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(where_fields);
    let res = b.post(app.url(&to)).form(&form).send().await.unwrap();
    assert_eq!(location(&res), format!("/evacuation/p/{token}/home"), "{}", res.text().await.unwrap_or_default());
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/home")))
        .form(&[("csrf", csrf.as_str()), ("floor", "1"), ("hold_out", "yes"), ("car", "no"), ("safe_house", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("/evacuation/p/{token}/people"));
    let mut form = vec![("csrf", csrf.as_str()), ("intent", "next")];
    form.extend_from_slice(people);
    let res = b.post(app.url(&format!("/evacuation/p/{token}/people"))).form(&form).send().await.unwrap();
    assert_eq!(location(&res), format!("/evacuation/p/{token}"));
    token
}

async fn save_and_subscribe(app: &TestApp, b: &reqwest::Client, token: &str) {
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    let res =
        b.post(app.url(&format!("/evacuation/p/{token}/save"))).form(&[("csrf", csrf_of(&page))]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("/subscribe"), "the owner may subscribe");
    // Consent is required.
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/subscribe")))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/subscribe")))
        .form(&[("csrf", csrf_of(&page).as_str()), ("consent", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn staff_post(app: &TestApp, b: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let page = b.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    let mut form = vec![("csrf", csrf_of(&page))];
    form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let res = b.post(app.url(path)).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn latest_alert_id(html: &str, verb: &str) -> String {
    html.split("/alerts/")
        .filter_map(|s| s.split_once(&format!("/{verb}\"")))
        .map(|(id, _)| id.to_string())
        .next()
        .expect("an alert form")
}

#[tokio::test]
async fn layers_load_whole_or_not_at_all_and_are_versioned() {
    let app = spawn_app().await;
    // One sign-in (a TOTP code is single-use): the page makes an API token for the rest.
    let (b, admin) = app.admin_api_token(MINA_ADMIN).await;
    let put = |kind: &'static str, body: String| {
        let url = app.url(&format!("/api/v1/admin/evacuation/layers/{kind}?file_name={kind}.sample"));
        let admin = admin.clone();
        async move { api().put(url).bearer_auth(admin).body(body).send().await.unwrap() }
    };
    // Every sample layer loads through the API as a new version (the demo loaded version 1).
    for (kind, file) in [
        ("flood", "flood-a31a.sample.geojson"),
        ("landslide", "landslide-a33.sample.geojson"),
        ("house_collapse", "house-collapse.sample.geojson"),
    ] {
        let res = put(kind, sample(file)).await;
        assert_eq!(res.status(), 201, "{kind}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!((v["version"].as_i64(), v["active"].as_bool()), (Some(2), Some(true)), "{kind}: {v}");
    }
    // The town table is the registry's two files, sent together.
    let form = ["mt_town.sample.csv", "mt_town_pos.sample.csv"].iter().fold(reqwest::multipart::Form::new(), |f, n| {
        f.part("file", reqwest::multipart::Part::text(sample(n)).file_name(n.to_string()))
    });
    let res = api()
        .put(app.url("/api/v1/admin/evacuation/layers/towns"))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!((v["version"].as_i64(), v["items"].as_i64()), (Some(2), Some(10)), "{v}");
    let hz = api().get(app.url("/api/v1/evacuation/minamisoma/hazards?lat=37.64&lon=140.95")).send().await.unwrap();
    let hz: serde_json::Value = hz.json().await.unwrap();
    assert_eq!((hz["flood_rank"].as_i64(), hz["house_collapse"].as_bool()), (Some(3), Some(true)), "{hz}");
    assert_eq!(hz["town_name"], "川原");
    // 30 km inland, in a 2次メッシュ where the flood layer has no zones: not "outside the zone"
    // but "no data here".
    let far = api().get(app.url("/api/v1/evacuation/minamisoma/hazards?lat=37.64&lon=140.55")).send().await.unwrap();
    let far: serde_json::Value = far.json().await.unwrap();
    let said = far["description"].to_string();
    assert!(said.contains("この場所の浸水想定データはありません") && !said.contains("区域の外"), "{far}");
    let before = get_json(&app.url("/api/v1/admin/evacuation/layers"), &admin).await;
    // A bad row: the error names its line, and nothing is loaded.
    let bad = sample("sites.sample.csv").replacen(",1,1,0,1,0,1,1,0,", ",1,1,0,9,0,1,1,0,", 1);
    let res = put("sites", bad).await;
    assert_eq!(res.status(), 400);
    let v: serde_json::Value = res.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("line 2"), "{v}");
    // A bad geometry names its feature.
    let res = put("flood", r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"A31a_105":2},"geometry":{"type":"Polygon","coordinates":[[[140.9,37.6],[140.91,37.6]]]}}]}"#.into()).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("feature 1"));
    assert_eq!(get_json(&app.url("/api/v1/admin/evacuation/layers"), &admin).await, before, "nothing half-loaded");
    // A good file becomes version 2 and is in use at once; version 1 stays and can come back.
    let res =
        put("sites", sample("sites.sample.csv").replace("架空第一小学校（サンプル）", "架空新小学校（サンプル）"))
            .await;
    assert_eq!(res.status(), 201);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["version"], 2);
    let plan = |lat: f64, lon: f64| {
        let url = app.url("/api/v1/evacuation/minamisoma/plan");
        async move {
            api()
                .post(url)
                .json(&serde_json::json!({"lat": lat, "lon": lon, "living_floor": 1, "members": [{"name": "母"}]}))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let p = plan(37.6405, 140.955).await;
    assert_eq!(p["destination"], "架空新小学校（サンプル）", "{p}");
    // Staff can put version 1 back from the page.
    let page = b.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    let v1 = app.count("SELECT id FROM evacuation_layers WHERE kind = 'sites' AND version = 1").await;
    assert!(page.contains(&format!("/staff/evacuation/layers/{v1}/activate")), "earlier versions can be put back");
    let (status, _) = staff_post(&app, &b, &format!("/staff/evacuation/layers/{v1}/activate"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(plan(37.6405, 140.955).await["destination"], "架空第一小学校（サンプル）");
    // Only administrators load data; anyone may look up hazards, with checked input.
    let clerk = app.staff_token(MINA_KAKARICHO).await;
    let res = api()
        .put(app.url("/api/v1/admin/evacuation/layers/sites"))
        .bearer_auth(clerk)
        .body(sample("sites.sample.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = api().get(app.url("/api/v1/evacuation/minamisoma/hazards?lat=95&lon=140")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = api().get(app.url("/api/v1/evacuation/nowhere/hazards?lat=37.6&lon=140.9")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = api()
        .post(app.url("/api/v1/evacuation/minamisoma/plan"))
        .json(&serde_json::json!({"lat": 37.6, "lon": 140.9, "living_floor": 1, "members": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let audit = app
        .count(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('evacuation.layer_loaded', 'evacuation.layer_activated')",
        )
        .await;
    assert!(audit >= 7, "demo loads, the new version and the activation are audited ({audit})");
}

#[tokio::test]
async fn households_get_their_own_plan_when_an_alert_covers_them() {
    let app = spawn_app().await;
    // Taro: 本町一丁目 (flood rank 2, ground floor), by address; his father needs help walking.
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let taro_plan = make_plan(
        &app,
        &taro,
        &[("postcode", ""), ("address", "福島県南相馬市本町一丁目2-3"), ("town", ""), ("lat", ""), ("lon", "")],
        &[("name1", "太郎"), ("name2", "おじいちゃん"), ("walking2", "1")],
    )
    .await;
    let page = taro.get(app.url(&format!("/evacuation/p/{taro_plan}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("家の外へ避難が必要です"), "a flooded ground floor leaves");
    // Level 3 is for the one who needs time and those who help them: the household goes together.
    assert!(page.contains("全員は徒歩で"), "the household leaves with its slow member at level 3: {page}");
    save_and_subscribe(&app, &taro, &taro_plan).await;
    // Hanako: 山手 (landslide zone), chosen from the town list.
    app.second_resident("hanako@example.jp").await;
    let hanako = app.resident_browser("hanako@example.jp", "another-long-password").await;
    let hanako_plan =
        make_plan(&app, &hanako, &[("town", "0721250005000"), ("address", "")], &[("name1", "花子"), ("infant1", "1")])
            .await;
    let page = hanako.get(app.url(&format!("/evacuation/p/{hanako_plan}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("土砂災害警戒区域にあるため"), "a landslide zone leaves");
    save_and_subscribe(&app, &hanako, &hanako_plan).await;
    // A saved plan is private.
    let res = browser().get(app.url(&format!("/evacuation/p/{taro_plan}"))).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // A third household on high ground, outside the alert's area.
    app.second_resident("jiro@example.jp").await;
    let jiro = app.resident_browser("jiro@example.jp", "another-long-password").await;
    let jiro_plan = make_plan(&app, &jiro, &[("town", "0721250004000")], &[("name1", "次郎")]).await;
    save_and_subscribe(&app, &jiro, &jiro_plan).await;

    // Level 3 for 本町一丁目 and 山手: issued at once.
    let clerk = app.staff_browser(MINA_KAKARICHO).await;
    let (status, page) = staff_post(
        &app,
        &clerk,
        "/staff/evacuation/alerts",
        &[
            ("level", "3"),
            ("town", "0721250001001"),
            ("town", "0721250005000"),
            ("note", "架空川の水位が上昇しています。"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "レベル3：全員は徒歩で架空").await;
    assert!(m.body.contains("高齢者等避難") && m.body.contains("/evacuation/unsubscribe/"), "{}", m.body);
    let m = app.smtp.wait_for("hanako@example.jp", "レベル3：花子は徒歩で").await;
    assert!(m.body.contains("所要"), "{}", m.body);

    // Level 4 waits for a second person; the requester cannot approve it.
    let (status, page) = staff_post(
        &app,
        &clerk,
        "/staff/evacuation/alerts",
        &[("level", "4"), ("town", "0721250001001"), ("town", "0721250005000")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("承認待ち"));
    let id = latest_alert_id(&page, "cancel");
    let (status, _) = staff_post(&app, &clerk, &format!("/staff/evacuation/alerts/{id}/approve"), &[]).await;
    assert_eq!(status, 409, "the requester may not approve");
    assert_eq!(app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, "レベル4"), 0, "nothing sent before approval");
    let kacho = app.staff_browser(MINA_KACHO).await;
    let (status, _) = staff_post(&app, &kacho, &format!("/staff/evacuation/alerts/{id}/approve"), &[]).await;
    assert_eq!(status, 200);
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "レベル4：全員、").await;
    assert!(m.body.contains("避難指示"), "{}", m.body);
    app.smtp.wait_for("hanako@example.jp", "レベル4：").await;
    // Approving again changes nothing: once per household per issuance.
    let (status, _) = staff_post(&app, &kacho, &format!("/staff/evacuation/alerts/{id}/approve"), &[]).await;
    assert_eq!(status, 409);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, "レベル4："), 1);
    assert_eq!(app.smtp.count_to("jiro@example.jp", "レベル"), 0, "high ground was not in the area");
    let approved = app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'evacuation.alert_approved' AND detail LIKE '%requested_by%'")
        .await;
    assert_eq!(approved, 1);

    // The resident's plan page shows what is in force.
    let page = taro.get(app.url(&format!("/evacuation/p/{taro_plan}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("発令中"));

    // Cancelling tells those who were told.
    let (status, _) = staff_post(&app, &kacho, &format!("/staff/evacuation/alerts/{id}/cancel"), &[]).await;
    assert_eq!(status, 200);
    app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "解除").await;

    // Unsubscribing through the mailed link stops the next alert.
    let link =
        m.body.split("/evacuation/unsubscribe/").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_string();
    let b = browser();
    let page = b.get(app.url(&format!("/evacuation/unsubscribe/{link}"))).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url(&format!("/evacuation/unsubscribe/{link}")))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, _) = staff_post(
        &app,
        &clerk,
        "/staff/evacuation/alerts",
        &[("level", "3"), ("town", "0721250001001"), ("town", "0721250005000")],
    )
    .await;
    assert_eq!(status, 200);
    for _ in 0..150 {
        if app.smtp.count_to("hanako@example.jp", "レベル3：") == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.smtp.count_to("hanako@example.jp", "レベル3："), 2, "the second level 3 reached Hanako");
    assert_eq!(app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, "レベル3："), 1, "but not Taro, who unsubscribed");

    // Bad requests change nothing.
    let alerts_before = app.count("SELECT COUNT(*) FROM evacuation_alerts").await;
    let (status, _) = staff_post(&app, &clerk, "/staff/evacuation/alerts", &[("level", "4")]).await;
    assert_eq!(status, 400, "no town chosen");
    let (status, _) =
        staff_post(&app, &clerk, "/staff/evacuation/alerts", &[("level", "2"), ("town", "0721250001001")]).await;
    assert_eq!(status, 400, "level 2 is not an evacuation order");
    let (status, _) = staff_post(&app, &clerk, "/staff/evacuation/alerts", &[("level", "3"), ("town", "9999")]).await;
    assert_eq!(status, 400, "unknown town");
    assert_eq!(app.count("SELECT COUNT(*) FROM evacuation_alerts").await, alerts_before);
}

#[tokio::test]
async fn the_plan_journey_checks_every_answer_and_warns_about_unsafe_changes() {
    let app = spawn_app().await;
    let b = browser();
    let start = b.get(app.url("/evacuation")).send().await.unwrap().text().await.unwrap();
    let res = b.post(app.url("/evacuation/minamisoma/start")).form(&[("csrf", csrf_of(&start))]).send().await.unwrap();
    let to = location(&res);
    let token = to.trim_start_matches("/evacuation/p/").trim_end_matches("/where").to_string();
    let page = b.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    for (fields, needle) in [
        (vec![("postcode", "12-34"), ("address", "南相馬市本町一丁目")], "郵便番号は7桁"),
        (vec![("address", "東京都千代田区")], "住所から場所が分かりませんでした"),
        (vec![("lat", "north"), ("lon", "140.9")], "緯度・経度"),
        (vec![("address", "")], "住所を入力するか"),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let res = b.post(app.url(&to)).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains(needle) && html.contains("error-summary"), "{needle}");
    }
    let rev = app.count("SELECT revision FROM evacuation_plans").await;
    assert_eq!(rev, 1, "rejected steps changed nothing");
    // A map click (coordinates) in the house-collapse zone.
    let res = b
        .post(app.url(&to))
        .form(&[("csrf", csrf.as_str()), ("lat", "37.64"), ("lon", "140.95")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/home")))
        .form(&[("csrf", csrf.as_str()), ("floor", "0"), ("car", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "floor 0 and a missing answer");
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/home")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("floor", "3"),
            ("hold_out", "yes"),
            ("car", "yes"),
            ("safe_house", "伯父の家（相馬市）"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Adding a person re-shows the page with another row.
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/people")))
        .form(&[("csrf", csrf.as_str()), ("name1", "母"), ("intent", "add")])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("name=\"name2\""));
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/people")))
        .form(&[("csrf", csrf.as_str()), ("name1", "母"), ("name2", "赤ちゃん"), ("infant2", "1"), ("intent", "next")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("家屋倒壊等氾濫想定区域にあるため"), "third floor, but the house may be swept away");
    assert!(page.contains("ミルク・おむつ"), "the checklist follows the household");
    assert!(page.contains("house-picture"));
    // Staying home and waiting for level 5 are warned about; so is a site not for floods.
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/choices")))
        .form(&[("csrf", csrf.as_str()), ("stay", "stay"), ("site", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("自宅にとどまるのは危険です"), "{page}");
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/choices")))
        .form(&[("csrf", csrf.as_str()), ("stay", "rules"), ("level1", "5"), ("site", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("警戒レベル5を待たずに"));
    assert!(page.contains("洪水の避難場所に指定されていません"));
    let res = b
        .post(app.url(&format!("/evacuation/p/{token}/choices")))
        .form(&[("csrf", csrf.as_str()), ("level1", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // The print sheet and the other languages.
    let sheet = b.get(app.url(&format!("/evacuation/p/{token}/print"))).send().await.unwrap().text().await.unwrap();
    assert!(sheet.contains("print-sheet") && sheet.contains("警戒レベル"));
    let en = b.get(app.url(&format!("/evacuation/p/{token}?lang=en"))).send().await.unwrap().text().await.unwrap();
    assert!(en.contains("You must leave home") && en.contains("lang=\"en\""));
    let easy =
        b.get(app.url(&format!("/evacuation/p/{token}?lang=ja-x-easy"))).send().await.unwrap().text().await.unwrap();
    assert!(easy.contains("いえの そとへ にげて ください") && easy.contains("lang=\"ja-x-easy\""));
    // Saving needs an account: the visitor is sent to log in and back.
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    let res =
        b.post(app.url(&format!("/evacuation/p/{token}/save"))).form(&[("csrf", csrf_of(&page))]).send().await.unwrap();
    assert_eq!(location(&res), format!("/login?next=/evacuation/p/{token}"));
    let login = b.get(app.url(&location(&res))).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&login).as_str()),
            ("email", kencho::demo::RESIDENT_EMAIL),
            ("password", kencho::demo::PASSWORD),
            ("next", &format!("/evacuation/p/{token}")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("/evacuation/p/{token}"));
    let page = b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap();
    let res =
        b.post(app.url(&format!("/evacuation/p/{token}/save"))).form(&[("csrf", csrf_of(&page))]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mine = b.get(app.url("/evacuation/mine")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains(&token));
    // An off-site `next` is ignored.
    let b = browser();
    let login = b.get(app.url("/login?next=https://evil.example/")).send().await.unwrap().text().await.unwrap();
    assert!(!login.contains("evil.example"));
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&login).as_str()),
            ("email", kencho::demo::RESIDENT_EMAIL),
            ("password", kencho::demo::PASSWORD),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/applications");
}

#[tokio::test]
async fn jma_telegrams_issue_and_cancel_and_the_folder_is_read() {
    let app = spawn_app().await;
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let plan = make_plan(&app, &taro, &[("town", "0721250001001")], &[("name1", "太郎")]).await;
    save_and_subscribe(&app, &taro, &plan).await;
    let admin = app.staff_token(MINA_ADMIN).await;
    let post = |xml: String| {
        let url = app.url("/api/v1/admin/evacuation/jma");
        let admin = admin.clone();
        async move {
            api().post(url).bearer_auth(admin).header("content-type", "application/xml").body(xml).send().await.unwrap()
        }
    };
    let res = post("<Report><Control>".into()).await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM jma_telegrams").await, 0, "a broken telegram is not recorded");
    let issue = sample("jma/01-issue.xml");
    let v: serde_json::Value = post(issue.clone()).await.json().await.unwrap();
    assert_eq!(v["result"], "issued", "{v}");
    assert_eq!(v["issued"].as_array().unwrap().len(), 1, "南相馬市 at level 3; 会津若松市 only level 2");
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "気象庁").await;
    assert!(m.body.contains("レベル3：避難の準備"), "Taro needs no extra time: he gets ready at 3; {}", m.body);
    let v: serde_json::Value = post(issue).await.json().await.unwrap();
    assert_eq!(v["result"], "duplicate");
    // An upload is for the uploader's own municipality: 会津若松市's administrator cannot raise
    // 南相馬市's alarm with a telegram naming it.
    let aizu = app.staff_token("admin@aizuwakamatsu.example.jp").await;
    let res = api()
        .post(app.url("/api/v1/admin/evacuation/jma"))
        .bearer_auth(aizu)
        .header("content-type", "application/xml")
        .body(sample("jma/03-landslide.xml"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["issued"].as_array().map(Vec::len), Some(0), "{v}");
    let v: serde_json::Value = post(sample("jma/02-cancel.xml")).await.json().await.unwrap();
    assert_eq!(v["result"], "cancelled", "{v}");
    app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "取消").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, "気象庁"), 1, "the duplicate sent nothing");

    // The watched folder: read once, moved to done/; junk goes to rejected/ with a reason.
    let dir = app.data_dir.join("jma-in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.xml"), sample("jma/03-landslide.xml")).unwrap();
    std::fs::write(dir.join("b.xml"), "not xml").unwrap();
    let atlases = kencho::evacuation::layers::Atlases::default();
    let n = kencho::evacuation::jma::scan_folder(&app.db, &atlases, &app.base, &dir).await.unwrap();
    assert_eq!(n, 2);
    assert!(dir.join("done/a.xml").exists() && dir.join("rejected/b.xml").exists());
    assert!(std::fs::read_to_string(dir.join("rejected/b.xml.reason.txt")).unwrap().contains("JMA XML"));
    let m = app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "レベル4：").await;
    assert!(m.body.contains("土砂災害警戒"), "{}", m.body);

    // A JMA-style Atom feed served over HTTP: linked telegrams are fetched and read once.
    let feed_server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed_base = format!("http://{}", feed_server.local_addr().unwrap());
    let issue = sample("jma/01-issue.xml").replace("20261129_sample_001", "20261129_feed_001");
    let atom = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>高頻度（随時）</title>
        <entry><title>気象警報・注意報（Ｈ２７）</title><link type="application/xml" href="{feed_base}/data/a.xml"/></entry></feed>"#
    );
    let served = axum::Router::new()
        .route("/feed.xml", axum::routing::get(move || async move { atom }))
        .route("/data/a.xml", axum::routing::get(move || async move { issue }));
    tokio::spawn(async move { axum::serve(feed_server, served).await });
    let client = reqwest::Client::new();
    let feed = format!("{feed_base}/feed.xml");
    let read = kencho::evacuation::jma::poll_once(&client, &app.db, &atlases, &app.base, &feed).await.unwrap();
    assert_eq!(read, 1);
    let again = kencho::evacuation::jma::poll_once(&client, &app.db, &atlases, &app.base, &feed).await.unwrap();
    assert_eq!(again, 0, "a telegram is fetched once");
    for _ in 0..150 {
        if app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, "気象庁") == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, "気象庁"),
        3,
        "API, folder and feed telegrams each told Taro"
    );
}

#[tokio::test]
async fn individual_plans_reach_their_supporters_after_consent() {
    let app = spawn_app().await;
    let clerk = app.staff_browser(MINA_KAKARICHO).await;
    let page = clerk.get(app.url("/staff/evacuation")).send().await.unwrap().text().await.unwrap();
    let res = clerk
        .post(app.url("/evacuation/minamisoma/start"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("kind", "individual")])
        .send()
        .await
        .unwrap();
    let to = location(&res);
    let token = to.trim_start_matches("/evacuation/p/").trim_end_matches("/where").to_string();
    let csrf = csrf_of(&page);
    let res =
        clerk.post(app.url(&to)).form(&[("csrf", csrf.as_str()), ("town", "0721250002000")]).send().await.unwrap();
    assert_eq!(res.status(), 422, "an individual plan names its person");
    let res = clerk
        .post(app.url(&to))
        .form(&[("csrf", csrf.as_str()), ("town", "0721250002000"), ("person", "真野 ウメ")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    clerk
        .post(app.url(&format!("/evacuation/p/{token}/home")))
        .form(&[("csrf", csrf.as_str()), ("floor", "1"), ("hold_out", "no"), ("car", "no")])
        .send()
        .await
        .unwrap();
    clerk
        .post(app.url(&format!("/evacuation/p/{token}/people")))
        .form(&[("csrf", csrf.as_str()), ("name1", "ウメさん"), ("wheelchair1", "1"), ("intent", "next")])
        .send()
        .await
        .unwrap();
    let id = app.count("SELECT id FROM evacuation_plans WHERE kind = 'individual'").await;
    // The link alone opens nothing: an individual plan is for the municipality's staff.
    assert_eq!(browser().get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().status(), 404);
    assert_eq!(browser().get(app.url(&format!("/evacuation/p/{token}/print"))).send().await.unwrap().status(), 404);
    // Another municipality's staff cannot see it.
    let other = app.staff_browser("kacho@aizuwakamatsu.example.jp").await;
    assert_eq!(other.get(app.url(&format!("/staff/evacuation/individual/{id}"))).send().await.unwrap().status(), 404);
    let person = format!("/staff/evacuation/individual/{id}");
    let (status, _) = staff_post(
        &app,
        &clerk,
        &format!("{person}/supporters"),
        &[("name", "民生委員 相馬"), ("email", "minsei@example.jp")],
    )
    .await;
    assert_eq!(status, 409, "consent comes first");
    let (status, _) =
        staff_post(&app, &clerk, &format!("{person}/consent"), &[("note", ""), ("explained", "yes")]).await;
    assert_eq!(status, 400);
    let (status, _) = staff_post(
        &app,
        &clerk,
        &format!("{person}/consent"),
        &[("note", "2026-11-29 自宅訪問で本人が同意書に署名"), ("explained", "yes")],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = staff_post(
        &app,
        &clerk,
        &format!("{person}/supporters"),
        &[("name", "民生委員 相馬"), ("email", "not-an-address")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = staff_post(
        &app,
        &clerk,
        &format!("{person}/supporters"),
        &[
            ("name", "民生委員 相馬"),
            ("email", "minsei@example.jp"),
            ("address", "原町区旭町1-1"),
            ("phone", "090-0000-0000"),
        ],
    )
    .await;
    assert_eq!(status, 400, "the supporter's own consent is attested");
    let (status, page) = staff_post(
        &app,
        &clerk,
        &format!("{person}/supporters"),
        &[
            ("name", "民生委員 相馬"),
            ("email", "minsei@example.jp"),
            ("address", "原町区旭町1-1"),
            ("phone", "090-0000-0000"),
            ("supporter_consent", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("minsei@example.jp"));
    let (status, _) =
        staff_post(&app, &clerk, "/staff/evacuation/alerts", &[("level", "3"), ("town", "0721250002000")]).await;
    assert_eq!(status, 200);
    let m = app.smtp.wait_for("minsei@example.jp", "真野 ウメさんの個別避難計画").await;
    assert!(m.body.contains("レベル3：ウメさんは徒歩で"), "{}", m.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'evacuation.consent_recorded'").await, 1);
    // The person's needs and the consent note are sealed in the database (the alert above
    // opened them); the audit log does not copy the note.
    use sqlx::Row;
    let row = sqlx::query("SELECT data, consent_note FROM evacuation_plans WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.read)
        .await
        .unwrap();
    let (data, note): (String, String) = (row.try_get(0).unwrap(), row.try_get(1).unwrap());
    assert!(data.starts_with("sealed:v1:") && !data.contains("ウメ") && !data.contains("wheelchair"), "{data}");
    assert!(note.starts_with("sealed:v1:") && !note.contains("自宅訪問"), "{note}");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%自宅訪問%'").await, 0);
}

/// The addresses マイ避難 and 電子決裁 had before the rename still lead where they did: a plan
/// link in a mail already sent, a bookmark, an API client.
#[tokio::test]
async fn old_addresses_are_sent_on_to_the_new_ones() {
    let app = spawn_app().await;
    for (old, new) in [
        ("/hinan", "/evacuation"),
        ("/hinan/p/abc/where?step=2", "/evacuation/p/abc/where?step=2"),
        ("/hinan/unsubscribe/t0k", "/evacuation/unsubscribe/t0k"),
        ("/staff/hinan/alerts", "/staff/evacuation/alerts"),
        ("/staff/kessai/12", "/staff/approval/12"),
        ("/api/v1/kessai/12/acts", "/api/v1/approval/12/acts"),
    ] {
        let res = api().get(app.url(old)).send().await.unwrap();
        assert_eq!(res.status(), 308, "{old}");
        assert_eq!(location(&res), new, "{old}");
    }
    // The new address answers for itself; the old one keeps a POST a POST.
    let res = api().get(app.url("/evacuation")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = api().post(app.url("/api/v1/kessai")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), location(&res)), (308, "/api/v1/approval".to_string()));
}
