//! `kencho-bench --approval` (電子決裁).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use super::{drive, fresh_dir, open_db, rss_kib, staff_token, start_kencho, BoxErr};

/// Each route: submit, then five steps; the draft itself is one more request.
const ACTS: [(&str, &str); 6] = [
    ("kankyo-tanto", "submit"),
    ("kankyo-kakaricho", "approve"),
    ("kankyo-hosa", "approve"),
    ("zaisei-kacho", "agree"),
    ("admin", "agree"),
    ("kacho", "approve"),
];

/// `kencho-bench --approval`: `clients` drafters each push 起案 through a five-step route
/// (係長 → 課長補佐 → 財政課長 合議 → 情報政策課長 合議 → 課長 決裁) over HTTP, with the real
/// staff of the demo organisation acting; prints acts per second and route latency.
pub async fn run_approval(clients: usize, seconds: u64) -> Result<(), BoxErr> {
    let dir = fresh_dir("kencho-bench-approval")?;
    let (mut child, pid, base) = start_kencho(&dir, &[]).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    // The demo staff's TOTP secrets are read from the server's database, as a phone would hold them.
    let db = open_db(&dir, "rw").await?;
    let mut tokens = HashMap::new();
    for who in ["kankyo-tanto", "kankyo-kakaricho", "kankyo-hosa", "zaisei-kacho", "admin", "kacho"] {
        let token = staff_token(&client, &base, &db, &format!("{who}@minamisoma.example.jp")).await?;
        tokens.insert(who, token);
    }
    db.close().await;
    let tokens = Arc::new(tokens);
    let phase = {
        let (client, base, tokens) = (client.clone(), base.clone(), tokens.clone());
        drive(clients, seconds, move |c, i| {
            let (client, base, tokens) = (client.clone(), base.clone(), tokens.clone());
            async move { one_route(&client, &base, &tokens, c, i).await }
        })
        .await
    };
    let acts = phase.ok as f64 * ACTS.len() as f64 / phase.elapsed.as_secs_f64();
    println!("approval routes over HTTP, {clients} clients, five steps each (submit + 5 acts + the draft request):");
    println!(
        "  acts                : {acts:>8.0} /s   ({:.0} decided routes/s, {} routes, {} failed)",
        phase.rate(),
        phase.ok,
        phase.errors
    );
    println!(
        "  one whole route     : p50 {:>7.1} ms   p99 {:>7.1} ms   (7 requests in sequence)",
        phase.ms(0.5),
        phase.ms(0.99)
    );
    println!("  server memory       : peak {:.1} MB (RSS)", rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0);
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Client `c`'s `i`th 起案: drafted, then every act of [`ACTS`] by its staff member; true when
/// the route was decided.
async fn one_route(client: &reqwest::Client, base: &str, tokens: &HashMap<&str, String>, c: usize, i: u64) -> bool {
    let draft = json!({"title": format!("ベンチマーク用 物品購入 {c}-{i}"), "body": "複合機の購入について伺います。",
        "matter_kind": "物品購入", "amount": 500_000, "consult": [{"division": "zaisei"}, {"division": "joho"}]});
    let Ok(res) =
        client.post(format!("{base}/api/v1/approval")).bearer_auth(&tokens["kankyo-tanto"]).json(&draft).send().await
    else {
        return false;
    };
    let Ok(v) = res.json::<serde_json::Value>().await else { return false };
    let Some(id) = v["id"].as_i64() else { return false };
    for (who, act) in ACTS {
        let ok = client
            .post(format!("{base}/api/v1/approval/{id}/acts"))
            .bearer_auth(&tokens[who])
            .json(&json!({"act": act}))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if !ok {
            return false;
        }
    }
    true
}
