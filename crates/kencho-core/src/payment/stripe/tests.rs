//! Tests of the Stripe mapping against recorded fixtures (moved from `stripe.rs`; only the
//! fixture path changed, to one from the crate root).

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;
use crate::check::Finding;
use crate::payment::ledger::{Applied, Ledger};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stripe/", $name))
    };
}

const SECRET: &str = "whsec_kencho_test_secret";
const SESSION: &str = "cs_test_a1kencho0000000000000000000000000000000000000000001";
const PI: &str = "pi_3KenchoPaymentIntent0001";

fn request() -> CheckoutRequest {
    CheckoutRequest {
        payment_id: 42,
        product_name: "住民票の写し".into(),
        unit_amount: 400,
        quantity: 3,
        success_url: "https://kencho.example.jp/pay/42/done?session_id={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "https://kencho.example.jp/pay/42/cancel".into(),
        client_reference_id: "APP-2025-000123".into(),
        expires_at: 1_750_003_600,
        now_unix: 1_750_000_000,
        payment_method_types: vec!["card".into(), "konbini".into(), "paypay".into()],
    }
}

fn one(payload: &[u8]) -> StripeEvent {
    let mut v = parse_event(payload).expect("parses");
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

#[test]
fn checkout_form_has_every_parameter() {
    let f = checkout_session_form(&request()).expect("valid");
    let m: HashMap<&str, &str> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(m["mode"], "payment");
    assert_eq!(m["line_items[0][price_data][currency]"], "jpy");
    assert_eq!(m["line_items[0][price_data][unit_amount]"], "400");
    assert_eq!(m["line_items[0][price_data][product_data][name]"], "住民票の写し");
    assert_eq!(m["line_items[0][quantity]"], "3");
    assert_eq!(m["client_reference_id"], "APP-2025-000123");
    assert_eq!(m["metadata[payment_id]"], "42");
    assert_eq!(m["payment_intent_data[metadata][payment_id]"], "42");
    assert_eq!(m["expires_at"], "1750003600");
    assert_eq!(m["payment_method_types[0]"], "card");
    assert_eq!(m["payment_method_types[2]"], "paypay");
    let body = form_encode(&f);
    assert!(body.starts_with("mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=jpy&"));
    assert!(body.contains(
        "success_url=https%3A%2F%2Fkencho.example.jp%2Fpay%2F42%2Fdone%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D"
    ));
    // No types configured: none sent, Stripe uses the Dashboard's.
    let f = checkout_session_form(&CheckoutRequest { payment_method_types: vec![], ..request() }).expect("valid");
    assert!(!f.iter().any(|(k, _)| k.starts_with("payment_method_types")));
}

#[test]
fn checkout_form_refuses_what_stripe_would() {
    let now = 1_750_000_000;
    for (ahead, ok) in [(29 * 60 + 59, false), (30 * 60, true), (24 * 3600, true), (24 * 3600 + 1, false), (-5, false)]
    {
        let r = checkout_session_form(&CheckoutRequest { expires_at: now + ahead, now_unix: now, ..request() });
        assert_eq!(r.is_ok(), ok, "{ahead}: {r:?}");
    }
    let bad = [
        CheckoutRequest { unit_amount: 0, ..request() },
        CheckoutRequest { quantity: 0, ..request() },
        CheckoutRequest { product_name: " ".into(), ..request() },
        CheckoutRequest { success_url: "/relative".into(), ..request() },
        CheckoutRequest { payment_method_types: vec!["alipay".into()], ..request() },
        CheckoutRequest { payment_method_types: vec!["card".into(), "card".into()], ..request() },
        CheckoutRequest { expires_at: i64::MAX, now_unix: i64::MIN, ..request() },
    ];
    for r in bad {
        assert!(matches!(checkout_session_form(&r), Err(StripeError::Request(_))), "{r:?}");
    }
}

#[test]
fn idempotency_keys_are_stable_per_attempt() {
    assert_eq!(idempotency_key(42, 1), idempotency_key(42, 1));
    assert_ne!(idempotency_key(42, 1), idempotency_key(42, 2));
    assert_ne!(idempotency_key(4, 21), idempotency_key(42, 1));
    assert_eq!(refund_idempotency_key(8), "kencho-refund-8");
}

#[test]
fn reads_the_created_session() {
    let s = parse_checkout_session(fixture!("checkout_session_create_response.json")).expect("parses");
    assert_eq!(s.id, SESSION);
    assert!(s.url.as_deref().is_some_and(|u| u.starts_with("https://checkout.stripe.com/")));
    assert_eq!((s.expires_at, s.payment_status.as_str(), s.status.as_deref()), (1_750_003_600, "unpaid", Some("open")));
    assert_eq!((s.payment_intent, s.amount_total, s.currency.as_deref()), (None, Some(1200), Some("jpy")));
    let err = br#"{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","message":"Invalid integer: x","param":"expires_at"}}"#;
    let e = parse_checkout_session(err).expect_err("an error body");
    assert!(
        matches!(&e, StripeError::Api { kind, code: Some(c), .. } if kind == "invalid_request_error" && c == "parameter_invalid_integer")
    );
    assert!(e.to_string().contains("Invalid integer"));
    assert!(matches!(parse_checkout_session(b"[]"), Err(StripeError::Json(_))));
    assert!(matches!(parse_checkout_session(br#"{"id":"cs_1"}"#), Err(StripeError::Field(_))));
}

#[test]
fn refund_form_and_response() {
    let f = refund_form(PI, 300, &"あ".repeat(600), 7);
    assert_eq!(f[0], ("payment_intent".into(), PI.into()));
    assert_eq!(f[1], ("amount".into(), "300".into()));
    assert_eq!(f[2], ("metadata[kencho_refund_id]".into(), "7".into()));
    assert_eq!(f[3].1.chars().count(), 500);
    let r = parse_refund(fixture!("refund_create_response.json")).expect("parses");
    assert_eq!(
        r,
        Refund {
            id: "re_3KenchoRefund0000000001".into(),
            amount: 300,
            status: "succeeded".into(),
            payment_intent: Some(PI.into())
        }
    );
    assert!(matches!(parse_refund(br#"{"id":"re_1","amount":3,"currency":"usd"}"#), Err(StripeError::Currency(_))));
}

#[test]
fn signatures() {
    let payload = fixture!("evt_checkout_session_completed_paid.json");
    let t = 1_750_000_900;
    let h = sign(payload, SECRET, t);
    assert!(h.starts_with("t=1750000900,v1="));
    assert_eq!(verify_signature(&h, payload, SECRET, t + 10, DEFAULT_TOLERANCE_S), Ok(()));
    // Clock skew both ways.
    assert_eq!(verify_signature(&h, payload, SECRET, t - 300, 300), Ok(()));
    assert!(matches!(verify_signature(&h, payload, SECRET, t + 301, 300), Err(StripeError::Timestamp { .. })));
    assert!(matches!(verify_signature(&h, payload, SECRET, t - 301, 300), Err(StripeError::Timestamp { .. })));
    // One changed byte.
    let mut changed = payload.to_vec();
    changed[40] ^= 1;
    assert_eq!(verify_signature(&h, &changed, SECRET, t, 300), Err(StripeError::SignatureMismatch));
    assert_eq!(verify_signature(&h, payload, "whsec_other", t, 300), Err(StripeError::SignatureMismatch));
    // A replayed header with a newer t does not verify.
    let replay = h.replacen("t=1750000900", "t=1750000999", 1);
    assert_eq!(verify_signature(&replay, payload, SECRET, 1_750_000_999, 300), Err(StripeError::SignatureMismatch));
    // Several v1 (secret being rolled), the second matches; v0 and unknown schemes ignored.
    let good = h.split_once(",v1=").expect("v1").1;
    let multi = format!("t={t},v1={},v1={good},v0={}", "0".repeat(64), "ab".repeat(32));
    assert_eq!(verify_signature(&multi, payload, SECRET, t, 300), Ok(()));
    let spaced = format!("t={t}, v1={good}, scheme2=x");
    assert_eq!(verify_signature(&spaced, payload, SECRET, t, 300), Ok(()));
    // Garbage.
    for g in [
        "".to_string(),
        "   ".into(),
        "garbage".into(),
        format!("v1={good}"),
        format!("t=abc,v1={good}"),
        format!("t=-5,v1={good}"),
        format!("t={t},t={t},v1={good}"),
        format!("t={t},v1=xyz"),
        format!("t={t},v1={}", &good[..63]),
        "t=99999999999999999999999,v1=00".into(),
    ] {
        assert!(matches!(verify_signature(&g, payload, SECRET, t, 300), Err(StripeError::Header(_))), "{g:?}");
    }
    assert_eq!(verify_signature(&format!("t={t},v0={good}"), payload, SECRET, t, 300), Err(StripeError::NoSignature));
    assert_eq!(verify_signature(&h, payload, "", t, 300), Err(StripeError::Secret));
}

#[test]
fn checkout_events() {
    let e = one(fixture!("evt_checkout_session_completed_paid.json"));
    assert_eq!((e.event_id.as_str(), e.at_unix), ("evt_1KenchoCompleted0000001", 1_750_000_900));
    assert_eq!(e.kind, EventKind::Paid { amount: 1200 });
    assert_eq!(
        e.refs,
        StripeRef {
            session: Some(SESSION.into()),
            payment_intent: Some(PI.into()),
            payment_id: Some(42),
            refund_id: None
        }
    );
    let p = e.resolve(|_| unreachable!("a session event names its session")).expect("resolved");
    assert_eq!(p.payment_ref, SESSION);

    let e = one(fixture!("evt_checkout_session_completed_unpaid.json"));
    assert_eq!(e.kind, EventKind::Pending);
    let e = one(fixture!("evt_checkout_session_async_payment_succeeded.json"));
    assert_eq!((e.kind, e.refs.payment_id), (EventKind::Paid { amount: 300 }, Some(43)));
    let e = one(fixture!("evt_checkout_session_async_payment_failed.json"));
    assert!(matches!(e.kind, EventKind::Failed { .. }));
    assert_eq!(e.refs.payment_intent.as_deref(), Some("pi_3KenchoPaymentIntent0003"), "an expanded payment_intent");
    let e = one(fixture!("evt_checkout_session_expired.json"));
    assert_eq!((e.kind, e.refs.payment_intent), (EventKind::Expired, None));
    assert_eq!(parse_event(fixture!("evt_unknown.json")), Ok(vec![]));
}

#[test]
fn refund_events() {
    let v = parse_event(fixture!("evt_charge_refunded.json")).expect("parses");
    let got: Vec<_> = v.iter().map(|e| (e.event_id.as_str(), &e.kind, e.refs.refund_id)).collect();
    assert_eq!(
        got,
        vec![
            (
                "evt_3KenchoChargeRefunded01:re_3KenchoRefund0000000002",
                &EventKind::Refunded { refund_ref: "re_3KenchoRefund0000000002".into(), amount: 400 },
                Some(8)
            ),
            (
                "evt_3KenchoChargeRefunded01:re_3KenchoRefund0000000001",
                &EventKind::Refunded { refund_ref: "re_3KenchoRefund0000000001".into(), amount: 300 },
                Some(7)
            ),
        ]
    );
    assert!(v.iter().all(|e| e.refs.session.is_none() && e.refs.payment_intent.as_deref() == Some(PI)));
    assert!(v[0].resolve(|_| None).is_none(), "unresolvable until the session is known");

    let e = one(fixture!("evt_refund_updated.json"));
    assert_eq!(e.kind, EventKind::Refunded { refund_ref: "re_3KenchoRefund0000000002".into(), amount: 400 });
    assert_eq!((e.refs.payment_intent.as_deref(), e.refs.refund_id), (Some(PI), Some(8)));

    // A pending refund is not money back yet; a charge without `refunds` (API 2022-11-15+)
    // yields nothing.
    let pending = String::from_utf8_lossy(fixture!("evt_refund_updated.json")).replace("\"succeeded\"", "\"pending\"");
    assert_eq!(parse_event(pending.as_bytes()), Ok(vec![]));
    let bare = br#"{"id":"evt_1","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","object":"charge","currency":"jpy","payment_intent":"pi_1","amount_refunded":100}}}"#;
    assert_eq!(parse_event(bare), Ok(vec![]));
}

#[test]
fn malformed_events_are_errors() {
    assert!(matches!(parse_event(b"not json"), Err(StripeError::Json(_))));
    assert!(matches!(parse_event(br#"{"id":"evt_1","type":"x","created":1}"#), Err(StripeError::Field(_))));
    let usd = br#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1","payment_status":"paid","amount_total":100,"currency":"usd"}}}"#;
    assert_eq!(parse_event(usd), Err(StripeError::Currency("usd".into())));
    let no_amount = br#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1","payment_status":"paid","currency":"jpy"}}}"#;
    assert_eq!(parse_event(no_amount), Err(StripeError::Field("amount_total".into())));
}

/// A webhook history as Stripe delivers it: the payment, the same webhook again, the
/// refunds (as one `charge.refunded`, delivered twice, and one `refund.updated`).
#[test]
fn end_to_end_into_the_ledger() {
    let t = 1_750_300_000;
    let deliveries: [&[u8]; 5] = [
        fixture!("evt_checkout_session_completed_paid.json"),
        fixture!("evt_checkout_session_completed_paid.json"),
        fixture!("evt_charge_refunded.json"),
        fixture!("evt_charge_refunded.json"),
        fixture!("evt_refund_updated.json"),
    ];
    let mut intents: HashMap<String, String> = HashMap::new();
    let mut ledger = Ledger::new(1200);
    let mut changed = 0;
    for body in deliveries {
        let header = sign(body, SECRET, t);
        verify_signature(&header, body, SECRET, t + 2, DEFAULT_TOLERANCE_S).expect("verifies");
        for e in parse_event(body).expect("parses") {
            if let (Some(s), Some(pi)) = (&e.refs.session, &e.refs.payment_intent) {
                intents.insert(pi.clone(), s.clone());
            }
            let p = e
                .resolve(|r| r.payment_intent.as_ref().and_then(|pi| intents.get(pi)).cloned())
                .expect("the session is known by now");
            assert_eq!(p.payment_ref, SESSION);
            if ledger.apply(&p) == Applied::Changed {
                changed += 1;
            }
        }
    }
    assert_eq!(changed, 3, "one payment, two refunds");
    assert_eq!((ledger.paid(), ledger.counted_refunds(), ledger.balance()), (1200, 700, 500));
}

#[test]
fn balance_report() {
    let text = String::from_utf8_lossy(fixture!("balance_report_itemized.csv"));
    let lines = parse_balance_report(&text).expect("parses");
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        SettlementLine {
            line: 2,
            balance_transaction_id: "txn_3KenchoCharge000000001".into(),
            provider_ref: PI.into(),
            charge_id: Some("ch_3KenchoCharge000000001".into()),
            category: "charge".into(),
            gross: 1200,
            fee: 43,
            net: 1157,
            created: "2025-06-15 15:21:30".into(),
            payout_id: Some("po_1KenchoPayout0000001".into()),
        }
    );
    assert_eq!((lines[1].gross, lines[1].fee, lines[1].net), (300, 11, 289));
    assert_eq!((lines[2].category.as_str(), lines[2].gross, lines[2].net), ("refund", -300, -300));
    assert_eq!((lines[3].line, lines[3].payout_id.as_deref()), (5, None));
    let refunded: i64 = lines.iter().filter(|l| l.provider_ref == PI && l.category == "refund").map(|l| -l.gross).sum();
    assert_eq!(refunded, 700);

    // Order-independent, BOM tolerated, `created` instead of `created_utc`, fallback refs.
    let text =
        "\u{feff}net,fee,gross,reporting_category,currency,created,charge_id\n96,4,100,charge,JPY,2025-06-01,ch_1\n";
    let l = parse_balance_report(text).expect("parses");
    assert_eq!((l[0].gross, l[0].fee, l[0].net, l[0].provider_ref.as_str()), (100, 4, 96, "ch_1"));
    assert_eq!(l[0].charge_id.as_deref(), Some("ch_1"));
    assert_eq!(
        parse_balance_report("currency,gross,fee,net,reporting_category,created_utc,payment_intent_id\n"),
        Ok(vec![])
    );
}

#[test]
fn balance_report_errors_name_the_line() {
    let head = "currency,gross,fee,net,reporting_category,created_utc,charge_id\n";
    let cases = [
        (
            format!("{head}jpy,1,0,1,charge,x,ch_1\njpy,100.50,0,100.50,charge,x,ch_2\n"),
            3,
            "report_fraction_of_yen",
            "gross",
        ),
        (format!("{head}usd,1,0,1,charge,x,ch_1\n"), 2, "report_not_jpy", ""),
        (format!("{head}jpy,1,0,1,charge,x,ch_1\njpy,1e3,0,1,charge,x,ch_2\n"), 3, "report_not_an_amount", "gross"),
        (format!("{head}jpy,,0,1,charge,x,ch_1\n"), 2, "report_not_an_amount", "gross"),
        (format!("{head}jpy,1,0,1,charge\n"), 2, "unreadable", ""),
        (format!("{head}jpy,1,99999999999999999999,1,charge,x,ch_1\n"), 2, "report_too_large", "fee"),
        ("gross,fee,net\n1,2,3\n".to_string(), 1, "report_missing_column", ""),
        ("currency,gross,fee,net,reporting_category\n".to_string(), 1, "report_missing_column_either", ""),
        ("currency,gross,fee,net,reporting_category,created_utc\n".to_string(), 1, "report_no_payment_column", ""),
        (String::new(), 1, "report_no_header", ""),
    ];
    for (text, line, code, at) in cases {
        match parse_balance_report(&text) {
            Err(StripeError::Report { line: l, problem }) => {
                assert_eq!((l, problem.code, problem.at.as_str()), (line, code, at), "{text:?}: {problem}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    let fraction = format!("{head}jpy,100.50,0,100.50,charge,x,ch_2\n");
    let Err(StripeError::Report { problem, .. }) = parse_balance_report(&fraction) else { panic!() };
    assert_eq!(problem, Finding::new("report_fraction_of_yen", "gross").with("value", "\"100.50\""));
    let Err(StripeError::Report { problem, .. }) = parse_balance_report("gross,fee,net\n1,2,3\n") else { panic!() };
    assert_eq!(problem, Finding::new("report_missing_column", "").with("column", "currency"));
    assert_eq!(yen("-0400.000"), Ok(-400));
    assert!(yen("4.").is_err() && yen("-").is_err() && yen(".5").is_err() && yen("+4").is_err());
}

#[test]
fn balance_report_of_100k_lines() {
    let mut text = String::from(
        "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,payment_intent_id\n",
    );
    for i in 0..100_000 {
        text.push_str(&format!("txn_{i},2025-06-01 00:00:00,jpy,{}.00,11.00,{}.00,charge,pi_{i}\n", 300 + i, 289 + i));
    }
    let start = std::time::Instant::now();
    let lines = parse_balance_report(&text).expect("parses");
    let took = start.elapsed();
    assert_eq!(lines.len(), 100_000);
    assert_eq!(lines[99_999].line, 100_001);
    assert_eq!(lines.iter().map(|l| l.gross - l.fee - l.net).sum::<i64>(), 0);
    assert!(took.as_secs() < 10, "took {took:?}");
}

proptest! {
    #[test]
    fn sign_then_verify(payload in prop::collection::vec(any::<u8>(), 0..512), secret in "[ -~]{1,40}", t in 0i64..4_000_000_000, skew in -300i64..=300) {
        let h = sign(&payload, &secret, t);
        prop_assert_eq!(verify_signature(&h, &payload, &secret, t + skew, 300), Ok(()));
    }

    #[test]
    fn verify_never_panics(header in ".{0,200}", payload in prop::collection::vec(any::<u8>(), 0..64), now in any::<i64>(), tol in any::<i64>()) {
        let _ = verify_signature(&header, &payload, SECRET, now, tol);
    }

    #[test]
    fn verify_never_panics_on_near_headers(t in "[-+0-9a]{0,22}", v in "[0-9a-fA-FxX]{0,70}", extra in "(,[a-z0-9]{0,3}=?[0-9a-f]{0,4}){0,3}") {
        let _ = verify_signature(&format!("t={t},v1={v}{extra}"), b"{}", SECRET, 0, 300);
    }

    #[test]
    fn parse_event_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_event(&bytes);
    }

    #[test]
    fn parse_event_never_panics_on_near_events(
        ty in prop::sample::select(vec!["checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed", "checkout.session.expired", "charge.refunded", "refund.updated", "refund.created", "x"]),
        status in prop::sample::select(vec!["\"paid\"", "\"unpaid\"", "\"succeeded\"", "null", "1", "{}", "[]"]),
        amount in prop::sample::select(vec!["1200", "-1", "1.5", "\"3\"", "null", "99999999999999999999"]),
        pi in prop::sample::select(vec!["\"pi_1\"", "{\"id\":\"pi_1\"}", "{}", "3", "null"]),
        refunds in prop::sample::select(vec!["null", "{}", "{\"data\":3}", "{\"data\":[{}]}", "{\"data\":[{\"id\":\"re_1\",\"amount\":5,\"status\":\"succeeded\"}]}"]),
    ) {
        let body = format!(r#"{{"id":"evt_1","type":"{ty}","created":1,"data":{{"object":{{"id":"x_1","payment_status":{status},"status":{status},"amount_total":{amount},"amount":{amount},"currency":"jpy","payment_intent":{pi},"refunds":{refunds},"metadata":{{"payment_id":"4"}}}}}}}}"#);
        let _ = parse_event(body.as_bytes());
    }

    #[test]
    fn parse_balance_report_never_panics(text in ".{0,400}") {
        let _ = parse_balance_report(&text);
        let _ = parse_balance_report(&format!("currency,gross,fee,net,reporting_category,created_utc\n{text}"));
    }

    #[test]
    fn yen_amounts_are_exact(n in -1_000_000_000_000i64..1_000_000_000_000, zeros in 0usize..4) {
        let frac = if zeros == 0 { String::new() } else { format!(".{}", "0".repeat(zeros)) };
        prop_assert_eq!(yen(&format!("{n}{frac}")), Ok(n));
        let cents = format!("{n}.01");
        prop_assert!(yen(&cents).is_err());
    }
}
