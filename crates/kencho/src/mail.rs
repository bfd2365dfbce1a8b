//! E-mail through a durable outbox. A row is written in the same transaction as the action
//! that causes it; a worker sends committed rows over SMTP after commit, retrying with
//! backoff. Rows are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so any
//! number of kencho processes can share the work without sending a row twice.
//!
//! Without a relay, the demo delivers mail to a local mailbox table that `/demo/mailbox` shows;
//! a server that is not a demo keeps it queued until a relay is configured.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, Arg, Batch, Db, Dialect};
use crate::error::{AppError, Result};

/// Queues one e-mail inside the caller's transaction. `dedupe_key` names the event (e.g.
/// `receipt:42`); queuing the same event twice keeps one mail.
pub async fn enqueue(conn: &mut AnyConnection, dedupe_key: &str, to: &str, subject: &str, body: &str) -> Result<()> {
    let mut batch = Batch::new();
    enqueue_batched(&mut batch, dedupe_key, to, subject, body);
    batch.run(conn).await
}

/// Mails queued by this process so far (committed or not): the worker, woken after a commit,
/// looks at the outbox only when this moved, so its own commits do not wake it again.
static QUEUED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Like [`enqueue`], as part of the caller's batch of writes.
pub fn enqueue_batched(batch: &mut Batch, dedupe_key: &str, to: &str, subject: &str, body: &str) {
    QUEUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = now_ms();
    batch.push(
        "INSERT INTO outbox (dedupe_key, recipient, subject, body, status, attempts, next_attempt_at, locked_until, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $5) ON CONFLICT (dedupe_key) DO NOTHING",
        vec![Arg::Text(dedupe_key.into()), Arg::Text(to.into()), Arg::Text(subject.into()), Arg::Text(body.into()), Arg::Int(now)],
    );
}

/// Withdraws queued mail not yet handed to the relay whose dedupe key matches `key_like` (SQL
/// LIKE), inside the caller's transaction: what a withdrawn consent must not still deliver.
/// A mail the worker holds at this moment may still go out.
pub async fn cancel_pending(conn: &mut AnyConnection, key_like: &str) -> Result<u64> {
    Ok(sqlx::query("UPDATE outbox SET status = 'cancelled' WHERE status = 'pending' AND dedupe_key LIKE $1")
        .bind(key_like)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Deletes the sent mails (and their copies in the demo mailbox) whose dedupe key matches
/// `key_like` (SQL LIKE), inside the caller's transaction: a disposed record's mails go with
/// it. Mails still waiting to go out are left to go.
pub async fn forget_sent(conn: &mut AnyConnection, key_like: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM mailbox WHERE outbox_id IN (SELECT id FROM outbox WHERE dedupe_key LIKE $1 AND status = 'sent')",
    )
    .bind(key_like)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM outbox WHERE dedupe_key LIKE $1 AND status = 'sent'")
        .bind(key_like)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The demo: mail is kept in a local table that `/demo/mailbox` shows.
    LocalMailbox,
    /// No relay and no demo mailbox: mail waits in the outbox until a relay is configured.
    Hold,
}

pub struct Mailer {
    pub transport: Transport,
    pub from: Mailbox,
}

impl Mailer {
    /// `relay`: an SMTP URL such as `smtp://127.0.0.1:2525`, `smtp://user:pass@host:587?tls=required`
    /// or `smtps://host`. Without one, mail goes to the local mailbox when `local_mailbox` (the
    /// demo), and otherwise stays queued.
    pub fn new(relay: Option<&str>, from: &str, local_mailbox: bool) -> Result<Mailer> {
        let from: Mailbox = from.parse().map_err(|e| AppError::failed(format!("bad sender address {from}"), e))?;
        let transport = match relay {
            None if local_mailbox => Transport::LocalMailbox,
            None => Transport::Hold,
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| AppError::failed("bad SMTP relay URL", e))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
        };
        Ok(Mailer { transport, from })
    }
}

