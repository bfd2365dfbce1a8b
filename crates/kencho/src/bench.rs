//! `kencho bench`: starts kencho (this binary, as a child process) on a fresh SQLite database,
//! drives it over HTTP with many concurrent clients, and prints submissions/s with latency
//! percentiles, status reads/s, idle and peak memory. In the same run it measures the same
//! durable submission done directly against a database without HTTP, and prints the ratio.

pub mod audit;
pub mod crash;

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
        approve: !i.is_multiple_of(5),
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
        Arc::new(Resident { id: row.try_get(0)?, email: row.try_get(1)?, name: row.try_get(2)? })
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

/// `kencho bench --hazards N`: generates a flood layer of N polygons in the A31a GeoJSON shape
/// over Fukushima's extent, loads it into a running kencho the way an administrator would
/// (validated whole, stored as a version), then measures hazard look-ups and plan previews over
/// HTTP, and the same look-ups in process.
pub async fn run_hazards(polygons: usize, clients: usize, seconds: u64) -> Result<(), BoxErr> {
    use kencho_core::evacuation::data::flood_zones;
    use kencho_core::evacuation::geo::{Point, PolygonIndex};

    let (west, south, width, height) = (139.2, 36.8, 1.9, 1.2);
    let started = Instant::now();
    let text = generate_flood_layer(polygons, (west, south, width, height));
    let generated = started.elapsed();
    let size_mb = text.len() as f64 / 1_048_576.0;
    println!(
        "hazard layer: {polygons} polygons, {size_mb:.0} MB of GeoJSON (generated in {:.1} s), {} cores",
        generated.as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // In process: parse and index alone.
    let t = Instant::now();
    let zones = flood_zones(&text)?;
    let parsed = t.elapsed();
    let t = Instant::now();
    let index = PolygonIndex::new(zones);
    let built = t.elapsed();
    println!(
        "in process: parse {:.2} s, index {:.2} s; this process peak {:.0} MB RSS",
        parsed.as_secs_f64(),
        built.as_secs_f64(),
        rss_kib(std::process::id(), "VmHWM:").unwrap_or(0) as f64 / 1024.0
    );
    let point = move |seed: &mut u64| {
        // xorshift: cheap, repeatable points across the layer's extent.
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        Point::new(
            west + (*seed % 1_000_000) as f64 / 1e6 * width,
            south + ((*seed >> 20) % 1_000_000) as f64 / 1e6 * height,
        )
    };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).map_err(|e| e.to_string())?;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let (mut hits, mut n) = (0u64, 0u64);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(seconds.min(3)) {
        let p = point(&mut seed);
        let q = Instant::now();
        if index.at(&p).next().is_some() {
            hits += 1;
        }
        let _ = hist.record(q.elapsed().as_nanos().max(1) as u64);
        n += 1;
    }
    println!(
        "in-process look-ups (one thread): {:.0} /s, p50 {:.1} µs, p99 {:.1} µs, {:.0} % of points in a zone",
        n as f64 / t.elapsed().as_secs_f64(),
        hist.value_at_quantile(0.5) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
        100.0 * hits as f64 / n.max(1) as f64
    );
    drop(index);

    // The real path: a kencho server, the layer loaded as an administrator would.
    let dir = std::env::temp_dir().join(format!("kencho-bench-hazards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (mut child, pid, base) = start_kencho(&dir, &[]).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let db = open_db(&dir, "rwc").await?;
    let tenant = crate::tenants::id_of(&db, "minamisoma").await?.ok_or("no demo tenant")?;
    let t = Instant::now();
    let v = crate::evacuation::layers::load(
        &db,
        tenant,
        crate::evacuation::layers::LayerKind::Flood,
        "bench-flood.geojson",
        text,
        "bench",
    )
    .await?;
    let load_s = t.elapsed().as_secs_f64();
    db.close().await;
    // The server notices the new version and rebuilds its index on the next look-up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t = Instant::now();
    let first = client.get(format!("{base}/api/v1/evacuation/minamisoma/hazards?lat=37.64&lon=140.95")).send().await?;
    let first_s = t.elapsed().as_secs_f64();
    if !first.status().is_success() {
        return Err(format!("look-up failed: HTTP {}", first.status()).into());
    }
    println!(
        "load into kencho (validate whole, store version {}): {load_s:.2} s; first look-up (server parses and indexes): {first_s:.2} s",
        v.version
    );
    println!(
        "server memory with the layer in use: {:.0} MB RSS, peak {:.0} MB",
        rss_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0,
        rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0
    );

    let lookups = {
        let (client, base) = (client.clone(), base.clone());
        drive(clients, seconds, move |c, i| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let mut seed =
                    (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                let p = point(&mut seed);
                let url = format!("{base}/api/v1/evacuation/minamisoma/hazards?lat={:.6}&lon={:.6}", p.lat, p.lon);
                match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                }
            }
        })
        .await
    };
    println!(
        "hazard look-ups over HTTP : {:>8.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} failed; {clients} clients)",
        lookups.rate(),
        lookups.ms(0.5),
        lookups.ms(0.99),
        lookups.ok,
        lookups.errors
    );
    let plans = {
        let (client, base) = (client.clone(), base.clone());
        drive(clients, seconds, move |c, i| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let mut seed = (c as u64 + 7).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0x94D0_49BB_1331_11EB);
                let p = point(&mut seed);
                let body = json!({
                    "lat": p.lat, "lon": p.lon, "living_floor": 1 + (i % 3), "can_hold_out": i % 2 == 0,
                    "members": [{"name": "母"}, {"name": "祖父", "walking_help": i % 4 == 0}, {"name": "子", "infant": i % 5 == 0}]
                });
                match client.post(format!("{base}/api/v1/evacuation/minamisoma/plan")).json(&body).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                }
            }
        })
        .await
    };
    println!(
        "plans generated over HTTP : {:>8.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} failed)",
        plans.rate(),
        plans.ms(0.5),
        plans.ms(0.99),
        plans.ok,
        plans.errors
    );
    println!("server peak memory        : {:.0} MB RSS", rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0);
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// An A31a-shaped layer: one irregular hexagon per grid cell, depth ranks 1–6 in turn.
fn generate_flood_layer(polygons: usize, (west, south, width, height): (f64, f64, f64, f64)) -> String {
    let cols = (polygons as f64).sqrt().ceil().max(1.0) as usize;
    let rows = polygons.div_ceil(cols).max(1);
    let (cw, ch) = (width / cols as f64, height / rows as f64);
    let mut text = String::with_capacity(polygons * 260);
    text.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..polygons {
        let (x, y) = (west + (i % cols) as f64 * cw, south + (i / cols) as f64 * ch);
        let pts = [(0.1, 0.2), (0.5, 0.05), (0.9, 0.25), (0.95, 0.7), (0.5, 0.95), (0.05, 0.75), (0.1, 0.2)];
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"A31a_105\":{}}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[",
            1 + i % 6
        ));
        for (k, (dx, dy)) in pts.iter().enumerate() {
            if k > 0 {
                text.push(',');
            }
            text.push_str(&format!("[{:.6},{:.6}]", x + dx * cw, y + dy * ch));
        }
        text.push_str("]]}}");
    }
    text.push_str("]}");
    text
}

