//! Answers to a procedure's form: reading them from HTML form posts, and validating them
//! (server side, the only side that counts).
//!
//! Answers are a JSON object keyed by field id. A value that could not be understood is kept as
//! entered, so the page can show it back with its error; validation then reports it.

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Date, Month};

use crate::procedure::{Condition, Field, FieldKind, Page, ProcedureDef};
use crate::text::{digits_only, has_control_chars, is_kana, nfkc_trim, to_hiragana, PREFECTURES};

mod display;
mod problem;

pub use display::*;
pub use problem::*;

pub type Answers = Map<String, Value>;

/// One validation error. `input` is the HTML id/name of the control to focus (e.g.
/// `f-birth-year`), `field` the answer path (e.g. `birth`, `children.0.name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub label: String,
    pub problem: Problem,
}

/// The attachments an application has, as validation needs to see them.
pub trait AttachmentLookup {
    /// Media type of an attachment of this application bound to `field`, if it exists.
    fn attachment(&self, id: &str, field: &str) -> Option<String>;
}

impl<F: Fn(&str, &str) -> Option<String>> AttachmentLookup for F {
    fn attachment(&self, id: &str, field: &str) -> Option<String> {
        self(id, field)
    }
}

/// Name of the HTML control for a field path and part, e.g. `f.birth.year`.
pub fn control_name(path: &str, part: Option<&str>) -> String {
    match part {
        Some(p) => format!("f.{path}.{p}"),
        None => format!("f.{path}"),
    }
}

/// HTML id for a control name (dots are awkward in CSS selectors and fragment links).
pub fn control_id(name: &str) -> String {
    name.replace('.', "-")
}

/// Whether a top-level condition holds for the current answers.
pub fn condition_holds(cond: &Condition, answers: &Answers) -> bool {
    let values: Vec<String> = match answers.get(&cond.field) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Bool(b)) => vec![b.to_string()],
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => vec![],
    };
    if let Some(eq) = &cond.equals {
        return values.iter().any(|v| v == eq);
    }
    if let Some(set) = &cond.one_of {
        return values.iter().any(|v| set.contains(v));
    }
    false
}

pub fn is_visible(field: &Field, answers: &Answers) -> bool {
    field.visible_if.as_ref().is_none_or(|c| condition_holds(c, answers))
}

fn is_required(field: &Field, answers: &Answers) -> bool {
    field.required || field.required_if.as_ref().is_some_and(|c| condition_holds(c, answers))
}

/// Form input: the (name, value) pairs of an `application/x-www-form-urlencoded` post.
pub struct FormInput<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> FormInput<'a> {
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Self { pairs }
    }
    fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&'a str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
    /// Highest group index present for a group field, if any.
    fn group_len(&self, path: &str) -> usize {
        let prefix = format!("f.{path}.");
        self.pairs
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('.').next()?.parse::<usize>().ok())
            .map(|i| i + 1)
            .max()
            .unwrap_or(0)
    }
}

/// Reads one page's answers from a form post into `answers` (replacing that page's fields).
/// File fields are not touched here: uploads are handled separately.
pub fn read_page(page: &Page, input: &FormInput<'_>, answers: &mut Answers) {
    for field in &page.fields {
        if matches!(field.kind, FieldKind::File { .. }) {
            continue;
        }
        match read_field(field, &field.id, input) {
            Some(v) => {
                answers.insert(field.id.clone(), v);
            }
            None => {
                answers.remove(&field.id);
            }
        }
    }
}

