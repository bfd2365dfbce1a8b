//! The password policy: length first (NIST SP 800-63B §3.1.1.2: no composition rules), then a
//! refusal of passwords that appear in lists of breached and common passwords, or that are
//! built from the account's own e-mail address or name.
//!
//! The list (`data/common-passwords.txt`, 20,000 entries) is the one the Django project ships
//! (django/contrib/auth/common-passwords.txt.gz, BSD-3-Clause), itself drawn from published
//! breach corpora. It is data, compared case-insensitively after NFKC.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::text::nfkc_trim;

pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 128;

const COMMON: &str = include_str!("../../data/common-passwords.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password must be at least 10 characters")]
    TooShort,
    #[error("the password must be at most 128 characters")]
    TooLong,
    #[error("the password is on a list of common or breached passwords")]
    Common,
    #[error("the password is made from your e-mail address or name")]
    Personal,
    #[error("the password repeats too few different characters")]
    Repetitive,
}

impl PasswordProblem {
    /// Stable code (also the key of its text in the locales).
    pub fn code(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "password_too_short",
            PasswordProblem::TooLong => "password_too_long",
            PasswordProblem::Common => "password_common",
            PasswordProblem::Personal => "password_personal",
            PasswordProblem::Repetitive => "password_repetitive",
        }
    }
}

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

fn fold(s: &str) -> String {
    nfkc_trim(s).to_lowercase()
}

/// Checks a new password. `personal`: the e-mail address, name and similar facts about the
/// account; a password equal to one of them, or to one with digits or punctuation around it, is
/// refused.
pub fn check(password: &str, personal: &[&str]) -> Result<(), PasswordProblem> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if n > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let folded = fold(password);
    let distinct: HashSet<char> = folded.chars().collect();
    if distinct.len() < 4 {
        return Err(PasswordProblem::Repetitive);
    }
    // The password as typed, and with digits and punctuation stripped from its ends
    // ("password2026!" is "password").
    let core = folded.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace());
    if common().contains(folded.as_str()) || (core.chars().count() >= 6 && common().contains(core)) {
        return Err(PasswordProblem::Common);
    }
    for p in personal {
        let p = fold(p);
        let local = p.split('@').next().unwrap_or_default();
        for part in [p.as_str(), local] {
            let close = folded.contains(part) && core.len() <= part.len() + 4;
            if part.chars().count() >= 4 && (folded == part || core == part || close) {
                return Err(PasswordProblem::Personal);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_list_and_personal_facts() {
        assert_eq!(check("short", &[]), Err(PasswordProblem::TooShort));
        assert_eq!(check(&"あ".repeat(129), &[]), Err(PasswordProblem::TooLong));
        assert_eq!(check("1234567890", &[]), Err(PasswordProblem::Common));
        assert_eq!(check("QWERTYUIOP", &[]), Err(PasswordProblem::Common));
        assert_eq!(check("ｑｗｅｒｔｙｕｉｏｐ", &[]), Err(PasswordProblem::Common), "full-width is folded");
        assert_eq!(check("basketball2026!", &[]), Err(PasswordProblem::Common), "digits around a listed word");
        assert_eq!(check("aaaaaaaaaaaa", &[]), Err(PasswordProblem::Repetitive));
        assert_eq!(check("hanako.souma1", &["hanako.souma@example.jp"]), Err(PasswordProblem::Personal));
        assert_eq!(check("hanako.souma@example.jp", &["hanako.souma@example.jp"]), Err(PasswordProblem::Personal));
        assert_eq!(check("kencho-demo-2026", &["taro@example.jp"]), Ok(()));
        assert_eq!(check("another-long-password", &["hanako@example.jp", "相馬 花子"]), Ok(()));
        assert_eq!(check("相馬の春は桜と馬追い", &[]), Ok(()));
    }

    #[test]
    fn the_list_is_loaded() {
        assert!(common().len() > 19_000);
        assert!(common().contains("password"));
    }
}