/// `kencho bench --iot N`: starts kencho subscribed to the local MQTT broker with an SMTP sink
/// of its own, registers N trap sensors, then (1) publishes heartbeats in the ChirpStack format
/// as fast as it can and counts what kencho commits, and (2) fires traps at a steady rate and
/// times each from the publish to the mail arriving at the SMTP sink.
pub async fn run_iot(devices: usize, seconds: u64, broker: &str, offered: u64) -> Result<(), BoxErr> {
    use base64::Engine;
    use rumqttc::{AsyncClient, MqttOptions, QoS};

    let sink = sink::SmtpSink::start().await?;
    let dir = std::env::temp_dir().join(format!("kencho-bench-iot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let client_id = format!("kencho-bench-{}", std::process::id());
    let extra = [
        "--mqtt-url".to_string(),
        format!("mqtt://{broker}?client_id={client_id}"),
        "--smtp-url".to_string(),
        format!("smtp://127.0.0.1:{}", sink.port),
    ];
    let (mut child, pid, _base) = start_kencho(&dir, &extra).await?;
    let db = open_db(&dir, "rwc").await?;
    let tenant = crate::tenants::id_of(&db, "minamisoma").await?.ok_or("no demo tenant")?;
    // The benchmark's uplinks come from its own ChirpStack application.
    let bench_app =
        crate::iot::applications::Binding { id: 0, format: "chirpstack".into(), application: "bench".into() };
    crate::iot::applications::bind(&db, tenant, &bench_app, "bench").await?;
    let euis: Vec<String> = (0..devices).map(|i| format!("70B3D5{:010X}", i)).collect();
    let t = Instant::now();
    for chunk in euis.chunks(1000).enumerate() {
        let (c, list) = chunk;
        let devs = list
            .iter()
            .enumerate()
            .map(|(i, e)| crate::iot::registry::NewDevice {
                dev_eui: e.clone(),
                kind: "trap".into(),
                label: format!("bench-trap-{:05}", c * 1000 + i),
                area: format!("地区{}", (c * 1000 + i) % 20),
                lat: Some(37.6 + (i as f64) * 1e-5),
                lon: Some(140.9),
                heartbeat_s: Some(86_400),
                person_id: None,
                hunters: vec![crate::iot::registry::NewContact {
                    name: "hunter".into(),
                    email: format!("hunter{}@example.jp", c * 1000 + i),
                    role: "hunter".into(),
                    hours: None,
                }],
            })
            .collect();
        crate::iot::registry::add_devices(&db, tenant, devs, "bench").await?;
    }
    println!(
        "kencho IoT bench: {devices} trap sensors registered in {:.1} s; broker {broker}; {} cores",
        t.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let mut opts = MqttOptions::new(
        format!("bench-pub-{}", std::process::id()),
        broker.split(':').next().unwrap_or("127.0.0.1"),
        broker.split(':').nth(1).and_then(|p| p.parse().ok()).unwrap_or(1883),
    );
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_inflight(1000);
    let (mqtt, mut events) = AsyncClient::new(opts, 10_000);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let count = |db: Db| async move {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) FROM iot_events WHERE kind = 'heartbeat'")
            .fetch_one(&db.read)
            .await
            .ok()
            .and_then(|r| r.try_get::<i64, _>(0).ok())
            .unwrap_or(0)
    };
    let uplink = |eui: &str, fcnt: u32, payload: &[u8]| {
        let topic = format!("application/bench/device/{}/event/up", eui.to_lowercase());
        let body = json!({
            "deduplicationId": format!("{eui}-{fcnt}"), "time": "2026-11-29T05:00:00Z",
            "deviceInfo": {"devEui": eui.to_lowercase()}, "fCnt": fcnt, "fPort": 10,
            "data": base64::engine::general_purpose::STANDARD.encode(payload)
        });
        (topic, body.to_string())
    };

    // Phase 1: heartbeats at a steady offered rate (a broker drops what a slow subscriber
    // cannot take, so the rate is paced); kencho commits each (event row, device state).
    let before = count(db.clone()).await;
    let t = Instant::now();
    let mut published = 0u64;
    let mut fcnt = 1u32;
    let mut next = 0usize;
    while t.elapsed() < Duration::from_secs(seconds) {
        let due = (t.elapsed().as_secs_f64() * offered as f64) as u64;
        while published < due {
            let (topic, body) = uplink(&euis[next], fcnt, &[0x03, 90]);
            mqtt.publish(topic, QoS::AtLeastOnce, false, body.into_bytes()).await?;
            published += 1;
            next += 1;
            if next == euis.len() {
                next = 0;
                fcnt += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pub_s = t.elapsed().as_secs_f64();
    // Wait until everything published is committed (or stops moving).
    // Wait until everything published is committed, or nothing moved for two seconds.
    let mut last = -1;
    let mut done_at = Instant::now();
    loop {
        let c = count(db.clone()).await - before;
        if c != last {
            last = c;
            done_at = Instant::now();
        }
        if c as u64 >= published || done_at.elapsed() > Duration::from_secs(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let committed = (count(db.clone()).await - before) as u64;
    let total_s = (done_at - t).as_secs_f64();
    println!(
        "MQTT uplinks committed  : {:>8.0} /s   ({committed} of {published} published at {offered}/s in {pub_s:.1} s; committed by {total_s:.1} s)",
        committed as f64 / total_s
    );
    println!(
        "server memory           : {:.0} MB RSS (peak {:.0} MB)",
        rss_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0,
        rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0
    );

    // Phase 2: traps fire at a steady rate; publish-to-mail latency at the SMTP sink.
    let rate = 100u64;
    let fires = (rate * seconds).min(devices as u64) as usize;
    let mut sent_at = std::collections::HashMap::new();
    let mut wall = Vec::new();
    let t = Instant::now();
    for (i, e) in euis.iter().take(fires).enumerate() {
        let due = Duration::from_micros(i as u64 * 1_000_000 / rate);
        if let Some(wait) = due.checked_sub(t.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let (topic, body) = uplink(e, fcnt + 1, &[0x01, 88]);
        sent_at.insert(format!("bench-trap-{i:05}"), Instant::now());
        wall.push(crate::db::now_ms());
        mqtt.publish(topic, QoS::AtLeastOnce, false, body.into_bytes()).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.count() < fires && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).map_err(|e| e.to_string())?;
    for (label, arrived) in sink.arrivals() {
        if let Some(sent) = sent_at.get(&label) {
            let _ = hist.record(arrived.saturating_duration_since(*sent).as_micros().max(1) as u64);
        }
    }
    println!(
        "publish → mail at SMTP  : p50 {:.0} ms   p99 {:.0} ms   max {:.0} ms   ({} of {fires} fired traps, {rate}/s)",
        hist.value_at_quantile(0.5) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
        hist.max() as f64 / 1000.0,
        hist.len()
    );
    {
        // Where the time goes: publish → alarm committed (the rest is the outbox and SMTP).
        use sqlx::Row;
        let rows = sqlx::query("SELECT d.label, a.opened_at FROM iot_alarms a JOIN iot_devices d ON a.subject = 'device:' || d.id WHERE a.kind = 'trap_fired'")
            .fetch_all(&db.read)
            .await?;
        let mut h = Histogram::<u64>::new_with_bounds(1, 600_000, 3).map_err(|e| e.to_string())?;
        for r in &rows {
            let (label, opened): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            let i: usize = label.trim_start_matches("bench-trap-").parse().unwrap_or(usize::MAX);
            if let Some(w) = wall.get(i) {
                let _ = h.record((opened - w).max(1) as u64);
            }
        }
        println!(
            "publish → alarm stored  : p50 {} ms   p99 {} ms",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99)
        );
    }
    println!("server peak memory      : {:.0} MB RSS", rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0);
    let _ = child.kill().await;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A minimal SMTP server for the benchmark: accepts every message and notes when each trap's
/// mail arrived (by the `bench-trap-NNNNN` label in its decoded body).
mod sink {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use base64::Engine;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

    pub struct SmtpSink {
        pub port: u16,
        arrivals: Arrivals,
    }

    impl SmtpSink {
        pub async fn start() -> std::io::Result<SmtpSink> {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            let arrivals: Arrivals = Arc::default();
            let a = arrivals.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let a = a.clone();
                    tokio::spawn(async move {
                        let _ = session(stream, a).await;
                    });
                }
            });
            Ok(SmtpSink { port, arrivals })
        }

        pub fn count(&self) -> usize {
            self.arrivals.lock().map(|v| v.len()).unwrap_or(0)
        }

        pub fn arrivals(&self) -> Vec<(String, Instant)> {
            self.arrivals.lock().map(|v| v.clone()).unwrap_or_default()
        }
    }

    async fn session(stream: tokio::net::TcpStream, arrivals: Arrivals) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 bench ESMTP\r\n").await?;
        while let Some(line) = lines.next_line().await? {
            let cmd = line.to_ascii_uppercase();
            if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                w.write_all(b"250-bench\r\n250 8BITMIME\r\n").await?;
            } else if cmd.starts_with("DATA") {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    data.push_str(&l);
                    data.push('\n');
                }
                let arrived = Instant::now();
                if let Some(label) = label_of(&data) {
                    if let Ok(mut v) = arrivals.lock() {
                        v.push((label, arrived));
                    }
                }
                w.write_all(b"250 queued\r\n").await?;
            } else if cmd.starts_with("QUIT") {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                w.write_all(b"250 OK\r\n").await?;
            }
        }
        Ok(())
    }

    /// Only first alarms ("作動しました"), not re-sends or other notices.
    fn label_of(data: &str) -> Option<String> {
        let body = data.split_once("\n\n").map(|(_, b)| b).unwrap_or(data);
        let compact: String = body.lines().map(str::trim).collect();
        let text = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| body.to_string());
        if !text.contains("作動しました") {
            return None;
        }
        let i = text.find("bench-trap-")?;
        Some(text[i..].chars().take(16).collect())
    }
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
    let secret = db.keys().open(&crate::accounts::totp_place(row.try_get(0)?), &row.try_get::<String, _>(1)?)?;
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

/// `kencho bench --approval`: `clients` drafters each push 起案 through a five-step route
/// (係長 → 課長補佐 → 財政課長 合議 → 情報政策課長 合議 → 課長 決裁) over HTTP, with the real
/// staff of the demo organisation acting; prints acts per second and route latency.
pub async fn run_approval(clients: usize, seconds: u64) -> Result<(), BoxErr> {
    let dir = std::env::temp_dir().join(format!("kencho-bench-approval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (mut child, pid, base) = start_kencho(&dir, &[]).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    // The demo staff's TOTP secrets are read from the server's database, as a phone would hold them.
    let db = open_db(&dir, "rw").await?;
    let mut tokens = std::collections::HashMap::new();
    for who in ["kankyo-tanto", "kankyo-kakaricho", "kankyo-hosa", "zaisei-kacho", "admin", "kacho"] {
        let token = staff_token(&client, &base, &db, &format!("{who}@minamisoma.example.jp")).await?;
        tokens.insert(who, token);
    }
    db.close().await;
    let tokens = Arc::new(tokens);
    // Each route: submit, then five steps; the draft itself is one more request.
    const ACTS: [(&str, &str); 6] = [
        ("kankyo-tanto", "submit"),
        ("kankyo-kakaricho", "approve"),
        ("kankyo-hosa", "approve"),
        ("zaisei-kacho", "agree"),
        ("admin", "agree"),
        ("kacho", "approve"),
    ];
    let phase = {
        let (client, base, tokens) = (client.clone(), base.clone(), tokens.clone());
        drive(clients, seconds, move |c, i| {
            let (client, base, tokens) = (client.clone(), base.clone(), tokens.clone());
            async move {
                let draft = json!({"title": format!("ベンチマーク用 物品購入 {c}-{i}"), "body": "複合機の購入について伺います。",
                    "matter_kind": "物品購入", "amount": 500_000, "consult": [{"division": "zaisei"}, {"division": "joho"}]});
                let Ok(res) = client.post(format!("{base}/api/v1/kessai")).bearer_auth(&tokens["kankyo-tanto"]).json(&draft).send().await
                else {
                    return false;
                };
                let Ok(v) = res.json::<serde_json::Value>().await else { return false };
                let Some(id) = v["id"].as_i64() else { return false };
                for (who, act) in ACTS {
                    let ok = client
                        .post(format!("{base}/api/v1/kessai/{id}/acts"))
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
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let staff = staff_token(&api, &base, &db, "kankyo-kakaricho@minamisoma.example.jp").await?;
    db.close().await;
    let today = crate::web::fmt_date(crate::db::now_ms());
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
