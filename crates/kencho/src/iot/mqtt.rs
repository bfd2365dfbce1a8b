//! The MQTT subscriber: ChirpStack v4 and The Things Stack uplink topics (and `kencho/+/up` for
//! the plain format), QoS 1 with acknowledgements sent only after the message is committed (or
//! recorded as rejected), resubscribing on every (re)connect. Messages of one device are read
//! in order on one of several lanes; lanes run side by side.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, TlsConfiguration, Transport};
use tokio::sync::mpsc;

use crate::db::Db;

/// Uplink topics of the two network servers, and the plain format's.
pub const TOPICS: [&str; 4] =
    ["application/+/device/+/event/up", "application/+/device/+/event/status", "v3/+/devices/+/up", "kencho/+/up"];
const LANES: usize = 8;
/// Most messages one lane stores in one transaction.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: String,
}

impl MqttConfig {
    /// `mqtt://[user:pass@]host[:1883][?client_id=…]` or `mqtts://…[:8883]`. Keep the client id
    /// stable per node: the broker keeps its session, and the messages it holds, across restarts.
    pub fn from_url(url: &str, default_client_id: &str) -> Result<MqttConfig, String> {
        let (url, client_id) = match url.split_once("?client_id=") {
            Some((u, c)) if !c.is_empty() => (u, c.to_string()),
            _ => (url, default_client_id.to_string()),
        };
        let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("mqtt://") {
            (false, r)
        } else {
            return Err(format!("MQTT URL must start with mqtt:// or mqtts://: {url}"));
        };
        let rest = rest.trim_end_matches('/');
        let (cred, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (username, password) = match cred.map(|c| c.split_once(':').unwrap_or((c, ""))) {
            Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
            None => (None, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| format!("bad MQTT port in {url}"))?),
            None => (hostport.to_string(), if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(format!("no host in MQTT URL {url}"));
        }
        Ok(MqttConfig { host, port, tls, username, password, client_id })
    }
}

fn lane_of(p: &Publish) -> usize {
    // The device is in the topic for both network servers; the plain format's topic names it too.
    let mut h = DefaultHasher::new();
    p.topic.hash(&mut h);
    (h.finish() as usize) % LANES
}

/// Runs the subscriber until the process ends, reconnecting with a pause after errors.
pub async fn run(db: Db, base_url: String, cfg: MqttConfig, mut stop: crate::worker::Stop) {
    let Some(opts) = options(&cfg) else { return };
    let (client, mut events) = AsyncClient::new(opts, 1024);
    let lanes: Vec<_> = (0..LANES).map(|_| spawn_lane(db.clone(), base_url.clone(), client.clone())).collect();
    loop {
        // On shutdown, stop taking messages: what the lanes hold is stored and acknowledged;
        // anything not acknowledged the broker sends again to the next session.
        let event = tokio::select! {
            e = events.poll() => e,
            _ = crate::worker::stopped(&mut stop) => return,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!(host = %cfg.host, "MQTT connected; subscribing");
                for t in TOPICS {
                    if let Err(e) = client.subscribe(t, QoS::AtLeastOnce).await {
                        tracing::warn!(error = %e, topic = t, "MQTT subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let lane = lane_of(&p);
                if lanes[lane].send(p).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "MQTT connection lost; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The client's options: a persistent session with manual acknowledgements, and TLS when asked.
/// `None` when TLS cannot be set up (logged; the node then does not subscribe).
fn options(cfg: &MqttConfig) -> Option<MqttOptions> {
    let mut opts = MqttOptions::new(&cfg.client_id, &cfg.host, cfg.port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_manual_acks(true);
    // A persistent session: QoS 1 messages not yet acknowledged are delivered again after a restart.
    opts.set_clean_session(false);
    opts.set_max_packet_size(1024 * 1024, 1024 * 1024);
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        opts.set_credentials(u, p);
    }
    if cfg.tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
            Ok(b) => {
                let config = b.with_root_certificates(roots).with_no_client_auth();
                opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))));
            }
            Err(e) => {
                tracing::error!(error = %e, "MQTT TLS setup failed; not subscribing");
                return None;
            }
        }
    }
    Some(opts)
}

/// Starts one lane: a task that stores the messages sent to it in order. Returns its sender.
fn spawn_lane(db: Db, base_url: String, client: AsyncClient) -> mpsc::Sender<Publish> {
    let (tx, mut rx) = mpsc::channel::<Publish>(1024);
    tokio::spawn(async move {
        let mut waiting = Vec::new();
        // Take whatever has queued up (at least one), store it in one transaction, then
        // acknowledge each message; nothing is acknowledged before it is committed.
        while rx.recv_many(&mut waiting, MAX_BATCH).await > 0 {
            let batch: Vec<Publish> = std::mem::take(&mut waiting);
            store_and_ack(&db, &base_url, &client, &batch).await;
        }
    });
    tx
}

/// Stores one lane's batch in one transaction and acknowledges its messages once committed.
/// A failed transaction (the database away for a moment) is tried again; the broker resends
/// unacknowledged messages only after a reconnect.
async fn store_and_ack(db: &Db, base_url: &str, client: &AsyncClient, batch: &[Publish]) {
    let incoming = || -> Vec<super::ingest::Incoming> {
        batch
            .iter()
            .map(|p| super::ingest::Incoming {
                source: "mqtt",
                topic: Some(p.topic.clone()),
                event: None,
                body: p.payload.to_vec(),
                tenant_id: None,
                caller: "mqtt".into(),
            })
            .collect()
    };
    let mut tries = 0;
    loop {
        match super::ingest::ingest_many(db, base_url, incoming()).await {
            Ok(_) => {
                for p in batch {
                    let _ = client.ack(p).await;
                }
                break;
            }
            Err(e) if tries < 5 => {
                tries += 1;
                tracing::warn!(error = %e, n = batch.len(), "MQTT messages not stored; retrying");
                tokio::time::sleep(Duration::from_millis(500 << tries)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, n = batch.len(), "MQTT messages not stored; left unacknowledged for redelivery");
                break;
            }
        }
    }
}
