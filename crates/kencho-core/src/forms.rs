//! Answers to a procedure's form: reading them from HTML form posts, and validating them
//! (server side, the only side that counts; see the `check` module).
//!
//! Answers are a JSON object keyed by field id. A value that could not be understood is kept as
//! entered, so the page can show it back with its error; validation then reports it.

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Date, Month};

use crate::procedure::{Condition, Field, FieldKind, Page, ProcedureDef};
use crate::text::nfkc_trim;

mod check;
mod display;
mod problem;

pub use check::*;
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

#[cfg(test)]
mod tests;
