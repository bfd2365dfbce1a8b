//! Checks on a procedure definition that serde cannot make: codes, ranges, references between
//! fields. The first problem found is returned as (path, message), e.g.
//! (`pages[0].fields[2].max_length`, `must be at most 10000`).

use std::collections::HashSet;

use regex::Regex;

use super::*;

type Checked = Result<(), (String, String)>;

fn err(p: &str, m: &str) -> Checked {
    Err((p.to_string(), m.to_string()))
}

impl ProcedureDef {
    /// Checks everything serde cannot: codes, ranges, references between fields.
    pub(super) fn check(&self) -> Checked {
        self.check_about()?;
        self.check_fee()?;
        self.check_pages()
    }

    /// What the procedure is: its codes, titles, division, periods and legal texts.
    fn check_about(&self) -> Checked {
        if !is_code(&self.tenant) {
            return err("tenant", "must be 1-40 lowercase letters, digits or '-'");
        }
        if !is_code(&self.code) {
            return err("code", "must be 1-40 lowercase letters, digits or '-'");
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return err("title", "must be 1-200 characters");
        }
        if self.description.trim().is_empty() {
            return err("description", "must not be empty");
        }
        if !is_code(&self.division.code) {
            return err("division.code", "must be 1-40 lowercase letters, digits or '-'");
        }
        if self.division.name.trim().is_empty() {
            return err("division.name", "must not be empty");
        }
        if self.standard_days == 0 || self.standard_days > 365 {
            return err("standard_days", "must be between 1 and 365");
        }
        if self.legal_basis.trim().is_empty() {
            return err("legal_basis", "must not be empty");
        }
        if self.review_criteria.as_deref().is_some_and(|c| c.trim().is_empty() || c.chars().count() > 4000) {
            return err("review_criteria", "must be the 審査基準 as published (1–4000 characters), or left out");
        }
        if self.applicants.is_empty() {
            return err("applicants", "must name at least one of \"self\", \"agent\"");
        }
        if !crate::approval::records::YEARS.contains(&self.retention_years) {
            return err("retention_years", "must be 1, 3, 5, 10 or 30");
        }
        if self.matter.as_deref().is_some_and(|m| m.trim().is_empty() || m.chars().count() > 100) {
            return err("matter", "must be the kind of matter as named in the 専決 table (1–100 characters)");
        }
        Ok(())
    }

    /// The fee: its amount, its item of the 手数料条例, and how it is collected.
    fn check_fee(&self) -> Checked {
        if self.fee.amount > 10_000_000 {
            return err("fee.amount", "must be at most 10,000,000 yen");
        }
        if self.fee.item.as_deref().is_some_and(|c| !is_code(c)) {
            return err("fee.item", "must be the code of an item of the 手数料条例 ([a-z0-9-])");
        }
        if let Some((rule, timing)) = self.fee.rule() {
            if let Err(e) = crate::payment::fee::check_rule(rule, timing) {
                return err("fee", &e.to_string());
            }
            if self.fee.item.is_none()
                && self.fee.revenue_code.as_deref().is_none_or(|c| c.trim().is_empty() || c.chars().count() > 40)
            {
                return err("fee.revenue_code", "a fee collected online needs its 歳入科目 (1–40 characters)");
            }
        } else if self.fee.unit_price.is_some() || self.fee.set_by_staff {
            return err("fee.pay", "unit_price and set_by_staff need pay = \"before_submission\" or \"after_review\"");
        }
        Ok(())
    }

    /// The pages and their fields: unique ids, and every field checked.
    fn check_pages(&self) -> Checked {
        if self.pages.is_empty() {
            return err("pages", "a procedure needs at least one page");
        }
        let mut page_ids = HashSet::new();
        // Fields seen so far, with their kinds: conditions may only look back or sideways.
        let mut seen: Vec<(String, FieldKind)> = Vec::new();
        let all_top: Vec<(String, FieldKind)> =
            self.pages.iter().flat_map(|p| p.fields.iter().map(|f| (f.id.clone(), f.kind.clone()))).collect();
        for (pi, page) in self.pages.iter().enumerate() {
            let pp = format!("pages[{pi}]");
            if !is_ident(&page.id) {
                return err(&format!("{pp}.id"), "must be 1-40 lowercase letters, digits or '_'");
            }
            if !page_ids.insert(page.id.clone()) {
                return err(&format!("{pp}.id"), &format!("duplicate page id \"{}\"", page.id));
            }
            if page.title.trim().is_empty() {
                return err(&format!("{pp}.title"), "must not be empty");
            }
            if page.fields.is_empty() {
                return err(&format!("{pp}.fields"), "a page needs at least one field");
            }
            for (fi, field) in page.fields.iter().enumerate() {
                let fp = format!("{pp}.fields[{fi}]");
                if seen.iter().any(|(id, _)| id == &field.id) {
                    return err(&format!("{fp}.id"), &format!("duplicate field id \"{}\"", field.id));
                }
                check_field(&fp, field, &all_top, true)?;
                seen.push((field.id.clone(), field.kind.clone()));
            }
        }
        Ok(())
    }
}

