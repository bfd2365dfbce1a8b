//! The CMS SignedData inside a PAdES signature (ETSI EN 319 142-1 §6.3, PAdES-B-B / B-T):
//! detached (no eContent), SHA-256, signed attributes content-type, message-digest and
//! signing-certificate-v2 (RFC 5035), and no signing-time (the claimed time is the signature
//! dictionary's /M, ETSI EN 319 142-1 §6.3 Table 1). A time-stamp token over the signature
//! value (RFC 3161 Appendix A) is an unsigned attribute, which makes it B-T.
//!
//! Everything is built from RustCrypto's typed structures (`cms`, `x509-cert`, `der`).

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use super::credential::Credential;
use crate::error::AppError;

pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-aa-signingCertificateV2 (RFC 5035 §3).
pub const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (RFC 3161 Appendix A).
pub const ID_SIGNATURE_TIME_STAMP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// `IssuerSerial` (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// `ESSCertIDv2` (RFC 5035 §4) with the default hash algorithm (SHA-256), which DER omits.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    pub cert_hash: OctetString,
    pub issuer_serial: IssuerSerial,
}

/// `SigningCertificateV2` (RFC 5035 §3), without policies.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

fn der_err(e: der::Error) -> AppError {
    AppError::failed("CMS encoding", e)
}

pub fn sha256_alg() -> AlgorithmIdentifierOwned {
    // RFC 5754 §2: the parameters of SHA-2 identifiers are absent.
    AlgorithmIdentifierOwned { oid: ID_SHA256, parameters: None }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, AppError> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(der_err)?;
    Ok(Attribute { oid, values })
}

/// The signed attributes over a document digest (SHA-256 of the /ByteRange).
fn signed_attributes(cert: &Certificate, digest: &[u8]) -> Result<SetOfVec<Attribute>, AppError> {
    let tbs = &cert.tbs_certificate;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(cert.to_der().map_err(der_err)?).to_vec()).map_err(der_err)?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                serial_number: tbs.serial_number.clone(),
            },
        }],
    };
    let mut attrs = SetOfVec::new();
    attrs.insert(attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA).map_err(der_err)?)?).map_err(der_err)?;
    let md = OctetString::new(digest.to_vec()).map_err(der_err)?;
    attrs.insert(attribute(ID_MESSAGE_DIGEST, Any::encode_from(&md).map_err(der_err)?)?).map_err(der_err)?;
    attrs.insert(attribute(ID_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess).map_err(der_err)?)?).map_err(der_err)?;
    Ok(attrs)
}

/// A signer info, signed, without unsigned attributes yet.
pub fn signer_info(cred: &Credential, digest: &[u8]) -> Result<SignerInfo, AppError> {
    let cert = cred.signer();
    let attrs = signed_attributes(cert, digest)?;
    // RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF (tag 0x31).
    let signature = cred.key.sign(&attrs.to_der().map_err(der_err)?)?;
    Ok(SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(attrs),
        signature_algorithm: cred.key.signature_algorithm(),
        signature: OctetString::new(signature).map_err(der_err)?,
        unsigned_attrs: None,
    })
}

/// Adds a time-stamp token (a ContentInfo, DER) as the signature-time-stamp attribute.
pub fn add_time_stamp(info: &mut SignerInfo, token_der: &[u8]) -> Result<(), AppError> {
    let token = Any::from_der(token_der).map_err(der_err)?;
    let mut attrs = SetOfVec::new();
    attrs.insert(attribute(ID_SIGNATURE_TIME_STAMP, token)?).map_err(der_err)?;
    info.unsigned_attrs = Some(attrs);
    Ok(())
}

/// The DER ContentInfo(SignedData) holding one signer info and the credential's chain.
pub fn content_info(cred: &Credential, info: SignerInfo) -> Result<Vec<u8>, AppError> {
    let mut digests = SetOfVec::new();
    digests.insert(sha256_alg()).map_err(der_err)?;
    let certs: Vec<_> = cred.chain.iter().cloned().map(cms::cert::CertificateChoices::Certificate).collect();
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: digests,
        encap_content_info: EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None },
        certificates: Some(CertificateSet::try_from(certs).map_err(der_err)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![info]).map_err(der_err)?,
    };
    ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&sd).map_err(der_err)? }
        .to_der()
        .map_err(der_err)
}

/// Reads a ContentInfo(SignedData).
pub fn signed_data(der: &[u8]) -> Result<SignedData, String> {
    let ci = ContentInfo::from_der(der).map_err(|e| format!("ContentInfo: {e}"))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(format!("content type {} is not signedData", ci.content_type));
    }
    ci.content.decode_as::<SignedData>().map_err(|e| format!("SignedData: {e}"))
}
