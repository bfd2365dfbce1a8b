//! Checks on a procedure definition that serde cannot make: codes, ranges, references between
//! fields. The definition is checked whole: every problem is a [`Finding`] with where it is
//! (`pages[0].fields[2].max_length`). A check that needs another part to be sound (a condition
//! on a field, the smallest of a range) is left out when that part is already named, so one
//! mistake is reported once.

use std::collections::HashSet;

use regex::Regex;

use super::*;
use crate::check::Finding;
use crate::payment::fee::{FeeError, FeeRule};

type Found = Vec<Finding>;

impl ProcedureDef {
    /// Everything serde cannot check: codes, ranges, references between fields.
    pub(super) fn problems(&self) -> Found {
        let mut p = Vec::new();
        self.check_about(&mut p);
        self.check_fee(&mut p);
        self.check_pages(&mut p);
        p
    }

    /// What the procedure is: its codes, titles, division, periods and legal texts.
    fn check_about(&self, p: &mut Found) {
        for (at, code) in [("tenant", &self.tenant), ("code", &self.code)] {
            if !is_code(code) {
                p.push(Finding::new("not_a_code", at).with("code", format!("{code:?}")));
            }
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            p.push(Finding::new("text_length", "title").with("min", 1).with("max", 200));
        }
        if self.description.trim().is_empty() {
            p.push(Finding::new("required", "description"));
        }
        if !is_code(&self.division.code) {
            p.push(Finding::new("not_a_code", "division.code").with("code", format!("{:?}", self.division.code)));
        }
        if self.division.name.trim().is_empty() {
            p.push(Finding::new("required", "division.name"));
        }
        if self.standard_days == 0 || self.standard_days > 365 {
            p.push(Finding::new("out_of_range", "standard_days").with("min", 1).with("max", 365));
        }
        if self.legal_basis.trim().is_empty() {
            p.push(Finding::new("required", "legal_basis"));
        }
        if self.review_criteria.as_deref().is_some_and(|c| c.trim().is_empty() || c.chars().count() > 4000) {
            p.push(Finding::new("proc_review_criteria", "review_criteria"));
        }
        if self.applicants.is_empty() {
            p.push(Finding::new("at_least_one_of", "applicants").with("known", "\"self\", \"agent\""));
        }
        if !crate::approval::records::YEARS.contains(&self.retention_years) {
            p.push(Finding::new("proc_retention_years", "retention_years"));
        }
        if self.matter.as_deref().is_some_and(|m| m.trim().is_empty() || m.chars().count() > 100) {
            p.push(Finding::new("proc_matter", "matter"));
        }
    }

    /// The fee: its amount, its item of the 手数料条例, and how it is collected.
    fn check_fee(&self, p: &mut Found) {
        if self.fee.amount > 10_000_000 {
            p.push(Finding::new("yen_0_to_max", "fee.amount"));
        }
        if let Some(item) = self.fee.item.as_deref().filter(|c| !is_code(c)) {
            p.push(Finding::new("not_a_code", "fee.item").with("code", format!("{item:?}")));
        }
        if let Some((rule, timing)) = self.fee.rule() {
            match crate::payment::fee::check_rule(rule, timing) {
                Ok(()) => {}
                Err(FeeError::SetByStaffBeforeReview) => p.push(Finding::new("proc_fee_after_review", "fee.pay")),
                // A fixed amount out of range is already named at `fee.amount`.
                Err(_) => {
                    if let FeeRule::PerUnit { unit_price, max_units } = rule {
                        if !(1..=crate::payment::fee::MAX_YEN).contains(&unit_price) {
                            p.push(Finding::new("yen_1_to_max", "fee.unit_price"));
                        }
                        if !(1..=1000).contains(&max_units) {
                            p.push(Finding::new("out_of_range", "fee.max_units").with("min", 1).with("max", 1000));
                        }
                    }
                }
            }
            if self.fee.item.is_none()
                && self.fee.revenue_code.as_deref().is_none_or(|c| c.trim().is_empty() || c.chars().count() > 40)
            {
                p.push(Finding::new("fee_revenue_code", "fee.revenue_code"));
            }
        } else if self.fee.unit_price.is_some() || self.fee.set_by_staff {
            p.push(Finding::new("proc_fee_pay", "fee.pay"));
        }
    }