fn read_field(field: &Field, path: &str, input: &FormInput<'_>) -> Option<Value> {
    let one = |part: Option<&str>| input.get(&control_name(path, part)).map(str::to_string);
    let obj = |parts: &[&str]| -> Option<Value> {
        let mut m = Map::new();
        for p in parts {
            if let Some(v) = one(Some(p)) {
                if !v.trim().is_empty() {
                    m.insert((*p).to_string(), Value::String(v));
                }
            }
        }
        if m.is_empty() {
            None
        } else {
            Some(Value::Object(m))
        }
    };
    match &field.kind {
        FieldKind::Text { .. } | FieldKind::Phone {} | FieldKind::Email {} | FieldKind::Choice { .. } => {
            one(None).filter(|s| !s.trim().is_empty()).map(Value::String)
        }
        FieldKind::Number { .. } => {
            one(None).filter(|s| !s.trim().is_empty()).map(|s| match nfkc_trim(&s).replace(',', "").parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => Value::String(s),
            })
        }
        FieldKind::Date { .. } => {
            let v = obj(&["year", "month", "day"])?;
            Some(date_from_parts(&v).map(|d| Value::String(iso(d))).unwrap_or(v))
        }
        FieldKind::Name {} => obj(&["family", "given", "family_kana", "given_kana"]),
        FieldKind::Address {} => obj(&["postal_code", "prefecture", "city", "street", "building"]),
        FieldKind::Checkbox { options, .. } => {
            if options.is_empty() {
                Some(Value::Bool(one(None).is_some_and(|v| v == "true" || v == "on")))
            } else {
                let vals: Vec<Value> =
                    input.all(&control_name(path, None)).into_iter().map(|s| Value::String(s.to_string())).collect();
                Some(Value::Array(vals))
            }
        }
        FieldKind::File { .. } => None,
        FieldKind::Group { fields, .. } => {
            let n = input.group_len(path).min(100);
            let mut items = Vec::new();
            for i in 0..n {
                let mut m = Map::new();
                for sub in fields {
                    if let Some(v) = read_field(sub, &format!("{path}.{i}.{}", sub.id), input) {
                        m.insert(sub.id.clone(), v);
                    }
                }
                // A row left wholly blank (an unused spare row) is not an item.
                let blank =
                    m.values().all(|v| matches!(v, Value::Bool(false)) || v.as_array().is_some_and(|a| a.is_empty()));
                if !blank {
                    items.push(Value::Object(m));
                }
            }
            Some(Value::Array(items))
        }
    }
}

fn date_from_parts(v: &Value) -> Option<Date> {
    let part = |k: &str| -> Option<i64> { nfkc_trim(v.get(k)?.as_str()?).parse().ok() };
    let (y, m, d) = (part("year")?, part("month")?, part("day")?);
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    if !(1800..=2999).contains(&y) {
        return None;
    }
    Date::from_calendar_date(y as i32, month, u8::try_from(d).ok()?).ok()
}

