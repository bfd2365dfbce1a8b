//! Inboxes (未処理, 起案中, 後閲, 供覧, 決裁済), their counts, and search over 起案.

use kencho_core::approval::org::{Org, PostId};
use kencho_core::search;

use super::model::{Counts, Inbox, Line};
use super::store;
use super::view::may_see;
use crate::actor::Staff;
use crate::approval::setup::{absent_on, person_of, Setup};
use crate::db::{now_ms, Db};
use crate::error::Result;

/// Posts whose pending steps are mine today: the posts I hold, and posts I may 代決 for whose
/// holder is away.
async fn my_posts(db: &Db, org: &Org, staff: &Staff) -> Result<Vec<String>> {
    let today = crate::clock::date_at(now_ms());
    let me = person_of(staff.id);
    let mut posts: Vec<String> = org.posts_of(&me, today).into_iter().map(|p| p.0).collect();
    let subs: Vec<&PostId> = org
        .substitutes
        .iter()
        .filter(|s| s.period.contains(today) && org.holder(&s.by_post, today).as_ref() == Some(&me))
        .map(|s| &s.for_post)
        .collect();
    if !subs.is_empty() {
        let mut conn = db.read.acquire().await?;
        let absent = absent_on(&mut conn, staff.tenant_id, today).await?;
        for p in subs {
            if org.holder(p, today).is_some_and(|h| absent.contains(&h)) {
                posts.push(p.0.clone());
            }
        }
    }
    posts.sort();
    posts.dedup();
    Ok(posts)
}

/// One box, newest first (at most 500 lines).
pub async fn inbox(db: &Db, setup: &Setup, staff: &Staff, which: Inbox) -> Result<Vec<Line>> {
    match which {
        Inbox::Pending | Inbox::Kyoran => {
            let posts = my_posts(db, &setup.org, staff).await?;
            if posts.is_empty() {
                return Ok(Vec::new());
            }
            let boxname = if which == Inbox::Pending { "pending" } else { "kyoran" };
            store::waiting_for_posts(db, staff.tenant_id, boxname, &posts).await
        }
        Inbox::Kouetsu => store::kouetsu_of(db, staff.tenant_id, staff.id).await,
        Inbox::Drafting => store::drafting_of(db, staff.id).await,
        Inbox::Decided => store::decided_for(db, staff.tenant_id, staff.id).await,
    }
}

pub async fn counts(db: &Db, setup: &Setup, staff: &Staff) -> Result<Counts> {
    let posts = my_posts(db, &setup.org, staff).await?;
    let mut c = Counts::default();
    if !posts.is_empty() {
        for (b, n) in store::count_for_posts(db, staff.tenant_id, &posts).await? {
            if b == "pending" {
                c.pending = n;
            } else {
                c.kyoran = n;
            }
        }
    }
    c.kouetsu = store::count_kouetsu(db, staff.tenant_id, staff.id).await?;
    Ok(c)
}

/// Japanese search over titles and bodies of the 起案 the staff member may see.
pub async fn search(db: &Db, setup: &Setup, staff: &Staff, query: &str) -> Result<Vec<Line>> {
    // A match holds at least one bigram of the first term (the scorer lets a long term miss a
    // quarter of its bigrams, never all), so the database narrows with those, over all years.
    let first: Vec<char> = search::normalise(query).split_whitespace().next().unwrap_or("").chars().collect();
    let grams: Vec<String> = if first.len() < 2 {
        vec![first.iter().collect()]
    } else {
        first.windows(2).take(12).map(|w| w.iter().collect()).collect()
    };
    let mut hits = Vec::new();
    for found in store::search(db, staff.tenant_id, &grams).await? {
        let title = search::normalise(&found.title);
        let Some(score) = search::score(&title, &found.search_text, query) else { continue };
        let k = found.kian()?;
        if may_see(&setup.org, staff, &k) {
            hits.push((score, found.line()?));
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    Ok(hits.into_iter().take(200).map(|(_, l)| l).collect())
}
