//! Reads a PKCS#12 file (RFC 7292; .p12 / .pfx) into a [`Credential`]: its integrity MAC is
//! checked with the password first (RFC 7292 §5.1: a wrong password is reported as such),
//! then its certificate bags and its (shrouded) key bag are read. Contents encrypted with
//! PBES2 (RFC 8018; what OpenSSL 3 and current Windows write by default) are opened; the
//! legacy PKCS#12 PBE schemes (RC2, 3DES; RFC 7292 Appendix C) are refused with a code that
//! asks for a re-export with AES.

use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use const_oid::ObjectIdentifier;
use der::asn1::{ContextSpecific, OctetString};
use der::{Decode, Encode};
use hmac::{Hmac, Mac};
use pkcs12::cert_type::CertBag;
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
use pkcs12::pfx::Pfx;
use pkcs12::safe_bag::SafeContents;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::credential::{Credential, Key};
use crate::error::AppError;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const ID_PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const ID_X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

fn unreadable(detail: impl Into<String>) -> AppError {
    AppError::Certificate("certificate_unreadable", detail.into())
}

fn bad_password() -> AppError {
    AppError::Certificate("certificate_password", "the PKCS#12 password does not open the file".into())
}

fn legacy() -> AppError {
    AppError::Certificate("certificate_p12_legacy", "legacy PKCS#12 encryption (RC2/3DES)".into())
}

fn data_octets(ci: &ContentInfo) -> Result<Vec<u8>, AppError> {
    let der = ci.content.to_der().map_err(|e| unreadable(e.to_string()))?;
    Ok(OctetString::from_der(&der).map_err(|e| unreadable(e.to_string()))?.as_bytes().to_vec())
}

/// RFC 7292 §5.1 and Appendix B: HMAC over the authenticated safe with a key derived from
/// the password (SHA-256 or, in older files, SHA-1).
fn check_mac(pfx: &Pfx, auth_safe: &[u8], password: &str) -> Result<(), AppError> {
    let Some(mac) = &pfx.mac_data else { return Ok(()) };
    let (salt, rounds, expected) = (mac.mac_salt.as_bytes(), mac.iterations, mac.mac.digest.as_bytes());
    let ok = match mac.mac.algorithm.oid {
        super::cades::ID_SHA256 => {
            let key = Zeroizing::new(
                derive_key_utf8::<sha2::Sha256>(password, salt, Pkcs12KeyType::Mac, rounds, 32)
                    .map_err(|e| unreadable(e.to_string()))?,
            );
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| unreadable(e.to_string()))?;
            m.update(auth_safe);
            m.verify_slice(expected).is_ok()
        }
        ID_SHA1 => {
            let key = Zeroizing::new(
                derive_key_utf8::<sha1::Sha1>(password, salt, Pkcs12KeyType::Mac, rounds, 20)
                    .map_err(|e| unreadable(e.to_string()))?,
            );
            let mut m = Hmac::<sha1::Sha1>::new_from_slice(&key).map_err(|e| unreadable(e.to_string()))?;
            m.update(auth_safe);
            m.verify_slice(expected).is_ok()
        }
        other => return Err(unreadable(format!("MAC algorithm {other}"))),
    };
    if ok {
        Ok(())
    } else {
        Err(bad_password())
    }
}

/// Opens one EncryptedData of the authenticated safe (PBES2 only).
fn decrypt(ci: &ContentInfo, password: &str) -> Result<Vec<u8>, AppError> {
    let der = ci.content.to_der().map_err(|e| unreadable(e.to_string()))?;
    let ed = EncryptedData::from_der(&der).map_err(|e| unreadable(e.to_string()))?;
    let alg = &ed.enc_content_info.content_enc_alg;
    if alg.oid != ID_PBES2 {
        return Err(legacy());
    }
    let params = alg.parameters.as_ref().ok_or_else(|| unreadable("PBES2 without parameters"))?;
    let params = params.to_der().map_err(|e| unreadable(e.to_string()))?;
    let params = pkcs5::pbes2::Parameters::from_der(&params).map_err(|_| legacy())?;
    let mut data = ed.enc_content_info.encrypted_content.ok_or_else(|| unreadable("no content"))?.as_bytes().to_vec();
    let plain =
        pkcs5::EncryptionScheme::from(params).decrypt_in_place(password, &mut data).map_err(|_| bad_password())?;
    Ok(plain.to_vec())
}

/// Reads a PKCS#12 file with its password.
pub fn read(der: &[u8], password: &str) -> Result<Credential, AppError> {
    let pfx = Pfx::from_der(der).map_err(|e| unreadable(format!("not a PKCS#12 file: {e}")))?;
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(unreadable("public-key integrity mode is not supported"));
    }
    let auth_safe = data_octets(&pfx.auth_safe)?;
    check_mac(&pfx, &auth_safe, password)?;
    let safes = Vec::<ContentInfo>::from_der(&auth_safe).map_err(|e| unreadable(e.to_string()))?;
    let (mut certs, mut key) = (Vec::new(), None);
    for ci in &safes {
        let contents = match ci.content_type {
            ID_DATA => data_octets(ci)?,
            ID_ENCRYPTED_DATA => decrypt(ci, password)?,
            other => return Err(unreadable(format!("content type {other}"))),
        };
        for bag in SafeContents::from_der(&contents).map_err(|e| unreadable(e.to_string()))? {
            match bag.bag_id {
                pkcs12::PKCS_12_CERT_BAG_OID => {
                    let cb =
                        ContextSpecific::<CertBag>::from_der(&bag.bag_value).map_err(|e| unreadable(e.to_string()))?;
                    if cb.value.cert_id == ID_X509_CERTIFICATE {
                        certs.push(
                            Certificate::from_der(cb.value.cert_value.as_bytes())
                                .map_err(|e| unreadable(e.to_string()))?,
                        );
                    }
                }
                pkcs12::PKCS_12_PKCS8_KEY_BAG_OID => {
                    let epki = ContextSpecific::<pkcs8::EncryptedPrivateKeyInfo<'_>>::from_der(&bag.bag_value)
                        .map_err(|e| unreadable(e.to_string()))?;
                    if epki.value.encryption_algorithm.oid() != ID_PBES2 {
                        return Err(legacy());
                    }
                    let doc = epki.value.decrypt(password).map_err(|_| bad_password())?;
                    key = Some(Key::from_pkcs8_der(doc.as_bytes())?);
                }
                pkcs12::PKCS_12_KEY_BAG_OID => {
                    let k = ContextSpecific::<pkcs8::PrivateKeyInfo<'_>>::from_der(&bag.bag_value)
                        .map_err(|e| unreadable(e.to_string()))?;
                    let der = Zeroizing::new(k.value.to_der().map_err(|e| unreadable(e.to_string()))?);
                    key = Some(Key::from_pkcs8_der(&der)?);
                }
                _ => {}
            }
        }
    }
    let key =
        key.ok_or_else(|| AppError::Certificate("certificate_key_unreadable", "no private key in the file".into()))?;
    Credential::new(certs, key)
}
