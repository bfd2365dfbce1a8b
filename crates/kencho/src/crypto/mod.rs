//! Secrets and special-care personal data sealed at rest.
//!
//! A [`Keyring`] holds 32-byte keys, each with a short id; the last one is the current key,
//! which seals every new value. The keys live in a file outside the database (see
//! [`keyfile`]); the database only ever holds sealed text:
//!
//! ```text
//! sealed:v1:<key id>:<base64url(24-byte nonce || ciphertext and 16-byte tag)>
//! ```
//!
//! The cipher is XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), with a random nonce
//! for every value. The associated data is the header (`sealed:v1:<key id>:`) followed by
//! the value's *place*, `"<table>.<column>:<row>"` (for example
//! `staff.totp_secret:12`): a sealed value copied to another row or column does not open.
//!
//! Values written before sealing existed (clear text) are refused by [`Keyring::open`]: a
//! database writer must not be able to plant a TOTP secret or a webhook secret of its choosing.
//! `kencho keys reencrypt` seals them once after an upgrade (see [`reencrypt`]).
//!
//! Sealing happens in the storage modules, so handlers and pages only see clear values.

pub mod keyfile;
pub mod reencrypt;

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::AppError;

/// What every sealed value starts with (the format's name and version).
pub const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Whether a stored value is sealed text (rather than a clear legacy value).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The place a value is bound to: `"<table>.<column>:<row>"`.
pub fn place(column: &str, row: impl fmt::Display) -> String {
    format!("{column}:{row}")
}

/// A key id: 1–32 of `A-Z a-z 0-9 - _`.
pub fn valid_key_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One key. Its bytes are wiped when dropped and never printed.
#[derive(Clone)]
pub struct Key {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl Key {
    pub fn new(id: &str, bytes: [u8; 32]) -> Result<Key, String> {
        if !valid_key_id(id) {
            return Err(format!("key id {id:?}: use 1–32 of A-Z a-z 0-9 - _"));
        }
        Ok(Key { id: id.to_string(), bytes: Zeroizing::new(bytes) })
    }

    /// A fresh random key.
    pub fn generate(id: &str) -> Result<Key, String> {
        if !valid_key_id(id) {
            return Err(format!("key id {id:?}: use 1–32 of A-Z a-z 0-9 - _"));
        }
        Ok(Key::random(id))
    }

    fn random(id: &str) -> Key {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Key { id: id.to_string(), bytes }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(self.bytes.as_ref()))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}, [redacted])", self.id)
    }
}

/// The keys a process may open values with; the last is the current (sealing) key.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "Keyring({ids:?}, [redacted])")
    }
}

/// Why a stored value did not open. The message never contains the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// No key is configured (no `--secret-key-file`).
    NoKey,
    /// The value is clear text from before sealing: run `kencho keys reencrypt`.
    NotSealed,
    /// The value names a key the file no longer holds.
    UnknownKey(String),
    /// Malformed, altered, moved to another place, or sealed under another key with this id.
    Damaged,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NoKey => write!(f, "no secret key is configured (--secret-key-file)"),
            OpenError::NotSealed => write!(f, "a value is stored in clear; run `kencho keys reencrypt`"),
            OpenError::UnknownKey(id) => write!(f, "a value is sealed under key {id:?}, which the key file lacks"),
            OpenError::Damaged => write!(f, "a sealed value does not open (altered, moved, or a different key)"),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<OpenError> for AppError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::NoKey => AppError::SecretKey("secret_key_missing", e.to_string()),
            _ => AppError::SecretKey("sealed_value_unreadable", e.to_string()),
        }
    }
}

