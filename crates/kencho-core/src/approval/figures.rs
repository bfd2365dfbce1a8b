//! Paperless figures (ペーパーレス指標) from the recorded acts of 起案: how many decisions went
//! electronic, how long steps and whole routes took, how often drafts were sent back, and
//! where they waited longest. Pure: the caller passes the events it read.

use std::collections::BTreeMap;

use serde::Serialize;

/// One recorded act of a 起案, as stored.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub at_ms: i64,
    pub act: String,
    pub stage: Option<i64>,
    pub as_post: Option<String>,
}

/// One 起案 with its history, oldest act first.
#[derive(Debug, Clone)]
pub struct KianRow {
    pub division: String,
    pub decided: bool,
    pub events: Vec<EventRow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spread {
    pub count: usize,
    pub median_days: f64,
    pub p90_days: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DivisionFigures {
    pub division: String,
    /// 起案 decided electronically.
    pub decided: usize,
    /// 起案 drafted (submitted at least once).
    pub submitted: usize,
    /// 起案 sent back (差戻し or 合議 disagreement) at least once.
    pub sent_back: usize,
    /// Time each step waited before its holder acted.
    pub per_step: Spread,
    /// First submission to decision.
    pub per_route: Spread,
    /// The posts that waited longest, by median, longest first (at most five).
    pub slowest_posts: Vec<PostWait>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostWait {
    pub post: String,
    pub steps: usize,
    pub median_days: f64,
}

const DAY_MS: f64 = 86_400_000.0;

/// Acts that complete a step someone waited on.
fn is_step_act(act: &str) -> bool {
    matches!(act, "approved" | "agreed" | "disagreed" | "sent_back" | "rejected" | "substitute_decided" | "took_over")
}

/// The nearest-rank percentile of sorted values (`p` in 0..=100); 0 for none.
pub fn percentile(sorted: &[f64], p: u32) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (f64::from(p) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn spread(mut v: Vec<f64>) -> Spread {
    v.sort_by(f64::total_cmp);
    Spread { count: v.len(), median_days: round2(percentile(&v, 50)), p90_days: round2(percentile(&v, 90)) }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Step waits of one 起案: each step act waited since the stage was entered, which is the
/// last act before it that moved the route on from another stage (or the submission).
fn step_waits(events: &[EventRow]) -> Vec<(Option<String>, f64)> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if !is_step_act(&e.act) {
            continue;
        }
        let entered = events[..i]
            .iter()
            .rev()
            .find(|p| {
                // Reading (供覧・後閲) happens beside the route and moves nothing on.
                p.act == "submitted"
                    || (p.stage != e.stage
                        && (is_step_act(&p.act) || p.act == "skipped_absent" || p.act == "superseded"))
            })
            .map_or(e.at_ms, |p| p.at_ms);
        out.push((e.as_post.clone(), (e.at_ms - entered).max(0) as f64 / DAY_MS));
    }
    out
}

/// Figures per division, plus a whole-tenant line named `""` first.
pub fn compute(rows: &[KianRow]) -> Vec<DivisionFigures> {
    let mut groups: BTreeMap<String, Vec<&KianRow>> = BTreeMap::new();
    for r in rows {
        groups.entry(String::new()).or_default().push(r);
        groups.entry(r.division.clone()).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(division, ks)| {
            let mut steps = Vec::new();
            let mut routes = Vec::new();
            let mut by_post: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            let mut f = DivisionFigures { division, ..Default::default() };
            for k in ks {
                let first = k.events.iter().find(|e| e.act == "submitted");
                if first.is_none() {
                    continue;
                }
                f.submitted += 1;
                if k.events.iter().any(|e| e.act == "sent_back" || e.act == "disagreed") {
                    f.sent_back += 1;
                }
                for (post, days) in step_waits(&k.events) {
                    steps.push(days);
                    if let Some(p) = post {
                        by_post.entry(p).or_default().push(days);
                    }
                }
                if k.decided {
                    f.decided += 1;
                    let end = k.events.iter().rev().find(|e| is_step_act(&e.act));
                    if let (Some(s), Some(e)) = (first, end) {
                        routes.push((e.at_ms - s.at_ms).max(0) as f64 / DAY_MS);
                    }
                }
            }
            f.per_step = spread(steps);
            f.per_route = spread(routes);
            let mut posts: Vec<PostWait> = by_post
                .into_iter()
                .map(|(post, v)| {
                    let s = spread(v);
                    PostWait { post, steps: s.count, median_days: s.median_days }
                })
                .collect();
            posts.sort_by(|a, b| b.median_days.total_cmp(&a.median_days).then_with(|| a.post.cmp(&b.post)));
            posts.truncate(5);
            f.slowest_posts = posts;
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(day: f64, act: &str, stage: Option<i64>, post: &str) -> EventRow {
        EventRow { at_ms: (day * DAY_MS) as i64, act: act.into(), stage, as_post: Some(post.into()) }
    }

    #[test]
    fn waits_are_measured_from_stage_entry() {
        let k = KianRow {
            division: "zaisei".into(),
            decided: true,
            events: vec![
                ev(0.0, "submitted", None, "tanto"),
                ev(1.0, "approved", Some(0), "kakaricho"),
                ev(1.5, "agreed", Some(1), "a"),
                ev(3.0, "agreed", Some(1), "b"),
                ev(4.0, "approved", Some(2), "kacho"),
            ],
        };
        let f = compute(&[k]);
        assert_eq!(f.len(), 2);
        let z = &f[1];
        assert_eq!(z.decided, 1);
        assert_eq!(z.per_route.median_days, 4.0);
        // Parallel 合議: both waited from when stage 1 began (day 1).
        assert_eq!(z.per_step.count, 4);
        assert_eq!(z.slowest_posts[0].post, "b");
        assert_eq!(z.slowest_posts[0].median_days, 2.0);
    }

    #[test]
    fn reading_beside_the_route_does_not_shorten_a_wait() {
        let mut read = ev(1.0, "read", None, "reader");
        read.as_post = None;
        let k = KianRow {
            division: "d".into(),
            decided: true,
            events: vec![ev(0.0, "submitted", None, "t"), read, ev(3.0, "approved", Some(0), "kacho")],
        };
        assert_eq!(compute(&[k])[1].per_step.median_days, 3.0);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50), 5.0);
        assert_eq!(percentile(&v, 90), 9.0);
        assert_eq!(percentile(&[], 90), 0.0);
    }
}
