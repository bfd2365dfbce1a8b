//! Every SQL statement of the documents capability: issued documents (`issued_documents`), the
//! tenants' signing keys (`signing_keys`) and certificates (`signing_certificates`).

use kencho_core::notice::{SignedDocument, SignedOf};
use sqlx::{AnyConnection, Row};

use super::model::{
    By, CertificateInfo, DocumentKind, IssuedDocument, PublicKey, SealedKey, StoredCertificate, StoredPublicKey,
};
use crate::db::Db;
use crate::error::Result;

// ---------- issued documents ----------

const DOC_COLS: &str =
    "d.id, d.tenant_id, t.code AS tenant_code, t.name AS tenant_name, d.number, d.kind, d.application_id, d.kian_id, \
    d.title, d.issuer, d.sha256, d.size, d.key_id, d.signature, d.issued_at, d.disposed_at";

/// The first document that matches `by`.
pub async fn find(conn: &mut AnyConnection, by: By<'_>) -> Result<Option<IssuedDocument>> {
    let cond = match by {
        By::Application(_) => "d.application_id = $1 AND d.kind = $2",
        By::Number(_) => "d.number = $1",
        By::Sha256(_) => "d.sha256 = $1",
    };
    let sql = format!(
        "SELECT {DOC_COLS} FROM issued_documents d JOIN tenants t ON t.id = d.tenant_id WHERE {cond} ORDER BY d.id LIMIT 1"
    );
    let q = sqlx::query(&sql);
    let q = match by {
        By::Application(id) => q.bind(id).bind(DocumentKind::DecisionNotice.as_str()),
        By::Number(n) => q.bind(n.to_string()),
        By::Sha256(s) => q.bind(s.to_string()),
    };
    q.fetch_optional(&mut *conn).await?.as_ref().map(IssuedDocument::from_row).transpose()
}