impl Keyring {
    /// A keyring of these keys (the last is current). Ids must be distinct.
    pub fn new(keys: Vec<Key>) -> Result<Keyring, String> {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(format!("key id {:?} appears twice", k.id));
            }
        }
        Ok(Keyring { keys })
    }

    /// A keyring of one fresh key, kept only in memory (benchmarks).
    pub fn ephemeral() -> Keyring {
        Keyring { keys: vec![Key::random("ephemeral")] }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The id of the key new values are sealed under.
    pub fn current_id(&self) -> Option<&str> {
        self.keys.last().map(|k| k.id.as_str())
    }

    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `clear` for `place` under the current key.
    pub fn seal(&self, place: &str, clear: &str) -> Result<String, OpenError> {
        let key = self.keys.last().ok_or(OpenError::NoKey)?;
        let header = format!("{PREFIX}{}:", key.id);
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = format!("{header}{place}");
        let sealed = key
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: clear.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| OpenError::Damaged)?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        Ok(format!("{header}{}", URL_SAFE_NO_PAD.encode(body)))
    }

    /// Opens a sealed value stored at `place`. Clear (legacy) values are refused.
    pub fn open(&self, place: &str, stored: &str) -> Result<String, OpenError> {
        let rest = stored.strip_prefix(PREFIX).ok_or(OpenError::NotSealed)?;
        let (id, body) = rest.split_once(':').ok_or(OpenError::Damaged)?;
        if self.keys.is_empty() {
            return Err(OpenError::NoKey);
        }
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Damaged)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = format!("{PREFIX}{id}:{place}");
        let clear = key
            .cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| OpenError::Damaged)?;
        String::from_utf8(clear).map_err(|_| OpenError::Damaged)
    }

    /// The id of the key a stored value is sealed under (`None`: not sealed).
    pub fn key_of(stored: &str) -> Option<&str> {
        stored.strip_prefix(PREFIX)?.split_once(':').map(|(id, _)| id)
    }

    pub fn seal_opt(&self, place: &str, clear: Option<&str>) -> Result<Option<String>, OpenError> {
        clear.map(|c| self.seal(place, c)).transpose()
    }

    pub fn open_opt(&self, place: &str, stored: Option<&str>) -> Result<Option<Secret>, OpenError> {
        stored.map(|s| self.open(place, s).map(Secret::new)).transpose()
    }

    /// For values whose empty form carries no data (`""`, `"{}"`): those are stored as they
    /// are, everything else is sealed.
    pub fn seal_unless_empty(&self, place: &str, clear: &str) -> Result<String, OpenError> {
        if is_empty_value(clear) {
            Ok(clear.to_string())
        } else {
            self.seal(place, clear)
        }
    }

    /// Opens what [`Keyring::seal_unless_empty`] stored.
    pub fn open_unless_empty(&self, place: &str, stored: &str) -> Result<String, OpenError> {
        if is_empty_value(stored) {
            Ok(stored.to_string())
        } else {
            self.open(place, stored)
        }
    }
}

/// `""` and `"{}"`: values with nothing in them, stored unsealed.
pub fn is_empty_value(v: &str) -> bool {
    v.is_empty() || v == "{}"
}

