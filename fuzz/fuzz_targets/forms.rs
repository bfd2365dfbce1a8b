//! Form answers against the demo procedures: HTML form posts read by `read_page`, JSON answers
//! (the API's shape), and answers built from the fields' own parts and option values, all
//! validated page by page and whole. Nothing panics; answers that validate cleanly are a fixed
//! point (validating the normalised answers again changes nothing and finds nothing); every
//! error and answer can be shown. Also `parse_iso_date` against its own formatting.
#![no_main]

use arbitrary::Arbitrary;
use kencho_core::forms::{
    control_name, display_value, iso, parse_iso_date, read_page, validate, Answers, FieldError, FormInput,
};
use kencho_core::procedure::{Field, FieldKind, ProcedureDef};
use kencho_core::text::PREFECTURES;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

#[derive(Arbitrary, Debug)]
enum Input {
    /// A form post to one page: (control, value) pairs.
    Form {
        def: u8,
        page: u8,
        pairs: Vec<(Name, Text)>,
    },
    /// Answers as JSON built from parts; `page` None validates the whole procedure.
    Answers {
        def: u8,
        page: Option<u8>,
        values: Vec<(Key, Json)>,
    },
    /// Answers as JSON text, as the API receives them.
    JsonText {
        def: u8,
        page: Option<u8>,
        text: String,
    },
    Date(String),
}

/// A control name: one the page really has, or any text.
#[derive(Arbitrary, Debug)]
enum Name {
    Known(u16),
    Raw(String),
}

/// An answer key: a field id or part name the procedure has, or any text.
#[derive(Arbitrary, Debug)]
enum Key {
    Known(u16),
    Raw(String),
}

/// A text value, biased towards what the validators look for.
#[derive(Arbitrary, Debug)]
enum Text {
    Raw(String),
    Option(u16),
    Prefecture(u8),
    Number(i64),
    Date(u16, u8, u8),
    Attachment(u8),
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Text),
    Array(Vec<Json>),
    Object(Vec<(Key, Json)>),
}

/// What a procedure offers to pick from.
struct Vocabulary {
    keys: Vec<String>,
    options: Vec<String>,
}

fn vocabulary(def: &ProcedureDef) -> Vocabulary {
    fn walk(f: &Field, v: &mut Vocabulary) {
        v.keys.push(f.id.clone());
        match &f.kind {
            FieldKind::Choice { options, .. } | FieldKind::Checkbox { options, .. } => {
                v.options.extend(options.iter().map(|o| o.value.clone()))
            }
            FieldKind::Group { fields, .. } => fields.iter().for_each(|s| walk(s, v)),
            _ => {}
        }
    }
    let mut v = Vocabulary { keys: Vec::new(), options: Vec::new() };
    def.fields().for_each(|f| walk(f, &mut v));
    let parts = ["year", "month", "day", "family", "given", "family_kana", "given_kana"];
    let address = ["postal_code", "prefecture", "city", "street", "building"];
    v.keys.extend(parts.iter().chain(&address).map(|s| s.to_string()));
    v
}

/// Every control a page's form has (groups with three rows).
fn controls(field: &Field, path: &str, out: &mut Vec<String>) {
    let parts: &[&str] = match &field.kind {
        FieldKind::Date { .. } => &["year", "month", "day"],
        FieldKind::Name {} => &["family", "given", "family_kana", "given_kana"],
        FieldKind::Address {} => &["postal_code", "prefecture", "city", "street", "building"],
        FieldKind::Group { fields, .. } => {
            for i in 0..3 {
                for sub in fields {
                    controls(sub, &format!("{path}.{i}.{}", sub.id), out);
                }
            }
            return;
        }
        _ => &[],
    };
    if parts.is_empty() {
        out.push(control_name(path, None));
    }
    out.extend(parts.iter().map(|p| control_name(path, Some(p))));
}

fn pick(list: &[String], i: u16) -> &str {
    if list.is_empty() {
        ""
    } else {
        &list[usize::from(i) % list.len()]
    }
}

fn text(v: &Vocabulary, t: Text) -> String {
    match t {
        Text::Raw(s) => s,
        Text::Option(i) => pick(&v.options, i).to_string(),
        Text::Prefecture(i) => PREFECTURES[usize::from(i) % PREFECTURES.len()].to_string(),
        Text::Number(n) => n.to_string(),
        Text::Date(y, m, d) => format!("{y:04}-{m:02}-{d:02}"),
        Text::Attachment(n) => format!("att-{n}"),
    }
}