pub fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// Parses `YYYY-MM-DD`: ASCII digits only, so that a date is accepted exactly as [`iso`]
/// writes it (integer parsing alone would also take signs, as in `2026-+4-01`).
pub fn parse_iso_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    if ![y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let y: i32 = y.parse().ok()?;
    let m: u8 = m.parse().ok()?;
    let d: u8 = d.parse().ok()?;
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// Validates the answers to one page (or, with `page = None`, to the whole procedure) and
/// normalises what it can (widths, kana, postal code digits) in place.
pub fn validate(
    def: &ProcedureDef,
    page: Option<usize>,
    answers: &mut Answers,
    attachments: &dyn AttachmentLookup,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    // Answers to unknown fields are refused rather than silently kept.
    if page.is_none() {
        let unknown: Vec<String> = answers.keys().filter(|k| def.field(k).is_none()).cloned().collect();
        for k in unknown {
            errors.push(FieldError { field: k.clone(), label: k, problem: Problem::NotAllowed });
        }
    }
    let snapshot = answers.clone();
    for (pi, p) in def.pages.iter().enumerate() {
        if page.is_some_and(|want| want != pi) {
            continue;
        }
        for field in &p.fields {
            if !is_visible(field, &snapshot) {
                if page.is_none() {
                    // Answers to hidden fields are dropped at submission.
                    answers.remove(&field.id);
                }
                continue;
            }
            let required = is_required(field, &snapshot);
            let value = answers.remove(&field.id);
            let kept = check_value(field, &field.id, &field.label, required, value, attachments, &mut errors);
            if let Some(v) = kept {
                answers.insert(field.id.clone(), v);
            }
        }
    }
    errors
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_blank),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn check_value(
    field: &Field,
    path: &str,
    label: &str,
    required: bool,
    value: Option<Value>,
    attachments: &dyn AttachmentLookup,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let mut push = |sub: Option<&str>, problem: Problem| {
        errors.push(FieldError {
            field: match sub {
                Some(s) => format!("{path}.{s}"),
                None => path.to_string(),
            },
            label: label.to_string(),
            problem,
        })
    };
    // A group that needs items needs an answer.
    let required = required || matches!(field.kind, FieldKind::Group { min_items: Some(m), .. } if m > 0);
    let value = match value {
        Some(v) if !is_blank(&v) || matches!(v, Value::Bool(_)) => v,
        _ => {
            // A single checkbox left unticked is `false`, which is an answer unless required.
            if required {
                let first_part = match field.kind {
                    FieldKind::Date { .. } => Some("year"),
                    FieldKind::Name {} => Some("family"),
                    FieldKind::Address {} => Some("postal_code"),
                    _ => None,
                };
                push(first_part, Problem::Required);
            }
            return None;
        }
    };
    match &field.kind {
        FieldKind::Text { min_length, max_length, pattern, pattern_message, multiline } => {
            let Value::String(s) = value else {
                push(None, Problem::NotAllowed);
                return None;
            };
            // A patterned answer is kept in the NFKC form it is matched in, so its length is
            // counted in that form too (㌀ becomes four characters).
            let s = if pattern.is_some() { nfkc_trim(&s) } else { s };
            // Every CR, alone or before LF, is one line break (as HTML reads a textarea): a
            // stored answer then reads the same when validated again.
            let s = if *multiline { s.trim().replace("\r\n", "\n").replace('\r', "\n") } else { s.trim().to_string() };
            let n = s.chars().count() as u32;
            if has_control_chars(&s, *multiline) {
                push(None, Problem::ControlCharacters);
            } else if let Some(max) = max_length.filter(|m| n > *m) {
                push(None, Problem::TooLong { max });
            } else if n > 10_000 {
                push(None, Problem::TooLong { max: 10_000 });
            } else if let Some(min) = min_length.filter(|m| n < *m) {
                push(None, Problem::TooShort { min });
            } else if let Some(p) = pattern {
                let ok = regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|re| re.is_match(&s));
                if !ok {
                    push(None, Problem::Pattern { message: pattern_message.clone() });
                }
            }
            Some(Value::String(s))
        }
        FieldKind::Number { min, max, .. } => {
            let n = match &value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => nfkc_trim(s).replace(',', "").parse::<i64>().ok(),
                _ => None,
            };
            let Some(n) = n else {
                push(None, Problem::NotANumber);
                return Some(value);
            };
            if let Some(m) = min.filter(|m| n < *m) {
                push(None, Problem::BelowMin { min: m });
            } else if let Some(m) = max.filter(|m| n > *m) {
                push(None, Problem::AboveMax { max: m });
            }
            Some(Value::from(n))
        }
        FieldKind::Date { min, max } => {
            let d = match &value {
                Value::String(s) => parse_iso_date(s),
                Value::Object(_) => date_from_parts(&value),
                _ => None,
            };
            let Some(d) = d else {
                push(Some("year"), Problem::NotADate);
                return Some(value);
            };
            if let Some(m) = min.as_deref().filter(|m| parse_iso_date(m).is_some_and(|m| d < m)) {
                push(Some("year"), Problem::DateBefore { min: m.to_string() });
            } else if let Some(m) = max.as_deref().filter(|m| parse_iso_date(m).is_some_and(|m| d > m)) {
                push(Some("year"), Problem::DateAfter { max: m.to_string() });
            }
            Some(Value::String(iso(d)))
        }
        FieldKind::Name {} => {
            let Value::Object(mut o) = value else {
                push(Some("family"), Problem::NotAllowed);
                return None;
            };
            o.retain(|k, _| matches!(k.as_str(), "family" | "given" | "family_kana" | "given_kana"));
            for part in ["family", "given", "family_kana", "given_kana"] {
                let s = o.get(part).and_then(Value::as_str).map(|s| s.trim().to_string()).unwrap_or_default();
                // Once any part is given, all four are needed.
                if s.is_empty() {
                    push(Some(part), Problem::Required);
                    continue;
                }
                if has_control_chars(&s, false) {
                    push(Some(part), Problem::ControlCharacters);
                } else if s.chars().count() > 50 {
                    push(Some(part), Problem::TooLong { max: 50 });
                } else if part.ends_with("_kana") {
                    let k = nfkc_trim(&s);
                    if !is_kana(&k) {
                        push(Some(part), Problem::NotKana);
                    }
                    o.insert(part.to_string(), Value::String(to_hiragana(&k)));
                    continue;
                }
                o.insert(part.to_string(), Value::String(s));
            }
            Some(Value::Object(o))
        }
        FieldKind::Address {} => {
            let Value::Object(mut o) = value else {
                push(Some("postal_code"), Problem::NotAllowed);
                return None;
            };
            o.retain(|k, _| matches!(k.as_str(), "postal_code" | "prefecture" | "city" | "street" | "building"));
            let get = |o: &Map<String, Value>, k: &str| {
                o.get(k).and_then(Value::as_str).map(|s| s.trim().to_string()).unwrap_or_default()
            };
            let pc = digits_only(&get(&o, "postal_code"));
            if pc.len() != 7 {
                push(Some("postal_code"), Problem::PostalCode);
            } else {
                o.insert("postal_code".into(), Value::String(format!("{}-{}", &pc[..3], &pc[3..])));
            }
            if !PREFECTURES.contains(&get(&o, "prefecture").as_str()) {
                push(Some("prefecture"), Problem::Prefecture);
            }
            for part in ["city", "street", "building"] {
                let s = get(&o, part);
                if s.is_empty() {
                    if part != "building" {
                        push(Some(part), Problem::Required);
                    }
                } else if has_control_chars(&s, false) {
                    push(Some(part), Problem::ControlCharacters);
                } else if s.chars().count() > 100 {
                    push(Some(part), Problem::TooLong { max: 100 });
                }
            }
            Some(Value::Object(o))
        }
        FieldKind::Phone {} => {
            let raw = value.as_str().unwrap_or_default();
            let normalised = nfkc_trim(raw);
            let digits = digits_only(raw);
            let shape_ok =
                normalised.chars().all(|c| c.is_ascii_digit() || c == '-' || c == '(' || c == ')' || c == ' ');
            if !shape_ok || !(10..=11).contains(&digits.len()) || !digits.starts_with('0') {
                push(None, Problem::Phone);
                return Some(value);
            }
            Some(Value::String(normalised))
        }
        FieldKind::Email {} => {
            let s = nfkc_trim(value.as_str().unwrap_or_default());
            if !is_email(&s) {
                push(None, Problem::Email);
            }
            Some(Value::String(s))
        }
        FieldKind::Choice { options, .. } => {
            let s = value.as_str().unwrap_or_default();
            if !options.iter().any(|o| o.value == s) {
                push(None, Problem::UnknownOption);
            }
            Some(value)
        }
        FieldKind::Checkbox { options, min_selected } => {
            if options.is_empty() {
                let Value::Bool(b) = value else {
                    push(None, Problem::NotAllowed);
                    return None;
                };
                if required && !b {
                    push(None, Problem::Required);
                }
                return Some(Value::Bool(b));
            }
            let Value::Array(items) = &value else {
                push(None, Problem::NotAllowed);
                return None;
            };
            let mut picked = Vec::new();
            for it in items {
                match it.as_str() {
                    Some(s) if options.iter().any(|o| o.value == s) => {
                        if !picked.contains(&s) {
                            picked.push(s)
                        }
                    }
                    _ => {
                        push(None, Problem::UnknownOption);
                        return Some(value.clone());
                    }
                }
            }
            if let Some(min) = min_selected.filter(|m| (picked.len() as u32) < *m) {
                push(None, Problem::TooFewSelected { min });
            }
            Some(Value::Array(picked.into_iter().map(|s| Value::String(s.to_string())).collect()))
        }
        FieldKind::File { types, .. } => {
            let id = value.as_str().unwrap_or_default();
            match attachments.attachment(id, path) {
                Some(media) if types.contains(&media) => Some(value),
                _ => {
                    push(None, Problem::UnknownAttachment);
                    None
                }
            }
        }
        FieldKind::Group { fields, min_items, max_items } => {
            let Value::Array(items) = value else {
                push(None, Problem::NotAllowed);
                return None;
            };
            if items.len() > *max_items as usize {
                push(None, Problem::TooManyItems { max: *max_items });
                return None;
            }
            if let Some(min) = min_items.filter(|m| items.len() < *m as usize) {
                push(None, Problem::TooFewItems { min });
            }
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let Value::Object(mut o) = item else {
                    errors.push(FieldError {
                        field: format!("{path}.{i}"),
                        label: label.to_string(),
                        problem: Problem::NotAllowed,
                    });
                    continue;
                };
                let mut kept = Map::new();
                for sub in fields {
                    let v = o.remove(&sub.id);
                    let sub_path = format!("{path}.{i}.{}", sub.id);
                    let sub_label = format!("{label} {}: {}", i + 1, sub.label);
                    if let Some(v) = check_value(sub, &sub_path, &sub_label, sub.required, v, attachments, errors) {
                        kept.insert(sub.id.clone(), v);
                    }
                }
                if !o.is_empty() {
                    errors.push(FieldError {
                        field: format!("{path}.{i}"),
                        label: label.to_string(),
                        problem: Problem::NotAllowed,
                    });
                }
                out.push(Value::Object(kept));
            }
            Some(Value::Array(out))
        }
    }
}

