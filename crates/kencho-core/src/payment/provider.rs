//! Who takes a payment: a provider kencho talks to (the sandbox, Stripe) or the counter, where
//! the 出納員 takes cash. Stored and answered by its name (`as_str`); any other name is refused
//! when it is read back, never passed along as text.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// The built-in test provider (demo and tests only).
    Sandbox,
    Stripe,
    /// Cash at the counter (窓口), recorded by the 出納員.
    Counter,
}

impl Provider {
    /// The providers the 長 can designate as 指定納付受託者 (the counter is the 会計管理者's own).
    pub const DESIGNABLE: [Provider; 2] = [Provider::Sandbox, Provider::Stripe];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Sandbox => "sandbox",
            Provider::Stripe => "stripe",
            Provider::Counter => "counter",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        [Provider::Sandbox, Provider::Stripe, Provider::Counter].into_iter().find(|p| p.as_str() == s)
    }

    /// A provider that can be designated, by name.
    pub fn designable(s: &str) -> Option<Provider> {
        Provider::DESIGNABLE.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for p in [Provider::Sandbox, Provider::Stripe, Provider::Counter] {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Provider::parse(""), None);
        assert_eq!(Provider::parse("Stripe"), None);
        assert_eq!(Provider::designable("counter"), None);
    }
}
