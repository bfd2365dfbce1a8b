//! Every SQL statement of the 起案: the 起案 and its locks, its history (`kian_events`), who
//! it waits for (`kian_waiting`), its files, the 文書番号 counters, the inboxes, search and
//! the figures' rows.

use std::collections::HashMap;

use kencho_core::approval::doc::format_date;
use kencho_core::approval::figures::{EventRow, KianRow};
use kencho_core::approval::route::{self, StateKind};
use sqlx::{AnyConnection, Row};

use super::model::{act_name, Draft, Found, HistoryLine, Kian, KianFile, Line, Prepared, Waiting};
use crate::actor::Staff;
use crate::approval::setup::staff_id_of;
use crate::db::{Arg, Batch, Db};
use crate::error::{AppError, Result};

const COLS: &str = "id, tenant_id, division_code, source, application_id, title, body, matter_kind, amount, important, \
    decision, drafter_id, drafter_post, route, state, number, decided_on, executed_at, retention_years, disposal, revision, \
    created_at, updated_at, urgent";

/// [`COLS`] of the 起案 aliased `k`, for joins; [`Kian::from_row`] reads rows of either.
const COLS_K: &str =
    "k.id, k.tenant_id, k.division_code, k.source, k.application_id, k.title, k.body, k.matter_kind, k.amount, \
    k.important, k.decision, k.drafter_id, k.drafter_post, k.route, k.state, k.number, k.decided_on, k.executed_at, \
    k.retention_years, k.disposal, k.revision, k.created_at, k.updated_at, k.urgent";

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Locks a 起案's row and reads it; 404 when there is no such 起案.
pub async fn lock(conn: &mut AnyConnection, id: i64) -> Result<Kian> {
    let sql = format!("SELECT {COLS} FROM kian WHERE id = $1{}", crate::db::for_update(conn));
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await?.ok_or(AppError::NotFound)?;
    Kian::from_row(&row)
}

/// Reads a 起案.
pub async fn by_id(db: &Db, id: i64) -> Result<Option<Kian>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM kian WHERE id = $1")).bind(id).fetch_optional(&db.read).await?;
    row.as_ref().map(Kian::from_row).transpose()
}

/// Whether an application has a live 起案 (not rejected or abandoned).
pub async fn application_has_live(conn: &mut AnyConnection, application_id: i64) -> Result<bool> {
    let live = sqlx::query("SELECT id FROM kian WHERE application_id = $1 AND state NOT IN ('rejected', 'abandoned')")
        .bind(application_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(live.is_some())
}

/// Stores a new 起案 as a draft; returns its id.
pub async fn insert(
    conn: &mut AnyConnection,
    staff: &Staff,
    d: &Draft,
    prep: &Prepared,
    search_text: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO kian (tenant_id, division_code, source, application_id, title, body, matter_kind, amount, important, \
         decision, drafter_id, drafter_post, route, state, retention_years, disposal, search_text, created_at, updated_at, \
         urgent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $15, $16, $17, $17, $18) \
         RETURNING id",
    )
    .bind(staff.tenant_id)
    .bind(&prep.division)
    .bind(d.source.as_str())
    .bind(d.application_id)
    .bind(d.title.trim())
    .bind(d.body.trim())
    .bind(d.matter_kind.trim())
    .bind(d.amount)
    .bind(i64::from(d.important))
    .bind(&d.decision)
    .bind(staff.id)
    .bind(&prep.post.0)
    .bind(&prep.route_json)
    .bind(d.retention_years)
    .bind(&d.disposal)
    .bind(search_text)
    .bind(prep.now)
    .bind(i64::from(d.urgent))
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// A 起案's history, in order, with the names of those acted for.
pub async fn history(db: &Db, id: i64) -> Result<Vec<HistoryLine>> {
    let rows = sqlx::query(
        "SELECT e.seq, e.at, e.actor_name, e.as_post, s.name AS on_behalf_of, e.stage, e.act, e.comment FROM kian_events e \
         LEFT JOIN staff s ON s.id = e.on_behalf_of WHERE e.kian_id = $1 ORDER BY e.seq",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(HistoryLine::from_row).collect()
}

/// Marks a 起案 carried out (施行) at `now`.
pub async fn mark_executed(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE kian SET executed_at = $1, revision = revision + 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The newest live 起案 of an application (id, state), if any.
pub async fn live_of_application(db: &Db, application_id: i64) -> Result<Option<(i64, StateKind)>> {
    let row = sqlx::query(
        "SELECT id, state FROM kian WHERE application_id = $1 AND state NOT IN ('rejected', 'abandoned') ORDER BY id DESC LIMIT 1",
    )
    .bind(application_id)
    .fetch_optional(&db.read)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("id")?, crate::db::parsed(&r, "state", StateKind::parse)?)),
        None => None,
    })
}

