//! 気象庁防災情報XML telegrams: from the API, a folder, or the JMA Atom feed. Each telegram is
//! recorded once (by its SHA-256), with what it did or why it did nothing. For every tenant
//! whose 全国地方公共団体コード the telegram names, the rule in
//! [`kencho_core::evacuation::jma::decide`] gives the new levels per hazard for the event
//! (EventID; 気象警報・注意報 send none): an alert for the whole municipality at 警戒レベル3 or
//! above, replaced when the level changes, lifted by a clearance (解除) or a cancellation
//! (取消) — never by a kind kencho does not map. Those who were told are told it is over.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kencho_core::evacuation::alert::AlertStatus;
use kencho_core::evacuation::jma::decide::{self, Levels, Why};
use kencho_core::evacuation::jma::{self as telegram, Hazard, InfoType, Telegram};
use sha2::{Digest, Sha256};

use super::alerts::{self, Actor, Phase, WHOLE_TENANT};
use super::layers::Atlases;
pub use super::model::{Note, Outcome};
use super::model::{Open, TenantRow};
use super::store::alerts as alert_store;
use super::store::jma::{self as store, NewJmaAlert};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

impl Outcome {
    fn new(result: &str, event_id: &str) -> Outcome {
        Outcome { result: result.into(), event_id: event_id.into(), issued: vec![], cancelled: vec![], notes: vec![] }
    }

    /// The one-word result once every tenant is done.
    fn settle(&mut self, stale: usize, tenants: usize) {
        self.result = if !self.issued.is_empty() {
            "issued"
        } else if !self.cancelled.is_empty() {
            "cancelled"
        } else if stale > 0 && stale == tenants {
            "stale"
        } else if !self.notes.is_empty() && self.notes.iter().all(|n| n.why == Why::Unmapped.as_str()) {
            "unmapped"
        } else {
            "recorded"
        }
        .into();
    }
}

/// Reads one telegram. A telegram that does not follow the specification is an error (naming
/// the element found and the one expected) and changes nothing.
/// `only_tenant`: a telegram uploaded by a tenant's administrator applies to that tenant only
/// (telegrams are not signed; the folder and the feed are trusted for every tenant).
pub async fn ingest(
    db: &Db,
    atlases: &Atlases,
    base_url: &str,
    xml: &str,
    source: &str,
    only_tenant: Option<i64>,
) -> Result<Outcome> {
    let tg = telegram::parse(xml)?;
    let mut sha = hex::encode(Sha256::digest(xml.as_bytes()));
    if let Some(t) = only_tenant {
        sha.push_str(&format!(":tenant{t}"));
    }
    if store::seen(db, &sha).await? {
        return Ok(Outcome::new("duplicate", &tg.event_id));
    }
    let tenants = tenants_for(db, &tg, only_tenant).await?;
    // Atlases are needed for the mail texts (each household's own plan).
    let mut with_atlas = Vec::new();
    for t in tenants {
        let atlas = atlases.get(db, t.id).await?;
        with_atlas.push((t, atlas));
    }
    let base_url = base_url.to_string();
    let source = source.chars().take(500).collect::<String>();
    let keys = db.keys();
    db.transact(move |conn| {
        Box::pin(async move {
            if !store::insert(conn, &sha, &tg, &source, now_ms(), only_tenant).await? {
                return Ok(Outcome::new("duplicate", &tg.event_id));
            }
            // One event at a time across processes.
            let key = i64::from_be_bytes(Sha256::digest(tg.event_id.as_bytes())[..8].try_into().unwrap_or([0; 8]));
            crate::db::lock_key(conn, key).await?;
            let out = apply_all(conn, keys, &tg, &with_atlas, &sha, &base_url).await?;
            let reason = serde_json::to_string(&out.notes).unwrap_or_default();
            store::set_outcome(conn, &sha, &out.result, &reason).await?;
            Ok(out)
        })
    })
    .await
}

