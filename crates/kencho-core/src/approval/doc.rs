//! The organisation and the 専決 table as an administrator writes them (TOML), checked whole:
//! every problem is reported at once with where it is, and nothing half-valid comes out.
//!
//! ```toml
//! [[division]]            # 部・課・係; `parent` names the division above
//! code = "zaisei"
//! name = "財政課"
//! parent = "somu"
//! from = "2020-04-01"     # optional `to = "2027-03-31"` (last day included)
//!
//! [[post]]
//! code = "zaisei-kacho"
//! name = "財政課長"
//! division = "zaisei"
//! rank = "kacho"          # tanto kakaricho kacho_hosa kacho bucho fuku head, or 1–99
//! from = "2020-04-01"
//!
//! [[assignment]]          # 発令: who holds a post, by e-mail
//! staff = "kacho@example.jp"
//! post = "zaisei-kacho"
//! from = "2026-04-01"
//!
//! [[substitute]]          # 代決: the holder of `by` decides for `for` in absence
//! for = "zaisei-kacho"
//! by = "zaisei-hosa"
//! from = "2020-04-01"
//! ```
//!
//! The 専決 table:
//!
//! ```toml
//! [[rule]]
//! kind = "物品購入"
//! amount_min = 0          # optional band, yen; max excluded
//! amount_max = 100000
//! decider = "kakaricho"   # a rank, or `post = "…"` for a named post
//! from = "2020-04-01"
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use time::Date;

