//! How a resident pays: the method chosen at the provider (a card, a QR wallet, コンビニ払い,
//! PayPay) or cash at the counter. Stored on the payment, printed on its receipt and answered
//! by its name (`as_str`); a name kencho does not know is refused where it comes in.

use serde::{Deserialize, Serialize};

use crate::name::UnknownName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    /// A QR code wallet (the sandbox's).
    Qr,
    /// コンビニ払い (Stripe).
    Konbini,
    Paypay,
    /// Cash at the counter (窓口), recorded by the 出納員.
    Cash,
}

crate::names!(PaymentMethod, "payment method" {
    Card = "card",
    Qr = "qr",
    Konbini = "konbini",
    Paypay = "paypay",
    Cash = "cash",
});

impl PaymentMethod {
    /// What the sandbox provider offers.
    pub const SANDBOX: [PaymentMethod; 2] = [PaymentMethod::Card, PaymentMethod::Qr];

    /// Whether the money came in without cash changing hands (the cashless share counts these).
    pub fn is_cashless(self) -> bool {
        self != PaymentMethod::Cash
    }

    /// A list of methods as stored and entered, `card,qr` (spaces and empty entries ignored).
    pub fn read_list(s: &str) -> Result<Vec<PaymentMethod>, UnknownName> {
        s.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::parse).collect()
    }

    /// A list of methods as stored and shown: the inverse of [`PaymentMethod::read_list`].
    pub fn join(list: &[PaymentMethod]) -> String {
        list.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        crate::name::check_names::<PaymentMethod>();
        for m in crate::payment::stripe::PAYMENT_METHOD_TYPES.into_iter().chain(PaymentMethod::SANDBOX) {
            assert!(m.is_cashless(), "{m}");
        }
        assert_eq!(PaymentMethod::parse("PayPay"), None);
    }

    #[test]
    fn lists_read_back_what_they_write() {
        use PaymentMethod::*;
        assert_eq!(PaymentMethod::read_list(" card, qr ,,"), Ok(vec![Card, Qr]));
        assert_eq!(PaymentMethod::read_list(""), Ok(vec![]));
        assert_eq!(PaymentMethod::join(&[Card, Konbini, Paypay]), "card,konbini,paypay");
        assert_eq!(
            PaymentMethod::read_list(&PaymentMethod::join(&PaymentMethod::ALL)),
            Ok(PaymentMethod::ALL.to_vec())
        );
        let e = PaymentMethod::read_list("card,bitcoin").unwrap_err();
        assert_eq!(e.to_string(), "\"bitcoin\" is not a known payment method");
    }
}
