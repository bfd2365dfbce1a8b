//! Writing signed checkpoints of every audit chain: its length, last hash and Merkle root,
//! signed with the tenant's Ed25519 key (the platform's chain with a key file of its own),
//! appended to a file outside the database and, if asked, mailed to an auditor.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use kencho_core::audit::checkpoint::{Checkpoint, Unsigned};
use kencho_core::audit::merkle::{self, Frontier};
use kencho_core::audit::parse_hash;

use crate::audit::{self, checkpoints as files, PLATFORM};
use crate::db::{now_ms, Db};
use crate::documents::keys;
use crate::error::{AppError, Result};
use crate::{i18n, mail};

/// Where checkpoints go and who else gets them.
#[derive(Debug, Clone)]
pub struct Target {
    pub dir: PathBuf,
    /// Signs the platform's own chain (tenant 0), which has no tenant key.
    pub platform_key_file: PathBuf,
    pub auditor_email: Option<String>,
}

impl Target {
    /// The defaults under a data directory.
    pub fn under(data_dir: &Path, dir: Option<PathBuf>, auditor_email: Option<String>) -> Target {
        Target {
            dir: dir.unwrap_or_else(|| data_dir.join("audit-checkpoints")),
            platform_key_file: data_dir.join("audit-platform.key"),
            auditor_email,
        }
    }
}

/// Checkpoints every chain whose head moved since its last checkpoint. Returns the new ones.
pub async fn write_all(db: &Db, target: &Target) -> Result<Vec<Checkpoint>> {
    let mut out = Vec::new();
    for (tenant_id, _, _) in audit::heads(db).await? {
        if let Some(cp) = write_one(db, target, tenant_id, 0).await? {
            out.push(cp);
        }
    }
    Ok(out)
}

/// The newest checkpoint of a chain that covers entry `seq`, written now if none does.
pub async fn covering(db: &Db, target: &Target, tenant_id: i64, seq: i64) -> Result<Option<Checkpoint>> {
    let known = files::read(&target.dir, tenant_id)?.map_err(AppError::unexpected)?;
    if let Some(cp) = known.into_iter().last().filter(|c| c.seq >= seq) {
        return Ok(Some(cp));
    }
    Ok(write_one(db, target, tenant_id, seq).await?.filter(|c| c.seq >= seq))
}

/// Who signs a chain's checkpoints.
enum ChainKey {
    Platform(SigningKey),
    Tenant(keys::ActiveKey),
}

/// Checkpoints one chain at its head, if the head moved past the last checkpoint and `at_least`.
async fn write_one(db: &Db, target: &Target, tenant_id: i64, at_least: i64) -> Result<Option<Checkpoint>> {
    // The key first: creating a tenant's key is itself an audit entry, which the checkpoint
    // then covers.
    let signer = if tenant_id == PLATFORM {
        ChainKey::Platform(platform_key(&target.platform_key_file)?)
    } else {
        ChainKey::Tenant(keys::active(db, tenant_id).await?)
    };
    let Some((seq, head)) = audit::head(db, tenant_id).await? else {
        return Ok(None);
    };
    let known = files::read(&target.dir, tenant_id)?
        .map_err(|e| AppError::failed(format!("tenant {tenant_id}'s checkpoint file"), e))?;
    let last = known.last();
    if seq < at_least || last.is_some_and(|c| c.seq >= seq) {
        return Ok(None);
    }
    let frontier = extend(db, tenant_id, last, seq, &head).await?;
    let unsigned = Unsigned {
        tenant_id,
        seq,
        head: head.clone(),
        root: hex::encode(frontier.root()),
        at_ms: now_ms(),
        frontier: frontier.to_hex(),
    };
    let cp = match signer {
        ChainKey::Platform(key) => Checkpoint::sign(&key, "platform", unsigned),
        ChainKey::Tenant(key) => {
            let sig = key.sign(&unsigned.message());
            unsigned.signed(&key.key_id, &key.verifying_key(), &sig)
        }
    };
    files::append(&target.dir, &cp)?;
    if let Some(to) = &target.auditor_email {
        mail_auditor(db, to, &cp).await?;
    }
    Ok(Some(cp))
}

/// The Merkle frontier at `seq`: the last checkpoint's, extended with the entries since, each
/// checked to continue the chain (kencho never signs on top of a rewritten chain).
async fn extend(db: &Db, tenant_id: i64, last: Option<&Checkpoint>, seq: i64, head: &str) -> Result<Frontier> {
    let broken = |why: String| AppError::Internal(format!("tenant {tenant_id}: {why}; run `kencho audit verify`"));
    let (mut frontier, mut prev) = match last {
        Some(c) => (
            Frontier::from_hex(c.seq as u64, &c.frontier)
                .ok_or_else(|| broken("the last checkpoint's frontier is unusable".into()))?,
            c.head.clone(),
        ),
        None => (Frontier::default(), kencho_core::audit::GENESIS.to_string()),
    };
    for (n, link, hash) in audit::entry_hashes(db, tenant_id, frontier.size() as i64 + 1, seq).await? {
        let bytes = parse_hash(hash.as_bytes())
            .filter(|_| link == prev)
            .ok_or_else(|| broken(format!("entry {n} does not continue the chain")))?;
        frontier.push(merkle::leaf_hash(&bytes));
        prev = hash;
    }
    if frontier.size() != seq as u64 || prev != head {
        return Err(broken("the chain does not reach its head".into()));
    }
    Ok(frontier)
}