/// The tenants the telegram may concern: those whose municipality it names; for a 取消 or a
/// river's 解除 every tenant (their alerts of the event are found by EventID).
async fn tenants_for(db: &Db, tg: &Telegram, only_tenant: Option<i64>) -> Result<Vec<TenantRow>> {
    Ok(store::tenants(db)
        .await?
        .into_iter()
        .filter(|t| only_tenant.is_none_or(|o| o == t.id))
        .filter(|t| {
            tg.info_type == InfoType::Cancel || tg.lifts_event || t.municipality.as_deref().is_some_and(|m| tg.names(m))
        })
        .collect())
}

/// Applies an operational telegram to each tenant it concerns, in the caller's transaction.
async fn apply_all(
    conn: &mut sqlx::AnyConnection,
    keys: Arc<crate::crypto::Keyring>,
    tg: &Telegram,
    with_atlas: &[(TenantRow, Arc<super::layers::Atlas>)],
    sha: &str,
    base_url: &str,
) -> Result<Outcome> {
    let mut out = Outcome::new("recorded", &tg.event_id);
    if !tg.is_operational() {
        out.result = "ignored".into();
        return Ok(out);
    }
    // A telegram older than one already read for the same event changes nothing for a
    // tenant. "Read for the tenant" means from a trusted source (folder, feed, CLI) or
    // uploaded by that tenant: one tenant's upload never makes another's telegram stale.
    let mut stale = 0;
    for (tenant, atlas) in with_atlas {
        if store::newer_exists(conn, tg, sha, tenant.id).await? {
            stale += 1;
            out.notes.push(Note { tenant: tenant.code.clone(), why: "stale".into(), level: None, unmapped: vec![] });
            continue;
        }
        apply(conn, keys.clone(), tg, tenant, atlas, base_url, &mut out).await?;
    }
    out.settle(stale, with_atlas.len());
    Ok(out)
}

/// The levels per hazard an event's alerts hold; an alert from before they were kept counts
/// as `Other` at its level (only a cancellation lowers it).
fn levels_of(open: &[Open]) -> Levels {
    let Some(top) = open.iter().max_by_key(|o| o.level) else {
        return Levels::new();
    };
    serde_json::from_str::<Levels>(&top.levels).unwrap_or_else(|_| {
        let level = u8::try_from(top.level.clamp(1, 5)).unwrap_or(5);
        Levels::from([(Hazard::Other, level)])
    })
}

async fn apply(
    conn: &mut sqlx::AnyConnection,
    keys: std::sync::Arc<crate::crypto::Keyring>,
    tg: &Telegram,
    tenant: &TenantRow,
    atlas: &super::layers::Atlas,
    base_url: &str,
    out: &mut Outcome,
) -> Result<()> {
    let Some(municipality) = tenant.municipality.as_deref() else {
        tracing::warn!(tenant = %tenant.code, lg_code = %tenant.lg_code, "a 全国地方公共団体コード with a bad check digit matches no telegram");
        return Ok(());
    };
    let actor = Actor { tenant_id: tenant.id, tenant_name: tenant.name.clone(), id: "jma".into(), grant: None, keys };
    let open: Vec<Open> = store::open_alerts(conn, tenant.id, &tg.event_id).await?;
    let current = levels_of(&open);
    let step = decide::step(&current, tg, municipality);
    if step.why != Why::NotNamed {
        out.notes.push(Note {
            tenant: tenant.code.clone(),
            why: step.why.as_str().into(),
            level: step.alert_level(),
            unmapped: tg.unmapped_kinds(municipality),
        });
    }
    let before = open.iter().map(|o| o.level).max();
    let after = step.alert_level();
    let levels_json = serde_json::to_string(&step.levels).unwrap_or_default();
    // The hazards at the alert's level name it (警戒レベル4相当情報［土砂災害］).
    let hazard =
        step.levels.iter().filter(|(_, l)| Some(**l) == after).map(|(h, _)| h.as_str()).collect::<Vec<_>>().join(",");
    if before == after.map(i64::from) {
        // The same alert level: the levels per hazard may still have moved below it.
        if step.levels != current && after.is_some() {
            for o in &open {
                store::set_levels(conn, o.id, &levels_json, &hazard).await?;
            }
        }
        return Ok(());
    }
    let Some(level) = after else {
        // Nothing at level 3 or above remains: whatever this event had raised is over.
        for o in open {
            alerts::cancel_in(conn, o.id, atlas, base_url, &actor, AlertStatus::Cancelled).await?;
            out.cancelled.push(o.id);
        }
        return Ok(());
    };
    // A new level replaces the alert (a lower one is told as the new level).
    for o in &open {
        alerts::cancel_in(conn, o.id, atlas, base_url, &actor, AlertStatus::Superseded).await?;
        out.cancelled.push(o.id);
    }
    let kinds = tg.kinds_in_force(municipality);
    let title = if kinds.is_empty() { tg.title.clone() } else { kinds.join("・") };
    let id = issue(conn, tg, tenant, atlas, (level, &hazard), &title, &levels_json).await?;
    alerts::fan_out(conn, &actor.keys, id, atlas, base_url, &tenant.name, Phase::Issue).await?;
    out.issued.push(id);
    Ok(())
}

