//! A tenant's signing keys (Ed25519): created on first use, rotated by an administrator.
//!
//! Each tenant has at most one active key (`retired_at IS NULL`); rotation retires it — the
//! public key stays, the secret is dropped — and creates the next one, so everything signed
//! before still verifies. Both happen under the tenant's row lock (PostgreSQL) or the single
//! writer (SQLite), so two nodes never create two active keys.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use zeroize::Zeroizing;

use crate::actor::Staff;
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

pub const ALGORITHM: &str = "Ed25519";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key a tenant signs with now.
pub struct ActiveKey {
    pub tenant_id: i64,
    pub key_id: String,
    signing: SigningKey,
}

impl ActiveKey {
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// A key that is never stored (tests, the benchmark).
    pub fn ephemeral(tenant_id: i64, key_id: &str) -> ActiveKey {
        ActiveKey { tenant_id, key_id: key_id.to_string(), signing: SigningKey::from_bytes(&new_seed()) }
    }
}

/// A public key as third parties see it (`GET /api/v1/signing-keys`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// Tenant code.
    pub tenant: String,
    pub tenant_name: String,
    pub key_id: String,
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, base64 (standard alphabet, padded).
    pub public_key: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds; a retired key signs nothing new but still verifies what it signed.
    pub retired_at: Option<i64>,
}

fn new_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

fn decode_32(b64: &str) -> Result<[u8; 32]> {
    let bytes = B64.decode(b64).map_err(|e| AppError::Internal(format!("stored key is not base64: {e}")))?;
    bytes.try_into().map_err(|_| AppError::Internal("stored key is not 32 bytes".into()))
}

/// Decodes a stored public key.
pub fn verifying_key(public_key_b64: &str) -> Result<VerifyingKey> {
    VerifyingKey::from_bytes(&decode_32(public_key_b64)?)
        .map_err(|e| AppError::Internal(format!("bad public key: {e}")))
}

pub fn encode_signature(s: &Signature) -> String {
    B64.encode(s.to_bytes())
}

