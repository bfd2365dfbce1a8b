//! 文書番号: a tenant's template for the number a decided 起案 gets, e.g.
//! `{wareki_year}{tenant_abbr}{division_abbr}第{seq}号` → 「8南環第123号」.
//!
//! Typical 文書管理規程 number documents per 年度 (April to March) with a 文書記号 made of the
//! office's and the division's abbreviation; the sequence starts again at 1 every 4月1日.

use std::fmt;

use time::Date;

use super::doc::fiscal_year;

/// What a template may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The fiscal year in the era's count (令和8年度 → `8`).
    WarekiYear,
    /// The era of the decision date (`令和`).
    Era,
    /// The fiscal year in the western calendar (`2026`).
    FiscalYear,
    /// The tenant's abbreviation (`南`).
    TenantAbbr,
    /// The deciding division's abbreviation (`環`).
    DivisionAbbr,
    /// The deciding division's code (`seikatsu-kankyo`).
    Division,
    /// The sequence number within its scope and fiscal year; `width` pads with zeros.
    Seq { width: usize },
}

pub const NAMES: [&str; 7] = ["wareki_year", "era", "fiscal_year", "tenant_abbr", "division_abbr", "division", "seq"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Placeholder),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template is refused; the message names the placeholder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder {{{0}}} (known: {names})", names = NAMES.map(|n| format!("{{{n}}}")).join(" "))]
    Unknown(String),
    #[error("a {{ without its }}")]
    Unclosed,
    #[error("a }} without its {{")]
    Unopened,
    #[error("the template has no {{seq}}, so two documents would get one number")]
    NoSeq,
    #[error("{{seq}} appears more than once")]
    TwoSeq,
    #[error("the template is empty or longer than 100 characters")]
    Length,
    #[error("{{seq:0N}} takes a width from 1 to 9")]
    BadWidth,
    #[error("the template has no {{wareki_year}} or {{fiscal_year}}: the numbers start again every 1 April, so they would repeat")]
    NoYear,
}

impl TemplateError {
    /// The problem as a finding at `at` (its words are the server's `check.<code>`).
    pub fn finding(&self, at: &str) -> crate::check::Finding {
        use crate::check::Finding;
        match self {
            TemplateError::Unknown(name) => Finding::new("template_unknown", at)
                .with("name", format!("{{{name}}}"))
                .with("known", NAMES.map(|n| format!("{{{n}}}")).join(" ")),
            TemplateError::Unclosed => Finding::new("template_unclosed", at),
            TemplateError::Unopened => Finding::new("template_unopened", at),
            TemplateError::NoSeq => Finding::new("template_no_seq", at).with("placeholder", "{seq}"),
            TemplateError::TwoSeq => Finding::new("template_two_seq", at).with("placeholder", "{seq}"),
            TemplateError::Length => Finding::new("template_length", at),
            TemplateError::BadWidth => Finding::new("template_width", at).with("placeholder", "{seq:0N}"),
            TemplateError::NoYear => {
                Finding::new("template_no_year", at).with("year", "{wareki_year}").with("fiscal", "{fiscal_year}")
            }
        }
    }
}

/// The template used where a tenant has set none: `{division}-{fiscal_year}-{seq:05}`.
pub const DEFAULT: &str = "{division}-{fiscal_year}-{seq:05}";

