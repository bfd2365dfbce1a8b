//! `kencho keys reencrypt`: every sealed column, re-sealed under the current key.
//!
//! Values sealed under an older key are opened and sealed again; clear values left by a
//! database made before sealing existed are sealed (this is the only path that accepts them);
//! values already under the current key are left alone. Rows are changed in transactions of
//! [`CHUNK`] rows through the one write path, each row only if it still holds the value that
//! was read (a concurrent change wins). Once it reports nothing left under an old key, that
//! key can be removed from the key file.

use sqlx::Row;

use super::{is_empty_value, is_sealed, place, Keyring};
use crate::db::{Arg, Batch, Db};
use crate::error::{AppError, Result};

/// A sealed column and the row value its place is bound to.
pub struct Column {
    pub table: &'static str,
    pub column: &'static str,
    /// The column naming the row in the place (`id`, or a unique text such as a token).
    pub row: &'static str,
    /// Whether `row` is an integer column.
    pub int_row: bool,
    /// Whether `""` / `"{}"` are stored unsealed here (they hold no data).
    pub empty_ok: bool,
}

impl Column {
    pub fn place(&self, row: &str) -> String {
        place(&format!("{}.{}", self.table, self.column), row)
    }
}

const fn col(table: &'static str, column: &'static str, row: &'static str, int_row: bool, empty_ok: bool) -> Column {
    Column { table, column, row, int_row, empty_ok }
}

/// Every sealed column of the schema.
pub const COLUMNS: &[Column] = &[
    col("staff", "totp_secret", "id", true, false),
    col("signing_keys", "secret_key", "key_id", false, false),
    col("signing_certificates", "private_key", "cert_id", false, false),
    col("payment_settings", "sandbox_secret", "tenant_id", true, false),
    col("payment_settings", "stripe_api_key", "tenant_id", true, false),
    col("payment_settings", "stripe_webhook_secret", "tenant_id", true, false),
    col("applications", "answers", "id", true, true),
    col("iot_people", "consent_note", "id", true, true),
    col("evacuation_plans", "data", "token", false, true),
    col("evacuation_plans", "consent_note", "token", false, true),
];