struct Claimed {
    id: i64,
    recipient: String,
    subject: String,
    body: String,
    attempts: i64,
}

/// A claimed row is someone else's to send again only after this long without renewal.
const LEASE_MS: i64 = 30_000;
/// While sending, leases are renewed this often.
const RENEW_EVERY: Duration = Duration::from_secs(10);
const MAX_ATTEMPTS: i64 = 12;

async fn claim(db: &Db, limit: i64) -> Result<Vec<Claimed>> {
    let pick = match db.dialect {
        Dialect::Postgres => {
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 AND locked_until <= $2 \
             ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED"
        }
        Dialect::Sqlite => {
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 AND locked_until <= $2 \
             ORDER BY id LIMIT $3"
        }
    };
    let sql = format!(
        "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 WHERE id IN ({pick}) \
         RETURNING id, recipient, subject, body, attempts"
    );
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let rows = sqlx::query(&sql).bind(now + LEASE_MS).bind(now).bind(limit).fetch_all(&mut *conn).await?;
            rows.iter()
                .map(|r| {
                    Ok(Claimed {
                        id: r.try_get("id")?,
                        recipient: r.try_get("recipient")?,
                        subject: r.try_get("subject")?,
                        body: r.try_get("body")?,
                        attempts: r.try_get("attempts")?,
                    })
                })
                .collect()
        })
    })
    .await
}

async fn send_smtp(
    t: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    m: &Claimed,
) -> std::result::Result<(), String> {
    let to: Mailbox = m.recipient.parse().map_err(|e| format!("bad recipient: {e}"))?;
    // A Message-ID derived from the outbox row lets receivers drop a duplicate if a crash ever
    // falls between the relay's acceptance and our bookkeeping.
    let msg = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&m.subject)
        .message_id(Some(format!("<outbox-{}@kencho>", m.id)))
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .header(ContentTransferEncoding::Base64)
                .body(m.body.clone()),
        )
        .map_err(|e| e.to_string())?;
    t.send(msg).await.map(|_| ()).map_err(|e| e.to_string())
}

/// Sends what is due; returns how many were sent.
///
/// At most once, as far as kencho can know: each row is marked sent in its own transaction the
/// moment the relay accepts it (not at the end of the batch), and the lease on rows still being
/// sent is renewed every few seconds, so another process takes a row over only after this one
/// has stopped for `LEASE_MS`. What remains possible after a crash: a mail the relay accepted in
/// the instant before its row was marked is sent again; it carries the same Message-ID.
pub async fn run_once(db: &Db, mailer: &Mailer) -> Result<usize> {
    if matches!(mailer.transport, Transport::Hold) {
        return Ok(0);
    }
    let batch = claim(db, 50).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let Transport::Smtp(t) = &mailer.transport else {
        let n = batch.len();
        deliver_locally(db, batch).await?;
        return Ok(n);
    };
    let in_flight: Arc<std::sync::Mutex<Vec<i64>>> =
        Arc::new(std::sync::Mutex::new(batch.iter().map(|m| m.id).collect()));
    let renewer = tokio::spawn(renew_leases(db.clone(), in_flight.clone()));
    // The batch goes out side by side over pooled connections: an alarm wave is many small
    // mails, and one at a time the relay's round trips would add up to minutes.
    let mut sends = tokio::task::JoinSet::new();
    for m in batch {
        let (t, from, db, in_flight) = (t.clone(), mailer.from.clone(), db.clone(), in_flight.clone());
        sends.spawn(async move {
            let r = send_smtp(&t, &from, &m).await;
            let ok = r.is_ok();
            if let Err(err) = &r {
                tracing::warn!(outbox_id = m.id, attempts = m.attempts, error = %err, "mail delivery failed");
            }
            let settled = settle(&db, m.id, m.attempts, r).await;
            if let Ok(mut f) = in_flight.lock() {
                f.retain(|id| *id != m.id);
            }
            settled.map(|_| ok)
        });
    }
    let mut sent = 0;
    while let Some(done) = sends.join_next().await {
        match done {
            Ok(Ok(true)) => sent += 1,
            Ok(Ok(false)) => {}
            // Not marked: the lease runs out and the row is tried again (a mail the relay took
            // may then go twice; see above).
            Ok(Err(e)) => tracing::error!(error = %e, "marking a mail failed"),
            Err(e) => tracing::error!(error = %e, "mail send task failed"),
        }
    }
    renewer.abort();
    Ok(sent)
}