/// One field at path `fp`: its id, label and conditions, then what its kind requires.
fn check_field(fp: &str, field: &Field, top: &[(String, FieldKind)], top_level: bool) -> Checked {
    if !is_ident(&field.id) {
        return err(&format!("{fp}.id"), "must be 1-40 lowercase letters, digits or '_'");
    }
    if field.label.trim().is_empty() {
        return err(&format!("{fp}.label"), "must not be empty");
    }
    check_conditions(fp, field, top, top_level)?;
    match &field.kind {
        FieldKind::Text { min_length, max_length, pattern, .. } => {
            check_text(fp, *min_length, *max_length, pattern.as_deref())
        }
        FieldKind::Number { min, max, .. } => check_number(fp, *min, *max),
        FieldKind::Date { min, max } => check_date(fp, min.as_deref(), max.as_deref()),
        FieldKind::Choice { options, .. } => {
            if options.is_empty() {
                return err(&format!("{fp}.options"), "a choice needs at least one option");
            }
            check_options(fp, options)
        }
        FieldKind::Checkbox { options, min_selected } => check_checkbox(fp, options, *min_selected),
        FieldKind::File { types, max_bytes } => check_file(fp, types, *max_bytes),
        FieldKind::Group { fields, min_items, max_items } => {
            check_group(fp, fields, *min_items, *max_items, top, top_level)
        }
        FieldKind::Name {} | FieldKind::Address {} | FieldKind::Phone {} | FieldKind::Email {} => Ok(()),
    }
}

/// `visible_if` / `required_if`: only outside groups, and only on another top-level choice or
/// checkbox field.
fn check_conditions(fp: &str, field: &Field, top: &[(String, FieldKind)], top_level: bool) -> Checked {
    for (name, cond) in [("visible_if", &field.visible_if), ("required_if", &field.required_if)] {
        let Some(cond) = cond else { continue };
        if !top_level {
            return err(&format!("{fp}.{name}"), "conditions are only allowed on fields outside groups");
        }
        let Some((_, kind)) = top.iter().find(|(id, _)| id == &cond.field) else {
            return err(&format!("{fp}.{name}.field"), &format!("refers to unknown field \"{}\"", cond.field));
        };
        if cond.field == field.id {
            return err(&format!("{fp}.{name}.field"), "a field cannot depend on itself");
        }
        if !matches!(kind, FieldKind::Choice { .. } | FieldKind::Checkbox { .. }) {
            return err(&format!("{fp}.{name}.field"), "conditions may refer only to choice or checkbox fields");
        }
        if cond.equals.is_none() == cond.one_of.is_none() {
            return err(&format!("{fp}.{name}"), "give exactly one of \"equals\" or \"in\"");
        }
    }
    Ok(())
}

fn check_text(fp: &str, min_length: Option<u32>, max_length: Option<u32>, pattern: Option<&str>) -> Checked {
    if let (Some(a), Some(b)) = (min_length, max_length) {
        if a > b {
            return err(&format!("{fp}.min_length"), "is larger than max_length");
        }
    }
    if max_length.unwrap_or(0) > 10_000 {
        return err(&format!("{fp}.max_length"), "must be at most 10000");
    }
    if let Some(p) = pattern {
        if let Err(e) = Regex::new(&format!("^(?:{p})$")) {
            return err(&format!("{fp}.pattern"), &format!("is not a valid regular expression: {e}"));
        }
    }
    Ok(())
}

fn check_number(fp: &str, min: Option<i64>, max: Option<i64>) -> Checked {
    if let (Some(a), Some(b)) = (min, max) {
        if a > b {
            return err(&format!("{fp}.min"), "is larger than max");
        }
    }
    Ok(())
}

