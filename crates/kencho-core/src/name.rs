//! Closed sets of names: a method, a role, a kind, each stored and sent as a stable snake_case
//! name. [`names!`](crate::names) gives an enum its names and the one way to read one back, so
//! a value is parsed where it comes in (a form, a JSON body, a row) and travels as the enum;
//! an unknown name is refused there, never compared as text further in.

use std::fmt;
use std::str::FromStr;

/// A text that is none of a set's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {set}")]
pub struct UnknownName {
    /// What the set is called ("payment method").
    pub set: &'static str,
    pub value: String,
}

impl UnknownName {
    pub fn new(set: &'static str, value: &str) -> UnknownName {
        // The value is echoed in messages and logs: a bounded piece of it is enough.
        UnknownName { set, value: value.chars().take(100).collect() }
    }
}

/// An enum whose values are a closed set of names (implemented by [`names!`](crate::names)).
pub trait Named: Copy + Eq + fmt::Debug + FromStr<Err = UnknownName> + 'static {
    /// What the set is called in an error.
    const SET: &'static str;
    /// Every value, in the order declared.
    fn all() -> &'static [Self];
    /// The value's name, as stored and sent.
    fn name(self) -> &'static str;
}

/// Gives an enum its names: `ALL`, `as_str` (stored and sent), `parse` (`None` for any other
/// text: no trimming, no case folding), `FromStr` and `TryFrom<&str>` with [`UnknownName`],
/// `Display` and [`Named`]. Serde stays derived on the enum with the same names, which
/// [`check_names`] holds a test to.
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// pub enum Light { Red, Green }
/// kencho_core::names!(Light, "light" { Red = "red", Green = "green" });
/// assert_eq!("red".parse::<Light>(), Ok(Light::Red));
/// assert_eq!(Light::parse("Red"), None);
/// ```
#[macro_export]
macro_rules! names {
    ($name:ident, $set:literal { $($v:ident = $k:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in the order declared.
            pub const ALL: [$name; [$($k),+].len()] = [$($name::$v),+];

            /// The name, as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $k,)+
                }
            }

            /// The value of a name; `None` for any other text.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($k => Some($name::$v),)+
                    _ => None,
                }
            }
        }

        impl $crate::name::Named for $name {
            const SET: &'static str = $set;
            fn all() -> &'static [$name] {
                &$name::ALL
            }
            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::name::UnknownName;
            fn from_str(s: &str) -> ::core::result::Result<$name, $crate::name::UnknownName> {
                $name::parse(s).ok_or_else(|| $crate::name::UnknownName::new($set, s))
            }
        }

        impl ::core::convert::TryFrom<&str> for $name {
            type Error = $crate::name::UnknownName;
            fn try_from(s: &str) -> ::core::result::Result<$name, $crate::name::UnknownName> {
                s.parse()
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// For tests: every value of `T` round-trips through its name, by `parse`, `FromStr` and
/// serde alike; the names are distinct snake_case; and near misses (empty, padded, upper
/// case, extended) are refused with an error that names the set. Panics on the first failure.
pub fn check_names<T>()
where
    T: Named + serde::Serialize + serde::de::DeserializeOwned,
{
    let all = T::all();
    assert!(!all.is_empty(), "{}: no values", T::SET);
    for (i, v) in all.iter().copied().enumerate() {
        let name = v.name();
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}: {name:?} is not snake_case",
            T::SET
        );
        assert!(all[..i].iter().all(|w| w.name() != name), "{}: {name:?} twice", T::SET);
        assert_eq!(name.parse::<T>(), Ok(v), "{}: {name:?}", T::SET);
        let quoted = format!("\"{name}\"");
        assert_eq!(serde_json::to_string(&v).ok().as_deref(), Some(quoted.as_str()), "{}: serde of {v:?}", T::SET);
        assert_eq!(serde_json::from_str::<T>(&quoted).ok(), Some(v), "{}: serde of {quoted}", T::SET);
        for near in [format!(" {name}"), format!("{name} "), name.to_uppercase(), format!("{name}x")] {
            refuses::<T>(&near);
        }
    }
    refuses::<T>("");
}

fn refuses<T: Named + serde::de::DeserializeOwned>(s: &str) {
    match s.parse::<T>() {
        Ok(v) => panic!("{}: {s:?} read as {v:?}", T::SET),
        Err(e) => {
            assert_eq!(e, UnknownName { set: T::SET, value: s.to_string() });
            assert!(e.to_string().contains(T::SET), "{e}");
        }
    }
    assert!(
        serde_json::from_str::<T>(&serde_json::Value::from(s).to_string()).is_err(),
        "{}: serde took {s:?}",
        T::SET
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Light {
        Red,
        AmberFlashing,
    }
    crate::names!(Light, "light" { Red = "red", AmberFlashing = "amber_flashing" });

    #[test]
    fn a_set_round_trips_and_refuses_the_rest() {
        check_names::<Light>();
        assert_eq!(Light::ALL, [Light::Red, Light::AmberFlashing]);
        assert_eq!(Light::try_from("amber_flashing"), Ok(Light::AmberFlashing));
        assert_eq!("blue".parse::<Light>().unwrap_err().to_string(), "\"blue\" is not a known light");
        assert_eq!(Light::Red.to_string(), "red");
    }

    #[test]
    fn an_unknown_name_is_kept_short() {
        let e = "x".repeat(1000).parse::<Light>().unwrap_err();
        assert_eq!(e.value.chars().count(), 100);
    }

    /// Whether `s` reads as a value of `T` exactly when it is that value's name.
    fn only_names<T: Named>(s: &str) -> bool {
        match s.parse::<T>() {
            Ok(v) => v.name() == s,
            Err(_) => T::all().iter().all(|v| v.name() != s),
        }
    }

    proptest! {
        #[test]
        fn only_a_name_parses(s in "\\PC{0,20}|[a-z_]{1,16}") {
            prop_assert!(only_names::<Light>(&s));
            prop_assert!(only_names::<crate::payment::method::PaymentMethod>(&s));
            prop_assert!(only_names::<crate::iot::wildlife::CaptureOutcome>(&s));
            prop_assert!(only_names::<crate::security::Scope>(&s));
            prop_assert!(only_names::<crate::procedure::ApplicantKind>(&s));
            prop_assert!(only_names::<crate::notice::DocumentKind>(&s));
        }
    }
}
