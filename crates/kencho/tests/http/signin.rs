//! Signing in (issue 11): atomic limits that a stranger cannot use to lock the owner out, the
//! password policy, limits on sign-up, idle sessions, the security-event log, and the headers,
//! exports and API description that go with them.

use serde_json::{json, Value};

use crate::harness::*;

/// Restarts the app behind a "reverse proxy" at 127.0.0.1, so tests can speak from many
/// addresses with `X-Forwarded-For`.
async fn behind_proxy() -> TestApp {
    let mut app = spawn_app().await;
    app.cfg.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    app.kill_server().await;
    app.start_server().await;
    app
}

async fn login_from(app: &TestApp, b: &reqwest::Client, ip: &str, password: &str) -> reqwest::StatusCode {
    let page = b.get(app.url("/login")).header("x-forwarded-for", ip).send().await.unwrap().text().await.unwrap();
    b.post(app.url("/login"))
        .header("x-forwarded-for", ip)
        .form(&[("csrf", csrf_of(&page).as_str()), ("email", kencho::demo::RESIDENT_EMAIL), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn concurrent_guesses_are_counted_and_the_owner_still_gets_in() {
    let app = behind_proxy().await;
    // The owner has signed in from this browser before.
    let owner = browser();
    assert_eq!(login_from(&app, &owner, "10.0.0.7", kencho::demo::PASSWORD).await, 303);
    // A stranger fires 40 wrong passwords at once from one address: 5 are checked.
    let stranger = browser();
    let page = stranger.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    let mut tries = Vec::new();
    for _ in 0..40 {
        let (s, url, csrf) = (stranger.clone(), app.url("/login"), csrf.clone());
        tries.push(tokio::spawn(async move {
            s.post(url)
                .header("x-forwarded-for", "203.0.113.66")
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", kencho::demo::RESIDENT_EMAIL),
                    ("password", "wrong-password-1"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 35);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM security_events WHERE kind = 'login_failed' AND ip = '203.0.113.66'").await,
        5,
        "every failure is recorded durably"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM security_events WHERE kind = 'block_started'").await, 1);
    // The stranger's address is blocked, even with the right password…
    assert_eq!(login_from(&app, &browser(), "203.0.113.66", kencho::demo::PASSWORD).await, 429);
    // …and the owner, elsewhere, is not.
    assert_eq!(login_from(&app, &browser(), "10.0.0.8", kencho::demo::PASSWORD).await, 303);
    // Guessing from many addresses: after 20 failures on the account, new browsers wait…
    for i in 0..4 {
        for _ in 0..5 {
            login_from(&app, &browser(), &format!("198.51.100.{i}"), "wrong-password-2").await;
        }
    }
    assert_eq!(login_from(&app, &browser(), "198.51.100.200", kencho::demo::PASSWORD).await, 429);
    // …but a browser that signed in to the account before still gets in, from anywhere.
    assert_eq!(login_from(&app, &owner, "192.0.2.50", kencho::demo::PASSWORD).await, 303);
}

#[tokio::test]
async fn passwords_and_sign_ups_have_rules() {
    let app = spawn_app().await;
    let signup = |email: &'static str, password: &'static str| {
        let url = app.url("/api/v1/auth/signup");
        async move {
            api()
                .post(url)
                .json(&json!({"email": email, "name": "相馬 花子", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    for (password, code) in [
        ("short", "password_too_short"),
        ("1234567890", "password_common"),
        ("Basketball2026!", "password_common"),
        ("hanako.souma2026", "password_personal"),
        ("zzzzzzzzzzzzzzz", "password_repetitive"),
    ] {
        let res = signup("hanako.souma@example.jp", password).await;
        assert_eq!(res.status(), 400, "{password}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], code, "{password}");
    }
    // One address cannot make the office send mail without end.
    for _ in 0..3 {
        assert_eq!(signup("flood@example.jp", "a-long-enough-passphrase").await.status(), 202);
    }
    assert_eq!(signup("flood@example.jp", "a-long-enough-passphrase").await.status(), 429);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.smtp.count_to("flood@example.jp", ""), 3);
}

#[tokio::test]
async fn sessions_end_when_idle_and_staff_get_a_new_token_after_the_second_factor() {
    let app = spawn_app().await;
    let token = app.resident_token().await;
    let me = || api().get(app.url("/api/v1/applications")).bearer_auth(&token).send();
    assert_eq!(me().await.unwrap().status(), 200);
    sqlx::query("UPDATE sessions SET last_seen_at = 1, created_at = 1")
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    assert_eq!(me().await.unwrap().status(), 401, "an hour unused ends a resident's session");
    // The half-signed-in token stops working once the second factor is in.
    let b = browser();
    let page = b.get(app.url("/staff/login")).send().await.unwrap().text().await.unwrap();
    let email = "kacho@minamisoma.example.jp";
    b.post(app.url("/staff/login"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("email", email), ("password", kencho::demo::PASSWORD)])
        .send()
        .await
        .unwrap();
    let before = app.count("SELECT COUNT(*) FROM sessions WHERE kind = 'staff' AND mfa_ok = 0").await;
    assert_eq!(before, 1);
    let mfa = b.get(app.url("/staff/mfa")).send().await.unwrap().text().await.unwrap();
    let code = app.totp_code(email).await;
    let res = b
        .post(app.url("/staff/mfa"))
        .form(&[("csrf", csrf_of(&mfa).as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/staff");
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("kencho_session=")), "a new session cookie: {cookies:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE kind = 'staff' AND mfa_ok = 0").await, 0);
    assert_eq!(b.get(app.url("/staff")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn headers_exports_and_the_api_description() {
    let mut app = spawn_app().await;
    // A resident whose name is a formula: the office's CSV shows it as text.
    let res = api()
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "formula@example.jp", "name": "=HYPERLINK(\"http://evil.example\",\"x\")", "password": "another-long-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let mail = app.smtp.wait_for("formula@example.jp", "/verify?token=").await;
    let t = mail.body.split("/verify?token=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_string();
    api().post(app.url("/api/v1/auth/verify")).json(&json!({"token": t})).send().await.unwrap();
    let token = api()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "formula@example.jp", "password": "another-long-password"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    app.submit_dog(&token, "ポチ").await;
    let kacho = app.staff_browser("kacho@minamisoma.example.jp").await;
    let csv = kacho.get(app.url("/staff/export.csv")).send().await.unwrap().text().await.unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "{csv}");

    // Every signed-in operation documents its refusals, each with the error body.
    let doc: Value = api().get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("security").is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty())) {
                for code in ["401", "403"] {
                    assert!(op["responses"].get(code).is_some(), "{method} {path} lacks {code}");
                }
                checked += 1;
            }
            if path.contains('{') {
                assert!(op["responses"].get("404").is_some(), "{method} {path} lacks 404");
            }
        }
    }
    assert!(checked > 40, "{checked}");

    // HSTS only when served over HTTPS (`--secure-cookies`); Permissions-Policy always.
    let res = browser().get(app.url("/")).send().await.unwrap();
    assert!(res.headers().get("permissions-policy").is_some());
    assert!(res.headers().get("strict-transport-security").is_none());
    app.cfg.secure_cookies = true;
    app.kill_server().await;
    app.start_server().await;
    let res = browser().get(app.url("/")).send().await.unwrap();
    let hsts = res.headers().get("strict-transport-security").unwrap().to_str().unwrap();
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
}
