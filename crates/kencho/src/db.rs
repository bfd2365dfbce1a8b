//! Database connection: SQLite (embedded default, WAL, durable commits) or PostgreSQL, through
//! sqlx's `Any` driver so every query is written once. Each database has its own migration
//! folder; the few statements that differ ask [`Db::dialect`].

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of an open connection.
    pub fn of(conn: &AnyConnection) -> Dialect {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }
}

#[derive(Clone)]
pub struct Db {
    /// Reads (and, on PostgreSQL, writes).
    pub read: AnyPool,
    /// Writes, only through [`Db::transact`]. On SQLite this pool has one connection: SQLite
    /// has one writer anyway, and queueing here is cheaper than lock retries.
    write: AnyPool,
    pub dialect: Dialect,
    /// SQLite only: the group-commit writer (see [`Db::transact`]).
    batcher: Option<mpsc::Sender<Job>>,
    /// Tells databases apart within one process (caches keyed by row id must not mix two
    /// databases, as the test suite runs many servers in one process).
    pub instance: u64,
    /// The URL it was opened with (the audit verifier reads the log over its own connection).
    pub url: String,
    /// The keys that seal secrets and special-care data in this database (see
    /// [`crate::crypto`]); empty until [`Db::with_keys`].
    keys: std::sync::Arc<crate::crypto::Keyring>,
    /// Notified after every commit, so what a transaction queued (mail) is sent at once
    /// without its handler waking anybody (see [`Db::committed`]).
    committed: std::sync::Arc<tokio::sync::Notify>,
}

fn next_instance() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The future a transaction body returns; it borrows the connection for its lifetime.
pub type TxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'c>>;

/// Told the outcome of the commit (`None`: committed) once the whole batch is done.
type Done = Box<dyn FnOnce(Option<AppError>) + Send>;
type JobFuture<'c> = Pin<Box<dyn Future<Output = (bool, Done)> + Send + 'c>>;
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> JobFuture<'c> + Send>;

/// Most transactions one commit covers.
const MAX_BATCH: usize = 128;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    pub async fn connect(url: &str) -> anyhow_like::Result<Db> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres") {
            Dialect::Postgres
        } else if url.starts_with("sqlite") {
            Dialect::Sqlite
        } else {
            return Err(format!("unsupported database URL (use sqlite:// or postgres://): {url}").into());
        };
        let opts = AnyConnectOptions::from_str(url)?;
        match dialect {
            Dialect::Sqlite => {
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(pragmas)
                    .connect_with(opts.clone())
                    .await?;
                // Create the schema before readers open the file.
                SQLITE_MIGRATIONS.run(&write).await?;
                let read = AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(pragmas)
                    .connect_with(opts)
                    .await?;
                let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(group_commit(write.clone(), rx));
                Ok(Db {
                    read,
                    write,
                    dialect,
                    batcher: Some(tx),
                    instance: next_instance(),
                    url: url.to_string(),
                    keys: Default::default(),
                    committed: Default::default(),
                })
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Ok(Db {
                    read: pool.clone(),
                    write: pool,
                    dialect,
                    batcher: None,
                    instance: next_instance(),
                    url: url.to_string(),
                    keys: Default::default(),
                    committed: Default::default(),
                })
            }
        }
    }

    /// The same database, sealing and opening with `keys`.
    pub fn with_keys(mut self, keys: crate::crypto::Keyring) -> Db {
        self.keys = std::sync::Arc::new(keys);
        self
    }

    /// Notified after each committed transaction of this process: the outbox worker waits on
    /// it (and polls, for other processes' commits).
    pub fn committed(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.committed.clone()
    }

    /// The keyring (cheap to clone into a transaction body).
    pub fn keys(&self) -> std::sync::Arc<crate::crypto::Keyring> {
        self.keys.clone()
    }

    /// Runs `body` in a write transaction and returns once it is committed (durable).
    ///
    /// On SQLite, concurrent callers are committed together (group commit): one writer task
    /// runs each body inside its own SAVEPOINT of a shared transaction, so a failing body is
    /// rolled back alone, and one fsync covers the batch. On PostgreSQL each body is its own
    /// transaction; the server does the grouping.
    pub async fn transact<T, F>(&self, body: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> TxFuture<'c, T> + Send + 'static,
    {
        let Some(batcher) = &self.batcher else {
            let mut tx = self.write.begin().await?;
            let value = body(&mut tx).await?;
            tx.commit().await?;
            self.committed.notify_one();
            return Ok(value);
        };
        let (reply, answer) = oneshot::channel::<Result<T, AppError>>();
        let job: Job = Box::new(move |conn: &mut AnyConnection| {
            Box::pin(async move {
                match body(conn).await {
                    Ok(value) => {
                        let done: Done = Box::new(move |failed: Option<AppError>| {
                            let _ = reply.send(match failed {
                                None => Ok(value),
                                Some(e) => Err(e),
                            });
                        });
                        (true, done)
                    }
                    Err(e) => {
                        let done: Done = Box::new(move |_| {
                            let _ = reply.send(Err(e));
                        });
                        (false, done)
                    }
                }
            }) as JobFuture<'_>
        });
        batcher.send(job).await.map_err(|_| AppError::Internal("the database writer has stopped".into()))?;
        let value =
            answer.await.map_err(|_| AppError::Internal("the database writer dropped a transaction".into()))??;
        self.committed.notify_one();
        Ok(value)
    }

    /// The write pool itself, for the tests that play an attacker with database access
    /// (rewriting the audit log, planting values in clear). kencho writes through
    /// [`Db::transact`] only.
    pub fn unchecked_write_pool(&self) -> &AnyPool {
        &self.write
    }

    /// Whether the database answers (the health check).
    pub async fn ping(&self) -> Result<(), AppError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// The SQLite writer: takes whatever transactions are waiting (up to MAX_BATCH), runs each in
/// a savepoint of one `BEGIN IMMEDIATE` transaction, commits once, then answers every caller.
async fn group_commit(pool: AnyPool, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "writer cannot get a connection");
                fail_all(batch, &e.to_string());
                continue;
            }
        };
        // Each job runs in its own savepoint; releasing one and opening the next share a
        // round trip to the database thread, which is what a write costs most here.
        if let Err(e) = conn.execute("BEGIN IMMEDIATE; SAVEPOINT job").await {
            let _ = conn.execute("ROLLBACK").await;
            fail_all(batch, &e.to_string());
            continue;
        }
        let started = std::time::Instant::now();
        let size = batch.len();
        let mut dones = Vec::with_capacity(size);
        let mut broken: Option<String> = None;
        for (i, job) in batch.into_iter().enumerate() {
            let (ok, done) = job(&mut conn).await;
            let end = match (ok, i + 1 == size) {
                (true, false) => "RELEASE job; SAVEPOINT job",
                (false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
                (true, true) => "RELEASE job",
                (false, true) => "ROLLBACK TO job; RELEASE job",
            };
            if let Err(e) = conn.execute(end).await {
                broken = Some(e.to_string());
            }
            dones.push((ok, done));
        }
        let outcome = match broken {
            Some(e) => Err(e),
            None => conn.execute("COMMIT").await.map(|_| ()).map_err(|e| e.to_string()),
        };
        tracing::trace!(size, micros = started.elapsed().as_micros() as u64, "group commit");
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "group commit failed; the batch is rolled back");
            let _ = conn.execute("ROLLBACK").await;
        }
        for (_, done) in dones {
            done(outcome.as_ref().err().map(|e| AppError::Internal(format!("commit failed: {e}"))));
        }
    }
}

