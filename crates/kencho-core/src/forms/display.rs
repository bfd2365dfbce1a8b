//! Answers as a person reads them: dates in both calendars, names with their reading, choices by label.

use super::*;

/// The answer for display (dates in both calendars, names with their reading, etc.). `yes_no` is
/// how a lone checkbox reads when ticked and when not, in the reader's language.
pub fn display_value(field: &Field, value: &Value, lang: &str, yes_no: [&str; 2]) -> String {
    let s = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    match &field.kind {
        FieldKind::Date { .. } => match value.as_str().and_then(parse_iso_date) {
            Some(d) if lang == "en" => crate::wareki::format_en(d),
            Some(d) => crate::wareki::format_both(d),
            None => value.to_string(),
        },
        FieldKind::Name {} => format!("{} {}（{} {}）", s("family"), s("given"), s("family_kana"), s("given_kana")),
        FieldKind::Address {} => {
            let b = s("building");
            format!(
                "〒{} {}{}{}{}",
                s("postal_code"),
                s("prefecture"),
                s("city"),
                s("street"),
                if b.is_empty() { String::new() } else { format!(" {b}") }
            )
        }
        FieldKind::Choice { options, .. } => {
            let v = value.as_str().unwrap_or_default();
            options.iter().find(|o| o.value == v).map(|o| option_label(o, lang)).unwrap_or_else(|| v.to_string())
        }
        FieldKind::Checkbox { options, .. } => {
            if options.is_empty() {
                let [yes, no] = yes_no;
                if value.as_bool().unwrap_or(false) { yes } else { no }.to_string()
            } else {
                value
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(|v| {
                                options
                                    .iter()
                                    .find(|o| o.value == v)
                                    .map(|o| option_label(o, lang))
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect::<Vec<_>>()
                            .join("、")
                    })
                    .unwrap_or_default()
            }
        }
        FieldKind::Number { unit, .. } => match value {
            Value::Number(n) => format!("{n}{}", unit.as_deref().unwrap_or("")),
            other => other.as_str().unwrap_or_default().to_string(),
        },
        FieldKind::Group { .. } => String::new(),
        _ => match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

pub fn option_label(o: &crate::procedure::ChoiceOption, lang: &str) -> String {
    if lang == "en" {
        o.label_en.clone().unwrap_or_else(|| o.label.clone())
    } else {
        o.label.clone()
    }
}