    /// The pages and their fields: unique ids, and every field checked.
    fn check_pages(&self, p: &mut Found) {
        if self.pages.is_empty() {
            p.push(Finding::new("at_least_one", "pages"));
        }
        let mut page_ids = HashSet::new();
        // Field ids are unique across pages (answers are keyed by them).
        let mut field_ids = HashSet::new();
        let top: Vec<(&str, &FieldKind)> = self.fields().map(|f| (f.id.as_str(), &f.kind)).collect();
        for (pi, page) in self.pages.iter().enumerate() {
            let pp = format!("pages[{pi}]");
            if !is_ident(&page.id) {
                p.push(Finding::new("not_an_id", format!("{pp}.id")).with("id", format!("{:?}", page.id)));
            } else if !page_ids.insert(page.id.as_str()) {
                p.push(Finding::new("listed_twice", format!("{pp}.id")).with("code", &page.id));
            }
            if page.title.trim().is_empty() {
                p.push(Finding::new("required", format!("{pp}.title")));
            }
            if page.fields.is_empty() {
                p.push(Finding::new("at_least_one", format!("{pp}.fields")));
            }
            for (fi, field) in page.fields.iter().enumerate() {
                let scope = Scope { ids: &mut field_ids, top: &top, top_level: true };
                check_field(&format!("{pp}.fields[{fi}]"), field, scope, p);
            }
        }
    }
}

/// Where a field stands: the ids already used beside it, the top-level fields conditions may
/// name, and whether it is inside a group.
struct Scope<'a, 'd> {
    ids: &'a mut HashSet<&'d str>,
    top: &'a [(&'d str, &'d FieldKind)],
    top_level: bool,
}

/// One field at path `fp`: its id, label and conditions, then what its kind requires.
fn check_field<'d>(fp: &str, field: &'d Field, scope: Scope<'_, 'd>, p: &mut Found) {
    if !is_ident(&field.id) {
        p.push(Finding::new("not_an_id", format!("{fp}.id")).with("id", format!("{:?}", field.id)));
    } else if !scope.ids.insert(field.id.as_str()) {
        p.push(Finding::new("listed_twice", format!("{fp}.id")).with("code", &field.id));
    }
    if field.label.trim().is_empty() {
        p.push(Finding::new("required", format!("{fp}.label")));
    }
    check_conditions(fp, field, scope.top, scope.top_level, p);
    match &field.kind {
        FieldKind::Text { min_length, max_length, pattern, .. } => {
            check_text(fp, *min_length, *max_length, pattern.as_deref(), p)
        }
        FieldKind::Number { min: Some(a), max: Some(b), .. } if a > b => {
            p.push(Finding::new("larger_than", format!("{fp}.min")).with("other", "max"))
        }
        FieldKind::Date { min, max } => {
            for (n, d) in [("min", min), ("max", max)] {
                if let Some(d) = d.as_deref().filter(|d| crate::forms::parse_iso_date(d).is_none()) {
                    p.push(Finding::new("not_a_date", format!("{fp}.{n}")).with("date", format!("{d:?}")));
                }
            }
        }
        FieldKind::Choice { options, .. } => {
            if options.is_empty() {
                p.push(Finding::new("at_least_one", format!("{fp}.options")));
            }
            check_options(fp, options, p);
        }
        FieldKind::Checkbox { options, min_selected } => {
            check_options(fp, options, p);
            if min_selected.is_some_and(|m| m as usize > options.len()) {
                p.push(Finding::new("proc_more_than_options", format!("{fp}.min_selected")));
            }
        }
        // What a field that may not be here would need is not worth naming.
        FieldKind::File { .. } if !scope.top_level => p.push(Finding::new("proc_file_in_group", format!("{fp}.type"))),
        FieldKind::Group { .. } if !scope.top_level => p.push(Finding::new("proc_group_nested", format!("{fp}.type"))),
        FieldKind::File { types, max_bytes } => check_file(fp, types, *max_bytes, p),
        FieldKind::Group { fields, min_items, max_items } => {
            check_group(fp, fields, *min_items, *max_items, scope.top, p)
        }
        FieldKind::Number { .. }
        | FieldKind::Name {}
        | FieldKind::Address {}
        | FieldKind::Phone {}
        | FieldKind::Email {} => {}
    }
}

