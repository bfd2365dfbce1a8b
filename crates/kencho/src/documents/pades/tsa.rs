//! An RFC 3161 time-stamp client over HTTP (RFC 3161 §3.4: POST of a DER TimeStampReq as
//! `application/timestamp-query`, answer `application/timestamp-reply`). The token is
//! checked before use: status granted, the imprint and nonce ours, and signed by the TSA over
//! its TSTInfo ([`super::verify::check_time_stamp`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use crate::error::AppError;

/// How long a TSA may take before the document is refused (a notice without its time-stamp
/// is not issued: the office configured B-T).
const TIMEOUT: Duration = Duration::from_secs(20);

/// A time-stamp reply is a few kilobytes (the token and the TSA's certificates).
const MAX_REPLY: usize = 64 * 1024;

fn failed(detail: impl Into<String>) -> AppError {
    AppError::Certificate("tsa_failed", detail.into())
}

/// Whether a TSA may be in a private, loopback or link-local network. A tenant's administrator
/// names the TSA; without the operator's say-so (`serve --tsa-private-network`, or `--demo`)
/// kencho will not send requests from the server to its own neighbours (databases, metadata
/// services) on their behalf. One setting for the whole process, set at start.
static PRIVATE_NETWORK: AtomicBool = AtomicBool::new(false);

pub fn allow_private_network(on: bool) {
    PRIVATE_NETWORK.store(on, Ordering::Relaxed);
}

/// An address on the public Internet (not loopback, private, shared, link-local, unique-local,
/// documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || first == 0x2001 && v6.segments()[1] == 0x0db8)
            }
        },
    }
}

/// Resolves the TSA's host and keeps one address it may reach; the request then goes to that
/// very address (a second lookup could answer differently).
async fn reachable(url: &reqwest::Url) -> Result<(String, SocketAddr), AppError> {
    let host = url.host_str().ok_or_else(|| failed("no host"))?.to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| failed(format!("{host}: {e}")))?
        .collect();
    let private_ok = PRIVATE_NETWORK.load(Ordering::Relaxed);
    match addrs.into_iter().find(|a| private_ok || is_public(a.ip())) {
        Some(a) => Ok((host, a)),
        None => Err(failed(format!("{host} is not on the public Internet (serve --tsa-private-network allows it)"))),
    }
}

/// Checks a configured TSA URL: absolute http(s).
pub fn check_url(url: &str) -> Result<(), AppError> {
    // No user name or password in the URL: it is stored, audited and shown as it is.
    let ok = reqwest::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && u.username().is_empty()
            && u.password().is_none()
    });
    if ok && url.len() <= 500 {
        Ok(())
    } else {
        Err(AppError::Certificate("tsa_url_invalid", url.chars().take(100).collect()))
    }
}

/// The DER TimeStampReq for a signature value, with a random 64-bit nonce.
fn request(signature_value: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AppError> {
    let mut nonce = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    nonce[0] &= 0x7f; // a positive INTEGER
    nonce[0] |= 0x01; // and no leading zero byte to strip
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier { oid: super::cades::ID_SHA256, parameters: None },
            hashed_message: OctetString::new(Sha256::digest(signature_value).to_vec()).map_err(AppError::unexpected)?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce).map_err(AppError::unexpected)?),
        // The token carries the TSA's certificate, so validators can check it.
        cert_req: true,
        extensions: None,
    };
    Ok((req.to_der().map_err(AppError::unexpected)?, nonce.to_vec()))
}

/// Asks the TSA at `url` to stamp `signature_value`; returns the token (ContentInfo, DER).
pub async fn time_stamp(url: &str, signature_value: &[u8]) -> Result<Vec<u8>, AppError> {
    let (req, nonce) = request(signature_value)?;
    // The URL is the administrator's; where it points is not followed elsewhere, and what it
    // answers is read only up to a size a time-stamp token never reaches.
    let parsed = reqwest::Url::parse(url).map_err(|e| failed(format!("{url}: {e}")))?;
    let (host, addr) = reachable(&parsed).await?;
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, addr)
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let mut res = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
        .body(req)
        .send()
        .await
        .map_err(|e| failed(format!("{url}: {e}")))?;
    if !res.status().is_success() {
        return Err(failed(format!("{url}: HTTP {}", res.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| failed(format!("{url}: {e}")))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_REPLY {
            return Err(failed(format!("{url}: the reply exceeds {MAX_REPLY} bytes")));
        }
    }
    token_from_reply(&body, signature_value, &nonce)
}

/// Checks a TimeStampResp and takes its token out.
pub fn token_from_reply(body: &[u8], signature_value: &[u8], nonce: &[u8]) -> Result<Vec<u8>, AppError> {
    let resp = TimeStampResp::from_der(body).map_err(|e| failed(format!("not a TimeStampResp: {e}")))?;
    use cmpv2::status::PkiStatus;
    if !matches!(resp.status.status, PkiStatus::Accepted | PkiStatus::GrantedWithMods) {
        return Err(failed(format!("the TSA refused: {:?}", resp.status.status)));
    }
    let token = resp.time_stamp_token.ok_or_else(|| failed("granted without a token"))?;
    let der = token.to_der().map_err(|e| failed(e.to_string()))?;
    super::verify::check_time_stamp(&der, signature_value).map_err(failed)?;
    // RFC 3161 §2.4.2: the nonce must come back as sent.
    let sd = super::cades::signed_data(&der).map_err(failed)?;
    let tst = sd
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|c| c.decode_as::<OctetString>().ok())
        .and_then(|o| x509_tsp::TstInfo::from_der(o.as_bytes()).ok())
        .ok_or_else(|| failed("no TSTInfo"))?;
    if tst.nonce.as_ref().map(|n| n.as_bytes()) != Some(nonce) {
        return Err(failed("the nonce does not match"));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["133.242.0.1", "8.8.8.8", "2001:4860:4860::8888"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_tsa_next_to_the_server_is_refused_unless_the_operator_allows_it() {
        // The process default (no --tsa-private-network): nothing is sent to the neighbours.
        let url = reqwest::Url::parse("http://127.0.0.1:5432/tsa").unwrap();
        let err = reachable(&url).await.expect_err("loopback refused");
        assert_eq!(err.code(), "tsa_failed");
    }
}
