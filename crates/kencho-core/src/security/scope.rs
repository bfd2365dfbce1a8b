//! What an API token may do. Every token has one scope and an expiry.

use std::fmt;

/// An API token's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Acts as the staff member who made it, with everything that member may do.
    Staff,
    /// Acts as the staff member, but only reads (GET).
    Read,
    /// A network server's integration credential: may only post IoT uplinks, and only for the
    /// tenant's own devices. It is nobody's account.
    IotUplink,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Staff, Scope::Read, Scope::IotUplink];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Staff => "staff",
            Scope::Read => "read",
            Scope::IotUplink => "iot_uplink",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

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

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert!(s.default_days() <= s.max_days());
        }
        assert_eq!(Scope::parse("admin"), None);
    }
}
