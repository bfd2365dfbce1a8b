//! Procedures as data: import through the admin API, versioning, rejection of bad files;
//! API tokens, export, and the OpenAPI document.

use crate::harness::*;

const DOG: &str = include_str!("../../../../demo/procedures/minamisoma-inu-toroku.toml");

#[tokio::test]
async fn import_versions_and_rejects_bad_files() {
    let app = spawn_app().await;
    let admin = app.staff_token("admin@minamisoma.example.jp").await;
    let resident = app.resident_token().await;
    let c = api();
    let import = |body: String, ct: &'static str, token: String| {
        let url = app.url("/api/v1/admin/procedures");
        async move { api().post(url).bearer_auth(token).header("content-type", ct).body(body).send().await.unwrap() }
    };

    // A draft made against version 1.
    let res = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&resident)
        .json(&serde_json::json!({"tenant": "minamisoma", "procedure": "inu-toroku"}))
        .send()
        .await
        .unwrap();
    let draft = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();

    // Unchanged: nothing new.
    let res = import(DOG.to_string(), "application/toml", admin.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["version"], 1);
    // Changed: version 2 becomes current; the draft keeps version 1.
    let v2 = DOG.replace("standard_days = 7", "standard_days = 5");
    let res = import(v2.clone(), "application/toml", admin.clone()).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["version"], 2);
    let p: serde_json::Value =
        c.get(app.url("/api/v1/procedures/minamisoma/inu-toroku")).send().await.unwrap().json().await.unwrap();
    assert_eq!(p["version"], 2);
    assert_eq!(p["definition"]["standard_days"], 5);
    let d: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{draft}")), &resident).await;
    assert_eq!(d["procedure_version"], 1, "an application keeps the version it was made against");
    // JSON works too.
    let def: toml::Value = toml::from_str(&v2.replace("standard_days = 5", "standard_days = 6")).unwrap();
    let res = import(serde_json::to_string(&def).unwrap(), "application/json", admin.clone()).await;
    assert_eq!(res.status(), 201);

    // A bad file is rejected whole, naming the file, the field and the problem.
    let before = app.count("SELECT COUNT(*) FROM procedures").await;
    let res =
        import(v2.replace("max_length = 30", "max_length = 30\nmax_lenght = 3"), "application/toml", admin.clone())
            .await;
    assert_eq!(res.status(), 400);
    let msg = res.json::<serde_json::Value>().await.unwrap()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("request.toml") && msg.contains("pages[1].fields[0].max_lenght") && msg.contains("unknown key"),
        "{msg}"
    );
    let res = import(v2.replace("retention_years = 5", "retention_years = 7"), "application/toml", admin.clone()).await;
    let msg = res.json::<serde_json::Value>().await.unwrap()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("retention_years: must be 1, 3, 5, 10 or 30"), "{msg}");
    let res = import("tenant = ".into(), "application/toml", admin.clone()).await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM procedures").await, before, "nothing half-imported");

    // Another tenant's procedure, or a non-administrator: refused.
    assert_eq!(
        import(v2.replace("tenant = \"minamisoma\"", "tenant = \"aizuwakamatsu\""), "application/toml", admin.clone())
            .await
            .status(),
        403
    );
    let kacho = app.staff_token("kacho@minamisoma.example.jp").await;
    assert_eq!(import(v2.clone(), "application/toml", kacho).await.status(), 403);
    assert_eq!(import(v2, "application/toml", resident).await.status(), 403);
}

