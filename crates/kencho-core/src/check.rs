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

    /// A TOML document that cannot be read: where (line and column, from the error's span) and
    /// the parser's message without its excerpt of the source.
    pub fn of_toml(text: &str, e: &toml::de::Error) -> Finding {
        let Some(span) = e.span() else { return Finding::unreadable(e.message()) };
        let start = (0..=span.start.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        Finding::new("unreadable_at", "").with("line", line).with("column", column).with("message", e.message())
    }

    /// A JSON document that cannot be read: where, and serde_json's message without the
    /// position it ends with.
    pub fn of_json(e: &serde_json::Error) -> Finding {
        let message = e.to_string();
        if e.line() == 0 {
            return Finding::unreadable(message);
        }
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        Finding::new("unreadable_at", "").with("line", e.line()).with("column", e.column()).with("message", message)
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
