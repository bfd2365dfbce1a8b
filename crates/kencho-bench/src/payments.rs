//! `kencho-bench --payments` (キャッシュレス決済).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kencho::demo::inu_toroku_answers;
use serde_json::json;

use super::{drive, fresh_dir, open_db, resident_token, rss_kib, staff_token, start_kencho, BoxErr};

/// `kencho-bench --payments`: `clients` residents' sessions each draft a 犬の鑑札の再交付申請,
/// open a checkout, pay on the sandbox's page with the test card, and wait for kencho to
/// confirm the payment from the sandbox's signed webhook; then a 100,000-line settlement file
/// is reconciled against the payments.
pub async fn run_payments(clients: usize, seconds: u64) -> Result<(), BoxErr> {
    let dir = fresh_dir("kencho-bench-payments")?;
    let (mut child, pid, base) = start_kencho(&dir, &[]).await?;
    let api = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let token = Arc::new(resident_token(&api, &base).await?);
    // One browser (cookie jar) per client for the sandbox's pages.
    let browsers: Arc<Vec<reqwest::Client>> = Arc::new(
        (0..clients)
            .map(|_| reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build())
            .collect::<Result<_, _>>()?,
    );
    let phase = {
        let (api, base, token, browsers) = (api.clone(), base.clone(), token.clone(), browsers.clone());
        drive(clients, seconds, move |c, i| {
            let (api, base, token, browsers) = (api.clone(), base.clone(), token.clone(), browsers.clone());
            async move { pay_once(&api, &browsers[c], &base, &token, i).await }
        })
        .await
    };
    println!(
        "payments through the sandbox provider over HTTP, {clients} clients (draft, checkout, pay, webhook confirmed):"
    );
    println!(
        "  confirmed payments  : {:>8.0} /s   p50 {:>7.1} ms   p99 {:>7.1} ms   ({} ok, {} failed)",
        phase.rate(),
        phase.ms(0.5),
        phase.ms(0.99),
        phase.ok,
        phase.errors
    );
    println!("  server memory       : peak {:.1} MB (RSS)", rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0);
    reconcile(&api, &base, &dir, pid).await?;
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One whole payment: draft, checkout, the sandbox's page paid with the test card in `browser`,
/// then waiting until kencho has applied the webhook. True when confirmed.
async fn pay_once(api: &reqwest::Client, browser: &reqwest::Client, base: &str, token: &str, i: u64) -> bool {
    let draft = json!({"tenant": "minamisoma", "procedure": "inu-kansatsu-saikofu", "answers": inu_toroku_answers(i)});
    let Ok(r) = api.post(format!("{base}/api/v1/applications")).bearer_auth(token).json(&draft).send().await else {
        return false;
    };
    let Ok(v) = r.json::<serde_json::Value>().await else { return false };
    let Some(id) = v["id"].as_i64() else { return false };
    let Ok(r) = api
        .post(format!("{base}/api/v1/applications/{id}/payment"))
        .bearer_auth(token)
        .json(&json!({"method": "card"}))
        .send()
        .await
    else {
        return false;
    };
    let Ok(v) = r.json::<serde_json::Value>().await else { return false };
    let Some(url) = v["checkout_url"].as_str() else { return false };
    if !pay_on_sandbox_page(browser, url).await {
        return false;
    }
    confirmed(api, base, token, id).await
}

/// The resident's part on the sandbox's checkout page: the form read, the test card sent.
async fn pay_on_sandbox_page(browser: &reqwest::Client, url: &str) -> bool {
    let Ok(page) = browser.get(url).send().await else { return false };
    let Ok(page) = page.text().await else { return false };
    let Some(csrf) = page.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()) else {
        return false;
    };
    let form = [("csrf", csrf), ("card", "4242424242424242"), ("delivery", "normal")];
    browser.post(url).form(&form).send().await.is_ok_and(|r| r.status().as_u16() == 303)
}

/// Confirmed when kencho has applied the provider's webhook.
async fn confirmed(api: &reqwest::Client, base: &str, token: &str, id: i64) -> bool {
    for _ in 0..400 {
        let Ok(r) = api.get(format!("{base}/api/v1/applications/{id}/payment")).bearer_auth(token).send().await else {
            return false;
        };
        let Ok(s) = r.json::<serde_json::Value>().await else { return false };
        if s["paid"].as_i64().unwrap_or(0) > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// Reconciliation of a 100,000-line settlement file: the real refs first, the rest unknown.
async fn reconcile(api: &reqwest::Client, base: &str, dir: &Path, pid: u32) -> Result<(), BoxErr> {
    use sqlx::Row;
    let db = open_db(dir, "rw").await?;
    let refs: Vec<(String, i64)> = sqlx::query("SELECT provider_ref, paid_amount FROM payments WHERE state = 'paid'")
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("provider_ref")?, r.try_get("paid_amount")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let staff = staff_token(api, base, &db, "kankyo-kakaricho@minamisoma.example.jp").await?;
    db.close().await;
    let csv = settlement_csv(&refs);
    let before = rss_kib(pid, "VmRSS:").unwrap_or(0);
    let t = Instant::now();
    let res = api
        .post(format!("{base}/api/v1/staff/payments/reconcile?provider=sandbox"))
        .bearer_auth(&staff)
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await?;
    let status = res.status();
    let report: serde_json::Value = res.json().await?;
    let took = t.elapsed();
    println!(
        "reconciliation of 100,000 lines ({:.1} MB): HTTP {status}, {:.2} s, {} matched, {} unknown; server RSS {:.0} → peak {:.0} MB",
        csv.len() as f64 / 1_048_576.0,
        took.as_secs_f64(),
        report["matched"],
        report["unknown"].as_array().map(Vec::len).unwrap_or(0),
        before as f64 / 1024.0,
        rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}

/// 100,000 settlement lines dated today: one per paid payment, the rest unknown refs.
fn settlement_csv(refs: &[(String, i64)]) -> String {
    let today = kencho::clock::fmt_date(kencho::db::now_ms());
    let mut csv = String::with_capacity(100_000 * 48);
    csv.push_str("provider_ref,date,gross,fee\n");
    for n in 0..100_000usize {
        match refs.get(n) {
            Some((r, amount)) => csv.push_str(&format!("{r},{today},{amount},{}\n", amount * 36 / 1000)),
            None => csv.push_str(&format!("sbx_settlement_{n:06},{today},1600,57\n")),
        }
    }
    csv
}
