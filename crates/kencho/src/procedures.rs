//! The procedure catalogue (手続き): import with versioning, listing and Japanese search.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use kencho_core::procedure::ProcedureDef;
use kencho_core::search;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

#[derive(Debug, Clone)]
pub struct Procedure {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_code: String,
    pub tenant_name: String,
    pub tenant_name_en: String,
    /// Prefix of this tenant's 受付番号.
    pub receipt_prefix: String,
    pub division_id: i64,
    pub code: String,
    pub version: i64,
    pub def: ProcedureDef,
}

impl Procedure {
    pub fn title(&self, lang: &str) -> &str {
        if lang == "en" {
            self.def.title_en.as_deref().unwrap_or(&self.def.title)
        } else {
            &self.def.title
        }
    }
    pub fn description(&self, lang: &str) -> &str {
        if lang == "en" {
            self.def.description_en.as_deref().unwrap_or(&self.def.description)
        } else {
            &self.def.description
        }
    }
    pub fn tenant_label(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.tenant_name_en
        } else {
            &self.tenant_name
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ImportOutcome {
    Created { version: i64 },
    Unchanged { version: i64 },
}

/// Imports one definition. A changed definition of an existing code becomes a new version
/// (applications keep theirs); an identical one changes nothing. `only_tenant` restricts an
/// administrator to their own tenant.
pub async fn import(db: &Db, def: &ProcedureDef, actor: &str, only_tenant: Option<i64>) -> Result<ImportOutcome> {
    let json = serde_json::to_string(def).map_err(AppError::unexpected)?;
    let hash = hex::encode(Sha256::digest(json.as_bytes()));
    let (def, actor) = (def.clone(), actor.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let tenant =
                sqlx::query("SELECT id FROM tenants WHERE code = $1").bind(&def.tenant).fetch_optional(&mut *conn).await?;
            let Some(tenant) = tenant else {
                return Err(AppError::BadRequest(detail!("detail.procedures.tenant_unknown_tenant", tenant = def.tenant)));
            };
            let tenant_id: i64 = tenant.try_get("id")?;
            if only_tenant.is_some_and(|t| t != tenant_id) {
                return Err(AppError::Forbidden);
            }
            let current = sqlx::query(
                "SELECT version, definition_hash FROM procedures WHERE tenant_id = $1 AND code = $2 AND is_current = 1",
            )
            .bind(tenant_id)
            .bind(&def.code)
            .fetch_optional(&mut *conn)
            .await?;
            let next_version = match &current {
                Some(r) => {
                    let v: i64 = r.try_get("version")?;
                    let h: String = r.try_get("definition_hash")?;
                    if h == hash {
                        return Ok(ImportOutcome::Unchanged { version: v });
                    }
                    v + 1
                }
                None => 1,
            };
            let division_id = upsert_division(conn, tenant_id, &def.division.code, &def.division.name).await?;
            sqlx::query("UPDATE procedures SET is_current = 0 WHERE tenant_id = $1 AND code = $2")
                .bind(tenant_id)
                .bind(&def.code)
                .execute(&mut *conn)
                .await?;
            let id: i64 = sqlx::query(
                "INSERT INTO procedures (tenant_id, division_id, code, version, is_current, title, title_en, definition, definition_hash, search_title, search_text, created_at) \
                 VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(tenant_id)
            .bind(division_id)
            .bind(&def.code)
            .bind(next_version)
            .bind(&def.title)
            .bind(def.title_en.clone())
            .bind(&json)
            .bind(&hash)
            .bind(search::normalise(&def.title))
            .bind(search::normalise(&def.search_text()))
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "procedure.import",
                &format!("procedure:{id}"),
                serde_json::json!({"code": def.code, "version": next_version, "hash": hash}),
            )
            .await?;
            Ok(ImportOutcome::Created { version: next_version })
        })
    })
    .await
}