use super::org::{Assignment, Division, DivisionId, Org, Period, PersonId, Post, PostId, Rank, Substitute};
use super::rules::{check_table, AmountBand, Decider, RuleRow, TableError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgDoc {
    #[serde(default)]
    division: Vec<DivisionDoc>,
    #[serde(default)]
    post: Vec<PostDoc>,
    #[serde(default)]
    assignment: Vec<AssignmentDoc>,
    #[serde(default)]
    substitute: Vec<SubstituteDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DivisionDoc {
    code: String,
    name: String,
    #[serde(default)]
    parent: Option<String>,
    from: String,
    #[serde(default)]
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostDoc {
    code: String,
    name: String,
    division: String,
    rank: RankDoc,
    from: String,
    #[serde(default)]
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RankDoc {
    Name(String),
    Number(i64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentDoc {
    staff: String,
    post: String,
    from: String,
    #[serde(default)]
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubstituteDoc {
    #[serde(rename = "for")]
    for_post: String,
    by: String,
    from: String,
    #[serde(default)]
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesDoc {
    #[serde(default)]
    rule: Vec<RuleDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    kind: String,
    #[serde(default)]
    amount_min: Option<i64>,
    #[serde(default)]
    amount_max: Option<i64>,
    #[serde(default)]
    decider: Option<String>,
    #[serde(default)]
    post: Option<String>,
    from: String,
    #[serde(default)]
    to: Option<String>,
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    crate::forms::parse_iso_date(s.trim())
}

/// Formats a date as `YYYY-MM-DD`.
pub use crate::forms::iso as format_date;

fn period(at: &str, from: &str, to: Option<&str>, errors: &mut Vec<String>) -> Period {
    let start = parse_date(from).unwrap_or_else(|| {
        errors.push(format!("{at}: from is not a date (YYYY-MM-DD): {from:?}"));
        Date::MIN
    });
    let end = to.and_then(|t| {
        let d = parse_date(t);
        if d.is_none() {
            errors.push(format!("{at}: to is not a date (YYYY-MM-DD): {t:?}"));
        }
        d
    });
    let p = Period { from: start, to: end };
    if p.is_empty() {
        errors.push(format!("{at}: ends before it starts"));
    }
    p
}

fn rank_of(r: &RankDoc) -> Option<Rank> {
    match r {
        RankDoc::Number(n) => u8::try_from(*n).ok().filter(|n| (1..=99).contains(n)).map(Rank),
        RankDoc::Name(s) => match s.as_str() {
            "tanto" => Some(Rank::TANTO),
            "kakaricho" => Some(Rank::KAKARICHO),
            "kacho_hosa" => Some(Rank::KACHO_HOSA),
            "kacho" => Some(Rank::KACHO),
            "bucho" => Some(Rank::BUCHO),
            "fuku" => Some(Rank::FUKU),
            "head" => Some(Rank::HEAD),
            _ => None,
        },
    }
}

fn code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parses and checks an organisation. `staff` maps an e-mail to the person id, or `None` when
/// no such staff member exists in the tenant.
pub fn parse_org(text: &str, staff: impl Fn(&str) -> Option<PersonId>) -> Result<Org, Vec<String>> {
    let doc: OrgDoc = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    let mut errors = Vec::new();
    // Every part is read even when an earlier one has errors, so that one upload reports all.
    let divisions = divisions(&doc.division, &mut errors);
    let division_codes: BTreeSet<&str> = doc.division.iter().map(|d| d.code.as_str()).collect();
    let posts = posts(&doc.post, &division_codes, &mut errors);
    overlapping(&divisions.iter().map(|d| (d.id.0.as_str(), d.period)).collect::<Vec<_>>(), "division", &mut errors);
    overlapping(&posts.iter().map(|p| (p.id.0.as_str(), p.period)).collect::<Vec<_>>(), "post", &mut errors);
    let post_codes: BTreeSet<&str> = doc.post.iter().map(|p| p.code.as_str()).collect();
    let assignments = assignments(&doc.assignment, &post_codes, staff, &mut errors);
    let substitutes = substitutes(&doc.substitute, &post_codes, &mut errors);
    let org = Org { divisions, posts, assignments, substitutes };
    check_cycles(&org, &mut errors);
    if errors.is_empty() {
        Ok(org)
    } else {
        Err(errors)
    }
}

/// The `[[division]]` rows; a parent must be one of them.
fn divisions(docs: &[DivisionDoc], errors: &mut Vec<String>) -> Vec<Division> {
    let mut out = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let at = format!("division {} ({})", i + 1, d.code);
        if !code_ok(&d.code) {
            errors.push(format!("{at}: code must be lowercase letters, digits, - or _"));
        }
        if d.name.trim().is_empty() {
            errors.push(format!("{at}: name is empty"));
        }
        let p = period(&at, &d.from, d.to.as_deref(), errors);
        out.push(Division {
            id: DivisionId(d.code.clone()),
            name: d.name.trim().to_string(),
            parent: d.parent.clone().filter(|p| !p.is_empty()).map(DivisionId),
            period: p,
        });
    }
    let division_codes: BTreeSet<&str> = docs.iter().map(|d| d.code.as_str()).collect();
    for (i, d) in docs.iter().enumerate() {
        if let Some(parent) = d.parent.as_deref().filter(|p| !p.is_empty()) {
            if !division_codes.contains(parent) {
                errors.push(format!("division {} ({}): parent {parent:?} is not a division", i + 1, d.code));
            }
        }
    }
    out
}

/// The `[[post]]` rows, each in one of the divisions.
fn posts(docs: &[PostDoc], division_codes: &BTreeSet<&str>, errors: &mut Vec<String>) -> Vec<Post> {
    let mut out = Vec::new();
    for (i, p) in docs.iter().enumerate() {
        let at = format!("post {} ({})", i + 1, p.code);
        if !code_ok(&p.code) {
            errors.push(format!("{at}: code must be lowercase letters, digits, - or _"));
        }
        if p.name.trim().is_empty() {
            errors.push(format!("{at}: name is empty"));
        }
        if !division_codes.contains(p.division.as_str()) {
            errors.push(format!("{at}: division {:?} is not a division", p.division));
        }
        let rank = rank_of(&p.rank).unwrap_or_else(|| {
            errors.push(format!("{at}: rank must be tanto, kakaricho, kacho_hosa, kacho, bucho, fuku, head or 1–99"));
            Rank::TANTO
        });
        let period = period(&at, &p.from, p.to.as_deref(), errors);
        out.push(Post {
            id: PostId(p.code.clone()),
            name: p.name.trim().to_string(),
            division: DivisionId(p.division.clone()),
            rank,
            period,
        });
    }
    out
}

/// The `[[assignment]]` rows: a staff member (by e-mail) holding a post.
fn assignments(
    docs: &[AssignmentDoc],
    post_codes: &BTreeSet<&str>,
    staff: impl Fn(&str) -> Option<PersonId>,
    errors: &mut Vec<String>,
) -> Vec<Assignment> {
    let mut out = Vec::new();
    for (i, a) in docs.iter().enumerate() {
        let at = format!("assignment {} ({} → {})", i + 1, a.staff, a.post);
        if !post_codes.contains(a.post.as_str()) {
            errors.push(format!("{at}: post {:?} is not a post", a.post));
        }
        let person = staff(a.staff.trim());
        if person.is_none() {
            errors.push(format!("{at}: no staff member with this e-mail in the tenant"));
        }
        let period = period(&at, &a.from, a.to.as_deref(), errors);
        if let Some(person) = person {
            out.push(Assignment { person, post: PostId(a.post.clone()), period });
        }
    }
    out
}

/// The `[[substitute]]` rows: one post standing in for another.
fn substitutes(docs: &[SubstituteDoc], post_codes: &BTreeSet<&str>, errors: &mut Vec<String>) -> Vec<Substitute> {
    let mut out = Vec::new();
    for (i, s) in docs.iter().enumerate() {
        let at = format!("substitute {} ({} for {})", i + 1, s.by, s.for_post);
        for code in [&s.for_post, &s.by] {
            if !post_codes.contains(code.as_str()) {
                errors.push(format!("{at}: post {code:?} is not a post"));
            }
        }
        if s.for_post == s.by {
            errors.push(format!("{at}: a post cannot substitute for itself"));
        }
        let period = period(&at, &s.from, s.to.as_deref(), errors);
        out.push(Substitute { for_post: PostId(s.for_post.clone()), by_post: PostId(s.by.clone()), period });
    }
    out
}

/// The same code may appear more than once only for periods that do not overlap (a division
/// renamed in April is a new row from that day).
fn overlapping(items: &[(&str, Period)], what: &str, errors: &mut Vec<String>) {
    let mut by_code: BTreeMap<&str, Vec<Period>> = BTreeMap::new();
    for (code, p) in items {
        by_code.entry(code).or_default().push(*p);
    }
    for (code, periods) in by_code {
        for (i, a) in periods.iter().enumerate() {
            if periods.iter().skip(i + 1).any(|b| a.overlaps(b)) {
                errors.push(format!("{what} {code}: two rows are in effect on the same day"));
                return;
            }
        }
    }
}

fn check_cycles(org: &Org, errors: &mut Vec<String>) {
    let parents: BTreeMap<&str, &str> =
        org.divisions.iter().filter_map(|d| d.parent.as_ref().map(|p| (d.id.0.as_str(), p.0.as_str()))).collect();
    for start in parents.keys() {
        let mut seen = BTreeSet::new();
        let mut at = *start;
        while let Some(next) = parents.get(at) {
            if !seen.insert(at) {
                errors.push(format!("division {start}: its parents form a loop"));
                return;
            }
            at = next;
        }
    }
}

/// Parses and checks a 専決 table against the posts it may name.
pub fn parse_rules(text: &str, org: &Org) -> Result<Vec<RuleRow>, Vec<String>> {
    let doc: RulesDoc = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    let mut errors = Vec::new();
    let posts: BTreeSet<&str> = org.posts.iter().map(|p| p.id.0.as_str()).collect();
    let mut rows = Vec::new();
    for (i, r) in doc.rule.iter().enumerate() {
        let at = format!("rule {} ({})", i + 1, r.kind);
        let decider = match (&r.decider, &r.post) {
            (Some(rank), None) => match rank_of(&RankDoc::Name(rank.clone())) {
                Some(rank) => Decider::Rank(rank),
                None => {
                    errors.push(format!("{at}: decider must be a rank (kakaricho, kacho, bucho …)"));
                    Decider::Rank(Rank::HEAD)
                }
            },
            (None, Some(post)) => {
                if !posts.contains(post.as_str()) {
                    errors.push(format!("{at}: post {post:?} is not a post of the organisation"));
                }
                Decider::Post(PostId(post.clone()))
            }
            _ => {
                errors.push(format!("{at}: give exactly one of decider (a rank) or post"));
                Decider::Rank(Rank::HEAD)
            }
        };
        let amount = match (r.amount_min, r.amount_max) {
            (None, None) => None,
            (min, max) => {
                if min.is_some_and(|m| m < 0) {
                    errors.push(format!("{at}: amount_min is negative"));
                }
                Some(AmountBand { min: min.unwrap_or(0), max })
            }
        };
        let period = period(&at, &r.from, r.to.as_deref(), &mut errors);
        rows.push(RuleRow { kind: r.kind.trim().to_string(), amount, decider, period });
    }
    if let Err(problems) = check_table(&rows) {
        for p in problems {
            errors.push(match p {
                TableError::EmptyKind { row } => format!("rule {}: kind is empty", row + 1),
                TableError::EmptyBand { row } => format!("rule {}: amount_max must be above amount_min", row + 1),
                TableError::EmptyPeriod { row } => format!("rule {}: ends before it starts", row + 1),
                TableError::Overlap { a, b } => {
                    format!("rules {} and {} both apply to the same matter on some day", a + 1, b + 1)
                }
            });
        }
    }
    errors.dedup();
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// 公文書管理: a record completed on `completed` and kept `years` may be disposed of from the
/// 1 April after completion plus `years` (retention counts from the 1 April that follows).
pub fn retention_ends(completed: Date, years: u32) -> Date {
    let start_year = if completed.month() as u8 >= 4 { completed.year() + 1 } else { completed.year() };
    let y = start_year + i32::try_from(years).unwrap_or(30);
    Date::from_calendar_date(y, time::Month::April, 1).unwrap_or(Date::MAX)
}

/// The fiscal year (年度) of a date: April to March.
pub fn fiscal_year(d: Date) -> i32 {
    if d.month() as u8 >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(email: &str) -> Option<PersonId> {
        email.strip_suffix("@x.jp").map(|s| PersonId(s.to_string()))
    }

    const ORG: &str = r#"
[[division]]
code = "somu"
name = "総務部"
from = "2020-04-01"
[[division]]
code = "zaisei"
name = "財政課"
parent = "somu"
from = "2020-04-01"
[[post]]
code = "zaisei-kacho"
name = "財政課長"
division = "zaisei"
rank = "kacho"
from = "2020-04-01"
[[post]]
code = "zaisei-tanto"
name = "財政課主事"
division = "zaisei"
rank = "tanto"
from = "2020-04-01"
[[assignment]]
staff = "a@x.jp"
post = "zaisei-kacho"
from = "2026-04-01"
"#;

    #[test]
    fn parses_a_small_org_and_table() {
        let org = parse_org(ORG, staff).expect("valid");
        let d = parse_date("2026-05-01").expect("date");
        assert_eq!(org.holder(&PostId("zaisei-kacho".into()), d), Some(PersonId("a".into())));
        let rules = parse_rules("[[rule]]\nkind = \"物品購入\"\ndecider = \"kacho\"\nfrom = \"2020-04-01\"\n", &org);
        assert_eq!(rules.map(|r| r.len()), Ok(1));
    }

    #[test]
    fn reports_every_problem_with_where() {
        let bad = ORG.replace("division = \"zaisei\"", "division = \"nowhere\"").replace("a@x.jp", "a@y.jp");
        let errors = parse_org(&bad, staff).expect_err("invalid");
        assert!(errors.iter().any(|e| e.contains("post 1") && e.contains("nowhere")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("assignment 1") && e.contains("no staff")), "{errors:?}");
        let org = parse_org(ORG, staff).expect("valid");
        let overlap = "[[rule]]\nkind = \"k\"\ndecider = \"kacho\"\nfrom = \"2020-04-01\"\n[[rule]]\nkind = \"k\"\npost = \"zaisei-kacho\"\nfrom = \"2026-04-01\"\n";
        let errors = parse_rules(overlap, &org).expect_err("overlap");
        assert!(errors.iter().any(|e| e.contains("rules 1 and 2")), "{errors:?}");
    }

    #[test]
    fn retention_counts_from_the_next_first_of_april() {
        let d = |s| parse_date(s).expect("date");
        assert_eq!(retention_ends(d("2026-05-10"), 1), d("2028-04-01"));
        assert_eq!(retention_ends(d("2027-03-31"), 1), d("2028-04-01"));
        assert_eq!(retention_ends(d("2026-04-01"), 5), d("2032-04-01"));
        assert_eq!(fiscal_year(d("2027-03-31")), 2026);
    }
}