/// A 起案's body, if there is such a 起案.
pub async fn body(conn: &mut AnyConnection, id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT body FROM kian WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| r.try_get::<String, _>("body")).transpose()?)
}

/// The tenant's 起案 created in `[from_ms, to_ms)`, each with its events in order, for the figures.
pub async fn figure_rows(db: &Db, tenant_id: i64, from_ms: i64, to_ms: i64) -> Result<Vec<KianRow>> {
    let rows = sqlx::query(
        "SELECT k.id, k.division_code, k.state, e.at, e.act, e.stage, e.as_post FROM kian k \
         JOIN kian_events e ON e.kian_id = k.id WHERE k.tenant_id = $1 AND k.created_at >= $2 AND k.created_at < $3 \
         ORDER BY k.id, e.seq",
    )
    .bind(tenant_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&db.read)
    .await?;
    let mut out: Vec<KianRow> = Vec::new();
    let mut last = None;
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        if last != Some(id) {
            let state = crate::db::parsed(r, "state", StateKind::parse)?;
            out.push(KianRow {
                division: r.try_get("division_code")?,
                decided: state == StateKind::Decided,
                events: Vec::new(),
            });
            last = Some(id);
        }
        if let Some(k) = out.last_mut() {
            k.events.push(EventRow {
                at_ms: r.try_get("at")?,
                act: r.try_get("act")?,
                stage: r.try_get("stage")?,
                as_post: r.try_get("as_post")?,
            });
        }
    }
    Ok(out)
}

const FILE_COLS: &str =
    "SELECT f.public_id, f.filename, f.media_type, f.size, f.sha256, s.name AS added_by_name, f.added_at \
    FROM kian_files f JOIN staff s ON s.id = f.added_by";

/// A 起案's files, in the order they were added.
pub async fn files(db: &Db, id: i64) -> Result<Vec<KianFile>> {
    let rows =
        sqlx::query(&format!("{FILE_COLS} WHERE f.kian_id = $1 ORDER BY f.id")).bind(id).fetch_all(&db.read).await?;
    rows.iter().map(KianFile::from_row).collect()
}

/// One file of a 起案, by its public id.
pub async fn file(db: &Db, id: i64, public_id: &str) -> Result<Option<KianFile>> {
    let row = sqlx::query(&format!("{FILE_COLS} WHERE f.kian_id = $1 AND f.public_id = $2"))
        .bind(id)
        .bind(public_id)
        .fetch_optional(&db.read)
        .await?;
    row.as_ref().map(KianFile::from_row).transpose()
}

/// A file attached to a 起案, as stored.
pub struct NewFile<'a> {
    pub public_id: &'a str,
    pub kian_id: i64,
    pub filename: &'a str,
    pub media_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub added_by: i64,
    pub added_at: i64,
}