/// Writes one alert for the whole municipality and its audit entry.
async fn issue(
    conn: &mut sqlx::AnyConnection,
    tg: &Telegram,
    tenant: &TenantRow,
    atlas: &super::layers::Atlas,
    (level, hazard): (u8, &str),
    title: &str,
    levels_json: &str,
) -> Result<i64> {
    let now = now_ms();
    // JMA's warnings are 警戒レベル相当情報, never the municipality's order (避難情報に関するガイドライン).
    let new = NewJmaAlert {
        tenant_id: tenant.id,
        level: i64::from(level),
        title,
        note: tg.headline.trim(),
        event_id: &tg.event_id,
        now,
        jma_levels: levels_json,
        hazard,
    };
    let id = store::insert_jma(conn, new).await?;
    // The municipality's own town areas, or all of the tenant's when it has no town table.
    let mut towns: Vec<&str> =
        atlas.towns.iter().filter(|t| t.lg_code == tenant.lg_code).map(|t| t.id.as_str()).collect();
    if towns.is_empty() {
        towns.push(WHOLE_TENANT);
    }
    alert_store::add_areas(conn, id, towns).await?;
    audit::append(
        conn,
        tenant.id,
        "jma",
        "evacuation.alert_issued",
        &format!("alert:{id}"),
        serde_json::json!({"level": level, "hazard": hazard, "event_id": tg.event_id, "title": title, "report_time": tg.report_time, "levels": levels_json}),
    )
    .await?;
    Ok(id)
}

/// Watches a folder: each `*.xml` dropped there is read once, then moved to `done/` (or to
/// `rejected/` with a `.reason.txt` beside it).
/// Reads the telegrams a receiving system drops into `dir`, every five seconds.
pub async fn watch_folder(db: Db, atlases: Arc<Atlases>, base_url: String, dir: PathBuf, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("JMA folder", Duration::from_secs(5));
    crate::worker::run(every, stop, || async {
        scan_folder(&db, &atlases, &base_url, &dir).await.map(|_| crate::worker::Pass::Idle)
    })
    .await;
}

