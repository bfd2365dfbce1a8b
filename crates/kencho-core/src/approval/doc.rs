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
use crate::check::Finding;

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

/// A row's `from` and `to`; `None` when they are not dates or end before they start (named in
/// `errors`), so that later checks leave the row out rather than guess its period.
fn period(at: &str, from: &str, to: Option<&str>, errors: &mut Vec<Finding>) -> Option<Period> {
    let start = parse_date(from);
    if start.is_none() {
        errors.push(Finding::new("not_a_date", format!("{at}.from")).with("date", format!("{from:?}")));
    }
    let end = match to {
        None => Some(None),
        Some(t) => {
            let d = parse_date(t);
            if d.is_none() {
                errors.push(Finding::new("not_a_date", format!("{at}.to")).with("date", format!("{t:?}")));
            }
            d.map(Some)
        }
    };
    let p = Period { from: start?, to: end? };
    if p.is_empty() {
        errors.push(Finding::new("ends_before_start", format!("{at}.to")));
        return None;
    }
    Some(p)
}

/// A period for a row whose own was named as wrong: the row is refused anyway.
const NO_PERIOD: Period = Period { from: Date::MIN, to: None };

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
/// no such staff member exists in the tenant. Each problem is named at the document's own keys
/// (`post[2].division`, rows counted from 0).
pub fn parse_org(text: &str, staff: impl Fn(&str) -> Option<PersonId>) -> Result<Org, Vec<Finding>> {
    let doc: OrgDoc = toml::from_str(text).map_err(|e| vec![Finding::of_toml(text, &e)])?;
    let mut errors = Vec::new();
    // Every part is read even when an earlier one has errors, so that one upload reports all.
    let (divisions, division_periods) = divisions(&doc.division, &mut errors);
    let division_codes: BTreeSet<&str> = doc.division.iter().map(|d| d.code.as_str()).collect();
    let (posts, post_periods) = posts(&doc.post, &division_codes, &mut errors);
    overlapping(
        &doc.division.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
        &division_periods,
        "division",
        &mut errors,
    );
    overlapping(&doc.post.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), &post_periods, "post", &mut errors);
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

/// The `[[division]]` rows (and each one's period, if sound); a parent must be one of them.
fn divisions(docs: &[DivisionDoc], errors: &mut Vec<Finding>) -> (Vec<Division>, Vec<Option<Period>>) {
    let mut out = Vec::new();
    let mut periods = Vec::new();
    let division_codes: BTreeSet<&str> = docs.iter().map(|d| d.code.as_str()).collect();
    for (i, d) in docs.iter().enumerate() {
        let at = format!("division[{i}]");
        if !code_ok(&d.code) {
            errors.push(Finding::new("org_not_a_code", format!("{at}.code")).with("code", format!("{:?}", d.code)));
        }
        if d.name.trim().is_empty() {
            errors.push(Finding::new("required", format!("{at}.name")));
        }
        if let Some(parent) = d.parent.as_deref().filter(|p| !p.is_empty() && !division_codes.contains(p)) {
            errors.push(Finding::new("org_not_a_division", format!("{at}.parent")).with("code", format!("{parent:?}")));
        }
        let p = period(&at, &d.from, d.to.as_deref(), errors);
        periods.push(p);
        out.push(Division {
            id: DivisionId(d.code.clone()),
            name: d.name.trim().to_string(),
            parent: d.parent.clone().filter(|p| !p.is_empty()).map(DivisionId),
            period: p.unwrap_or(NO_PERIOD),
        });
    }
    (out, periods)
}

/// The `[[post]]` rows (and each one's period, if sound), each in one of the divisions.
fn posts(
    docs: &[PostDoc],
    division_codes: &BTreeSet<&str>,
    errors: &mut Vec<Finding>,
) -> (Vec<Post>, Vec<Option<Period>>) {
    let mut out = Vec::new();
    let mut periods = Vec::new();
    for (i, p) in docs.iter().enumerate() {
        let at = format!("post[{i}]");
        if !code_ok(&p.code) {
            errors.push(Finding::new("org_not_a_code", format!("{at}.code")).with("code", format!("{:?}", p.code)));
        }
        if p.name.trim().is_empty() {
            errors.push(Finding::new("required", format!("{at}.name")));
        }
        if !division_codes.contains(p.division.as_str()) {
            errors.push(
                Finding::new("org_not_a_division", format!("{at}.division")).with("code", format!("{:?}", p.division)),
            );
        }
        let rank = rank_of(&p.rank).unwrap_or_else(|| {
            errors.push(Finding::new("org_rank", format!("{at}.rank")));
            Rank::TANTO
        });
        let period = period(&at, &p.from, p.to.as_deref(), errors);
        periods.push(period);
        out.push(Post {
            id: PostId(p.code.clone()),
            name: p.name.trim().to_string(),
            division: DivisionId(p.division.clone()),
            rank,
            period: period.unwrap_or(NO_PERIOD),
        });
    }
    (out, periods)
}

