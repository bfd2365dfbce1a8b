//! 手続き (procedures) as data: the definition file format, and checks that reject a bad
//! definition whole, naming every problem with the path of the offending field.
//!
//! The format is documented in `docs/procedures.md`; the types here are its single source.

use serde::{Deserialize, Serialize};

use crate::check::Finding;

mod check;

use check::check_field_keys;

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

/// Who applies: the person concerned or an agent; a procedure names those it accepts, and an
/// application stores the one it was made as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    /// 本人
    #[serde(rename = "self")]
    Myself,
    /// 代理人
    Agent,
}

crate::names!(ApplicantKind, "applicant kind" { Myself = "self", Agent = "agent" });

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

/// A definition refused: which file, and every problem found in it, each with where it is
/// (`pages[0].fields[2].max_length`). Its words are the server's (`check.<code>`); this text,
/// for logs and tests, names the codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}", list(findings))]
pub struct DefinitionError {
    pub file: String,
    pub findings: Vec<Finding>,
}

fn list(findings: &[Finding]) -> String {
    findings.iter().map(Finding::to_string).collect::<Vec<_>>().join("; ")
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
    /// A file that reads is checked whole: every problem is named, not only the first.
    pub fn parse(file: &str, text: &str) -> Result<Self, DefinitionError> {
        let refuse = |findings| DefinitionError { file: file.to_string(), findings };
        let json = file.ends_with(".json");
        let def: ProcedureDef = if json {
            serde_json::from_str(text).map_err(|e| refuse(vec![Finding::of_json(&e)]))?
        } else {
            toml::from_str(text).map_err(|e| refuse(vec![Finding::of_toml(text, &e)]))?
        };
        let raw: serde_json::Value = if json {
            serde_json::from_str(text).unwrap_or_default()
        } else {
            toml::from_str(text).unwrap_or_default()
        };
        let mut findings = check_field_keys(&raw);
        findings.extend(def.problems());
        if findings.is_empty() {
            Ok(def)
        } else {
            Err(refuse(findings))
        }
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

/// A file serde cannot read: its own message, at its line and column when it gives one.
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