pub async fn scan_folder(db: &Db, atlases: &Atlases, base_url: &str, dir: &Path) -> Result<usize> {
    let mut files = Vec::new();
    let mut rd = tokio::fs::read_dir(dir).await?;
    while let Some(e) = rd.next_entry().await? {
        let p = e.path();
        if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")) && e.file_type().await?.is_file() {
            files.push(p);
        }
    }
    files.sort();
    for p in &files {
        let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let text = match tokio::fs::read(p).await.map(String::from_utf8) {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(_)) => Err(AppError::BadRequest(detail!("detail.evacuation.file_utf_8"))),
            Err(e) => Err(e.into()),
        };
        let result = match text {
            Ok(t) => ingest(db, atlases, base_url, &t, &format!("file:{name}"), None).await,
            Err(e) => Err(e),
        };
        let (sub, reason) = match &result {
            Ok(o) => ("done", format!("{}\n", o.result)),
            Err(AppError::BadRequest(m)) => ("rejected", format!("{m}\n")),
            Err(e @ AppError::Telegram(_)) => ("rejected", format!("{}\n{}\n", e.message("ja"), e.message("en"))),
            // A database failure: leave the file to try again on the next scan.
            Err(e) => {
                tracing::warn!(error = %e, file = %name, "JMA telegram not read; will retry");
                continue;
            }
        };
        let to = dir.join(sub);
        tokio::fs::create_dir_all(&to).await?;
        tokio::fs::rename(p, to.join(&name)).await?;
        if sub == "rejected" {
            tokio::fs::write(to.join(format!("{name}.reason.txt")), reason).await?;
        }
    }
    Ok(files.len())
}

/// Polls a JMA Atom feed (e.g. `https://www.data.jma.go.jp/developer/xml/feed/extra.xml`) and
/// reads every linked telegram not read before.
/// Polls the JMA Atom feed every minute.
pub async fn poll_feed(db: Db, atlases: Arc<Atlases>, base_url: String, feed: String, stop: crate::worker::Stop) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client for the JMA feed");
            return;
        }
    };
    let every = crate::worker::Every::new("JMA feed", Duration::from_secs(60));
    crate::worker::run(every, stop, || async {
        poll_once(&client, &db, &atlases, &base_url, &feed).await.map(|_| crate::worker::Pass::Idle)
    })
    .await;
}

/// Largest feed document and telegram read (JMA's are tens of kilobytes).
const FEED_CAP: usize = 10 * 1024 * 1024;
const TELEGRAM_CAP: usize = 2 * 1024 * 1024;

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains('@')).then(|| format!("{scheme}://{}", host.to_ascii_lowercase()))
}

pub async fn poll_once(
    client: &reqwest::Client,
    db: &Db,
    atlases: &Atlases,
    base_url: &str,
    feed: &str,
) -> Result<usize> {
    let get = |url: String, cap: usize| async move {
        let mut res = client.get(&url).send().await.map_err(|e| AppError::failed(url.clone(), e))?;
        if !res.status().is_success() {
            return Err(AppError::Internal(format!("{url}: HTTP {}", res.status())));
        }
        // Read at most `cap` bytes: a feed or telegram larger than that is not JMA's.
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| AppError::failed(url.clone(), e))? {
            if body.len() + chunk.len() > cap {
                return Err(AppError::Internal(format!("{url}: larger than {cap} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| AppError::Internal(format!("{url}: not UTF-8")))
    };
    let atom = get(feed.to_string(), FEED_CAP).await?;
    let mut links = telegram::feed_links(&atom).map_err(|e| AppError::failed("feed", e))?;
    // Telegrams are fetched only from the feed's own origin: a feed entry cannot send kencho
    // to another host.
    let origin = origin_of(feed).ok_or_else(|| AppError::Internal(format!("feed URL {feed} has no origin")))?;
    links.retain(|l| {
        let same = origin_of(l).as_deref() == Some(origin.as_str());
        if !same {
            tracing::warn!(link = %l, "JMA feed link to another origin ignored");
        }
        same
    });
    // The feed lists the newest first; read in the order they were issued.
    links.reverse();
    let mut read = 0;
    for link in links {
        if store::seen_source(db, &format!("feed:{link}")).await? {
            continue;
        }
        let xml = get(link.clone(), TELEGRAM_CAP).await?;
        match ingest(db, atlases, base_url, &xml, &format!("feed:{link}"), None).await {
            Ok(_) => read += 1,
            Err(AppError::BadRequest(m)) => tracing::warn!(link = %link, problem = %m, "JMA telegram rejected"),
            Err(e @ AppError::Telegram(_)) => tracing::warn!(link = %link, problem = %e, "JMA telegram rejected"),
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}
