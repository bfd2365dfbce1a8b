//! Renders a procedure's form page as accessible HTML, following the Digital Agency Design
//! System's conventions: a label for every input, `fieldset`/`legend` for groups, errors tied
//! with `aria-describedby`, required marks in words. Written in Rust rather than a template
//! because fields nest (repeatable groups) and every type shares the same frame.

use std::collections::HashMap;
use std::fmt::Write;

use kencho_core::forms::{condition_holds, control_id, control_name, option_label, Answers, FieldError};
use kencho_core::procedure::{ChoiceOption, Field, FieldKind, Page, ProcedureDef};
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
        m.entry(control_name(&e.field, None)).or_insert_with(|| crate::i18n::words::problem(lang, &e.problem));
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

/// One field being drawn: what every kind of control needs to know.
struct Widget<'a> {
    c: &'a Ctx<'a>,
    f: &'a Field,
    path: &'a str,
    /// The control's name (the path, as forms post it).
    name: String,
    value: Option<&'a Value>,
    /// The label, escaped, with the required mark.
    lab: String,
    help: bool,
}

impl Widget<'_> {
    fn help_html(&self) -> String {
        help_html(self.f, &self.name)
    }

    /// A one-line input of the field itself.
    fn input(&self, out: &mut String, label: &str, attrs: &str) {
        input(self.c, out, &self.name, label, &str_of(self.value, None), attrs, self.help);
    }

    /// A one-line input of a part (`family`, `year`, `city` …) of a compound field.
    fn part(&self, out: &mut String, part: &str, key: &str, value: &str, attrs: &str) {
        input(self.c, out, &control_name(self.path, Some(part)), &esc(&t(self.c.lang, key)), value, attrs, false);
    }

    /// Opens the fieldset of a compound field (date, name, address).
    fn open_fieldset(&self, out: &mut String, class: &str) {
        let _ = write!(
            out,
            "<fieldset class=\"{class}\"{}><legend>{}</legend>{}",
            group_desc(self.f, &self.name),
            self.lab,
            self.help_html()
        );
    }
}

fn field(c: &Ctx<'_>, out: &mut String, f: &Field, path: &str, value: Option<&Value>, required: bool, label: &str) {
    let name = control_name(path, None);
    let lab = format!("{} {}", esc(label), req_mark(c, required));
    let w = Widget { c, f, path, name, value, lab, help: f.help.is_some() };
    match &f.kind {
        // No `required`/`maxlength` attributes: the browser would block "save draft" and cut
        // text silently; the server reports every problem in the error summary.
        FieldKind::Text { multiline: true, .. } => textarea(out, &w),
        FieldKind::Text { .. } => {
            out.push_str(&w.help_html());
            w.input(out, &w.lab, " type=\"text\"");
        }
        FieldKind::Number { unit, .. } => {
            out.push_str(&w.help_html());
            let unit =
                unit.as_deref().map(|u| format!(" <span class=\"unit\">（{}）</span>", esc(u))).unwrap_or_default();
            w.input(out, &format!("{}{unit}", w.lab), " type=\"text\" inputmode=\"numeric\" class=\"short\"");
        }
        FieldKind::Phone {} => {
            out.push_str(&w.help_html());
            w.input(out, &w.lab, " type=\"tel\" autocomplete=\"tel\" class=\"medium\"");
        }
        FieldKind::Email {} => {
            out.push_str(&w.help_html());
            w.input(out, &w.lab, " type=\"email\" autocomplete=\"email\"");
        }
        FieldKind::Date { .. } => date(out, &w),
        FieldKind::Name {} => person_name(out, &w),
        FieldKind::Address {} => address(out, &w),
        FieldKind::Choice { options, select: true } => select(out, &w, options),
        FieldKind::Choice { options, select: false } => radios(out, &w, options),
        FieldKind::Checkbox { options, .. } => checkboxes(out, &w, options),
        FieldKind::File { types, max_bytes } => file(out, &w, types, *max_bytes),
        FieldKind::Group { fields, max_items, .. } => group(out, &w, label, fields, *max_items),
    }
}

fn textarea(out: &mut String, w: &Widget<'_>) {
    let id = control_id(&w.name);
    let (desc, err) = describedby(w.c, &w.name, w.help);
    let invalid = if err.is_empty() { "" } else { " aria-invalid=\"true\"" };
    let _ = write!(
        out,
        "<div class=\"control\"><label for=\"{id}\">{}</label>{}{err}<textarea id=\"{id}\" name=\"{}\" rows=\"5\"{desc}{invalid}>{}</textarea></div>",
        w.lab,
        w.help_html(),
        esc(&w.name),
        esc(&str_of(w.value, None))
    );
}

