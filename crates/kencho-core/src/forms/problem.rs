//! What can be wrong with an answer, as a reason with its values; the web layer words it in the
//! reader's language (locale key `problem.<code>`, the values as `{min}`, `{max}`).

use super::*;

/// What is wrong with one answer; rendered in the user's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    Required,
    TooShort { min: u32 },
    TooLong { max: u32 },
    Pattern { message: Option<String> },
    NotANumber,
    BelowMin { min: i64 },
    AboveMax { max: i64 },
    NotADate,
    DateBefore { min: String },
    DateAfter { max: String },
    NotKana,
    PostalCode,
    Prefecture,
    Phone,
    Email,
    UnknownOption,
    TooFewSelected { min: u32 },
    TooManyItems { max: u32 },
    TooFewItems { min: u32 },
    ControlCharacters,
    UnknownAttachment,
    NotAllowed,
}

impl Problem {
    /// The locale key of its text: `problem.` and the serialised `code`.
    pub fn key(&self) -> &'static str {
        match self {
            Problem::Required => "problem.required",
            Problem::TooShort { .. } => "problem.too_short",
            Problem::TooLong { .. } => "problem.too_long",
            Problem::Pattern { .. } => "problem.pattern",
            Problem::NotANumber => "problem.not_a_number",
            Problem::BelowMin { .. } => "problem.below_min",
            Problem::AboveMax { .. } => "problem.above_max",
            Problem::NotADate => "problem.not_a_date",
            Problem::DateBefore { .. } => "problem.date_before",
            Problem::DateAfter { .. } => "problem.date_after",
            Problem::NotKana => "problem.not_kana",
            Problem::PostalCode => "problem.postal_code",
            Problem::Prefecture => "problem.prefecture",
            Problem::Phone => "problem.phone",
            Problem::Email => "problem.email",
            Problem::UnknownOption => "problem.unknown_option",
            Problem::TooFewSelected { .. } => "problem.too_few_selected",
            Problem::TooManyItems { .. } => "problem.too_many_items",
            Problem::TooFewItems { .. } => "problem.too_few_items",
            Problem::ControlCharacters => "problem.control_characters",
            Problem::UnknownAttachment => "problem.unknown_attachment",
            Problem::NotAllowed => "problem.not_allowed",
        }
    }

    /// The values its text names, by placeholder.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            Problem::TooShort { min } | Problem::TooFewSelected { min } | Problem::TooFewItems { min } => {
                vec![("min", min.to_string())]
            }
            Problem::TooLong { max } | Problem::TooManyItems { max } => vec![("max", max.to_string())],
            Problem::BelowMin { min } => vec![("min", min.to_string())],
            Problem::AboveMax { max } => vec![("max", max.to_string())],
            Problem::DateBefore { min } => vec![("min", min.clone())],
            Problem::DateAfter { max } => vec![("max", max.clone())],
            _ => Vec::new(),
        }
    }

    /// The procedure author's own message for a pattern, which is shown as written instead of
    /// the text under `key()`.
    pub fn authors_message(&self) -> Option<&str> {
        match self {
            Problem::Pattern { message: Some(m) } => Some(m),
            _ => None,
        }
    }

    /// One of each variant, so that the web layer can check every one has its text.
    pub fn one_of_each() -> Vec<Problem> {
        vec![
            Problem::Required,
            Problem::TooShort { min: 2 },
            Problem::TooLong { max: 20 },
            Problem::Pattern { message: None },
            Problem::NotANumber,
            Problem::BelowMin { min: 1 },
            Problem::AboveMax { max: 9 },
            Problem::NotADate,
            Problem::DateBefore { min: "2024-04-01".into() },
            Problem::DateAfter { max: "2025-03-31".into() },
            Problem::NotKana,
            Problem::PostalCode,
            Problem::Prefecture,
            Problem::Phone,
            Problem::Email,
            Problem::UnknownOption,
            Problem::TooFewSelected { min: 1 },
            Problem::TooManyItems { max: 5 },
            Problem::TooFewItems { min: 1 },
            Problem::ControlCharacters,
            Problem::UnknownAttachment,
            Problem::NotAllowed,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Exhaustive on purpose: a new variant does not compile until it gets the next number here,
    /// and then `one_of_each_covers_every_variant` fails until it is in `one_of_each`.
    fn ordinal(p: &Problem) -> usize {
        match p {
            Problem::Required => 0,
            Problem::TooShort { .. } => 1,
            Problem::TooLong { .. } => 2,
            Problem::Pattern { .. } => 3,
            Problem::NotANumber => 4,
            Problem::BelowMin { .. } => 5,
            Problem::AboveMax { .. } => 6,
            Problem::NotADate => 7,
            Problem::DateBefore { .. } => 8,
            Problem::DateAfter { .. } => 9,
            Problem::NotKana => 10,
            Problem::PostalCode => 11,
            Problem::Prefecture => 12,
            Problem::Phone => 13,
            Problem::Email => 14,
            Problem::UnknownOption => 15,
            Problem::TooFewSelected { .. } => 16,
            Problem::TooManyItems { .. } => 17,
            Problem::TooFewItems { .. } => 18,
            Problem::ControlCharacters => 19,
            Problem::UnknownAttachment => 20,
            Problem::NotAllowed => 21,
        }
    }
    const VARIANTS: usize = 22;

    #[test]
    fn one_of_each_covers_every_variant() {
        let seen: Vec<usize> = Problem::one_of_each().iter().map(ordinal).collect();
        assert_eq!(seen, (0..VARIANTS).collect::<Vec<_>>());
    }

    #[test]
    fn the_key_is_the_serialised_code() {
        for p in Problem::one_of_each() {
            let code = serde_json::to_value(&p).unwrap()["code"].as_str().unwrap().to_string();
            assert_eq!(p.key(), format!("problem.{code}"));
        }
    }

    proptest! {
        /// A limit reaches the text as its placeholder, whatever its value.
        #[test]
        fn limits_are_named_by_their_placeholder(n in any::<u32>(), i in any::<i64>(), d in "[0-9-]{0,12}") {
            let cases = [
                (Problem::TooShort { min: n }, "min", n.to_string()),
                (Problem::TooLong { max: n }, "max", n.to_string()),
                (Problem::BelowMin { min: i }, "min", i.to_string()),
                (Problem::AboveMax { max: i }, "max", i.to_string()),
                (Problem::DateBefore { min: d.clone() }, "min", d.clone()),
                (Problem::DateAfter { max: d.clone() }, "max", d.clone()),
                (Problem::TooFewSelected { min: n }, "min", n.to_string()),
                (Problem::TooManyItems { max: n }, "max", n.to_string()),
                (Problem::TooFewItems { min: n }, "min", n.to_string()),
            ];
            for (p, name, value) in cases {
                prop_assert_eq!(p.args(), vec![(name, value)]);
            }
        }
    }
}
