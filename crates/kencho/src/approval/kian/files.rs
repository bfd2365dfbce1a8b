//! Files attached to a 起案: added only while it is on its route, read by those who may see it.

use super::model::KianFile;
use super::store::{self, NewFile};
use super::view::get;
use crate::actor::Staff;
use crate::approval::setup::{Setup, SetupCache};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// A 起案's files, in the order they were added.
pub async fn files(db: &Db, id: i64) -> Result<Vec<KianFile>> {
    store::files(db, id).await
}

/// The largest attachment accepted.
pub const MAX_FILE: usize = 10 * 1024 * 1024;

/// Attaches a file. Files are added while the 起案 is alive (drafting or on its route) by
/// anyone who may see it; they are stored by hash and never changed or deleted afterwards.
pub async fn attach(
    db: &Db,
    cache: &SetupCache,
    data_dir: &std::path::Path,
    staff: &Staff,
    id: i64,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<String> {
    if bytes.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.applications.file_empty")));
    }
    if bytes.len() > MAX_FILE {
        return Err(AppError::TooLarge);
    }
    let media = crate::blobs::sniff(&bytes)
        .ok_or_else(|| AppError::UnsupportedMedia("only PDF, PNG, JPEG or plain text files".into()))?;
    let name: String =
        filename.rsplit(['/', '\\']).next().unwrap_or("file").chars().filter(|c| !c.is_control()).take(120).collect();
    if name.trim().is_empty() {
        return Err(AppError::BadRequest(detail!("detail.approval.file_needs_name")));
    }
    let setup = cache.get(db, staff.tenant_id).await?;
    let k = get(db, &setup, staff, id).await?;
    if !k.state.is_open() {
        return Err(AppError::Refused("wrong_state", detail!("detail.approval.files_added_while_on")));
    }
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    // Written (and synced) before the row that points at it is committed.
    crate::blobs::store_file(data_dir, &sha, &bytes).await?;
    let public_id = crate::crypto::random_token()[..16].to_string();
    let (staff, pid, size) = (staff.clone(), public_id.clone(), i64::try_from(bytes.len()).unwrap_or(i64::MAX));
    db.transact(move |conn| {
        Box::pin(async move {
            let k = store::lock(conn, id).await?;
            if !k.state.is_open() {
                return Err(AppError::Refused("wrong_state", detail!("detail.approval.files_added_while_on")));
            }
            let file = NewFile {
                public_id: &pid,
                kian_id: id,
                filename: &name,
                media_type: media,
                size,
                sha256: &sha,
                added_by: staff.id,
                added_at: now_ms(),
            };
            store::insert_file(conn, &file).await?;
            audit::append(
                conn,
                k.tenant_id,
                &format!("staff:{}", staff.id),
                "kian.file_added",
                &format!("kian:{id}"),
                serde_json::json!({"file": name, "sha256": sha, "size": size}),
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(public_id)
}

/// A file of a 起案, for download by someone who may see it.
pub async fn file(db: &Db, setup: &Setup, staff: &Staff, id: i64, public_id: &str) -> Result<KianFile> {
    get(db, setup, staff, id).await?;
    store::file(db, id, public_id).await?.ok_or(AppError::NotFound)
}