/// A clear secret in memory: printed as `[redacted]`, read with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(Zeroizing::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// 32 random bytes from the OS generator, URL-safe base64 without padding: session and link
/// tokens, temporary file names.
pub fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(ids: &[&str]) -> Keyring {
        Keyring::new(ids.iter().map(|id| Key::generate(id).unwrap()).collect()).unwrap()
    }

    #[test]
    fn seals_under_the_current_key_and_opens_with_any() {
        let r = ring(&["old", "new"]);
        let s = r.seal("staff.totp_secret:1", "JBSWY3DPEHPK3PXP").unwrap();
        assert!(s.starts_with("sealed:v1:new:"), "{s}");
        assert!(!s.contains("JBSWY3DP"));
        assert_eq!(r.open("staff.totp_secret:1", &s).unwrap(), "JBSWY3DPEHPK3PXP");
        // Two seals of one value differ (random nonce).
        assert_ne!(s, r.seal("staff.totp_secret:1", "JBSWY3DPEHPK3PXP").unwrap());
    }

    #[test]
    fn refuses_clear_values_unknown_keys_and_moved_values() {
        let r = ring(&["a"]);
        assert_eq!(r.open("x:1", "JBSWY3DPEHPK3PXP"), Err(OpenError::NotSealed));
        let s = r.seal("staff.totp_secret:1", "secret").unwrap();
        assert_eq!(r.open("staff.totp_secret:2", &s), Err(OpenError::Damaged));
        assert_eq!(r.open("payment_settings.sandbox_secret:1", &s), Err(OpenError::Damaged));
        assert_eq!(ring(&["b"]).open("staff.totp_secret:1", &s), Err(OpenError::UnknownKey("a".into())));
        // Another key under the same id does not open it either.
        assert_eq!(ring(&["a"]).open("staff.totp_secret:1", &s), Err(OpenError::Damaged));
        // Renaming the key in the header breaks the binding too.
        let renamed = s.replacen("sealed:v1:a:", "sealed:v1:b:", 1);
        let both = Keyring::new(vec![r.keys[0].clone(), Key::new("b", *r.keys[0].bytes()).unwrap()]).unwrap();
        assert_eq!(both.open("staff.totp_secret:1", &renamed), Err(OpenError::Damaged));
        assert_eq!(Keyring::default().seal("x:1", "v"), Err(OpenError::NoKey));
    }

    #[test]
    fn keys_and_secrets_do_not_print_themselves() {
        let r = ring(&["k1"]);
        let printed = format!("{r:?} {:?}", r.keys[0]);
        assert!(printed.contains("k1") && printed.contains("redacted"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(r.keys[0].bytes());
        assert!(!printed.contains(&b64));
        assert_eq!(format!("{:?}", Secret::new("whsec_abc".into())), "[redacted]");
    }

    #[test]
    fn refusals_have_a_code_and_texts_in_both_languages() {
        let cases = [
            (OpenError::NoKey, "secret_key_missing"),
            (OpenError::NotSealed, "sealed_value_unreadable"),
            (OpenError::UnknownKey("k".into()), "sealed_value_unreadable"),
            (OpenError::Damaged, "sealed_value_unreadable"),
        ];
        for (e, code) in cases {
            let e = AppError::from(e);
            assert_eq!(e.code(), code);
            assert_eq!(e.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            let (ja, en) = (e.message("ja"), e.message("en"));
            assert!(!ja.starts_with("error.") && !en.starts_with("error.") && ja != en, "{ja} / {en}");
        }
    }

    #[test]
    fn empty_values_stay_as_they_are() {
        let r = ring(&["k"]);
        assert_eq!(r.seal_unless_empty("a:1", "{}").unwrap(), "{}");
        assert_eq!(r.open_unless_empty("a:1", "").unwrap(), "");
        let s = r.seal_unless_empty("a:1", "{\"x\":1}").unwrap();
        assert_eq!(r.open_unless_empty("a:1", &s).unwrap(), "{\"x\":1}");
    }

    proptest! {
        #[test]
        fn round_trip(clear in ".{0,200}", row in 0u32..1000) {
            let r = ring(&["p"]);
            let place = format!("applications.answers:{row}");
            let s = r.seal(&place, &clear).unwrap();
            prop_assert_eq!(r.open(&place, &s).unwrap(), clear);
        }

        #[test]
        fn any_changed_byte_fails(clear in ".{1,64}", at in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let r = ring(&["p"]);
            let s = r.seal("t.c:1", &clear).unwrap();
            let body = s.strip_prefix("sealed:v1:p:").unwrap();
            let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
            let forged = format!("sealed:v1:p:{}", URL_SAFE_NO_PAD.encode(bytes));
            prop_assert_eq!(r.open("t.c:1", &forged), Err(OpenError::Damaged));
        }

        #[test]
        fn wrong_place_fails(clear in ".{0,64}", a in "[a-z_.]{1,20}:[0-9]{1,5}", b in "[a-z_.]{1,20}:[0-9]{1,5}") {
            prop_assume!(a != b);
            let r = ring(&["p"]);
            let s = r.seal(&a, &clear).unwrap();
            prop_assert_eq!(r.open(&b, &s), Err(OpenError::Damaged));
        }
    }
}