/// `visible_if` / `required_if`: only outside groups, and only on another top-level choice or
/// checkbox field.
fn check_conditions(fp: &str, field: &Field, top: &[(&str, &FieldKind)], top_level: bool, p: &mut Found) {
    for (name, cond) in [("visible_if", &field.visible_if), ("required_if", &field.required_if)] {
        let Some(cond) = cond else { continue };
        if !top_level {
            p.push(Finding::new("proc_condition_in_group", format!("{fp}.{name}")));
            continue;
        }
        match top.iter().find(|(id, _)| *id == cond.field) {
            None => p.push(
                Finding::new("unknown_field", format!("{fp}.{name}.field")).with("field", format!("{:?}", cond.field)),
            ),
            Some(_) if cond.field == field.id => {
                p.push(Finding::new("proc_condition_on_itself", format!("{fp}.{name}.field")))
            }
            Some((_, FieldKind::Choice { .. } | FieldKind::Checkbox { .. })) => {}
            Some(_) => p.push(Finding::new("proc_condition_kind", format!("{fp}.{name}.field"))),
        }
        if cond.equals.is_none() == cond.one_of.is_none() {
            p.push(Finding::new("exactly_one_of", format!("{fp}.{name}")).with("a", "\"equals\"").with("b", "\"in\""));
        }
    }
}

fn check_text(fp: &str, min_length: Option<u32>, max_length: Option<u32>, pattern: Option<&str>, p: &mut Found) {
    if let (Some(a), Some(b)) = (min_length, max_length) {
        if a > b {
            p.push(Finding::new("larger_than", format!("{fp}.min_length")).with("other", "max_length"));
        }
    }
    if max_length.unwrap_or(0) > 10_000 {
        p.push(Finding::new("at_most", format!("{fp}.max_length")).with("max", 10_000));
    }
    if let Some(Err(e)) = pattern.map(|pat| Regex::new(&format!("^(?:{pat})$"))) {
        p.push(Finding::new("not_a_regex", format!("{fp}.pattern")).with("message", e));
    }
}

fn check_file(fp: &str, types: &[String], max_bytes: u64, p: &mut Found) {
    if types.is_empty() {
        p.push(Finding::new("at_least_one", format!("{fp}.types")));
    }
    for (i, t) in types.iter().enumerate() {
        if !MAX_FILE_TYPES.contains(&t.as_str()) {
            p.push(
                Finding::new("proc_file_type", format!("{fp}.types[{i}]"))
                    .with("type", format!("{t:?}"))
                    .with("known", MAX_FILE_TYPES.join(", ")),
            );
        }
    }
    if max_bytes == 0 || max_bytes > MAX_ATTACHMENT_BYTES {
        p.push(
            Finding::new("out_of_range", format!("{fp}.max_bytes")).with("min", 1).with("max", MAX_ATTACHMENT_BYTES),
        );
    }
}

/// A repeatable group: one level only, 1–50 items, and no files inside.
fn check_group(
    fp: &str,
    fields: &[Field],
    min_items: Option<u32>,
    max_items: u32,
    top: &[(&str, &FieldKind)],
    p: &mut Found,
) {
    if max_items == 0 || max_items > 50 {
        p.push(Finding::new("out_of_range", format!("{fp}.max_items")).with("min", 1).with("max", 50));
    } else if min_items.unwrap_or(0) > max_items {
        p.push(Finding::new("larger_than", format!("{fp}.min_items")).with("other", "max_items"));
    }
    if fields.is_empty() {
        p.push(Finding::new("at_least_one", format!("{fp}.fields")));
    }
    let mut ids = HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        check_field(&format!("{fp}.fields[{i}]"), f, Scope { ids: &mut ids, top, top_level: false }, p);
    }
}

