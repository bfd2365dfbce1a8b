//! 電子決裁 files: the organisation TOML (`approval::doc::parse_org`), the 専決 table
//! (`parse_rules`, against the demo organisation) and `parse_date`; then what an accepted file
//! is used for — lines of posts and proposed routes — so that data the parser lets through
//! cannot hang or crash the route code. Invariants: an accepted table has no overlapping rows;
//! a proposed route ends with exactly one deciding step.
#![no_main]

use kencho_core::approval::doc::{format_date, parse_date, parse_org, parse_rules};
use kencho_core::approval::org::{DivisionId, Org};
use kencho_core::approval::route::{propose, Role};
use kencho_core::approval::rules::{check_table, RuleRow};
use libfuzzer_sys::fuzz_target;

/// Proposes a route for every appointment and kind of matter, on the day each appointment starts.
fn routes(org: &Org, rules: &[RuleRow]) {
    let consult: Vec<(DivisionId, bool)> = org.divisions.iter().take(2).map(|d| (d.id.clone(), true)).collect();
    for a in org.assignments.iter().take(4) {
        let date = a.period.from;
        let _ = org.posts_of(&a.person, date);
        for r in rules.iter().take(4) {
            for (amount, important) in [(None, false), (Some(150_000), false), (Some(i64::MAX), true)] {
                let route = propose(org, rules, &a.person, &a.post, &r.kind, amount, important, date, &consult);
                if let Ok(route) = route {
                    let last = route.stages().last().expect("a route has a deciding stage");
                    assert!(last.steps.len() == 1 && last.steps[0].role == Role::Decide);
                    let deciders = route.stages().iter().flat_map(|s| &s.steps).filter(|s| s.role == Role::Decide);
                    assert_eq!(deciders.count(), 1);
                }
            }
        }
    }
    for d in org.divisions.iter().take(16) {
        let _ = org.line_ranked(&d.id, d.period.from);
        let _ = org.head_post(&d.id, d.period.from);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = kencho_fuzz::text(data);
    let (demo_org, demo_rules) = kencho_fuzz::org_and_rules();
    if let Ok(org) = parse_org(&text, kencho_fuzz::staff) {
        routes(&org, demo_rules);
    }
    if let Ok(rules) = parse_rules(&text, demo_org) {
        assert!(check_table(&rules).is_ok(), "an accepted 専決 table has overlapping rows");
        routes(demo_org, &rules);
    }
    for line in text.lines().take(4) {
        if let Some(d) = parse_date(line) {
            assert_eq!(format_date(d), line.trim(), "parse_date accepted a date it does not write back alike");
        }
    }
});
