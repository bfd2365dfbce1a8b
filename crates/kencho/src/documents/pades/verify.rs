//! Checks the embedded signature of a PDF the way a reader does (ISO 32000-1 §12.8.1): the
//! /ByteRange covers the whole file except the /Contents hex string, the CMS message digest is
//! the SHA-256 of those bytes, the signature over the signed attributes verifies with the
//! signer's certificate, and a signature time-stamp (if any) is over this signature value and
//! signed by its TSA. Trust in the certificate (a path to the LGPKI root) is the reader's
//! business and not checked here.

use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::OctetString;
use der::{Decode, Encode, SliceReader};
use p256::ecdsa::DerSignature;
use pkcs8::DecodePublicKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use signature::Verifier;
use x509_cert::Certificate;

use super::cades::{self, ID_SHA256, ID_SIGNATURE_TIME_STAMP, ID_SIGNING_CERTIFICATE_V2};

const ID_MESSAGE_DIGEST: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_TST_INFO: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// What the check of an embedded signature found. Only a signature that holds is described:
/// signed byte ranges that leave out anything but the signature itself, a digest that differs,
/// or a CMS signature that does not verify with its certificate is an error instead.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmbeddedSignature {
    /// The /SubFilter, `ETSI.CAdES.detached` for PAdES.
    pub sub_filter: String,
    /// The signer's certificate subject (RFC 4514 string).
    pub signer: String,
    /// SHA-256 of the signer's certificate, lowercase hex.
    pub certificate_sha256: String,
    /// The signed attributes name the signer's certificate (signing-certificate-v2, RFC 5035).
    pub signing_certificate_v2: bool,
    /// Whether a signature time-stamp (PAdES-B-T) is present and matches this signature.
    pub time_stamped: bool,
    /// The time-stamp's time (RFC 3339), when present.
    pub time_stamp: Option<String>,
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn ints_after(bytes: &[u8], at: usize, n: usize) -> Option<Vec<usize>> {
    let end = at + bytes[at..].iter().position(|&b| b == b']')?;
    let text = std::str::from_utf8(&bytes[at..end]).ok()?;
    let v: Vec<usize> = text.split_ascii_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
    (v.len() == n).then_some(v)
}

/// The last signature dictionary's /ByteRange, /Contents (decoded) and /SubFilter.
type Found = ([usize; 4], Vec<u8>, String);

/// The last signature dictionary's parts, if the file has one.
fn byte_range(pdf: &[u8]) -> Result<Option<Found>, String> {
    let Some(at) = find_last(pdf, b"/ByteRange [") else { return Ok(None) };
    let r = ints_after(pdf, at + b"/ByteRange [".len(), 4).ok_or("malformed /ByteRange")?;
    let r = [r[0], r[1], r[2], r[3]];
    if r[0] != 0 || r[1] >= r[2] || r[2].checked_add(r[3]) != Some(pdf.len()) {
        return Err("the byte ranges do not span the file".into());
    }
    if pdf[r[1]] != b'<' || pdf[r[2] - 1] != b'>' {
        return Err("the gap is not the /Contents string".into());
    }
    let hex_text: Vec<u8> = pdf[r[1] + 1..r[2] - 1].iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let contents = hex::decode(hex_text).map_err(|e| format!("/Contents is not hex: {e}"))?;
    let dict_start = find_last(&pdf[..r[1]], b"<<").ok_or("no signature dictionary")?;
    let dict = String::from_utf8_lossy(&pdf[dict_start..r[1]]);
    let sub_filter = dict
        .split("/SubFilter")
        .nth(1)
        .and_then(|s| s.split_ascii_whitespace().next())
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    Ok(Some((r, contents, sub_filter)))
}

fn signer_certificate<'a>(sd: &'a SignedData, info: &SignerInfo) -> Option<&'a Certificate> {
    let SignerIdentifier::IssuerAndSerialNumber(isn) = &info.sid else { return None };
    sd.certificates.as_ref()?.0.iter().find_map(|c| match c {
        cms::cert::CertificateChoices::Certificate(c)
            if c.tbs_certificate.issuer == isn.issuer && c.tbs_certificate.serial_number == isn.serial_number =>
        {
            Some(c)
        }
        _ => None,
    })
}

/// Verifies a signature with a certificate's public key (RSA PKCS#1 v1.5 or ECDSA P-256,
/// SHA-256).
fn verify_with(cert: &Certificate, message: &[u8], sig: &[u8]) -> bool {
    let Ok(spki) = cert.tbs_certificate.subject_public_key_info.to_der() else { return false };
    if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(&spki) {
        let vk = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k);
        return rsa::pkcs1v15::Signature::try_from(sig).is_ok_and(|s| vk.verify(message, &s).is_ok());
    }
    if let Ok(vk) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki) {
        return DerSignature::try_from(sig).is_ok_and(|s| vk.verify(message, &s).is_ok());
    }
    false
}

