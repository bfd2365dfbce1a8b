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

/// Two kencho servers on one database: what one writes, the other serves; mail goes once.
#[tokio::test]
async fn two_servers_share_one_database() {
    let app = spawn_app().await;
    let other = app.second_server().await;
    let token = app.resident_token().await;
    let (id, receipt) = app.submit_dog(&token, "ゴン").await;
    // Staff log in and act on the second server; the session lives in the database.
    let code = kencho::accounts::totp_code_now(&app.totp["kacho@minamisoma.example.jp"]).unwrap();
    let login: serde_json::Value = api()
        .post(format!("{other}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "kacho@minamisoma.example.jp", "password": kencho::demo::PASSWORD, "kind": "staff", "totp": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let staff = login["token"].as_str().unwrap().to_string();
    let res = api()
        .post(format!("{other}/api/v1/staff/applications/{id}/actions"))
        .bearer_auth(&staff)
        .json(&serde_json::json!({"action": "accept"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The first server sees it at once, with the staff token too.
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(v["status"], "accepted");
    assert_eq!(
        api().get(app.url("/api/v1/staff/applications")).bearer_auth(&staff).send().await.unwrap().status(),
        200
    );
    app.smtp.wait_for(kencho::demo::RESIDENT_EMAIL, "受付済").await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(app.smtp.count_to(kencho::demo::RESIDENT_EMAIL, &receipt), 2, "receipt and acceptance, each once");
    assert!(kencho::audit::verify(&app.db).await.unwrap().iter().all(|r| r.problem.is_none()), "one intact chain");
}