fn placeholder(name: &str) -> Result<Placeholder, TemplateError> {
    let (base, spec) = match name.split_once(':') {
        Some((b, s)) => (b, Some(s)),
        None => (name, None),
    };
    let p = match base {
        "wareki_year" => Placeholder::WarekiYear,
        "era" => Placeholder::Era,
        "fiscal_year" => Placeholder::FiscalYear,
        "tenant_abbr" => Placeholder::TenantAbbr,
        "division_abbr" => Placeholder::DivisionAbbr,
        "division" => Placeholder::Division,
        "seq" => {
            let width = match spec {
                None => 0,
                Some(s) => {
                    let digits = s.strip_prefix('0').ok_or(TemplateError::BadWidth)?;
                    match digits.parse::<usize>() {
                        Ok(w @ 1..=9) => w,
                        _ => return Err(TemplateError::BadWidth),
                    }
                }
            };
            return Ok(Placeholder::Seq { width });
        }
        _ => return Err(TemplateError::Unknown(name.to_string())),
    };
    if spec.is_some() {
        return Err(TemplateError::Unknown(name.to_string()));
    }
    Ok(p)
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.trim().is_empty() || text.chars().count() > 100 {
            return Err(TemplateError::Length);
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let open = rest.find('{');
            let close = rest.find('}');
            match (open, close) {
                (None, None) => {
                    parts.push(Part::Text(rest.to_string()));
                    break;
                }
                (None, Some(_)) => return Err(TemplateError::Unopened),
                (Some(o), c) => {
                    if c.is_some_and(|c| c < o) {
                        return Err(TemplateError::Unopened);
                    }
                    let c = c.ok_or(TemplateError::Unclosed)?;
                    if o > 0 {
                        parts.push(Part::Text(rest[..o].to_string()));
                    }
                    let name = &rest[o + 1..c];
                    if name.contains('{') {
                        return Err(TemplateError::Unclosed);
                    }
                    parts.push(Part::Slot(placeholder(name)?));
                    rest = &rest[c + 1..];
                }
            }
        }
        let seqs = parts.iter().filter(|p| matches!(p, Part::Slot(Placeholder::Seq { .. }))).count();
        let has_year = parts.iter().any(|p| matches!(p, Part::Slot(Placeholder::WarekiYear | Placeholder::FiscalYear)));
        match seqs {
            0 => Err(TemplateError::NoSeq),
            1 if !has_year => Err(TemplateError::NoYear),
            1 => Ok(Template { parts }),
            _ => Err(TemplateError::TwoSeq),
        }
    }

    /// Whether numbers count per division (the template names the division); otherwise one
    /// sequence serves the whole tenant, so numbers stay unique.
    pub fn per_division(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Slot(Placeholder::DivisionAbbr | Placeholder::Division)))
    }

    pub fn render(&self, v: &Values<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Slot(s) => match s {
                    Placeholder::WarekiYear => out.push_str(&wareki_fiscal_year(v.on).1.to_string()),
                    Placeholder::Era => out.push_str(wareki_fiscal_year(v.on).0),
                    Placeholder::FiscalYear => out.push_str(&fiscal_year(v.on).to_string()),
                    Placeholder::TenantAbbr => out.push_str(v.tenant_abbr),
                    Placeholder::DivisionAbbr => out.push_str(v.division_abbr),
                    Placeholder::Division => out.push_str(v.division),
                    Placeholder::Seq { width } => out.push_str(&format!("{:0width$}", v.seq, width = *width)),
                },
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Text(t) => f.write_str(t)?,
                Part::Slot(Placeholder::Seq { width: 0 }) => f.write_str("{seq}")?,
                Part::Slot(Placeholder::Seq { width }) => write!(f, "{{seq:0{width}}}")?,
                Part::Slot(s) => {
                    let name = match s {
                        Placeholder::WarekiYear => "wareki_year",
                        Placeholder::Era => "era",
                        Placeholder::FiscalYear => "fiscal_year",
                        Placeholder::TenantAbbr => "tenant_abbr",
                        Placeholder::DivisionAbbr => "division_abbr",
                        _ => "division",
                    };
                    write!(f, "{{{name}}}")?;
                }
            }
        }
        Ok(())
    }
}

/// What a number is made of.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// The decision date.
    pub on: Date,
    pub tenant_abbr: &'a str,
    pub division: &'a str,
    pub division_abbr: &'a str,
    pub seq: i64,
}

