//! Translations: one flat TOML file per language under `locales/`; Japanese is the default
//! and the fallback. Adding a language is adding a file (and listing it in `LANGS`).

use std::collections::HashMap;
use std::sync::OnceLock;

const LANGS: [(&str, &str); 2] =
    [("ja", include_str!("../locales/ja.toml")), ("en", include_str!("../locales/en.toml"))];

type Table = HashMap<String, String>;

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

pub fn t(lang: &str, key: &str) -> String {
    let t = tables();
    t.get(lang)
        .and_then(|m| m.get(key))
        .or_else(|| t.get("ja").and_then(|m| m.get(key)))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_locale_has_every_key() {
        let ja: super::Table = toml::from_str(include_str!("../locales/ja.toml")).expect("ja.toml parses");
        let en: super::Table = toml::from_str(include_str!("../locales/en.toml")).expect("en.toml parses");
        let mut missing: Vec<_> = ja.keys().filter(|k| !en.contains_key(*k)).collect();
        missing.extend(en.keys().filter(|k| !ja.contains_key(*k)));
        assert!(missing.is_empty(), "keys missing in a locale: {missing:?}");
    }
}