/// The start-up check: the newest value of every sealed column opens with the keys, and no
/// clear value from before sealing is left. A wrong or incomplete key file, or a database not
/// yet re-encrypted after the upgrade, stops the server here with the reason instead of
/// failing later at a sign-in or a payment.
pub async fn check(db: &Db) -> std::result::Result<(), String> {
    let keys = db.keys();
    let mut problems = Vec::new();
    for c in COLUMNS {
        let filled = format!("{col} IS NOT NULL AND {col} <> '' AND {col} <> '{{}}'", col = c.column);
        let newest = format!(
            "SELECT CAST({row} AS TEXT) AS row_key, {col} AS stored FROM {table} \
             WHERE {filled} AND {col} LIKE 'sealed:%' ORDER BY {row} DESC LIMIT 1",
            row = c.row,
            col = c.column,
            table = c.table
        );
        let row = sqlx::query(&newest).fetch_optional(&db.read).await.map_err(|e| e.to_string())?;
        if let Some(r) = row {
            let (id, stored): (String, String) =
                (r.try_get("row_key").map_err(|e| e.to_string())?, r.try_get("stored").map_err(|e| e.to_string())?);
            if let Err(e) = keys.open(&c.place(&id), &stored) {
                problems.push(format!("{}.{} ({} {id}): {e}", c.table, c.column, c.row));
            }
        }
        if let Some(n) = clear_values(db, c, &filled).await.map_err(|e| e.to_string())? {
            problems.push(format!(
                "{}.{}: {n} stored in clear (a database from before sealing); run `kencho keys reencrypt` once",
                c.table, c.column
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("the secret key file does not fit this database:\n{}", problems.join("\n")))
    }
}

/// Whether clear values from before sealing are left, and how many ("values", or "the oldest
/// value" for the tables of residents' data, which can be large: counting them would scan the
/// whole table at every start, while `keys reencrypt` seals the oldest like every other).
async fn clear_values(db: &Db, c: &Column, filled: &str) -> Result<Option<String>> {
    if c.empty_ok {
        let oldest = format!(
            "SELECT {col} FROM {table} WHERE {filled} ORDER BY {row} LIMIT 1",
            col = c.column,
            table = c.table,
            row = c.row
        );
        let stored: Option<String> = sqlx::query_scalar(&oldest).fetch_optional(&db.read).await?;
        return Ok(stored.filter(|v| !v.starts_with("sealed:")).map(|_| "the oldest value is".to_string()));
    }
    let clear = format!("SELECT COUNT(*) FROM {} WHERE {filled} AND {} NOT LIKE 'sealed:%'", c.table, c.column);
    let n: i64 = sqlx::query_scalar(&clear).fetch_one(&db.read).await?;
    Ok((n > 0).then(|| format!("{n} values are")))
}

/// Rows changed in one transaction.
const CHUNK: usize = 200;

/// What one column held and what was done.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub column: String,
    /// Already sealed under the current key.
    pub current: usize,
    /// Sealed under an older key, now under the current one.
    pub resealed: usize,
    /// Clear values from before sealing, now sealed.
    pub sealed_legacy: usize,
    /// Empty values (nothing to seal).
    pub empty: usize,
}

/// Re-seals every sealed column under the current key; one [`Counts`] per column.
pub async fn run(db: &Db) -> Result<Vec<Counts>> {
    let keys = db.keys();
    if keys.is_empty() {
        return Err(super::OpenError::NoKey.into());
    }
    let mut out = Vec::new();
    for c in COLUMNS {
        out.push(column_run(db, &keys, c).await?);
    }
    Ok(out)
}

async fn column_run(db: &Db, keys: &Keyring, c: &'static Column) -> Result<Counts> {
    let mut counts = Counts { column: format!("{}.{}", c.table, c.column), ..Counts::default() };
    let current = keys.current_id().unwrap_or_default().to_string();
    let sql = format!(
        "SELECT CAST({row} AS TEXT) AS row_key, {col} AS stored FROM {table} WHERE {col} IS NOT NULL ORDER BY {row}",
        row = c.row,
        col = c.column,
        table = c.table
    );
    let rows = sqlx::query(&sql).fetch_all(&db.read).await?;
    let mut changes: Vec<(String, String, String)> = Vec::new();
    for r in &rows {
        let (row, stored): (String, String) = (r.try_get("row_key")?, r.try_get("stored")?);
        if c.empty_ok && is_empty_value(&stored) {
            counts.empty += 1;
            continue;
        }
        let clear = if is_sealed(&stored) {
            if Keyring::key_of(&stored) == Some(current.as_str()) {
                // Opening proves the value is intact; a damaged one stops the run.
                keys.open(&c.place(&row), &stored).map_err(|e| named(c, &row, e))?;
                counts.current += 1;
                continue;
            }
            counts.resealed += 1;
            keys.open(&c.place(&row), &stored).map_err(|e| named(c, &row, e))?
        } else {
            counts.sealed_legacy += 1;
            stored.clone()
        };
        let sealed = keys.seal(&c.place(&row), &clear)?;
        changes.push((row, stored, sealed));
    }
    for chunk in changes.chunks(CHUNK) {
        write_chunk(db, c, chunk.to_vec()).await?;
    }
    Ok(counts)
}

fn named(c: &Column, row: &str, e: super::OpenError) -> AppError {
    AppError::SecretKey("sealed_value_unreadable", format!("{}.{} of {} = {row}: {e}", c.table, c.column, c.row))
}

async fn write_chunk(db: &Db, c: &'static Column, chunk: Vec<(String, String, String)>) -> Result<()> {
    db.transact(move |conn| {
        Box::pin(async move {
            let mut batch = Batch::new();
            let sql = format!("UPDATE {} SET {col} = $1 WHERE {} = $2 AND {col} = $3", c.table, c.row, col = c.column);
            for (row, old, new) in chunk {
                let key = if c.int_row {
                    Arg::Int(row.parse().map_err(|_| AppError::Internal(format!("row id {row}")))?)
                } else {
                    Arg::Text(row)
                };
                batch.push(&sql, vec![Arg::Text(new), key, Arg::Text(old)]);
            }
            batch.run(conn).await
        })
    })
    .await
}
