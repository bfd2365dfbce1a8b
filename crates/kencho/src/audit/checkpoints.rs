//! Signed checkpoints on disk, outside the database: one file per chain,
//! `<dir>/tenant-<id>.jsonl`, a JSON line per checkpoint, only ever appended to. Point the
//! directory at storage the database's owner cannot write (another host's mount, a WORM
//! bucket's sync folder) and mail copies to an auditor (`--audit-email`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use kencho_core::audit::checkpoint::{self, Checkpoint};
use kencho_core::audit::{parse_hash, ChainBreak};

use super::scan::Marks;
use crate::error::{AppError, Result};

fn file_of(dir: &Path, tenant_id: i64) -> PathBuf {
    dir.join(format!("tenant-{tenant_id}.jsonl"))
}

/// A chain's checkpoints, oldest first (empty if it has none); every signature checked.
pub fn read(dir: &Path, tenant_id: i64) -> Result<std::result::Result<Vec<Checkpoint>, ChainBreak>> {
    let text = match std::fs::read_to_string(file_of(dir, tenant_id)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(Vec::new())),
        Err(e) => return Err(e.into()),
    };
    Ok(checkpoint::parse_file(tenant_id, &text)
        .map_err(|(line, why)| ChainBreak::BadCheckpoint { line, why: why.to_string() }))
}

/// Every chain's checkpoints as the verifier wants them, and the chains whose file is wrong.
pub fn load_dir(dir: &Path) -> Result<(Marks, Vec<(i64, ChainBreak)>)> {
    let (mut marks, mut bad) = (Marks::new(), Vec::new());
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((marks, bad)),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let name = entry?.file_name();
        let Some(tenant_id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("tenant-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<i64>().ok())
        else {
            continue;
        };
        match read(dir, tenant_id)? {
            Ok(cps) => {
                let mut points = Vec::with_capacity(cps.len());
                for (i, cp) in cps.iter().enumerate() {
                    let Some(hash) = parse_hash(cp.head.as_bytes()) else {
                        bad.push((tenant_id, ChainBreak::BadCheckpoint { line: i + 1, why: "no head hash".into() }));
                        break;
                    };
                    // The same length checkpointed twice must name the same entry.
                    if let Some((seq, h)) = points.last() {
                        if *seq == cp.seq && *h != hash {
                            bad.push((
                                tenant_id,
                                ChainBreak::BadCheckpoint { line: i + 1, why: "two heads at one length".into() },
                            ));
                        }
                    }
                    if points.last().map(|(s, _)| *s) != Some(cp.seq) {
                        points.push((cp.seq, hash));
                    }
                }
                marks.insert(tenant_id, points);
            }
            Err(why) => bad.push((tenant_id, why)),
        }
    }
    Ok((marks, bad))
}

/// Appends a checkpoint to its chain's file and forces it to disk before returning.
pub fn append(dir: &Path, cp: &Checkpoint) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = file_of(dir, cp.tenant_id);
    let created = !path.exists();
    let mut line = serde_json::to_vec(cp).map_err(AppError::unexpected)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    f.write_all(&line)?;
    f.sync_all()?;
    if created {
        // A new file's name is durable only once its directory is.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
