//! Renders a procedure's form page as accessible HTML, following the Digital Agency Design
//! System's conventions: a label for every input, `fieldset`/`legend` for groups, errors tied
//! with `aria-describedby`, required marks in words. Written in Rust rather than a template
//! because fields nest (repeatable groups) and every type shares the same frame.

use std::collections::HashMap;
use std::fmt::Write;

use kencho_core::forms::{condition_holds, control_id, control_name, option_label, Answers, FieldError};
use kencho_core::procedure::{Field, FieldKind, Page, ProcedureDef};
use kencho_core::text::PREFECTURES;
use serde_json::Value;

use crate::applications::Attachment;
use crate::i18n::t;

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

pub fn label_of<'a>(f: &'a Field, lang: &str) -> &'a str {
    if lang == "en" {
        f.label_en.as_deref().unwrap_or(&f.label)
    } else {
        &f.label
    }
}

/// Error messages by control name (`f.birth.year`).
pub fn errors_by_control(errors: &[FieldError], lang: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for e in errors {
        m.entry(control_name(&e.field, None)).or_insert_with(|| e.problem.message(lang));
    }
    m
}

struct Ctx<'a> {
    lang: &'a str,
    errors: &'a HashMap<String, String>,
    attachments: &'a [Attachment],
    answers: &'a Answers,
}

/// The fields of one page.
pub fn render_page(
    def: &ProcedureDef,
    page: &Page,
    answers: &Answers,
    errors: &[FieldError],
    attachments: &[Attachment],
    lang: &str,
) -> String {
    let errs = errors_by_control(errors, lang);
    let c = Ctx { lang, errors: &errs, attachments, answers };
    let mut out = String::new();
    let page_fields: Vec<&str> = page.fields.iter().map(|f| f.id.as_str()).collect();
    for f in &page.fields {
        // A condition on an earlier page is known: skip the field when it does not apply.
        // A condition on this page is shown as a hint; app.js hides the field live.
        let mut data = String::new();
        if let Some(cond) = &f.visible_if {
            if page_fields.contains(&cond.field.as_str()) {
                let values = cond
                    .equals
                    .iter()
                    .cloned()
                    .chain(cond.one_of.iter().flatten().cloned())
                    .collect::<Vec<_>>()
                    .join("|");
                let _ = write!(data, " data-show-if=\"{}\" data-show-values=\"{}\"", esc(&cond.field), esc(&values));
            } else if !condition_holds(cond, answers) {
                continue;
            }
        }
        let _ = write!(out, "<div class=\"field\"{data}>");
        if let Some(cond) = &f.visible_if {
            if page_fields.contains(&cond.field.as_str()) {
                let dep = def.field(&cond.field).map(|d| label_of(d, lang)).unwrap_or("");
                let _ = write!(
                    out,
                    "<p class=\"condition\">{}</p>",
                    esc(&t(lang, "form.conditional").replace("{field}", dep))
                );
            }
        }
        let required = f.required || f.required_if.as_ref().is_some_and(|c| condition_holds(c, answers));
        field(&c, &mut out, f, &f.id, answers.get(&f.id), required, label_of(f, lang));
        out.push_str("</div>");
    }
    out
}

/// The ` aria-describedby="…"` attribute for a control (empty when nothing describes it) and
/// the HTML of its error message, if any.
fn describedby(c: &Ctx<'_>, name: &str, help: bool) -> (String, String) {
    let id = control_id(name);
    let mut ids = Vec::new();
    let mut html = String::new();
    if let Some(msg) = c.errors.get(name) {
        ids.push(format!("{id}-error"));
        let _ = write!(
            html,
            "<p class=\"error-message\" id=\"{id}-error\"><span class=\"visually-hidden\">{}</span>{}</p>",
            esc(&t(c.lang, "form.error_prefix")),
            esc(msg)
        );
    }
    if help {
        ids.push(format!("{id}-help"));
    }
    let attr = if ids.is_empty() { String::new() } else { format!(" aria-describedby=\"{}\"", ids.join(" ")) };
    (attr, html)
}

