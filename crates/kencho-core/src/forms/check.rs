//! Validating answers (server side, the only side that counts): one function per field kind,
//! each normalising what it can and reporting what it cannot accept.

use super::*;
use crate::procedure::ChoiceOption;
use crate::text::{digits_only, has_control_chars, is_kana, to_hiragana, PREFECTURES};

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

/// Where the errors of one answer go: its path and label, and the list they are added to.
struct Report<'a> {
    path: &'a str,
    label: &'a str,
    errors: &'a mut Vec<FieldError>,
}

impl Report<'_> {
    /// Records a problem with the answer, or with one of its parts (`sub`, e.g. `year`).
    fn push(&mut self, sub: Option<&str>, problem: Problem) {
        let field = match sub {
            Some(s) => format!("{}.{s}", self.path),
            None => self.path.to_string(),
        };
        self.errors.push(FieldError { field, label: self.label.to_string(), problem })
    }
}

/// Checks one answer and returns what to keep (normalised), or `None` to drop it.
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
    let mut report = Report { path, label, errors };
    let r = &mut report;
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
                r.push(first_part, Problem::Required);
            }
            return None;
        }
    };
    match &field.kind {
        FieldKind::Text { min_length, max_length, pattern, pattern_message, multiline } => {
            check_text(r, value, *min_length, *max_length, pattern.as_deref(), pattern_message, *multiline)
        }
        FieldKind::Number { min, max, .. } => check_number(r, value, *min, *max),
        FieldKind::Date { min, max } => check_date(r, value, min.as_deref(), max.as_deref()),
        FieldKind::Name {} => check_name(r, value),
        FieldKind::Address {} => check_address(r, value),
        FieldKind::Phone {} => check_phone(r, value),
        FieldKind::Email {} => check_email(r, value),
        FieldKind::Choice { options, .. } => check_choice(r, value, options),
        FieldKind::Checkbox { options, .. } if options.is_empty() => check_single_checkbox(r, value, required),
        FieldKind::Checkbox { options, min_selected } => check_checkboxes(r, value, options, *min_selected),
        FieldKind::File { types, .. } => check_file(r, value, types, attachments),
        FieldKind::Group { fields, min_items, max_items } => {
            check_group(r, value, fields, *min_items, *max_items, attachments)
        }
    }
}

fn check_text(
    r: &mut Report<'_>,
    value: Value,
    min_length: Option<u32>,
    max_length: Option<u32>,
    pattern: Option<&str>,
    pattern_message: &Option<String>,
    multiline: bool,
) -> Option<Value> {
    let Value::String(s) = value else {
        r.push(None, Problem::NotAllowed);
        return None;
    };
    // A patterned answer is kept in the NFKC form it is matched in, so its length is
    // counted in that form too (㌀ becomes four characters).
    let s = if pattern.is_some() { nfkc_trim(&s) } else { s };
    // Every CR, alone or before LF, is one line break (as HTML reads a textarea): a
    // stored answer then reads the same when validated again.
    let s = if multiline { s.trim().replace("\r\n", "\n").replace('\r', "\n") } else { s.trim().to_string() };
    let n = s.chars().count() as u32;
    if has_control_chars(&s, multiline) {
        r.push(None, Problem::ControlCharacters);
    } else if let Some(max) = max_length.filter(|m| n > *m) {
        r.push(None, Problem::TooLong { max });
    } else if n > 10_000 {
        r.push(None, Problem::TooLong { max: 10_000 });
    } else if let Some(min) = min_length.filter(|m| n < *m) {
        r.push(None, Problem::TooShort { min });
    } else if let Some(p) = pattern {
        let ok = regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|re| re.is_match(&s));
        if !ok {
            r.push(None, Problem::Pattern { message: pattern_message.clone() });
        }
    }
    Some(Value::String(s))
}

