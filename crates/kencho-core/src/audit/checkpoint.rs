//! Signed checkpoints of a chain: its length, last hash and Merkle root at a moment, signed
//! with the tenant's Ed25519 key and kept outside the database (a file, a mail to an auditor),
//! so that whoever owns the database cannot cut, rewind or delete a chain unseen.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One line of a checkpoint file (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub tenant_id: i64,
    /// Entries covered: 1..=seq.
    pub seq: i64,
    /// The hash of entry `seq` (hex).
    pub head: String,
    /// The RFC 9162 Merkle root over entries 1..=seq (hex).
    pub root: String,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub key_id: String,
    /// Ed25519 public key, base64.
    pub public_key: String,
    /// Ed25519 signature over [`Checkpoint::message`], base64.
    pub signature: String,
    /// The Merkle frontier at `seq` (not signed: it only saves re-reading the chain; a wrong one
    /// gives a wrong next root, which verification catches).
    #[serde(default)]
    pub frontier: Vec<String>,
}

/// A checkpoint before its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned {
    pub tenant_id: i64,
    pub seq: i64,
    pub head: String,
    pub root: String,
    pub at_ms: i64,
    pub frontier: Vec<String>,
}

impl Unsigned {
    pub fn message(&self) -> Vec<u8> {
        Checkpoint::message(self.tenant_id, self.seq, &self.head, &self.root, self.at_ms)
    }

    pub fn signed(self, key_id: &str, public_key: &VerifyingKey, signature: &Signature) -> Checkpoint {
        Checkpoint {
            tenant_id: self.tenant_id,
            seq: self.seq,
            head: self.head,
            root: self.root,
            at_ms: self.at_ms,
            key_id: key_id.to_string(),
            public_key: B64.encode(public_key.to_bytes()),
            signature: B64.encode(signature.to_bytes()),
            frontier: self.frontier,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a checkpoint: {0}")]
    Unreadable(String),
    #[error("its signature does not verify with the key it names")]
    BadSignature,
    #[error("it is for tenant {found}, not {expected}")]
    WrongTenant { expected: i64, found: i64 },
    #[error("it covers {seq} entries, fewer than the checkpoint before it ({before})")]
    Backwards { seq: i64, before: i64 },
}

impl Checkpoint {
    /// The signed bytes: a fixed layout, so signer and verifier never disagree on JSON details.
    pub fn message(tenant_id: i64, seq: i64, head: &str, root: &str, at_ms: i64) -> Vec<u8> {
        format!("kencho-audit-checkpoint/1\n{tenant_id}\n{seq}\n{head}\n{root}\n{at_ms}\n").into_bytes()
    }

    /// Signs with a key held here (tests; the program signs through [`Unsigned`]).
    pub fn sign(key: &SigningKey, key_id: &str, unsigned: Unsigned) -> Checkpoint {
        let sig = key.sign(&unsigned.message());
        unsigned.signed(key_id, &key.verifying_key(), &sig)
    }

    /// Checks the signature against the public key the checkpoint names (the caller decides
    /// whether it trusts that key).
    pub fn check_signature(&self) -> Result<(), CheckpointError> {
        let key: [u8; 32] =
            B64.decode(&self.public_key).ok().and_then(|b| b.try_into().ok()).ok_or(CheckpointError::BadSignature)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| CheckpointError::BadSignature)?;
        let sig: [u8; 64] =
            B64.decode(&self.signature).ok().and_then(|b| b.try_into().ok()).ok_or(CheckpointError::BadSignature)?;
        key.verify(
            &Self::message(self.tenant_id, self.seq, &self.head, &self.root, self.at_ms),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| CheckpointError::BadSignature)
    }
}

/// Reads a tenant's checkpoint file (JSON lines, oldest first), checking every signature and
/// that the chain only ever grew. Returns the checkpoints, or the line (1-based) that is wrong.
pub fn parse_file(tenant_id: i64, text: &str) -> Result<Vec<Checkpoint>, (usize, CheckpointError)> {
    let mut out: Vec<Checkpoint> = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = i + 1;
        let cp: Checkpoint =
            serde_json::from_str(line).map_err(|e| (at, CheckpointError::Unreadable(e.to_string())))?;
        if cp.tenant_id != tenant_id {
            return Err((at, CheckpointError::WrongTenant { expected: tenant_id, found: cp.tenant_id }));
        }
        cp.check_signature().map_err(|e| (at, e))?;
        if let Some(before) = out.last() {
            if cp.seq < before.seq {
                return Err((at, CheckpointError::Backwards { seq: cp.seq, before: before.seq }));
            }
        }
        out.push(cp);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9u8; 32])
    }

    #[test]
    fn signed_checkpoints_verify_and_forgeries_do_not() {
        let u = |seq: i64, head: &str, root: &str, at_ms: i64| Unsigned {
            tenant_id: 3,
            seq,
            head: head.repeat(32),
            root: root.repeat(32),
            at_ms,
            frontier: vec![],
        };
        let a = Checkpoint::sign(&key(), "k1", u(10, "ab", "cd", 1_700_000_000_000));
        let b = Checkpoint::sign(&key(), "k1", u(12, "ef", "01", 1_700_000_000_500));
        let text = format!("{}\n{}\n", serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        assert_eq!(parse_file(3, &text).unwrap(), vec![a.clone(), b.clone()]);
        assert!(matches!(parse_file(4, &text), Err((1, CheckpointError::WrongTenant { .. }))));

        let mut forged = b.clone();
        forged.seq = 11;
        let text2 = format!("{}\n{}\n", serde_json::to_string(&a).unwrap(), serde_json::to_string(&forged).unwrap());
        assert_eq!(parse_file(3, &text2), Err((2, CheckpointError::BadSignature)));

        let back = format!("{}\n{}\n", serde_json::to_string(&b).unwrap(), serde_json::to_string(&a).unwrap());
        assert!(matches!(parse_file(3, &back), Err((2, CheckpointError::Backwards { .. }))));
        assert!(matches!(parse_file(3, "{not json"), Err((1, CheckpointError::Unreadable(_)))));
    }
}