fn check_date(fp: &str, min: Option<&str>, max: Option<&str>) -> Checked {
    for (n, d) in [("min", min), ("max", max)] {
        if let Some(d) = d {
            if crate::forms::parse_iso_date(d).is_none() {
                return err(&format!("{fp}.{n}"), &format!("\"{d}\" is not a date (YYYY-MM-DD)"));
            }
        }
    }
    Ok(())
}

fn check_checkbox(fp: &str, options: &[ChoiceOption], min_selected: Option<u32>) -> Checked {
    check_options(fp, options)?;
    if let Some(m) = min_selected {
        if m as usize > options.len() {
            return err(&format!("{fp}.min_selected"), "is more than the number of options");
        }
    }
    Ok(())
}

fn check_file(fp: &str, types: &[String], max_bytes: u64) -> Checked {
    if types.is_empty() {
        return err(&format!("{fp}.types"), "name at least one allowed file type");
    }
    for (i, t) in types.iter().enumerate() {
        if !MAX_FILE_TYPES.contains(&t.as_str()) {
            return err(
                &format!("{fp}.types[{i}]"),
                &format!("\"{t}\" is not a supported type ({})", MAX_FILE_TYPES.join(", ")),
            );
        }
    }
    if max_bytes == 0 || max_bytes > MAX_ATTACHMENT_BYTES {
        return err(&format!("{fp}.max_bytes"), &format!("must be between 1 and {MAX_ATTACHMENT_BYTES}"));
    }
    Ok(())
}

/// A repeatable group: one level only, 1–50 items, and no files inside.
fn check_group(
    fp: &str,
    fields: &[Field],
    min_items: Option<u32>,
    max_items: u32,
    top: &[(String, FieldKind)],
    top_level: bool,
) -> Checked {
    if !top_level {
        return err(&format!("{fp}.type"), "groups cannot be nested");
    }
    if max_items == 0 || max_items > 50 {
        return err(&format!("{fp}.max_items"), "must be between 1 and 50");
    }
    if min_items.unwrap_or(0) > max_items {
        return err(&format!("{fp}.min_items"), "is larger than max_items");
    }
    if fields.is_empty() {
        return err(&format!("{fp}.fields"), "a group needs at least one field");
    }
    let mut ids = HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        let p = format!("{fp}.fields[{i}]");
        if !ids.insert(f.id.clone()) {
            return err(&format!("{p}.id"), &format!("duplicate field id \"{}\"", f.id));
        }
        if matches!(f.kind, FieldKind::File { .. }) {
            return err(&format!("{p}.type"), "file fields cannot be inside a group");
        }
        check_field(&p, f, top, false)?;
    }
    Ok(())
}

/// Rejects keys a field does not know, which would otherwise be silently ignored (a typo in
/// `max_lenght` must not quietly drop the limit).
pub(super) fn check_field_keys(raw: &serde_json::Value) -> Checked {
    fn walk(path: &str, fields: &serde_json::Value) -> Result<(), (String, String)> {
        let Some(fields) = fields.as_array() else { return Ok(()) };
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
                    return Err((format!("{fp}.{k}"), format!("unknown key for a field of type \"{ty}\"")));
                }
            }
            if ty == "group" {
                walk(&format!("{fp}.fields"), obj.get("fields").unwrap_or(&serde_json::Value::Null))?;
            }
        }
        Ok(())
    }
    if let Some(pages) = raw.get("pages").and_then(|p| p.as_array()) {
        for (i, p) in pages.iter().enumerate() {
            walk(&format!("pages[{i}].fields"), p.get("fields").unwrap_or(&serde_json::Value::Null))?;
        }
    }
    Ok(())
}

fn check_options(fp: &str, options: &[ChoiceOption]) -> Checked {
    let mut seen = HashSet::new();
    for (i, o) in options.iter().enumerate() {
        if o.value.is_empty() || o.value.len() > 60 {
            return Err((format!("{fp}.options[{i}].value"), "must be 1-60 characters".into()));
        }
        if !seen.insert(&o.value) {
            return Err((format!("{fp}.options[{i}].value"), format!("duplicate option \"{}\"", o.value)));
        }
        if o.label.trim().is_empty() {
            return Err((format!("{fp}.options[{i}].label"), "must not be empty".into()));
        }
    }
    Ok(())
}
