//! Tenants (the prefecture and each municipality that joins) and their divisions.

use sqlx::{AnyConnection, Row};

use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tenant {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_en: String,
}

impl Tenant {
    pub fn label(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.name_en
        } else {
            &self.name
        }
    }
}

pub async fn create(db: &Db, code: &str, name: &str, name_en: &str, receipt_prefix: &str) -> Result<i64> {
    let (code, name, name_en, prefix) =
        (code.to_string(), name.to_string(), name_en.to_string(), receipt_prefix.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("INSERT INTO tenants (code, name, name_en, receipt_prefix, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING")
                .bind(&code)
                .bind(&name)
                .bind(&name_en)
                .bind(&prefix)
                .bind(now_ms())
                .execute(&mut *conn)
                .await?;
            let row = sqlx::query("SELECT id FROM tenants WHERE code = $1").bind(&code).fetch_one(&mut *conn).await?;
            Ok(row.try_get("id")?)
        })
    })
    .await
}

pub async fn list(db: &Db) -> Result<Vec<Tenant>> {
    Ok(sqlx::query_as("SELECT id, code, name, name_en FROM tenants ORDER BY id").fetch_all(&db.read).await?)
}

/// Sets a tenant's 全国地方公共団体コード.
pub async fn set_lg_code(db: &Db, code: &str, lg_code: &str) -> Result<()> {
    let (code, lg_code) = (code.to_string(), lg_code.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("UPDATE tenants SET lg_code = $1 WHERE code = $2")
                .bind(&lg_code)
                .bind(&code)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    })
    .await
}

/// A tenant's id by code, in the caller's transaction.
pub async fn id_in(conn: &mut AnyConnection, code: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM tenants WHERE code = $1").bind(code).fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

pub async fn id_of(db: &Db, code: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM tenants WHERE code = $1").bind(code).fetch_optional(&db.read).await?;
    Ok(match row {
        Some(r) => Some(r.try_get("id")?),
        None => None,
    })
}

/// A tenant by code: (id, name, name_en).
pub async fn by_code(db: &Db, code: &str) -> Result<Option<Tenant>> {
    Ok(sqlx::query_as("SELECT id, code, name, name_en FROM tenants WHERE code = $1")
        .bind(code)
        .fetch_optional(&db.read)
        .await?)
}

/// What a tenant's signed documents are headed and numbered with.
#[derive(Debug, Clone)]
pub struct Letterhead {
    pub code: String,
    pub name: String,
    /// The prefix of its receipt, notice and 受付 numbers (`MNS`).
    pub receipt_prefix: String,
}

/// A tenant's [`Letterhead`] (`NotFound` if there is no such tenant).
pub async fn letterhead(conn: &mut AnyConnection, id: i64) -> Result<Letterhead> {
    let row = sqlx::query("SELECT code, name, receipt_prefix FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Letterhead {
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        receipt_prefix: row.try_get("receipt_prefix")?,
    })
}