/// Decodes a stored signature; `None` when it is not 64 bytes of base64.
pub fn decode_signature(b64: &str) -> Option<Signature> {
    let bytes: [u8; 64] = B64.decode(b64).ok()?.try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// Where a signing seed is sealed (see [`crate::crypto`]).
fn seed_place(key_id: &str) -> String {
    crate::crypto::place("signing_keys.secret_key", key_id)
}

async fn read_active(conn: &mut AnyConnection, keys: &Keyring, tenant_id: i64) -> Result<Option<ActiveKey>> {
    let row = sqlx::query(
        "SELECT key_id, secret_key FROM signing_keys WHERE tenant_id = $1 AND retired_at IS NULL AND secret_key IS NOT NULL \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (key_id, stored): (String, String) = (row.try_get("key_id")?, row.try_get("secret_key")?);
    let secret = Zeroizing::new(keys.open(&seed_place(&key_id), &stored)?);
    Ok(Some(ActiveKey { tenant_id, key_id, signing: SigningKey::from_bytes(&decode_32(&secret)?) }))
}

/// Serialises key changes of one tenant (PostgreSQL; SQLite has one writer). `FOR NO KEY
/// UPDATE`, not `FOR UPDATE`: every insert that names the tenant takes a key-share lock on its
/// row for the foreign key, and a submission holding the tenant's audit head would wait on this
/// lock while its holder waits on the audit head — a deadlock.
pub(super) async fn lock_tenant(conn: &mut AnyConnection, tenant_id: i64) -> Result<()> {
    let lock = crate::db::for_no_key_update(conn);
    if !lock.is_empty() {
        sqlx::query(&format!("SELECT id FROM tenants WHERE id = $1{lock}")).bind(tenant_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts a new active key for the tenant; returns it.
async fn insert_key(
    conn: &mut AnyConnection,
    keys: &Keyring,
    tenant_id: i64,
    seed: [u8; 32],
    now: i64,
) -> Result<ActiveKey> {
    let code: String = sqlx::query("SELECT code FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("code")?;
    let date = crate::clock::at(now);
    let key_id = format!(
        "{code}-{:04}{:02}{:02}-{}",
        date.year(),
        date.month() as u8,
        date.day(),
        &hex::encode(&new_seed()[..4])
    );
    let signing = SigningKey::from_bytes(&seed);
    sqlx::query(
        "INSERT INTO signing_keys (tenant_id, key_id, algorithm, public_key, secret_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(&key_id)
    .bind(ALGORITHM)
    .bind(B64.encode(signing.verifying_key().to_bytes()))
    .bind(keys.seal(&seed_place(&key_id), &Zeroizing::new(B64.encode(seed)))?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(ActiveKey { tenant_id, key_id, signing })
}

/// The tenant's active key, created (and audited) on first use.
pub async fn active(db: &Db, tenant_id: i64) -> Result<ActiveKey> {
    let keys = db.keys();
    let mut conn = db.read.acquire().await?;
    if let Some(k) = read_active(&mut conn, &keys, tenant_id).await? {
        return Ok(k);
    }
    drop(conn);
    let seed = new_seed();
    db.transact(move |conn| {
        Box::pin(async move {
            lock_tenant(conn, tenant_id).await?;
            if let Some(k) = read_active(conn, &keys, tenant_id).await? {
                return Ok(k);
            }
            let key = insert_key(conn, &keys, tenant_id, seed, now_ms()).await?;
            audit::append(
                conn,
                tenant_id,
                "system",
                "signing_key.create",
                &format!("signing_key:{}", key.key_id),
                serde_json::json!({"algorithm": ALGORITHM, "public_key": B64.encode(key.verifying_key().to_bytes())}),
            )
            .await?;
            Ok(key)
        })
    })
    .await
}

/// Retires the tenant's active key (its secret is erased, its public key kept) and creates
/// the next. Returns (retired key ids, new key id).
pub async fn rotate(db: &Db, staff: &Staff) -> Result<(Vec<String>, String)> {
    let (tenant_id, actor) = (staff.tenant_id, format!("staff:{}", staff.id));
    let (seed, keys) = (new_seed(), db.keys());
    db.transact(move |conn| {
        Box::pin(async move {
            lock_tenant(conn, tenant_id).await?;
            let now = now_ms();
            let retired: Vec<String> =
                sqlx::query("SELECT key_id FROM signing_keys WHERE tenant_id = $1 AND retired_at IS NULL ORDER BY id")
                    .bind(tenant_id)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| r.try_get("key_id"))
                    .collect::<Result<_, _>>()?;
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1, secret_key = NULL WHERE tenant_id = $2 AND retired_at IS NULL",
            )
            .bind(now)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
            let key = insert_key(conn, &keys, tenant_id, seed, now).await?;
            audit::append(
                conn,
                tenant_id,
                &actor,
                "signing_key.rotate",
                &format!("signing_key:{}", key.key_id),
                serde_json::json!({"retired": retired, "public_key": B64.encode(key.verifying_key().to_bytes())}),
            )
            .await?;
            Ok((retired, key.key_id))
        })
    })
    .await
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
    rows.iter()
        .map(|r| {
            Ok(PublicKey {
                tenant: r.try_get("tenant_code")?,
                tenant_name: r.try_get("tenant_name")?,
                key_id: r.try_get("key_id")?,
                algorithm: r.try_get("algorithm")?,
                public_key: r.try_get("public_key")?,
                created_at: r.try_get("created_at")?,
                retired_at: r.try_get("retired_at")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_round_trip_through_base64() {
        let k = super::ActiveKey::ephemeral(1, "t");
        let s = k.sign(b"message");
        let back = super::decode_signature(&super::encode_signature(&s)).unwrap();
        assert!(k.verifying_key().verify_strict(b"message", &back).is_ok());
        assert!(super::decode_signature("not base64!").is_none());
        assert!(super::decode_signature("AAAA").is_none());
    }
}
