//! Inboxes (未処理, 起案中, 後閲, 供覧, 決裁済), their counts, and search over 起案.

use super::*;

/// A line of an inbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub id: i64,
    pub title: String,
    pub matter_kind: String,
    #[schema(value_type = String)]
    pub state: StateKind,
    pub number: Option<String>,
    pub drafter_name: String,
    pub since: i64,
}

/// The boxes of the staff menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inbox {
    /// 未処理: waiting for me (or for a decider I substitute for who is away).
    Pending,
    /// 起案中: mine, not finished (including decided and not yet 施行).
    Drafting,
    Kouetsu,
    Kyoran,
    /// 決裁済: decided documents I drafted or acted on.
    Decided,
}

impl Inbox {
    pub fn parse(s: &str) -> Option<Inbox> {
        Some(match s {
            "pending" => Inbox::Pending,
            "drafting" => Inbox::Drafting,
            "kouetsu" => Inbox::Kouetsu,
            "kyoran" => Inbox::Kyoran,
            "decided" => Inbox::Decided,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Inbox::Pending => "pending",
            Inbox::Drafting => "drafting",
            Inbox::Kouetsu => "kouetsu",
            Inbox::Kyoran => "kyoran",
            Inbox::Decided => "decided",
        }
    }

    pub const ALL: [Inbox; 5] = [Inbox::Pending, Inbox::Drafting, Inbox::Kouetsu, Inbox::Kyoran, Inbox::Decided];
}

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

/// The columns of a [`Line`] except `since`, which each box chooses.
const LINE: &str = "SELECT DISTINCT k.id, k.title, k.matter_kind, k.state, k.number, s.name AS drafter_name, ";

fn line_of(r: &sqlx::any::AnyRow) -> Result<Line> {
    Ok(Line {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        matter_kind: r.try_get("matter_kind")?,
        state: crate::db::parsed(r, "state", StateKind::parse)?,
        number: r.try_get("number")?,
        drafter_name: r.try_get("drafter_name")?,
        since: r.try_get("since")?,
    })
}

/// One box, newest first (at most 500 lines).
pub async fn inbox(db: &Db, setup: &Setup, staff: &Staff, which: Inbox) -> Result<Vec<Line>> {
    let rows = match which {
        Inbox::Pending | Inbox::Kyoran => {
            let posts = my_posts(db, &setup.org, staff).await?;
            if posts.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "{LINE} w.since FROM kian_waiting w JOIN kian k ON k.id = w.kian_id JOIN staff s ON s.id = k.drafter_id \
                 WHERE w.tenant_id = $1 AND w.box = $2 AND w.post IN ({}) ORDER BY w.since DESC LIMIT 500",
                placeholders(3, posts.len())
            );
            let mut q = sqlx::query(&sql).bind(staff.tenant_id).bind(if which == Inbox::Pending { "pending" } else { "kyoran" });
            for p in &posts {
                q = q.bind(p);
            }
            q.fetch_all(&db.read).await?
        }
        Inbox::Kouetsu => {
            sqlx::query(&format!(
                "{LINE} w.since FROM kian_waiting w JOIN kian k ON k.id = w.kian_id JOIN staff s ON s.id = k.drafter_id \
                 WHERE w.tenant_id = $1 AND w.box = 'kouetsu' AND w.person = $2 ORDER BY w.since DESC LIMIT 500"
            ))
            .bind(staff.tenant_id)
            .bind(staff.id)
            .fetch_all(&db.read)
            .await?
        }
        Inbox::Drafting => {
            sqlx::query(&format!(
                "{LINE} k.updated_at AS since FROM kian k JOIN staff s ON s.id = k.drafter_id WHERE k.drafter_id = $1 \
                 AND (k.state IN ('draft', 'in_progress', 'sent_back', 'withdrawn') OR (k.state = 'decided' AND k.executed_at IS NULL)) \
                 ORDER BY k.updated_at DESC LIMIT 500"
            ))
            .bind(staff.id)
            .fetch_all(&db.read)
            .await?
        }
        Inbox::Decided => {
            sqlx::query(&format!(
                "{LINE} k.updated_at AS since FROM kian k JOIN staff s ON s.id = k.drafter_id \
                 WHERE k.tenant_id = $1 AND k.state = 'decided' \
                 AND (k.drafter_id = $2 OR EXISTS (SELECT 1 FROM kian_events e WHERE e.kian_id = k.id AND e.actor_id = $2)) \
                 ORDER BY k.updated_at DESC LIMIT 500"
            ))
            .bind(staff.tenant_id)
            .bind(staff.id)
            .fetch_all(&db.read)
            .await?
        }
    };
    rows.iter().map(line_of).collect()
}

/// How many are waiting in 未処理, 後閲 and 供覧, for the menu.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub pending: i64,
    pub kouetsu: i64,
    pub kyoran: i64,
}

pub async fn counts(db: &Db, setup: &Setup, staff: &Staff) -> Result<Counts> {
    let posts = my_posts(db, &setup.org, staff).await?;
    let mut c = Counts::default();
    if !posts.is_empty() {
        let sql = format!(
            "SELECT box, COUNT(DISTINCT kian_id) AS n FROM kian_waiting \
             WHERE tenant_id = $1 AND box IN ('pending', 'kyoran') AND post IN ({}) GROUP BY box",
            placeholders(2, posts.len())
        );
        let mut q = sqlx::query(&sql).bind(staff.tenant_id);
        for p in &posts {
            q = q.bind(p);
        }
        for r in q.fetch_all(&db.read).await? {
            let b: String = r.try_get("box")?;
            let n: i64 = r.try_get("n")?;
            if b == "pending" {
                c.pending = n;
            } else {
                c.kyoran = n;
            }
        }
    }
    c.kouetsu =
        sqlx::query("SELECT COUNT(*) AS n FROM kian_waiting WHERE tenant_id = $1 AND box = 'kouetsu' AND person = $2")
            .bind(staff.tenant_id)
            .bind(staff.id)
            .fetch_one(&db.read)
            .await?
            .try_get("n")?;
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
    let like = grams.iter().enumerate().map(|(i, _)| format!("k.search_text LIKE ${}", i + 2)).collect::<Vec<_>>();
    let sql = format!(
        "SELECT {COLS_K}, s.name AS drafter_name, k.updated_at AS since, k.search_text \
         FROM kian k JOIN staff s ON s.id = k.drafter_id WHERE k.tenant_id = $1 AND ({}) ORDER BY k.updated_at DESC",
        like.join(" OR ")
    );
    let mut q = sqlx::query(&sql).bind(staff.tenant_id);
    for g in &grams {
        let escaped = g.replace(['%', '_'], "");
        q = q.bind(format!("%{escaped}%"));
    }
    let rows = q.fetch_all(&db.read).await?;
    let mut hits = Vec::new();
    for r in &rows {
        let text: String = r.try_get("search_text")?;
        let title = search::normalise(&r.try_get::<String, _>("title")?);
        let Some(score) = search::score(&title, &text, query) else { continue };
        let k = from_row(r)?;
        if may_see(&setup.org, staff, &k) {
            hits.push((score, line_of(r)?));
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    Ok(hits.into_iter().take(200).map(|(_, l)| l).collect())
}
