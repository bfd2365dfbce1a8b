//! マイ避難's public data as its publishers publish it (issue 12): the 国土数値情報 flood layers one
//! scenario per file (A31a 想定最大規模 and 浸水継続時間, the older A31), A33 with a 指定前 zone, GSI's
//! site list in Shift_JIS and in UTF-8 with a BOM, and the Address Base Registry's mt_town and
//! mt_town_pos as two files or one zip. The files are in `tests/data/` (see its README).

use crate::harness::*;

const MINA_ADMIN: &str = "admin@minamisoma.example.jp";
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{name}")).expect("test data file")
}

async fn put(app: &TestApp, admin: &str, kind: &str, name: &str) -> (u16, serde_json::Value) {
    let url = app.url(&format!("/api/v1/admin/evacuation/layers/{kind}?file_name={name}"));
    let res = api().put(url).bearer_auth(admin).body(data(name)).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn put_files(app: &TestApp, admin: &str, kind: &str, names: &[&str]) -> (u16, serde_json::Value) {
    let mut form = reqwest::multipart::Form::new();
    for n in names {
        form = form.part("file", reqwest::multipart::Part::bytes(data(n)).file_name(n.to_string()));
    }
    let url = app.url(&format!("/api/v1/admin/evacuation/layers/{kind}"));
    let res = api().put(url).bearer_auth(admin).multipart(form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn hazards(app: &TestApp, lat: f64, lon: f64) -> serde_json::Value {
    let url = app.url(&format!("/api/v1/evacuation/minamisoma/hazards?lat={lat}&lon={lon}"));
    api().get(url).send().await.unwrap().json().await.unwrap()
}

/// A plan for a household of one on the ground floor, by 町字; returns the plan page.
async fn plan_page(app: &TestApp, town: &str) -> String {
    let b = browser();
    let start = b.get(app.url("/evacuation")).send().await.unwrap().text().await.unwrap();
    let res = b.post(app.url("/evacuation/minamisoma/start")).form(&[("csrf", csrf_of(&start))]).send().await.unwrap();
    let to = location(&res);
    let token = to.trim_start_matches("/evacuation/p/").trim_end_matches("/where").to_string();
    let csrf = csrf_of(&b.get(app.url(&to)).send().await.unwrap().text().await.unwrap());
    let res = b.post(app.url(&to)).form(&[("csrf", csrf.as_str()), ("town", town)]).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap_or_default());
    let home = [("csrf", csrf.as_str()), ("floor", "1"), ("hold_out", "yes"), ("car", "no"), ("safe_house", "")];
    b.post(app.url(&format!("/evacuation/p/{token}/home"))).form(&home).send().await.unwrap();
    let people = [("csrf", csrf.as_str()), ("name1", "太郎"), ("intent", "next")];
    b.post(app.url(&format!("/evacuation/p/{token}/people"))).form(&people).send().await.unwrap();
    b.get(app.url(&format!("/evacuation/p/{token}"))).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn flood_scenarios_load_side_by_side_and_plans_use_the_largest() {
    let app = spawn_app().await;
    let admin = app.staff_token(MINA_ADMIN).await;
    // 本町一丁目's point: 計画規模 (the demo's layer) says rank 2.
    let (lat, lon) = (37.6435, 140.948);
    let hz = hazards(&app, lat, lon).await;
    assert_eq!((hz["flood_rank"].as_i64(), hz["flood_scale"].as_str()), (Some(2), Some("planned")), "{hz}");

    // A31a 想定最大規模 (A31a_205): its own slot, in use beside the 計画規模 layer.
    let (status, v) = put(&app, &admin, "flood", "A31a-20-24_07_8303030555_20.geojson").await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["scenario"].as_str(), v["version"].as_i64(), v["items"].as_i64()),
        (Some("maximum"), Some(2), Some(2))
    );
    let layers = get_json(&app.url("/api/v1/admin/evacuation/layers"), &admin).await;
    let active: Vec<String> = layers
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "flood" && l["active"] == true)
        .map(|l| l["scenario"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(active, ["maximum", "planned"], "both scenarios in use: {layers}");
    let hz = hazards(&app, lat, lon).await;
    assert_eq!((hz["flood_rank"].as_i64(), hz["flood_scale"].as_str()), (Some(3), Some("maximum")), "{hz}");
    // Where the 想定最大規模 layer does not reach, the 計画規模 one still answers.
    let hz = hazards(&app, 37.636, 140.956).await;
    assert_eq!((hz["flood_rank"].as_i64(), hz["flood_scale"].as_str()), (Some(2), Some("planned")), "{hz}");

    // 浸水継続時間 (A31a_305): stored and shown, a third slot.
    let (status, v) = put(&app, &admin, "flood", "A31a-30-24_07_8303030555_20.geojson").await;
    assert_eq!((status, v["scenario"].as_str()), (201, Some("duration")), "{v}");
    let hz = hazards(&app, lat, lon).await;
    assert_eq!((hz["flood_rank"].as_i64(), hz["flood_duration_rank"].as_i64()), (Some(3), Some(4)), "{hz}");

    // The plan names the scale its depth is for, and the duration.
    let page = plan_page(&app, "0721250001001").await;
    assert!(page.contains("洪水（想定最大規模）：3〜5mの浸水が想定されます"), "{page}");
    assert!(page.contains("浸水継続時間：3日〜1週間"), "{page}");
    let page = plan_page(&app, "0721250001002").await;
    assert!(
        page.contains("洪水（計画規模）：0.5〜3mの浸水が想定されます"),
        "本町二丁目 is outside the 想定最大規模 layer"
    );

    // The 2019–2021 A31 product: A31_201 is the 想定最大規模 rank; it becomes that slot's version.
    let (status, v) = put(&app, &admin, "flood", "A31-20_07_20.geojson").await;
    assert_eq!((status, v["scenario"].as_str(), v["version"].as_i64()), (201, Some("maximum"), Some(4)), "{v}");
    assert_eq!(hazards(&app, lat, lon).await["flood_rank"].as_i64(), Some(4));

    // Bad files: the message names the attribute found and the one expected; nothing changes.
    let before = get_json(&app.url("/api/v1/admin/evacuation/layers"), &admin).await;
    let collapse = String::from_utf8(data("A31a-20-24_07_8303030555_20.geojson")).unwrap().replace("A31a_2", "A31a_4");
    let res = api()
        .put(app.url("/api/v1/admin/evacuation/layers/flood?file_name=A31a-41.geojson"))
        .bearer_auth(&admin)
        .body(collapse)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["code"], "data_feature", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("A31a-41.geojson: feature 1: A31a_405 (危険区域区分)") && msg.contains("house_collapse"),
        "{msg}"
    );
    let deeper = String::from_utf8(data("A31a-20-24_07_8303030555_20.geojson"))
        .unwrap()
        .replace("\"A31a_205\": 1", "\"A31a_205\": 7");
    let res = api()
        .put(app.url("/api/v1/admin/evacuation/layers/flood"))
        .bearer_auth(&admin)
        .header("accept-language", "en")
        .body(deeper)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("feature 2: A31a_205 (浸水深ランク) must be 1 to 6, found 7"),
        "{v}"
    );
    assert_eq!(get_json(&app.url("/api/v1/admin/evacuation/layers"), &admin).await, before, "nothing half-loaded");
}

