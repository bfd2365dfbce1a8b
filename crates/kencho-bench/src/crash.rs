//! The crash test: clients submit applications with idempotency keys while the server is killed
//! with SIGKILL again and again and restarted on the same data. At the end, every submission the
//! server acknowledged must be stored exactly once, no key twice, and every audit chain must
//! verify. `kencho-bench --crash N` runs it (N kills); `.ci/run` runs it briefly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::json;
use sqlx::Row;

use kencho::demo::inu_toroku_answers;

use super::{fresh_dir, resident_token, start_kencho, BoxErr};

/// Runs `kills` kill-and-restart cycles under `clients` concurrent submitters. Errors when a
/// submission was lost or doubled, or the audit log does not verify.
pub async fn run(kills: usize, clients: usize) -> Result<(), BoxErr> {
    let dir = fresh_dir("kencho-crash")?;
    let (mut child, _, base) = start_kencho(&dir, &[]).await?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let token = resident_token(&http, &base).await?;
    let base = Arc::new(RwLock::new(base));
    // Key → application id, for every submission the server acknowledged.
    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, token, acked, stop) = (http.clone(), base.clone(), token.clone(), acked.clone(), stop.clone());
        tasks.push(tokio::spawn(async move { submitter(c, http, base, token, acked, stop).await }));
    }
    for k in 0..kills {
        // Let some work through, then kill at a moment nobody chose.
        tokio::time::sleep(Duration::from_millis(700 + (k as u64 * 337) % 900)).await;
        child.start_kill()?;
        child.wait().await?;
        let (c, _, b) = start_kencho(&dir, &[]).await?;
        child = c;
        if let Ok(mut w) = base.write() {
            *w = b;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    child.start_kill()?;
    child.wait().await?;
    check(&dir, &acked.lock().map(|a| a.clone()).unwrap_or_default(), kills).await
}

/// Submits with a fresh key; a failed attempt (the server died) is sent again with the same key
/// until the server answers it.
async fn submitter(
    c: usize,
    http: reqwest::Client,
    base: Arc<RwLock<String>>,
    token: String,
    acked: Arc<Mutex<HashMap<String, i64>>>,
    stop: Arc<AtomicBool>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("crash-{c}-{n}");
        let body = json!({"tenant": "minamisoma", "procedure": "inu-toroku", "submit": true, "answers": inu_toroku_answers(n)});
        loop {
            let url = format!("{}/api/v1/applications", base.read().map(|b| b.clone()).unwrap_or_default());
            let sent = http.post(url).bearer_auth(&token).header("Idempotency-Key", &key).json(&body).send().await;
            if let Ok(res) = sent {
                if res.status().is_success() {
                    if let Ok(v) = res.json::<serde_json::Value>().await {
                        if let (Some(id), Ok(mut a)) = (v["id"].as_i64(), acked.lock()) {
                            a.insert(key.clone(), id);
                        }
                        break;
                    }
                }
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        n += 1;
    }
}

async fn check(dir: &std::path::Path, acked: &HashMap<String, i64>, kills: usize) -> Result<(), BoxErr> {
    let db = super::open_db(dir, "rwc").await?;
    let rows = sqlx::query("SELECT id, idempotency_key FROM applications WHERE idempotency_key LIKE 'crash-%'")
        .fetch_all(&db.read)
        .await?;
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for r in &rows {
        stored.entry(r.try_get("idempotency_key")?).or_default().push(r.try_get("id")?);
    }
    let lost: Vec<&String> = acked.keys().filter(|k| !stored.contains_key(*k)).collect();
    let doubled = stored.values().filter(|ids| ids.len() > 1).count();
    let moved = acked.iter().filter(|(k, id)| stored.get(*k).is_some_and(|ids| !ids.contains(id))).count();
    let chains = kencho::audit::verify(&db).await?;
    let broken: Vec<String> =
        chains.iter().filter_map(|c| c.problem.as_ref().map(|p| format!("tenant {}: {p}", c.tenant_id))).collect();
    let entries: i64 = chains.iter().map(|c| c.entries).sum();
    println!(
        "crash test: {kills} SIGKILLs; {} submissions acknowledged, {} stored; lost {}, stored twice {doubled}, \
         answered with another id {moved}; audit: {entries} entries in {} chains, {} broken",
        acked.len(),
        rows.len(),
        lost.len(),
        chains.len(),
        broken.len()
    );
    db.close().await;
    if !lost.is_empty() || doubled > 0 || moved > 0 || !broken.is_empty() {
        return Err(format!("crash test failed: lost {lost:?}; broken chains {broken:?}").into());
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
