//! A Merkle tree over each chain's entry hashes, as RFC 9162 (Certificate Transparency 2.0,
//! §2.1) defines it: leaf = SHA-256(0x00 ‖ entry hash), node = SHA-256(0x01 ‖ left ‖ right),
//! the tree of n leaves split at the largest power of two below n. A signed checkpoint carries
//! the root, so a resident can be shown, with log₂(n) hashes, that their entry is in the log.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(entry_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry_hash);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of an empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The tree's root over `leaves` (already leaf-hashed), by the definition.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 9162 §2.1.3.1).
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || index >= n {
        return Vec::new();
    }
    let k = split(n);
    let mut path;
    if index < k {
        path = inclusion_proof(index, &leaves[..k]);
        path.push(root(&leaves[k..]));
    } else {
        path = inclusion_proof(index - k, &leaves[k..]);
        path.push(root(&leaves[..k]));
    }
    path
}

/// Checks an audit path (RFC 9162 §2.1.3.2): is `leaf` the `index`-th of `size` leaves under `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode, mut r) = (index, size - 1, *leaf);
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// The roots of the perfect subtrees a growing tree is made of (at most 64), so that a root
/// can be extended leaf by leaf without keeping every leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (height, subtree root), the tallest first.
    stack: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        self.size += 1;
        let mut cur = (0u32, leaf);
        while let Some(&(h, left)) = self.stack.last() {
            if h != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (h + 1, node_hash(&left, &cur.1));
        }
        self.stack.push(cur);
    }

    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut r)) = it.next() else { return empty_root() };
        for (_, left) in it {
            r = node_hash(left, &r);
        }
        r
    }

    /// The subtree roots as hex, tallest first (stored beside a checkpoint to extend it later).
    pub fn to_hex(&self) -> Vec<String> {
        self.stack.iter().map(|(_, h)| hex::encode(h)).collect()
    }

    /// Rebuilds a frontier of `size` leaves from [`Frontier::to_hex`]; `None` if they do not fit.
    pub fn from_hex(size: u64, roots: &[String]) -> Option<Frontier> {
        let heights: Vec<u32> = (0..64).rev().filter(|b| size >> b & 1 == 1).collect();
        if heights.len() != roots.len() {
            return None;
        }
        let mut stack = Vec::with_capacity(roots.len());
        for (h, r) in heights.into_iter().zip(roots) {
            stack.push((h, super::parse_hash(r.as_bytes())?));
        }
        Some(Frontier { size, stack })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&Sha256::digest(i.to_be_bytes()).into())).collect()
    }

    #[test]
    fn known_shapes() {
        let l = leaves(3);
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        assert_eq!(root(&[]), empty_root());
        assert_eq!(split(5), 4);
        assert_eq!(split(4), 2);
        assert_eq!(split(2), 1);
    }

    proptest! {
        /// The frontier's root is the definition's root at every size, and survives a round trip.
        #[test]
        fn frontier_matches_definition(n in 0usize..70) {
            let l = leaves(n);
            let mut f = Frontier::default();
            for (i, leaf) in l.iter().enumerate() {
                f.push(*leaf);
                prop_assert_eq!(f.root(), root(&l[..=i]));
            }
            prop_assert_eq!(Frontier::from_hex(f.size(), &f.to_hex()), Some(f.clone()));
        }

        /// Every leaf's path proves it, and proves nothing else.
        #[test]
        fn proofs_verify_and_only_for_their_leaf(n in 1usize..70, i in 0usize..70, j in 0usize..70) {
            let l = leaves(n);
            let (i, j) = (i % n, j % n);
            let r = root(&l);
            let path = inclusion_proof(i, &l);
            prop_assert!(verify_inclusion(i as u64, n as u64, &l[i], &path, &r));
            if i != j {
                prop_assert!(!verify_inclusion(j as u64, n as u64, &l[i], &path, &r));
            }
            // Nor against another root (the tree size is bound by the signed checkpoint).
            prop_assert!(!verify_inclusion(i as u64, n as u64, &l[i], &path, &leaf_hash(&r)));
            prop_assert!(!verify_inclusion(n as u64, n as u64, &l[i], &path, &r));
        }
    }
}
