//! Bad input gets a clear error and changes nothing; sessions, CSRF, rate limits, headers.

use crate::harness::*;

#[tokio::test]
async fn bad_requests_change_nothing() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let c = api();
    let before = app.count("SELECT COUNT(*) FROM applications").await;
    let post = |body: &'static str, ct: &'static str| {
        let url = app.url("/api/v1/applications");
        let token = token.clone();
        async move { api().post(url).bearer_auth(token).header("content-type", ct).body(body).send().await.unwrap() }
    };
    let res = post("{\"tenant\": ", "application/json").await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "bad_request");
    assert_eq!(post("tenant=x", "application/x-www-form-urlencoded").await.status(), 415);
    let res =
        post(r#"{"tenant": "minamisoma", "procedure": "no-such-thing", "submit": true}"#, "application/json").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "not_found");
    // Over-long and malformed answers: 422 naming each field.
    let mut answers = kencho::demo::inu_toroku_answers(1);
    answers["dog_name"] = serde_json::json!("ポ".repeat(31));
    answers["phone"] = serde_json::json!("12345");
    answers["sex"] = serde_json::json!("dragon");
    answers["unexpected"] = serde_json::json!("x");
    let res = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"tenant": "minamisoma", "procedure": "inu-toroku", "submit": true, "answers": answers}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let v: serde_json::Value = res.json().await.unwrap();
    let fields: Vec<&str> = v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["dog_name", "phone", "sex", "unexpected"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    // A body over the limit.
    let huge = vec![b'x'; 22 * 1024 * 1024];
    let res = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // No token.
    assert_eq!(c.get(app.url("/api/v1/applications")).send().await.unwrap().status(), 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM applications").await, before, "nothing was created");

    // The same submission retried with its Idempotency-Key: one application.
    let body = serde_json::json!({"tenant": "minamisoma", "procedure": "inu-toroku", "submit": true, "answers": kencho::demo::inu_toroku_answers(2)});
    let first = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let again = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let (a, b): (serde_json::Value, serde_json::Value) = (first.json().await.unwrap(), again.json().await.unwrap());
    assert_eq!(a["receipt_number"], b["receipt_number"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM applications").await, before + 1);

    // A stale revision is refused and changes nothing.
    let res = c
        .post(app.url("/api/v1/applications"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"tenant": "minamisoma", "procedure": "inu-toroku", "answers": {"dog_name": "タロ"}}))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    let id = v["id"].as_i64().unwrap();
    let res = c
        .put(app.url(&format!("/api/v1/applications/{id}/answers")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"revision": 1, "answers": {"dog_name": "ジロ"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "stale_form");
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(v["answers"]["dog_name"], "タロ");
    // Submitting an incomplete draft: 422, still a draft.
    let res = c
        .post(app.url(&format!("/api/v1/applications/{id}/submit")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"revision": v["revision"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let v: serde_json::Value = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(v["status"], "draft");
}

#[tokio::test]
async fn forms_need_csrf_tokens() {
    let app = spawn_app().await;
    let b = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let before = app.count("SELECT COUNT(*) FROM applications").await;
    let res = b
        .post(app.url("/procedures/minamisoma/inu-toroku/start"))
        .form(&[("applicant_kind", "self")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("画面の有効期限が切れました"), "a clear message in Japanese");
    let res = b
        .post(app.url("/procedures/minamisoma/inu-toroku/start?lang=en"))
        .form(&[("csrf", "forged-token-value-123456")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("This form has expired"), "and in English");
    // A token from another visitor does not work either.
    let other = browser();
    let page = other.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/procedures/minamisoma/inu-toroku/start"))
        .form(&[("csrf", csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM applications").await, before);
    // Logging out needs the token as well, and then ends the session.
    let res = b.post(app.url("/logout")).form(&[("csrf", "nope-nope-nope-nope-nope")]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let home = b.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert_eq!(
        b.post(app.url("/logout")).form(&[("csrf", csrf_of(&home).as_str())]).send().await.unwrap().status(),
        303
    );
    assert_eq!(b.get(app.url("/applications")).send().await.unwrap().status(), 401);
    // Expired sessions are purged.
    app.resident_token().await;
    sqlx::query("UPDATE sessions SET expires_at = 0").execute(app.db.unchecked_write_pool()).await.unwrap();
    assert!(kencho::accounts::purge_expired(&app.db).await.unwrap() >= 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn login_is_rate_limited_and_passwords_are_argon2id() {
    let app = spawn_app().await;
    let c = api();
    let hash: String = {
        use sqlx::Row;
        sqlx::query("SELECT password_hash FROM residents WHERE email = $1")
            .bind(kencho::demo::RESIDENT_EMAIL)
            .fetch_one(&app.db.read)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    assert!(hash.starts_with("$argon2id$"));
    for _ in 0..5 {
        let res = c
            .post(app.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": kencho::demo::RESIDENT_EMAIL, "password": "wrong password!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": kencho::demo::RESIDENT_EMAIL, "password": kencho::demo::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "locked for a while after five failures");
    // A staff password without the second factor gets no token.
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "kacho@minamisoma.example.jp", "password": kencho::demo::PASSWORD, "kind": "staff", "totp": "000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A TOTP code works once.
    let code = kencho::accounts::totp_code_now(&app.totp["admin@minamisoma.example.jp"]).unwrap();
    let body = serde_json::json!({"email": "admin@minamisoma.example.jp", "password": kencho::demo::PASSWORD, "kind": "staff", "totp": code});
    assert_eq!(c.post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap().status(), 200);
    assert_eq!(
        c.post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap().status(),
        401,
        "replayed code refused"
    );
}

#[tokio::test]
async fn pages_carry_security_headers_and_no_inline_script() {
    let app = spawn_app().await;
    let b = browser();
    for path in ["/", "/login", "/signup", "/procedures/minamisoma/inu-toroku", "/staff/login", "/no/such/page"] {
        let res = b.get(app.url(path)).send().await.unwrap();
        let csp =
            res.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(res.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
        let cookies: Vec<String> =
            res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
        assert!(cookies.iter().all(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax")), "{cookies:?}");
        let html = res.text().await.unwrap();
        assert!(!html.contains("<script>") && !html.contains(" onclick="), "{path} has inline script");
    }
    assert_eq!(b.get(app.url("/no/such/page")).send().await.unwrap().status(), 404);
}

/// A new staff member registers an authenticator at the first sign-in; until then, nothing.
#[tokio::test]
async fn new_staff_enrol_totp_at_first_sign_in() {
    let app = spawn_app().await;
    kencho::accounts::create_staff(
        &app.db,
        "aizuwakamatsu",
        ("shimin", "市民課"),
        "new@aizuwakamatsu.example.jp",
        "新人 一郎",
        kencho_core::application::Role::Tanto,
        "first-day-password",
    )
    .await
    .unwrap();
    let b = browser();
    let page = b.get(app.url("/staff/login")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/staff/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", "new@aizuwakamatsu.example.jp"),
            ("password", "first-day-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/staff/mfa");
    let mfa = b.get(app.url("/staff/mfa")).send().await.unwrap().text().await.unwrap();
    assert!(mfa.contains("data:image/svg+xml;base64,"), "a QR code to scan");
    let secret = mfa.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    // The enrolment page again shows the same secret (no new one per visit).
    let again = b.get(app.url("/staff/mfa")).send().await.unwrap().text().await.unwrap();
    assert!(again.contains(&secret));
    let wrong = b
        .post(app.url("/staff/mfa"))
        .form(&[("csrf", csrf_of(&mfa).as_str()), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(location(&b.get(app.url("/staff")).send().await.unwrap()), "/staff/mfa", "still locked");
    let code = kencho::accounts::totp_code_now(&secret).unwrap();
    let res = b
        .post(app.url("/staff/mfa"))
        .form(&[("csrf", csrf_of(&mfa).as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/staff");
    let inbox = b.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
    assert!(inbox.contains("受付箱") && inbox.contains("市民課"));
    assert_eq!(app.count("SELECT totp_enabled FROM staff WHERE email = 'new@aizuwakamatsu.example.jp'").await, 1);
}
