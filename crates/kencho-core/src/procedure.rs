//! 手続き (procedures) as data: the definition file format, and checks that reject a bad
//! definition whole with the path of the offending field.
//!
//! The format is documented in `docs/procedures.md`; the types here are its single source.

use std::collections::HashSet;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A whole procedure definition, as loaded from a TOML or JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureDef {
    /// Tenant code the procedure belongs to (e.g. `fukushima-pref`).
    pub tenant: String,
    /// Stable code, unique within the tenant (lowercase letters, digits, `-`).
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub title_en: Option<String>,
    pub description: String,
    #[serde(default)]
    pub description_en: Option<String>,
    /// Extra words that should find this procedure in search.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Division in charge (担当課).
    pub division: Division,
    /// 標準処理期間, in days.
    pub standard_days: u32,
    /// 根拠法令.
    pub legal_basis: String,
    /// 審査基準: how the office decides, which 行政手続法 5条 requires it to set and publish.
    /// Shown on the procedure's public page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_criteria: Option<String>,
    /// The identity assurance the procedure needs (デジタル庁 DS-500 「行政手続におけるオンラインに
    /// よる本人確認の手法に関するガイドライン」: 身元確認保証レベル IAL1–3).
    #[serde(default)]
    pub identity_assurance: IdentityAssurance,
    /// Who may apply: 本人 (`self`) and/or 代理人 (`agent`).
    pub applicants: Vec<ApplicantKind>,
    /// 保存期間 in years: 1, 3, 5, 10 or 30.
    pub retention_years: u32,
    /// Kind of matter (事案の種類) in the tenant's 専決 table. When set, the decision goes
    /// through an approval route (電子決裁) instead of one staff member's decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matter: Option<String>,
    /// What happens when the retention period ends: 廃棄 (destroy) or 移管 (transfer to the
    /// archives).
    #[serde(default)]
    pub disposal: Disposal,
    #[serde(default)]
    pub withdrawal: Withdrawal,
    #[serde(default)]
    pub fee: Fee,
    pub pages: Vec<Page>,
}

/// 身元確認保証レベル (DS-500): IAL1 the applicant's own word; IAL2 identity checked remotely
/// or in person against an identity document; IAL3 checked in person, or with the マイナンバー
/// カード's signature certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityAssurance {
    #[default]
    Ial1,
    Ial2,
    Ial3,
}

impl IdentityAssurance {
    /// The locale key of its description.
    pub fn key(self) -> &'static str {
        match self {
            IdentityAssurance::Ial1 => "proc.ial1",
            IdentityAssurance::Ial2 => "proc.ial2",
            IdentityAssurance::Ial3 => "proc.ial3",
        }
    }
}

/// 廃棄 or 移管 at the end of retention (公文書管理).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposal {
    #[default]
    Haiki,
    Ikan,
}