/// Stores a file's row (its bytes are on disk already).
pub async fn insert_file(conn: &mut AnyConnection, f: &NewFile<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO kian_files (public_id, kian_id, filename, media_type, size, sha256, added_by, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(f.public_id)
    .bind(f.kian_id)
    .bind(f.filename)
    .bind(f.media_type)
    .bind(f.size)
    .bind(f.sha256)
    .bind(f.added_by)
    .bind(f.added_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the route and the state beside it, in the act's batch.
pub fn save(batch: &mut Batch, k: &Kian, now: i64) -> Result<()> {
    let json = serde_json::to_string(&k.route).map_err(AppError::unexpected)?;
    batch.push(
        "UPDATE kian SET route = $1, state = $2, revision = revision + 1, updated_at = $3 WHERE id = $4",
        vec![Arg::Text(json), Arg::Text(k.route.state().kind().as_str().into()), Arg::Int(now), Arg::Int(k.id)],
    );
    Ok(())
}

/// Who a 起案 waits for now, each with the time it has waited since.
pub async fn waiting(conn: &mut AnyConnection, kian_id: i64) -> Result<Vec<(Waiting, i64)>> {
    let rows = sqlx::query("SELECT box, post, person, since FROM kian_waiting WHERE kian_id = $1")
        .bind(kian_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let key = (
                r.try_get::<String, _>("box")?,
                r.try_get::<Option<String>, _>("post")?,
                r.try_get::<Option<i64>, _>("person")?,
            );
            Ok((key, r.try_get("since")?))
        })
        .collect()
}

/// Replaces who a 起案 waits for, in the act's batch.
pub fn replace_waiting(batch: &mut Batch, k: &Kian, now_waiting: &[(Waiting, i64)]) {
    batch.push("DELETE FROM kian_waiting WHERE kian_id = $1", vec![Arg::Int(k.id)]);
    for ((boxname, post, person), since) in now_waiting {
        batch.push(
            "INSERT INTO kian_waiting (kian_id, tenant_id, box, post, person, since) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Arg::Int(k.id),
                Arg::Int(k.tenant_id),
                Arg::Text(boxname.clone()),
                Arg::OptText(post.clone()),
                Arg::OptInt(*person),
                Arg::Int(*since),
            ],
        );
    }
}

/// A history row of the route's event number `seq`, in the act's batch.
pub fn push_event(batch: &mut Batch, kian_id: i64, seq: usize, now: i64, e: &route::Event, actor_name: String) {
    let actor = e.actor.as_ref().and_then(staff_id_of);
    batch.push(
        "INSERT INTO kian_events (kian_id, seq, at, actor_id, actor_name, as_post, on_behalf_of, stage, act, comment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            Arg::Int(kian_id),
            Arg::Int(i64::try_from(seq).unwrap_or(i64::MAX)),
            Arg::Int(now),
            Arg::OptInt(actor),
            Arg::Text(actor_name),
            Arg::OptText(e.as_post.as_ref().map(|p| p.0.clone())),
            Arg::OptInt(e.on_behalf_of.as_ref().and_then(staff_id_of)),
            Arg::OptInt(e.stage.and_then(|s| i64::try_from(s).ok())),
            Arg::Text(act_name(&e.act).into()),
            Arg::OptText(e.comment.clone()),
        ],
    );
}

/// One column of several staff members in one query (inside an act's transaction).
pub async fn staff_column(conn: &mut AnyConnection, column: &str, ids: Vec<i64>) -> Result<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT id, {column} FROM staff WHERE id IN ({})", placeholders(1, ids.len()));
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(*id);
    }
    q.fetch_all(&mut *conn).await?.iter().map(|r| Ok((r.try_get("id")?, r.try_get(column)?))).collect()
}

/// Counts one up on a 文書番号 counter (created at 1) and returns the new value.
pub async fn next_count(conn: &mut AnyConnection, key: &str) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, '1') \
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT) RETURNING value",
    )
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    let n: String = row.try_get("value")?;
    n.parse().map_err(|_| AppError::Internal("document counter".into()))
}

/// Whether a 起案 of the tenant already has this 文書番号.
pub async fn number_taken(conn: &mut AnyConnection, tenant_id: i64, number: &str) -> Result<bool> {
    let taken = sqlx::query("SELECT id FROM kian WHERE tenant_id = $1 AND number = $2")
        .bind(tenant_id)
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(taken.is_some())
}

/// Gives a decided 起案 its 文書番号 and decision date, in the act's batch.
pub fn set_number(batch: &mut Batch, id: i64, number: &str, on: time::Date) {
    batch.push(
        "UPDATE kian SET number = $1, decided_on = $2 WHERE id = $3",
        vec![Arg::Text(number.to_string()), Arg::Text(format_date(on)), Arg::Int(id)],
    );
}

/// The columns of a [`Line`] except `since`, which each box chooses.
const LINE: &str = "SELECT DISTINCT k.id, k.title, k.matter_kind, k.state, k.number, s.name AS drafter_name, ";

/// The 起案 waiting in box `boxname` (`pending` or `kyoran`) for any of `posts`, newest first.
pub async fn waiting_for_posts(db: &Db, tenant_id: i64, boxname: &str, posts: &[String]) -> Result<Vec<Line>> {
    let sql = format!(
        "{LINE} w.since FROM kian_waiting w JOIN kian k ON k.id = w.kian_id JOIN staff s ON s.id = k.drafter_id \
         WHERE w.tenant_id = $1 AND w.box = $2 AND w.post IN ({}) ORDER BY w.since DESC LIMIT 500",
        placeholders(3, posts.len())
    );
    let mut q = sqlx::query(&sql).bind(tenant_id).bind(boxname);
    for p in posts {
        q = q.bind(p);
    }
    q.fetch_all(&db.read).await?.iter().map(Line::from_row).collect()
}