fn check_options(fp: &str, options: &[ChoiceOption], p: &mut Found) {
    let mut seen = HashSet::new();
    for (i, o) in options.iter().enumerate() {
        let at = |key: &str| format!("{fp}.options[{i}].{key}");
        if o.value.is_empty() || o.value.len() > 60 {
            p.push(Finding::new("text_length", at("value")).with("min", 1).with("max", 60));
        } else if !seen.insert(&o.value) {
            p.push(Finding::new("listed_twice", at("value")).with("code", &o.value));
        }
        if o.label.trim().is_empty() {
            p.push(Finding::new("required", at("label")));
        }
    }
}

/// Rejects keys a field does not know, which would otherwise be silently ignored (a typo in
/// `max_lenght` must not quietly drop the limit).
pub(super) fn check_field_keys(raw: &serde_json::Value) -> Found {
    fn walk(path: &str, fields: &serde_json::Value, p: &mut Found) {
        let Some(fields) = fields.as_array() else { return };
        for (i, f) in fields.iter().enumerate() {
            let fp = format!("{path}[{i}]");
            let Some(obj) = f.as_object() else { continue };
            let ty = obj.get("type").and_then(|t| t.as_str()).unwrap_or("");
            let specific: &[&str] = match ty {
                "text" => &["min_length", "max_length", "pattern", "pattern_message", "multiline"],
                "number" => &["min", "max", "unit"],
                "date" => &["min", "max"],
                "choice" => &["options", "select"],
                "checkbox" => &["options", "min_selected"],
                "file" => &["types", "max_bytes"],
                "group" => &["fields", "min_items", "max_items"],
                _ => &[],
            };
            const COMMON: [&str; 8] =
                ["id", "label", "label_en", "help", "type", "required", "visible_if", "required_if"];
            for k in obj.keys() {
                if !COMMON.contains(&k.as_str()) && !specific.contains(&k.as_str()) {
                    p.push(Finding::new("unknown_key", format!("{fp}.{k}")).with("type", format!("{ty:?}")));
                }
            }
            if ty == "group" {
                walk(&format!("{fp}.fields"), obj.get("fields").unwrap_or(&serde_json::Value::Null), p);
            }
        }
    }
    let mut p = Vec::new();
    if let Some(pages) = raw.get("pages").and_then(|p| p.as_array()) {
        for (i, page) in pages.iter().enumerate() {
            walk(&format!("pages[{i}].fields"), page.get("fields").unwrap_or(&serde_json::Value::Null), &mut p);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DEF: &str = r#"
tenant = "t"
code = "c"
title = "テスト"
description = "d"
standard_days = 3
legal_basis = "l"
applicants = ["self"]
retention_years = 5
[division]
code = "d"
name = "課"
[[pages]]
id = "p1"
title = "1"
[[pages.fields]]
id = "kind"
label = "区分"
type = "choice"
options = [{ value = "self", label = "本人" }, { value = "agent", label = "代理人" }]
[[pages.fields]]
id = "relation"
label = "続柄"
type = "text"
max_length = 10
visible_if = { field = "kind", equals = "agent" }
[[pages.fields]]
id = "kids"
label = "子"
type = "group"
max_items = 3
[[pages.fields.fields]]
id = "given"
label = "名"
type = "text"
[[pages]]
id = "p2"
title = "2"
[[pages.fields]]
id = "proof"
label = "証明書"
type = "file"
types = ["application/pdf"]
max_bytes = 1000000
"#;

    fn problems(text: &str) -> Vec<(String, &'static str)> {
        match ProcedureDef::parse("t.toml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e.findings.into_iter().map(|f| (f.at, f.code)).collect(),
        }
    }

    fn at(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        list.iter().map(|(a, c)| (a.to_string(), *c)).collect()
    }

    #[test]
    fn the_base_definition_is_valid() {
        assert_eq!(problems(DEF), []);
    }

    #[test]
    fn every_problem_is_named_with_its_path() {
        let bad = DEF
            .replace("tenant = \"t\"", "tenant = \"T\"")
            .replace("standard_days = 3", "standard_days = 0")
            .replace("retention_years = 5", "retention_years = 4")
            .replace("max_length = 10", "max_length = 20000\nmin_length = 30000\nmax_lenght = 3")
            .replace("id = \"p2\"", "id = \"p1\"")
            .replace("value = \"agent\"", "value = \"self\"")
            .replace("max_bytes = 1000000", "max_bytes = 0");
        assert_eq!(
            problems(&bad),
            at(&[
                ("pages[0].fields[1].max_lenght", "unknown_key"),
                ("tenant", "not_a_code"),
                ("standard_days", "out_of_range"),
                ("retention_years", "proc_retention_years"),
                ("pages[0].fields[0].options[1].value", "listed_twice"),
                ("pages[0].fields[1].min_length", "larger_than"),
                ("pages[0].fields[1].max_length", "at_most"),
                ("pages[1].id", "listed_twice"),
                ("pages[1].fields[0].max_bytes", "out_of_range"),
            ])
        );
        let e = ProcedureDef::parse("t.toml", &bad).unwrap_err();
        assert_eq!(e.findings[2], Finding::new("out_of_range", "standard_days").with("min", 1).with("max", 365));
        assert!(e.to_string().starts_with("t.toml: pages[0].fields[1].max_lenght: unknown_key (type = \"text\"); "));
    }

    #[test]
    fn one_mistake_is_named_once() {
        // A condition on a field inside a group: the field is unknown to conditions, nothing more.
        let bad = DEF.replace("field = \"kind\"", "field = \"given\"");
        assert_eq!(problems(&bad), at(&[("pages[0].fields[1].visible_if.field", "unknown_field")]));
        // A file inside a group is named, not also what a file would need.
        let bad = DEF.replace(
            "id = \"given\"\nlabel = \"名\"\ntype = \"text\"",
            "id = \"given\"\nlabel = \"名\"\ntype = \"file\"\ntypes = []\nmax_bytes = 0",
        );
        assert_eq!(problems(&bad), at(&[("pages[0].fields[2].fields[0].type", "proc_file_in_group")]));
        // An id that is not an id is not also listed twice; a range whose top is wrong is not
        // also compared with its bottom.
        let bad = DEF
            .replace("id = \"relation\"", "id = \"Kind\"")
            .replace("id = \"proof\"", "id = \"Kind\"")
            .replace("max_items = 3", "max_items = 0\nmin_items = 2");
        assert_eq!(
            problems(&bad),
            at(&[
                ("pages[0].fields[1].id", "not_an_id"),
                ("pages[0].fields[2].max_items", "out_of_range"),
                ("pages[1].fields[0].id", "not_an_id"),
            ])
        );
        // A file that does not read is one finding, with its line.
        let e = ProcedureDef::parse("t.toml", &DEF.replace("type = \"text\"", "type = \"colour\"")).unwrap_err();
        assert_eq!((e.findings.len(), e.findings[0].code), (1, "unreadable_at"), "{e}");
        let e = ProcedureDef::parse("t.json", "{\"tenant\": 1}").unwrap_err();
        assert_eq!(e.findings[0].args[..2], [("line", "1".to_string()), ("column", "12".to_string())], "{e}");
        assert!(!e.findings[0].args[2].1.contains("at line"), "{e}");
    }

    proptest! {
        /// Whatever a definition says, checking it never panics, names the same problems in the
        /// same order each time, and names each at a key of the document.
        #[test]
        fn findings_are_deterministic(edits in proptest::collection::vec((0usize..60, 0usize..10), 0..8)) {
            let values = ["\"\"", "\"X\"", "\"kind\"", "\"p1\"", "0", "20000", "\"[\"", "\"2020-13-01\"", "[]", "true"];
            let mut lines: Vec<String> = DEF.lines().map(str::to_string).collect();
            for (line, value) in edits {
                let n = line % lines.len();
                if let Some((key, _)) = lines[n].split_once(" = ") {
                    lines[n] = format!("{key} = {}", values[value]);
                }
            }
            let text = lines.join("\n");
            let first = ProcedureDef::parse("t.toml", &text);
            prop_assert_eq!(&first, &ProcedureDef::parse("t.toml", &text));
            if let Err(e) = first {
                prop_assert!(!e.findings.is_empty());
                for f in &e.findings {
                    let root = f.at.split(['[', '.']).next().unwrap_or("");
                    let keys = ["tenant", "code", "title", "description", "division", "standard_days", "legal_basis",
                        "applicants", "retention_years", "fee", "pages"];
                    prop_assert!(f.code.starts_with("unreadable") || keys.contains(&root), "{}", f);
                }
            }
        }
    }
}
