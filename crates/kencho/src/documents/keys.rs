//! A tenant's signing keys (Ed25519): created on first use, rotated by an administrator.
//!
//! Each tenant has at most one active key (`retired_at IS NULL`); rotation retires it — the
//! public key stays, the secret is dropped — and creates the next one, so everything signed
//! before still verifies. Both happen under the tenant's row lock (PostgreSQL) or the single
//! writer (SQLite), so two nodes never create two active keys.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use sqlx::AnyConnection;

use zeroize::Zeroizing;

pub use super::model::PublicKey;
use super::store::{self, NewKey};
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

fn new_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

fn decode_32(b64: &str) -> Result<[u8; 32]> {
    let bytes = B64.decode(b64).map_err(|e| AppError::failed("stored key is not base64", e))?;
    bytes.try_into().map_err(|_| AppError::Internal("stored key is not 32 bytes".into()))
}

/// Decodes a stored public key.
pub fn verifying_key(public_key_b64: &str) -> Result<VerifyingKey> {
    VerifyingKey::from_bytes(&decode_32(public_key_b64)?).map_err(|e| AppError::failed("bad public key", e))
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
    let Some(row) = store::active_key(conn, tenant_id).await? else { return Ok(None) };
    let (key_id, stored) = (row.key_id, row.secret_key);
    let secret = Zeroizing::new(keys.open(&seed_place(&key_id), &stored)?);
    Ok(Some(ActiveKey { tenant_id, key_id, signing: SigningKey::from_bytes(&decode_32(&secret)?) }))
}

/// Inserts a new active key for the tenant; returns it.
async fn insert_key(
    conn: &mut AnyConnection,
    keys: &Keyring,
    tenant_id: i64,
    seed: [u8; 32],
    now: i64,
) -> Result<ActiveKey> {
    let code = store::tenant_code(conn, tenant_id).await?;
    let date = crate::clock::at(now);
    let key_id = format!(
        "{code}-{:04}{:02}{:02}-{}",
        date.year(),
        date.month() as u8,
        date.day(),
        &hex::encode(&new_seed()[..4])
    );
    let signing = SigningKey::from_bytes(&seed);
    let new = NewKey {
        key_id: &key_id,
        algorithm: ALGORITHM,
        public_key: B64.encode(signing.verifying_key().to_bytes()),
        secret_key: keys.seal(&seed_place(&key_id), &Zeroizing::new(B64.encode(seed)))?,
        created_at: now,
    };
    store::insert_key(conn, tenant_id, new).await?;
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
            store::lock_tenant(conn, tenant_id).await?;
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
            store::lock_tenant(conn, tenant_id).await?;
            let now = now_ms();
            let retired = store::unretired_keys(conn, tenant_id).await?;
            store::retire_keys(conn, tenant_id, now).await?;
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
    store::public_keys(db, tenant_code).await
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
