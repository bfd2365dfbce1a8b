//! Webhook signatures (Stripe guide: "Check the webhook signatures").

use super::*;

/// Checks a webhook's `Stripe-Signature` header (guide: "Check the webhook signatures",
/// verifying manually): `t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`. The expected signature is
/// HMAC-SHA256 keyed with the endpoint secret (`whsec_…`, used as is) over `"{t}.{payload}"`,
/// in hex; any `v1` may match (Stripe sends several while a secret is being rolled), and is
/// compared in constant time. Other schemes (`v0`, test-only) are ignored. The timestamp must
/// be within `tolerance_s` of `now_unix` either way (replay protection; Stripe's default is
/// [`DEFAULT_TOLERANCE_S`]). Never panics; a malformed header is an error.
pub fn verify_signature(
    header: &str,
    payload: &[u8],
    secret: &str,
    now_unix: i64,
    tolerance_s: i64,
) -> Result<(), StripeError> {
    let (t_text, t, sigs) = parse_signature_header(header)?;
    let mac = mac_for(secret, t_text, payload)?;
    if !sigs.iter().any(|s| mac.clone().verify_slice(s).is_ok()) {
        return Err(StripeError::SignatureMismatch);
    }
    if (i128::from(now_unix) - i128::from(t)).abs() > i128::from(tolerance_s) {
        return Err(StripeError::Timestamp { t, now: now_unix, tolerance_s });
    }
    Ok(())
}

/// A valid `Stripe-Signature` header for `payload` at time `t`, as Stripe would send it
/// (for tests, fixtures and the sandbox).
pub fn sign(payload: &[u8], secret: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn mac_for(secret: &str, t: &str, payload: &[u8]) -> Result<Hmac<Sha256>, StripeError> {
    if secret.is_empty() {
        return Err(StripeError::Secret);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| StripeError::Secret)?;
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(payload);
    Ok(mac)
}

/// The timestamp as sent (it is what was signed), its value and the decoded `v1` signatures.
fn parse_signature_header(header: &str) -> Result<(&str, i64, Vec<Vec<u8>>), StripeError> {
    let bad = |m: String| StripeError::Header(m);
    if header.trim().is_empty() {
        return Err(bad("empty".into()));
    }
    let mut t: Option<(&str, i64)> = None;
    let mut sigs = Vec::new();
    for item in header.split(',') {
        let item = item.trim();
        let Some((k, v)) = item.split_once('=') else {
            return Err(bad(format!("element {:?} is not key=value", truncate(item, 40))));
        };
        match k {
            "t" => {
                if t.is_some() {
                    return Err(bad("more than one t".into()));
                }
                let n = if !v.is_empty() && v.len() <= 18 && v.bytes().all(|b| b.is_ascii_digit()) {
                    v.parse::<i64>().ok()
                } else {
                    None
                };
                let Some(n) = n else {
                    return Err(bad(format!("t={:?} is not a Unix time", truncate(v, 40))));
                };
                t = Some((v, n));
            }
            "v1" => match hex::decode(v) {
                Ok(s) if s.len() == 32 => sigs.push(s),
                _ => return Err(bad("a v1 signature is not 64 hex digits".into())),
            },
            _ => {}
        }
    }
    let Some((t_text, t)) = t else { return Err(bad("no t= timestamp".into())) };
    if sigs.is_empty() {
        return Err(StripeError::NoSignature);
    }
    Ok((t_text, t, sigs))
}
