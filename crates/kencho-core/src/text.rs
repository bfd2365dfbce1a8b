//! Japanese text handling shared by forms and search: width normalisation and kana.

use unicode_normalization::UnicodeNormalization;

/// NFKC-normalises (full-width digits and letters become half-width, half-width kana become
/// full-width) and trims surrounding white space, including the ideographic space.
pub fn nfkc_trim(s: &str) -> String {
    let n: String = s.nfkc().collect();
    n.trim_matches(|c: char| c.is_whitespace()).to_string()
}

/// Katakana to hiragana (ァ-ヶ → ぁ-ゖ), other characters unchanged.
pub fn to_hiragana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Whether the string is only hiragana/katakana, the long-vowel mark and spaces
/// (what a ふりがな field may hold).
pub fn is_kana(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(
            |c| matches!(c, 'ぁ'..='ゖ' | 'ァ'..='ヺ' | 'ー' | '・' | ' ' | '\u{3000}' | 'ゝ' | 'ゞ' | 'ヽ' | 'ヾ'),
        )
}

/// Keeps only ASCII digits after width normalisation ("１２３－４５６７" → "1234567").
pub fn digits_only(s: &str) -> String {
    nfkc_trim(s).chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Control characters other than line breaks and tabs are never accepted in answers.
pub fn has_control_chars(s: &str, allow_newlines: bool) -> bool {
    s.chars().any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
}

pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_and_kana() {
        assert_eq!(nfkc_trim("　１２３ "), "123");
        assert_eq!(digits_only("９６５－８６０１"), "9658601");
        assert_eq!(to_hiragana("フクシマ タロウ"), "ふくしま たろう");
        assert!(is_kana("ふくしま"));
        assert!(is_kana("フクシマ"));
        assert!(!is_kana("福島"));
        assert!(!is_kana(""));
    }
}

/// A text cell for a CSV file that people open in a spreadsheet: a cell starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return would be run as a formula (OWASP "CSV
/// Injection"), so it is prefixed with `'`, which spreadsheets show as text.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod csv_cell_tests {
    #[test]
    fn formulas_become_text() {
        assert_eq!(super::csv_cell("=HYPERLINK(\"http://x\",\"y\")"), "'=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(super::csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::csv_cell("-1+1"), "'-1+1");
        assert_eq!(super::csv_cell("相馬 太郎"), "相馬 太郎");
        assert_eq!(super::csv_cell(""), "");
    }
}
