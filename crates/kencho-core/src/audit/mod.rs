//! The audit log's hash chain, without I/O.
//!
//! Each tenant has its own chain (one global chain would make every writer in the deployment
//! queue on a single head row). Entry `n` stores the hash of entry `n-1`; its own hash covers
//! every stored column, length-prefixed so that no two different entries encode alike.

use sha2::{Digest, Sha256};

pub mod checkpoint;
pub mod merkle;

/// The hash an empty chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
        hex::encode(self.digest())
    }

    /// The entry's SHA-256, as bytes.
    pub fn digest(&self) -> [u8; 32] {
        digest(&Fields {
            tenant_id: self.tenant_id,
            seq: self.seq,
            at_ms: self.at_ms,
            actor: self.actor.as_bytes(),
            action: self.action.as_bytes(),
            target: self.target.as_bytes(),
            detail: self.detail.as_bytes(),
            prev_hash: self.prev_hash.as_bytes(),
        })
    }
}

/// An entry's columns, borrowed (the fast verifier hashes rows without copying them).
pub struct Fields<'a> {
    pub tenant_id: i64,
    pub seq: i64,
    pub at_ms: i64,
    pub actor: &'a [u8],
    pub action: &'a [u8],
    pub target: &'a [u8],
    pub detail: &'a [u8],
    pub prev_hash: &'a [u8],
}

/// The hash of one entry: every column, length-prefixed, integers in decimal.
pub fn digest(f: &Fields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    let (mut a, mut b, mut c) = (itoa::Buffer::new(), itoa::Buffer::new(), itoa::Buffer::new());
    part(a.format(f.tenant_id).as_bytes());
    part(b.format(f.seq).as_bytes());
    part(c.format(f.at_ms).as_bytes());
    for p in [f.actor, f.action, f.target, f.detail, f.prev_hash] {
        part(p);
    }
    h.finalize().into()
}

/// Decodes a stored 64-hex-digit hash; `None` if it is not one. A table, not `hex`'s checked
/// decoder: the verifier decodes two hashes per entry, and that was a seventh of its time.
pub fn parse_hash(hex_text: &[u8]) -> Option<[u8; 32]> {
    const fn table() -> [u8; 256] {
        let mut t = [0xffu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    }
    const HEX: [u8; 256] = table();
    if hex_text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(hex_text.chunks_exact(2)) {
        let (h, l) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        bad |= h | l;
        *o = (h << 4) | l;
    }
    (bad & 0xf0 == 0).then_some(out)
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
    #[error("the chain goes on to entry {last} but the head records {head}: entries were added behind kencho's back")]
    Appended { last: i64, head: i64 },
    #[error("the chain has {last} entries but no head")]
    HeadMissing { last: i64 },
    #[error("the head hash does not match the last entry {last}")]
    HeadMismatch { last: i64 },
    #[error(
        "a signed checkpoint covers {seq} entries but the chain ends at entry {last}: its tail was cut or its head rewound"
    )]
    Cut { seq: i64, last: i64 },
    #[error("the chain is gone from the database, but a signed checkpoint covers {seq} entries")]
    Deleted { seq: i64 },
    #[error("entry {seq} is not the entry a signed checkpoint recorded: the chain was rewritten")]
    Rewritten { seq: i64 },
    #[error("checkpoint {line} of this chain: {why}")]
    BadCheckpoint { line: usize, why: String },
}

/// Checks a chain one entry at a time, in sequence order, so that a verifier can stream rows
/// and hash them elsewhere: it is told each entry's recomputed hash beside what was stored.
pub struct ChainCheck {
    expected_seq: i64,
    prev: [u8; 32],
    /// (sequence number, hash) pairs from signed checkpoints, ascending.
    checkpoints: Vec<(i64, [u8; 32])>,
    next_checkpoint: usize,
}

/// One entry as the checker sees it.
pub struct Seen {
    pub seq: i64,
    /// The hash recomputed from the columns.
    pub computed: [u8; 32],
    /// The hash stored with the entry (`None`: not a hash at all).
    pub stored: Option<[u8; 32]>,
    /// The stored link to the previous entry (`None`: not a hash at all).
    pub prev: Option<[u8; 32]>,
}

impl ChainCheck {
    pub fn new(checkpoints: Vec<(i64, [u8; 32])>) -> Self {
        ChainCheck { expected_seq: 1, prev: [0u8; 32], checkpoints, next_checkpoint: 0 }
    }

    /// Checks a stretch of a chain that starts at `first` (its link to the entry before is
    /// taken as it is here; [`stitch`] checks it against the stretch before).
    pub fn resume(first: &Seen, checkpoints: Vec<(i64, [u8; 32])>) -> Self {
        let next_checkpoint = checkpoints.partition_point(|(s, _)| *s < first.seq);
        ChainCheck { expected_seq: first.seq, prev: first.prev.unwrap_or([0xff; 32]), checkpoints, next_checkpoint }
    }

