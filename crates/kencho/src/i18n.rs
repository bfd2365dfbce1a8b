//! Translations: one flat TOML file per language under `locales/` (the file name is the language
//! tag, e.g. `ja-x-easy.toml` for やさしい日本語). Japanese is the default and the fallback for
//! any key a language lacks. Adding a language is adding a file: `build.rs` embeds them all.

use std::collections::HashMap;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/locales.rs"));

type Table = HashMap<String, String>;

/// The office's own language: official documents, 起案 and the mails the office sends without a
/// reader's choice (a resident's language is not kept; hunters, families and staff read
/// Japanese) are written in it, whoever caused them.
pub const OFFICE: &str = "ja";

fn tables() -> &'static HashMap<&'static str, Table> {
    static T: OnceLock<HashMap<&'static str, Table>> = OnceLock::new();
    T.get_or_init(|| {
        LANGS
            .iter()
            .map(|(lang, text)| {
                // A broken locale file is a build-time mistake; the test suite loads every file.
                let table: Table = toml::from_str(text).unwrap_or_default();
                (*lang, table)
            })
            .collect()
    })
}

pub fn supported(lang: &str) -> bool {
    LANGS.iter().any(|(l, _)| *l == lang)
}

/// Every language: (tag, its own name for itself).
pub fn languages() -> Vec<(&'static str, String)> {
    LANGS.iter().map(|(l, _)| (*l, t(l, "lang.name"))).collect()
}

/// The language a text falls back to before Japanese (`ja-x-easy` → `ja`, `en-GB` → `en`).
fn parent(lang: &str) -> Option<&str> {
    lang.rsplit_once('-').map(|(p, _)| p.trim_end_matches("-x"))
}

pub fn t(lang: &str, key: &str) -> String {
    let t = tables();
    let find = |l: &str| t.get(l).and_then(|m| m.get(key));
    find(lang)
        .or_else(|| parent(lang).and_then(find))
        .or_else(|| find("ja"))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// `t` with `{name}` placeholders filled in, in one pass: a value that itself contains
/// `{…}` (a name, a message) is never filled in again.
pub fn tf(lang: &str, key: &str, args: &[(&str, &str)]) -> String {
    fill(&t(lang, key), args)
}

/// The words of the domain's reasons and states, which kencho-core names by code only: one
/// function per type, so every page, mail and API answer words them alike.
pub mod words {
    use kencho_core::application::{Action, Role, Status};
    use kencho_core::forms::Problem;

    /// What is wrong with an answer; a pattern's own message (the procedure author's) as written.
    pub fn problem(lang: &str, p: &Problem) -> String {
        if let Some(m) = p.authors_message() {
            return m.to_string();
        }
        super::tf_owned(lang, p.key(), &p.args())
    }

    pub fn status(lang: &str, s: Status) -> String {
        super::t(lang, &status_key(s))
    }

    /// The key of a status's label, for a text that names it in the reader's language later.
    pub fn status_key(s: Status) -> String {
        format!("status.{}", s.as_str())
    }

    pub fn role(lang: &str, r: Role) -> String {
        super::t(lang, &format!("role.{}", r.as_str()))
    }

    /// What was done, as the application's history and the status mail name it.
    pub fn action(lang: &str, a: &Action) -> String {
        super::t(lang, &format!("action.{}", a.outcome()))
    }

    /// How a lone checkbox reads, ticked and not.
    pub fn yes_no(lang: &str) -> [String; 2] {
        [super::t(lang, "answer.yes"), super::t(lang, "answer.no")]
    }
}

/// `tf` with values owned by their names, as the domain's reasons give them.
pub fn tf_owned(lang: &str, key: &str, args: &[(&'static str, String)]) -> String {
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tf(lang, key, &args)
}

fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once() {
        let args = [("name", "{link}"), ("link", "https://x")];
        assert_eq!(fill("{name} {link} {other}", &args), "{link} https://x {other}");
        assert_eq!(fill("{ unclosed", &args), "{ unclosed");
    }

    #[test]
    fn every_file_parses_and_full_languages_have_every_key() {
        let ja: Table = toml::from_str(LANGS[0].1).expect("ja.toml parses");
        assert_eq!(LANGS[0].0, "ja");
        for (lang, text) in LANGS {
            let table: Table = toml::from_str(text).unwrap_or_else(|e| panic!("{lang}.toml: {e}"));
            assert!(table.contains_key("lang.name"), "{lang}.toml names its language");
            let extra: Vec<_> = table.keys().filter(|k| !ja.contains_key(*k)).collect();
            assert!(extra.is_empty(), "{lang}.toml has keys ja.toml lacks: {extra:?}");
            // A language of its own must be complete; a variant (ja-x-easy) may fall back.
            if parent(lang).is_none() {
                let missing: Vec<_> = ja.keys().filter(|k| !table.contains_key(*k)).collect();
                assert!(missing.is_empty(), "{lang}.toml lacks {missing:?}");
            }
        }
        assert_eq!(parent("ja-x-easy"), Some("ja"));
    }

    /// The domain's reasons and states have their own text in every full language (a missing
    /// key would show as the key itself).
    #[test]
    fn every_problem_status_role_and_action_has_its_text() {
        use kencho_core::application::{Action, Role, Status};
        use kencho_core::forms::Problem;
        let actions = [
            Action::Submit,
            Action::Accept,
            Action::RequestCorrection { message: String::new() },
            Action::Resubmit,
            Action::Reject { reason: String::new() },
            Action::Decide { approve: true, notice: String::new() },
            Action::Decide { approve: false, notice: String::new() },
            Action::Withdraw,
        ];
        let mut keys: Vec<String> = Problem::one_of_each().iter().map(|p| p.key().to_string()).collect();
        keys.extend(Status::ALL.iter().map(|s| words::status_key(*s)));
        keys.extend(Role::ALL.iter().map(|r| format!("role.{}", r.as_str())));
        keys.extend(actions.iter().map(|a| format!("action.{}", a.outcome())));
        keys.extend(["answer.yes".to_string(), "answer.no".to_string()]);
        for lang in ["ja", "en"] {
            let table = &tables()[lang];
            let missing: Vec<_> = keys.iter().filter(|k| !table.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{lang}.toml lacks {missing:?}");
        }
        // A limit reaches its text: no placeholder is left unfilled.
        for p in Problem::one_of_each() {
            for lang in ["ja", "en", "ja-x-easy"] {
                let text = words::problem(lang, &p);
                assert!(!text.contains('{'), "{lang} {}: {text}", p.key());
            }
        }
        assert_eq!(words::problem("en", &Problem::TooShort { min: 3 }), "Enter at least 3 characters");
        assert_eq!(words::problem("ja", &Problem::Pattern { message: Some("半角で".into()) }), "半角で");
        assert_eq!(words::status("ja", Status::CorrectionRequested), "補正依頼中");
    }
}