/// Jobs that never ran: dropping them drops their reply channels, which tells each caller the
/// write did not happen.
fn fail_all(batch: Vec<Job>, why: &str) {
    drop(batch);
    tracing::error!(error = why, "a write batch was refused");
}

type PragmaFuture<'c> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// Durable commits (synchronous=FULL), WAL so readers never block the writer.
fn pragmas<'c>(conn: &'c mut sqlx::AnyConnection, _meta: sqlx::pool::PoolConnectionMetadata) -> PragmaFuture<'c> {
    Box::pin(async move {
        conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16000;")
            .await?;
        Ok(())
    })
}

/// A small boxed-error result for start-up paths, where the message is all we need.
pub mod anyhow_like {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    pub type Result<T> = std::result::Result<T, Error>;
}

// ---------- row locks ----------
//
// The one way a transaction locks what it reads before it writes. On PostgreSQL the rows a
// `SELECT` returns stay locked until the commit, so two transactions acting on one row run one
// after the other; SQLite's single writer already serialises every write transaction, so
// there the clause is empty. Lock order matters on PostgreSQL: rows before the audit head.

/// The clause that ends a `SELECT` whose rows the transaction will change: `" FOR UPDATE"` on
/// PostgreSQL, nothing on SQLite.
pub fn for_update(conn: &AnyConnection) -> &'static str {
    match Dialect::of(conn) {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    }
}

/// Like [`for_update`], but lets inserts that reference the row go on (`FOR NO KEY UPDATE`):
/// for a parent row many inserts name (a tenant).
pub fn for_no_key_update(conn: &AnyConnection) -> &'static str {
    match Dialect::of(conn) {
        Dialect::Postgres => " FOR NO KEY UPDATE",
        Dialect::Sqlite => "",
    }
}

