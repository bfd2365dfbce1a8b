//! `kencho bench`: starts kencho (this binary, as a child process) on a fresh SQLite database,
//! drives it over HTTP with many concurrent clients, and prints submissions/s with latency
//! percentiles, status reads/s, idle and peak memory. In the same run it measures the same
//! durable submission done directly against a database without HTTP, and prints the ratio.

pub mod approval;
pub mod audit;
pub mod crash;
pub mod hazards;
pub mod iot;
pub mod payments;

pub use approval::run_approval;
pub use hazards::run_hazards;
pub use iot::run_iot;
pub use payments::run_payments;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

use crate::accounts::Resident;
use crate::db::Db;
use crate::error::AppError;

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

/// `kencho bench --pdf N`: renders and signs `n` decision notices with the real renderer (the
/// embedded font, subsetting, tagging, Ed25519), on blocking threads, as many at once as
/// there are cores. Prints documents/s and the mean time per document. Nothing is stored.
pub async fn run_pdf(n: usize) -> Result<(), BoxErr> {
    use sha2::{Digest, Sha256};
    let n = n.max(1);
    let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
    let key = Arc::new(crate::documents::keys::ActiveKey::ephemeral(1, "bench-key"));
    let content = |i: usize| crate::documents::pdf::NoticeContent {
        number: format!("BENCH-通知-2026-{i:06}"),
        title: "決定通知書（犬の登録申請）".into(),
        tenant_name: "南相馬市".into(),
        division_name: "市民生活課".into(),
        resident_name: format!("福島 太郎{i}"),
        procedure_title: "犬の登録申請".into(),
        receipt_number: format!("MNS-2026-{i:07}-0"),
        outcome: if i.is_multiple_of(5) {
            kencho_core::application::Status::Denied
        } else {
            kencho_core::application::Status::Approved
        },
        notice_text: "登録しました。鑑札と注射済票を郵送します。到着まで一週間ほどお待ちください。".repeat(1 + i % 3),
        issued_at: crate::db::now_ms(),
        submitted_at: Some(crate::db::now_ms() - 86_400_000),
        verify_url: "http://127.0.0.1:8080/verify-document".into(),
        key_id: key.key_id.clone(),
    };
    // Warm up: the font is parsed once per process.
    crate::documents::pdf::render_notice(&content(0))?;
    let gate = Arc::new(tokio::sync::Semaphore::new(cores));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (c, key, gate) = (content(i), key.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
            tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let bytes = crate::documents::pdf::render_notice(&c)?;
                let sha = hex::encode(Sha256::digest(&bytes));
                let _sig = key.sign(&crate::documents::signed_message(&c.number, "bench", c.issued_at, &sha));
                Ok::<_, String>((t.elapsed(), bytes.len()))
            })
            .await
            .map_err(|e| e.to_string())?
        }));
    }
    let (mut busy, mut size) = (Duration::ZERO, 0usize);
    for t in tasks {
        let (took, len) = t.await.map_err(|e| e.to_string())??;
        busy += took;
        size += len;
    }
    let wall = started.elapsed().as_secs_f64();
    println!("PDF notices: {n} rendered and signed on {cores} cores in {wall:.2} s");
    println!("  {:.1} documents/s", n as f64 / wall);
    println!("  mean {:.2} ms per document (render + hash + sign, one core)", busy.as_secs_f64() * 1000.0 / n as f64);
    println!("  mean size {:.1} KiB", size as f64 / n as f64 / 1024.0);
    Ok(())
}

/// Complete answers for the demo's 犬の登録申請 (a procedure without attachments).
pub fn bench_answers(i: u64) -> serde_json::Value {
    json!({
        "owner_name": {"family": "福島", "given": "太郎", "family_kana": "ふくしま", "given_kana": "たろう"},
        "owner_address": {"postal_code": "975-8686", "prefecture": "福島県", "city": "南相馬市", "street": "原町区本町二丁目27"},
        "phone": "0244-22-2111",
        "dog_name": format!("ポチ{i}"),
        "breed": "柴犬",
        "sex": "male",
        "kept_since": "2026-10-01"
    })
}

fn rss_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

