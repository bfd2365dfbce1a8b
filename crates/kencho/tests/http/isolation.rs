//! Tenants and residents are isolated: someone else's data is "not found", never the data.

use crate::harness::*;

#[tokio::test]
async fn other_residents_and_tenants_get_404() {
    let app = spawn_app().await;
    let taro = app.resident_token().await;
    let (id, receipt) = app.submit_dog(&taro, "ポチ").await;
    let hanako = app.second_resident("hanako@example.jp").await;
    let c = api();

    // Another resident: API and pages.
    let res = c.get(app.url(&format!("/api/v1/applications/{id}"))).bearer_auth(&hanako).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains(&receipt));
    let res =
        c.post(app.url(&format!("/api/v1/applications/{id}/withdraw"))).bearer_auth(&hanako).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let list: serde_json::Value =
        c.get(app.url("/api/v1/applications")).bearer_auth(&hanako).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
    let b = browser();
    let login = b.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    b.post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&login).as_str()),
            ("email", "hanako@example.jp"),
            ("password", "another-long-password"),
        ])
        .send()
        .await
        .unwrap();
    for path in
        [format!("/applications/{id}"), format!("/applications/{id}/pages/1"), format!("/applications/{id}/confirm")]
    {
        let res = b.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(!res.text().await.unwrap().contains("ポチ"));
    }

    // Staff of another tenant, through the API and the pages.
    let aizu_admin = app.staff_token("admin@aizuwakamatsu.example.jp").await;
    let res =
        c.get(app.url(&format!("/api/v1/staff/applications/{id}"))).bearer_auth(&aizu_admin).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let inbox: serde_json::Value = c
        .get(app.url("/api/v1/staff/applications"))
        .bearer_auth(&aizu_admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), 0);
    let export = c
        .get(app.url("/api/v1/staff/export?format=csv"))
        .bearer_auth(&aizu_admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!export.contains(&receipt));
    let pref = app.staff_browser("kakaricho@pref.fukushima.example.jp").await;
    assert_eq!(pref.get(app.url(&format!("/staff/applications/{id}"))).send().await.unwrap().status(), 404);

    // Staff of the same tenant but another division: not theirs either; the tenant
    // administrator sees every division.
    let other_division = app.staff_token("kakaricho@minamisoma.example.jp").await;
    assert_eq!(
        c.get(app.url(&format!("/api/v1/staff/applications/{id}")))
            .bearer_auth(&other_division)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let mina_admin = app.staff_token("admin@minamisoma.example.jp").await;
    assert_eq!(
        c.get(app.url(&format!("/api/v1/staff/applications/{id}")))
            .bearer_auth(&mina_admin)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Residents cannot use staff endpoints; staff cannot act as residents.
    assert_eq!(c.get(app.url("/api/v1/staff/applications")).bearer_auth(&taro).send().await.unwrap().status(), 403);
    assert_eq!(c.get(app.url("/api/v1/applications")).bearer_auth(&mina_admin).send().await.unwrap().status(), 403);
    // Drafts are the resident's own business, even for the tenant administrator.
    let res = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&taro)
        .json(&serde_json::json!({"tenant": "minamisoma", "procedure": "inu-toroku"}))
        .send()
        .await
        .unwrap();
    let draft = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(
        c.get(app.url(&format!("/api/v1/staff/applications/{draft}")))
            .bearer_auth(&mina_admin)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
