//! The organisation at a date: divisions (課・係 nested under 部 and the office), posts with a
//! rank, who holds which post when, and registered substitutes for 代決.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::Date;

/// Identifies a division (部・課・係); stable across reshuffles.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DivisionId(pub String);

/// Identifies a post (職), e.g. "財政課長"; the person in it changes, the post does not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PostId(pub String);

/// Identifies a member of staff.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(pub String);

/// Seniority of a post; higher is more senior. Gaps between the constants leave room for
/// local ranks (e.g. 主査, 次長) without renumbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rank(pub u8);

impl Rank {
    pub const TANTO: Rank = Rank(10); // 担当
    pub const KAKARICHO: Rank = Rank(20); // 係長
    pub const KACHO_HOSA: Rank = Rank(30); // 課長補佐
    pub const KACHO: Rank = Rank(40); // 課長
    pub const BUCHO: Rank = Rank(50); // 部長
    pub const FUKU: Rank = Rank(60); // 副知事・副市長
    pub const HEAD: Rank = Rank(70); // 知事・市長
}

/// Days on which something is in effect. `to` is the last day *included*, because
/// appointments and rules are written "…3月31日まで".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: Date,
    pub to: Option<Date>,
}

impl Period {
    pub fn from(from: Date) -> Period {
        Period { from, to: None }
    }

    pub fn contains(&self, date: Date) -> bool {
        self.from <= date && self.to.is_none_or(|t| date <= t)
    }

    pub fn overlaps(&self, other: &Period) -> bool {
        self.to.is_none_or(|t| other.from <= t) && other.to.is_none_or(|t| self.from <= t)
    }

    /// A period ending before it starts can never be in effect.
    pub fn is_empty(&self) -> bool {
        self.to.is_some_and(|t| t < self.from)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Division {
    pub id: DivisionId,
    pub name: String,
    /// The division above (係 → 課 → 部 → the office); `None` at the top.
    pub parent: Option<DivisionId>,
    pub period: Period,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: PostId,
    pub name: String,
    pub division: DivisionId,
    pub rank: Rank,
    pub period: Period,
}

/// A person holds a post for a period (発令).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub person: PersonId,
    pub post: PostId,
    pub period: Period,
}

/// The holder of `by_post` may decide (代決) for `for_post` while its holder is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Substitute {
    pub for_post: PostId,
    pub by_post: PostId,
    pub period: Period,
}

/// A post in someone's line, with its rank so rules can pick by rank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePost {
    pub post: PostId,
    pub rank: Rank,
}

/// The whole organisation over time; every query takes the date it is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub divisions: Vec<Division>,
    pub posts: Vec<Post>,
    pub assignments: Vec<Assignment>,
    pub substitutes: Vec<Substitute>,
}

impl Org {
    pub fn division(&self, id: &DivisionId, date: Date) -> Option<&Division> {
        self.divisions.iter().find(|d| &d.id == id && d.period.contains(date))
    }

    pub fn post(&self, id: &PostId, date: Date) -> Option<&Post> {
        self.posts.iter().find(|p| &p.id == id && p.period.contains(date))
    }

    /// Who holds `post` on `date`. If appointments overlap (data entry during a reshuffle), the
    /// most recent appointment wins, as the later 発令 supersedes the earlier.
    pub fn holder(&self, post: &PostId, date: Date) -> Option<PersonId> {
        self.post(post, date)?;
        self.assignments
            .iter()
            .filter(|a| &a.post == post && a.period.contains(date))
            .max_by_key(|a| a.period.from)
            .map(|a| a.person.clone())
    }

    /// Posts `person` holds on `date` (兼務 gives more than one).
    pub fn posts_of(&self, person: &PersonId, date: Date) -> Vec<PostId> {
        let mut out: Vec<PostId> = self
            .posts
            .iter()
            .filter(|p| p.period.contains(date) && self.holder(&p.id, date).as_ref() == Some(person))
            .map(|p| p.id.clone())
            .collect();
        out.dedup();
        out
    }

    /// The chain of posts from `division` up to the head, lowest rank first. Going up, only
    /// posts more senior than everything below are kept, so a 部's own 担当 is not in a 係's line.
    pub fn line_up(&self, division: &DivisionId, date: Date) -> Vec<PostId> {
        self.line_ranked(division, date).into_iter().map(|l| l.post).collect()
    }

    /// [`Org::line_up`] with ranks.
    pub fn line_ranked(&self, division: &DivisionId, date: Date) -> Vec<LinePost> {
        let mut out: Vec<LinePost> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut current = self.division(division, date);
        while let Some(d) = current {
            // A cycle in bad data must not loop forever.
            if !seen.insert(d.id.clone()) {
                break;
            }
            let mut here: Vec<&Post> =
                self.posts.iter().filter(|p| p.division == d.id && p.period.contains(date)).collect();
            here.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.id.cmp(&b.id)));
            for p in here {
                if out.last().is_none_or(|l| l.rank < p.rank) {
                    out.push(LinePost { post: p.id.clone(), rank: p.rank });
                }
            }
            current = d.parent.as_ref().and_then(|parent| self.division(parent, date));
        }
        out
    }

    /// The posts above `post` in its line, nearest first: where a draft by its holder goes.
    pub fn line_above(&self, post: &PostId, date: Date) -> Vec<LinePost> {
        let Some(p) = self.post(post, date) else { return Vec::new() };
        self.line_ranked(&p.division, date).into_iter().filter(|l| l.rank > p.rank).collect()
    }

    /// Whether `upper` is above `lower` in `lower`'s line (who may 引上げ).
    pub fn is_above(&self, upper: &PostId, lower: &PostId, date: Date) -> bool {
        self.line_above(lower, date).iter().any(|l| &l.post == upper)
    }

    /// The most senior post of a division: who answers a 合議 for it.
    pub fn head_post(&self, division: &DivisionId, date: Date) -> Option<PostId> {
        self.division(division, date)?;
        self.posts
            .iter()
            .filter(|p| &p.division == division && p.period.contains(date))
            .max_by(|a, b| a.rank.cmp(&b.rank).then_with(|| b.id.cmp(&a.id)))
            .map(|p| p.id.clone())
    }

    /// Whether `person` may 代決 for `post` on `date` (holds a registered substitute post).
    pub fn is_substitute(&self, person: &PersonId, post: &PostId, date: Date) -> bool {
        self.substitutes.iter().any(|s| {
            &s.for_post == post && s.period.contains(date) && self.holder(&s.by_post, date).as_ref() == Some(person)
        })
    }

    /// The substitute post through which `person` acts for `post`, for the event record.
    pub fn substitute_post(&self, person: &PersonId, post: &PostId, date: Date) -> Option<PostId> {
        self.substitutes
            .iter()
            .find(|s| {
                &s.for_post == post && s.period.contains(date) && self.holder(&s.by_post, date).as_ref() == Some(person)
            })
            .map(|s| s.by_post.clone())
    }
}
