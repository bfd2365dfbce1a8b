//! `kencho-bench` without a mode flag: submissions and status reads over HTTP, then the same
//! durable submissions done directly against a database without HTTP, and the ratio.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kencho::accounts::Resident;
use kencho::demo::inu_toroku_answers;
use kencho::error::AppError;
use serde_json::json;

use super::{drive, fresh_dir, open_db, resident_token, rss_kib, start_kencho, BoxErr, Phase};

/// Submissions over HTTP (validated, stored, audited, e-mail queued, committed), status reads
/// and memory, then the same writes without HTTP.
pub async fn run(clients: usize, seconds: u64) -> Result<(), BoxErr> {
    let dir = fresh_dir("kencho-bench")?;
    let (mut child, pid, base) = start_kencho(&dir.join("http"), &[]).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_kib = rss_kib(pid, "VmRSS:").unwrap_or(0);
    let token = resident_token(&client, &base).await?;

    println!(
        "kencho bench: {clients} concurrent clients, {seconds} s per phase, SQLite (WAL, synchronous=FULL), {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let (sub, ids) = http_submissions(&client, &base, &token, clients, seconds).await;
    println!("submissions over HTTP : {})", sub.summary());
    if ids.is_empty() {
        return Err("no submission succeeded".into());
    }
    let reads = status_reads(&client, &base, &token, Arc::new(ids), clients, seconds).await;
    println!("status reads over HTTP: {})", reads.summary());
    let peak_kib = rss_kib(pid, "VmHWM:").unwrap_or(0);
    println!(
        "server memory         : idle {:.1} MB, peak {:.1} MB (RSS)",
        idle_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    let _ = child.kill().await;

    let raw = raw_submissions(&dir.join("raw"), clients, seconds).await?;
    println!("same writes, no HTTP  : {})", raw.summary());
    println!("HTTP / raw ratio      : {:.2}", sub.rate() / raw.rate().max(1.0));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Phase 1: submissions over HTTP; returns the phase and up to 10,000 of the new ids.
async fn http_submissions(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    clients: usize,
    seconds: u64,
) -> (Phase, Vec<i64>) {
    let ids = Arc::new(Mutex::new(Vec::<i64>::new()));
    let phase = {
        let (client, base, token, ids) = (client.clone(), base.to_string(), token.to_string(), ids.clone());
        drive(clients, seconds, move |c, i| {
            let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
            async move {
                let body = json!({"tenant": "minamisoma", "procedure": "inu-toroku", "submit": true, "answers": inu_toroku_answers(i)});
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
    let ids = ids.lock().map(|v| v.clone()).unwrap_or_default();
    (phase, ids)
}

/// Phase 2: status reads of the submitted applications.
async fn status_reads(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    ids: Arc<Vec<i64>>,
    clients: usize,
    seconds: u64,
) -> Phase {
    let (client, base, token) = (client.clone(), base.to_string(), token.to_string());
    drive(clients, seconds, move |c, i| {
        let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
        async move {
            let id = ids[(c * 7919 + i as usize) % ids.len()];
            matches!(client.get(format!("{base}/api/v1/applications/{id}/status")).bearer_auth(&token).send().await, Ok(r) if r.status().is_success())
        }
    })
    .await
}

/// Phase 3: the same durable submission straight against a fresh database in `dir`, no HTTP.
async fn raw_submissions(dir: &Path, clients: usize, seconds: u64) -> Result<Phase, BoxErr> {
    std::fs::create_dir_all(dir)?;
    let db = open_db(dir, "rwc").await?;
    kencho::demo::load(&db).await?;
    let resident = {
        use sqlx::Row;
        let row = sqlx::query("SELECT id, email, name FROM residents WHERE email = $1")
            .bind(kencho::demo::RESIDENT_EMAIL)
            .fetch_one(&db.read)
            .await?;
        Arc::new(Resident { id: row.try_get("id")?, email: row.try_get("email")?, name: row.try_get("name")? })
    };
    let procedure = kencho::procedures::current(&db, "minamisoma", "inu-toroku").await?;
    let raw = {
        let (db, resident, procedure) = (db.clone(), resident.clone(), procedure.clone());
        drive(clients, seconds, move |c, i| {
            let (db, resident, procedure) = (db.clone(), resident.clone(), procedure.clone());
            async move {
                let answers = inu_toroku_answers(i).as_object().cloned().unwrap_or_default();
                let key = format!("raw-{c}-{i}");
                let r: Result<_, AppError> = kencho::applications::submit_new(
                    &db,
                    "http://bench",
                    &resident,
                    &procedure,
                    kencho_core::procedure::ApplicantKind::Myself,
                    answers,
                    Some(&key),
                )
                .await;
                r.is_ok()
            }
        })
        .await
    };
    db.close().await;
    Ok(raw)
}