pub async fn upsert_division(conn: &mut AnyConnection, tenant_id: i64, code: &str, name: &str) -> Result<i64> {
    sqlx::query("INSERT INTO divisions (tenant_id, code, name) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, code) DO UPDATE SET name = excluded.name")
        .bind(tenant_id)
        .bind(code)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    division_id(conn, tenant_id, code).await?.ok_or(AppError::NotFound)
}

/// The id of the tenant's division with this code, if it has one.
pub async fn division_id(conn: &mut AnyConnection, tenant_id: i64, code: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM divisions WHERE tenant_id = $1 AND code = $2")
        .bind(tenant_id)
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

const COLS: &str =
    "p.id, p.tenant_id, t.code AS tenant_code, t.name AS tenant_name, t.name_en AS tenant_name_en, p.division_id, \
    p.code, p.version, p.definition, t.receipt_prefix";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Procedure> {
    let def: String = r.try_get("definition")?;
    Ok(Procedure {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        tenant_code: r.try_get("tenant_code")?,
        tenant_name: r.try_get("tenant_name")?,
        tenant_name_en: r.try_get("tenant_name_en")?,
        receipt_prefix: r.try_get("receipt_prefix")?,
        division_id: r.try_get("division_id")?,
        code: r.try_get("code")?,
        version: r.try_get("version")?,
        def: serde_json::from_str(&def).map_err(|e| AppError::failed("stored definition", e))?,
    })
}

pub async fn by_id(db: &Db, id: i64) -> Result<Procedure> {
    let sql = format!("SELECT {COLS} FROM procedures p JOIN tenants t ON t.id = p.tenant_id WHERE p.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.read).await?.ok_or(AppError::NotFound)?;
    from_row(&row)
}

/// The current version of a procedure. Only its id is looked up; the parsed definition comes
/// from the version cache.
pub async fn current(db: &Db, tenant_code: &str, code: &str) -> Result<Arc<Procedure>> {
    let row = sqlx::query(
        "SELECT p.id FROM procedures p JOIN tenants t ON t.id = p.tenant_id WHERE t.code = $1 AND p.code = $2 AND p.is_current = 1",
    )
    .bind(tenant_code)
    .bind(code)
    .fetch_optional(&db.read)
    .await?
    .ok_or(AppError::NotFound)?;
    version(db, row.try_get("id")?).await
}

/// Procedure versions never change once stored, so any process may cache them by id.
/// Parsed versions by (database instance, procedure id).
type VersionCache = Mutex<HashMap<(u64, i64), Arc<Procedure>>>;

fn cache() -> &'static VersionCache {
    static C: OnceLock<VersionCache> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

/// One stored version of a procedure, by id.
pub async fn version(db: &Db, id: i64) -> Result<Arc<Procedure>> {
    let key = (db.instance, id);
    if let Some(p) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(p);
    }
    let p = Arc::new(by_id(db, id).await?);
    if let Ok(mut c) = cache().lock() {
        c.insert(key, p.clone());
    }
    Ok(p)
}

/// Current procedures, optionally of one tenant, filtered and ranked by a Japanese query.
pub async fn search(db: &Db, query: &str, tenant_code: Option<&str>) -> Result<Vec<Procedure>> {
    let sql = format!(
        "SELECT {COLS}, p.search_title, p.search_text FROM procedures p JOIN tenants t ON t.id = p.tenant_id \
         WHERE p.is_current = 1 AND ($1 = '' OR t.code = $1) ORDER BY t.id, p.title"
    );
    let rows = sqlx::query(&sql).bind(tenant_code.unwrap_or("")).fetch_all(&db.read).await?;
    let mut hits = Vec::new();
    for r in &rows {
        let title: String = r.try_get("search_title")?;
        let text: String = r.try_get("search_text")?;
        if let Some(score) = search::score(&title, &text, query) {
            hits.push((score, from_row(r)?));
        }
    }
    // Stable sort keeps tenant/title order among equal scores.
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    Ok(hits.into_iter().map(|(_, p)| p).collect())
}
