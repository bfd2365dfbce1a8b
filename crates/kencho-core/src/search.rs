//! Japanese search without a dictionary: texts are normalised (NFKC, lower case, katakana as
//! hiragana) and a query term matches when (nearly) every character bigram of it occurs in the text.
//! Bigrams find 「証明書」 in 「住民票の写し等の交付請求（各種証明書）」; longer terms tolerate
//! small differences such as 「住民票写し」 against 「住民票の写し」.

use crate::text::{nfkc_trim, to_hiragana};

pub fn normalise(s: &str) -> String {
    to_hiragana(&nfkc_trim(s).to_lowercase())
}

fn bigrams(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    if chars.len() < 2 {
        return vec![term.to_string()];
    }
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// Scores a document (already passed through [`normalise`]) against a raw query. `None` when
/// some term does not match; otherwise a higher score is a better match (exact substrings and
/// matches in the title count more).
pub fn score(title_norm: &str, doc_norm: &str, query: &str) -> Option<u32> {
    let q = normalise(query);
    let terms: Vec<&str> = q.split_whitespace().collect();
    if terms.is_empty() {
        return Some(0);
    }
    let mut total = 0;
    for term in terms {
        let grams = bigrams(term);
        let hits = grams.iter().filter(|g| doc_norm.contains(g.as_str())).count();
        // Short terms must match whole; longer ones may miss a quarter of their bigrams
        // (a dropped particle: 「住民票写し」 for 「住民票の写し」).
        let enough = if grams.len() >= 3 { hits * 4 >= grams.len() * 3 } else { hits == grams.len() };
        if !enough {
            return None;
        }
        total += 1;
        if doc_norm.contains(term) {
            total += 2;
        }
        if title_norm.contains(term) {
            total += 4;
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_japanese_words() {
        let title = normalise("住民票の写し等の交付請求");
        let doc = normalise("住民票の写し等の交付請求\n各種証明書\nジュウミンヒョウ");
        assert!(score(&title, &doc, "証明書").is_some());
        assert!(score(&title, &doc, "住民票写し").is_some());
        assert!(score(&title, &doc, "じゅうみんひょう").is_some());
        assert!(score(&title, &doc, "ＪＵＵ").is_none());
        assert!(score(&title, &doc, "狩猟").is_none());
        assert!(score(&title, &doc, "住民票").unwrap() > score(&title, &doc, "証明書").unwrap());
    }

    proptest! {
        // Any substring of a document always finds it.
        #[test]
        fn substring_always_matches(doc in "[あ-んア-ン一-龥a-z0-9 ]{1,40}", a in 0usize..40, len in 1usize..10) {
            let d = normalise(&doc);
            let chars: Vec<char> = d.chars().collect();
            prop_assume!(!chars.is_empty());
            let start = a % chars.len();
            let end = (start + len).min(chars.len());
            let q: String = chars[start..end].iter().collect();
            prop_assume!(!q.trim().is_empty());
            prop_assert!(score(&d, &d, &q).is_some());
        }
    }
}