/// The `[[assignment]]` rows: a staff member (by e-mail) holding a post.
fn assignments(
    docs: &[AssignmentDoc],
    post_codes: &BTreeSet<&str>,
    staff: impl Fn(&str) -> Option<PersonId>,
    errors: &mut Vec<Finding>,
) -> Vec<Assignment> {
    let mut out = Vec::new();
    for (i, a) in docs.iter().enumerate() {
        let at = format!("assignment[{i}]");
        if !post_codes.contains(a.post.as_str()) {
            errors.push(Finding::new("org_not_a_post", format!("{at}.post")).with("code", format!("{:?}", a.post)));
        }
        let person = staff(a.staff.trim());
        if person.is_none() {
            errors.push(Finding::new("org_no_staff", format!("{at}.staff")).with("email", format!("{:?}", a.staff)));
        }
        let period = period(&at, &a.from, a.to.as_deref(), errors);
        if let Some(person) = person {
            out.push(Assignment { person, post: PostId(a.post.clone()), period: period.unwrap_or(NO_PERIOD) });
        }
    }
    out
}

/// The `[[substitute]]` rows: one post standing in for another.
fn substitutes(docs: &[SubstituteDoc], post_codes: &BTreeSet<&str>, errors: &mut Vec<Finding>) -> Vec<Substitute> {
    let mut out = Vec::new();
    for (i, s) in docs.iter().enumerate() {
        let at = format!("substitute[{i}]");
        for (key, code) in [("for", &s.for_post), ("by", &s.by)] {
            if !post_codes.contains(code.as_str()) {
                errors.push(Finding::new("org_not_a_post", format!("{at}.{key}")).with("code", format!("{code:?}")));
            }
        }
        if s.for_post == s.by {
            errors.push(Finding::new("org_substitute_itself", format!("{at}.by")));
        }
        let period = period(&at, &s.from, s.to.as_deref(), errors).unwrap_or(NO_PERIOD);
        out.push(Substitute { for_post: PostId(s.for_post.clone()), by_post: PostId(s.by.clone()), period });
    }
    out
}

/// The same code may appear more than once only for periods that do not overlap (a division
/// renamed in April is a new row from that day). Each row that overlaps an earlier one is named
/// once; rows whose period is already named as wrong are left out.
fn overlapping(codes: &[&str], periods: &[Option<Period>], what: &str, errors: &mut Vec<Finding>) {
    for (j, (code, b)) in codes.iter().zip(periods).enumerate() {
        let Some(b) = b else { continue };
        let earlier =
            codes.iter().zip(periods).take(j).position(|(c, a)| c == code && a.is_some_and(|a| a.overlaps(b)));
        if let Some(i) = earlier {
            errors.push(
                Finding::new("org_overlap", format!("{what}[{j}]"))
                    .with("code", code)
                    .with("other", format!("{what}[{i}]")),
            );
        }
    }
}

