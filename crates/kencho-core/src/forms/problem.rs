//! What can be wrong with an answer, and its text in Japanese and English.

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
