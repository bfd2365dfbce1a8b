//! Stripe: webhook events (`parse_event`), API responses (`parse_checkout_session`,
//! `parse_refund`), the itemized balance report CSV (`parse_balance_report`) and webhook
//! signatures (`verify_signature`, with the input's first line as the `Stripe-Signature`
//! header and the rest as the body). Invariants: a payload signed with `sign` verifies, and
//! fails once changed, with another secret or out of tolerance; events read from a webhook
//! keep a payment's ledger sane (balance never negative, refunds never above what was paid).
#![no_main]

use kencho_core::payment::ledger::{Ledger, State};
use kencho_core::payment::stripe::{
    parse_balance_report, parse_checkout_session, parse_event, parse_refund, sign, verify_signature, StripeError,
};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_fuzz";

fn signatures(data: &[u8]) {
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 1..]),
        None => (String::from_utf8_lossy(data), &[][..]),
    };
    let _ = verify_signature(&header, body, SECRET, 1_700_000_000, 300);
    let _ = verify_signature(&header, body, "", 1_700_000_000, 300);

    let t = 1_700_000_000 + i64::try_from(data.len()).unwrap_or(0);
    let signed = sign(data, SECRET, t);
    assert_eq!(verify_signature(&signed, data, SECRET, t, 300), Ok(()));
    let mut changed = data.to_vec();
    changed.push(b'x');
    assert_eq!(verify_signature(&signed, &changed, SECRET, t, 300), Err(StripeError::SignatureMismatch));
    assert_eq!(verify_signature(&signed, data, "whsec_other", t, 300), Err(StripeError::SignatureMismatch));
    assert!(matches!(verify_signature(&signed, data, SECRET, t + 301, 300), Err(StripeError::Timestamp { .. })));
}

fn ledger(data: &[u8]) {
    let Ok(events) = parse_event(data) else { return };
    let mut l = Ledger::new(400);
    for e in &events {
        let Some(pe) = e.resolve(|_| Some("cs_fuzz".into())) else { continue };
        let _ = l.apply(&pe).describe();
        assert!(l.balance() >= 0, "negative balance after {pe:?}");
        if l.state() == State::Paid {
            assert!(l.counted_refunds() <= l.paid(), "refunded more than paid after {pe:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    ledger(data);
    let _ = parse_checkout_session(data);
    let _ = parse_refund(data);
    if let Ok(lines) = parse_balance_report(&kencho_fuzz::text(data)) {
        assert!(lines.windows(2).all(|w| w[0].line < w[1].line), "report lines out of order");
    }
    signatures(data);
});