    /// The last entry checked so far: (its sequence number, its hash).
    pub fn reached(&self) -> (i64, [u8; 32]) {
        (self.expected_seq - 1, self.prev)
    }

    pub fn push(&mut self, e: &Seen) -> Result<(), ChainBreak> {
        if e.seq != self.expected_seq {
            return Err(ChainBreak::Sequence { seq: e.seq, expected: self.expected_seq });
        }
        let stored = e.stored.filter(|s| *s == e.computed).ok_or(ChainBreak::Altered { seq: e.seq })?;
        if e.prev != Some(self.prev) {
            return Err(ChainBreak::BrokenLink { seq: e.seq });
        }
        if let Some((seq, hash)) = self.checkpoints.get(self.next_checkpoint) {
            if *seq == e.seq {
                if *hash != stored {
                    return Err(ChainBreak::Rewritten { seq: e.seq });
                }
                self.next_checkpoint += 1;
            }
        }
        self.prev = stored;
        self.expected_seq += 1;
        Ok(())
    }

    /// Ends the walk: compares the last entry with the recorded head (its sequence number and
    /// hash) and with the checkpoints not yet reached. Returns the number of entries.
    pub fn finish(self, head: Option<(i64, [u8; 32])>) -> Result<i64, ChainBreak> {
        let last = self.expected_seq - 1;
        match head {
            None if last > 0 => return Err(ChainBreak::HeadMissing { last }),
            Some((head_seq, _)) if head_seq > last => return Err(ChainBreak::Truncated { last, head: head_seq }),
            Some((head_seq, _)) if head_seq < last => return Err(ChainBreak::Appended { last, head: head_seq }),
            Some((_, hash)) if hash != self.prev && last > 0 => return Err(ChainBreak::HeadMismatch { last }),
            _ => {}
        }
        if let Some((seq, _)) = self.checkpoints.get(self.next_checkpoint) {
            return Err(if last == 0 {
                ChainBreak::Deleted { seq: *seq }
            } else {
                ChainBreak::Cut { seq: *seq, last }
            });
        }
        Ok(last)
    }
}

/// A stretch of one chain checked on its own (verifiers split the log to use every core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stretch {
    pub first_seq: i64,
    /// The first entry's stored link (`None`: not a hash).
    pub first_prev: Option<[u8; 32]>,
    /// The last entry checked (sequence number, hash), or the first problem inside.
    pub outcome: Result<(i64, [u8; 32]), ChainBreak>,
}

/// Joins a chain's stretches, in order: each must start where the one before ended and link
/// to its last hash; then the whole is compared with the head and the checkpoints.
pub fn stitch<I>(
    stretches: I,
    head: Option<(i64, [u8; 32])>,
    checkpoints: Vec<(i64, [u8; 32])>,
) -> Result<i64, ChainBreak>
where
    I: IntoIterator<Item = Stretch>,
{
    let mut whole = ChainCheck::new(checkpoints);
    for s in stretches {
        if s.first_seq != whole.expected_seq {
            return Err(ChainBreak::Sequence { seq: s.first_seq, expected: whole.expected_seq });
        }
        if s.first_prev != Some(whole.prev) {
            return Err(ChainBreak::BrokenLink { seq: s.first_seq });
        }
        let (last, hash) = s.outcome?;
        whole.expected_seq = last + 1;
        whole.prev = hash;
        whole.next_checkpoint = whole.checkpoints.partition_point(|(q, _)| *q <= last);
    }
    whole.finish(head)
}

/// Checks one tenant's entries, in sequence order, against the recorded head (its last
/// sequence number and hash). Returns the number of entries checked.
pub fn verify<I: IntoIterator<Item = Stored>>(entries: I, head: Option<(i64, &str)>) -> Result<i64, ChainBreak> {
    let mut check = ChainCheck::new(Vec::new());
    for s in entries {
        check.push(&seen(&s))?;
    }
    check.finish(head.map(|(seq, hash)| (seq, parse_hash(hash.as_bytes()).unwrap_or([0xff; 32]))))
}

