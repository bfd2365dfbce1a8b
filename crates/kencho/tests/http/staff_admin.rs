//! 職員管理 (issue 14, item 7): a tenant administrator invites staff by e-mail (the person sets
//! their own password through a single-use link), changes roles and divisions, adds divisions
//! and ends accounts, in the browser and the API, within their own tenant only.

use serde_json::{json, Value};

use crate::harness::*;

const ADMIN: &str = "admin@aizuwakamatsu.example.jp";
const TANTO: &str = "tanto@aizuwakamatsu.example.jp";

async fn staff_id(app: &TestApp, email: &str) -> i64 {
    app.count(&format!("SELECT id FROM staff WHERE email = '{email}'")).await
}

fn link_in(body: &str) -> String {
    body.split("/password/reset?token=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap().to_string()
}

#[tokio::test]
async fn an_invited_person_sets_their_own_password_and_signs_in() {
    let app = spawn_app().await;
    let admin = app.staff_browser(ADMIN).await;
    let page = admin.get(app.url("/staff/admin/staff")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(TANTO) && page.contains("職員を招待する"));
    let csrf = csrf_of(&page);
    let invite = |email: &'static str, division: &'static str| {
        let (b, url, csrf) = (admin.clone(), app.url("/staff/admin/staff"), csrf.clone());
        async move {
            let form = [
                ("csrf", csrf.as_str()),
                ("name", "喜多方 四郎"),
                ("email", email),
                ("division", division),
                ("role", "kakaricho"),
            ];
            b.post(url).form(&form).send().await.unwrap()
        }
    };
    let res = invite("new@aizuwakamatsu.example.jp", "shimin").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("new@aizuwakamatsu.example.jp に招待メールを送りました"));
    // The same address again, or a division the tenant does not have: refused, nothing made.
    assert_eq!(invite("new@aizuwakamatsu.example.jp", "shimin").await.status(), 409);
    assert_eq!(invite("other@aizuwakamatsu.example.jp", "no-such-division").await.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM staff WHERE email = 'other@aizuwakamatsu.example.jp'").await, 0);

    // Nobody signs in to an invited account until its link is used.
    let body = json!({"email": "new@aizuwakamatsu.example.jp", "password": "", "kind": "staff"});
    let r = api().post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let mail = app.smtp.wait_for("new@aizuwakamatsu.example.jp", "/password/reset?token=").await;
    assert!(mail.body.contains("喜多方 四郎"));
    let link = link_in(&mail.body);
    let set = json!({"token": link, "password": "kitakata-shiro-passphrase"});
    let r = api().post(app.url("/api/v1/auth/password/reset")).json(&set).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(api().post(app.url("/api/v1/auth/password/reset")).json(&set).send().await.unwrap().status(), 400);

    // The first sign-in goes on to enrol the second factor.
    let b = browser();
    let login = b.get(app.url("/staff/login")).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(app.url("/staff/login"))
        .form(&[
            ("csrf", csrf_of(&login).as_str()),
            ("email", "new@aizuwakamatsu.example.jp"),
            ("password", "kitakata-shiro-passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/staff/mfa");
    let listed = admin.get(app.url("/staff/admin/staff")).send().await.unwrap().text().await.unwrap();
    assert!(listed.contains("二要素認証の登録待ち"), "the list shows where the new account stands");
    let audited = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'staff.invite'").await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_administrator_changes_roles_adds_divisions_and_ends_accounts() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_api_token(ADMIN).await;
    let tanto_token = app.staff_token(TANTO).await;
    let tanto = staff_id(&app, TANTO).await;

    // A new division, then the 担当 moves there as 係長.
    let page = admin.get(app.url("/staff/admin/staff")).send().await.unwrap().text().await.unwrap();
    let res = admin
        .post(app.url("/staff/admin/divisions"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("code", "kankyo"), ("name", "環境課")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bad = admin
        .post(app.url("/staff/admin/divisions"))
        .form(&[("csrf", csrf_of(&page).as_str()), ("code", "Not A Code"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let r = api()
        .patch(app.url(&format!("/api/v1/admin/staff/{tanto}")))
        .bearer_auth(&token)
        .json(&json!({"role": "kakaricho", "division": "kankyo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let list: Value = get_json(&app.url("/api/v1/admin/staff"), &token).await;
    let me = list["staff"].as_array().unwrap().iter().find(|s| s["email"] == TANTO).unwrap().clone();
    assert_eq!((me["role"].as_str(), me["division_code"].as_str()), (Some("kakaricho"), Some("kankyo")));
    let r = api()
        .patch(app.url(&format!("/api/v1/admin/staff/{tanto}")))
        .bearer_auth(&token)
        .json(&json!({"role": "chief", "division": "kankyo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The tenant keeps an administrator, and nobody ends their own account.
    let me = staff_id(&app, ADMIN).await;
    let r = api()
        .patch(app.url(&format!("/api/v1/admin/staff/{me}")))
        .bearer_auth(&token)
        .json(&json!({"role": "tanto", "division": "joho"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let own = api().post(app.url(&format!("/api/v1/admin/staff/{me}/deactivate"))).bearer_auth(&token).send().await;
    assert_eq!(own.unwrap().status(), 409);

    // Another tenant's staff are not found; a non-administrator is refused.
    let other = staff_id(&app, "kakaricho@minamisoma.example.jp").await;
    let r = api().post(app.url(&format!("/api/v1/admin/staff/{other}/deactivate"))).bearer_auth(&token).send().await;
    assert_eq!(r.unwrap().status(), 404);
    let r = api().get(app.url("/api/v1/admin/staff")).bearer_auth(&tanto_token).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // Ending the 担当's account: its token stops, its password no longer signs in.
    let page = admin.get(app.url("/staff/admin/staff")).send().await.unwrap().text().await.unwrap();
    let res = admin
        .post(app.url(&format!("/staff/admin/staff/{tanto}/deactivate")))
        .form(&[("csrf", csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("利用停止"));
    let r = api().get(app.url("/api/v1/staff/applications")).bearer_auth(&tanto_token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body = json!({"email": TANTO, "password": kencho::demo::PASSWORD, "kind": "staff", "totp": "000000"});
    assert_eq!(api().post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap().status(), 401);
    let forgot = json!({"email": TANTO, "kind": "staff"});
    assert_eq!(api().post(app.url("/api/v1/auth/password/forgot")).json(&forgot).send().await.unwrap().status(), 202);
    assert_eq!(app.smtp.count_to(TANTO, "/password/reset?token="), 0, "an ended account gets no reset link");
    let again =
        api().post(app.url(&format!("/api/v1/admin/staff/{tanto}/deactivate"))).bearer_auth(&token).send().await;
    assert_eq!(again.unwrap().status(), 404, "an ended account is not live any more");
    for action in ["staff.change_role", "staff.deactivate", "division.save"] {
        let n = app.count(&format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")).await;
        assert_eq!(n, 1, "{action}");
    }
}
