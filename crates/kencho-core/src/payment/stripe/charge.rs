//! Which charge a payment became. Stripe's balance reports name a payment by `charge_id` when
//! the report's columns leave `payment_intent_id` out, and a Checkout Session's events carry
//! only the PaymentIntent; the charge events (API reference: "The Charge object", fields `id`
//! `ch_…`/`py_…` and `payment_intent`) join the two.

use super::*;

/// A charge and the PaymentIntent it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeLink {
    pub charge_id: String,
    pub payment_intent: String,
}

/// The charge named by a (verified) webhook body of type `charge.*` whose object is a charge
/// with a PaymentIntent; `None` for any other event.
pub fn charge_link(payload: &[u8]) -> Result<Option<ChargeLink>, StripeError> {
    let v = parse_json(payload)?;
    let event_type = req_str(&v, "type")?;
    if !event_type.starts_with("charge.") || event_type.starts_with("charge.dispute.") {
        return Ok(None);
    }
    let Some(obj) = v.get("data").and_then(|d| d.get("object")).filter(|o| o.is_object()) else {
        return Err(StripeError::Field("data.object".into()));
    };
    if obj.get("object").and_then(Value::as_str) != Some("charge") {
        return Ok(None);
    }
    let charge_id = req_str(obj, "id")?;
    Ok(opt_id(obj, "payment_intent")?.map(|payment_intent| ChargeLink { charge_id, payment_intent }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_events_name_their_payment_intent() {
        let succeeded = br#"{"id":"evt_3Q","object":"event","type":"charge.succeeded","created":1764547200,
            "data":{"object":{"id":"ch_3QAbCdEfGh","object":"charge","amount":1200,"currency":"jpy",
            "payment_intent":"pi_3QAbCdEfGh","status":"succeeded","paid":true}}}"#;
        assert_eq!(
            charge_link(succeeded).unwrap(),
            Some(ChargeLink { charge_id: "ch_3QAbCdEfGh".into(), payment_intent: "pi_3QAbCdEfGh".into() })
        );
        // The payment_intent may come expanded.
        let expanded = br#"{"id":"evt_1","type":"charge.captured","created":1,
            "data":{"object":{"id":"py_1","object":"charge","payment_intent":{"id":"pi_9","object":"payment_intent"}}}}"#;
        assert_eq!(charge_link(expanded).unwrap().map(|l| l.payment_intent), Some("pi_9".into()));
        let session =
            br#"{"id":"evt_2","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1"}}}"#;
        assert_eq!(charge_link(session).unwrap(), None);
        let dispute = br#"{"id":"evt_4","type":"charge.dispute.created","created":1,"data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1"}}}"#;
        assert_eq!(charge_link(dispute).unwrap(), None);
        let no_pi = br#"{"id":"evt_5","type":"charge.succeeded","created":1,"data":{"object":{"id":"ch_2","object":"charge"}}}"#;
        assert_eq!(charge_link(no_pi).unwrap(), None);
        assert!(charge_link(br#"{"id":"evt_6","type":"charge.succeeded","created":1}"#).is_err());
    }
}
