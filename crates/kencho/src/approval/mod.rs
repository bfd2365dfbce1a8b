//! 電子決裁 (electronic approval) and 公文書管理 (records management), in storage. The rules
//! themselves (organisation, 専決 table, the route's state machine) are in
//! `kencho_core::approval`; this module keeps them, runs acts in transactions, fills the
//! inboxes and tells people.

pub mod holds;
pub mod kian;
pub mod records;
pub mod setup;

use kencho_core::approval::figures::{self, DivisionFigures, EventRow, KianRow};
use kencho_core::approval::route::StateKind;
use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::Result;

/// Paperless figures for a tenant over 起案 created in `[from_ms, to_ms)`.
pub async fn figures(db: &Db, tenant_id: i64, from_ms: i64, to_ms: i64) -> Result<Vec<DivisionFigures>> {
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
    Ok(figures::compute(&out))
}

/// A 起案's body, if there is such a 起案: the reasons a decision notice issued at its 施行
/// gives when the decision itself carried no text.
pub async fn kian_body(conn: &mut AnyConnection, id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT body FROM kian WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| r.try_get::<String, _>("body")).transpose()?)
}