fn attr_value(info: &SignerInfo, oid: const_oid::ObjectIdentifier) -> Option<&der::Any> {
    info.signed_attrs.as_ref()?.iter().find(|a| a.oid == oid)?.values.iter().next()
}

/// Checks the one signer of `sd` over content whose SHA-256 is `digest`; returns the signer
/// info and certificate when the signature holds.
fn check_signer<'a>(sd: &'a SignedData, digest: &[u8]) -> Result<(&'a SignerInfo, &'a Certificate), String> {
    let info = sd.signer_infos.0.iter().next().ok_or("no signer")?;
    if info.digest_alg.oid != ID_SHA256 {
        return Err(format!("digest algorithm {} is not SHA-256", info.digest_alg.oid));
    }
    let md = attr_value(info, ID_MESSAGE_DIGEST).ok_or("no message-digest attribute")?;
    let md = md.decode_as::<OctetString>().map_err(|e| e.to_string())?;
    if md.as_bytes() != digest {
        return Err("the message digest does not match the signed bytes".into());
    }
    let cert = signer_certificate(sd, info).ok_or("the signer's certificate is not in the signature")?;
    let signed = info.signed_attrs.as_ref().ok_or("no signed attributes")?.to_der().map_err(|e| e.to_string())?;
    if !verify_with(cert, &signed, info.signature.as_bytes()) {
        return Err("the signature does not verify with the certificate".into());
    }
    Ok((info, cert))
}

/// Checks a signature time-stamp token against the signature value it stamps; returns its time.
pub fn check_time_stamp(token_der: &[u8], signature_value: &[u8]) -> Result<String, String> {
    let sd = cades::signed_data(token_der)?;
    if sd.encap_content_info.econtent_type != ID_TST_INFO {
        return Err("the token is not a TSTInfo".into());
    }
    let content = sd.encap_content_info.econtent.as_ref().ok_or("the token has no TSTInfo")?;
    let tst_der = content.decode_as::<OctetString>().map_err(|e| e.to_string())?;
    let tst = x509_tsp::TstInfo::from_der(tst_der.as_bytes()).map_err(|e| format!("TSTInfo: {e}"))?;
    if tst.message_imprint.hash_algorithm.oid != ID_SHA256
        || tst.message_imprint.hashed_message.as_bytes() != Sha256::digest(signature_value).as_slice()
    {
        return Err("the time-stamp is over something else".into());
    }
    check_signer(&sd, &Sha256::digest(tst_der.as_bytes()))?;
    let t = tst.gen_time.to_date_time();
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minutes(),
        t.seconds()
    ))
}

/// Checks the last embedded signature of a PDF; `Ok(None)` when it has none.
pub fn verify(pdf: &[u8]) -> Result<Option<EmbeddedSignature>, String> {
    let Some((r, contents, sub_filter)) = byte_range(pdf)? else { return Ok(None) };
    let mut h = Sha256::new();
    h.update(&pdf[..r[1]]);
    h.update(&pdf[r[2]..]);
    let digest = h.finalize();
    // The hex string is zero-padded after the DER value: read one value and ignore the rest.
    let mut reader = SliceReader::new(&contents).map_err(|e| e.to_string())?;
    let ci = cms::content_info::ContentInfo::decode(&mut reader).map_err(|e| format!("ContentInfo: {e}"))?;
    let sd = cades::signed_data(&ci.to_der().map_err(|e| e.to_string())?)?;
    let (ess, signer, fp, stamp) = match check_signer(&sd, &digest) {
        Ok((info, cert)) => {
            let stamp = info
                .unsigned_attrs
                .as_ref()
                .and_then(|u| u.iter().find(|a| a.oid == ID_SIGNATURE_TIME_STAMP))
                .and_then(|a| a.values.iter().next())
                .map(|t| {
                    t.to_der().map_err(|e| e.to_string()).and_then(|d| check_time_stamp(&d, info.signature.as_bytes()))
                })
                .transpose()?;
            let has_ess = attr_value(info, ID_SIGNING_CERTIFICATE_V2).is_some();
            let fp = hex::encode(Sha256::digest(cert.to_der().map_err(|e| e.to_string())?));
            (has_ess, cert.tbs_certificate.subject.to_string(), fp, stamp)
        }
        Err(e) => return Err(e),
    };
    Ok(Some(EmbeddedSignature {
        sub_filter,
        signing_certificate_v2: ess,
        signer,
        certificate_sha256: fp,
        time_stamped: stamp.is_some(),
        time_stamp: stamp,
    }))
}
