//! What a typical 事務決裁規程 limits: when 代決 is allowed, and where a matter goes that a
//! 専決 holder may not decide (専決の制限).
//!
//! Both follow the pattern most prefectures and cities publish (e.g. 「事務決裁規程」 of 福島県,
//! 南相馬市, 東京都 各局): 代決 only while the decider is absent *and* the matter is urgent,
//! never for 重要・異例 matters or where the 合議 disagreed, and with 後閲 afterwards; a 専決
//! matter that is 重要・異例 goes to the next 専決 level above (上司の決裁), not to the head.

use serde::{Deserialize, Serialize};

use super::org::{LinePost, PostId, Rank};

/// The facts 代決 is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DaiketsuCase {
    /// The 決裁権者 is recorded absent (不在登録) on the day.
    pub decider_absent: bool,
    /// The drafter marked the matter 急施 (it cannot wait for the decider's return).
    pub urgent: bool,
    /// 重要・異例 (set by the drafter).
    pub important: bool,
    /// A 合議 answered 不同意 at some point of the route's history.
    pub disagreed: bool,
}

/// Why 代決 is refused, most fundamental first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum DaiketsuRefusal {
    #[error("a 重要・異例 matter is never decided by 代決; it waits for the decider")]
    Important,
    #[error("a 合議 disagreed on this matter; it is never decided by 代決")]
    Disagreed,
    #[error("the decision-maker is not absent")]
    NotAbsent,
    #[error("代決 is only for urgent (急施) matters")]
    NotUrgent,
}

/// Typical 事務決裁規程 (代決): 「決裁権者が不在で、特に急施を要するときは代決できる。ただし、
/// 重要又は異例に属する事項及び合議先と意見を異にする事項は代決できない」.
pub fn daiketsu_allowed(c: DaiketsuCase) -> Result<(), DaiketsuRefusal> {
    if c.important {
        return Err(DaiketsuRefusal::Important);
    }
    if c.disagreed {
        return Err(DaiketsuRefusal::Disagreed);
    }
    if !c.decider_absent {
        return Err(DaiketsuRefusal::NotAbsent);
    }
    if !c.urgent {
        return Err(DaiketsuRefusal::NotUrgent);
    }
    Ok(())
}

/// The 専決 levels of a typical 規程 (係長・課長・部長・副知事/副市長・知事/市長). Other ranks in
/// a line (担当, 課長補佐, local ranks such as 次長) approve on the way but are not a level a
/// matter is sent up to.
pub const LEVELS: [Rank; 5] = [Rank::KAKARICHO, Rank::KACHO, Rank::BUCHO, Rank::FUKU, Rank::HEAD];

/// The level right above `rank`, if any.
pub fn next_level(rank: Rank) -> Option<Rank> {
    LEVELS.into_iter().find(|l| *l > rank)
}

/// 専決の制限: the post that decides when the 専決 holder `decider` may not (the matter is
/// 重要・異例). `line` is the drafter's line above them, nearest first, ending at the head. The
/// matter goes to the first post above `decider` at the next level (課長専決 → 部長), never
/// further; it reaches the head only when the head is that next level (or the line has no
/// post at that level below the head). A decider already at the head stays.
pub fn one_level_up(line: &[LinePost], decider: &PostId) -> Option<PostId> {
    let at = line.iter().position(|l| &l.post == decider)?;
    let here = line.get(at)?;
    let above = line.get(at + 1..).unwrap_or_default();
    let Some(head) = above.last() else { return Some(here.post.clone()) };
    let found = next_level(here.rank).and_then(|level| above.iter().find(|l| l.rank >= level));
    Some(found.unwrap_or(head).post.clone())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(ranks: &[u8]) -> Vec<LinePost> {
        ranks.iter().map(|r| LinePost { post: PostId(format!("p{r}")), rank: Rank(*r) }).collect()
    }

    #[test]
    fn kacho_goes_to_bucho_not_the_head() {
        let l = line(&[20, 30, 40, 50, 60, 70]);
        assert_eq!(one_level_up(&l, &PostId("p40".into())), Some(PostId("p50".into())));
        assert_eq!(one_level_up(&l, &PostId("p20".into())), Some(PostId("p40".into())), "課長補佐 is no level");
        assert_eq!(one_level_up(&l, &PostId("p60".into())), Some(PostId("p70".into())));
        assert_eq!(one_level_up(&l, &PostId("p70".into())), Some(PostId("p70".into())));
        // A 次長 (55) between 部長 and 副市長 is passed to reach the next level.
        let l = line(&[40, 50, 55, 60, 70]);
        assert_eq!(one_level_up(&l, &PostId("p50".into())), Some(PostId("p60".into())));
    }

    proptest! {
        /// 代決 is allowed exactly when the decider is absent, the matter urgent, not
        /// 重要・異例 and not disagreed with.
        #[test]
        fn daiketsu_rule(decider_absent: bool, urgent: bool, important: bool, disagreed: bool) {
            let c = DaiketsuCase { decider_absent, urgent, important, disagreed };
            prop_assert_eq!(daiketsu_allowed(c).is_ok(), decider_absent && urgent && !important && !disagreed);
            if important {
                prop_assert_eq!(daiketsu_allowed(c), Err(DaiketsuRefusal::Important));
            }
        }

        /// 専決の制限 goes up, never skips a level, and reaches the head only when nothing at
        /// the next level stands between.
        #[test]
        fn one_level_up_never_skips(
            ranks in proptest::collection::btree_set(
                prop_oneof![Just(20u8), Just(30), Just(40), Just(45), Just(50), Just(55), Just(60)], 0..7),
            pick in 0usize..8,
        ) {
            let mut ranks: Vec<u8> = ranks.into_iter().collect();
            ranks.push(70);
            let l = line(&ranks);
            let at = pick % l.len();
            let decider = l[at].post.clone();
            let up = one_level_up(&l, &decider).expect("in the line");
            let to = l.iter().position(|x| x.post == up).expect("in the line");
            if at + 1 == l.len() {
                prop_assert_eq!(to, at, "the head stays");
            } else {
                prop_assert!(to > at, "goes up");
                let level = next_level(l[at].rank).expect("a level above");
                // Nothing between is at the next level or above.
                prop_assert!(l[at + 1..to].iter().all(|x| x.rank < level));
                if to + 1 < l.len() {
                    prop_assert!(l[to].rank >= level);
                }
            }
        }
    }
}
