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
    pub fn message(&self, lang: &str) -> String {
        let en = lang == "en";
        match self {
            Problem::Required => t(en, "入力してください", "This is required"),
            Problem::TooShort { min } => {
                if en {
                    format!("Enter at least {min} characters")
                } else {
                    format!("{min}文字以上で入力してください")
                }
            }
            Problem::TooLong { max } => {
                if en {
                    format!("Enter at most {max} characters")
                } else {
                    format!("{max}文字以内で入力してください")
                }
            }
            Problem::Pattern { message } => match message {
                Some(m) => m.clone(),
                None => t(en, "形式が正しくありません", "The format is not valid"),
            },
            Problem::NotANumber => t(en, "半角または全角の数字で入力してください", "Enter a whole number"),
            Problem::BelowMin { min } => {
                if en {
                    format!("Enter {min} or more")
                } else {
                    format!("{min}以上の数を入力してください")
                }
            }
            Problem::AboveMax { max } => {
                if en {
                    format!("Enter {max} or less")
                } else {
                    format!("{max}以下の数を入力してください")
                }
            }
            Problem::NotADate => t(en, "正しい年月日を入力してください", "Enter a real date"),
            Problem::DateBefore { min } => {
                if en {
                    format!("Enter a date on or after {min}")
                } else {
                    format!("{min}以降の日付を入力してください")
                }
            }
            Problem::DateAfter { max } => {
                if en {
                    format!("Enter a date on or before {max}")
                } else {
                    format!("{max}以前の日付を入力してください")
                }
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
                if en {
                    format!("Select at least {min}")
                } else {
                    format!("{min}つ以上選んでください")
                }
            }
            Problem::TooManyItems { max } => {
                if en {
                    format!("Add at most {max}")
                } else {
                    format!("{max}件以内にしてください")
                }
            }
            Problem::TooFewItems { min } => {
                if en {
                    format!("Add at least {min}")
                } else {
                    format!("{min}件以上入力してください")
                }
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
