//! Passwords (issue 14, item 7): a forgotten one is reset by a single-use link that expires,
//! asked for with the same answer whether the address exists; a signed-in owner changes it
//! knowing the current one; every other session ends when it is set.

use serde_json::json;

use crate::harness::*;

const NEW: &str = "a-brand-new-passphrase-7";

const LINK: &str = "/password/reset?token=";

/// The token of the `n`th reset link (from 1) mailed to `to`.
async fn reset_token(app: &TestApp, to: &str, n: usize) -> String {
    for _ in 0..150 {
        let mails: Vec<_> =
            app.smtp.all().into_iter().filter(|m| m.to.iter().any(|t| t == to) && m.body.contains(LINK)).collect();
        if let Some(m) = mails.get(n - 1) {
            return m.body.split(LINK).nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no reset link number {n} to {to}");
}

async fn forgot(app: &TestApp, body: serde_json::Value) -> u16 {
    api().post(app.url("/api/v1/auth/password/forgot")).json(&body).send().await.unwrap().status().as_u16()
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    let body = json!({"email": email, "password": password});
    api().post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_by_the_mailed_link() {
    let app = spawn_app().await;
    let email = kencho::demo::RESIDENT_EMAIL;
    let signed_in = app.resident_browser(email, kencho::demo::PASSWORD).await;
    let token = app.resident_token().await;

    // The same answer for an address with no account, and no mail to it.
    assert_eq!(forgot(&app, json!({"email": "nobody@example.jp"})).await, 202);
    assert_eq!(forgot(&app, json!({"email": email})).await, 202);
    assert_eq!(forgot(&app, json!({"email": "not an address"})).await, 400);
    let link = reset_token(&app, email, 1).await;
    assert_eq!(app.smtp.count_to("nobody@example.jp", ""), 0);

    // Opening the link changes nothing; a refused password keeps the link live.
    let b = browser();
    let page = b.get(app.url(&format!("/password/reset?token={link}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let res = b
        .post(app.url("/password/reset"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("token", link.as_str()), ("password", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(login_status(&app, email, kencho::demo::PASSWORD).await, 200, "still the old password");

    let res = b
        .post(app.url("/password/reset"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("token", link.as_str()), ("password", NEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("href=\"/login\""));

    // Every session of the account ended: the browser's and the API's.
    let mine = signed_in.get(app.url("/applications")).send().await.unwrap();
    assert_eq!(mine.status(), 401);
    let r = api().get(app.url("/api/v1/applications")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(login_status(&app, email, kencho::demo::PASSWORD).await, 401);
    assert_eq!(login_status(&app, email, NEW).await, 200);

    // Used once: a second use, by the page or the API, changes nothing.
    let again = b
        .post(app.url("/password/reset"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("token", link.as_str()), ("password", "yet-another-passphrase-9")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let api_again = api()
        .post(app.url("/api/v1/auth/password/reset"))
        .json(&json!({"token": link, "password": "yet-another-passphrase-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api_again.status(), 400);
    assert_eq!(api_again.json::<serde_json::Value>().await.unwrap()["code"], "bad_request");
    assert_eq!(b.get(app.url(&format!("/password/reset?token={link}"))).send().await.unwrap().status(), 400);
    assert_eq!(login_status(&app, email, NEW).await, 200);
    let audited = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'account.password_reset'").await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_expired_link_or_one_of_two_racing_uses_changes_nothing_twice() {
    let app = spawn_app().await;
    let email = kencho::demo::RESIDENT_EMAIL;
    assert_eq!(forgot(&app, json!({"email": email, "lang": "en"})).await, 202);
    let link = reset_token(&app, email, 1).await;
    let english = app.count("SELECT COUNT(*) FROM outbox WHERE subject = '[kencho] Reset your password'").await;
    assert_eq!(english, 1, "the mail is in the language asked");

    // Ten uses of one link at once: one sets the password.
    let mut uses = Vec::new();
    for i in 0..10 {
        let (url, link) = (app.url("/api/v1/auth/password/reset"), link.clone());
        uses.push(tokio::spawn(async move {
            let body = json!({"token": link, "password": format!("{NEW}-{i}")});
            api().post(url).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for u in uses {
        statuses.push(u.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 9, "{statuses:?}");

    // A link past its hour is refused, and the password stays.
    assert_eq!(forgot(&app, json!({"email": email})).await, 202);
    let late = reset_token(&app, email, 2).await;
    assert_ne!(late, link);
    sqlx::query("UPDATE password_resets SET expires_at = 1 WHERE used_at IS NULL")
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    let res = api()
        .post(app.url("/api/v1/auth/password/reset"))
        .json(&json!({"token": late, "password": "late-but-long-passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(login_status(&app, email, "late-but-long-passphrase").await, 401);
}

#[tokio::test]
async fn staff_change_their_password_knowing_the_current_one_and_other_sessions_end() {
    let app = spawn_app().await;
    let email = "tanto@aizuwakamatsu.example.jp";
    let other = app.staff_token(email).await;
    let b = app.staff_browser(email).await;
    let page = b.get(app.url("/account/password")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"current\""));

    let wrong = b
        .post(app.url("/account/password"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("current", "not-my-password"), ("password", NEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    assert!(wrong.text().await.unwrap().contains("現在のパスワードが違います"));
    assert_eq!(
        api().get(app.url("/api/v1/staff/applications")).bearer_auth(&other).send().await.unwrap().status(),
        200
    );

    let res = b
        .post(app.url("/account/password"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("current", kencho::demo::PASSWORD), ("password", NEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // This browser stays signed in; the other session has ended.
    assert_eq!(b.get(app.url("/staff")).send().await.unwrap().status(), 200);
    assert_eq!(
        api().get(app.url("/api/v1/staff/applications")).bearer_auth(&other).send().await.unwrap().status(),
        401
    );
    let body = json!({"email": email, "password": kencho::demo::PASSWORD, "kind": "staff", "totp": "000000"});
    let old = api().post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(old.status(), 401, "the old password no longer signs in");

    // Staff ask for a link on their own page; a resident's sign-out page is not theirs.
    let f = browser();
    let form = f.get(app.url("/staff/password/forgot")).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("action=\"/staff/password/forgot\""));
    let sent = f
        .post(app.url("/staff/password/forgot"))
        .form(&[("csrf", csrf_of(&form).as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let link = reset_token(&app, email, 1).await;
    let res = api()
        .post(app.url("/api/v1/auth/password/reset"))
        .json(&json!({"token": link, "password": "staff-reset-passphrase-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(b.get(app.url("/staff")).send().await.unwrap().status(), 401, "the reset ended this session too");
}

#[tokio::test]
async fn changing_a_password_needs_a_signed_in_session() {
    let app = spawn_app().await;
    let anonymous = browser().get(app.url("/account/password")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body = json!({"current": kencho::demo::PASSWORD, "password": NEW});
    let res = api().post(app.url("/api/v1/auth/password")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let token = app.resident_token().await;
    let res = api().post(app.url("/api/v1/auth/password")).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(login_status(&app, kencho::demo::RESIDENT_EMAIL, NEW).await, 200);
}
