//! `kencho-bench --hazards N` (マイ避難).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kencho_core::evacuation::geo::Point;
use serde_json::json;

use super::{drive, fresh_dir, open_db, rss_kib, start_kencho, BoxErr, Phase};

/// The layer's extent over Fukushima: west, south, width, height (degrees).
const EXTENT: (f64, f64, f64, f64) = (139.2, 36.8, 1.9, 1.2);

/// `kencho-bench --hazards N`: generates a flood layer of N polygons in the A31a GeoJSON shape
/// over Fukushima's extent, loads it into a running kencho the way an administrator would
/// (validated whole, stored as a version), then measures hazard look-ups and plan previews over
/// HTTP, and the same look-ups in process.
pub async fn run_hazards(polygons: usize, clients: usize, seconds: u64) -> Result<(), BoxErr> {
    let started = Instant::now();
    let text = generate_flood_layer(polygons, EXTENT);
    let generated = started.elapsed();
    let size_mb = text.len() as f64 / 1_048_576.0;
    println!(
        "hazard layer: {polygons} polygons, {size_mb:.0} MB of GeoJSON (generated in {:.1} s), {} cores",
        generated.as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    in_process(&text, seconds)?;

    // The real path: a kencho server, the layer loaded as an administrator would.
    let dir = fresh_dir("kencho-bench-hazards")?;
    let (mut child, pid, base) = start_kencho(&dir, &[]).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    load_into_server(&dir, text, &client, &base, pid).await?;
    let lookups = http_lookups(&client, &base, clients, seconds).await;
    println!("hazard look-ups over HTTP : {}; {clients} clients)", lookups.summary());
    let plans = http_plans(&client, &base, clients, seconds).await;
    println!("plans generated over HTTP : {})", plans.summary());
    println!("server peak memory        : {:.0} MB RSS", rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0);
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A repeatable point across the layer's extent (xorshift: cheap).
fn point(seed: &mut u64) -> Point {
    let (west, south, width, height) = EXTENT;
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    Point::new(
        west + (*seed % 1_000_000) as f64 / 1e6 * width,
        south + ((*seed >> 20) % 1_000_000) as f64 / 1e6 * height,
    )
}

/// In process: parse and index alone, then look-ups on one thread for up to three seconds.
fn in_process(text: &str, seconds: u64) -> Result<(), BoxErr> {
    use kencho_core::evacuation::flood::{flood_zones, FloodZones};
    use kencho_core::evacuation::geo::PolygonIndex;

    let t = Instant::now();
    let FloodZones::Depth { zones, .. } = flood_zones(text)? else {
        return Err("the generated layer is a depth layer".into());
    };
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
    Ok(())
}

/// Loads the layer into the server's database as a new version, then times the server's first
/// look-up (which parses and indexes it) and prints its memory.
async fn load_into_server(
    dir: &std::path::Path,
    text: String,
    client: &reqwest::Client,
    base: &str,
    pid: u32,
) -> Result<(), BoxErr> {
    let db = open_db(dir, "rwc").await?;
    let tenant = kencho::tenants::id_of(&db, "minamisoma").await?.ok_or("no demo tenant")?;
    let t = Instant::now();
    let v = kencho::evacuation::layers::load(
        &db,
        tenant,
        kencho::evacuation::layers::LayerKind::Flood,
        vec![kencho::evacuation::upload::Upload::new("bench-flood.geojson", text)],
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
    Ok(())
}

/// Hazard look-ups at random points over HTTP.
async fn http_lookups(client: &reqwest::Client, base: &str, clients: usize, seconds: u64) -> Phase {
    let (client, base) = (client.clone(), base.to_string());
    drive(clients, seconds, move |c, i| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let mut seed = (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            let p = point(&mut seed);
            let url = format!("{base}/api/v1/evacuation/minamisoma/hazards?lat={:.6}&lon={:.6}", p.lat, p.lon);
            match client.get(url).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await
}

/// Plan previews for a three-person household at random points over HTTP.
async fn http_plans(client: &reqwest::Client, base: &str, clients: usize, seconds: u64) -> Phase {
    let (client, base) = (client.clone(), base.to_string());
    drive(clients, seconds, move |c, i| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let mut seed = (c as u64 + 7).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0x94D0_49BB_1331_11EB);
            let p = point(&mut seed);
            let body = json!({
                "lat": p.lat, "lon": p.lon, "living_floor": 1 + (i % 3), "supply_days": (i % 4) * 3,
                "members": [{"name": "母"}, {"name": "祖父", "walking_help": i % 4 == 0}, {"name": "子", "infant": i % 5 == 0}]
            });
            match client.post(format!("{base}/api/v1/evacuation/minamisoma/plan")).json(&body).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await
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