/// Year, month and day as three inputs, with the date in 和暦 and 西暦 once it is whole.
fn date(out: &mut String, w: &Widget<'_>) {
    w.open_fieldset(out, "date");
    let iso = w.value.and_then(Value::as_str).and_then(kencho_core::forms::parse_iso_date);
    for (part, key) in [("year", "form.year"), ("month", "form.month"), ("day", "form.day")] {
        let v = match iso {
            Some(d) => match part {
                "year" => d.year().to_string(),
                "month" => (d.month() as u8).to_string(),
                _ => d.day().to_string(),
            },
            None => str_of(w.value, Some(part)),
        };
        w.part(out, part, key, &v, " type=\"text\" inputmode=\"numeric\" class=\"tiny\"");
    }
    if let Some(d) = iso {
        let _ = write!(out, "<p class=\"hint\">{}</p>", esc(&kencho_core::wareki::format_both(d)));
    }
    out.push_str("</fieldset>");
}

fn person_name(out: &mut String, w: &Widget<'_>) {
    w.open_fieldset(out, "name");
    for (part, key, ac) in [
        ("family", "form.family", " autocomplete=\"family-name\""),
        ("given", "form.given", " autocomplete=\"given-name\""),
        ("family_kana", "form.family_kana", ""),
        ("given_kana", "form.given_kana", ""),
    ] {
        w.part(out, part, key, &str_of(w.value, Some(part)), &format!(" type=\"text\" class=\"medium\"{ac}"));
    }
    out.push_str("</fieldset>");
}

fn address(out: &mut String, w: &Widget<'_>) {
    let (c, value) = (w.c, w.value);
    w.open_fieldset(out, "address");
    w.part(
        out,
        "postal_code",
        "form.postal_code",
        &str_of(value, Some("postal_code")),
        " type=\"text\" inputmode=\"numeric\" autocomplete=\"postal-code\" class=\"short\"",
    );
    let pname = control_name(w.path, Some("prefecture"));
    let pid = control_id(&pname);
    let (desc, err) = describedby(c, &pname, false);
    let cur = str_of(value, Some("prefecture"));
    let _ = write!(out, "<div class=\"control\"><label for=\"{pid}\">{}</label>{err}<select id=\"{pid}\" name=\"{}\" autocomplete=\"address-level1\"{desc}><option value=\"\">{}</option>", esc(&t(c.lang, "form.prefecture")), esc(&pname), esc(&t(c.lang, "form.choose")));
    for p in PREFECTURES {
        let sel = if p == cur { " selected" } else { "" };
        let _ = write!(out, "<option{sel}>{p}</option>");
    }
    out.push_str("</select></div>");
    for (part, key, ac) in [
        ("city", "form.city", "address-level2"),
        ("street", "form.street", "address-line1"),
        ("building", "form.building", "address-line2"),
    ] {
        w.part(out, part, key, &str_of(value, Some(part)), &format!(" type=\"text\" autocomplete=\"{ac}\""));
    }
    out.push_str("</fieldset>");
}

