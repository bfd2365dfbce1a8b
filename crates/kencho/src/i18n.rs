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
}
