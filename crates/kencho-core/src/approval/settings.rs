//! A tenant's 電子決裁 settings, kept as a TOML document next to the organisation and the 専決
//! table: the records section (文書主管課) that agrees to every disposal, and the 文書番号
//! template with its abbreviations.
//!
//! ```toml
//! records_division = "somu"          # 合議 of every disposal goes to this division
//! [numbering]
//! template = "{wareki_year}{tenant_abbr}{division_abbr}第{seq}号"
//! tenant_abbr = "南"
//! [numbering.divisions]              # 文書記号 per division code
//! seikatsu-kankyo = "環"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use super::numbering::{Template, Values, DEFAULT};
use super::org::DivisionId;
use crate::check::Finding;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbering {
    pub template: String,
    pub tenant_abbr: String,
    pub divisions: BTreeMap<String, String>,
}

impl Default for Numbering {
    fn default() -> Self {
        Numbering { template: DEFAULT.into(), tenant_abbr: String::new(), divisions: BTreeMap::new() }
    }
}

impl Numbering {
    /// The stored template (checked when stored), else the default.
    fn parsed(&self) -> Option<Template> {
        Template::parse(&self.template).or_else(|_| Template::parse(DEFAULT)).ok()
    }

    /// Whether the sequence counts per division (else per tenant).
    pub fn per_division(&self) -> bool {
        self.parsed().is_none_or(|t| t.per_division())
    }

    /// The 文書番号 of the `seq`th decision of `division`'s (or the tenant's) fiscal year.
    pub fn render(&self, on: Date, division: &str, seq: i64) -> String {
        let abbr = self.divisions.get(division).map(String::as_str).unwrap_or(division);
        let values = Values { on, tenant_abbr: &self.tenant_abbr, division, division_abbr: abbr, seq };
        match self.parsed() {
            Some(t) => t.render(&values),
            None => format!("{division}-{}-{seq:05}", super::doc::fiscal_year(on)),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// 文書主管課 / the division answering for the 公文書館: agrees (合議) to every disposal.
    pub records_division: Option<DivisionId>,
    pub numbering: Numbering,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    records_division: Option<String>,
    numbering: Option<NumberingDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberingDoc {
    template: String,
    #[serde(default)]
    tenant_abbr: String,
    #[serde(default)]
    divisions: BTreeMap<String, String>,
}

fn bad_abbr(s: &str) -> bool {
    s.trim().is_empty() || s.chars().count() > 10 || s.chars().any(|c| c.is_control() || c == '{' || c == '}')
}

/// Reads the document; every problem is named with where it is. `division` tells whether a
/// code is a division of the organisation; `divisions` lists the codes that decide matters
/// (each needs an abbreviation when the template uses `{division_abbr}`).
pub fn parse_settings(
    text: &str,
    is_division: impl Fn(&str) -> bool,
    divisions: &[String],
) -> Result<Settings, Vec<Finding>> {
    let doc: Doc = toml::from_str(text).map_err(|e| vec![Finding::of_toml(text, &e)])?;
    let mut problems = Vec::new();
    let mut out = Settings::default();
    if let Some(d) = doc.records_division {
        if is_division(&d) {
            out.records_division = Some(DivisionId(d));
        } else {
            problems.push(Finding::new("org_not_a_division", "records_division").with("code", format!("{d:?}")));
        }
    }
    if let Some(n) = doc.numbering {
        match Template::parse(&n.template) {
            Ok(t) => {
                let text = t.to_string();
                if text.contains("{tenant_abbr}") && bad_abbr(&n.tenant_abbr) {
                    problems.push(Finding::new("abbr_needed", "numbering.tenant_abbr"));
                }
                if text.contains("{division_abbr}") {
                    let missing: Vec<&str> =
                        divisions.iter().filter(|d| !n.divisions.contains_key(*d)).map(String::as_str).collect();
                    if !missing.is_empty() {
                        let missing = missing.join(", ");
                        problems.push(Finding::new("abbr_missing", "numbering.divisions").with("divisions", missing));
                    }
                }
            }
            Err(e) => problems.push(e.finding("numbering.template")),
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (code, abbr) in &n.divisions {
            let at = format!("numbering.divisions.{code}");
            if !is_division(code) {
                problems.push(Finding::new("org_not_a_division", &at).with("code", format!("{code:?}")));
            }
            if bad_abbr(abbr) {
                problems.push(Finding::new("text_length", &at).with("min", 1).with("max", 10));
            }
            // Two divisions with one 文書記号 would give two documents one number.
            if let Some(other) = seen.insert(abbr.as_str(), code.as_str()) {
                problems.push(Finding::new("abbr_shared", &at).with("other", other).with("abbr", format!("{abbr:?}")));
            }
        }
        out.numbering = Numbering { template: n.template, tenant_abbr: n.tenant_abbr, divisions: n.divisions };
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn divs() -> Vec<String> {
        vec!["kankyo".into(), "somu".into()]
    }

    #[test]
    fn reads_and_renders() {
        let text = "records_division = \"somu\"\n[numbering]\ntemplate = \"{wareki_year}{tenant_abbr}{division_abbr}第{seq}号\"\ntenant_abbr = \"南\"\n[numbering.divisions]\nkankyo = \"環\"\nsomu = \"総\"\n";
        let s = parse_settings(text, |d| divs().iter().any(|x| x == d), &divs()).expect("valid");
        assert_eq!(s.records_division, Some(DivisionId("somu".into())));
        assert_eq!(s.numbering.render(date!(2026 - 07 - 01), "kankyo", 123), "8南環第123号");
        assert!(s.numbering.per_division());
        assert_eq!(Settings::default().numbering.render(date!(2026 - 07 - 01), "kankyo", 3), "kankyo-2026-00003");
    }

    #[test]
    fn names_every_problem() {
        let text = "records_division = \"bunsho\"\n[numbering]\ntemplate = \"{year}{division_abbr}第{seq}号\"\n[numbering.divisions]\nkankyo = \"環\"\nsomu = \"環\"\n";
        let e = parse_settings(text, |d| divs().iter().any(|x| x == d), &divs()).expect_err("invalid");
        let found: Vec<(&str, &str)> = e.iter().map(|f| (f.code, f.at.as_str())).collect();
        assert!(found.contains(&("org_not_a_division", "records_division")), "{e:?}");
        assert!(e.iter().any(|f| f.code == "template_unknown" && f.args[0].1 == "{year}"), "{e:?}");
        assert!(found.contains(&("abbr_shared", "numbering.divisions.somu")), "{e:?}");
    }
}