/// Records one send's outcome: sent, or due again after an exponential backoff (2 s, 4 s, 8 s …
/// capped at one hour; after MAX_ATTEMPTS the row stays, marked failed, for an operator).
async fn settle(db: &Db, id: i64, attempts: i64, result: std::result::Result<(), String>) -> Result<()> {
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            match result {
                Ok(()) => {
                    sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2")
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                Err(err) => {
                    let delay = (2_000_i64 << attempts.clamp(0, 20)).min(3_600_000);
                    let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                    sqlx::query(
                        "UPDATE outbox SET status = $1, next_attempt_at = $2, locked_until = 0, last_error = $3 WHERE id = $4",
                    )
                    .bind(status)
                    .bind(now + delay)
                    .bind(err)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            Ok(())
        })
    })
    .await
}

/// Keeps the lease on the rows still being sent.
async fn renew_leases(db: Db, in_flight: Arc<std::sync::Mutex<Vec<i64>>>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let ids: Vec<i64> = in_flight.lock().map(|f| f.clone()).unwrap_or_default();
        if ids.is_empty() {
            return;
        }
        let r = db
            .transact(move |conn| {
                Box::pin(async move {
                    for id in ids {
                        sqlx::query("UPDATE outbox SET locked_until = $1 WHERE id = $2 AND status = 'pending'")
                            .bind(now_ms() + LEASE_MS)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "renewing mail leases");
        }
    }
}

/// The demo's mailbox: every claimed mail is delivered to the local table at once.
async fn deliver_locally(db: &Db, batch: Vec<Claimed>) -> Result<()> {
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            for m in batch {
                sqlx::query(
                    "INSERT INTO mailbox (outbox_id, recipient, subject, body, delivered_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (outbox_id) DO NOTHING",
                )
                .bind(m.id)
                .bind(&m.recipient)
                .bind(&m.subject)
                .bind(&m.body)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2")
                    .bind(now)
                    .bind(m.id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        })
    })
    .await
}

/// The background worker: woken after this process commits a transaction that queued mail,
/// and every second (to see rows written by other processes and retries that fell due).
pub async fn worker(db: Db, mailer: Arc<Mailer>, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("outbox", Duration::from_secs(1)).woken_by(db.committed());
    let (mut seen, mut last) = (u64::MAX, std::time::Instant::now());
    crate::worker::run(every, stop, || {
        let queued = QUEUED.load(std::sync::atomic::Ordering::Relaxed);
        // Woken by a commit that queued nothing, within the second: nothing new to look at.
        let skip = queued == seen && last.elapsed() < Duration::from_secs(1);
        if !skip {
            (seen, last) = (queued, std::time::Instant::now());
        }
        let (db, mailer) = (&db, &mailer);
        async move {
            if skip {
                return Ok(crate::worker::Pass::Idle);
            }
            run_once(db, mailer).await.map(|n| crate::worker::Pass::more_if(n > 0))
        }
    })
    .await;
}

/// A mail kept in the local mailbox (the demo, with no relay).
pub struct Kept {
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub delivered_at: i64,
}

/// The newest 100 mails of the local mailbox.
pub async fn local_mailbox(db: &Db) -> Result<Vec<Kept>> {
    let rows = sqlx::query("SELECT recipient, subject, body, delivered_at FROM mailbox ORDER BY id DESC LIMIT 100")
        .fetch_all(&db.read)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Kept {
                recipient: r.try_get("recipient")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                delivered_at: r.try_get("delivered_at")?,
            })
        })
        .collect()
}
