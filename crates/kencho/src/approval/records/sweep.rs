//! Stored files after a disposal: archive packages put in place, released files removed when
//! nothing refers to them, and the hourly sweep of files nothing refers to.

use std::path::{Path, PathBuf};

use super::model::Released;
use super::store;
use crate::approval::kian::Links;
use crate::db::Db;
use crate::error::{AppError, Result};

/// How long a stored file is left alone after it was written: an upload writes its file before
/// its row commits, and a disposal must not take that file away.
const FRESH: std::time::Duration = std::time::Duration::from_secs(600);

/// After a disposal committed: puts its archive packages in place and removes the released
/// files nothing refers to any more. Failures are logged; the records are disposed of already.
pub async fn finish<L: Links>(db: &Db, links: &L, data_dir: &Path, released: &Released) {
    for partial in &released.packages {
        if let Err(e) = tokio::fs::rename(partial, partial.with_extension("")).await {
            tracing::error!(error = %e, path = %partial.display(), "could not put an archive package in place");
        }
    }
    for sha in &released.files {
        if let Err(e) = remove_if_unused(db, links, data_dir, sha).await {
            tracing::warn!(error = %e, sha, "a released file stays on disk");
        }
    }
}

async fn remove_if_unused<L: Links>(db: &Db, links: &L, data_dir: &Path, sha: &str) -> Result<()> {
    let used = store::kian_file_uses(db, sha).await? + links.file_uses(db, sha).await?;
    let path = crate::blobs::file_path(data_dir, sha);
    let age = tokio::fs::metadata(&path).await.ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
    if used == 0 && age.is_some_and(|a| a >= FRESH) {
        tokio::fs::remove_file(&path).await.map_err(AppError::unexpected)?;
    } else if used == 0 && age.is_some() {
        // Written moments ago: an upload of the same bytes may be about to commit.
        tracing::info!(sha, "a released file was written recently and stays for now");
    }
    Ok(())
}

/// Removes the packages a failed disposal of 起案 `kian_id` wrote.
pub async fn discard_partial(data_dir: &Path, kian_id: i64) {
    let Ok(mut rd) = tokio::fs::read_dir(data_dir.join("archives")).await else { return };
    let suffix = format!(".tar.{kian_id}");
    while let Ok(Some(e)) = rd.next_entry().await {
        if e.file_name().to_string_lossy().ends_with(&suffix) {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

/// Removes stored files that no row refers to and that were written more than [`FRESH`] ago
/// (left by a disposal that ran right after an upload, or by a transaction that failed after
/// writing its file). Run now and then by the server.
pub async fn sweep_unused<L: Links>(db: &Db, links: &L, data_dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let Ok(mut top) = tokio::fs::read_dir(data_dir.join("files")).await else { return Ok(0) };
    while let Ok(Some(sub)) = top.next_entry().await {
        let Ok(mut rd) = tokio::fs::read_dir(sub.path()).await else { continue };
        while let Ok(Some(f)) = rd.next_entry().await {
            let name = f.file_name().to_string_lossy().to_string();
            if name.len() != 64 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
                continue;
            }
            let before = tokio::fs::try_exists(f.path()).await.unwrap_or(false);
            remove_if_unused(db, links, data_dir, &name).await?;
            if before && !tokio::fs::try_exists(f.path()).await.unwrap_or(true) {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Sweeps unused files every hour.
pub async fn sweeper<L: Links>(db: Db, links: L, data_dir: PathBuf, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("file sweeper", std::time::Duration::from_secs(3600)).after_period();
    crate::worker::run(every, stop, || async {
        let n = sweep_unused(&db, &links, &data_dir).await?;
        if n > 0 {
            tracing::info!(removed = n, "unused stored files removed");
        }
        Ok(crate::worker::Pass::Idle)
    })
    .await;
}
