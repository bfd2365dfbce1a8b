//! An office's signing credential (a certificate chain and its private key, e.g. an LGPKI
//! 職責証明書): read from PEM, checked whole before it is accepted, and used to sign.
//!
//! Refusals carry stable codes (`AppError::Certificate`), each a key in the locale files.

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use p256::ecdsa::DerSignature;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use signature::{SignatureEncoding, Signer};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::KeyUsage;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::error::AppError;

/// sha256WithRSAEncryption (RFC 4055 §5).
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// ecdsa-with-SHA256 (RFC 5758 §3.2).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// RSA keys shorter than this are refused (NIST SP 800-57 Part 1 Rev. 5, Table 4: 112 bits of
/// security until 2030; LGPKI issues 2048-bit RSA 職責証明書).
pub const MIN_RSA_BITS: usize = 2048;

fn refuse(code: &'static str, detail: impl Into<String>) -> AppError {
    AppError::Certificate(code, detail.into())
}

/// The private key, RSA (PKCS#1 v1.5 with SHA-256) or ECDSA P-256 with SHA-256.
#[derive(Clone)]
pub enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
}

impl Key {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Key, AppError> {
        let pem = pem.trim();
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            return Ok(Key::Rsa(Box::new(k)));
        }
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
            return Ok(Key::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
            return Ok(Key::P256(k.into()));
        }
        if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
            return Ok(Key::P256(k.into()));
        }
        if pem.contains("ENCRYPTED") {
            return Err(refuse("certificate_key_encrypted", "encrypted PEM key"));
        }
        Err(refuse("certificate_key_unreadable", "not an RSA or P-256 private key in PEM"))
    }

    /// Reads PKCS#8 DER (how the key is kept, sealed).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Key, AppError> {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
            return Ok(Key::Rsa(Box::new(k)));
        }
        p256::SecretKey::from_pkcs8_der(der)
            .map(|k| Key::P256(k.into()))
            .map_err(|_| refuse("certificate_key_unreadable", "not an RSA or P-256 PKCS#8 key"))
    }

    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, AppError> {
        let doc = match self {
            Key::Rsa(k) => k.to_pkcs8_der(),
            Key::P256(k) => p256::SecretKey::from(k).to_pkcs8_der(),
        }
        .map_err(|e| AppError::failed("encoding the signing key", e))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// `RSA-2048`, `ECDSA-P256`.
    pub fn algorithm(&self) -> String {
        match self {
            Key::Rsa(k) => format!("RSA-{}", k.size() * 8),
            Key::P256(_) => "ECDSA-P256".into(),
        }
    }

    fn public_key_der(&self) -> Result<Vec<u8>, AppError> {
        match self {
            Key::Rsa(k) => k.to_public_key().to_public_key_der(),
            Key::P256(k) => k.verifying_key().to_public_key_der(),
        }
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| AppError::failed("encoding the public key", e))
    }

    /// The CMS signatureAlgorithm of this key's signatures.
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            // RFC 4055 §5: the parameters are NULL for sha256WithRSAEncryption.
            Key::Rsa(_) => AlgorithmIdentifierOwned { oid: SHA256_WITH_RSA, parameters: Some(der::asn1::Null.into()) },
            // RFC 5758 §3.2: absent for ecdsa-with-SHA256.
            Key::P256(_) => AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
        }
    }

    /// Signs `message` (hashing it with SHA-256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AppError> {
        match self {
            Key::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
                let sig = signer.try_sign(message).map_err(|e| AppError::failed("RSA signing", e))?;
                Ok(sig.to_vec())
            }
            Key::P256(k) => {
                let sig: DerSignature = k.try_sign(message).map_err(|e| AppError::failed("ECDSA signing", e))?;
                Ok(sig.to_vec())
            }
        }
    }
}

/// A credential: the signer's certificate first, then the rest of its chain, and the key.
#[derive(Clone)]
pub struct Credential {
    pub chain: Vec<Certificate>,
    pub key: Key,
}

impl Credential {
    pub fn signer(&self) -> &Certificate {
        &self.chain[0]
    }

    /// Reads a PEM chain (signer first, or in any order: the one whose key is given goes first).
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Credential, AppError> {
        // x509-cert 0.2.5's chain reader computes `input.len() - 1` and so fails on an empty
        // input (a panic in debug builds): an empty field is refused before it gets there.
        if chain_pem.trim().is_empty() {
            return Err(refuse("certificate_unreadable", "no certificate"));
        }
        let chain = Certificate::load_pem_chain(chain_pem.trim().as_bytes())
            .map_err(|e| refuse("certificate_unreadable", e.to_string()))?;
        let key = Key::from_pem(key_pem)?;
        Credential::new(chain, key)
    }

