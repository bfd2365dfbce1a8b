//! Every code kencho answers with, in one list: the `code` of the API's error body, the code on
//! the error page, and the key of its text (`error.<code>` in `locales/*.toml`). The OpenAPI
//! document lists them as the values of `ErrorBody.code`.
//!
//! A code is a string literal given to `AppError::Refused`, `AppError::Certificate` or
//! `AppError::SecretKey` (or `refuse` in `documents::pades::credential`), or a literal returned
//! by a `code()` method: `AppError::code` and the kencho-core error enums'. The tests below
//! read the sources and fail when a code is used but not listed, listed but not used, or has
//! no text in Japanese or English.

/// Every code, grouped by where it comes from.
pub const CODES: &[&str] = &[
    // AppError's own variants (requests, sign-in, roles) and axum's rejections.
    "not_found",
    "unauthenticated",
    "mfa_required",
    "forbidden",
    "not_permitted",
    "token_scope",
    "csrf",
    "bad_request",
    "validation",
    "conflict",
    "stale_form",
    "rate_limited",
    "too_large",
    "unsupported_media_type",
    "method_not_allowed",
    "timeout",
    "bad_login",
    "invalid_transition",
    "invalid_definition",
    "internal",
    // A new password the policy refuses (kencho_core::security::password::PasswordProblem).
    "password_too_short",
    "password_too_long",
    "password_common",
    "password_personal",
    "password_repetitive",
    // Sealed secrets and special-care values (AppError::SecretKey, 500).
    "secret_key_missing",
    "sealed_value_unreadable",
    // Signing certificates and the time-stamp authority (AppError::Certificate, 422; tsa_failed 502).
    "certificate_unreadable",
    "certificate_file_missing",
    "certificate_key_unreadable",
    "certificate_key_encrypted",
    "certificate_key_mismatch",
    "certificate_key_too_small",
    "certificate_expired",
    "certificate_not_yet_valid",
    "certificate_key_usage",
    "certificate_password",
    "certificate_p12_legacy",
    "tsa_url_invalid",
    "tsa_failed",
    // Public data files (kencho_core::evacuation::data::LoadError, 400).
    "data_not_geojson",
    "data_feature",
    "data_row",
    "data_column",
    "data_encoding",
    "data_files",
    "data_empty",
    // JMA telegrams (kencho_core::evacuation::jma::JmaError, 400).
    "jma_not_xml",
    "jma_element",
    "jma_missing",
    "jma_value",
    // Evacuation plans shared with supporters.
    "consent_required",
    // Capture permits and records (kencho_core::iot::wildlife::CaptureError, 422).
    "permit_number",
    "permit_holder",
    "permit_no_species",
    "permit_no_trap_type",
    "permit_period",
    "permit_area",
    "capture_species",
    "capture_other_species",
    "capture_trap_type",
    "capture_trap_type_not_permitted",
    "capture_details",
    "capture_time",
    "capture_in_future",
    "capture_before_firing",
    "capture_outside_permit",
    "capture_bycatch_action",
    "capture_place",
    "capture_no_permit",
    // 電子決裁: acts and route changes (kencho_core::approval::route::{ActError, EditError}),
    // drafting, records and their disposal (409).
    "wrong_state",
    "not_allowed",
    "already_acted",
    "not_absent",
    "daiketsu_not_urgent",
    "daiketsu_important",
    "daiketsu_disagreed",
    "would_skip_aigi",
    "bad_target",
    "cannot_remove_decider",
    "not_editable",
    "no_such_step",
    "bad_position",
    "no_route",
    "no_post",
    "route_required",
    "already_drafted",
    "nothing_to_dispose",
    "records_section_unset",
    "records_consult_missing",
    "records_consult_required",
    "record_on_hold",
    // Fees, payments and refunds (409), the fee schedule (kencho_core::payment::schedule::
    // ScheduleError) and refund reviews (kencho_core::payment::refund::RefundError).
    "payment_required",
    "no_fee",
    "not_due",
    "nothing_due",
    "already_paid",
    "already_set",
    "wrong_timing",
    "expired",
    "not_paid",
    "provider",
    "provider_refused",
    "provider_unavailable",
    "too_much",
    "refund_cash",
    "refund_same_person",
    "refund_wrong_state",
    "no_fee_schedule",
    "fee_item_unknown",
    "reduction_ground_unknown",
    "reduction_ground_not_for_item",
    "fee_quantity",
    "fee_too_large",
    "fee_item_mismatch",
    "fee_item_required",
    "cash_amount_mismatch",
    "agent_not_designated",
    "agent_not_covering",
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use super::CODES;

    /// Calls whose first argument is the code.
    const CONSTRUCTORS: [&str; 4] = ["Refused(", "Certificate(", "SecretKey(", "refuse("];
    /// Functions whose string literals are all codes.
    const CODE_FNS: [&str; 2] = ["fn code(", "fn rejection_code("];
    /// The placeholders texts may use.
    const PLACEHOLDERS: [&str; 7] = ["detail", "count", "action", "found", "expected", "element", "parent"];
    /// `error.*` keys that are texts of the error page, not codes.
    const PAGE_KEYS: [&str; 3] = ["title", "code", "home"];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }

    fn is_ident(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_'
    }

    /// The string literal at the start of `s` (after white space), if any.
    fn literal_at(s: &str) -> Option<&str> {
        let rest = s.trim_start().strip_prefix('"')?;
        rest.find('"').map(|end| &rest[..end])
    }

    /// The text between the `{` after `from` and its matching `}`.
    fn body_after(s: &str, from: usize) -> &str {
        let open = from + s[from..].find('{').expect("a body");
        let mut depth = 0;
        for (i, c) in s[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return &s[open..open + i];
                    }
                }
                _ => {}
            }
        }
        panic!("unbalanced braces")
    }

    /// Every code the sources use, with where.
    fn used() -> BTreeMap<String, BTreeSet<String>> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (krate, constructors) in [("kencho", true), ("kencho-core", false)] {
            let mut files = Vec::new();
            rust_files(&manifest.join("..").join(krate).join("src"), &mut files);
            for file in files {
                if file.ends_with("error/codes.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&file).expect("read source");
                let name = format!("{krate}/{}", file.file_name().unwrap_or_default().to_string_lossy());
                let mut add = |code: &str| {
                    used.entry(code.to_string()).or_default().insert(name.clone());
                };
                if constructors {
                    for needle in CONSTRUCTORS {
                        for (at, _) in text.match_indices(needle) {
                            if text[..at].chars().next_back().is_some_and(is_ident) {
                                continue;
                            }
                            if let Some(code) = literal_at(&text[at + needle.len()..]) {
                                add(code);
                            }
                        }
                    }
                }
                for needle in CODE_FNS {
                    for (at, _) in text.match_indices(needle) {
                        let signature = &text[at..at + text[at..].find('{').expect("a body")];
                        if !signature.contains("&'static str") {
                            continue;
                        }
                        for (i, part) in body_after(&text, at).split('"').enumerate() {
                            if i % 2 == 1 {
                                add(part);
                            }
                        }
                    }
                }
            }
        }
        used
    }

    fn locale(lang: &str) -> BTreeMap<String, String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(format!("{lang}.toml"));
        toml::from_str(&std::fs::read_to_string(&path).expect("read locale")).expect("locale parses")
    }

    fn placeholders(text: &str) -> Vec<&str> {
        text.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(name, _)| name)).collect()
    }

    #[test]
    fn the_list_is_every_code_used_and_nothing_else() {
        let listed: BTreeSet<&str> = CODES.iter().copied().collect();
        assert_eq!(listed.len(), CODES.len(), "a code is listed twice");
        for code in CODES {
            assert!(
                !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{code:?}"
            );
        }
        let used = used();
        let unlisted: Vec<_> = used.iter().filter(|(c, _)| !listed.contains(c.as_str())).collect();
        assert!(unlisted.is_empty(), "codes used but missing from error::CODES: {unlisted:?}");
        let unused: Vec<_> = CODES.iter().filter(|c| !used.contains_key(**c)).collect();
        assert!(unused.is_empty(), "codes in error::CODES that nothing answers with: {unused:?}");
        // The core enums' codes, through the enums themselves where they list their variants.
        for e in kencho_core::iot::wildlife::CaptureError::ALL {
            assert!(listed.contains(e.code()), "{}", e.code());
        }
    }

    #[test]
    fn every_code_has_its_text_in_japanese_and_english() {
        let ja = locale("ja");
        let en = locale("en");
        let easy = locale("ja-x-easy");
        for code in CODES {
            let key = format!("error.{code}");
            for (lang, table) in [("ja", &ja), ("en", &en)] {
                let text = table.get(&key).unwrap_or_else(|| panic!("{lang}.toml has no {key}"));
                assert!(!text.trim().is_empty(), "{lang}.toml: {key} is empty");
            }
            for (lang, table) in [("ja", &ja), ("en", &en), ("ja-x-easy", &easy)] {
                for p in table.get(&key).map(|t| placeholders(t)).unwrap_or_default() {
                    assert!(PLACEHOLDERS.contains(&p), "{lang}.toml: {key} has an unknown placeholder {{{p}}}");
                }
            }
        }
        // And no stale text: every error.* key is a code or a text of the error page.
        for (lang, table) in [("ja", &ja), ("en", &en), ("ja-x-easy", &easy)] {
            let stale: Vec<_> = table
                .keys()
                .filter_map(|k| k.strip_prefix("error."))
                .filter(|k| !CODES.contains(k) && !PAGE_KEYS.contains(k))
                .collect();
            assert!(stale.is_empty(), "{lang}.toml has texts for codes kencho does not use: {stale:?}");
        }
    }

    /// Every `detail!("key", name = …)` in the sources: its key and the names of its values.
    fn details_used() -> BTreeMap<String, BTreeSet<String>> {
        let mut files = Vec::new();
        rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files.iter().filter(|f| !f.ends_with("error/codes.rs")) {
            let text = std::fs::read_to_string(file).expect("read source");
            for (at, _) in text.match_indices("detail!(") {
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                if text[line_start..at].trim_start().starts_with("//") {
                    continue;
                }
                let call = &text[at + "detail!(".len()..];
                let Some(key) = literal_at(call) else { continue };
                let names = used.entry(key.to_string()).or_default();
                // The values' names: each `, name =` up to the call's closing parenthesis.
                let mut depth = 1;
                let end = call
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map_or(call.len(), |(i, _)| i);
                for part in call[..end].split(',').skip(1) {
                    if let Some((name, _)) = part.trim().split_once(" = ") {
                        if name.chars().all(is_ident) {
                            names.insert(name.to_string());
                        }
                    }
                }
            }
            for (at, _) in text.match_indices("Detail::new(") {
                if let Some(key) = literal_at(&text[at + "Detail::new(".len()..]) {
                    used.entry(key.to_string()).or_default();
                }
            }
            let named = text
                .match_indices(".arg_detail(\"")
                .chain(text.match_indices(".arg(\""))
                .chain(text.match_indices(".arg_list(\""));
            for (at, needle) in named {
                if let Some(name) = literal_at(&text[at + needle.len() - 1..]) {
                    // Counted with the detail of the same statement: any key may use it.
                    used.entry(String::from("*")).or_default().insert(name.to_string());
                }
            }
        }
        used
    }

    #[test]
    fn every_detail_has_its_text_in_japanese_and_english() {
        let (ja, en, easy) = (locale("ja"), locale("en"), locale("ja-x-easy"));
        let used = details_used();
        let anywhere = used.get("*").cloned().unwrap_or_default();
        assert!(used.len() > 100, "the sources' details were not found: {}", used.len());
        for (key, names) in used.iter().filter(|(k, _)| k.as_str() != "*") {
            for (lang, table) in [("ja", &ja), ("en", &en)] {
                let text = table.get(key).unwrap_or_else(|| panic!("{lang}.toml has no {key}"));
                assert!(!text.trim().is_empty(), "{lang}.toml: {key} is empty");
            }
            for (lang, table) in [("ja", &ja), ("en", &en), ("ja-x-easy", &easy)] {
                for p in table.get(key).map(|t| placeholders(t)).unwrap_or_default() {
                    assert!(
                        names.contains(p) || anywhere.contains(p),
                        "{lang}.toml: {key} has {{{p}}}, which the detail does not fill in"
                    );
                }
            }
        }
        // No stale text: a detail.* key is used by a `detail!`, or is the detail of a code
        // (`Detail::of_code`), or is the problems of a checked file.
        for (lang, table) in [("ja", &ja), ("en", &en), ("ja-x-easy", &easy)] {
            let stale: Vec<_> = table
                .keys()
                .filter(|k| k.starts_with("detail."))
                .filter(|k| !used.contains_key(*k) && k.as_str() != "detail.problems")
                .filter(|k| !k.strip_prefix("detail.").is_some_and(|c| CODES.contains(&c)))
                .collect();
            assert!(stale.is_empty(), "{lang}.toml has details nothing uses: {stale:?}");
        }
    }

    /// Every `Finding::new("code", …)` of kencho-core and of kencho (an uploaded file's zip), and
    /// every value name a finding is given in a file that makes findings.
    fn findings_used() -> (BTreeSet<String>, BTreeSet<String>) {
        let mut files = Vec::new();
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        rust_files(&manifest.join("../kencho-core/src"), &mut files);
        rust_files(&manifest.join("src"), &mut files);
        let (mut codes, mut names) = (BTreeSet::new(), BTreeSet::new());
        for file in files.iter().filter(|f| !f.ends_with("error/codes.rs")) {
            let text = std::fs::read_to_string(file).expect("read source");
            if !text.contains("Finding::") {
                continue;
            }
            for (at, _) in text.match_indices("Finding::new(") {
                codes.extend(literal_at(&text[at + "Finding::new(".len()..]).map(str::to_string));
            }
            for (at, _) in text.match_indices(".with(") {
                names.extend(literal_at(&text[at + ".with(".len()..]).map(str::to_string));
            }
            if text.contains("Finding::new(\"unreadable\"") {
                names.insert("message".to_string());
            }
        }
        (codes, names)
    }

    #[test]
    fn every_finding_has_its_text_in_japanese_and_english() {
        let (codes, names) = findings_used();
        for code in ["listed_twice", "unreadable", "flood_depth_rank", "report_not_jpy", "zip_unreadable"] {
            assert!(codes.contains(code), "{code} not found: {codes:?}");
        }
        for (lang, table) in [("ja", locale("ja")), ("en", locale("en")), ("ja-x-easy", locale("ja-x-easy"))] {
            for code in &codes {
                let text = table.get(&format!("check.{code}"));
                assert!(text.is_some() || lang == "ja-x-easy", "{lang}.toml has no check.{code}");
                for p in text.map(|t| placeholders(t)).unwrap_or_default() {
                    assert!(names.contains(p), "{lang}.toml: check.{code} has {{{p}}}, which no finding fills in");
                }
            }
            let stale: Vec<_> =
                table.keys().filter_map(|k| k.strip_prefix("check.")).filter(|c| !codes.contains(*c)).collect();
            assert!(stale.is_empty(), "{lang}.toml has texts for findings nothing makes: {stale:?}");
        }
    }

    #[test]
    fn the_openapi_document_lists_every_code() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::web::openapi::ApiDoc::openapi()).expect("json");
        let listed = &doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"];
        let listed: Vec<&str> = listed.as_array().expect("an enum").iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(listed, CODES);
    }

    #[test]
    fn messages_fill_in_their_details() {
        use super::super::AppError;
        let e = AppError::Refused("no_route", detail!("detail.route.no_rule", kind = "kian", date = "2026-04-01"));
        assert!(e.message("en").contains("no 専決 rule for kian on 2026-04-01"), "{}", e.message("en"));
        assert!(e.message("ja").contains("2026-04-01 の kian に当てはまる専決規程がありません"), "{}", e.message("ja"));
        let draft = kencho_core::application::TransitionError::WrongStatus(kencho_core::application::Status::Draft);
        assert!(AppError::Transition(draft.clone()).message("ja").contains("申請が「下書き」の間はできません"));
        assert!(AppError::Transition(draft).message("en").contains("while the application is Draft"));
        assert_eq!(AppError::Csrf.message("en"), "This form has expired. Please try again.");
        assert_eq!(AppError::NotFound.message("ja-x-easy"), crate::i18n::t("ja-x-easy", "error.not_found"));
        let v = AppError::Validation(Vec::new());
        assert_eq!(v.message("ja"), "入力内容に0件の誤りがあります。");
    }

    #[test]
    fn a_data_file_is_refused_in_the_readers_language() {
        use super::super::AppError;
        use kencho_core::check::Finding;
        use kencho_core::evacuation::data::LoadError;
        let rank = Finding::new("flood_depth_rank", "").with("attr", "A31a_205").with("found", 7);
        let e = AppError::Data(LoadError::Feature { feature: 2, problem: rank }.in_file("a.geojson"));
        assert!(
            e.message("en").ends_with("a.geojson: feature 2: A31a_205 (浸水深ランク) must be 1 to 6, found 7"),
            "{}",
            e.message("en")
        );
        assert!(e
            .message("ja")
            .ends_with("a.geojson：2番目の地物：A31a_205（浸水深ランク）は1〜6です（7 ではありません）"));
        let header =
            LoadError::MissingColumn { expected: "緯度".into(), found: (0..20).map(|i| format!("c{i}")).collect() };
        assert!(AppError::Data(header).message("en").contains("the header has: c0, c1,"));
        let jma = kencho_core::evacuation::jma::JmaError::Value {
            element: "Head/InfoType".into(),
            found: "遅延".into(),
            expected: kencho_core::evacuation::jma::Expected::InfoType,
        };
        assert!(AppError::Telegram(jma.clone()).message("en").contains("expected 発表, 訂正 or 取消."));
        assert!(AppError::Telegram(jma).message("ja").contains("発表・訂正・取消のいずれかが必要です"));
    }
}
