//! What a refusal says beyond its code: the key of a text in `locales/*.toml` and the values of
//! its placeholders, rendered in the reader's language when the message is (the API in English,
//! a page in the reader's). Written with [`detail!`](crate::detail):
//! `detail!("detail.evacuation.unknown_town_area", id = id)`.

use std::borrow::Cow;
use std::fmt;

use kencho_core::check::Finding;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    key: Cow<'static, str>,
    args: Vec<(&'static str, Value)>,
}

/// A placeholder's value: a text as it is (a number, a name, what the reader typed), or a
/// detail of its own, rendered in the same language (a state's label, what is wrong on line 3).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    Detail(Box<Detail>),
    /// Details one after the other, with what separates them.
    List(Vec<Detail>, &'static str),
}

impl Detail {
    pub fn new(key: &'static str) -> Detail {
        Detail { key: Cow::Borrowed(key), args: Vec::new() }
    }

    /// The detail of a kencho-core refusal that has a stable code and no values:
    /// `detail.<code>` in the locales.
    pub fn of_code(code: &'static str) -> Detail {
        Detail::of_key(format!("detail.{code}"))
    }

    /// A text whose key is made at run time (`pay.refund_state_<state>`).
    pub fn of_key(key: String) -> Detail {
        Detail { key: Cow::Owned(key), args: Vec::new() }
    }

    /// What a check of a document found: each finding as `where: what is wrong`, in the
    /// reader's language (`check.<code>` in the locales).
    pub fn findings(findings: &[Finding], separator: &'static str) -> Detail {
        Detail::list(findings.iter().map(Detail::from).collect(), separator)
    }

    /// Details one after the other, each in the reader's language.
    pub fn list(details: Vec<Detail>, separator: &'static str) -> Detail {
        Detail::new("detail.problems").arg_list("problems", details, separator)
    }

    /// The value of `{name}`: details one after the other, each in the reader's language.
    pub fn arg_list(mut self, name: &'static str, details: Vec<Detail>, separator: &'static str) -> Detail {
        self.args.push((name, Value::List(details, separator)));
        self
    }

    /// `where: what is wrong` (a field, a line, a path in a document).
    pub fn at(at: &str, what: Detail) -> Detail {
        Detail::new("detail.finding").arg("at", at).arg_detail("what", what)
    }

    pub fn arg(mut self, name: &'static str, value: impl fmt::Display) -> Detail {
        self.args.push((name, Value::Text(value.to_string())));
        self
    }

    /// A placeholder whose value is another detail, in the language of the whole.
    pub fn arg_detail(mut self, name: &'static str, value: Detail) -> Detail {
        self.args.push((name, Value::Detail(Box::new(value))));
        self
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn text(&self, lang: &str) -> String {
        let values: Vec<Cow<'_, str>> = self
            .args
            .iter()
            .map(|(_, v)| match v {
                Value::Text(t) => Cow::Borrowed(t.as_str()),
                Value::Detail(d) => Cow::Owned(d.text(lang)),
                Value::List(list, separator) => {
                    Cow::Owned(list.iter().map(|d| d.text(lang)).collect::<Vec<_>>().join(separator))
                }
            })
            .collect();
        let args: Vec<(&str, &str)> = self.args.iter().zip(&values).map(|((k, _), v)| (*k, v.as_ref())).collect();
        crate::i18n::tf(lang, &self.key, &args)
    }
}

/// A finding as `where: what is wrong` (`check.<code>`), or only what is wrong for the document
/// as a whole.
impl From<&Finding> for Detail {
    fn from(f: &Finding) -> Detail {
        let what = f.args.iter().fold(Detail::of_key(format!("check.{}", f.code)), |d, (k, v)| d.arg(k, v));
        if f.at.is_empty() {
            what
        } else {
            Detail::at(&f.at, what)
        }
    }
}

/// The log's text: English, like the rest of the log.
impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text("en"))
    }
}

/// `detail!("key")` or `detail!("key", name = value, …)`: a [`Detail`] whose text is `key` in the
/// locales, its `{name}` placeholders filled with the values (anything `Display`).
#[macro_export]
macro_rules! detail {
    ($key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::error::Detail::new($key)$(.arg(stringify!($name), &$value))*
    };
}
