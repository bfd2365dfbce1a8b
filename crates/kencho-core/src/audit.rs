//! The audit log's hash chain, without I/O.
//!
//! Each tenant has its own chain (one global chain would make every writer in the deployment
//! queue on a single head row). Entry `n` stores the hash of entry `n-1`; its own hash covers
//! every stored column, length-prefixed so that no two different entries encode alike.

use sha2::{Digest, Sha256};

/// The hash an empty chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub tenant_id: i64,
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who acted, e.g. `staff:12`, `resident:7`, `system`.
    pub actor: String,
    /// What happened, e.g. `application.submit`, `application.view`.
    pub action: String,
    /// What it happened to, e.g. `application:42`.
    pub target: String,
    /// Why / details, as JSON text.
    pub detail: String,
    pub prev_hash: String,
}

impl Entry {
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.tenant_id.to_string().as_bytes(),
            self.seq.to_string().as_bytes(),
            self.at_ms.to_string().as_bytes(),
            self.actor.as_bytes(),
            self.action.as_bytes(),
            self.target.as_bytes(),
            self.detail.as_bytes(),
            self.prev_hash.as_bytes(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        hex::encode(h.finalize())
    }
}

/// A stored entry: the entry and the hash recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub entry: Entry,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: its content was altered (hash does not match)")]
    Altered { seq: i64 },
    #[error("entry {seq}: the entry before it was removed or altered (link does not match)")]
    BrokenLink { seq: i64 },
    #[error("entry {seq}: expected sequence number {expected} (an entry was removed or inserted)")]
    Sequence { seq: i64, expected: i64 },
    #[error("the chain ends at entry {last} but the head records {head}: entries after {last} were removed")]
    Truncated { last: i64, head: i64 },
    #[error("the head hash does not match the last entry {last}")]
    HeadMismatch { last: i64 },
}

/// Checks one tenant's entries, in sequence order, against the recorded head (its last
/// sequence number and hash). Returns the number of entries checked.
pub fn verify<I: IntoIterator<Item = Stored>>(entries: I, head: Option<(i64, &str)>) -> Result<i64, ChainBreak> {
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    for s in entries {
        let e = &s.entry;
        if e.seq != expected_seq {
            return Err(ChainBreak::Sequence { seq: e.seq, expected: expected_seq });
        }
        if s.hash != e.hash() {
            return Err(ChainBreak::Altered { seq: e.seq });
        }
        if e.prev_hash != prev {
            return Err(ChainBreak::BrokenLink { seq: e.seq });
        }
        prev = s.hash;
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    if let Some((head_seq, head_hash)) = head {
        if head_seq > last {
            return Err(ChainBreak::Truncated { last, head: head_seq });
        }
        if head_seq == last && head_hash != prev {
            return Err(ChainBreak::HeadMismatch { last });
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Stored> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let entry = Entry {
                    tenant_id: 1,
                    seq,
                    at_ms: 1_700_000_000_000 + seq,
                    actor: "staff:1".into(),
                    action: "application.view".into(),
                    target: format!("application:{seq}"),
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                };
                let hash = entry.hash();
                prev = hash.clone();
                Stored { entry, hash }
            })
            .collect()
    }

    #[test]
    fn detects_tampering() {
        let c = chain(5);
        let head = (5, c[4].hash.clone());
        assert_eq!(verify(c.clone(), Some((head.0, &head.1))), Ok(5));

        let mut altered = c.clone();
        altered[2].entry.detail = "{\"why\":\"x\"}".into();
        assert_eq!(verify(altered, Some((head.0, &head.1))), Err(ChainBreak::Altered { seq: 3 }));

        let mut removed = c.clone();
        removed.remove(1);
        assert_eq!(verify(removed, Some((head.0, &head.1))), Err(ChainBreak::Sequence { seq: 3, expected: 2 }));

        let mut tail_cut = c.clone();
        tail_cut.pop();
        assert_eq!(verify(tail_cut, Some((head.0, &head.1))), Err(ChainBreak::Truncated { last: 4, head: 5 }));

        // Re-hashing an altered entry still breaks the next link.
        let mut rehashed = c.clone();
        rehashed[1].entry.actor = "staff:2".into();
        rehashed[1].hash = rehashed[1].entry.hash();
        assert_eq!(verify(rehashed, Some((head.0, &head.1))), Err(ChainBreak::BrokenLink { seq: 3 }));
    }
}
