//! What an API token may do. Every token has one scope and an expiry.

use serde::{Deserialize, Serialize};

/// An API token's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Acts as the staff member who made it, with everything that member may do.
    Staff,
    /// Acts as the staff member, but only reads (GET).
    Read,
    /// A network server's integration credential: may only post IoT uplinks, and only for the
    /// tenant's own devices. It is nobody's account.
    IotUplink,
}

crate::names!(Scope, "token scope" { Staff = "staff", Read = "read", IotUplink = "iot_uplink" });

impl Scope {
    /// Longest life, in days, a token of this scope may be given.
    pub fn max_days(self) -> i64 {
        match self {
            Scope::Staff | Scope::Read => 365,
            // A network server is configured once; a year-long credential still expires.
            Scope::IotUplink => 730,
        }
    }

    pub fn default_days(self) -> i64 {
        match self {
            Scope::Staff | Scope::Read => 90,
            Scope::IotUplink => 365,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints() {
        crate::name::check_names::<Scope>();
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert!(s.default_days() <= s.max_days());
        }
        assert_eq!(Scope::parse("admin"), None);
    }
}