fn select(out: &mut String, w: &Widget<'_>, options: &[ChoiceOption]) {
    let c = w.c;
    let cur = str_of(w.value, None);
    let (desc, err) = describedby(c, &w.name, w.help);
    let id = control_id(&w.name);
    let _ = write!(out, "<div class=\"control\"><label for=\"{id}\">{}</label>{}{err}<select id=\"{id}\" name=\"{}\"{desc}><option value=\"\">{}</option>", w.lab, w.help_html(), esc(&w.name), esc(&t(c.lang, "form.choose")));
    for o in options {
        let sel = if o.value == cur { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", esc(&o.value), esc(&option_label(o, c.lang)));
    }
    out.push_str("</select></div>");
}

fn radios(out: &mut String, w: &Widget<'_>, options: &[ChoiceOption]) {
    let cur = str_of(w.value, None);
    option_fieldset(out, w, options, "radio", |o| o.value == cur);
}

fn checkboxes(out: &mut String, w: &Widget<'_>, options: &[ChoiceOption]) {
    if options.is_empty() {
        // One box that stands for yes or no.
        let (desc, err) = describedby(w.c, &w.name, w.help);
        let id = control_id(&w.name);
        let chk = if w.value.and_then(Value::as_bool).unwrap_or(false) { " checked" } else { "" };
        let _ = write!(out, "{}{err}<div class=\"choice\"><input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"true\"{chk}{desc}><label for=\"{id}\">{}</label></div>", w.help_html(), esc(&w.name), w.lab);
        return;
    }
    let picked: Vec<String> = w
        .value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    option_fieldset(out, w, options, "checkbox", |o| picked.contains(&o.value));
}

/// A fieldset of radio buttons or check boxes, one per option.
fn option_fieldset(
    out: &mut String,
    w: &Widget<'_>,
    options: &[ChoiceOption],
    kind: &str,
    checked: impl Fn(&ChoiceOption) -> bool,
) {
    let (desc, err) = describedby(w.c, &w.name, w.help);
    let _ = write!(out, "<fieldset class=\"choices\"{desc}><legend>{}</legend>{}{err}", w.lab, w.help_html());
    for (i, o) in options.iter().enumerate() {
        let id = if i == 0 { control_id(&w.name) } else { format!("{}-{i}", control_id(&w.name)) };
        let chk = if checked(o) { " checked" } else { "" };
        let _ = write!(out, "<div class=\"choice\"><input type=\"{kind}\" id=\"{id}\" name=\"{}\" value=\"{}\"{chk}><label for=\"{id}\">{}</label></div>", esc(&w.name), esc(&o.value), esc(&option_label(o, w.c.lang)));
    }
    out.push_str("</fieldset>");
}

/// The short name of a file type, as the limits line shows it.
fn type_name(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        "image/heic" => "HEIC",
        "text/csv" => "CSV",
        t if t.contains("word") => "Word",
        t if t.contains("sheet") => "Excel",
        _ => "?",
    }
}

fn file(out: &mut String, w: &Widget<'_>, types: &[String], max_bytes: u64) {
    let c = w.c;
    let id = control_id(&w.name);
    let (desc, err) = describedby(c, &w.name, true);
    let invalid = if err.is_empty() { "" } else { " aria-invalid=\"true\"" };
    let exts: Vec<&str> = types.iter().map(|t| type_name(t)).collect();
    let limits = t(c.lang, "form.file_limits")
        .replace("{types}", &exts.join(" / "))
        .replace("{mb}", &format!("{:.1}", max_bytes as f64 / 1_048_576.0));
    let current = w.value.and_then(Value::as_str).and_then(|aid| c.attachments.iter().find(|a| a.id == aid));
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
        "<div class=\"control\"><label for=\"{id}\">{}</label><p class=\"help\" id=\"{id}-help\">{}{}</p>{err}{cur_html}<input type=\"file\" id=\"{id}\" name=\"{}\" accept=\"{}\"{desc}{invalid}></div>",
        w.lab,
        w.f.help.as_deref().map(|h| format!("{} ", esc(h))).unwrap_or_default(),
        esc(&limits),
        esc(&w.name),
        esc(&types.join(","))
    );
}

/// A repeatable group: the rows answered so far, one empty row, and a button for more.
fn group(out: &mut String, w: &Widget<'_>, label: &str, fields: &[Field], max_items: u32) {
    let (c, path) = (w.c, w.path);
    let items: Vec<Value> = w.value.and_then(Value::as_array).cloned().unwrap_or_default();
    let extra = c.answers.get(&format!("__rows_{path}")).and_then(Value::as_u64).unwrap_or(0) as usize;
    let rows = (items.len() + 1 + extra).min(max_items as usize).max(1);
    let (_, err) = describedby(c, &w.name, false);
    let _ = write!(
        out,
        "<fieldset class=\"group\" id=\"{}\"{}><legend>{}</legend>{}{err}",
        control_id(&w.name),
        group_desc(w.f, &w.name),
        w.lab,
        w.help_html()
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
    if rows < max_items as usize {
        let _ = write!(
            out,
            "<button type=\"submit\" name=\"add_row\" value=\"{}\" class=\"secondary\">{}</button>",
            esc(path),
            esc(&t(c.lang, "form.add_row"))
        );
    }
    out.push_str("</fieldset>");
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
    let [yes, no] = crate::i18n::words::yes_no(lang);
    let yes_no = [yes.as_str(), no.as_str()];
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
                                    kencho_core::forms::display_value(sub, sv, lang, yes_no),
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
                _ => rows.push((label, kencho_core::forms::display_value(f, v, lang, yes_no), anchor)),
            }
        }
    }
    rows
}
