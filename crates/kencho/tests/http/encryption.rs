//! Secrets and special-care personal data sealed at rest under a key kept outside the
//! database: nothing readable in the rows or the SQLite file, a forged webhook signed with
//! what the database holds is refused, rotation and re-encryption keep everything working
//! after the old key is gone, and a wrong or missing key stops the server at start.

use std::process::Command;

use serde_json::{json, Value};
use sqlx::Row;

use crate::documents::{accept_and_approve, verify_api};
use crate::harness::*;
use crate::payments::{dog_with_fee, draft_dog, sandbox_post, start_paying, wait_state};

const KACHO: &str = "kacho@minamisoma.example.jp";
const ADMIN: &str = "admin@minamisoma.example.jp";
const STRIPE_KEY: &str = "sk_test_sealed_4f7c2a9e";
const STRIPE_WHSEC: &str = "whsec_sealed_8b1d6e3f";
const DOG: &str = "シールドマル";
const CONSENT: &str = "2026-12-01 本人と長女が書面で同意（封緘テスト）";

/// Every value of `column` in `table` (text; NULLs left out).
async fn values(app: &TestApp, table: &str, column: &str) -> Vec<String> {
    let sql = format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL");
    sqlx::query(&sql).fetch_all(&app.db.read).await.unwrap().iter().map(|r| r.try_get(0).unwrap()).collect()
}