/// Locks the row of `table` with this `id` for the rest of the transaction (`table` is one of
/// the schema's, never input).
pub async fn lock_for_update(conn: &mut AnyConnection, table: &'static str, id: i64) -> Result<(), AppError> {
    let lock = for_update(conn);
    if !lock.is_empty() {
        sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1{lock}")).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Serialises transactions on a key that is no row (an event id): a PostgreSQL advisory lock
/// held to the commit; nothing on SQLite.
pub async fn lock_key(conn: &mut AnyConnection, key: i64) -> Result<(), AppError> {
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(key).execute(&mut *conn).await?;
    }
    Ok(())
}

// ---------- closed sets of names ----------

/// A stored name that is none of the values kencho knows for its column (a state, a provider):
/// the row was written by something other than this version of kencho.
#[derive(Debug, thiserror::Error)]
#[error("column {column} holds {value:?}, which is none of its known values")]
pub struct UnknownName {
    pub column: String,
    pub value: String,
}

/// Reads the text column `column` of a row, which names one of a closed set of values (a
/// state, a provider), with that set's `parse`. A name kencho does not know is an unexpected
/// error that says which column and what it held.
pub fn parsed<T>(row: &sqlx::any::AnyRow, column: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, AppError> {
    let value: String = sqlx::Row::try_get(row, column)?;
    parse(&value).ok_or_else(|| AppError::unexpected(UnknownName { column: column.to_string(), value }))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A value for a [`Batch`] statement.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

/// Statements whose results nobody reads, sent together. On SQLite they travel as one
/// multi-statement query (parameters renumbered, one round trip to the database thread); on
/// PostgreSQL, which does not take several statements with parameters at once, one by one.
#[derive(Default)]
pub struct Batch {
    parts: Vec<(String, Vec<Arg>)>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a statement written with its own `$1`, `$2`, … parameters.
    pub fn push(&mut self, sql: &str, args: Vec<Arg>) -> &mut Self {
        self.parts.push((sql.to_string(), args));
        self
    }

    /// All statements as one SQL text, parameters renumbered to follow on.
    fn combined(self) -> (String, Vec<Arg>) {
        let mut sql = String::new();
        let mut all = Vec::new();
        for (part, args) in self.parts {
            sql.push_str(&renumber(&part, all.len()));
            sql.push_str(";\n");
            all.extend(args);
        }
        (sql, all)
    }

    pub async fn run(self, conn: &mut AnyConnection) -> Result<(), AppError> {
        match Dialect::of(conn) {
            Dialect::Sqlite => {
                if self.parts.is_empty() {
                    return Ok(());
                }
                let (sql, args) = self.combined();
                bind_all(sqlx::query(&sql), args).execute(&mut *conn).await?;
            }
            Dialect::Postgres => {
                for (part, args) in self.parts {
                    bind_all(sqlx::query(&part), args).execute(&mut *conn).await?;
                }
            }
        }
        Ok(())
    }
}

impl Batch {
    /// Runs statements that return rows and gives back all their rows, in order (one round
    /// trip on SQLite). Rows of different statements are told apart by their columns.
    pub async fn fetch(self, conn: &mut AnyConnection) -> Result<Vec<sqlx::any::AnyRow>, AppError> {
        match Dialect::of(conn) {
            Dialect::Sqlite => {
                let (sql, args) = self.combined();
                Ok(bind_all(sqlx::query(&sql), args).fetch_all(&mut *conn).await?)
            }
            Dialect::Postgres => {
                let mut rows = Vec::new();
                for (part, args) in self.parts {
                    rows.extend(bind_all(sqlx::query(&part), args).fetch_all(&mut *conn).await?);
                }
                Ok(rows)
            }
        }
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::OptInt(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
        };
    }
    q
}

/// Shifts `$n` placeholders by `offset` (our SQL has no `$` inside literals).
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            let mut n = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            let k: usize = n.parse().unwrap_or(0);
            out.push('$');
            out.push_str(&(k + offset).to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_renumbered() {
        assert_eq!(
            super::renumber("UPDATE t SET a = $1 WHERE b = $2 AND c = $10", 3),
            "UPDATE t SET a = $4 WHERE b = $5 AND c = $13"
        );
        assert_eq!(super::renumber("SELECT 1", 5), "SELECT 1");
    }

    /// A known name reads as its value; an unknown one is an unexpected error that names the
    /// column and what it held.
    #[tokio::test]
    async fn stored_names_are_parsed() {
        use kencho_core::approval::route::StateKind;
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect("sqlite::memory:").await.unwrap();
        let row = sqlx::query("SELECT 'decided' AS a, 'kept' AS b").fetch_one(&mut conn).await.unwrap();
        assert_eq!(super::parsed(&row, "a", StateKind::parse).unwrap(), StateKind::Decided);
        let e = super::parsed(&row, "b", StateKind::parse).unwrap_err();
        assert!(matches!(e, crate::error::AppError::Unexpected(_)));
        assert!(e.to_string().contains(r#"column b holds "kept""#), "{e}");
        assert!(super::parsed(&row, "c", StateKind::parse).is_err(), "a missing column is an error too");
    }
}