#[tokio::test]
async fn api_tokens_export_and_openapi() {
    let app = spawn_app().await;
    let resident = app.resident_token().await;
    let (_, receipt) = app.submit_dog(&resident, "モモ").await;
    let admin = app.staff_token("admin@minamisoma.example.jp").await;
    let c = api();
    let res = c
        .post(app.url("/api/v1/admin/api-tokens"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"name": "基幹システム連携"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = res.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let csv = c.get(app.url("/api/v1/staff/export?format=csv")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("receipt_number,tenant,procedure") && csv.contains(&receipt) && csv.contains("モモ"));
    let json: serde_json::Value =
        c.get(app.url("/api/v1/staff/export")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(json[0]["receipt_number"], receipt.as_str());
    assert_eq!(json[0]["answers"]["dog_name"], "モモ");
    assert!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'application.export'").await >= 2,
        "exports are audited"
    );
    let list: serde_json::Value =
        c.get(app.url("/api/v1/admin/api-tokens")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(list[0]["name"], "基幹システム連携");
    assert!(!list.to_string().contains(&token), "secrets are never shown back");

    // The OpenAPI document is 3.1 and lists exactly the API's routes.
    let doc: serde_json::Value = c.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| format!("{} {path}", m.to_uppercase())))
        .collect();
    documented.sort();
    let mut served = vec![
        "POST /api/v1/auth/signup",
        "POST /api/v1/auth/verify",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/logout",
        "GET /api/v1/procedures",
        "GET /api/v1/procedures/{tenant}/{code}",
        "GET /api/v1/applications",
        "POST /api/v1/applications",
        "GET /api/v1/applications/{id}",
        "GET /api/v1/applications/{id}/status",
        "PUT /api/v1/applications/{id}/answers",
        "POST /api/v1/applications/{id}/attachments",
        "GET /api/v1/applications/{id}/attachments/{aid}",
        "POST /api/v1/applications/{id}/submit",
        "POST /api/v1/applications/{id}/withdraw",
        "GET /api/v1/staff/applications",
        "GET /api/v1/staff/applications/{id}",
        "POST /api/v1/staff/applications/{id}/actions",
        "GET /api/v1/staff/export",
        "POST /api/v1/admin/procedures",
        "GET /api/v1/admin/api-tokens",
        "POST /api/v1/admin/api-tokens",
        "GET /api/v1/evacuation/{tenant}/hazards",
        "POST /api/v1/evacuation/{tenant}/plan",
        "GET /api/v1/admin/evacuation/layers",
        "PUT /api/v1/admin/evacuation/layers/{kind}",
        "POST /api/v1/admin/evacuation/jma",
        "GET /api/v1/staff/evacuation/alerts",
        "POST /api/v1/staff/evacuation/alerts",
        "POST /api/v1/staff/evacuation/alerts/{id}/approve",
        "POST /api/v1/staff/evacuation/alerts/{id}/cancel",
        "POST /api/v1/iot/uplink",
        "GET /api/v1/admin/iot/applications",
        "POST /api/v1/admin/iot/applications",
        "DELETE /api/v1/admin/iot/applications/{id}",
        "GET /api/v1/admin/iot/devices",
        "POST /api/v1/admin/iot/devices",
        "DELETE /api/v1/admin/iot/devices/{id}",
        "POST /api/v1/admin/iot/people",
        "POST /api/v1/admin/iot/people/{id}/end",
        "GET /api/v1/staff/iot/alarms",
        "GET /api/v1/staff/iot/permits",
        "POST /api/v1/staff/iot/permits",
        "POST /api/v1/staff/iot/permits/{id}/devices",
        "GET /api/v1/staff/iot/permits/{id}/report",
        "PUT /api/v1/admin/approval/{kind}",
        "GET /api/v1/approval",
        "POST /api/v1/approval",
        "GET /api/v1/approval/figures",
        "GET /api/v1/approval/{id}",
        "POST /api/v1/approval/{id}/acts",
        "POST /api/v1/approval/{id}/route",
        "POST /api/v1/approval/{id}/execute",
        "POST /api/v1/absences",
        "GET /api/v1/records/disposal",
        "POST /api/v1/records/disposal",
        "GET /api/v1/records/{id}/holds",
        "POST /api/v1/records/{id}/holds",
        "POST /api/v1/records/{id}/holds/{hold}/lift",
        "POST /api/v1/documents/verify",
        "GET /api/v1/signing-keys",
        "POST /api/v1/admin/signing-keys/rotate",
        "GET /api/v1/admin/signing-certificate",
        "PUT /api/v1/admin/signing-certificate",
        "DELETE /api/v1/admin/signing-certificate",
        "GET /api/v1/applications/{id}/payment",
        "POST /api/v1/applications/{id}/payment",
        "POST /api/v1/payments/webhooks/sandbox/{tenant}",
        "POST /api/v1/staff/applications/{id}/fee",
        "POST /api/v1/staff/payments/{id}/refunds",
        "POST /api/v1/staff/payments/reconcile",
        "GET /api/v1/staff/payments/totals",
        "POST /api/v1/payments/webhooks/stripe/{tenant}",
        "GET /api/v1/admin/payments/settings",
        "PUT /api/v1/admin/payments/settings",
        "GET /api/v1/admin/payments/schedule",
        "PUT /api/v1/admin/payments/schedule",
        "GET /api/v1/admin/payments/agents",
        "PUT /api/v1/admin/payments/agents/{provider}",
        "POST /api/v1/staff/refunds/{id}/review",
        "GET /api/v1/staff/payments/fiscal",
        "POST /api/v1/staff/applications/{id}/cash",
        "GET /api/v1/audit/proof",
        "POST /api/v1/auth/password",
        "POST /api/v1/auth/password/forgot",
        "POST /api/v1/auth/password/reset",
        "GET /api/v1/admin/staff",
        "POST /api/v1/admin/staff",
        "PATCH /api/v1/admin/staff/{id}",
        "POST /api/v1/admin/staff/{id}/deactivate",
    ];
    served.sort();
    assert_eq!(documented, served);
    // And every documented route answers (not 404/405) on the running server.
    for route in &served {
        let (method, path) = route.split_once(' ').unwrap();
        let path = path
            .replace("{tenant}", "minamisoma")
            .replace("{code}", "inu-toroku")
            .replace("{id}", "1")
            .replace("{aid}", "x");
        let req = c
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{}");
        let status = req.send().await.unwrap().status().as_u16();
        assert!(status != 405 && !(status == 404 && path.contains("/auth/")), "{route} → {status}");
    }
}

#[tokio::test]
async fn search_api_finds_japanese() {
    let app = spawn_app().await;
    let c = api();
    let hits: serde_json::Value =
        c.get(app.url("/api/v1/procedures?q=証明書")).send().await.unwrap().json().await.unwrap();
    let codes: Vec<&str> = hits.as_array().unwrap().iter().map(|h| h["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"juminhyo-shomei"), "{codes:?}");
    assert!(!codes.contains(&"inu-toroku"));
    let hits: serde_json::Value =
        c.get(app.url("/api/v1/procedures?q=わな&tenant=fukushima-pref")).send().await.unwrap().json().await.unwrap();
    assert!(hits.as_array().unwrap().iter().all(|h| h["tenant"] == "fukushima-pref"));
    assert!(!hits.as_array().unwrap().is_empty());
    let all: serde_json::Value = c.get(app.url("/api/v1/procedures")).send().await.unwrap().json().await.unwrap();
    assert!(all.as_array().unwrap().len() >= 7);
}