fn req_mark(c: &Ctx<'_>, required: bool) -> String {
    if required {
        format!("<span class=\"req\">{}</span>", esc(&t(c.lang, "form.required")))
    } else {
        format!("<span class=\"opt\">{}</span>", esc(&t(c.lang, "form.optional")))
    }
}

fn help_html(f: &Field, name: &str) -> String {
    match &f.help {
        Some(h) => format!("<p class=\"help\" id=\"{}-help\">{}</p>", control_id(name), esc(h)),
        None => String::new(),
    }
}

/// ` aria-describedby` for the fieldset of a compound field (date, name, address, group):
/// its help text describes the whole group, so the parts do not each point at it.
fn group_desc(f: &Field, name: &str) -> String {
    if f.help.is_some() {
        format!(" aria-describedby=\"{}-help\"", control_id(name))
    } else {
        String::new()
    }
}

fn input(c: &Ctx<'_>, out: &mut String, name: &str, label: &str, value: &str, attrs: &str, help: bool) {
    let id = control_id(name);
    let (desc, err) = describedby(c, name, help);
    let invalid = if err.is_empty() { "" } else { " aria-invalid=\"true\"" };
    let _ = write!(
        out,
        "<div class=\"control\"><label for=\"{id}\">{label}</label>{err}<input id=\"{id}\" name=\"{}\" value=\"{}\"{attrs}{desc}{invalid}></div>",
        esc(name),
        esc(value)
    );
}

