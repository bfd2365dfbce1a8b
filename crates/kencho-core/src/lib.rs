//! kencho's domain core: everything that decides, nothing that does I/O.
//!
//! - [`procedure`]: procedure definitions (手続き) and their file format
//! - [`forms`]: reading and validating answers
//! - [`application`]: the application (申請) state machine and staff roles
//! - [`audit`]: the hash chain of the audit log
//! - [`receipt`]: 受付番号 and content hashes
//! - [`search`]: dictionary-free Japanese search
//! - [`security`]: password policy, sign-in rate limits, roles as data, token scopes
//! - [`name`]: closed sets of names (a kind, a role, a method) parsed where they come in
//! - [`wareki`], [`text`]: Japanese dates and text

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod application;
pub mod approval;
pub mod audit;
pub mod check;
pub mod evacuation;
pub mod forms;
pub mod iot;
pub mod name;
pub mod notice;
pub mod payment;
pub mod procedure;
pub mod receipt;
pub mod search;
pub mod security;
pub mod text;
pub mod wareki;

#[cfg(test)]
mod demo_procedures {
    use crate::procedure::ProcedureDef;

    /// Every shipped demo procedure parses and passes the definition checks.
    #[test]
    fn demo_procedures_are_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/procedures");
        let mut n = 0;
        let mut tenants = std::collections::HashSet::new();
        for entry in std::fs::read_dir(dir).expect("demo/procedures exists") {
            let path = entry.expect("dir entry").path();
            let name = path.display().to_string();
            if !(name.ends_with(".toml") || name.ends_with(".json")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            match ProcedureDef::parse(&name, &text) {
                Ok(def) => {
                    tenants.insert(def.tenant.clone());
                    n += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(n >= 5, "at least five demo procedures, found {n}");
        assert_eq!(tenants.len(), 3, "demo procedures cover the three demo tenants");
    }

    #[test]
    fn bad_file_names_field() {
        let bad = r#"
tenant = "aizuwakamatsu"
code = "x"
title = "t"
description = "d"
standard_days = 3
legal_basis = "l"
applicants = ["self"]
retention_years = 4
[division]
code = "shimin"
name = "市民課"
[[pages]]
id = "p"
title = "p"
[[pages.fields]]
id = "a"
label = "a"
type = "text"
"#;
        let e = ProcedureDef::parse("bad.toml", bad).unwrap_err();
        assert_eq!(e.to_string(), "bad.toml: retention_years: proc_retention_years");
        let e = ProcedureDef::parse(
            "bad.toml",
            &bad.replace("retention_years = 4", "retention_years = 5")
                .replace("type = \"text\"", "type = \"text\"\npattern = \"[\""),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("bad.toml: pages[0].fields[0].pattern: not_a_regex"), "{e}");
        let e = ProcedureDef::parse("bad.toml", &bad.replace("type = \"text\"", "type = \"colour\"")).unwrap_err();
        assert!(e.to_string().starts_with("bad.toml: unreadable_at (line = "), "{e}");
    }
}
