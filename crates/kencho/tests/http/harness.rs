//! Starts kencho for one test, with a fresh database and an SMTP sink.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use kencho::config::Config;
use kencho::db::Db;
use reqwest::redirect::Policy;
use sqlx::{Connection, Executor};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One received message: envelope recipients and the decoded text body.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: Vec<String>,
    pub body: String,
}

/// A small SMTP server speaking just enough of RFC 5321 for lettre. It can refuse the first
/// `fail_first` messages with a temporary error, to exercise the outbox's retries.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
    fail_first: Arc<AtomicUsize>,
    /// After this many accepted messages the sink stops answering DATA (a relay gone quiet
    /// mid-batch); `usize::MAX`: never.
    pub hold_after: Arc<AtomicUsize>,
}

impl SmtpSink {
    pub async fn start(fail_first: usize) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp sink");
        let port = listener.local_addr().expect("addr").port();
        let sink = SmtpSink {
            port,
            mails: Arc::new(Mutex::new(Vec::new())),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            hold_after: Arc::new(AtomicUsize::new(usize::MAX)),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(stream).await;
                });
            }
        });
        sink
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 sink ESMTP ready\r\n").await?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_ascii_uppercase();
            if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
            } else if cmd.starts_with("MAIL FROM") {
                to.clear();
                w.write_all(b"250 OK\r\n").await?;
            } else if cmd.starts_with("RCPT TO") {
                let addr = line.trim_end()[8..].trim().trim_start_matches('<').trim_end_matches('>').to_string();
                to.push(addr);
                w.write_all(b"250 OK\r\n").await?;
            } else if cmd == "DATA" {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                let failing = self.fail_first.load(Ordering::SeqCst);
                if failing > 0 {
                    self.fail_first.store(failing - 1, Ordering::SeqCst);
                    w.write_all(b"451 try again later\r\n").await?;
                    continue;
                }
                if self.all().len() >= self.hold_after.load(Ordering::SeqCst) {
                    // Never answer: the client waits until it gives up or is killed.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return Ok(());
                }
                let mail = parse_mail(&to, &data);
                if let Ok(mut m) = self.mails.lock() {
                    m.push(mail);
                }
                w.write_all(b"250 queued\r\n").await?;
            } else if cmd == "QUIT" {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                w.write_all(b"250 OK\r\n").await?;
            }
        }
    }

    pub fn all(&self) -> Vec<Mail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits (up to 15 s) for a mail to `to` whose body contains `needle`.
    pub async fn wait_for(&self, to: &str, needle: &str) -> Mail {
        for _ in 0..150 {
            if let Some(m) = self.all().into_iter().find(|m| m.to.iter().any(|t| t == to) && m.body.contains(needle)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {to} containing {needle:?}; got {:#?}", self.all());
    }

    pub fn count_to(&self, to: &str, needle: &str) -> usize {
        self.all().iter().filter(|m| m.to.iter().any(|t| t == to) && m.body.contains(needle)).count()
    }
}

fn parse_mail(to: &[String], data: &str) -> Mail {
    let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    let compact: String = body.lines().map(str::trim).collect();
    let body = if head.to_ascii_lowercase().contains("content-transfer-encoding: base64") {
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    } else {
        body.to_string()
    };
    Mail { to: to.to_vec(), body }
}

pub struct TestApp {
    /// The running server; `restart` replaces it.
    pub server: kencho::Running,
    pub base: String,
    pub db: Db,
    pub db_url: String,
    pub cfg: Config,
    pub smtp: SmtpSink,
    pub totp: HashMap<String, String>,
    /// The TOTP step each staff member last logged in with: a second log-in within the same
    /// 30 s uses the next step (the server refuses a used code, as it must).
    pub totp_steps: std::sync::Mutex<HashMap<String, u64>>,
    pub data_dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn unique() -> String {
    format!("{}_{}", std::process::id(), kencho::accounts::random_token()[..10].to_lowercase().replace(['-', '_'], "x"))
}

/// A fresh database: a new SQLite file, or a new PostgreSQL database created next to
/// `KENCHO_TEST_DATABASE_URL`.
async fn fresh_db(dir: &std::path::Path) -> (Db, String) {
    match std::env::var("KENCHO_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            sqlx::any::install_default_drivers();
            let name = format!("kencho_t_{}", unique());
            let mut conn = sqlx::AnyConnection::connect(&admin_url).await.expect("connect to PostgreSQL");
            conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
            let url = match admin_url.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("KENCHO_TEST_DATABASE_URL needs a database name"),
            };
            (Db::connect(&url).await.expect("connect test database"), url)
        }
        _ => {
            let url = format!("sqlite://{}/kencho.db?mode=rwc", dir.display());
            (Db::connect(&url).await.expect("open SQLite"), url)
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(0).await
}

/// Starts kencho with the demo loaded; the SMTP sink refuses the first `smtp_fail_first` mails.
pub async fn spawn_app_with(smtp_fail_first: usize) -> TestApp {
    spawn_app_full(smtp_fail_first, None, None).await
}

/// Starts kencho subscribed to the tests' MQTT broker ([`mqtt_broker`]) with its own client id.
pub async fn spawn_app_mqtt() -> TestApp {
    let (host, port) = mqtt_broker();
    spawn_app_full(0, Some(format!("mqtt://{host}:{port}?client_id=kencho-test-{}", unique())), None).await
}

/// The MQTT broker of the IoT tests, as (host, port): the one `KENCHO_TEST_MQTT_URL` names
/// (`mqtt://127.0.0.1:1883`: .ci/run points it at Mosquitto), else rumqttd started in this
/// process on a free port, once for the whole test binary, so `cargo test` needs only Rust.
pub fn mqtt_broker() -> (String, u16) {
    static BROKER: std::sync::OnceLock<(String, u16)> = std::sync::OnceLock::new();
    BROKER
        .get_or_init(|| match std::env::var("KENCHO_TEST_MQTT_URL") {
            Ok(url) => {
                let u = reqwest::Url::parse(&url).expect("KENCHO_TEST_MQTT_URL: mqtt://host:port");
                (u.host_str().expect("a host").to_string(), u.port().unwrap_or(1883))
            }
            Err(_) => ("127.0.0.1".to_string(), start_rumqttd()),
        })
        .clone()
}

fn start_rumqttd() -> u16 {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let server = rumqttd::ServerSettings {
        name: "kencho-tests".into(),
        listen: ([127, 0, 0, 1], port).into(),
        tls: None,
        next_connection_delay_ms: 1,
        connections: rumqttd::ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 1 << 20,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = rumqttd::Config {
        router: rumqttd::RouterConfig {
            max_connections: 1_000,
            max_outgoing_packet_count: 500,
            max_segment_size: 100 << 20,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    // The broker runs its own threads and runtime for the life of the test binary.
    std::thread::spawn(move || {
        if let Err(e) = rumqttd::Broker::new(config).start() {
            eprintln!("rumqttd stopped: {e}");
        }
    });
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return port;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("rumqttd did not start on port {port}");
}

/// Starts kencho with Stripe's API at `api_base` (a local recording of Stripe's answers).
pub async fn spawn_app_stripe(api_base: String) -> TestApp {
    spawn_app_full(0, None, Some(api_base)).await
}

async fn spawn_app_full(smtp_fail_first: usize, mqtt_url: Option<String>, stripe: Option<String>) -> TestApp {
    // Server-side errors show in a failing test's output.
    let _ = tracing_subscriber::fmt().with_env_filter("error").with_test_writer().try_init();
    let data_dir = std::env::temp_dir().join(format!("kencho-test-{}", unique()));
    std::fs::create_dir_all(&data_dir).expect("temp dir");
    let (db, db_url) = fresh_db(&data_dir).await;
    // Each test has its own key file, as `serve --demo` makes one.
    let key_file = data_dir.join("secret.key");
    let db = db.with_keys(kencho::crypto::keyfile::load_or_create(&key_file).expect("secret key file"));
    let logins = kencho::demo::load(&db).await.expect("demo loads");
    let totp = logins.into_iter().map(|l| (l.email, l.totp_secret)).collect();
    let smtp = SmtpSink::start(smtp_fail_first).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let cfg = Config {
        base_url: base.clone(),
        data_dir: data_dir.clone(),
        smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
        mail_from: "kencho <no-reply@kencho.example.jp>".into(),
        secure_cookies: false,
        workers: true,
        jma_dir: None,
        jma_feed: None,
        mqtt_url,
        // Nothing listens on port 9 (discard): a test that did not ask for Stripe cannot reach it.
        stripe_api_base: stripe.unwrap_or_else(|| "http://127.0.0.1:9".into()),
        demo_mailbox: false,
        // The suite pays with the sandbox's test cards (a test checks it is off without the flag).
        payment_sandbox: true,
        // The tests' TSA (scripts/tsa.py) and the dead one listen on 127.0.0.1.
        tsa_private_network: true,
        trusted_proxies: Vec::new(),
        audit_checkpoints: kencho::flows::checkpoints::Target::under(&data_dir, None, None),
        // The suite writes checkpoints when it wants them.
        audit_checkpoint_every: std::time::Duration::from_secs(24 * 3600),
        secret_key_file: Some(key_file),
    };
    let server = kencho::start(cfg.clone(), db.clone(), listener).await.expect("server starts");
    TestApp { server, base, db, db_url, cfg, smtp, totp, totp_steps: Default::default(), data_dir }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
}

pub fn api() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

/// The CSRF token in a page's first form.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no csrf field in page:\n{html}"));
    html[start..].split('"').next().unwrap_or_default().to_string()
}

pub fn value_of(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no {name} field in page"));
    html[start..].split('"').next().unwrap_or_default().to_string()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

impl TestApp {
    /// Another kencho server on the same database and data directory, with its own
    /// connections and workers: what a second process behind a load balancer would be.
    pub async fn second_server(&self) -> String {
        let db = self.connect_again().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        kencho::start(self.cfg.clone(), db, listener).await.expect("second server starts");
        base
    }

    /// A new connection to the test's database with the keys in its key file as it is now
    /// (what a restarted process would load).
    pub async fn connect_again(&self) -> Db {
        let file = self.cfg.secret_key_file.as_ref().expect("key file");
        let keys = kencho::crypto::keyfile::load(file).expect("secret key file loads");
        Db::connect(&self.db_url).await.expect("reconnect").with_keys(keys)
    }

    /// Kills the server and its workers as a crash would; `start_server` brings up a new one
    /// on the same database, data directory and MQTT session (a restarted node; `base` changes).
    pub async fn kill_server(&self) {
        self.server.kill();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }

    pub async fn start_server(&mut self) {
        let db = self.connect_again().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut cfg = self.cfg.clone();
        cfg.base_url = base.clone();
        self.server = kencho::start(cfg, db, listener).await.expect("restarted server starts");
        self.base = base;
    }

    /// A tenant administrator's signed-in browser and a long-lived API token made with it
    /// (one TOTP sign-in: codes are single use, so a test needing both takes this path).
    pub async fn admin_api_token(&self, email: &str) -> (reqwest::Client, String) {
        let b = self.staff_browser(email).await;
        let page = b.get(self.url("/staff/admin")).send().await.expect("get").text().await.expect("text");
        let res = b
            .post(self.url("/staff/admin/tokens"))
            .form(&[("csrf", csrf_of(&page).as_str()), ("name", "test")])
            .send()
            .await
            .expect("post");
        let page = res.text().await.expect("text");
        let token = page
            .split("<code id=\"new-token\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("token shown")
            .to_string();
        (b, token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs the demo resident in through the pages; returns the browser.
    pub async fn resident_browser(&self, email: &str, password: &str) -> reqwest::Client {
        let b = browser();
        let page = b.get(self.url("/login")).send().await.expect("get login").text().await.expect("text");
        let res = b
            .post(self.url("/login"))
            .form(&[("csrf", csrf_of(&page).as_str()), ("email", email), ("password", password)])
            .send()
            .await
            .expect("post login");
        assert_eq!(res.status(), 303, "login redirects");
        b
    }

    /// Logs a staff member in through the pages, with the TOTP step.
    pub async fn staff_browser(&self, email: &str) -> reqwest::Client {
        let b = browser();
        let page = b.get(self.url("/staff/login")).send().await.expect("get").text().await.expect("text");
        let res = b
            .post(self.url("/staff/login"))
            .form(&[("csrf", csrf_of(&page).as_str()), ("email", email), ("password", kencho::demo::PASSWORD)])
            .send()
            .await
            .expect("post");
        assert_eq!(location(&res), "/staff/mfa");
        // Before the second factor, staff pages are closed.
        let inbox = b.get(self.url("/staff")).send().await.expect("get");
        assert_eq!(location(&inbox), "/staff/mfa");
        let mfa = b.get(self.url("/staff/mfa")).send().await.expect("get").text().await.expect("text");
        let code = self.totp_code(email).await;
        let res = b
            .post(self.url("/staff/mfa"))
            .form(&[("csrf", csrf_of(&mfa).as_str()), ("code", code.as_str())])
            .send()
            .await
            .expect("post");
        assert_eq!(location(&res), "/staff", "TOTP accepted");
        b
    }

    /// A bearer token for the demo resident.
    pub async fn resident_token(&self) -> String {
        self.login_token(serde_json::json!({"email": kencho::demo::RESIDENT_EMAIL, "password": kencho::demo::PASSWORD}))
            .await
    }

    /// A TOTP code for `email` that has not been used yet.
    pub async fn totp_code(&self, email: &str) -> String {
        loop {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() / 30;
            let step = {
                let mut used = self.totp_steps.lock().expect("lock");
                let step = used.get(email).map_or(now, |last| (last + 1).max(now));
                if step <= now + 1 {
                    used.insert(email.to_string(), step);
                    Some(step)
                } else {
                    None
                }
            };
            match step {
                Some(step) => return kencho::accounts::totp_code_at(&self.totp[email], step * 30).expect("code"),
                None => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            }
        }
    }

    pub async fn staff_token(&self, email: &str) -> String {
        let code = self.totp_code(email).await;
        self.login_token(
            serde_json::json!({"email": email, "password": kencho::demo::PASSWORD, "kind": "staff", "totp": code}),
        )
        .await
    }

    async fn login_token(&self, body: serde_json::Value) -> String {
        let res = api().post(self.url("/api/v1/auth/login")).json(&body).send().await.expect("login");
        assert_eq!(res.status(), 200, "login: {}", res.text().await.unwrap_or_default());
        let v: serde_json::Value = res.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    /// Creates a verified second resident directly through sign-up and the mailed link.
    pub async fn second_resident(&self, email: &str) -> String {
        let res = api()
            .post(self.url("/api/v1/auth/signup"))
            .json(&serde_json::json!({"email": email, "name": "相馬 花子", "password": "another-long-password"}))
            .send()
            .await
            .expect("signup");
        assert_eq!(res.status(), 202);
        let mail = self.smtp.wait_for(email, "/verify?token=").await;
        let token = mail
            .body
            .split("/verify?token=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("token")
            .to_string();
        let res = api()
            .post(self.url("/api/v1/auth/verify"))
            .json(&serde_json::json!({"token": token}))
            .send()
            .await
            .expect("verify");
        assert_eq!(res.status(), 204);
        self.login_token(serde_json::json!({"email": email, "password": "another-long-password"})).await
    }

    /// Submits a complete 犬の登録申請 through the API; returns (id, receipt number).
    pub async fn submit_dog(&self, token: &str, dog: &str) -> (i64, String) {
        let mut answers = kencho::demo::inu_toroku_answers(0);
        answers["dog_name"] = serde_json::json!(dog);
        let res = api()
            .post(self.url("/api/v1/applications"))
            .bearer_auth(token)
            .json(&serde_json::json!({"tenant": "minamisoma", "procedure": "inu-toroku", "submit": true, "answers": answers}))
            .send()
            .await
            .expect("submit");
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        let v: serde_json::Value = res.json().await.expect("json");
        (v["id"].as_i64().expect("id"), v["receipt_number"].as_str().expect("receipt").to_string())
    }

    /// What the database's owner can do and kencho cannot stop: drop the audit log's guards
    /// (the checkpoints outside the database are what catches what follows).
    pub async fn drop_audit_guards(&self) {
        let stmts: &[&str] = if self.db.dialect == kencho::db::Dialect::Postgres {
            &[
                "DROP TRIGGER audit_log_append_only ON audit_log",
                "DROP TRIGGER audit_heads_forward ON audit_heads",
                "DROP TRIGGER audit_heads_no_delete ON audit_heads",
            ]
        } else {
            &[
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
                "DROP TRIGGER audit_heads_forward",
                "DROP TRIGGER audit_heads_no_delete",
            ]
        };
        for s in stmts {
            sqlx::query(s).execute(self.db.unchecked_write_pool()).await.expect(s);
        }
    }

    /// A tenant's id by code.
    pub async fn tenant_id(&self, code: &str) -> i64 {
        self.count(&format!("SELECT id FROM tenants WHERE code = '{code}'")).await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql).fetch_one(&self.db.read).await.expect("count").try_get(0).expect("i64")
    }
}

/// A minimal real PDF.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// Posts a form page back as a browser would: its CSRF token and revision, plus `fields`.
pub async fn post_page(b: &reqwest::Client, url: &str, page: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("csrf".to_string(), csrf_of(page)), ("revision".to_string(), value_of(page, "revision"))];
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    b.post(url).form(&form).send().await.expect("post page")
}

/// Page 2 of 犬の登録申請 (the dog), going on to the next page; kept since 2026-`month`-`day`.
pub fn dog_page<'a>(name: &'a str, breed: &'a str, month: &'a str, day: &'a str) -> [(&'a str, &'a str); 7] {
    [
        ("intent", "next"),
        ("f.dog_name", name),
        ("f.breed", breed),
        ("f.sex", "male"),
        ("f.kept_since.year", "2026"),
        ("f.kept_since.month", month),
        ("f.kept_since.day", day),
    ]
}

/// GET a JSON resource with a bearer token.
pub async fn get_json(url: &str, token: &str) -> serde_json::Value {
    api().get(url).bearer_auth(token).send().await.expect("get").json().await.expect("json")
}