#[tokio::test]
async fn a_zone_before_designation_loads_and_is_shown_as_such() {
    let app = spawn_app().await;
    let admin = app.staff_token(MINA_ADMIN).await;
    // A33 with 区域区分 3 (警戒区域, 指定前) and the zone's outline as a line feature.
    let (status, v) = put(&app, &admin, "landslide", "A33-24_07.geojson").await;
    assert_eq!((status, v["items"].as_i64()), (201, Some(1)), "{v}");
    let hz = hazards(&app, 37.648, 140.978).await;
    assert_eq!(hz["landslide"]["designated"], false, "{hz}");
    assert_eq!(
        (hz["landslide"]["kind"].as_str(), hz["landslide"]["red"].as_bool()),
        (Some("steep_slope"), Some(false))
    );
    let page = plan_page(&app, "0721250005000").await;
    assert!(page.contains("土砂災害警戒区域（イエロー）・指定前"), "{page}");
    assert!(page.contains("土砂災害警戒区域にあるため"), "a zone not yet designated is left all the same");
    let en = hazards_en(&app, 37.648, 140.978).await;
    assert!(en.contains("not yet designated (指定前"), "{en}");
}

async fn hazards_en(app: &TestApp, lat: f64, lon: f64) -> String {
    let url = app.url(&format!("/api/v1/evacuation/minamisoma/hazards?lat={lat}&lon={lon}"));
    let v: serde_json::Value =
        api().get(url).header("accept-language", "en").send().await.unwrap().json().await.unwrap();
    v["description"].to_string()
}

