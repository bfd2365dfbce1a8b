//! What checking a document whole found (a definition an office uploads: the fee schedule …):
//! each problem says where it is (`items[1].amount`, a line), what is wrong as a stable code,
//! and the values its text needs. The words are the server's (`check.<code>` in its locales);
//! the core only decides.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: &'static str,
    pub at: String,
    pub args: Vec<(&'static str, String)>,
}

impl Finding {
    pub fn new(code: &'static str, at: impl Into<String>) -> Finding {
        Finding { code, at: at.into(), args: Vec::new() }
    }

    /// The value of the text's `{name}`.
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Finding {
        self.args.push((name, value.to_string()));
        self
    }

    /// The same, found at `at`.
    pub fn at(mut self, at: impl Into<String>) -> Finding {
        self.at = at.into();
        self
    }

    /// A document that cannot be read at all: the reader's own message, as it is.
    pub fn unreadable(message: impl fmt::Display) -> Finding {
        Finding::new("unreadable", "").with("message", message)
    }
}

/// `where: code (name = value, …)`: for logs and tests; readers get the locales' words.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.at.is_empty() {
            write!(f, "{}: ", self.at)?;
        }
        f.write_str(self.code)?;
        for (i, (name, value)) in self.args.iter().enumerate() {
            write!(f, "{}{name} = {value}", if i == 0 { " (" } else { ", " })?;
        }
        if !self.args.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_keeps_where_what_and_its_values() {
        let f = Finding::new("listed_twice", "items[1].code").with("code", "shomei");
        assert_eq!((f.code, f.at.as_str()), ("listed_twice", "items[1].code"));
        assert_eq!(f.args, vec![("code", "shomei".to_string())]);
        assert_eq!(Finding::unreadable("bad toml").at, "");
        assert_eq!(f.to_string(), "items[1].code: listed_twice (code = shomei)");
        assert_eq!(Finding::new("fee_ordinance", "").to_string(), "fee_ordinance");
    }
}
