//! Passwords and tokens at rest: Argon2id hashes (checked off the async threads), the password
//! policy, and the SHA-256 under which session, device and API tokens are stored.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

use crate::error::{AppError, Result};

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(e.to_string())) // argon2's error is no std Error
    })
    .await
    .map_err(AppError::unexpected)?
}

/// Whether the password matches the stored hash. A stored value that is no hash (an invited
/// account's, before its password is set) is checked against a real hash all the same and
/// fails, so the time taken does not tell such accounts apart.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match PasswordHash::new(&hash) {
            Ok(_) => (hash, true),
            Err(_) => (dummy_hash(), false),
        };
        let matches =
            PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
        matches && real
    })
    .await
    .unwrap_or(false)
}

/// The password policy (`kencho_core::security::password`): length, not on the shipped list
/// of common and breached passwords, not made from the context words given (the account's
/// e-mail and name, `kencho`, a staff member's tenant).
pub fn check_password(p: &str, personal: &[&str]) -> Result<()> {
    kencho_core::security::password::check(p, personal).map_err(AppError::Password)
}

/// A real hash to check against when the account does not exist, so both paths cost the same.
pub(super) fn dummy_hash() -> String {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(b"not a password", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
    .clone()
}
