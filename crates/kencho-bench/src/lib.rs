//! `kencho-bench`: starts the kencho server (the `kencho` binary built beside this one, as a
//! child process) on a fresh SQLite database, drives it over HTTP with many concurrent clients,
//! and prints the figures. The server binary carries none of this.
//!
//! This file holds what the measurements share: the driver, the child server, the helpers that
//! sign in. Each measurement has its own module.

pub mod approval;
pub mod audit;
pub mod crash;
pub mod hazards;
pub mod iot;
pub mod payments;
pub mod pdf;
pub mod submissions;

pub use approval::run_approval;
pub use hazards::run_hazards;
pub use iot::run_iot;
pub use payments::run_payments;
pub use pdf::run_pdf;
pub use submissions::run;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kencho::db::Db;
use serde_json::json;

pub type BoxErr = Box<dyn std::error::Error + Send + Sync>;

fn rss_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

/// An empty scratch directory `<temp>/<prefix>-<pid>` for one run.
fn fresh_dir(prefix: &str) -> Result<PathBuf, BoxErr> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
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
    /// Rate, p50, p99 and counts, as the request phases print them; the caller closes the
    /// parenthesis (some add to it).
    fn summary(&self) -> String {
        format!(
            "{:>8.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} failed",
            self.rate(),
            self.ms(0.5),
            self.ms(0.99),
            self.ok,
            self.errors
        )
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

/// The `kencho` server binary to start: `KENCHO_BIN` when set, otherwise the one beside this
/// binary (cargo builds both into the same target directory).
fn server_binary() -> Result<PathBuf, BoxErr> {
    if let Some(bin) = std::env::var_os("KENCHO_BIN") {
        return Ok(bin.into());
    }
    let bin = std::env::current_exe()?.with_file_name(format!("kencho{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        return Err(format!(
            "no server binary at {}: build it with the same profile first (cargo build [--release] -p kencho), \
             or name it in KENCHO_BIN",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

/// Starts the server as `serve --demo` on a free port with `dir` as its data directory and
/// waits until it answers; returns the child, its pid and base URL.
async fn start_kencho(dir: &Path, extra: &[String]) -> Result<(tokio::process::Child, u32, String), BoxErr> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let bin = server_binary()?;
    let child = tokio::process::Command::new(&bin)
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
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

/// The server's database in `dir`, with the key file `serve --demo` made there.
async fn open_db(dir: &Path, mode: &str) -> Result<Db, BoxErr> {
    let keys = kencho::crypto::keyfile::load_or_create(&dir.join("secret.key"))?;
    Ok(Db::connect(&format!("sqlite://{}/kencho.db?mode={mode}", dir.display())).await?.with_keys(keys))
}

/// Signs the demo resident in over the API; returns the bearer token.
async fn resident_token(client: &reqwest::Client, base: &str) -> Result<String, BoxErr> {
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": kencho::demo::RESIDENT_EMAIL, "password": kencho::demo::PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"].as_str().ok_or("login failed")?.to_string())
}

/// Signs a demo staff member in over the API, with the TOTP secret read from the server's
/// database (as a phone would hold it); returns the bearer token.
async fn staff_token(client: &reqwest::Client, base: &str, db: &Db, email: &str) -> Result<String, BoxErr> {
    use sqlx::Row;
    let row = sqlx::query("SELECT id, totp_secret FROM staff WHERE email = $1").bind(email).fetch_one(&db.read).await?;
    let secret =
        db.keys().open(&kencho::accounts::totp_place(row.try_get("id")?), &row.try_get::<String, _>("totp_secret")?)?;
    let code = kencho::accounts::totp_code_now(&secret)?;
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": kencho::demo::PASSWORD, "kind": "staff", "totp": code}))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"].as_str().ok_or("staff login failed")?.to_string())
}
