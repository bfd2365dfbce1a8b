//! Files kept under the data directory by their SHA-256 (attachments, signed notices, 起案
//! files): written and synced before the row that names them commits, found by hash, and typed
//! by their first bytes. Below every capability that keeps files.

use std::path::{Path, PathBuf};

use crate::error::Result;

/// Identifies a file's real type from its first bytes; the declared type must agree.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[4..8] == b"ftyp" && (&bytes[8..12] == b"heic" || &bytes[8..12] == b"mif1") {
        Some("image/heic")
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some("application/zip")
    } else if std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0) {
        Some("text/plain")
    } else {
        None
    }
}

/// Writes the bytes content-addressed under the data directory and syncs them to disk before
/// the database row that points at them is committed.
pub async fn store_file(data_dir: &Path, sha: &str, bytes: &[u8]) -> Result<()> {
    let dir = data_dir.join("files").join(&sha[..2]);
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(sha);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        // Fresh again: clean-up after a disposal leaves recently written files alone, so a
        // row about to commit never points at a file just removed.
        let touched = std::fs::File::options()
            .append(true)
            .open(&path)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        if let Err(e) = touched {
            tracing::warn!(error = %e, "could not refresh a stored file's time");
        }
        return Ok(());
    }
    let tmp = dir.join(format!("{sha}.{}.tmp", crate::crypto::random_token()));
    let mut f = tokio::fs::File::create(&tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut f, bytes).await?;
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(&tmp, &path).await?;
    Ok(())
}

pub fn file_path(data_dir: &Path, sha: &str) -> PathBuf {
    data_dir.join("files").join(sha.get(..2).unwrap_or("xx")).join(sha)
}