async fn mail_auditor(db: &Db, to: &str, cp: &Checkpoint) -> Result<()> {
    let line = serde_json::to_string(cp).map_err(AppError::unexpected)?;
    let (tenant, seq) = (cp.tenant_id.to_string(), cp.seq.to_string());
    let args = [("tenant", tenant.as_str()), ("seq", seq.as_str()), ("checkpoint", line.as_str())];
    let subject = i18n::tf(i18n::OFFICE, "mail.audit_checkpoint.subject", &args);
    let body = i18n::tf(i18n::OFFICE, "mail.audit_checkpoint.body", &args);
    let (key, to) = (format!("audit-checkpoint:{tenant}:{seq}"), to.to_string());
    db.transact(move |conn| Box::pin(async move { mail::enqueue(conn, &key, &to, &subject, &body).await })).await
}

/// The platform chain's signing key: a seed in a file of its own (0600), made on first use.
fn platform_key(path: &Path) -> Result<SigningKey> {
    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
    if let Ok(text) = std::fs::read_to_string(path) {
        let seed: [u8; 32] = B64
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AppError::Internal(format!("{} is not a key kencho made", path.display())))?;
        return Ok(SigningKey::from_bytes(&seed));
    }
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    use std::io::Write as _;
    let mut f = opts.open(path)?;
    f.write_all(B64.encode(seed).as_bytes())?;
    f.sync_all()?;
    let key = SigningKey::from_bytes(&seed);
    Ok(key)
}

/// The serve loop's worker: a checkpoint round every `every`.
pub async fn worker(db: Db, target: Target, every: Duration, stop: crate::worker::Stop) {
    // The first checkpoint comes one period after start.
    let loop_ = crate::worker::Every::new("audit checkpoints", every).after_period();
    crate::worker::run(loop_, stop, || async {
        let done = write_all(&db, &target).await?;
        if !done.is_empty() {
            tracing::info!(chains = done.len(), "audit checkpoints written");
        }
        Ok(crate::worker::Pass::Idle)
    })
    .await;
}

/// A proof that an entry is in its chain's log (RFC 9162 §2.1.3): the entry, its place, the
/// audit path to the root, and the signed checkpoint that carries that root.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Proof {
    /// The entry: tenant_id, seq, at_ms, actor, action, target, detail, prev_hash.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub entry: kencho_core::audit::Entry,
    /// SHA-256 of the entry (hex): the leaf's data.
    pub entry_hash: String,
    /// 0-based: `seq - 1`.
    pub leaf_index: i64,
    /// Leaves under the root: the checkpoint's `seq`.
    pub tree_size: i64,
    /// Sibling hashes from the leaf up (hex), as RFC 9162 §2.1.3.1 orders them.
    pub audit_path: Vec<String>,
    /// The signed checkpoint (JSON object: tenant_id, seq, head, root, at_ms, key_id,
    /// public_key, signature).
    #[schema(value_type = Object)]
    pub checkpoint: Checkpoint,
}

/// The proof for entry `seq` of a chain, against the newest checkpoint (written now if none
/// covers the entry yet). `None`: no such entry.
pub async fn proof(db: &Db, target: &Target, tenant_id: i64, seq: i64) -> Result<Option<Proof>> {
    let Some(stored) = audit::entry(db, tenant_id, seq).await? else { return Ok(None) };
    let Some(cp) = covering(db, target, tenant_id, seq).await? else { return Ok(None) };
    let mut leaves = Vec::with_capacity(cp.seq as usize);
    for (_, _, hash) in audit::entry_hashes(db, tenant_id, 1, cp.seq).await? {
        let bytes = parse_hash(hash.as_bytes()).ok_or_else(|| AppError::Internal("a stored hash is not hex".into()))?;
        leaves.push(merkle::leaf_hash(&bytes));
    }
    if hex::encode(merkle::root(&leaves)) != cp.root || stored.entry.hash() != stored.hash {
        return Err(AppError::Internal(format!("tenant {tenant_id}: the log no longer matches its checkpoint")));
    }
    let path = merkle::inclusion_proof((seq - 1) as usize, &leaves);
    Ok(Some(Proof {
        entry: stored.entry,
        entry_hash: stored.hash,
        leaf_index: seq - 1,
        tree_size: cp.seq,
        audit_path: path.iter().map(hex::encode).collect(),
        checkpoint: cp,
    }))
}

/// Checks a proof on its own, as a resident's or an auditor's tool would: the entry hashes to
/// `entry_hash`, the path leads to the checkpoint's root, and the checkpoint's signature holds.
pub fn check_proof(p: &Proof) -> std::result::Result<(), String> {
    if p.entry.hash() != p.entry_hash {
        return Err("the entry does not hash to entry_hash".into());
    }
    p.checkpoint.check_signature().map_err(|e| e.to_string())?;
    let path: Option<Vec<[u8; 32]>> = p.audit_path.iter().map(|h| parse_hash(h.as_bytes())).collect();
    let (Some(path), Some(root), Some(leaf)) =
        (path, parse_hash(p.checkpoint.root.as_bytes()), parse_hash(p.entry_hash.as_bytes()))
    else {
        return Err("a hash is not hex".into());
    };
    let ok = p.checkpoint.tenant_id == p.entry.tenant_id
        && p.leaf_index == p.entry.seq - 1
        && p.checkpoint.seq == p.tree_size
        && merkle::verify_inclusion(p.leaf_index as u64, p.tree_size as u64, &merkle::leaf_hash(&leaf), &path, &root);
    if ok {
        Ok(())
    } else {
        Err("the audit path does not lead to the signed root".into())
    }
}
