//! 移管: the self-describing archive package of one record, written before the disposal
//! commits and put in place after (see [`super::finish`]).

use std::path::{Path, PathBuf};

use sqlx::{AnyConnection, Row};

use super::{subject_id, Record};
use crate::approval::kian::{Archived, Links};
use crate::db::now_ms;
use crate::error::{AppError, Result};

/// Writes the archive package of a record (移管): a tar file holding `manifest.json` (what the
/// package is, its format and a SHA-256 of every member), `record.json`, `history.json`,
/// `signatures.json` and the files under `files/`. Returns its path and SHA-256.
pub(super) async fn package<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    keys: &crate::crypto::Keyring,
    data_dir: &Path,
    tenant_id: i64,
    kian_id: i64,
    r: &Record,
) -> Result<(PathBuf, String)> {
    let (kind, id) = subject_id(&r.subject).ok_or_else(|| AppError::Internal("record subject".into()))?;
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let json = |v: &serde_json::Value| serde_json::to_vec_pretty(v).map_err(AppError::unexpected);
    let content = match kind {
        "application" => links.archive_application(conn, keys, id).await?,
        "kian" => kian_content(conn, id).await?,
        _ => return Err(AppError::Internal("record subject".into())),
    };
    members.push(("record.json".into(), json(&content.record)?));
    members.push(("history.json".into(), json(&content.history)?));
    let mut files = content.files;
    let signatures = signatures(conn, kind, id, &mut files).await?;
    members.push(("signatures.json".into(), json(&serde_json::Value::Array(signatures))?));
    let mut file_entries = Vec::new();
    for (i, (name, sha)) in files.iter().enumerate() {
        let bytes = tokio::fs::read(crate::blobs::file_path(data_dir, sha))
            .await
            .map_err(|e| AppError::Internal(format!("record file {sha}: {e}")))?;
        // Members are numbered so two files with one name cannot collide.
        let member = format!("files/{:03}-{}", i + 1, name.replace(['/', '\\'], "_"));
        file_entries.push(serde_json::json!({"member": member, "original_name": name, "sha256": sha}));
        members.push((member, bytes));
    }
    let digests: Vec<serde_json::Value> = members
        .iter()
        .map(|(n, b)| serde_json::json!({"member": n, "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b)), "size": b.len()}))
        .collect();
    let manifest = json(&serde_json::json!({
        "format": "kencho-archive-package/1",
        "description": "移管 package of one public record: record.json (the record), history.json (every act), signatures.json (signed documents with the public keys to check them), files/ (attachments and signed PDFs)",
        "tenant_id": tenant_id,
        "subject": r.subject,
        "title": r.title,
        "division": r.division_code,
        "retention_years": r.retention_years,
        "completed_on": r.completed_on,
        "retention_ended": r.expires_on,
        "created_at_ms": now_ms(),
        "files": file_entries,
        "members": digests,
    }))?;
    members.insert(0, ("manifest.json".into(), manifest));
    write_package(data_dir, &r.subject, kian_id, &members).await
}

/// The record's signed documents not yet disposed of, each with the key to check it; each
/// signed PDF is added to `files` (the signature names the member it will be).
async fn signatures(
    conn: &mut AnyConnection,
    kind: &str,
    id: i64,
    files: &mut Vec<(String, String)>,
) -> Result<Vec<serde_json::Value>> {
    let column = if kind == "application" { "application_id" } else { "kian_id" };
    let sigs = sqlx::query(&format!(
        "SELECT d.number, d.kind, d.title, d.issuer, d.sha256, d.key_id, d.signature, d.issued_at, k.algorithm, k.public_key \
         FROM issued_documents d LEFT JOIN signing_keys k ON k.key_id = d.key_id WHERE d.{column} = $1 AND d.disposed_at IS NULL ORDER BY d.id"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut signatures = Vec::new();
    for s in &sigs {
        let sha: String = s.try_get("sha256")?;
        signatures.push(serde_json::json!({
            "number": s.try_get::<String, _>("number")?,
            "kind": s.try_get::<String, _>("kind")?,
            "title": s.try_get::<String, _>("title")?,
            "issuer": s.try_get::<String, _>("issuer")?,
            "sha256": sha,
            "key_id": s.try_get::<String, _>("key_id")?,
            "signature": s.try_get::<String, _>("signature")?,
            "issued_at_ms": s.try_get::<i64, _>("issued_at")?,
            "algorithm": s.try_get::<Option<String>, _>("algorithm")?,
            "public_key": s.try_get::<Option<String>, _>("public_key")?,
            "file": format!("files/{:03}-{sha}.pdf", files.len() + 1),
        }));
        files.push((format!("{sha}.pdf"), sha));
    }
    Ok(signatures)
}

/// Writes the tar under `archives/` as `{record}.tar.{kian}` (renamed when the disposal
/// commits) and syncs it. Returns its path and SHA-256.
async fn write_package(
    data_dir: &Path,
    subject: &str,
    kian_id: i64,
    members: &[(String, Vec<u8>)],
) -> Result<(PathBuf, String)> {
    let dir = data_dir.join("archives");
    tokio::fs::create_dir_all(&dir).await.map_err(AppError::unexpected)?;
    // `{record}.tar.{kian}` until the disposal commits; `with_extension("")` gives the final name.
    let path = dir.join(format!("{}.tar.{kian_id}", subject.replace(':', "-")));
    let bytes = tar_of(members)?;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let mut f = tokio::fs::File::create(&path).await.map_err(AppError::unexpected)?;
    tokio::io::AsyncWriteExt::write_all(&mut f, &bytes).await.map_err(AppError::unexpected)?;
    f.sync_all().await.map_err(AppError::unexpected)?;
    Ok((path, sha))
}

fn tar_of(members: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(u64::try_from(now_ms() / 1000).unwrap_or(0));
        h.set_cksum();
        b.append_data(&mut h, name, bytes.as_slice()).map_err(AppError::unexpected)?;
    }
    b.into_inner().map_err(AppError::unexpected)
}

/// A 起案's record contents, history and files.
async fn kian_content(conn: &mut AnyConnection, id: i64) -> Result<Archived> {
    let mut files: Vec<(String, String)> = Vec::new();
    let k = sqlx::query(
        "SELECT number, title, body, matter_kind, amount, decided_on, route, source, application_id FROM kian WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let route: String = k.try_get("route")?;
    let record = serde_json::json!({
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
    });
    let ev = sqlx::query(
        "SELECT seq, at, actor_name, as_post, on_behalf_of, stage, act, comment FROM kian_events WHERE kian_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut hist = Vec::new();
    for e in &ev {
        hist.push(serde_json::json!({
            "seq": e.try_get::<i64, _>("seq")?,
            "at_ms": e.try_get::<i64, _>("at")?,
            "actor": e.try_get::<String, _>("actor_name")?,
            "as_post": e.try_get::<Option<String>, _>("as_post")?,
            "on_behalf_of_staff": e.try_get::<Option<i64>, _>("on_behalf_of")?,
            "stage": e.try_get::<Option<i64>, _>("stage")?,
            "act": e.try_get::<String, _>("act")?,
            "comment": e.try_get::<Option<String>, _>("comment")?,
        }));
    }
    let history = serde_json::Value::Array(hist);
    for f in sqlx::query("SELECT filename, sha256 FROM kian_files WHERE kian_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
    {
        files.push((f.try_get("filename")?, f.try_get("sha256")?));
    }
    Ok(Archived { record, history, files })
}