/// What the checker needs of a stored entry.
pub fn seen(s: &Stored) -> Seen {
    Seen {
        seq: s.entry.seq,
        computed: s.entry.digest(),
        stored: parse_hash(s.hash.as_bytes()),
        prev: parse_hash(s.entry.prev_hash.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn chain(n: i64) -> Vec<Stored> {
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

        // An entry appended behind the head's back: the first version of this check missed it.
        assert_eq!(verify(chain(6), Some((head.0, &head.1))), Err(ChainBreak::Appended { last: 6, head: 5 }));
        assert_eq!(verify(c.clone(), None), Err(ChainBreak::HeadMissing { last: 5 }));
    }

    #[test]
    fn checkpoints_catch_a_rewound_cut_or_deleted_chain() {
        let c = chain(6);
        let bytes = |i: usize| parse_hash(c[i].hash.as_bytes()).unwrap();
        let run = |n: usize, cps: &[(i64, [u8; 32])]| {
            let mut check = ChainCheck::new(cps.to_vec());
            for s in &c[..n] {
                check.push(&seen(s))?;
            }
            check.finish((n > 0).then(|| (n as i64, bytes(n - 1))))
        };
        let cps = [(2, bytes(1)), (5, bytes(4))];
        assert_eq!(run(6, &cps), Ok(6));
        // Cut to 4 with the head moved back to match: the chain alone looks whole.
        assert_eq!(run(4, &[]), Ok(4));
        assert_eq!(run(4, &cps), Err(ChainBreak::Cut { seq: 5, last: 4 }));
        assert_eq!(run(0, &cps), Err(ChainBreak::Deleted { seq: 2 }));
        // A chain rebuilt from entry 2 on verifies by itself, not against the checkpoint.
        assert_eq!(run(6, &[(2, [7u8; 32])]), Err(ChainBreak::Rewritten { seq: 2 }));
    }

    /// Checks `c` cut into stretches at `cuts`, as a parallel verifier would.
    fn in_stretches(
        c: &[Stored],
        cuts: &[usize],
        head: Option<(i64, [u8; 32])>,
        cps: &[(i64, [u8; 32])],
    ) -> Result<i64, ChainBreak> {
        let mut bounds: Vec<usize> = cuts.iter().map(|k| k % (c.len() + 1)).collect();
        bounds.extend([0, c.len()]);
        bounds.sort_unstable();
        bounds.dedup();
        let stretches = bounds.windows(2).map(|w| {
            let part = &c[w[0]..w[1]];
            let first = seen(&part[0]);
            let mut check = ChainCheck::resume(&first, cps.to_vec());
            let outcome = part.iter().try_for_each(|s| check.push(&seen(s))).map(|()| check.reached());
            Stretch { first_seq: first.seq, first_prev: first.prev, outcome }
        });
        stitch(stretches, head, cps.to_vec())
    }

    proptest::proptest! {
        /// The table decoder agrees with `hex` on any text.
        #[test]
        fn parse_hash_agrees_with_hex(text in "[0-9a-fA-F]{64}|[0-9a-gA-G]{62,66}|.{0,70}") {
            let mut want = [0u8; 32];
            let ok = hex::decode_to_slice(text.as_bytes(), &mut want).is_ok();
            proptest::prop_assert_eq!(parse_hash(text.as_bytes()), ok.then_some(want));
        }

        /// Cut into stretches anywhere, a chain gives the same verdict as read whole, whatever
        /// entry was removed or altered and whatever the checkpoints say.
        #[test]
        fn stretches_agree_with_the_whole(n in 1i64..20, cuts in proptest::collection::vec(0usize..21, 0..4),
                                          drop in proptest::option::of(0usize..20), alter in proptest::option::of(0usize..20),
                                          cp in proptest::option::of(0usize..20), wrong_cp in proptest::bool::ANY) {
            let full = chain(n);
            let head = Some((n, parse_hash(full[(n - 1) as usize].hash.as_bytes()).unwrap()));
            let mut c = full.clone();
            if let Some(a) = alter { let i = a % c.len(); c[i].entry.detail = "{\"x\":1}".into(); }
            if let Some(d) = drop { if c.len() > 1 { c.remove(d % c.len()); } }
            let cps: Vec<(i64, [u8; 32])> = cp.map(|k| {
                let i = k % full.len();
                (full[i].entry.seq, if wrong_cp { [7u8; 32] } else { parse_hash(full[i].hash.as_bytes()).unwrap() })
            }).into_iter().collect();
            let mut whole = ChainCheck::new(cps.clone());
            let expected = c.iter().try_for_each(|s| whole.push(&seen(s))).and_then(|()| whole.finish(head));
            proptest::prop_assert_eq!(in_stretches(&c, &cuts, head, &cps), expected);
        }

        /// Whatever byte of whatever stored column changes, the chain no longer verifies.
        #[test]
        fn any_change_is_caught(n in 1i64..12, at in 0usize..12, col in 0usize..6, pos in 0usize..80) {
            let mut c = chain(n);
            let head = (n, c[(n - 1) as usize].hash.clone());
            let i = at % c.len();
            let field = match col {
                0 => &mut c[i].entry.actor,
                1 => &mut c[i].entry.action,
                2 => &mut c[i].entry.target,
                3 => &mut c[i].entry.detail,
                4 => &mut c[i].entry.prev_hash,
                _ => &mut c[i].hash,
            };
            let mut bytes = std::mem::take(field).into_bytes();
            let k = pos % bytes.len();
            bytes[k] = if bytes[k] == b'0' { b'1' } else { b'0' };
            *field = String::from_utf8(bytes).unwrap();
            proptest::prop_assert!(verify(c, Some((head.0, &head.1))).is_err());
        }
    }
}
