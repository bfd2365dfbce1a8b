//! `kencho bench --payments` (キャッシュレス決済).

use super::*;

/// `kencho bench --payments`: `clients` residents' sessions each draft a 犬の鑑札の再交付申請,
/// open a checkout, pay on the sandbox's page with the test card, and wait for kencho to
/// confirm the payment from the sandbox's signed webhook; then a 100,000-line settlement file
/// is reconciled against the payments.
pub async fn run_payments(clients: usize, seconds: u64) -> Result<(), BoxErr> {
    use sqlx::Row;
    let dir = std::env::temp_dir().join(format!("kencho-bench-payments-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (mut child, pid, base) = start_kencho(&dir, &[]).await?;
    let api = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let login: serde_json::Value = api
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": crate::demo::RESIDENT_EMAIL, "password": crate::demo::PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = Arc::new(login["token"].as_str().ok_or("login failed")?.to_string());
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
            async move {
                let b = &browsers[c];
                let draft =
                    json!({"tenant": "minamisoma", "procedure": "inu-kansatsu-saikofu", "answers": bench_answers(i)});
                let Ok(r) =
                    api.post(format!("{base}/api/v1/applications")).bearer_auth(&*token).json(&draft).send().await
                else {
                    return false;
                };
                let Ok(v) = r.json::<serde_json::Value>().await else { return false };
                let Some(id) = v["id"].as_i64() else { return false };
                let Ok(r) = api
                    .post(format!("{base}/api/v1/applications/{id}/payment"))
                    .bearer_auth(&*token)
                    .json(&json!({"method": "card"}))
                    .send()
                    .await
                else {
                    return false;
                };
                let Ok(v) = r.json::<serde_json::Value>().await else { return false };
                let Some(url) = v["checkout_url"].as_str() else { return false };
                let Ok(page) = b.get(url).send().await else { return false };
                let Ok(page) = page.text().await else { return false };
                let Some(csrf) = page.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()) else {
                    return false;
                };
                let form = [("csrf", csrf), ("card", "4242424242424242"), ("delivery", "normal")];
                if !b.post(url).form(&form).send().await.is_ok_and(|r| r.status().as_u16() == 303) {
                    return false;
                }
                // Confirmed when kencho has applied the provider's webhook.
                for _ in 0..400 {
                    let Ok(r) =
                        api.get(format!("{base}/api/v1/applications/{id}/payment")).bearer_auth(&*token).send().await
                    else {
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

    // Reconciliation of a 100,000-line settlement file: the real refs first, the rest unknown.
    let db = open_db(&dir, "rw").await?;
    let refs: Vec<(String, i64)> = sqlx::query("SELECT provider_ref, paid_amount FROM payments WHERE state = 'paid'")
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("provider_ref")?, r.try_get("paid_amount")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let staff = staff_token(&api, &base, &db, "kankyo-kakaricho@minamisoma.example.jp").await?;
    db.close().await;
    let today = crate::clock::fmt_date(crate::db::now_ms());
    let mut csv = String::with_capacity(100_000 * 48);
    csv.push_str("provider_ref,date,gross,fee\n");
    for n in 0..100_000usize {
        match refs.get(n) {
            Some((r, amount)) => csv.push_str(&format!("{r},{today},{amount},{}\n", amount * 36 / 1000)),
            None => csv.push_str(&format!("sbx_settlement_{n:06},{today},1600,57\n")),
        }
    }
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
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