struct Phase {
    ok: u64,
    errors: u64,
    hist: Histogram<u64>,
    elapsed: Duration,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Runs `clients` tasks for `seconds`, each calling `op(client_index, iteration)`.
async fn drive<F, Fut>(clients: usize, seconds: u64, op: F) -> Phase
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let hist =
        Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (op, stop, hist) = (op.clone(), stop.clone(), hist.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
            let (mut ok, mut errors, mut i) = (0u64, 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if op(c, i).await {
                    ok += 1;
                    let _ = local.record(t.elapsed().as_micros().max(1) as u64);
                } else {
                    errors += 1;
                }
                i += 1;
            }
            if let Ok(mut h) = hist.lock() {
                let _ = h.add(&local);
            }
            (ok, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut errors) = (0, 0);
    for t in tasks {
        if let Ok((o, e)) = t.await {
            ok += o;
            errors += e;
        }
    }
    let elapsed = start.elapsed();
    let hist = hist.lock().map(|h| h.clone()).unwrap_or_else(|_| Histogram::new(3).expect("valid histogram"));
    Phase { ok, errors, hist, elapsed }
}

/// Starts this binary as `serve --demo` on a free port with `dir` as its data directory and
/// waits until it answers; returns the child, its pid and base URL.
async fn start_kencho(dir: &std::path::Path, extra: &[String]) -> Result<(tokio::process::Child, u32, String), BoxErr> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("child has no pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok((child, pid, base));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("kencho did not start".into())
}

pub async fn run(clients: usize, seconds: u64) -> Result<(), BoxErr> {
    let dir = std::env::temp_dir().join(format!("kencho-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (mut child, pid, base) = start_kencho(&dir.join("http"), &[]).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_kib = rss_kib(pid, "VmRSS:").unwrap_or(0);

    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": crate::demo::RESIDENT_EMAIL, "password": crate::demo::PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().ok_or("login failed")?.to_string();

    println!(
        "kencho bench: {clients} concurrent clients, {seconds} s per phase, SQLite (WAL, synchronous=FULL), {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // Phase 1: submissions over HTTP (validated, stored, audited, e-mail queued, committed).
    let ids = Arc::new(Mutex::new(Vec::<i64>::new()));
    let sub = {
        let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
        drive(clients, seconds, move |c, i| {
            let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
            async move {
                let body = json!({"tenant": "minamisoma", "procedure": "inu-toroku", "submit": true, "answers": bench_answers(i)});
                let r = client
                    .post(format!("{base}/api/v1/applications"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("bench-{c}-{i}"))
                    .json(&body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        if let Ok(v) = r.json::<serde_json::Value>().await {
                            if let (Some(id), Ok(mut ids)) = (v["id"].as_i64(), ids.lock()) {
                                if ids.len() < 10_000 {
                                    ids.push(id);
                                }
                            }
                        }
                        true
                    }
                    _ => false,
                }
            }
        })
        .await
    };
    println!(
        "submissions over HTTP : {:>8.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} failed)",
        sub.rate(),
        sub.ms(0.5),
        sub.ms(0.99),
        sub.ok,
        sub.errors
    );

    // Phase 2: status reads.
    let ids: Arc<Vec<i64>> = Arc::new(ids.lock().map(|v| v.clone()).unwrap_or_default());
    if ids.is_empty() {
        return Err("no submission succeeded".into());
    }
    let reads = {
        let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
        drive(clients, seconds, move |c, i| {
            let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
            async move {
                let id = ids[(c * 7919 + i as usize) % ids.len()];
                matches!(client.get(format!("{base}/api/v1/applications/{id}/status")).bearer_auth(&token).send().await, Ok(r) if r.status().is_success())
            }
        })
        .await
    };
    println!(
        "status reads over HTTP: {:>8.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} failed)",
        reads.rate(),
        reads.ms(0.5),
        reads.ms(0.99),
        reads.ok,
        reads.errors
    );
    let peak_kib = rss_kib(pid, "VmHWM:").unwrap_or(0);
    println!(
        "server memory         : idle {:.1} MB, peak {:.1} MB (RSS)",
        idle_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    let _ = child.kill().await;

    // Phase 3: the same durable submission straight against the database, no HTTP.
    let raw_dir = dir.join("raw");
    std::fs::create_dir_all(&raw_dir)?;
    let db = open_db(&raw_dir, "rwc").await?;
    crate::demo::load(&db).await?;
    let resident = {
        use sqlx::Row;
        let row = sqlx::query("SELECT id, email, name FROM residents WHERE email = $1")
            .bind(crate::demo::RESIDENT_EMAIL)
            .fetch_one(&db.read)
            .await?;
        Arc::new(Resident { id: row.try_get("id")?, email: row.try_get("email")?, name: row.try_get("name")? })
    };
    let procedure = crate::procedures::current(&db, "minamisoma", "inu-toroku").await?;
    let raw = {
        let (db, resident, procedure) = (db.clone(), resident.clone(), procedure.clone());
        drive(clients, seconds, move |c, i| {
            let (db, resident, procedure) = (db.clone(), resident.clone(), procedure.clone());
            async move {
                let answers = bench_answers(i).as_object().cloned().unwrap_or_default();
                let key = format!("raw-{c}-{i}");
                let r: Result<_, AppError> = crate::applications::submit_new(
                    &db,
                    "http://bench",
                    &resident,
                    &procedure,
                    "self",
                    answers,
                    Some(&key),
                )
                .await;
                r.is_ok()
            }
        })
        .await
    };
    println!(
        "same writes, no HTTP  : {:>8.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} failed)",
        raw.rate(),
        raw.ms(0.5),
        raw.ms(0.99),
        raw.ok,
        raw.errors
    );
    println!("HTTP / raw ratio      : {:.2}", sub.rate() / raw.rate().max(1.0));
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The server's database in `dir`, with the key file `serve --demo` made there.
pub(crate) async fn open_db(dir: &std::path::Path, mode: &str) -> Result<Db, BoxErr> {
    let keys = crate::crypto::keyfile::load_or_create(&dir.join("secret.key"))?;
    Ok(Db::connect(&format!("sqlite://{}/kencho.db?mode={mode}", dir.display())).await?.with_keys(keys))
}

/// Signs a demo staff member in over the API, with the TOTP secret read from the server's
/// database (as a phone would hold it); returns the bearer token.
async fn staff_token(client: &reqwest::Client, base: &str, db: &Db, email: &str) -> Result<String, BoxErr> {
    use sqlx::Row;
    let row = sqlx::query("SELECT id, totp_secret FROM staff WHERE email = $1").bind(email).fetch_one(&db.read).await?;
    let secret =
        db.keys().open(&crate::accounts::totp_place(row.try_get("id")?), &row.try_get::<String, _>("totp_secret")?)?;
    let code = crate::accounts::totp_code_now(&secret)?;
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": crate::demo::PASSWORD, "kind": "staff", "totp": code}))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"].as_str().ok_or("staff login failed")?.to_string())
}