/// A deliberately simple address check: one `@`, a dotted domain, no spaces, sane lengths.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && s.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.is_ascii()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == '"')
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procedure::ProcedureDef;
    use proptest::prelude::*;
    use serde_json::json;

    const DEF: &str = r#"
tenant = "t"
code = "c"
title = "テスト"
description = "d"
standard_days = 3
legal_basis = "l"
applicants = ["self", "agent"]
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
required = true
options = [{ value = "self", label = "本人" }, { value = "agent", label = "代理人" }]
[[pages.fields]]
id = "relation"
label = "続柄"
type = "text"
max_length = 10
visible_if = { field = "kind", equals = "agent" }
required_if = { field = "kind", equals = "agent" }
[[pages.fields]]
id = "name"
label = "氏名"
type = "name"
required = true
[[pages.fields]]
id = "born"
label = "生年月日"
type = "date"
min = "1900-01-01"
max = "2030-12-31"
[[pages.fields]]
id = "count"
label = "通数"
type = "number"
min = 1
max = 10
[[pages.fields]]
id = "code"
label = "番号"
type = "text"
pattern = "[0-9]{7}"
[[pages.fields]]
id = "kids"
label = "子"
type = "group"
min_items = 1
max_items = 3
[[pages.fields.fields]]
id = "given"
label = "名"
type = "text"
required = true
[[pages.fields.fields]]
id = "age"
label = "年齢"
type = "number"
min = 0
max = 18
"#;

    fn def() -> ProcedureDef {
        ProcedureDef::parse("t.toml", DEF).unwrap()
    }

    fn none(_: &str, _: &str) -> Option<String> {
        None
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    fn valid() -> Answers {
        json!({
            "kind": "self",
            "name": {"family": "福島", "given": "太郎", "family_kana": "フクシマ", "given_kana": "たろう"},
            "born": "1985-04-01",
            "count": "２",
            "code": "１２３４５６７",
            "kids": [{"given": "花子", "age": 3}]
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn valid_answers_are_normalised() {
        let mut a = valid();
        assert!(validate(&def(), None, &mut a, &none).is_empty());
        assert_eq!(a["count"], json!(2));
        assert_eq!(a["code"], json!("1234567"));
        assert_eq!(a["name"]["family_kana"], json!("ふくしま"));
    }

    #[test]
    fn conditions_ranges_groups_and_unknown_keys() {
        let d = def();
        let mut a = valid();
        a.insert("kind".into(), json!("agent"));
        assert_eq!(fields(&validate(&d, None, &mut a, &none)), ["relation"], "required when agent");
        let mut a = valid();
        a.insert("relation".into(), json!("父"));
        assert!(validate(&d, None, &mut a, &none).is_empty());
        assert!(!a.contains_key("relation"), "hidden answers are dropped at submission");
        let mut a = valid();
        a.insert("born".into(), json!("1899-12-31"));
        a.insert("count".into(), json!(11));
        a.insert("code".into(), json!("12345"));
        a.insert("kids".into(), json!([{"given": "", "age": 19}, {"given": "x"}, {"given": "y"}, {"given": "z"}]));
        a.insert("extra".into(), json!(1));
        let errs = validate(&d, None, &mut a, &none);
        assert_eq!(fields(&errs), ["extra", "born.year", "count", "code", "kids"]);
        let mut a = valid();
        a.insert("kids".into(), json!([{"given": "", "age": 19}]));
        assert_eq!(fields(&validate(&d, None, &mut a, &none)), ["kids.0.given", "kids.0.age"]);
        let mut a = valid();
        a.insert("kids".into(), json!([]));
        assert_eq!(fields(&validate(&d, None, &mut a, &none)), ["kids"], "min_items");
        let mut a = valid();
        a.insert(
            "name".into(),
            json!({"family": "福島", "given": "太郎", "family_kana": "福島", "given_kana": "たろう"}),
        );
        assert_eq!(fields(&validate(&d, None, &mut a, &none)), ["name.family_kana"]);
    }

    #[test]
    fn form_posts_are_read_into_answers() {
        let d = def();
        let pairs: Vec<(String, String)> = [
            ("f.kind", "self"),
            ("f.name.family", "福島"),
            ("f.name.given", "太郎"),
            ("f.name.family_kana", "ふくしま"),
            ("f.name.given_kana", "たろう"),
            ("f.born.year", "１９８５"),
            ("f.born.month", "4"),
            ("f.born.day", "1"),
            ("f.count", "3"),
            ("f.kids.0.given", "花子"),
            ("f.kids.0.age", "3"),
            ("f.kids.1.given", ""),
            ("f.kids.1.age", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut a = Answers::new();
        read_page(&d.pages[0], &FormInput::new(&pairs), &mut a);
        assert_eq!(a["born"], json!("1985-04-01"));
        assert_eq!(a["count"], json!(3));
        assert_eq!(a["kids"].as_array().unwrap().len(), 1, "a blank spare row is not an item");
        assert!(validate(&d, Some(0), &mut a, &none).is_empty());
        // An impossible date stays as typed, and is reported.
        let bad: Vec<(String, String)> = vec![
            ("f.born.year".into(), "2023".into()),
            ("f.born.month".into(), "2".into()),
            ("f.born.day".into(), "29".into()),
        ];
        let mut a = Answers::new();
        read_page(&d.pages[0], &FormInput::new(&bad), &mut a);
        assert_eq!(a["born"]["day"], json!("29"));
        assert!(fields(&validate(&d, Some(0), &mut a, &none)).contains(&"born.year"));
    }

    // Found by fuzzing (fuzz/fuzz_targets/forms.rs): answers that pass must pass again
    // unchanged, as the submission validates every page's stored answers once more.
    #[test]
    fn normalised_text_passes_again_unchanged() {
        let extra = "[[pages.fields]]\nid = \"note\"\nlabel = \"備考\"\ntype = \"text\"\nmultiline = true\n\
                     [[pages.fields]]\nid = \"kana\"\nlabel = \"カナ\"\ntype = \"text\"\nmax_length = 8\n\
                     pattern = \"[ァ-ヴー]+\"\n";
        let d = ProcedureDef::parse("t.toml", &format!("{DEF}{extra}")).unwrap();
        let mut a = valid();
        a.insert("note".into(), json!("a\r\r\nb\rc\r\nd"));
        assert!(validate(&d, None, &mut a, &none).is_empty());
        assert_eq!(a["note"], json!("a\n\nb\nc\nd"));
        let before = a.clone();
        assert!(validate(&d, None, &mut a, &none).is_empty());
        assert_eq!(a, before);
        // ㌀ is アパート in NFKC: three are 12 characters, over the limit of 8.
        let mut a = valid();
        a.insert("kana".into(), json!("㌀㌀㌀"));
        assert_eq!(fields(&validate(&d, None, &mut a, &none)), ["kana"]);
        let mut a = valid();
        a.insert("kana".into(), json!("㌀㌀"));
        assert!(validate(&d, None, &mut a, &none).is_empty());
        assert_eq!(a["kana"], json!("アパートアパート"));
    }

    // Found by fuzzing: integer parsing took signs ("2026-+4-01" was 1 April).
    #[test]
    fn iso_dates_are_ascii_digits_only() {
        assert_eq!(parse_iso_date("2026-04-01").map(iso).as_deref(), Some("2026-04-01"));
        for s in ["2026-+4-01", "2026-04-+1", "+026-04-01", "2026-4-01"] {
            assert_eq!(parse_iso_date(s), None, "{s}");
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::hash_map("[a-z_]{1,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // Whatever a client sends, validation answers with errors, never a panic; and what it
        // accepts it accepts again unchanged (normalisation is idempotent).
        #[test]
        fn validation_is_total_and_idempotent(values in proptest::collection::vec(any_json(), 7)) {
            let d = def();
            let keys = ["kind", "relation", "name", "born", "count", "code", "kids"];
            let mut a: Answers = keys.iter().zip(values).map(|(k, v)| (k.to_string(), v)).collect();
            let errs = validate(&d, None, &mut a, &none);
            if errs.is_empty() {
                let before = a.clone();
                prop_assert!(validate(&d, None, &mut a, &none).is_empty());
                prop_assert_eq!(before, a);
            }
        }

        #[test]
        fn valid_answers_with_any_text_round_trip(given in "[ぁ-んァ-ン一-龥a-zA-Z]{1,20}", n in 1i64..=10) {
            let d = def();
            let mut a = valid();
            a.insert("count".into(), json!(n));
            a.insert("kids".into(), json!([{"given": given}]));
            prop_assert!(validate(&d, None, &mut a, &none).is_empty());
        }
    }
}