/// Writes a document's row; returns its id.
pub async fn insert(conn: &mut AnyConnection, doc: &IssuedDocument) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO issued_documents (tenant_id, number, kind, application_id, kian_id, title, issuer, sha256, size, key_id, \
         signature, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(doc.tenant_id)
    .bind(&doc.number)
    .bind(doc.kind.as_str())
    .bind(doc.application_id)
    .bind(doc.kian_id)
    .bind(&doc.title)
    .bind(&doc.issuer)
    .bind(&doc.sha256)
    .bind(doc.size)
    .bind(&doc.key_id)
    .bind(&doc.signature)
    .bind(doc.issued_at)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

// ---------- signing keys ----------

/// The tenant's newest key that still signs (not retired, seed kept).
pub async fn active_key(conn: &mut AnyConnection, tenant_id: i64) -> Result<Option<SealedKey>> {
    let row = sqlx::query(
        "SELECT key_id, secret_key FROM signing_keys WHERE tenant_id = $1 AND retired_at IS NULL AND secret_key IS NOT NULL \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok(SealedKey { key_id: r.try_get("key_id")?, secret_key: r.try_get("secret_key")? })).transpose()
}

/// The tenant's key `key_id`, as a signature is checked with it.
pub async fn public_key(db: &Db, tenant_id: i64, key_id: &str) -> Result<Option<StoredPublicKey>> {
    let row = sqlx::query("SELECT public_key, retired_at FROM signing_keys WHERE key_id = $1 AND tenant_id = $2")
        .bind(key_id)
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?;
    row.map(|k| Ok(StoredPublicKey { public_key: k.try_get("public_key")?, retired_at: k.try_get("retired_at")? }))
        .transpose()
}

/// Serialises key changes of one tenant (PostgreSQL; SQLite has one writer). `FOR NO KEY
/// UPDATE`, not `FOR UPDATE`: every insert that names the tenant takes a key-share lock on its
/// row for the foreign key, and a submission holding the tenant's audit head would wait on this
/// lock while its holder waits on the audit head — a deadlock.
pub async fn lock_tenant(conn: &mut AnyConnection, tenant_id: i64) -> Result<()> {
    let lock = crate::db::for_no_key_update(conn);
    if !lock.is_empty() {
        sqlx::query(&format!("SELECT id FROM tenants WHERE id = $1{lock}")).bind(tenant_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The tenant's code (key ids begin with it).
pub async fn tenant_code(conn: &mut AnyConnection, tenant_id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT code FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("code")?)
}

/// A key as written: public key in base64, seed sealed.
pub struct NewKey<'a> {
    pub key_id: &'a str,
    pub algorithm: &'a str,
    pub public_key: String,
    pub secret_key: String,
    pub created_at: i64,
}

/// Writes a new active key of the tenant.
pub async fn insert_key(conn: &mut AnyConnection, tenant_id: i64, k: NewKey<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO signing_keys (tenant_id, key_id, algorithm, public_key, secret_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(k.key_id)
    .bind(k.algorithm)
    .bind(k.public_key)
    .bind(k.secret_key)
    .bind(k.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The ids of the tenant's keys not retired, oldest first.
pub async fn unretired_keys(conn: &mut AnyConnection, tenant_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query("SELECT key_id FROM signing_keys WHERE tenant_id = $1 AND retired_at IS NULL ORDER BY id")
        .bind(tenant_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("key_id"))
        .collect::<std::result::Result<_, _>>()?)
}

/// Retires every key of the tenant not retired yet: the secret is erased, the public key kept.
pub async fn retire_keys(conn: &mut AnyConnection, tenant_id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE signing_keys SET retired_at = $1, secret_key = NULL WHERE tenant_id = $2 AND retired_at IS NULL",
    )
    .bind(now)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Public keys, oldest first; of one tenant when `tenant_code` is given.
pub async fn public_keys(db: &Db, tenant_code: Option<&str>) -> Result<Vec<PublicKey>> {
    let rows = sqlx::query(
        "SELECT t.code AS tenant_code, t.name AS tenant_name, k.key_id, k.algorithm, k.public_key, k.created_at, \
         k.retired_at FROM signing_keys k JOIN tenants t ON t.id = k.tenant_id \
         WHERE ($1 = '' OR t.code = $1) ORDER BY k.id",
    )
    .bind(tenant_code.unwrap_or_default())
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(PublicKey::from_row).collect()
}

// ---------- signing certificates ----------

const CERT_COLS: &str =
    "cert_id, subject, issuer, serial, sha256, key_algorithm, not_before, not_after, tsa_url, created_by, created_at";

/// The tenant's certificate in use, if any.
pub async fn current_certificate(db: &Db, tenant_id: i64) -> Result<Option<CertificateInfo>> {
    let sql = format!(
        "SELECT {CERT_COLS} FROM signing_certificates WHERE tenant_id = $1 AND removed_at IS NULL ORDER BY id DESC LIMIT 1"
    );
    sqlx::query(&sql)
        .bind(tenant_id)
        .fetch_optional(&db.read)
        .await?
        .as_ref()
        .map(CertificateInfo::from_row)
        .transpose()
}

/// Erases the key of the tenant's certificate in use and marks it removed; returns its id.
pub async fn retire_certificate(conn: &mut AnyConnection, tenant_id: i64, now: i64) -> Result<Option<String>> {
    let old: Option<String> =
        sqlx::query("SELECT cert_id FROM signing_certificates WHERE tenant_id = $1 AND removed_at IS NULL")
            .bind(tenant_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("cert_id"))
            .transpose()?;
    sqlx::query(
        "UPDATE signing_certificates SET removed_at = $1, private_key = NULL WHERE tenant_id = $2 AND removed_at IS NULL",
    )
    .bind(now)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    Ok(old)
}

/// Writes the tenant's certificate in use: what administrators see, its chain and its sealed key.
pub async fn insert_certificate(
    conn: &mut AnyConnection,
    tenant_id: i64,
    row: &CertificateInfo,
    chain_pem: &str,
    sealed_key: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO signing_certificates (tenant_id, cert_id, chain_pem, private_key, key_algorithm, subject, issuer, \
         serial, sha256, not_before, not_after, tsa_url, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tenant_id)
    .bind(&row.cert_id)
    .bind(chain_pem)
    .bind(sealed_key)
    .bind(&row.key_algorithm)
    .bind(&row.subject)
    .bind(&row.issuer)
    .bind(&row.serial)
    .bind(&row.sha256)
    .bind(row.not_before)
    .bind(row.not_after)
    .bind(&row.tsa_url)
    .bind(&row.created_by)
    .bind(row.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The tenant's newest certificate in use that still has its key.
pub async fn signing_certificate(db: &Db, tenant_id: i64) -> Result<Option<StoredCertificate>> {
    let row = sqlx::query(
        "SELECT cert_id, chain_pem, private_key, tsa_url FROM signing_certificates \
         WHERE tenant_id = $1 AND removed_at IS NULL AND private_key IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(&db.read)
    .await?;
    row.as_ref().map(StoredCertificate::from_row).transpose()
}

/// The signed documents not yet disposed of of an application or a 起案, with their keys.
pub async fn signed_of(conn: &mut AnyConnection, of: SignedOf) -> Result<Vec<SignedDocument>> {
    let (column, id) = match of {
        SignedOf::Application(id) => ("application_id", id),
        SignedOf::Kian(id) => ("kian_id", id),
    };
    let rows = sqlx::query(&format!(
        "SELECT d.number, d.kind, d.title, d.issuer, d.sha256, d.key_id, d.signature, d.issued_at, k.algorithm, k.public_key \
         FROM issued_documents d LEFT JOIN signing_keys k ON k.key_id = d.key_id WHERE d.{column} = $1 AND d.disposed_at IS NULL ORDER BY d.id"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|s| {
            Ok(SignedDocument {
                number: s.try_get("number")?,
                kind: crate::db::parsed(s, "kind", DocumentKind::parse)?,
                title: s.try_get("title")?,
                issuer: s.try_get("issuer")?,
                sha256: s.try_get("sha256")?,
                key_id: s.try_get("key_id")?,
                signature: s.try_get("signature")?,
                issued_at: s.try_get("issued_at")?,
                algorithm: s.try_get("algorithm")?,
                public_key: s.try_get("public_key")?,
            })
        })
        .collect()
}

/// The hashes of an application's documents not yet disposed of.
pub async fn live_shas_of_application(conn: &mut AnyConnection, application_id: i64) -> Result<Vec<String>> {
    sqlx::query("SELECT sha256 FROM issued_documents WHERE application_id = $1 AND disposed_at IS NULL")
        .bind(application_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("sha256")?))
        .collect()
}

/// Marks an application's documents disposed of.
pub async fn dispose_of_application(conn: &mut AnyConnection, application_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE issued_documents SET disposed_at = $1 WHERE application_id = $2 AND disposed_at IS NULL")
        .bind(now)
        .bind(application_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many documents not disposed of are the stored file `sha`.
pub async fn live_uses(db: &Db, sha: &str) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS used FROM issued_documents WHERE sha256 = $1 AND disposed_at IS NULL")
        .bind(sha)
        .fetch_one(&db.read)
        .await?
        .try_get("used")?)
}