fn check_number(r: &mut Report<'_>, value: Value, min: Option<i64>, max: Option<i64>) -> Option<Value> {
    let n = match &value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => nfkc_trim(s).replace(',', "").parse::<i64>().ok(),
        _ => None,
    };
    let Some(n) = n else {
        r.push(None, Problem::NotANumber);
        return Some(value);
    };
    if let Some(m) = min.filter(|m| n < *m) {
        r.push(None, Problem::BelowMin { min: m });
    } else if let Some(m) = max.filter(|m| n > *m) {
        r.push(None, Problem::AboveMax { max: m });
    }
    Some(Value::from(n))
}

fn check_date(r: &mut Report<'_>, value: Value, min: Option<&str>, max: Option<&str>) -> Option<Value> {
    let d = match &value {
        Value::String(s) => parse_iso_date(s),
        Value::Object(_) => date_from_parts(&value),
        _ => None,
    };
    let Some(d) = d else {
        r.push(Some("year"), Problem::NotADate);
        return Some(value);
    };
    if let Some(m) = min.filter(|m| parse_iso_date(m).is_some_and(|m| d < m)) {
        r.push(Some("year"), Problem::DateBefore { min: m.to_string() });
    } else if let Some(m) = max.filter(|m| parse_iso_date(m).is_some_and(|m| d > m)) {
        r.push(Some("year"), Problem::DateAfter { max: m.to_string() });
    }
    Some(Value::String(iso(d)))
}

fn check_name(r: &mut Report<'_>, value: Value) -> Option<Value> {
    let Value::Object(mut o) = value else {
        r.push(Some("family"), Problem::NotAllowed);
        return None;
    };
    o.retain(|k, _| matches!(k.as_str(), "family" | "given" | "family_kana" | "given_kana"));
    for part in ["family", "given", "family_kana", "given_kana"] {
        let s = o.get(part).and_then(Value::as_str).map(|s| s.trim().to_string()).unwrap_or_default();
        // Once any part is given, all four are needed.
        if s.is_empty() {
            r.push(Some(part), Problem::Required);
            continue;
        }
        if has_control_chars(&s, false) {
            r.push(Some(part), Problem::ControlCharacters);
        } else if s.chars().count() > 50 {
            r.push(Some(part), Problem::TooLong { max: 50 });
        } else if part.ends_with("_kana") {
            let k = nfkc_trim(&s);
            if !is_kana(&k) {
                r.push(Some(part), Problem::NotKana);
            }
            o.insert(part.to_string(), Value::String(to_hiragana(&k)));
            continue;
        }
        o.insert(part.to_string(), Value::String(s));
    }
    Some(Value::Object(o))
}

fn check_address(r: &mut Report<'_>, value: Value) -> Option<Value> {
    let Value::Object(mut o) = value else {
        r.push(Some("postal_code"), Problem::NotAllowed);
        return None;
    };
    o.retain(|k, _| matches!(k.as_str(), "postal_code" | "prefecture" | "city" | "street" | "building"));
    let get = |o: &Map<String, Value>, k: &str| {
        o.get(k).and_then(Value::as_str).map(|s| s.trim().to_string()).unwrap_or_default()
    };
    let pc = digits_only(&get(&o, "postal_code"));
    if pc.len() != 7 {
        r.push(Some("postal_code"), Problem::PostalCode);
    } else {
        o.insert("postal_code".into(), Value::String(format!("{}-{}", &pc[..3], &pc[3..])));
    }
    if !PREFECTURES.contains(&get(&o, "prefecture").as_str()) {
        r.push(Some("prefecture"), Problem::Prefecture);
    }
    for part in ["city", "street", "building"] {
        let s = get(&o, part);
        if s.is_empty() {
            if part != "building" {
                r.push(Some(part), Problem::Required);
            }
        } else if has_control_chars(&s, false) {
            r.push(Some(part), Problem::ControlCharacters);
        } else if s.chars().count() > 100 {
            r.push(Some(part), Problem::TooLong { max: 100 });
        }
    }
    Some(Value::Object(o))
}

