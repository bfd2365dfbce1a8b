//! JMA telegrams over HTTP, with test telegrams written from 気象庁防災情報XMLフォーマット
//! (`tests/data/jma/`, see its README): the 2026 names and the older ones, 土砂災害警戒情報
//! lifted per municipality, 指定河川洪水予報 matched through CityCode, kinds kencho does not map,
//! and telegrams that do not follow the specification. Each tenant's administrator uploads the
//! telegram; an upload applies to the uploader's municipality only.

use crate::harness::*;
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/jma");
const MINA_ADMIN: &str = "admin@minamisoma.example.jp";
const AIZU_ADMIN: &str = "admin@aizuwakamatsu.example.jp";

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{name}")).expect("test telegram")
}

async fn upload(app: &TestApp, token: &str, xml: String) -> (u16, Value) {
    let res = api()
        .post(app.url("/api/v1/admin/evacuation/jma"))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn read(app: &TestApp, token: &str, file: &str) -> Value {
    let (status, v) = upload(app, token, data(file)).await;
    assert_eq!(status, 200, "{file}: {v}");
    v
}

/// The tenant's JMA alerts in force: (level, title), highest first.
async fn in_force(app: &TestApp, token: &str) -> Vec<(i64, String)> {
    let res = api().get(app.url("/api/v1/staff/evacuation/alerts")).bearer_auth(token).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    let mut out: Vec<(i64, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == "jma" && a["status"] == "issued")
        .map(|a| (a["level"].as_i64().unwrap(), a["title"].as_str().unwrap().to_string()))
        .collect();
    out.sort_by(|a, b| b.cmp(a));
    out
}

fn why(v: &Value) -> Vec<&str> {
    v["notes"].as_array().unwrap().iter().map(|n| n["why"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn names_of_2026_raise_keep_and_lift_each_hazard_apart() {
    let app = spawn_app().await;
    let mina = app.staff_token(MINA_ADMIN).await;
    let aizu = app.staff_token(AIZU_ADMIN).await;

    // レベル３大雨警報 for 南相馬市; 会津若松市 has レベル２大雨注意報 only: no alert there.
    let v = read(&app, &mina, "vpww55-1-rain.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("issued"), vec!["raised"]), "{v}");
    let v = read(&app, &aizu, "vpww55-1-rain.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("recorded"), vec!["below_alert"]), "{v}");
    assert_eq!(in_force(&app, &mina).await, [(3, "レベル３大雨警報".to_string())]);
    assert!(in_force(&app, &aizu).await.is_empty());

    // レベル４土砂災害危険警報 raises 南相馬市 to 4; レベル３土砂災害警報 gives 会津若松市 an alert.
    let v = read(&app, &mina, "vpww56-1-landslide.xml").await;
    assert_eq!(why(&v), ["raised"], "{v}");
    assert_eq!(v["cancelled"].as_array().unwrap().len(), 1, "the level-3 alert is replaced");
    read(&app, &aizu, "vpww56-1-landslide.xml").await;
    assert_eq!(in_force(&app, &mina).await, [(4, "レベル４土砂災害危険警報".to_string())]);
    assert_eq!(in_force(&app, &aizu).await, [(3, "レベル３土砂災害警報".to_string())]);

    // A wind telegram (強風注意報; 発表警報・注意報はなし), also without EventID, changes nothing
    // and says why.
    let v = read(&app, &mina, "vpww58-2-wind.xml").await;
    assert_eq!(v["result"], "unmapped", "{v}");
    assert_eq!(v["notes"][0]["unmapped"], serde_json::json!(["強風注意報"]));
    assert_eq!(v["notes"][0]["level"], 4);
    let v = read(&app, &aizu, "vpww58-2-wind.xml").await;
    assert_eq!(v["result"], "unmapped", "{v}");
    assert_eq!(in_force(&app, &mina).await.len(), 1);
    assert_eq!(in_force(&app, &aizu).await.len(), 1);
    assert!(
        app.count("SELECT COUNT(*) FROM jma_telegrams WHERE outcome = 'unmapped' AND reason LIKE '%強風注意報%'").await
            >= 1
    );

    // The rain is lifted (南相馬市: 警報から注意報; 会津若松市: 解除): the landslide alerts stay.
    let v = read(&app, &mina, "vpww55-3-rain-lift.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("recorded"), vec!["kept"]), "{v}");
    let v = read(&app, &aizu, "vpww55-3-rain-lift.xml").await;
    assert_eq!(why(&v), ["kept"], "{v}");
    assert_eq!(in_force(&app, &mina).await, [(4, "レベル４土砂災害危険警報".to_string())]);
    assert_eq!(in_force(&app, &aizu).await.len(), 1);

    // 危険警報から警報: 南相馬市 down to 3; 会津若松市's レベル３土砂災害警報 解除 lifts its alert.
    let v = read(&app, &mina, "vpww56-4-landslide-down.xml").await;
    assert_eq!(why(&v), ["lowered"], "{v}");
    assert_eq!(in_force(&app, &mina).await, [(3, "レベル３土砂災害警報".to_string())]);
    let v = read(&app, &aizu, "vpww56-4-landslide-down.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("cancelled"), vec!["lifted"]), "{v}");
    assert!(in_force(&app, &aizu).await.is_empty());
}

#[tokio::test]
async fn older_names_issue_downgrade_and_lift() {
    let app = spawn_app().await;
    let mina = app.staff_token(MINA_ADMIN).await;
    let v = read(&app, &mina, "vpww54-1-issue.xml").await;
    assert_eq!(v["result"], "issued", "{v}");
    assert_eq!(in_force(&app, &mina).await, [(3, "大雨警報（土砂災害）・洪水警報".to_string())]);
    // 大雨警報 → 大雨注意報 (警報から注意報) while 洪水警報 continues: still level 3, no new mail.
    let v = read(&app, &mina, "vpww54-2-downgrade.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("recorded"), vec!["kept"]), "{v}");
    assert_eq!(in_force(&app, &mina).await.len(), 1);
    // 洪水警報 解除: nothing at level 3 remains.
    let v = read(&app, &mina, "vpww54-3-lift.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("cancelled"), vec!["lifted"]), "{v}");
    assert!(in_force(&app, &mina).await.is_empty());
}

#[tokio::test]
async fn landslide_warnings_are_lifted_per_municipality() {
    let app = spawn_app().await;
    let mina = app.staff_token(MINA_ADMIN).await;
    let aizu = app.staff_token(AIZU_ADMIN).await;

    // 会津若松市 reads the whole sequence first: issued, continued, lifted there while the
    // headline still says 警戒レベル４ (南相馬市 continues).
    let v = read(&app, &aizu, "vxww50-1-issue.xml").await;
    assert_eq!(v["result"], "issued", "{v}");
    assert_eq!(in_force(&app, &aizu).await, [(4, "土砂災害警戒情報".to_string())]);
    let v = read(&app, &aizu, "vxww50-2-continue.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("recorded"), vec!["kept"]), "{v}");
    let v = read(&app, &aizu, "vxww50-3-partial-lift.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("cancelled"), vec!["lifted"]), "{v}");
    assert!(in_force(&app, &aizu).await.is_empty());
    // An older telegram of the event read afterwards is stale for 会津若松市…
    let v = read(&app, &aizu, "vxww50-2-continue.xml").await;
    assert_eq!(v["result"], "duplicate");
    let older = data("vxww50-2-continue.xml").replace("<Serial>2</Serial>", "<Serial>2</Serial><!-- again -->");
    let (_, v) = upload(&app, &aizu, older).await;
    assert_eq!(v["result"], "stale", "{v}");
    assert!(in_force(&app, &aizu).await.is_empty());

    // …but not for 南相馬市, which has read none of it yet: EventID state is per tenant.
    let v = read(&app, &mina, "vxww50-1-issue.xml").await;
    assert_eq!(v["result"], "issued", "{v}");
    read(&app, &mina, "vxww50-2-continue.xml").await;
    let v = read(&app, &mina, "vxww50-3-partial-lift.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("recorded"), vec!["kept"]), "{v}");
    assert_eq!(in_force(&app, &mina).await, [(4, "土砂災害警戒情報".to_string())]);
    let v = read(&app, &mina, "vxww50-4-lift.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("cancelled"), vec!["lifted"]), "{v}");
    assert!(in_force(&app, &mina).await.is_empty());
}

#[tokio::test]
async fn river_flood_forecasts_reach_the_municipalities_in_city_code() {
    let app = spawn_app().await;
    let mina = app.staff_token(MINA_ADMIN).await;
    let aizu = app.staff_token(AIZU_ADMIN).await;
    let v = read(&app, &mina, "vxko-1-danger.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("issued"), vec!["raised"]), "{v}");
    assert_eq!(in_force(&app, &mina).await, [(4, "レベル４氾濫危険警報".to_string())]);
    // 会津若松市 is not among the places the river may flood.
    let v = read(&app, &aizu, "vxko-1-danger.xml").await;
    assert_eq!((v["result"].as_str(), v["notes"].as_array().map(Vec::len)), (Some("recorded"), Some(0)), "{v}");
    assert!(in_force(&app, &aizu).await.is_empty());
    // Down to レベル３氾濫警報 without a 解除: the level-4 alert stays.
    let v = read(&app, &mina, "vxko-2-warning.xml").await;
    assert_eq!(why(&v), ["not_lowered"], "{v}");
    assert_eq!(in_force(&app, &mina).await[0].0, 4);
    // レベル２氾濫注意報解除 names no municipality; the river's event is over all the same.
    let v = read(&app, &mina, "vxko-3-lift.xml").await;
    assert_eq!((v["result"].as_str(), why(&v)), (Some("cancelled"), vec!["lifted"]), "{v}");
    assert!(in_force(&app, &mina).await.is_empty());
}

#[tokio::test]
async fn telegrams_off_the_specification_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let mina = app.staff_token(MINA_ADMIN).await;
    read(&app, &mina, "vxww50-1-issue.xml").await;
    let recorded = app.count("SELECT COUNT(*) FROM jma_telegrams").await;
    let lift = data("vxww50-4-lift.xml");
    let cases = [
        (
            lift.replace("jmaxml1/informationBasis1/", "jmaxml1/informationBasis9/"),
            "jma_element",
            "http://xml.kishou.go.jp/jmaxml1/informationBasis1/",
        ),
        (lift.replace("<Status>解除</Status>", "<Status>解除済み</Status>"), "jma_value", "解除済み"),
        (lift.replace("<InfoKind>土砂災害警戒情報</InfoKind>", ""), "jma_missing", "InfoKind"),
        (lift.replace("<Report xmlns=\"http://xml.kishou.go.jp/jmaxml1/\"", "<Report"), "jma_element", "Report"),
        (lift.replace("<Code>0721200</Code>\n        </Area>", "</Area>"), "jma_missing", "Code"),
        ("<Report><Control>".to_string(), "jma_not_xml", "XML"),
    ];
    for (xml, code, says) in cases {
        let (status, v) = upload(&app, &mina, xml).await;
        assert_eq!((status, v["code"].as_str()), (400, Some(code)), "{v}");
        assert!(v["message"].as_str().unwrap().contains(says), "{v}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM jma_telegrams").await, recorded, "nothing recorded");
    assert_eq!(in_force(&app, &mina).await, [(4, "土砂災害警戒情報".to_string())], "the alert stands");
    // In English too, naming the element found and the one expected.
    let res = api()
        .post(app.url("/api/v1/admin/evacuation/jma"))
        .bearer_auth(&mina)
        .header("content-type", "application/xml")
        .header("accept-language", "en")
        .body(lift.replace("<Status>解除</Status>", "<Status>解除済み</Status>"))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    let m = v["message"].as_str().unwrap();
    assert!(m.contains("Body/Warning/Item/Kind/Status") && m.contains("解除済み") && m.contains("expected"), "{m}");
}
