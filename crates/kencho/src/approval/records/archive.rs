//! 移管: the self-describing archive package of one record, written before the disposal
//! commits and put in place after (see [`super::finish`]).

use std::path::{Path, PathBuf};

use sqlx::AnyConnection;

use super::model::{subject_id, Record};
use super::store;
use kencho_core::notice::SignedOf;

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
    let of = if kind == "application" { SignedOf::Application(id) } else { SignedOf::Kian(id) };
    let signatures = signatures(conn, links, of, &mut files).await?;
    members.push(("signatures.json".into(), json(&serde_json::Value::Array(signatures))?));
    let mut file_entries = Vec::new();
    for (i, (name, sha)) in files.iter().enumerate() {
        let bytes = tokio::fs::read(crate::blobs::file_path(data_dir, sha))
            .await
            .map_err(|e| AppError::failed(format!("record file {sha}"), e))?;
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
async fn signatures<L: Links>(
    conn: &mut AnyConnection,
    links: &L,
    of: SignedOf,
    files: &mut Vec<(String, String)>,
) -> Result<Vec<serde_json::Value>> {
    let sigs = links.signed_documents(conn, of).await?;
    let mut signatures = Vec::new();
    for s in sigs {
        let file = format!("files/{:03}-{}.pdf", files.len() + 1, s.sha256);
        signatures.push(serde_json::json!({
            "number": s.number,
            "kind": s.kind.as_str(),
            "title": s.title,
            "issuer": s.issuer,
            "sha256": s.sha256,
            "key_id": s.key_id,
            "signature": s.signature,
            "issued_at_ms": s.issued_at,
            "algorithm": s.algorithm,
            "public_key": s.public_key,
            "file": file,
        }));
        files.push((format!("{}.pdf", s.sha256), s.sha256));
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
    let record = store::kian_record(conn, id).await?;
    let history = serde_json::Value::Array(store::kian_history(conn, id).await?);
    let files = store::kian_files(conn, id).await?;
    Ok(Archived { record, history, files })
}