fn key(v: &Vocabulary, k: Key) -> String {
    match k {
        Key::Known(i) => pick(&v.keys, i).to_string(),
        Key::Raw(s) => s,
    }
}

fn json(v: &Vocabulary, j: Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Int(n) => Value::from(n),
        Json::Float(f) => Value::from(f),
        Json::Text(t) => Value::String(text(v, t)),
        Json::Array(items) => Value::Array(items.into_iter().map(|j| json(v, j)).collect()),
        Json::Object(entries) => Value::Object(entries.into_iter().map(|(k, j)| (key(v, k), json(v, j))).collect()),
    }
}

/// Attachments `att-…` exist, as PDFs, on every field.
fn attachment(id: &str, _field: &str) -> Option<String> {
    id.starts_with("att-").then(|| "application/pdf".to_string())
}

/// Whether validation found nothing wrong with a field's answer (or its parts or rows).
fn clean(errors: &[FieldError], id: &str) -> bool {
    !errors.iter().any(|e| e.field == id || e.field.strip_prefix(id).is_some_and(|rest| rest.starts_with('.')))
}

fn check(def: &ProcedureDef, page: Option<usize>, mut answers: Answers) {
    let errors = validate(def, page, &mut answers, &attachment);
    for e in &errors {
        let _ = (e.problem.key(), e.problem.args(), e.problem.authors_message());
    }
    for (k, v) in &answers {
        if let Some(f) = def.field(k) {
            let _ = (display_value(f, v, "ja", ["はい", "いいえ"]), display_value(f, v, "en", ["Yes", "No"]));
        }
    }
    // Each answer that passed is a fixed point: validated again (as the submission does with
    // the answers of every page), it passes unchanged. Fields whose conditions look at an
    // answer that failed are left out: dropping that answer may rightly hide them.
    let mut again = answers.clone();
    let errors_again = validate(def, page, &mut again, &attachment);
    for f in def.fields() {
        let conditions_clean = [&f.visible_if, &f.required_if].into_iter().flatten().all(|c| clean(&errors, &c.field));
        if clean(&errors, &f.id) && conditions_clean {
            assert!(clean(&errors_again, &f.id), "{} passed, then failed: {:?}", f.id, answers.get(&f.id));
            assert_eq!(again.get(&f.id), answers.get(&f.id), "{} changed when validated again", f.id);
        }
    }
    // A page's answers go on to the whole-procedure check at submission.
    if page.is_some() {
        check(def, None, answers);
    }
}

fn procedure(i: u8) -> &'static ProcedureDef {
    let defs = kencho_fuzz::procedures();
    &defs[usize::from(i) % defs.len()]
}

fn page_of(def: &ProcedureDef, page: Option<u8>) -> Option<usize> {
    page.map(|p| usize::from(p) % def.pages.len())
}

fuzz_target!(|input: Input| {
    match input {
        Input::Form { def, page, pairs } => {
            let def = procedure(def);
            let pi = usize::from(page) % def.pages.len();
            let v = vocabulary(def);
            let mut names = Vec::new();
            for f in &def.pages[pi].fields {
                controls(f, &f.id, &mut names);
            }
            let pairs: Vec<(String, String)> = pairs
                .into_iter()
                .map(|(n, t)| {
                    let name = match n {
                        Name::Known(i) => pick(&names, i).to_string(),
                        Name::Raw(s) => s,
                    };
                    (name, text(&v, t))
                })
                .collect();
            let mut answers = Answers::new();
            read_page(&def.pages[pi], &FormInput::new(&pairs), &mut answers);
            check(def, Some(pi), answers);
        }
        Input::Answers { def, page, values } => {
            let def = procedure(def);
            let v = vocabulary(def);
            let answers: Map<String, Value> = values.into_iter().map(|(k, j)| (key(&v, k), json(&v, j))).collect();
            check(def, page_of(def, page), answers);
        }
        Input::JsonText { def, page, text } => {
            let def = procedure(def);
            if let Ok(Value::Object(answers)) = serde_json::from_str(&text) {
                check(def, page_of(def, page), answers);
            }
        }
        Input::Date(s) => {
            if let Some(d) = parse_iso_date(&s) {
                assert_eq!(iso(d), s, "parse_iso_date accepted a date it does not write back alike");
            }
        }
    }
});