#[tokio::test]
async fn site_lists_load_from_shift_jis_and_from_utf8_with_a_bom() {
    let app = spawn_app().await;
    let admin = app.staff_token(MINA_ADMIN).await;
    let (status, sjis) = put(&app, &admin, "sites", "07212_2-shift_jis.csv").await;
    assert_eq!((status, sjis["items"].as_i64()), (201, Some(4)), "{sjis}");
    let plan = |lat: f64, lon: f64| {
        let url = app.url("/api/v1/evacuation/minamisoma/plan");
        async move {
            let body = serde_json::json!({"lat": lat, "lon": lon, "living_floor": 1, "members": [{"name": "母"}]});
            api().post(url).json(&body).send().await.unwrap().json::<serde_json::Value>().await.unwrap()
        }
    };
    // Windows-31J characters (髙, ①) come through as written.
    assert_eq!(plan(37.6599, 140.9699).await["destination"], "髙台広場①（サンプル）");
    let (status, bom) = put(&app, &admin, "sites", "07212_2-utf8-bom.csv").await;
    assert_eq!(status, 201, "{bom}");
    assert_eq!(bom["sha256"], sjis["sha256"], "the same list in either encoding is stored as the same text");
    // Bytes that are neither are refused by name, and change nothing.
    let res = api()
        .put(app.url("/api/v1/admin/evacuation/layers/sites?file_name=latin1.csv"))
        .bearer_auth(&admin)
        .body(b"NO,\xe9\x82\x20\xff\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["code"], "data_encoding", "{v}");
    assert!(v["message"].as_str().unwrap().contains("latin1.csv: the file is neither UTF-8 nor Shift_JIS"), "{v}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM evacuation_layers WHERE kind = 'sites'").await,
        3,
        "demo, Shift_JIS, BOM"
    );
}

#[tokio::test]
async fn towns_load_as_the_registry_ships_them() {
    let app = spawn_app().await;
    let (staff, admin) = app.admin_api_token(MINA_ADMIN).await;
    // Two files, the positions first.
    let (status, v) = put_files(&app, &admin, "towns", &["mt_town_pos_city072125.csv", "mt_town_city072125.csv"]).await;
    assert_eq!((status, v["items"].as_i64()), (201, Some(10)), "{v}");
    // One zip holding both (mt_town re-published in Shift_JIS).
    let (status, v) = put(&app, &admin, "towns", "mt_town_072125-both.zip").await;
    assert_eq!((status, v["items"].as_i64(), v["version"].as_i64()), (201, Some(10), Some(3)), "{v}");
    // Each zipped, as downloaded.
    let (status, v) =
        put_files(&app, &admin, "towns", &["mt_town_city072125.csv.zip", "mt_town_pos_city072125.csv.zip"]).await;
    assert_eq!(status, 201, "{v}");
    let audit = app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'evacuation.layer_loaded' AND detail LIKE '%Shift_JIS%'")
        .await;
    assert_eq!(audit, 1, "the audit log says how each file was read");

    // Half a pair is refused, naming what is missing; nothing changes.
    let before = get_json(&app.url("/api/v1/admin/evacuation/layers"), &admin).await;
    let (status, v) = put_files(&app, &admin, "towns", &["mt_town_city072125.csv"]).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("data_files")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("mt_town_pos"), "{v}");
    assert_eq!(get_json(&app.url("/api/v1/admin/evacuation/layers"), &admin).await, before);

    // The staff page takes both files in one upload, and shows a bad pair's message on the page.
    let upload = |names: &'static [&'static str]| {
        let staff = staff.clone();
        let url = app.url("/staff/evacuation/layers");
        let page_url = app.url("/staff/evacuation");
        async move {
            let page = staff.get(page_url).send().await.unwrap().text().await.unwrap();
            let mut form = reqwest::multipart::Form::new().text("csrf", csrf_of(&page)).text("kind", "towns");
            for n in names {
                form = form.part("file", reqwest::multipart::Part::bytes(data(n)).file_name(n.to_string()));
            }
            let res = staff.post(url).multipart(form).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, page) = upload(&["mt_town_city072125.csv.zip", "mt_town_pos_city072125.csv.zip"]).await;
    assert_eq!(status, 200);
    assert!(page.contains("第5版として読み込みました（10件）"), "{page}");
    let (status, page) = upload(&["mt_town_pos_city072125.csv"]).await;
    assert_eq!(status, 400);
    assert!(page.contains("mt_town_pos_city072125.csv は町字位置参照（mt_town_pos）です"), "{page}");

    // 旭町 was abolished (ablt_date 2019-04-01): its address matches nothing, and a map point at
    // it is placed in the nearest town in force.
    let b = browser();
    let start = b.get(app.url("/evacuation")).send().await.unwrap().text().await.unwrap();
    let res = b.post(app.url("/evacuation/minamisoma/start")).form(&[("csrf", csrf_of(&start))]).send().await.unwrap();
    let to = location(&res);
    let page = b.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("0721250008000"), "an abolished town is not offered");
    let res = b
        .post(app.url(&to))
        .form(&[("csrf", csrf_of(&page).as_str()), ("address", "福島県南相馬市旭町1-2")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("住所から場所が分かりませんでした"));
    let hz = hazards(&app, 37.655, 140.950).await;
    assert_ne!(hz["town_id"], "0721250008000", "{hz}");
    assert_eq!(hz["town_id"], "0721250004000", "高台 is the nearest town in force");
}