/// The SQLite database's bytes, the write-ahead log included (`None` on PostgreSQL).
fn sqlite_bytes(app: &TestApp) -> Option<Vec<u8>> {
    if !app.db_url.starts_with("sqlite") {
        return None;
    }
    let mut all = std::fs::read(app.data_dir.join("kencho.db")).unwrap();
    if let Ok(wal) = std::fs::read(app.data_dir.join("kencho.db-wal")) {
        all.extend(wal);
    }
    Some(all)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn add_watched_person(app: &TestApp, admin: &str) -> i64 {
    let res = api()
        .post(app.url("/api/v1/admin/iot/people"))
        .bearer_auth(admin)
        .json(&json!({
            "name": "封緘 ハナ", "area": "原町区", "inactivity_hours": 12, "escalation_wait_min": 30,
            "consent": CONSENT,
            "contacts": [{"name": "長女", "email": "daughter@family.example.jp", "role": "family"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// Stores the Stripe key and webhook secret (Stripe on, or kept off so the sandbox serves).
async fn set_stripe(app: &TestApp, admin: &str, enabled: bool) {
    // Stripe is a 指定納付受託者: its designation is recorded before it is switched on.
    let agent =
        json!({"agent_name": "Stripe", "kokuji_number": "告示第1号", "kokuji_date": "2026-04-01", "covers": ["*"]});
    let res = api()
        .put(app.url("/api/v1/admin/payments/agents/stripe"))
        .bearer_auth(admin)
        .json(&agent)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
    let res = api()
        .put(app.url("/api/v1/admin/payments/settings"))
        .bearer_auth(admin)
        .json(&json!({"stripe_enabled": enabled, "stripe_methods": "card", "stripe_api_key": STRIPE_KEY, "stripe_webhook_secret": STRIPE_WHSEC}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
}

async fn minamisoma_id(app: &TestApp) -> i64 {
    app.count("SELECT id FROM tenants WHERE code = 'minamisoma'").await
}

#[tokio::test]
async fn secrets_answers_and_notes_are_not_in_the_database_in_clear() {
    let app = spawn_app().await;
    // The second factor works from the sealed secret.
    let _kacho = app.staff_token(KACHO).await;
    let (_b, admin) = app.admin_api_token(ADMIN).await;
    set_stripe(&app, &admin, true).await;
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, DOG).await;
    let person = add_watched_person(&app, &admin).await;

    // The rows hold sealed text only, and the clear values are nowhere in them.
    let totp = values(&app, "staff", "totp_secret").await;
    assert!(!totp.is_empty() && totp.iter().all(|v| v.starts_with("sealed:v1:")), "{totp:?}");
    for clear in app.totp.values() {
        assert!(!totp.iter().any(|v| v.contains(clear.as_str())));
    }
    for column in ["sandbox_secret", "stripe_api_key", "stripe_webhook_secret"] {
        let v = values(&app, "payment_settings", column).await;
        assert!(!v.is_empty() && v.iter().all(|v| v.starts_with("sealed:v1:")), "{column}: {v:?}");
    }
    let seeds = values(&app, "signing_keys", "secret_key").await;
    assert!(seeds.iter().all(|v| v.starts_with("sealed:v1:")), "{seeds:?}");
    let answers: String = sqlx::query("SELECT answers FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.read)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(answers.starts_with("sealed:v1:") && !answers.contains(DOG), "{answers}");
    let note: String = sqlx::query("SELECT consent_note FROM iot_people WHERE id = $1")
        .bind(person)
        .fetch_one(&app.db.read)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(note.starts_with("sealed:v1:") && !note.contains("封緘テスト"), "{note}");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%封緘テスト%'").await, 0);

    // Nor anywhere in the database file (pages and write-ahead log).
    if let Some(bytes) = sqlite_bytes(&app) {
        for clear in app.totp.values() {
            assert!(!contains(&bytes, clear), "a TOTP secret is in the file");
        }
        for clear in [STRIPE_KEY, STRIPE_WHSEC, DOG, "封緘テスト"] {
            assert!(!contains(&bytes, clear), "{clear} is in the file");
        }
    }

    // The people allowed to see them still do, in clear.
    let got = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(got["answers"]["dog_name"], DOG, "{got}");
    let admin_page = app.staff_browser(ADMIN).await;
    let page = admin_page.get(app.url(&format!("/staff/iot/people/{person}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("封緘テスト"));

    // A sealed value copied to another row does not open there.
    let (other, _) = app.submit_dog(&token, "ベツノイヌ").await;
    sqlx::query("UPDATE applications SET answers = $1 WHERE id = $2")
        .bind(&answers)
        .bind(other)
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    let res = api().get(app.url(&format!("/api/v1/applications/{other}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "sealed_value_unreadable");
}

#[tokio::test]
async fn a_webhook_signed_with_what_the_database_holds_is_refused() {
    let app = spawn_app().await;
    let (_b, admin) = app.admin_api_token(ADMIN).await;
    set_stripe(&app, &admin, true).await;
    let tenant = minamisoma_id(&app).await;
    let stored = |column: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query(&format!("SELECT {column} FROM payment_settings WHERE tenant_id = $1"))
                .bind(tenant)
                .fetch_one(&db.read)
                .await
                .unwrap()
                .try_get::<String, _>(0)
                .unwrap()
        }
    };
    let event =
        json!({"event_id": "evt_from_db", "at_unix": 1, "payment_ref": "sbx_nothing", "kind": "paid", "amount": 3000});
    let body = event.to_string();
    let t = kencho::db::now_ms() / 1000;
    let post = |header: &'static str, path: &'static str, sig: String| {
        api()
            .post(app.url(path))
            .header("content-type", "application/json")
            .header(header, sig)
            .body(body.clone())
            .send()
    };
    let sandbox_path = "/api/v1/payments/webhooks/sandbox/minamisoma";
    let from_db = stored("sandbox_secret").await;
    let forged = kencho::payments::sandbox::sign(&from_db, t, body.as_bytes());
    let res = post(kencho::payments::sandbox::SIGNATURE_HEADER, sandbox_path, forged).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("webhook refused"));
    let stripe_path = "/api/v1/payments/webhooks/stripe/minamisoma";
    let from_db = stored("stripe_webhook_secret").await;
    let forged = kencho_core::payment::stripe::sign(body.as_bytes(), &from_db, t);
    let res = post(kencho_core::payment::stripe::SIGNATURE_HEADER, stripe_path, forged).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM payment_events WHERE event_id = 'evt_from_db'").await, 0);

    // The test can tell: signed with the real (opened) secret, the signature passes.
    let keys = app.connect_again().await.keys();
    let place = kencho::payments::sandbox::secret_place("sandbox_secret", tenant);
    let real = keys.open(&place, &stored("sandbox_secret").await).unwrap();
    let signed = kencho::payments::sandbox::sign(&real, t, body.as_bytes());
    let res = post(kencho::payments::sandbox::SIGNATURE_HEADER, sandbox_path, signed).await.unwrap();
    let text = res.text().await.unwrap_or_default();
    assert!(!text.contains("webhook refused"), "{text}");
}

fn kencho(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kencho"))
        .args(args)
        .env_remove("KENCHO_SECRET_KEY_FILE")
        .env_remove("KENCHO_DATABASE_URL")
        .output()
        .unwrap()
}

fn key_ids(file: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn rotation_and_reencryption_keep_everything_working_without_the_old_key() {
    let mut app = spawn_app().await;
    let token = app.resident_token().await;
    let kacho = app.staff_token(KACHO).await;
    let (id, _) = app.submit_dog(&token, DOG).await;
    accept_and_approve(&app, &kacho, id).await;
    let taro = app.resident_browser(kencho::demo::RESIDENT_EMAIL, kencho::demo::PASSWORD).await;
    let pdf = taro.get(app.url(&format!("/applications/{id}/notice.pdf"))).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(verify_api(&app, &pdf).await["result"], "genuine");
    let (_b, admin) = app.admin_api_token(ADMIN).await;
    let person = add_watched_person(&app, &admin).await;
    set_stripe(&app, &admin, false).await;

    // Rotate: a new current key is appended; the server restarts with both.
    let file = app.cfg.secret_key_file.clone().unwrap();
    let file_s = file.to_str().unwrap().to_string();
    let old = key_ids(&file);
    assert_eq!(old.len(), 1);
    let out = kencho(&["keys", "rotate", "--secret-key-file", &file_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ids = key_ids(&file);
    assert_eq!(ids.len(), 2);
    let new = ids[1].clone();
    app.kill_server().await;
    app.start_server().await;

    // Re-encrypt while the server runs: every value moves to the new key.
    let data_dir = app.data_dir.to_str().unwrap().to_string();
    let out = kencho(&[
        "keys",
        "reencrypt",
        "--database-url",
        &app.db_url,
        "--data-dir",
        &data_dir,
        "--secret-key-file",
        &file_s,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("staff.totp_secret") && stdout.contains("re-sealed"), "{stdout}");
    for c in kencho::crypto::reencrypt::COLUMNS {
        let under_old = format!("SELECT COUNT(*) FROM {} WHERE {} LIKE 'sealed:v1:{}:%'", c.table, c.column, old[0]);
        assert_eq!(app.count(&under_old).await, 0, "{}.{}", c.table, c.column);
    }
    let under_new = format!("SELECT COUNT(*) FROM staff WHERE totp_secret LIKE 'sealed:v1:{new}:%'");
    assert!(app.count(&under_new).await > 0);

    // The old key leaves the file; a restarted server still opens everything.
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: String =
        text.lines().filter(|l| !l.starts_with(&format!("{} ", old[0]))).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, kept).unwrap();
    assert_eq!(key_ids(&file), vec![new.clone()]);
    app.kill_server().await;
    app.start_server().await;
    let _kakaricho = app.staff_token("kakaricho@minamisoma.example.jp").await;
    let kacho = app.staff_token(KACHO).await;
    let got = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(got["answers"]["dog_name"], DOG);
    assert_eq!(verify_api(&app, &pdf).await["result"], "genuine", "the earlier notice still verifies");
    let (id2, _) = app.submit_dog(&token, "ニバンメ").await;
    accept_and_approve(&app, &kacho, id2).await;
    let pdf2 =
        taro.get(app.url(&format!("/applications/{id2}/notice.pdf"))).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(verify_api(&app, &pdf2).await["result"], "genuine", "the re-sealed seed signs");
    let admin_page = app.staff_browser(ADMIN).await;
    let page = admin_page.get(app.url(&format!("/staff/iot/people/{person}"))).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("封緘テスト"));
    // A fee paid through the sandbox: its webhooks are signed and checked with the re-sealed secret.
    dog_with_fee(&app, "[fee]\namount = 3000\npay = \"before_submission\"\nrevenue_code = \"14-02-01 犬登録手数料\"")
        .await;
    let (paying, _) = draft_dog(&app, &token).await;
    let url = start_paying(&app, &token, paying, "card").await;
    let res = sandbox_post(&taro, &url, "", &[("card", "4242424242424242"), ("delivery", "normal")]).await;
    assert_eq!(res.status(), 303);
    wait_state(&app, &token, paying, "paid").await;

    // A key file that does not hold the database's key: the server does not start.
    let wrong = app.data_dir.join("wrong.key");
    kencho::crypto::keyfile::generate(&wrong).unwrap();
    let db =
        kencho::db::Db::connect(&app.db_url).await.unwrap().with_keys(kencho::crypto::keyfile::load(&wrong).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = app.cfg.clone();
    cfg.secret_key_file = Some(wrong);
    let err = kencho::start(cfg, db, listener).await.err().expect("refused");
    assert!(err.to_string().contains("does not fit this database"), "{err}");
}

#[test]
fn serve_refuses_without_a_key_or_with_one_others_can_read() {
    let dir = std::env::temp_dir().join(format!("kencho-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let out = kencho(&["serve", "--data-dir", d, "--bind", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no secret key") && err.contains("--secret-key-file"), "{err}");

    let key = dir.join("secret.key");
    let k = key.to_str().unwrap();
    let out = kencho(&["keys", "generate", k]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kencho(&["keys", "generate", k]);
    assert!(!out.status.success(), "an existing key file is never overwritten");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let out = kencho(&["serve", "--data-dir", d, "--bind", "127.0.0.1:0", "--secret-key-file", k]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("chmod 600"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_database_from_before_sealing_is_sealed_once_by_reencrypt() {
    let mut app = spawn_app().await;
    let token = app.resident_token().await;
    let (id, _) = app.submit_dog(&token, DOG).await;
    // Put values back in clear, as a database made before sealing holds them.
    let who = "kakaricho@minamisoma.example.jp";
    let clear_totp = app.totp[who].clone();
    sqlx::query("UPDATE staff SET totp_secret = $1 WHERE email = $2")
        .bind(&clear_totp)
        .bind(who)
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    let answers = json!({"dog_name": DOG}).to_string();
    sqlx::query("UPDATE applications SET answers = $1 WHERE id = $2")
        .bind(&answers)
        .bind(id)
        .execute(app.db.unchecked_write_pool())
        .await
        .unwrap();
    // Clear values are refused: the server does not start on them.
    app.kill_server().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = kencho::start(app.cfg.clone(), app.connect_again().await, listener).await.err().expect("refused");
    assert!(err.to_string().contains("stored in clear") && err.to_string().contains("keys reencrypt"), "{err}");
    // `keys reencrypt` seals them; then everything works from the sealed values.
    let file = app.cfg.secret_key_file.clone().unwrap();
    let data_dir = app.data_dir.to_str().unwrap().to_string();
    let args = ["keys", "reencrypt", "--database-url", &app.db_url, "--data-dir", &data_dir, "--secret-key-file"];
    let out = kencho(&[&args[..], &[file.to_str().unwrap()]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.lines().any(|l| l.starts_with("staff.totp_secret") && l.contains("1 clear values sealed")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("applications.answers") && l.contains("1 clear values sealed")),
        "{stdout}"
    );
    let stored: String = sqlx::query("SELECT totp_secret FROM staff WHERE email = $1")
        .bind(who)
        .fetch_one(&app.db.read)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(stored.starts_with("sealed:v1:") && !stored.contains(&clear_totp));
    app.start_server().await;
    let _signed_in = app.staff_token(who).await;
    let got = get_json(&app.url(&format!("/api/v1/applications/{id}")), &token).await;
    assert_eq!(got["answers"]["dog_name"], DOG);
}
