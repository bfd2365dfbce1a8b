//! The records' types: a record and a disposal as read, what a committed disposal leaves to
//! do on disk, and the rows a 移管 package is made of. No SQL, no I/O.

use std::path::PathBuf;

use kencho_core::approval::records::{RecordState, RetentionClass};
use serde::Serialize;
use sqlx::Row;

use crate::error::Result;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Record {
    pub id: i64,
    pub subject: String,
    pub title: String,
    pub division_code: String,
    /// Years; 0 is 1年未満 and -1 常用.
    pub retention_years: i64,
    /// 1年未満, 5年, 常用 …
    pub retention: String,
    pub disposal: String,
    pub completed_on: String,
    pub expires_on: String,
    /// `kept`, `disposed` or `transferred`.
    #[schema(value_type = String)]
    pub state: RecordState,
    pub disposal_kian_id: Option<i64>,
    /// Holds in place (開示請求・訴訟・監査); a held record is not disposed of.
    pub open_holds: i64,
}

impl Record {
    /// Decodes a record (with its count of open holds as `open_holds`).
    pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<Record> {
        Ok(Record {
            id: r.try_get("id")?,
            subject: r.try_get("subject")?,
            title: r.try_get("title")?,
            division_code: r.try_get("division_code")?,
            retention_years: r.try_get("retention_years")?,
            retention: RetentionClass::from_code(r.try_get("retention_years")?)
                .map(RetentionClass::label)
                .unwrap_or_default(),
            disposal: r.try_get("disposal")?,
            completed_on: r.try_get("completed_on")?,
            expires_on: r.try_get("expires_on")?,
            state: crate::db::parsed(r, "state", RecordState::parse)?,
            disposal_kian_id: r.try_get("disposal_kian_id")?,
            open_holds: r.try_get("open_holds")?,
        })
    }
}

/// What was destroyed or transferred.
#[derive(Debug, Clone, Serialize)]
pub struct Disposed {
    pub subject: String,
    pub title: String,
    pub action: String,
    pub kian_id: i64,
    pub package_path: Option<String>,
    pub package_sha256: Option<String>,
    pub done_at: i64,
}

impl Disposed {
    pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<Disposed> {
        Ok(Disposed {
            subject: r.try_get("subject")?,
            title: r.try_get("title")?,
            action: r.try_get("action")?,
            kian_id: r.try_get("approved_by_kian")?,
            package_path: r.try_get("package_path")?,
            package_sha256: r.try_get("package_sha256")?,
            done_at: r.try_get("done_at")?,
        })
    }
}

/// What a committed disposal leaves to do on disk.
#[derive(Debug, Default)]
pub struct Released {
    /// Stored files whose rows went (removed when nothing else refers to them).
    pub files: Vec<String>,
    /// Archive packages written as `….partial`, put in place after the commit.
    pub packages: Vec<PathBuf>,
}

/// A record's subject split into its kind (`application`, `kian`) and id.
pub(super) fn subject_id(subject: &str) -> Option<(&str, i64)> {
    let (kind, id) = subject.split_once(':')?;
    Some((kind, id.parse().ok()?))
}

/// A 起案's row as its 移管 package's `record.json` holds it.
pub(super) fn kian_record_json(k: &sqlx::any::AnyRow) -> Result<serde_json::Value> {
    let route: String = k.try_get("route")?;
    Ok(serde_json::json!({
        "kind": "kian",
        "number": k.try_get::<Option<String>, _>("number")?,
        "title": k.try_get::<String, _>("title")?,
        "body": k.try_get::<String, _>("body")?,
        "matter_kind": k.try_get::<String, _>("matter_kind")?,
        "amount_yen": k.try_get::<Option<i64>, _>("amount")?,
        "decided_on": k.try_get::<Option<String>, _>("decided_on")?,
        "source": k.try_get::<String, _>("source")?,
        "application_id": k.try_get::<Option<i64>, _>("application_id")?,
        "route": serde_json::from_str::<serde_json::Value>(&route).unwrap_or(serde_json::Value::Null),
    }))
}

/// A 起案's history row as its 移管 package's `history.json` holds it.
pub(super) fn kian_event_json(e: &sqlx::any::AnyRow) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "seq": e.try_get::<i64, _>("seq")?,
        "at_ms": e.try_get::<i64, _>("at")?,
        "actor": e.try_get::<String, _>("actor_name")?,
        "as_post": e.try_get::<Option<String>, _>("as_post")?,
        "on_behalf_of_staff": e.try_get::<Option<i64>, _>("on_behalf_of")?,
        "stage": e.try_get::<Option<i64>, _>("stage")?,
        "act": e.try_get::<String, _>("act")?,
        "comment": e.try_get::<Option<String>, _>("comment")?,
    }))
}