fn check_phone(r: &mut Report<'_>, value: Value) -> Option<Value> {
    let raw = value.as_str().unwrap_or_default();
    let normalised = nfkc_trim(raw);
    let digits = digits_only(raw);
    let shape_ok = normalised.chars().all(|c| c.is_ascii_digit() || c == '-' || c == '(' || c == ')' || c == ' ');
    if !shape_ok || !(10..=11).contains(&digits.len()) || !digits.starts_with('0') {
        r.push(None, Problem::Phone);
        return Some(value);
    }
    Some(Value::String(normalised))
}

fn check_email(r: &mut Report<'_>, value: Value) -> Option<Value> {
    let s = nfkc_trim(value.as_str().unwrap_or_default());
    if !is_email(&s) {
        r.push(None, Problem::Email);
    }
    Some(Value::String(s))
}

fn check_choice(r: &mut Report<'_>, value: Value, options: &[ChoiceOption]) -> Option<Value> {
    let s = value.as_str().unwrap_or_default();
    if !options.iter().any(|o| o.value == s) {
        r.push(None, Problem::UnknownOption);
    }
    Some(value)
}

/// A single yes/no box: its answer is a boolean.
fn check_single_checkbox(r: &mut Report<'_>, value: Value, required: bool) -> Option<Value> {
    let Value::Bool(b) = value else {
        r.push(None, Problem::NotAllowed);
        return None;
    };
    if required && !b {
        r.push(None, Problem::Required);
    }
    Some(Value::Bool(b))
}

/// A set of boxes: its answer is the list of options ticked, each once.
fn check_checkboxes(
    r: &mut Report<'_>,
    value: Value,
    options: &[ChoiceOption],
    min_selected: Option<u32>,
) -> Option<Value> {
    let Value::Array(items) = &value else {
        r.push(None, Problem::NotAllowed);
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
                r.push(None, Problem::UnknownOption);
                return Some(value.clone());
            }
        }
    }
    if let Some(min) = min_selected.filter(|m| (picked.len() as u32) < *m) {
        r.push(None, Problem::TooFewSelected { min });
    }
    Some(Value::Array(picked.into_iter().map(|s| Value::String(s.to_string())).collect()))
}

fn check_file(r: &mut Report<'_>, value: Value, types: &[String], attachments: &dyn AttachmentLookup) -> Option<Value> {
    let id = value.as_str().unwrap_or_default();
    match attachments.attachment(id, r.path) {
        Some(media) if types.contains(&media) => Some(value),
        _ => {
            r.push(None, Problem::UnknownAttachment);
            None
        }
    }
}

/// A repeatable group: each item is checked field by field, under its own path and label.
fn check_group(
    r: &mut Report<'_>,
    value: Value,
    fields: &[Field],
    min_items: Option<u32>,
    max_items: u32,
    attachments: &dyn AttachmentLookup,
) -> Option<Value> {
    let Value::Array(items) = value else {
        r.push(None, Problem::NotAllowed);
        return None;
    };
    if items.len() > max_items as usize {
        r.push(None, Problem::TooManyItems { max: max_items });
        return None;
    }
    if let Some(min) = min_items.filter(|m| items.len() < *m as usize) {
        r.push(None, Problem::TooFewItems { min });
    }
    let (path, label) = (r.path, r.label);
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut o) = item else {
            r.push(Some(&i.to_string()), Problem::NotAllowed);
            continue;
        };
        let mut kept = Map::new();
        for sub in fields {
            let v = o.remove(&sub.id);
            let sub_path = format!("{path}.{i}.{}", sub.id);
            let sub_label = format!("{label} {}: {}", i + 1, sub.label);
            if let Some(v) = check_value(sub, &sub_path, &sub_label, sub.required, v, attachments, r.errors) {
                kept.insert(sub.id.clone(), v);
            }
        }
        // Keys that are not fields of the group are refused.
        if !o.is_empty() {
            r.push(Some(&i.to_string()), Problem::NotAllowed);
        }
        out.push(Value::Object(kept));
    }
    Some(Value::Array(out))
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
