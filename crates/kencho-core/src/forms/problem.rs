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

// Transitional, to be removed: the texts now live in kencho's locales (`problem.*`). The one
// caller left is `api_field_errors` in kencho's error.rs, which another change owns.
impl Problem {
    /// The message in `lang` (`en`, otherwise Japanese). A limit is both formatted; the
    /// messages are short, and one line per problem keeps the two languages side by side.
    pub fn message(&self, lang: &str) -> String {
        let en = lang == "en";
        match self {
            Problem::Required => t(en, "入力してください", "This is required"),
            Problem::TooShort { min } => {
                t(en, &format!("{min}文字以上で入力してください"), &format!("Enter at least {min} characters"))
            }
            Problem::TooLong { max } => {
                t(en, &format!("{max}文字以内で入力してください"), &format!("Enter at most {max} characters"))
            }
            Problem::Pattern { message } => match message {
                Some(m) => m.clone(),
                None => t(en, "形式が正しくありません", "The format is not valid"),
            },
            Problem::NotANumber => t(en, "半角または全角の数字で入力してください", "Enter a whole number"),
            Problem::BelowMin { min } => {
                t(en, &format!("{min}以上の数を入力してください"), &format!("Enter {min} or more"))
            }
            Problem::AboveMax { max } => {
                t(en, &format!("{max}以下の数を入力してください"), &format!("Enter {max} or less"))
            }
            Problem::NotADate => t(en, "正しい年月日を入力してください", "Enter a real date"),
            Problem::DateBefore { min } => {
                t(en, &format!("{min}以降の日付を入力してください"), &format!("Enter a date on or after {min}"))
            }
            Problem::DateAfter { max } => {
                t(en, &format!("{max}以前の日付を入力してください"), &format!("Enter a date on or before {max}"))
            }
            Problem::NotKana => {
                t(en, "ふりがなはひらがなまたはカタカナで入力してください", "Enter the reading in kana")
            }
            Problem::PostalCode => t(en, "郵便番号は7桁の数字で入力してください", "Enter a 7-digit postal code"),
            Problem::Prefecture => t(en, "都道府県を選んでください", "Choose a prefecture"),
            Problem::Phone => {
                t(en, "電話番号は10桁または11桁の数字で入力してください", "Enter a 10 or 11 digit phone number")
            }
            Problem::Email => t(en, "メールアドレスの形式が正しくありません", "Enter a valid e-mail address"),
            Problem::UnknownOption => t(en, "選択肢から選んでください", "Choose one of the options"),
            Problem::TooFewSelected { min } => {
                t(en, &format!("{min}つ以上選んでください"), &format!("Select at least {min}"))
            }
            Problem::TooManyItems { max } => {
                t(en, &format!("{max}件以内にしてください"), &format!("Add at most {max}"))
            }
            Problem::TooFewItems { min } => {
                t(en, &format!("{min}件以上入力してください"), &format!("Add at least {min}"))
            }
            Problem::ControlCharacters => {
                t(en, "使用できない文字が含まれています", "Contains characters that are not allowed")
            }
            Problem::UnknownAttachment => t(
                en,
                "添付ファイルが見つかりません。もう一度添付してください",
                "The attachment was not found; attach it again",
            ),
            Problem::NotAllowed => t(en, "この項目は入力できません", "This field cannot be answered"),
        }
    }
}

fn t(en: bool, ja: &str, e: &str) -> String {
    if en { e } else { ja }.to_string()
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