fn str_of(v: Option<&Value>, key: Option<&str>) -> String {
    let v = match key {
        Some(k) => v.and_then(|v| v.get(k)),
        None => v,
    };
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

#[allow(clippy::too_many_lines)]
fn field(c: &Ctx<'_>, out: &mut String, f: &Field, path: &str, value: Option<&Value>, required: bool, label: &str) {
    let name = control_name(path, None);
    let help = f.help.is_some();
    let lab = format!("{} {}", esc(label), req_mark(c, required));
    match &f.kind {
        FieldKind::Text { max_length, multiline, .. } => {
            // No `required`/`maxlength` attributes: the browser would block "save draft" and
            // cut text silently; the server reports every problem in the error summary.
            let _ = max_length;
            if *multiline {
                let id = control_id(&name);
                let (desc, err) = describedby(c, &name, help);
                let invalid = if err.is_empty() { "" } else { " aria-invalid=\"true\"" };
                let _ = write!(
                    out,
                    "<div class=\"control\"><label for=\"{id}\">{lab}</label>{}{err}<textarea id=\"{id}\" name=\"{}\" rows=\"5\"{desc}{invalid}>{}</textarea></div>",
                    help_html(f, &name),
                    esc(&name),
                    esc(&str_of(value, None))
                );
            } else {
                out.push_str(&help_html(f, &name));
                input(c, out, &name, &lab, &str_of(value, None), " type=\"text\"", help);
            }
        }
        FieldKind::Number { unit, .. } => {
            out.push_str(&help_html(f, &name));
            let unit =
                unit.as_deref().map(|u| format!(" <span class=\"unit\">（{}）</span>", esc(u))).unwrap_or_default();
            input(
                c,
                out,
                &name,
                &format!("{lab}{unit}"),
                &str_of(value, None),
                " type=\"text\" inputmode=\"numeric\" class=\"short\"",
                help,
            );
        }
        FieldKind::Phone {} => {
            out.push_str(&help_html(f, &name));
            input(
                c,
                out,
                &name,
                &lab,
                &str_of(value, None),
                " type=\"tel\" autocomplete=\"tel\" class=\"medium\"",
                help,
            );
        }
        FieldKind::Email {} => {
            out.push_str(&help_html(f, &name));
            input(c, out, &name, &lab, &str_of(value, None), " type=\"email\" autocomplete=\"email\"", help);
        }
        FieldKind::Date { .. } => {
            let _ = write!(
                out,
                "<fieldset class=\"date\"{}><legend>{lab}</legend>{}",
                group_desc(f, &name),
                help_html(f, &name)
            );
            let iso = value.and_then(Value::as_str).and_then(kencho_core::forms::parse_iso_date);
            for (part, key) in [("year", "form.year"), ("month", "form.month"), ("day", "form.day")] {
                let v = match iso {
                    Some(d) => match part {
                        "year" => d.year().to_string(),
                        "month" => (d.month() as u8).to_string(),
                        _ => d.day().to_string(),
                    },
                    None => str_of(value, Some(part)),
                };
                input(
                    c,
                    out,
                    &control_name(path, Some(part)),
                    &esc(&t(c.lang, key)),
                    &v,
                    " type=\"text\" inputmode=\"numeric\" class=\"tiny\"",
                    false,
                );
            }
            if let Some(d) = iso {
                let _ = write!(out, "<p class=\"hint\">{}</p>", esc(&kencho_core::wareki::format_both(d)));
            }
            out.push_str("</fieldset>");
        }
        FieldKind::Name {} => {
            let _ = write!(
                out,
                "<fieldset class=\"name\"{}><legend>{lab}</legend>{}",
                group_desc(f, &name),
                help_html(f, &name)
            );
            for (part, key, ac) in [
                ("family", "form.family", " autocomplete=\"family-name\""),
                ("given", "form.given", " autocomplete=\"given-name\""),
                ("family_kana", "form.family_kana", ""),
                ("given_kana", "form.given_kana", ""),
            ] {
                input(
                    c,
                    out,
                    &control_name(path, Some(part)),
                    &esc(&t(c.lang, key)),
                    &str_of(value, Some(part)),
                    &format!(" type=\"text\" class=\"medium\"{ac}"),
                    false,
                );
            }
            out.push_str("</fieldset>");
        }
        FieldKind::Address {} => {
            let _ = write!(
                out,
                "<fieldset class=\"address\"{}><legend>{lab}</legend>{}",
                group_desc(f, &name),
                help_html(f, &name)
            );
            input(
                c,
                out,
                &control_name(path, Some("postal_code")),
                &esc(&t(c.lang, "form.postal_code")),
                &str_of(value, Some("postal_code")),
                " type=\"text\" inputmode=\"numeric\" autocomplete=\"postal-code\" class=\"short\"",
                false,
            );
            let pname = control_name(path, Some("prefecture"));
            let pid = control_id(&pname);
            let (desc, err) = describedby(c, &pname, false);
            let cur = str_of(value, Some("prefecture"));
            let _ = write!(out, "<div class=\"control\"><label for=\"{pid}\">{}</label>{err}<select id=\"{pid}\" name=\"{}\" autocomplete=\"address-level1\"{desc}><option value=\"\">{}</option>", esc(&t(c.lang, "form.prefecture")), esc(&pname), esc(&t(c.lang, "form.choose")));
            for p in PREFECTURES {
                let sel = if p == cur { " selected" } else { "" };
                let _ = write!(out, "<option{sel}>{p}</option>");
            }
            out.push_str("</select></div>");
            input(
                c,
                out,
                &control_name(path, Some("city")),
                &esc(&t(c.lang, "form.city")),
                &str_of(value, Some("city")),
                " type=\"text\" autocomplete=\"address-level2\"",
                false,
            );
            input(
                c,
                out,
                &control_name(path, Some("street")),
                &esc(&t(c.lang, "form.street")),
                &str_of(value, Some("street")),
                " type=\"text\" autocomplete=\"address-line1\"",
                false,
            );
            input(
                c,
                out,
                &control_name(path, Some("building")),
                &esc(&t(c.lang, "form.building")),
                &str_of(value, Some("building")),
                " type=\"text\" autocomplete=\"address-line2\"",
                false,
            );
            out.push_str("</fieldset>");
        }
        FieldKind::Choice { options, select } => {
            let cur = str_of(value, None);
            let (desc, err) = describedby(c, &name, help);
            if *select {
                let id = control_id(&name);
                let _ = write!(out, "<div class=\"control\"><label for=\"{id}\">{lab}</label>{}{err}<select id=\"{id}\" name=\"{}\"{desc}><option value=\"\">{}</option>", help_html(f, &name), esc(&name), esc(&t(c.lang, "form.choose")));
                for o in options {
                    let sel = if o.value == cur { " selected" } else { "" };
                    let _ = write!(
                        out,
                        "<option value=\"{}\"{sel}>{}</option>",
                        esc(&o.value),
                        esc(&option_label(o, c.lang))
                    );
                }
                out.push_str("</select></div>");
            } else {
                let _ =
                    write!(out, "<fieldset class=\"choices\"{desc}><legend>{lab}</legend>{}{err}", help_html(f, &name));
                for (i, o) in options.iter().enumerate() {
                    let id = if i == 0 { control_id(&name) } else { format!("{}-{i}", control_id(&name)) };
                    let chk = if o.value == cur { " checked" } else { "" };
                    let _ = write!(out, "<div class=\"choice\"><input type=\"radio\" id=\"{id}\" name=\"{}\" value=\"{}\"{chk}><label for=\"{id}\">{}</label></div>", esc(&name), esc(&o.value), esc(&option_label(o, c.lang)));
                }
                out.push_str("</fieldset>");
            }
        }
        FieldKind::Checkbox { options, .. } => {
            let (desc, err) = describedby(c, &name, help);
            if options.is_empty() {
                let id = control_id(&name);
                let chk = if value.and_then(Value::as_bool).unwrap_or(false) { " checked" } else { "" };
                let _ = write!(out, "{}{err}<div class=\"choice\"><input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"true\"{chk}{desc}><label for=\"{id}\">{lab}</label></div>", help_html(f, &name), esc(&name));
            } else {
                let picked: Vec<String> = value
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                let _ =
                    write!(out, "<fieldset class=\"choices\"{desc}><legend>{lab}</legend>{}{err}", help_html(f, &name));
                for (i, o) in options.iter().enumerate() {
                    let id = if i == 0 { control_id(&name) } else { format!("{}-{i}", control_id(&name)) };
                    let chk = if picked.contains(&o.value) { " checked" } else { "" };
                    let _ = write!(out, "<div class=\"choice\"><input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"{}\"{chk}><label for=\"{id}\">{}</label></div>", esc(&name), esc(&o.value), esc(&option_label(o, c.lang)));
                }
                out.push_str("</fieldset>");
            }
        }
        FieldKind::File { types, max_bytes } => {
            let id = control_id(&name);
            let (desc, err) = describedby(c, &name, true);
            let invalid = if err.is_empty() { "" } else { " aria-invalid=\"true\"" };
            let accept = types.join(",");
            let exts: Vec<&str> = types
                .iter()
                .map(|t| match t.as_str() {
                    "application/pdf" => "PDF",
                    "image/jpeg" => "JPEG",
                    "image/png" => "PNG",
                    "image/heic" => "HEIC",
                    "text/csv" => "CSV",
                    t if t.contains("word") => "Word",
                    t if t.contains("sheet") => "Excel",
                    _ => "?",
                })
                .collect();
            let limits = t(c.lang, "form.file_limits")
                .replace("{types}", &exts.join(" / "))
                .replace("{mb}", &format!("{:.1}", *max_bytes as f64 / 1_048_576.0));
            let current = value.and_then(Value::as_str).and_then(|aid| c.attachments.iter().find(|a| a.id == aid));
            let cur_html = match current {
                Some(a) => format!(
                    "<p class=\"current-file\">{}: {}（{} KB）</p>",
                    esc(&t(c.lang, "form.current_file")),
                    esc(&a.filename),
                    (a.size + 1023) / 1024
                ),
                None => String::new(),
            };
            let _ = write!(
                out,
                "<div class=\"control\"><label for=\"{id}\">{lab}</label><p class=\"help\" id=\"{id}-help\">{}{}</p>{err}{cur_html}<input type=\"file\" id=\"{id}\" name=\"{}\" accept=\"{}\"{desc}{invalid}></div>",
                f.help.as_deref().map(|h| format!("{} ", esc(h))).unwrap_or_default(),
                esc(&limits),
                esc(&name),
                esc(&accept)
            );
        }
        FieldKind::Group { fields, max_items, .. } => {
            let items: Vec<Value> = value.and_then(Value::as_array).cloned().unwrap_or_default();
            let extra = c.answers.get(&format!("__rows_{path}")).and_then(Value::as_u64).unwrap_or(0) as usize;
            let rows = (items.len() + 1 + extra).min(*max_items as usize).max(1);
            let (_, err) = describedby(c, &name, false);
            let _ = write!(
                out,
                "<fieldset class=\"group\" id=\"{}\"{}><legend>{lab}</legend>{}{err}",
                control_id(&name),
                group_desc(f, &name),
                help_html(f, &name)
            );
            for i in 0..rows {
                let item = items.get(i);
                let _ = write!(out, "<fieldset class=\"group-item\"><legend>{} {}</legend>", esc(label), i + 1);
                for sub in fields {
                    let sub_path = format!("{path}.{i}.{}", sub.id);
                    let v = item.and_then(|it| it.get(&sub.id));
                    field(c, out, sub, &sub_path, v, sub.required, label_of(sub, c.lang));
                }
                out.push_str("</fieldset>");
            }
            if rows < *max_items as usize {
                let _ = write!(
                    out,
                    "<button type=\"submit\" name=\"add_row\" value=\"{}\" class=\"secondary\">{}</button>",
                    esc(path),
                    esc(&t(c.lang, "form.add_row"))
                );
            }
            out.push_str("</fieldset>");
        }
    }
}

/// Whether a page has a file field (then its form posts multipart).
pub fn page_has_files(page: &Page) -> bool {
    page.fields.iter().any(|f| matches!(f.kind, FieldKind::File { .. }))
}

/// Rows of (label, display value) for the confirmation page and case views.
pub fn answer_rows(
    def: &ProcedureDef,
    answers: &Answers,
    attachments: &[Attachment],
    lang: &str,
) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for (pi, page) in def.pages.iter().enumerate() {
        for f in &page.fields {
            let Some(v) = answers.get(&f.id) else { continue };
            let label = label_of(f, lang).to_string();
            let anchor = format!("{}#{}", pi + 1, control_id(&control_name(&f.id, None)));
            match &f.kind {
                FieldKind::Group { fields, .. } => {
                    for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                        for sub in fields {
                            if let Some(sv) = item.get(&sub.id) {
                                rows.push((
                                    format!("{label} {} — {}", i + 1, label_of(sub, lang)),
                                    kencho_core::forms::display_value(sub, sv, lang),
                                    anchor.clone(),
                                ));
                            }
                        }
                    }
                }
                FieldKind::File { .. } => {
                    let name = v
                        .as_str()
                        .and_then(|aid| attachments.iter().find(|a| a.id == aid))
                        .map(|a| {
                            format!("{}（{} KB, SHA-256 {}…）", a.filename, (a.size + 1023) / 1024, &a.sha256[..12])
                        })
                        .unwrap_or_default();
                    rows.push((label, name, anchor));
                }
                _ => rows.push((label, kencho_core::forms::display_value(f, v, lang), anchor)),
            }
        }
    }
    rows
}