/// Parents that lead back to a division: named once per loop, at the loop's first division in
/// the document (a division below a loop is not in it).
fn check_cycles(org: &Org, errors: &mut Vec<Finding>) {
    let parents: BTreeMap<&str, &str> =
        org.divisions.iter().filter_map(|d| d.parent.as_ref().map(|p| (d.id.0.as_str(), p.0.as_str()))).collect();
    let mut in_named_loop: BTreeSet<&str> = BTreeSet::new();
    for (i, d) in org.divisions.iter().enumerate() {
        let start = d.id.0.as_str();
        if in_named_loop.contains(start) {
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut at = start;
        while let Some(next) = parents.get(at) {
            if !seen.insert(at) {
                break;
            }
            at = next;
            if at == start {
                in_named_loop.extend(seen.iter().copied());
                errors.push(Finding::new("org_parent_loop", format!("division[{i}].parent")).with("code", start));
                break;
            }
        }
    }
}

/// Parses and checks a 専決 table against the posts it may name. Each problem is named at the
/// document's own keys (`rule[3].post`, rows counted from 0).
pub fn parse_rules(text: &str, org: &Org) -> Result<Vec<RuleRow>, Vec<Finding>> {
    let doc: RulesDoc = toml::from_str(text).map_err(|e| vec![Finding::of_toml(text, &e)])?;
    let mut errors = Vec::new();
    let posts: BTreeSet<&str> = org.posts.iter().map(|p| p.id.0.as_str()).collect();
    let mut rows = Vec::new();
    // Rows whose period is not sound: an overlap with them would be a guess.
    let mut unsound = BTreeSet::new();
    for (i, r) in doc.rule.iter().enumerate() {
        let at = format!("rule[{i}]");
        let decider = match (&r.decider, &r.post) {
            (Some(rank), None) => match rank_of(&RankDoc::Name(rank.clone())) {
                Some(rank) => Decider::Rank(rank),
                None => {
                    errors.push(Finding::new("rule_decider", format!("{at}.decider")));
                    Decider::Rank(Rank::HEAD)
                }
            },
            (None, Some(post)) => {
                if !posts.contains(post.as_str()) {
                    errors.push(Finding::new("org_not_a_post", format!("{at}.post")).with("code", format!("{post:?}")));
                }
                Decider::Post(PostId(post.clone()))
            }
            _ => {
                errors.push(Finding::new("exactly_one_of", at.clone()).with("a", "decider").with("b", "post"));
                Decider::Rank(Rank::HEAD)
            }
        };
        let amount = match (r.amount_min, r.amount_max) {
            (None, None) => None,
            (min, max) => {
                if min.is_some_and(|m| m < 0) {
                    errors.push(Finding::new("negative", format!("{at}.amount_min")));
                }
                Some(AmountBand { min: min.unwrap_or(0), max })
            }
        };
        let period = period(&at, &r.from, r.to.as_deref(), &mut errors).unwrap_or_else(|| {
            unsound.insert(i);
            NO_PERIOD
        });
        rows.push(RuleRow { kind: r.kind.trim().to_string(), amount, decider, period });
    }
    table_problems(&rows, &mut unsound, &mut errors);
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// What [`check_table`] finds, at the rows' keys. An empty period is already named by
/// `period`; a row with an empty kind or band is not compared with the others.
fn table_problems(rows: &[RuleRow], unsound: &mut BTreeSet<usize>, errors: &mut Vec<Finding>) {
    let Err(problems) = check_table(rows) else { return };
    for p in &problems {
        match *p {
            TableError::EmptyKind { row } => {
                unsound.insert(row);
                errors.push(Finding::new("required", format!("rule[{row}].kind")));
            }
            TableError::EmptyBand { row } => {
                unsound.insert(row);
                errors.push(Finding::new("not_above", format!("rule[{row}].amount_max")).with("other", "amount_min"));
            }
            TableError::EmptyPeriod { .. } | TableError::Overlap { .. } => {}
        }
    }
    for p in problems {
        if let TableError::Overlap { a, b } = p {
            if !unsound.contains(&a) && !unsound.contains(&b) {
                errors.push(Finding::new("rule_overlap", format!("rule[{b}]")).with("other", format!("rule[{a}]")));
            }
        }
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
    use proptest::prelude::*;

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
        let found = |at: &str, code: &str| errors.iter().any(|f| f.at == at && f.code == code);
        assert!(found("post[0].division", "org_not_a_division"), "{errors:?}");
        assert!(errors.iter().any(|f| f.args == [("code", "\"nowhere\"".to_string())]), "{errors:?}");
        assert!(found("assignment[0].staff", "org_no_staff"), "{errors:?}");
        let org = parse_org(ORG, staff).expect("valid");
        let overlap = "[[rule]]\nkind = \"k\"\ndecider = \"kacho\"\nfrom = \"2020-04-01\"\n[[rule]]\nkind = \"k\"\npost = \"zaisei-kacho\"\nfrom = \"2026-04-01\"\n";
        let errors = parse_rules(overlap, &org).expect_err("overlap");
        assert_eq!(errors, vec![Finding::new("rule_overlap", "rule[1]").with("other", "rule[0]")]);
    }

    #[test]
    fn names_each_problem_once_at_its_key() {
        let bad = ORG
            .replace("code = \"somu\"", "code = \"Somu\"")
            .replace("name = \"財政課\"", "name = \" \"")
            .replace("rank = \"tanto\"", "rank = \"boss\"")
            .replace("from = \"2026-04-01\"", "from = \"2026-04-01\"\nto = \"2026-03-31\"")
            + "[[substitute]]\nfor = \"zaisei-kacho\"\nby = \"zaisei-kacho\"\nfrom = \"2020-04\"\n";
        let errors = parse_org(&bad, staff).expect_err("invalid");
        let at: Vec<(&str, &str)> = errors.iter().map(|f| (f.at.as_str(), f.code)).collect();
        assert_eq!(
            at,
            [
                ("division[0].code", "org_not_a_code"),
                ("division[1].name", "required"),
                ("division[1].parent", "org_not_a_division"),
                ("post[1].rank", "org_rank"),
                ("assignment[0].to", "ends_before_start"),
                ("substitute[0].by", "org_substitute_itself"),
                ("substitute[0].from", "not_a_date"),
            ],
            "{errors:?}"
        );
        // A loop of parents is named once, and the divisions below it are not.
        let looped = "[[division]]\ncode = \"a\"\nname = \"A\"\nparent = \"b\"\nfrom = \"2020-04-01\"\n\
            [[division]]\ncode = \"b\"\nname = \"B\"\nparent = \"a\"\nfrom = \"2020-04-01\"\n\
            [[division]]\ncode = \"c\"\nname = \"C\"\nparent = \"a\"\nfrom = \"2020-04-01\"\n\
            [[division]]\ncode = \"c\"\nname = \"C2\"\nfrom = \"2021-04-01\"\n";
        let errors = parse_org(looped, staff).expect_err("loop");
        assert_eq!(
            errors,
            vec![
                Finding::new("org_overlap", "division[3]").with("code", "c").with("other", "division[2]"),
                Finding::new("org_parent_loop", "division[0].parent").with("code", "a"),
            ]
        );
        // A row whose period is wrong is not also said to overlap; an empty kind is named once.
        let org = parse_org(ORG, staff).expect("valid");
        let rules = "[[rule]]\nkind = \"k\"\ndecider = \"kacho\"\nfrom = \"2020-04-01\"\n\
            [[rule]]\nkind = \"k\"\ndecider = \"chief\"\nfrom = \"2026-04-01\"\nto = \"soon\"\n\
            [[rule]]\nkind = \" \"\npost = \"nowhere\"\ndecider = \"kacho\"\nfrom = \"2020-04-01\"\n\
            [[rule]]\nkind = \" \"\npost = \"nowhere\"\namount_min = -1\namount_max = -5\nfrom = \"2020-04-01\"\n";
        let errors = parse_rules(rules, &org).expect_err("invalid");
        let at: Vec<(&str, &str)> = errors.iter().map(|f| (f.at.as_str(), f.code)).collect();
        assert_eq!(
            at,
            [
                ("rule[1].decider", "rule_decider"),
                ("rule[1].to", "not_a_date"),
                ("rule[2]", "exactly_one_of"),
                ("rule[3].post", "org_not_a_post"),
                ("rule[3].amount_min", "negative"),
                ("rule[2].kind", "required"),
                ("rule[3].kind", "required"),
                ("rule[3].amount_max", "not_above"),
            ],
            "{errors:?}"
        );
    }

    proptest! {
        /// Whatever the organisation says, reading it never panics and names the same problems
        /// in the same order each time, each at a key of the document.
        #[test]
        fn findings_are_deterministic(edits in proptest::collection::vec((0usize..40, 0usize..8), 0..6)) {
            let values = ["\"\"", "\"X\"", "\"somu\"", "\"zaisei\"", "\"2020-13-01\"", "\"1999-01-01\"", "0", "\"zaisei-kacho\""];
            let mut lines: Vec<String> = ORG.lines().map(str::to_string).collect();
            for (line, value) in edits {
                let n = line % lines.len();
                if let Some((key, _)) = lines[n].split_once(" = ") {
                    lines[n] = format!("{key} = {}", values[value]);
                }
            }
            let text = lines.join("\n");
            let first = parse_org(&text, staff);
            prop_assert_eq!(&first, &parse_org(&text, staff));
            if let Err(findings) = first {
                prop_assert!(!findings.is_empty());
                for f in &findings {
                    let root = f.at.split(['[', '.']).next().unwrap_or("");
                    prop_assert!(
                        f.code.starts_with("unreadable") || ["division", "post", "assignment", "substitute"].contains(&root),
                        "{}", f
                    );
                }
            }
        }
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
