//! Database connection: SQLite (embedded default, WAL, durable commits) or PostgreSQL, through
//! sqlx's `Any` driver so every query is written once. Each database has its own migration
//! folder; the few statements that differ ask [`Db::dialect`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    /// Reads (and, on PostgreSQL, writes).
    pub read: AnyPool,
    /// Writes. On SQLite this pool has one connection: SQLite has one writer anyway, and
    /// queueing here is cheaper than lock retries.
    pub write: AnyPool,
    pub dialect: Dialect,
}

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
                Ok(Db { read, write, dialect })
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Ok(Db { read: pool.clone(), write: pool, dialect })
            }
        }
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
