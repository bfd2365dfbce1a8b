//! `kencho-bench --iot N` (IoT alerts over MQTT, to the mail).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use hdrhistogram::Histogram;
use kencho::db::Db;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;

use super::{fresh_dir, open_db, rss_kib, start_kencho, BoxErr};

/// Traps fired per second in the second phase.
const FIRE_RATE: u64 = 100;

/// `kencho-bench --iot N`: starts kencho subscribed to the local MQTT broker with an SMTP sink
/// of its own, registers N trap sensors, then (1) publishes heartbeats in the ChirpStack format
/// as fast as it can and counts what kencho commits, and (2) fires traps at a steady rate and
/// times each from the publish to the mail arriving at the SMTP sink.
pub async fn run_iot(devices: usize, seconds: u64, broker: &str, offered: u64) -> Result<(), BoxErr> {
    let sink = sink::SmtpSink::start().await?;
    let dir = fresh_dir("kencho-bench-iot")?;
    let client_id = format!("kencho-bench-{}", std::process::id());
    let extra = [
        "--mqtt-url".to_string(),
        format!("mqtt://{broker}?client_id={client_id}"),
        "--smtp-url".to_string(),
        format!("smtp://127.0.0.1:{}", sink.port),
    ];
    let (mut child, pid, _base) = start_kencho(&dir, &extra).await?;
    let db = open_db(&dir, "rwc").await?;
    let (euis, took) = register(&db, devices).await?;
    println!(
        "kencho IoT bench: {devices} trap sensors registered in {:.1} s; broker {broker}; {} cores",
        took.as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let mqtt = publisher(broker);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let fcnt = heartbeats(&mqtt, &db, &euis, seconds, offered, pid).await?;
    let wall = fire_traps(&mqtt, &sink, &euis, fcnt + 1, seconds).await?;
    alarm_latency(&db, &wall).await?;
    println!("server peak memory      : {:.0} MB RSS", rss_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0);
    let _ = child.kill().await;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Binds the benchmark's own ChirpStack application to the demo tenant and registers `devices`
/// trap sensors, a hunter each; returns their DevEUIs and the time the sensors took.
async fn register(db: &Db, devices: usize) -> Result<(Vec<String>, Duration), BoxErr> {
    use kencho::iot::registry::{NewContact, NewDevice};
    let tenant = kencho::tenants::id_of(db, "minamisoma").await?.ok_or("no demo tenant")?;
    let bench_app =
        kencho::iot::applications::Binding { id: 0, format: "chirpstack".into(), application: "bench".into() };
    kencho::iot::applications::bind(db, tenant, &bench_app, "bench").await?;
    let euis: Vec<String> = (0..devices).map(|i| format!("70B3D5{:010X}", i)).collect();
    let t = Instant::now();
    for (c, list) in euis.chunks(1000).enumerate() {
        let devs = list
            .iter()
            .enumerate()
            .map(|(i, e)| NewDevice {
                dev_eui: e.clone(),
                kind: "trap".into(),
                label: format!("bench-trap-{:05}", c * 1000 + i),
                area: format!("地区{}", (c * 1000 + i) % 20),
                lat: Some(37.6 + (i as f64) * 1e-5),
                lon: Some(140.9),
                heartbeat_s: Some(86_400),
                person_id: None,
                hunters: vec![NewContact {
                    name: "hunter".into(),
                    email: format!("hunter{}@example.jp", c * 1000 + i),
                    role: "hunter".into(),
                    hours: None,
                }],
            })
            .collect();
        kencho::iot::registry::add_devices(db, tenant, devs, "bench").await?;
    }
    Ok((euis, t.elapsed()))
}

/// An MQTT client publishing to `broker` (host:port), its event loop polled in the background.
fn publisher(broker: &str) -> AsyncClient {
    let mut opts = MqttOptions::new(
        format!("bench-pub-{}", std::process::id()),
        broker.split(':').next().unwrap_or("127.0.0.1"),
        broker.split(':').nth(1).and_then(|p| p.parse().ok()).unwrap_or(1883),
    );
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_inflight(1000);
    let (mqtt, mut events) = AsyncClient::new(opts, 10_000);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    mqtt
}

/// Heartbeat events committed so far.
async fn heartbeat_count(db: &Db) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM iot_events WHERE kind = 'heartbeat'")
        .fetch_one(&db.read)
        .await
        .ok()
        .and_then(|r| r.try_get::<i64, _>("n").ok())
        .unwrap_or(0)
}

/// A ChirpStack uplink event: its topic and JSON body.
fn uplink(eui: &str, fcnt: u32, payload: &[u8]) -> (String, String) {
    let topic = format!("application/bench/device/{}/event/up", eui.to_lowercase());
    let body = json!({
        "deduplicationId": format!("{eui}-{fcnt}"), "time": "2026-11-29T05:00:00Z",
        "deviceInfo": {"devEui": eui.to_lowercase()}, "fCnt": fcnt, "fPort": 10,
        "data": base64::engine::general_purpose::STANDARD.encode(payload)
    });
    (topic, body.to_string())
}

/// Phase 1: heartbeats at a steady offered rate (a broker drops what a slow subscriber cannot
/// take, so the rate is paced); kencho commits each (event row, device state). Returns the
/// last frame counter used.
async fn heartbeats(
    mqtt: &AsyncClient,
    db: &Db,
    euis: &[String],
    seconds: u64,
    offered: u64,
    pid: u32,
) -> Result<u32, BoxErr> {
    let before = heartbeat_count(db).await;
    let t = Instant::now();
    let (published, fcnt) = publish_paced(mqtt, euis, seconds, offered, t).await?;
    let pub_s = t.elapsed().as_secs_f64();
    // Wait until everything published is committed, or nothing moved for two seconds.
    let mut last = -1;
    let mut done_at = Instant::now();
    loop {
        let c = heartbeat_count(db).await - before;
        if c != last {
            last = c;
            done_at = Instant::now();
        }
        if c as u64 >= published || done_at.elapsed() > Duration::from_secs(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let committed = (heartbeat_count(db).await - before) as u64;
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
    Ok(fcnt)
}

/// Publishes heartbeats round the devices at `offered` per second from `t` for `seconds`;
/// returns how many were published and the frame counter reached.
async fn publish_paced(
    mqtt: &AsyncClient,
    euis: &[String],
    seconds: u64,
    offered: u64,
    t: Instant,
) -> Result<(u64, u32), BoxErr> {
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
    Ok((published, fcnt))
}

/// Phase 2: traps fire at a steady rate; publish-to-mail latency at the SMTP sink. Returns the
/// wall-clock time (ms) each trap's uplink was published, by trap number.
async fn fire_traps(
    mqtt: &AsyncClient,
    sink: &sink::SmtpSink,
    euis: &[String],
    fcnt: u32,
    seconds: u64,
) -> Result<Vec<i64>, BoxErr> {
    let rate = FIRE_RATE;
    let fires = (rate * seconds).min(euis.len() as u64) as usize;
    let mut sent_at = HashMap::new();
    let mut wall = Vec::new();
    let t = Instant::now();
    for (i, e) in euis.iter().take(fires).enumerate() {
        let due = Duration::from_micros(i as u64 * 1_000_000 / rate);
        if let Some(wait) = due.checked_sub(t.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let (topic, body) = uplink(e, fcnt, &[0x01, 88]);
        sent_at.insert(format!("bench-trap-{i:05}"), Instant::now());
        wall.push(kencho::db::now_ms());
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
    Ok(wall)
}

/// Where the time goes: publish → alarm committed (the rest is the outbox and SMTP).
async fn alarm_latency(db: &Db, wall: &[i64]) -> Result<(), BoxErr> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT d.label, a.opened_at FROM iot_alarms a JOIN iot_devices d ON a.subject = 'device:' || d.id WHERE a.kind = 'trap_fired'")
        .fetch_all(&db.read)
        .await?;
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000, 3).map_err(|e| e.to_string())?;
    for r in &rows {
        let (label, opened): (String, i64) = (r.try_get("label")?, r.try_get("opened_at")?);
        let i: usize = label.trim_start_matches("bench-trap-").parse().unwrap_or(usize::MAX);
        if let Some(w) = wall.get(i) {
            let _ = h.record((opened - w).max(1) as u64);
        }
    }
    println!("publish → alarm stored  : p50 {} ms   p99 {} ms", h.value_at_quantile(0.5), h.value_at_quantile(0.99));
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