/// The 起案 a person owes a 後閲, newest first.
pub async fn kouetsu_of(db: &Db, tenant_id: i64, staff_id: i64) -> Result<Vec<Line>> {
    let rows = sqlx::query(&format!(
        "{LINE} w.since FROM kian_waiting w JOIN kian k ON k.id = w.kian_id JOIN staff s ON s.id = k.drafter_id \
         WHERE w.tenant_id = $1 AND w.box = 'kouetsu' AND w.person = $2 ORDER BY w.since DESC LIMIT 500"
    ))
    .bind(tenant_id)
    .bind(staff_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Line::from_row).collect()
}

/// A drafter's unfinished 起案 (including decided ones not yet carried out), newest first.
pub async fn drafting_of(db: &Db, staff_id: i64) -> Result<Vec<Line>> {
    let rows = sqlx::query(&format!(
        "{LINE} k.updated_at AS since FROM kian k JOIN staff s ON s.id = k.drafter_id WHERE k.drafter_id = $1 \
         AND (k.state IN ('draft', 'in_progress', 'sent_back', 'withdrawn') OR (k.state = 'decided' AND k.executed_at IS NULL)) \
         ORDER BY k.updated_at DESC LIMIT 500"
    ))
    .bind(staff_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Line::from_row).collect()
}

/// The decided 起案 a staff member drafted or acted on, newest first.
pub async fn decided_for(db: &Db, tenant_id: i64, staff_id: i64) -> Result<Vec<Line>> {
    let rows = sqlx::query(&format!(
        "{LINE} k.updated_at AS since FROM kian k JOIN staff s ON s.id = k.drafter_id \
         WHERE k.tenant_id = $1 AND k.state = 'decided' \
         AND (k.drafter_id = $2 OR EXISTS (SELECT 1 FROM kian_events e WHERE e.kian_id = k.id AND e.actor_id = $2)) \
         ORDER BY k.updated_at DESC LIMIT 500"
    ))
    .bind(tenant_id)
    .bind(staff_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(Line::from_row).collect()
}

/// How many 起案 wait in the `pending` and `kyoran` boxes for any of `posts`: (box, count).
pub async fn count_for_posts(db: &Db, tenant_id: i64, posts: &[String]) -> Result<Vec<(String, i64)>> {
    let sql = format!(
        "SELECT box, COUNT(DISTINCT kian_id) AS n FROM kian_waiting \
         WHERE tenant_id = $1 AND box IN ('pending', 'kyoran') AND post IN ({}) GROUP BY box",
        placeholders(2, posts.len())
    );
    let mut q = sqlx::query(&sql).bind(tenant_id);
    for p in posts {
        q = q.bind(p);
    }
    q.fetch_all(&db.read).await?.iter().map(|r| Ok((r.try_get("box")?, r.try_get("n")?))).collect()
}

/// How many 後閲 a person owes.
pub async fn count_kouetsu(db: &Db, tenant_id: i64, staff_id: i64) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM kian_waiting WHERE tenant_id = $1 AND box = 'kouetsu' AND person = $2")
        .bind(tenant_id)
        .bind(staff_id)
        .fetch_one(&db.read)
        .await?
        .try_get("n")?)
}

/// The tenant's 起案 whose search text holds any of `grams`, newest first.
pub async fn search(db: &Db, tenant_id: i64, grams: &[String]) -> Result<Vec<Found>> {
    let like = grams.iter().enumerate().map(|(i, _)| format!("k.search_text LIKE ${}", i + 2)).collect::<Vec<_>>();
    let sql = format!(
        "SELECT {COLS_K}, s.name AS drafter_name, k.updated_at AS since, k.search_text \
         FROM kian k JOIN staff s ON s.id = k.drafter_id WHERE k.tenant_id = $1 AND ({}) ORDER BY k.updated_at DESC",
        like.join(" OR ")
    );
    let mut q = sqlx::query(&sql).bind(tenant_id);
    for g in grams {
        let escaped = g.replace(['%', '_'], "");
        q = q.bind(format!("%{escaped}%"));
    }
    q.fetch_all(&db.read).await?.into_iter().map(Found::from_row).collect()
}