impl Disposal {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposal::Haiki => "haiki",
            Disposal::Ikan => "ikan",
        }
    }

    pub fn parse(s: &str) -> Option<Disposal> {
        match s {
            "haiki" => Some(Disposal::Haiki),
            "ikan" => Some(Disposal::Ikan),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Division {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    /// 本人
    #[serde(rename = "self")]
    Myself,
    /// 代理人
    Agent,
}

/// Until when the applicant may withdraw (取下げ): until the 処分, always. An application is the
/// applicant's act and 行政手続法 leaves it theirs until the office has decided on it, so an
/// earlier end has no basis; `until_accepted` and `never`, which older procedure files and
/// stored versions carry, are read as this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Withdrawal {
    #[default]
    #[serde(alias = "until_accepted", alias = "never")]
    UntilDecision,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// Integer yen; zero means free (unless `unit_price` or `set_by_staff`).
    #[serde(default)]
    pub amount: u64,
    #[serde(default)]
    pub note: Option<String>,
    /// A unit price instead: the resident chooses how many (certificates × ¥400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<u64>,
    /// Most units one application may order (with `unit_price`; default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_units: Option<u64>,
    /// Staff set the amount during review (with `pay = "after_review"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub set_by_staff: bool,
    /// Online payment: `before_submission`, or `after_review` (事後決済). Absent: the fee is
    /// shown but not collected online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay: Option<crate::payment::fee::Timing>,
    /// 歳入科目: the revenue account the fee is booked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue_code: Option<String>,
    /// The item of the tenant's 手数料条例 (fee schedule) this fee is: when given, the amount
    /// and the 歳入科目 come from the schedule, not from this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

impl Fee {
    /// The rule in force for online payment, if the fee is collected online.
    pub fn rule(&self) -> Option<(crate::payment::fee::FeeRule, crate::payment::fee::Timing)> {
        use crate::payment::fee::FeeRule;
        let timing = self.pay?;
        let yen = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let rule = if self.set_by_staff {
            FeeRule::SetByStaff
        } else if let Some(price) = self.unit_price {
            FeeRule::PerUnit { unit_price: yen(price), max_units: yen(self.max_units.unwrap_or(10)) }
        } else {
            FeeRule::Fixed { amount: yen(self.amount) }
        };
        Some((rule, timing))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub title_en: Option<String>,
    #[serde(default)]
    pub help: Option<String>,
    pub fields: Vec<Field>,
}

/// A condition on another field's answer, for conditional visibility or requiredness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Id of a field on this or an earlier page (not inside a group).
    pub field: String,
    /// The condition holds when the answer equals this value (choice value, or "true"/"false"
    /// for a single checkbox).
    #[serde(default)]
    pub equals: Option<String>,
    /// ...or is one of these values.
    #[serde(default, rename = "in")]
    pub one_of: Option<Vec<String>>,
}

// No `deny_unknown_fields` here: serde cannot combine it with `flatten`; unknown keys in
// fields are caught by `check_field_keys` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub label_en: Option<String>,
    #[serde(default)]
    pub help: Option<String>,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub visible_if: Option<Condition>,
    #[serde(default)]
    pub required_if: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        #[serde(default)]
        min_length: Option<u32>,
        #[serde(default)]
        max_length: Option<u32>,
        /// A regular expression the whole answer must match.
        #[serde(default)]
        pattern: Option<String>,
        /// Message shown when the pattern does not match.
        #[serde(default)]
        pattern_message: Option<String>,
        #[serde(default)]
        multiline: bool,
    },
    Number {
        #[serde(default)]
        min: Option<i64>,
        #[serde(default)]
        max: Option<i64>,
        #[serde(default)]
        unit: Option<String>,
    },
    /// Entered as year / month / day; shown in 西暦 and 和暦.
    Date {
        /// Earliest allowed date, `YYYY-MM-DD`.
        #[serde(default)]
        min: Option<String>,
        #[serde(default)]
        max: Option<String>,
    },
    /// 氏名 + ふりがな.
    Name {},
    /// 郵便番号 + 都道府県 / 市区町村 / 以降の住所.
    Address {},
    Phone {},
    Email {},
    Choice {
        options: Vec<ChoiceOption>,
        /// Render as a drop-down rather than radio buttons.
        #[serde(default)]
        select: bool,
    },
    /// A single yes/no box, or a set of boxes when `options` is given.
    Checkbox {
        #[serde(default)]
        options: Vec<ChoiceOption>,
        #[serde(default)]
        min_selected: Option<u32>,
    },
    /// A file attachment.
    File {
        /// Allowed media types, e.g. `application/pdf`, `image/jpeg`.
        types: Vec<String>,
        /// Maximum size in bytes.
        max_bytes: u64,
    },
    /// A repeatable group of fields (e.g. household members).
    Group {
        fields: Vec<Field>,
        #[serde(default)]
        min_items: Option<u32>,
        max_items: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub value: String,
    pub label: String,
    #[serde(default)]
    pub label_en: Option<String>,
}

/// A definition error: which file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {path}: {message}")]
pub struct DefinitionError {
    pub file: String,
    pub path: String,
    pub message: String,
}

const MAX_FILE_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/heic",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

/// Largest attachment any procedure may allow (20 MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;

impl ProcedureDef {
    /// Parses a definition from file text; the format follows the file name (`.json` or TOML).
    pub fn parse(file: &str, text: &str) -> Result<Self, DefinitionError> {
        let def: ProcedureDef = if file.ends_with(".json") {
            serde_json::from_str(text).map_err(|e| DefinitionError {
                file: file.to_string(),
                path: format!("line {} column {}", e.line(), e.column()),
                message: e.to_string(),
            })?
        } else {
            toml::from_str(text).map_err(|e| {
                let path = e
                    .span()
                    .map(|s| {
                        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                        format!("line {line}")
                    })
                    .unwrap_or_else(|| "(file)".to_string());
                DefinitionError { file: file.to_string(), path, message: e.message().to_string() }
            })?
        };
        let raw: serde_json::Value = if file.ends_with(".json") {
            serde_json::from_str(text).unwrap_or_default()
        } else {
            toml::from_str(text).unwrap_or_default()
        };
        check_field_keys(&raw).and_then(|()| def.check()).map_err(|(path, message)| DefinitionError {
            file: file.to_string(),
            path,
            message,
        })?;
        Ok(def)
    }

    /// Checks everything serde cannot: codes, ranges, references between fields.
    fn check(&self) -> Result<(), (String, String)> {
        let err = |p: &str, m: &str| Err((p.to_string(), m.to_string()));
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

    /// All top-level fields, in page order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> + '_ {
        self.pages.iter().flat_map(|p| p.fields.iter())
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields().find(|f| f.id == id)
    }

    pub fn allows_agent(&self) -> bool {
        self.applicants.contains(&ApplicantKind::Agent)
    }

    /// Text used for search: titles, description, keywords, division, legal basis.
    pub fn search_text(&self) -> String {
        let mut s = String::new();
        for part in [
            Some(self.title.as_str()),
            self.title_en.as_deref(),
            Some(self.description.as_str()),
            self.description_en.as_deref(),
            Some(self.division.name.as_str()),
            Some(self.legal_basis.as_str()),
        ]
        .into_iter()
        .flatten()
        {
            s.push_str(part);
            s.push('\n');
        }
        for k in &self.keywords {
            s.push_str(k);
            s.push('\n');
        }
        s
    }
}

fn check_field(fp: &str, field: &Field, top: &[(String, FieldKind)], top_level: bool) -> Result<(), (String, String)> {
    let err = |p: String, m: String| Err((p, m));
    if !is_ident(&field.id) {
        return err(format!("{fp}.id"), "must be 1-40 lowercase letters, digits or '_'".into());
    }
    if field.label.trim().is_empty() {
        return err(format!("{fp}.label"), "must not be empty".into());
    }
    for (name, cond) in [("visible_if", &field.visible_if), ("required_if", &field.required_if)] {
        let Some(cond) = cond else { continue };
        if !top_level {
            return err(format!("{fp}.{name}"), "conditions are only allowed on fields outside groups".into());
        }
        let Some((_, kind)) = top.iter().find(|(id, _)| id == &cond.field) else {
            return err(format!("{fp}.{name}.field"), format!("refers to unknown field \"{}\"", cond.field));
        };
        if cond.field == field.id {
            return err(format!("{fp}.{name}.field"), "a field cannot depend on itself".into());
        }
        if !matches!(kind, FieldKind::Choice { .. } | FieldKind::Checkbox { .. }) {
            return err(format!("{fp}.{name}.field"), "conditions may refer only to choice or checkbox fields".into());
        }
        if cond.equals.is_none() == cond.one_of.is_none() {
            return err(format!("{fp}.{name}"), "give exactly one of \"equals\" or \"in\"".into());
        }
    }
    match &field.kind {
        FieldKind::Text { min_length, max_length, pattern, .. } => {
            if let (Some(a), Some(b)) = (min_length, max_length) {
                if a > b {
                    return err(format!("{fp}.min_length"), "is larger than max_length".into());
                }
            }
            if max_length.unwrap_or(0) > 10_000 {
                return err(format!("{fp}.max_length"), "must be at most 10000".into());
            }
            if let Some(p) = pattern {
                if let Err(e) = Regex::new(&format!("^(?:{p})$")) {
                    return err(format!("{fp}.pattern"), format!("is not a valid regular expression: {e}"));
                }
            }
        }
        FieldKind::Number { min, max, .. } => {
            if let (Some(a), Some(b)) = (min, max) {
                if a > b {
                    return err(format!("{fp}.min"), "is larger than max".into());
                }
            }
        }
        FieldKind::Date { min, max } => {
            for (n, d) in [("min", min), ("max", max)] {
                if let Some(d) = d {
                    if crate::forms::parse_iso_date(d).is_none() {
                        return err(format!("{fp}.{n}"), format!("\"{d}\" is not a date (YYYY-MM-DD)"));
                    }
                }
            }
        }
        FieldKind::Choice { options, .. } => {
            if options.is_empty() {
                return err(format!("{fp}.options"), "a choice needs at least one option".into());
            }
            check_options(fp, options)?;
        }
        FieldKind::Checkbox { options, min_selected } => {
            check_options(fp, options)?;
            if let Some(m) = min_selected {
                if *m as usize > options.len() {
                    return err(format!("{fp}.min_selected"), "is more than the number of options".into());
                }
            }
        }
        FieldKind::File { types, max_bytes } => {
            if types.is_empty() {
                return err(format!("{fp}.types"), "name at least one allowed file type".into());
            }
            for (i, t) in types.iter().enumerate() {
                if !MAX_FILE_TYPES.contains(&t.as_str()) {
                    return err(
                        format!("{fp}.types[{i}]"),
                        format!("\"{t}\" is not a supported type ({})", MAX_FILE_TYPES.join(", ")),
                    );
                }
            }
            if *max_bytes == 0 || *max_bytes > MAX_ATTACHMENT_BYTES {
                return err(format!("{fp}.max_bytes"), format!("must be between 1 and {MAX_ATTACHMENT_BYTES}"));
            }
        }
        FieldKind::Group { fields, min_items, max_items } => {
            if !top_level {
                return err(format!("{fp}.type"), "groups cannot be nested".into());
            }
            if *max_items == 0 || *max_items > 50 {
                return err(format!("{fp}.max_items"), "must be between 1 and 50".into());
            }
            if min_items.unwrap_or(0) > *max_items {
                return err(format!("{fp}.min_items"), "is larger than max_items".into());
            }
            if fields.is_empty() {
                return err(format!("{fp}.fields"), "a group needs at least one field".into());
            }
            let mut ids = HashSet::new();
            for (i, f) in fields.iter().enumerate() {
                let p = format!("{fp}.fields[{i}]");
                if !ids.insert(f.id.clone()) {
                    return err(format!("{p}.id"), format!("duplicate field id \"{}\"", f.id));
                }
                if matches!(f.kind, FieldKind::File { .. }) {
                    return err(format!("{p}.type"), "file fields cannot be inside a group".into());
                }
                check_field(&p, f, top, false)?;
            }
        }
        FieldKind::Name {} | FieldKind::Address {} | FieldKind::Phone {} | FieldKind::Email {} => {}
    }
    Ok(())
}

/// Rejects keys a field does not know, which would otherwise be silently ignored (a typo in
/// `max_lenght` must not quietly drop the limit).
fn check_field_keys(raw: &serde_json::Value) -> Result<(), (String, String)> {
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

fn check_options(fp: &str, options: &[ChoiceOption]) -> Result<(), (String, String)> {
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

/// Tenant, procedure and division codes: 1-40 of `[a-z0-9-]`, not starting with `-`.
pub fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Field and page ids: 1-40 of `[a-z0-9_]`, starting with a letter.
pub fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
