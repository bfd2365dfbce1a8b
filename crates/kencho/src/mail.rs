//! E-mail through a durable outbox. A row is written in the same transaction as the action
//! that causes it; a worker sends committed rows over SMTP after commit, retrying with
//! backoff. Rows are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so any
//! number of kencho processes can share the work without sending a row twice.
//!
//! Without a relay (the demo), mail is delivered to a local mailbox table that `/demo/mailbox`
//! shows.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::{AnyConnection, Row};
use tokio::sync::Notify;

use crate::db::{now_ms, Arg, Batch, Db, Dialect};
use crate::error::{AppError, Result};

/// Queues one e-mail inside the caller's transaction. `dedupe_key` names the event (e.g.
/// `receipt:42`); queuing the same event twice keeps one mail.
pub async fn enqueue(conn: &mut AnyConnection, dedupe_key: &str, to: &str, subject: &str, body: &str) -> Result<()> {
    let mut batch = Batch::new();
    enqueue_batched(&mut batch, dedupe_key, to, subject, body);
    batch.run(conn).await
}

/// Like [`enqueue`], as part of the caller's batch of writes.
pub fn enqueue_batched(batch: &mut Batch, dedupe_key: &str, to: &str, subject: &str, body: &str) {
    let now = now_ms();
    batch.push(
        "INSERT INTO outbox (dedupe_key, recipient, subject, body, status, attempts, next_attempt_at, locked_until, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $5) ON CONFLICT (dedupe_key) DO NOTHING",
        vec![Arg::Text(dedupe_key.into()), Arg::Text(to.into()), Arg::Text(subject.into()), Arg::Text(body.into()), Arg::Int(now)],
    );
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    LocalMailbox,
}

pub struct Mailer {
    pub transport: Transport,
    pub from: Mailbox,
}

impl Mailer {
    /// `relay`: an SMTP URL such as `smtp://127.0.0.1:2525`, `smtp://user:pass@host:587?tls=required`
    /// or `smtps://host`; `None` keeps mail in the local mailbox.
    pub fn new(relay: Option<&str>, from: &str) -> Result<Mailer> {
        let from: Mailbox = from.parse().map_err(|e| AppError::Internal(format!("bad sender address {from}: {e}")))?;
        let transport = match relay {
            None => Transport::LocalMailbox,
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| AppError::Internal(format!("bad SMTP relay URL: {e}")))?
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

const LEASE_MS: i64 = 120_000;
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
                        id: r.try_get(0)?,
                        recipient: r.try_get(1)?,
                        subject: r.try_get(2)?,
                        body: r.try_get(3)?,
                        attempts: r.try_get(4)?,
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

/// Sends what is due; returns how many were sent. Claiming and bookkeeping are one
/// transaction each for the whole batch.
pub async fn run_once(db: &Db, mailer: &Mailer) -> Result<usize> {
    let batch = claim(db, 50).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let local = matches!(mailer.transport, Transport::LocalMailbox);
    let mut outcomes = Vec::with_capacity(batch.len());
    match &mailer.transport {
        Transport::LocalMailbox => outcomes.extend(batch.into_iter().map(|m| (m, Ok(())))),
        Transport::Smtp(t) => {
            // The batch goes out side by side over pooled connections: an alarm wave is many
            // small mails, and one at a time the relay's round trips would add up to minutes.
            let mut sends = tokio::task::JoinSet::new();
            for m in batch {
                let (t, from) = (t.clone(), mailer.from.clone());
                sends.spawn(async move {
                    let r = send_smtp(&t, &from, &m).await;
                    (m, r)
                });
            }
            while let Some(done) = sends.join_next().await {
                match done {
                    Ok(o) => outcomes.push(o),
                    // A panicked send leaves its row leased; the lease expires and it is retried.
                    Err(e) => tracing::error!(error = %e, "mail send task failed"),
                }
            }
        }
    }
    for (m, result) in &outcomes {
        if let Err(err) = result {
            tracing::warn!(outbox_id = m.id, attempts = m.attempts, error = %err, "mail delivery failed");
        }
    }
    let sent = outcomes.iter().filter(|(_, r)| r.is_ok()).count();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            for (m, result) in outcomes {
                match result {
                    Ok(()) => {
                        if local {
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
                        }
                        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2")
                            .bind(now)
                            .bind(m.id)
                            .execute(&mut *conn)
                            .await?;
                    }
                    Err(err) => {
                        // Exponential backoff: 2 s, 4 s, 8 s … capped at one hour; after
                        // MAX_ATTEMPTS the row stays, marked failed, for an operator to see.
                        let delay = (2_000_i64 << m.attempts.clamp(0, 20)).min(3_600_000);
                        let status = if m.attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                        sqlx::query(
                            "UPDATE outbox SET status = $1, next_attempt_at = $2, locked_until = 0, last_error = $3 WHERE id = $4",
                        )
                        .bind(status)
                        .bind(now + delay)
                        .bind(err)
                        .bind(m.id)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
            }
            Ok(())
        })
    })
    .await?;
    Ok(sent)
}

/// The background worker: wakes on a nudge from this process or every second (to see rows
/// written by other processes and retries that fell due).
pub async fn worker(db: Db, mailer: Arc<Mailer>, nudge: Arc<Notify>) {
    loop {
        match run_once(&db, &mailer).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox worker"),
        }
        tokio::select! {
            _ = nudge.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
