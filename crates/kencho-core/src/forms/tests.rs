//! Tests of reading and validating answers (moved from `forms.rs` unchanged).

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
    a.insert("name".into(), json!({"family": "福島", "given": "太郎", "family_kana": "福島", "given_kana": "たろう"}));
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
