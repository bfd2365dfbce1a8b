//! kencho: an open-source digital prefectural office (デジタル県庁) in one binary.
//!
//! Capabilities, one module each: [`procedures`] (手続き as data), [`applications`] (申請 and
//! the office's work on them), [`accounts`] (residents, staff, sessions, TOTP, API tokens),
//! [`mail`] (outbox e-mail), [`audit`] (hash-chained audit log), [`tenants`], [`evacuation`]
//! (マイ避難: hazard data, household plans, evacuation alerts, JMA telegrams), [`documents`]
//! (signed result notices and their public verification). The domain rules
//! live in `kencho-core`; [`web`] is the thin HTTP layer.

#![cfg_attr(test, allow(clippy::unwrap_used))]

// First, so that `detail!` is in scope in every module below.
#[macro_use]
pub mod error;

pub mod accounts;
pub mod actor;
pub mod applications;
pub mod approval;
pub mod audit;
pub mod blobs;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod documents;
pub mod evacuation;
pub mod flows;
pub mod i18n;
pub mod iot;
pub mod mail;
pub mod notify;
pub mod payments;
pub mod procedures;
pub mod security;
pub mod tenants;
pub mod web;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::db::Db;

/// Logs to stderr at `info` (sqlx at `warn`) unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// The runtime `serve` and the benchmark run on. Database threads wake tasks through the
/// global queue; checking it more often than the default (every 61 polls) keeps the single
/// SQLite writer from waiting behind request handlers.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().global_queue_interval(4).build()
}

/// A running server (used by `serve`, the tests and the benchmark).
pub struct Running {
    pub addr: SocketAddr,
    pub state: web::AppState,
    pub handle: tokio::task::JoinHandle<()>,
    /// The background workers (outbox, janitor, timers, MQTT, JMA).
    pub workers: Vec<tokio::task::JoinHandle<()>>,
    /// Tells the workers to stop between passes (see [`worker`]).
    stop: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// Stops serving, lets each worker finish the pass it is in (for at most ten seconds), and
    /// returns: the graceful end of `serve`.
    pub async fn shutdown(self) {
        self.handle.abort();
        let _ = self.stop.send(true);
        for w in self.workers {
            let abort = w.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(10), w).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Stops serving and every worker at once, as a crash would (tests restart a node this way).
    pub fn kill(&self) {
        self.handle.abort();
        for w in &self.workers {
            w.abort();
        }
    }
}

/// Binds, starts the background workers (if configured) and serves until the task ends.
pub async fn start(cfg: Config, db: Db, listener: TcpListener) -> Result<Running, error::AppError> {
    cfg.validate(&db.keys()).map_err(error::AppError::Internal)?;
    crypto::reencrypt::check(&db).await.map_err(error::AppError::Internal)?;
    warn_about(&cfg);
    documents::pades::tsa::allow_private_network(cfg.tsa_private_network);
    let cfg = Arc::new(cfg);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let approval: Arc<approval::setup::SetupCache> = Default::default();
    let links = flows::Links::new(approval.clone());
    let mut workers = Vec::new();
    if cfg.workers {
        let mailer = Arc::new(mail::Mailer::new(cfg.smtp_url.as_deref(), &cfg.mail_from, cfg.demo_mailbox)?);
        workers.push(tokio::spawn(mail::worker(db.clone(), mailer, stop.clone())));
        workers.push(tokio::spawn(accounts::janitor(db.clone(), stop.clone())));
        workers.push(tokio::spawn(approval::records::sweeper(
            db.clone(),
            links.clone(),
            cfg.data_dir.clone(),
            stop.clone(),
        )));
        workers.push(tokio::spawn(payments::expiry_worker(db.clone(), links.clone(), stop.clone())));
        if cfg.payment_sandbox {
            let (db, url) = (db.clone(), cfg.base_url.clone());
            workers.push(tokio::spawn(payments::sandbox::webhook_worker(db, url, stop.clone())));
        }
        let (db2, api) = (db.clone(), cfg.stripe_api_base.clone());
        workers.push(tokio::spawn(payments::stripe::refund_worker(db2, api, stop.clone())));
        let (db2, target) = (db.clone(), cfg.audit_checkpoints.clone());
        workers.push(tokio::spawn(flows::checkpoints::worker(db2, target, cfg.audit_checkpoint_every, stop.clone())));
    }
    let atlases = Arc::new(evacuation::layers::Atlases::default());
    if cfg.workers {
        if let Some(dir) = cfg.jma_dir.clone() {
            tokio::fs::create_dir_all(&dir).await?;
            workers.push(tokio::spawn(evacuation::jma::watch_folder(
                db.clone(),
                atlases.clone(),
                cfg.base_url.clone(),
                dir,
                stop.clone(),
            )));
        }
        if let Some(feed) = cfg.jma_feed.clone() {
            workers.push(tokio::spawn(evacuation::jma::poll_feed(
                db.clone(),
                atlases.clone(),
                cfg.base_url.clone(),
                feed,
                stop.clone(),
            )));
        }
        workers.push(tokio::spawn(iot::timers::worker(db.clone(), cfg.base_url.clone(), stop.clone())));
        if let Some(url) = cfg.mqtt_url.clone() {
            let mqtt = iot::mqtt::MqttConfig::from_url(&url, "kencho").map_err(error::AppError::Internal)?;
            workers.push(tokio::spawn(iot::mqtt::run(db.clone(), cfg.base_url.clone(), mqtt, stop.clone())));
        }
    }
    let state = web::AppState { db, cfg, atlases, approval, links };
    let app = web::router(state.clone());
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(web::serve::serve(listener, app));
    Ok(Running { addr, state, handle, workers, stop: stop_tx })
}

/// What an operator must know at start: demo conveniences turned on, mail going nowhere.
fn warn_about(cfg: &Config) {
    if cfg.demo_mailbox {
        tracing::warn!(
            "the demo mailbox is on: every mail is readable by anyone at /demo/mailbox (never on a real server)"
        );
    }
    if cfg.payment_sandbox {
        tracing::warn!("the sandbox payment provider is on: test cards pay fees (never on a real server)");
    }
    if cfg.smtp_url.is_none() && !cfg.demo_mailbox {
        tracing::warn!("no --smtp-url: mail is queued in the outbox and not sent until a relay is configured");
    }
}
