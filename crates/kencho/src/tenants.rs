//! Tenants (the prefecture and each municipality that joins) and their divisions.

use sqlx::Row;

use crate::db::{now_ms, Db};
use crate::error::Result;

#[derive(Debug, Clone)]
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
    let mut tx = db.write.begin().await?;
    sqlx::query("INSERT INTO tenants (code, name, name_en, receipt_prefix, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING")
        .bind(code)
        .bind(name)
        .bind(name_en)
        .bind(receipt_prefix)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    let id = sqlx::query("SELECT id FROM tenants WHERE code = $1").bind(code).fetch_one(&mut *tx).await?.try_get(0)?;
    tx.commit().await?;
    Ok(id)
}

pub async fn list(db: &Db) -> Result<Vec<Tenant>> {
    let rows = sqlx::query("SELECT id, code, name, name_en FROM tenants ORDER BY id").fetch_all(&db.read).await?;
    rows.iter()
        .map(|r| Ok(Tenant { id: r.try_get(0)?, code: r.try_get(1)?, name: r.try_get(2)?, name_en: r.try_get(3)? }))
        .collect()
}