/// The era and year of a date's fiscal year: FY2026 (April 2026–March 2027) → (令和, 8). The era
/// is the decision date's; its count follows the fiscal year, as 「令和8年度」 does.
pub fn wareki_fiscal_year(on: Date) -> (&'static str, i32) {
    let fy = fiscal_year(on);
    match crate::wareki::era_of_date(on) {
        Some((name, first_year)) => (name, fy - first_year + 1),
        None => ("", fy),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    fn values(on: Date, seq: i64) -> Values<'static> {
        Values { on, tenant_abbr: "南", division: "seikatsu-kankyo", division_abbr: "環", seq }
    }

    #[test]
    fn the_minamisoma_style() {
        let t = Template::parse("{wareki_year}{tenant_abbr}{division_abbr}第{seq}号").expect("valid");
        assert_eq!(t.render(&values(date!(2026 - 06 - 01), 123)), "8南環第123号");
        // February 2027 is still 令和8年度.
        assert_eq!(t.render(&values(date!(2027 - 02 - 01), 1)), "8南環第1号");
        assert_eq!(t.render(&values(date!(2027 - 04 - 01), 1)), "9南環第1号");
        assert!(t.per_division());
        let d = Template::parse(DEFAULT).expect("default");
        assert_eq!(d.render(&values(date!(2026 - 06 - 01), 7)), "seikatsu-kankyo-2026-00007");
        assert!(!Template::parse("{era}{wareki_year}年度第{seq}号").expect("valid").per_division());
    }

    #[test]
    fn refusals_name_the_placeholder() {
        let e = Template::parse("{wareki}{tenant_abbr}第{seq}号").expect_err("unknown");
        assert!(e.to_string().contains("{wareki}"), "{e}");
        assert_eq!(Template::parse("第{seq号"), Err(TemplateError::Unclosed));
        assert_eq!(Template::parse("第seq}号"), Err(TemplateError::Unopened));
        assert_eq!(Template::parse("{tenant_abbr}第号"), Err(TemplateError::NoSeq));
        assert_eq!(Template::parse("{seq}-{seq}"), Err(TemplateError::TwoSeq));
        assert_eq!(Template::parse("{seq:5}"), Err(TemplateError::BadWidth));
        assert!(matches!(Template::parse("{era:2}{seq}"), Err(TemplateError::Unknown(_))));
        assert_eq!(Template::parse("{tenant_abbr}第{seq}号"), Err(TemplateError::NoYear));
        assert_eq!(Template::parse("{era}第{seq}号"), Err(TemplateError::NoYear), "an era alone is not a year");
    }

    fn slot() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{wareki_year}".to_string()),
            Just("{era}".to_string()),
            Just("{fiscal_year}".to_string()),
            Just("{tenant_abbr}".to_string()),
            Just("{division_abbr}".to_string()),
            Just("{division}".to_string()),
            "[第号南環a-z0-9-]{0,4}",
        ]
    }

    proptest! {
        /// A valid template shows itself back unchanged, and within one scope and year two
        /// sequence numbers never give one document number.
        #[test]
        fn round_trip_and_distinct_numbers(
            before in proptest::collection::vec(slot(), 0..4),
            after in proptest::collection::vec(slot(), 0..4),
            width in 0usize..6,
            a in 1i64..100_000,
            b in 1i64..100_000,
            day in 0i64..3000,
        ) {
            let seq = if width == 0 { "{seq}".to_string() } else { format!("{{seq:0{width}}}") };
            let text = format!("{}{seq}{}", before.concat(), after.concat());
            if !text.contains("{wareki_year}") && !text.contains("{fiscal_year}") {
                prop_assert_eq!(Template::parse(&text), Err(TemplateError::NoYear));
                return Ok(());
            }
            let t = Template::parse(&text).expect("valid");
            prop_assert_eq!(t.to_string(), text);
            prop_assert_eq!(Template::parse(&t.to_string()), Ok(t.clone()));
            let on = date!(2020 - 01 - 01) + time::Duration::days(day);
            let (x, y) = (t.render(&values(on, a)), t.render(&values(on, b)));
            prop_assert_eq!(a == b, x == y, "{} {}", x, y);
        }

        /// Any `{name}` that is not a placeholder is refused, naming it.
        #[test]
        fn unknown_names_are_named(name in "[a-z_]{1,12}") {
            prop_assume!(!NAMES.contains(&name.as_str()));
            let e = Template::parse(&format!("{{{name}}}{{seq}}")).expect_err("unknown");
            let needle = format!("{{{name}}}");
            prop_assert!(e.to_string().contains(&needle), "{}", e);
        }
    }
}