    /// Puts the certificate matching the key first; refuses a chain without one.
    pub fn new(mut chain: Vec<Certificate>, key: Key) -> Result<Credential, AppError> {
        if chain.is_empty() {
            return Err(refuse("certificate_unreadable", "no certificate"));
        }
        let public = key.public_key_der()?;
        let at = chain
            .iter()
            .position(|c| c.tbs_certificate.subject_public_key_info.to_der().is_ok_and(|d| d == public))
            .ok_or_else(|| refuse("certificate_key_mismatch", "the private key belongs to none of the certificates"))?;
        chain.swap(0, at);
        Ok(Credential { chain, key })
    }

    /// The checks an office's credential passes before it is accepted, at `now` (Unix seconds):
    /// a key of an accepted kind and size, a certificate valid now (RFC 5280 §4.1.2.5) whose key
    /// usage, if stated, allows signing (RFC 5280 §4.2.1.3: digitalSignature or
    /// nonRepudiation/contentCommitment).
    pub fn check(&self, now: u64) -> Result<(), AppError> {
        if let Key::Rsa(k) = &self.key {
            if k.size() * 8 < MIN_RSA_BITS {
                return Err(refuse("certificate_key_too_small", format!("RSA-{}", k.size() * 8)));
            }
        }
        let tbs = &self.signer().tbs_certificate;
        if tbs.validity.not_before.to_unix_duration().as_secs() > now {
            return Err(refuse("certificate_not_yet_valid", tbs.validity.not_before.to_string()));
        }
        if tbs.validity.not_after.to_unix_duration().as_secs() < now {
            return Err(refuse("certificate_expired", tbs.validity.not_after.to_string()));
        }
        let usage = tbs.get::<KeyUsage>().map_err(|e| refuse("certificate_unreadable", e.to_string()))?;
        if let Some((_, ku)) = usage {
            if !ku.digital_signature() && !ku.non_repudiation() {
                return Err(refuse("certificate_key_usage", "neither digitalSignature nor nonRepudiation"));
            }
        }
        Ok(())
    }

    /// The chain in PEM, signer first (how it is stored).
    pub fn chain_pem(&self) -> Result<String, AppError> {
        use der::EncodePem;
        let mut out = String::new();
        for c in &self.chain {
            out.push_str(&c.to_pem(der::pem::LineEnding::LF).map_err(|e| AppError::failed("certificate PEM", e))?);
        }
        Ok(out)
    }

    /// SHA-256 of the signer's certificate (DER), lowercase hex.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(self.signer().to_der().unwrap_or_default()))
    }
}

/// A certificate's validity bounds in Unix seconds.
pub fn validity(cert: &Certificate) -> (i64, i64) {
    let v = &cert.tbs_certificate.validity;
    (v.not_before.to_unix_duration().as_secs() as i64, v.not_after.to_unix_duration().as_secs() as i64)
}

/// Decodes one DER certificate.
pub fn certificate_from_der(der: &[u8]) -> Result<Certificate, AppError> {
    Certificate::from_der(der).map_err(|e| refuse("certificate_unreadable", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, KeyUsagePurpose};

    fn made(usages: Vec<KeyUsagePurpose>) -> Credential {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.key_usages = usages;
        // rcgen writes extensions (key usage among them) only when one of these is set.
        p.is_ca = rcgen::IsCa::ExplicitNoCa;
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(1);
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Credential::from_pem(&cert.pem(), &key.serialize_pem()).unwrap()
    }

    #[test]
    fn key_usage_must_allow_signing() {
        let now = (crate::db::now_ms() / 1000) as u64;
        assert!(made(vec![KeyUsagePurpose::DigitalSignature]).check(now).is_ok());
        assert!(made(vec![KeyUsagePurpose::ContentCommitment]).check(now).is_ok());
        assert!(made(vec![]).check(now).is_ok(), "no key usage extension: no restriction (RFC 5280 §4.2.1.3)");
        let e = made(vec![KeyUsagePurpose::KeyEncipherment]).check(now).unwrap_err();
        assert_eq!(e.code(), "certificate_key_usage");
    }
}
