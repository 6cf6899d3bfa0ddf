//! An RFC 6962 Merkle tree over a stream's records, with inclusion and consistency
//! proofs.
//!
//! # Overview
//!
//! The tree is the one of RFC 6962 / RFC 9162 §2.1 with SHA-256. Its leaves are the
//! records' 32-byte `hash`es, in `seq` order: the leaf hash of a record is
//! [`leaf_hash`]`(&record_hash)` = SHA-256(0x00 ‖ hash), an inner node is
//! [`node_hash`]`(left, right)` = SHA-256(0x01 ‖ left ‖ right), and the root of the
//! empty tree is [`EMPTY_ROOT`] = SHA-256 of nothing.
//!
//! - [`Frontier`] keeps a growing tree's root up to date as leaves are appended, in
//!   O(log n) memory and without re-reading earlier leaves: what a writer keeps.
//! - [`root`], [`inclusion_proof`] and [`consistency_proof`] compute a root and the
//!   proofs of RFC 9162 §2.1.3.1 (`PATH`) and §2.1.4.1 (`PROOF`) from a slice of
//!   leaf hashes.
//! - [`verify_inclusion`] and [`verify_consistency`] check proofs as RFC 9162
//!   §2.1.3.2 and §2.1.4.2 say, and tell why a proof fails ([`ProofError`]).
//!
//! Every function here takes and returns *leaf hashes*, never the data: apply
//! [`leaf_hash`] to a record's hash first.
//!
//! The writer does not maintain or record this tree yet: this module is the
//! algorithm, for the checkpoints to come.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tracing_audit_core::merkle::{self, Frontier};
//!
//! // The leaves: the hashes of five records (made up here).
//! let leaves: Vec<[u8; 32]> = (0u8..5).map(|i| merkle::leaf_hash(&[i; 32])).collect();
//!
//! // A writer pushes each record's leaf hash as it goes.
//! let mut frontier = Frontier::new();
//! for (i, leaf) in leaves.iter().enumerate() {
//!     frontier.push(*leaf);
//!     assert_eq!(frontier.root(), merkle::root(&leaves[..=i]));
//! }
//! let root = frontier.root();
//!
//! // Record 3 is in the tree of size 5 with that root.
//! let proof = merkle::inclusion_proof(&leaves, 3)?;
//! merkle::verify_inclusion(&leaves[3], 3, 5, &proof, &root)?;
//! // The same proof does not place record 3 at index 2.
//! assert!(merkle::verify_inclusion(&leaves[3], 2, 5, &proof, &root).is_err());
//!
//! // The tree of size 5 extends the tree of size 2, which nobody rewrote.
//! let old_root = merkle::root(&leaves[..2]);
//! let proof = merkle::consistency_proof(&leaves, 2)?;
//! merkle::verify_consistency(2, 5, &old_root, &root, &proof)?;
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! The proof generators return an [`Error`] of kind [`ErrorKind::Config`] when an
//! argument is out of range (an index past the end, an old size larger than the
//! tree); [`Frontier::from_parts`] does too when its parts do not fit together. A
//! proof that does not verify is a [`ProofError`], which says what was expected and
//! what was found.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::{Error, ErrorKind, Result};

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The leaf hash of `data`: SHA-256(0x00 ‖ data).
///
/// For the stream's tree, `data` is a record's 32-byte `hash`.
///
/// ```
/// use tracing_audit_core::merkle::leaf_hash;
/// // RFC 6962 leaf hash of the empty input.
/// assert_eq!(
///     hex::encode(leaf_hash(b"")),
///     "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
/// );
/// ```
pub fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The right edge of a growing tree (a *compact range* from 0): enough to compute
/// its root and to append to it, without the leaves.
///
/// It holds one hash per 1 bit of the size: the roots of the perfect subtrees the
/// leaves so far split into, largest (leftmost) first. [`push`](Frontier::push) is
/// amortised O(1), at worst O(log n), hashes; [`root`](Frontier::root) is
/// O(log n) hashes.
///
/// To resume after a restart, store [`size`](Frontier::size) and
/// [`hashes`](Frontier::hashes) and rebuild with [`from_parts`](Frontier::from_parts).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::merkle::{leaf_hash, Frontier};
///
/// let mut f = Frontier::new();
/// for i in 0u8..6 {
///     f.push(leaf_hash(&[i]));
/// }
/// assert_eq!(f.size(), 6);
/// assert_eq!(f.hashes().len(), 2); // 6 = 4 + 2
///
/// let saved = (f.size(), f.hashes().to_vec());
/// let mut resumed = Frontier::from_parts(saved.0, saved.1)?;
/// resumed.push(leaf_hash(&[6]));
/// f.push(leaf_hash(&[6]));
/// assert_eq!(resumed.root(), f.root());
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// One per 1 bit of `size`, from the highest bit: always `size.count_ones()` long.
    hashes: Vec<[u8; 32]>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds a frontier from what [`size`](Frontier::size) and
    /// [`hashes`](Frontier::hashes) returned.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] when the number of hashes is not the number of 1 bits
    /// in `size` (the hashes themselves cannot be checked without the leaves).
    pub fn from_parts(size: u64, hashes: Vec<[u8; 32]>) -> Result<Frontier> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle frontier of size {size}: expected {expected} hashes \
                     (one per 1 bit of the size), found {}",
                    hashes.len()
                ),
            ));
        }
        Ok(Frontier { size, hashes })
    }

    /// A frontier from its size and its hashes as 64-digit hexadecimal text (as a
    /// `seal` record carries them, docs/FORMAT.md §3); `None` when they do not
    /// fit together.
    pub fn from_hex(size: u64, hexes: &[String]) -> Option<Frontier> {
        let mut hashes = Vec::with_capacity(hexes.len());
        for h in hexes {
            let mut b = [0u8; 32];
            hex::decode_to_slice(h, &mut b).ok()?;
            hashes.push(b);
        }
        Frontier::from_parts(size, hashes).ok()
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the perfect subtrees, largest (leftmost) first: one per 1 bit of
    /// [`size`](Frontier::size), from the highest bit.
    pub fn hashes(&self) -> &[[u8; 32]] {
        &self.hashes
    }

    /// Appends a leaf hash (apply [`leaf_hash`] to a record's hash first).
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves (see [`Frontier::is_full`]).
    pub fn push(&mut self, leaf_hash: [u8; 32]) {
        let size = self
            .size
            .checked_add(1)
            .expect("a Merkle tree holds at most u64::MAX leaves");
        // Each trailing 1 bit of the old size is a perfect subtree of the same size
        // as the one being completed: merge them, rightmost first.
        let merges = self.size.trailing_ones() as usize;
        let keep = self.hashes.len() - merges; // merges <= count_ones == len
        let mut hash = leaf_hash;
        for left in self.hashes.drain(keep..).rev() {
            hash = node_hash(&left, &hash);
        }
        self.hashes.push(hash);
        self.size = size;
    }

    /// True when the tree holds `u64::MAX` leaves: no leaf can be pushed. (A
    /// stream's `seq` goes up to `u64::MAX`, one record more than a tree holds: a
    /// reader of hostile input checks this before [`Frontier::push`].)
    pub fn is_full(&self) -> bool {
        self.size == u64::MAX
    }

    /// The tree's root (RFC 9162 `MTH`): [`EMPTY_ROOT`] for the empty tree.
    pub fn root(&self) -> [u8; 32] {
        let mut rest = self.hashes.iter().rev();
        match rest.next() {
            None => EMPTY_ROOT,
            Some(&last) => rest.fold(last, |acc, left| node_hash(left, &acc)),
        }
    }
}

impl fmt::Debug for Frontier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hex<'a>(&'a [u8; 32]);
        impl fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        f.debug_struct("Frontier")
            .field("size", &self.size)
            .field("hashes", &self.hashes.iter().map(Hex).collect::<Vec<_>>())
            .finish()
    }
}

/// The largest power of two smaller than `n` (RFC 9162's `k`); `n` >= 2.
fn split(n: usize) -> usize {
    1 << (n - 1).ilog2()
}

/// RFC 9162 `PATH(m, D[lo:hi])` with the subtree roots from `mth_range`, appended
/// to `out`; `lo <= m < hi`.
pub(crate) fn path_ranges(
    m: u64,
    lo: u64,
    hi: u64,
    mth_range: &impl Fn(u64, u64) -> Result<[u8; 32]>,
    out: &mut Vec<[u8; 32]>,
) -> Result<()> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = 1u64 << (n - 1).ilog2();
    if m - lo < k {
        path_ranges(m, lo, lo + k, mth_range, out)?;
        out.push(mth_range(lo + k, hi)?);
    } else {
        path_ranges(m, lo + k, hi, mth_range, out)?;
        out.push(mth_range(lo, lo + k)?);
    }
    Ok(())
}

/// RFC 9162 `MTH` over leaf hashes; over the roots of equal complete subtrees when
/// their number is a power of two (the root of the subtree they make up).
pub(crate) fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves {
        [] => EMPTY_ROOT,
        [only] => *only,
        _ => {
            let k = split(leaves.len());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The root of the tree over `leaves` (leaf hashes, in order): RFC 9162 `MTH`.
/// [`EMPTY_ROOT`] for no leaves. O(n) hashes.
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    mth(leaves)
}

/// The inclusion proof of the leaf at `index` in the tree over `leaves` (leaf
/// hashes): RFC 9162 §2.1.3.1 `PATH(index, leaves)`, the sibling hashes from the
/// leaf up to the root. O(n) hashes.
///
/// # Errors
///
/// [`ErrorKind::Config`] when `index` is not less than the number of leaves.
pub fn inclusion_proof(leaves: &[[u8; 32]], index: u64) -> Result<Vec<[u8; 32]>> {
    let n = leaves.len();
    let m = match usize::try_from(index) {
        Ok(m) if m < n => m,
        _ => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle inclusion proof: expected a leaf index less than the tree \
                     size {n}, found {index}"
                ),
            ));
        }
    };
    let mut proof = Vec::new();
    path(m, leaves, &mut proof);
    Ok(proof)
}

/// RFC 9162 `PATH(m, D)`, appended to `out`; `m < d.len()`.
fn path(m: usize, d: &[[u8; 32]], out: &mut Vec<[u8; 32]>) {
    if d.len() <= 1 {
        return;
    }
    let k = split(d.len());
    if m < k {
        path(m, &d[..k], out);
        out.push(mth(&d[k..]));
    } else {
        path(m - k, &d[k..], out);
        out.push(mth(&d[..k]));
    }
}

/// The consistency proof between the tree over the first `old_size` leaves and the
/// tree over all of `leaves` (leaf hashes): RFC 9162 §2.1.4.1
/// `PROOF(old_size, leaves)`. Empty when `old_size` equals the number of leaves.
/// O(n) hashes.
///
/// # Errors
///
/// [`ErrorKind::Config`] when `old_size` is larger than the number of leaves, or is
/// 0 while there are leaves: no proof leads from the empty tree to a larger one
/// (RFC 9162 defines proofs for 0 < `old_size`, and [`verify_consistency`] accepts
/// none there); every tree extends the empty tree, so none is needed.
pub fn consistency_proof(leaves: &[[u8; 32]], old_size: u64) -> Result<Vec<[u8; 32]>> {
    let n = leaves.len();
    let m = match usize::try_from(old_size) {
        Ok(m) if m <= n && (m > 0 || n == 0) => m,
        _ => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Merkle consistency proof: expected an old size from {} to the tree \
                     size {n}, found {old_size}",
                    usize::from(n > 0)
                ),
            ));
        }
    };
    let mut proof = Vec::new();
    if m < n {
        subproof(m, leaves, true, &mut proof);
    }
    Ok(proof)
}

/// RFC 9162 `SUBPROOF(m, D, b)`, appended to `out`; `0 < m <= d.len()`.
fn subproof(m: usize, d: &[[u8; 32]], complete: bool, out: &mut Vec<[u8; 32]>) {
    let n = d.len();
    if m == n {
        if !complete {
            out.push(mth(d));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &d[..k], complete, out);
        out.push(mth(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(mth(&d[..k]));
    }
}

/// The consistency proof from the tree `old` (known only by its frontier) to the
/// tree of `old`'s leaves followed by `new_leaves` (leaf hashes): the same proof as
/// [`consistency_proof`] over all the leaves, without them. Every hash of such a
/// proof is either a subtree of the new leaves or one of the old tree's maximal
/// complete subtrees, which its frontier holds: O(`new_leaves`) hashes, whatever
/// the old size. A writer keeps the frontier of the tree a witness last cosigned
/// and the leaves since, and proves the next checkpoint from them.
///
/// # Errors
///
/// [`ErrorKind::Config`] when the old tree is empty while there are new leaves
/// (no proof leads from the empty tree: send none).
///
/// ```
/// use tracing_audit_core::merkle::{Frontier, consistency_proof, consistency_proof_extending, leaf_hash};
///
/// let leaves: Vec<[u8; 32]> = (0u8..13).map(|i| leaf_hash(&[i])).collect();
/// let mut old = Frontier::new();
/// leaves[..6].iter().for_each(|l| old.push(*l));
/// assert_eq!(
///     consistency_proof_extending(&old, &leaves[6..]).unwrap(),
///     consistency_proof(&leaves, 6).unwrap()
/// );
/// ```
pub fn consistency_proof_extending(
    old: &Frontier,
    new_leaves: &[[u8; 32]],
) -> Result<Vec<[u8; 32]>> {
    let m = old.size();
    let n = m + new_leaves.len() as u64;
    if m == 0 && n > 0 {
        return Err(Error::new(
            ErrorKind::Config,
            "Merkle consistency proof: expected an old tree of at least one leaf, found the empty tree (no proof leads from it)",
        ));
    }
    // The old tree's maximal complete subtrees: (start, size, root), left to right.
    let mut parts = Vec::with_capacity(old.hashes().len());
    let mut start = 0u64;
    let mut hashes = old.hashes().iter();
    for bit in (0..64).rev() {
        if m & (1 << bit) != 0 {
            let size = 1u64 << bit;
            let Some(h) = hashes.next() else { break };
            parts.push((start, size, *h));
            start += size;
        }
    }
    let mth_range = |lo: u64, hi: u64| -> Result<[u8; 32]> {
        if lo >= m {
            // Within the new leaves: offsets below their number, a usize.
            let at = |x: u64| usize::try_from(x - m).unwrap_or(usize::MAX);
            return Ok(mth(&new_leaves[at(lo)..at(hi)]));
        }
        parts
            .iter()
            .find(|(s, len, _)| *s == lo && s + len == hi)
            .map(|(_, _, h)| *h)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("Merkle consistency proof: the subtree [{lo}, {hi}) is not one of the old tree's (size {m})"),
                )
            })
    };
    let mut proof = Vec::new();
    if m < n {
        subproof_ranges(m, 0, n, true, &mth_range, &mut proof)?;
    }
    Ok(proof)
}

/// RFC 9162 `SUBPROOF(m, D[lo:hi], b)` with the subtree roots from `mth_range`.
pub(crate) fn subproof_ranges(
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    mth_range: &impl Fn(u64, u64) -> Result<[u8; 32]>,
    out: &mut Vec<[u8; 32]>,
) -> Result<()> {
    let n = hi - lo;
    let rel = m - lo;
    if rel == n {
        if !complete {
            out.push(mth_range(lo, hi)?);
        }
        return Ok(());
    }
    let k = 1u64 << (n - 1).ilog2();
    if rel <= k {
        subproof_ranges(m, lo, lo + k, complete, mth_range, out)?;
        out.push(mth_range(lo + k, hi)?);
    } else {
        subproof_ranges(m, lo + k, hi, false, mth_range, out)?;
        out.push(mth_range(lo, lo + k)?);
    }
    Ok(())
}

/// Why a proof does not verify: what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// An inclusion proof for a leaf index not less than the tree size.
    IndexOutOfRange {
        /// The leaf index given.
        index: u64,
        /// The tree size given.
        size: u64,
    },
    /// A consistency proof whose old size is larger than its new size.
    SizesOutOfOrder {
        /// The old tree size given.
        old_size: u64,
        /// The new tree size given.
        new_size: u64,
    },
    /// A consistency proof from the empty tree to a larger one: none exists (every
    /// tree extends the empty tree), so none is accepted.
    FromEmptyTree {
        /// The new tree size given.
        new_size: u64,
    },
    /// The proof does not have the number of hashes the sizes (and index) call for.
    /// A consistency proof between equal sizes is empty, and only then.
    WrongProofLength {
        /// The number of hashes a proof for these sizes has.
        expected: usize,
        /// The number of hashes given.
        found: usize,
    },
    /// The root the proof leads to is not the (new) root given. Between equal sizes,
    /// the new root given is not the old root.
    RootMismatch {
        /// The root given (the old root, between equal sizes).
        expected: [u8; 32],
        /// The root computed from the proof (the new root given, between equal sizes).
        found: [u8; 32],
    },
    /// The old root a consistency proof leads to is not the old root given.
    OldRootMismatch {
        /// The old root given.
        expected: [u8; 32],
        /// The old root computed from the proof.
        found: [u8; 32],
    },
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::IndexOutOfRange { index, size } => write!(
                f,
                "leaf index out of range: expected less than the tree size {size}, found {index}"
            ),
            ProofError::SizesOutOfOrder { old_size, new_size } => write!(
                f,
                "old tree size larger than the new one: expected at most {new_size}, \
                 found {old_size}"
            ),
            ProofError::FromEmptyTree { new_size } => write!(
                f,
                "no consistency proof from the empty tree to size {new_size}: expected an \
                 old size of at least 1, found 0"
            ),
            ProofError::WrongProofLength { expected, found } => write!(
                f,
                "wrong proof length: expected {expected} hashes, found {found}"
            ),
            ProofError::RootMismatch { expected, found } => write!(
                f,
                "root mismatch: expected {}, found {}",
                hex::encode(expected),
                hex::encode(found)
            ),
            ProofError::OldRootMismatch { expected, found } => write!(
                f,
                "old root mismatch: expected {}, found {}",
                hex::encode(expected),
                hex::encode(found)
            ),
        }
    }
}

impl std::error::Error for ProofError {}

/// The number of bits needed to write `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The length of an inclusion proof for `index < size`: the levels below the point
/// where the leaf's path and the last leaf's path part, plus the left siblings of
/// the path above it.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The length of a consistency proof for `0 < old_size < new_size`.
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    let shift = old_size.trailing_zeros();
    let inner = bit_len((old_size - 1) ^ (new_size - 1));
    let border = (old_size - 1).checked_shr(inner).unwrap_or(0).count_ones();
    // `old_size - 1` ends in `shift` 1 bits and `new_size - 1` is larger, so they
    // differ above those bits: `inner > shift`. The perfect subtree of size
    // 2^shift at the end of the old tree is the seed, not a proof step; it is the
    // old root itself, not in the proof, when the old tree is that subtree.
    let seed = u32::from(!old_size.is_power_of_two());
    (seed + inner - shift + border) as usize
}

/// Right-shifts `fn_` and `sn` together until `fn_`'s lowest bit is set or `fn_`
/// is 0.
fn skip_right_edge(fn_: &mut u64, sn: &mut u64) {
    while *fn_ != 0 && *fn_ & 1 == 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Checks that `proof` shows the leaf `leaf_hash` at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// `size` and `root` must come from the same trusted source (a checkpoint): the
/// proof ties the leaf to that pair only.
///
/// # Errors
///
/// [`ProofError::IndexOutOfRange`] when `index >= size`,
/// [`ProofError::WrongProofLength`] when the proof does not have the length that
/// `index` and `size` call for, and [`ProofError::RootMismatch`] when it leads to
/// another root.
pub fn verify_inclusion(
    leaf_hash: &[u8; 32],
    index: u64,
    size: u64,
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> std::result::Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            found: proof.len(),
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            skip_right_edge(&mut fn_, &mut sn);
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // The length check above is the RFC's "sn is 0" check, done first.
    debug_assert_eq!(sn, 0, "proof length {expected} for index {index} of {size}");
    if r != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            found: r,
        });
    }
    Ok(())
}

/// Checks that `proof` shows the tree of `new_size` leaves with root `new_root`
/// extends the tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2):
/// its first `old_size` leaves are those of the old tree.
///
/// Between equal sizes the proof must be empty and the roots equal. From the empty
/// tree (`old_size` 0) to a larger one no proof is accepted, not even an empty one
/// (every tree extends the empty tree: there is nothing to check).
///
/// # Errors
///
/// [`ProofError::SizesOutOfOrder`] when `old_size > new_size`,
/// [`ProofError::FromEmptyTree`] when `old_size` is 0 and `new_size` is not,
/// [`ProofError::WrongProofLength`] when the proof does not have the length the
/// sizes call for (an empty proof between different sizes, a non-empty one between
/// equal sizes), [`ProofError::OldRootMismatch`] and [`ProofError::RootMismatch`]
/// when it leads to other roots (or when equal sizes have different roots).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &[u8; 32],
    new_root: &[u8; 32],
    proof: &[[u8; 32]],
) -> std::result::Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                found: proof.len(),
            });
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch {
                expected: *old_root,
                found: *new_root,
            });
        }
        return Ok(());
    }
    if old_size == 0 {
        return Err(ProofError::FromEmptyTree { new_size });
    }
    let expected = consistency_proof_len(old_size, new_size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            found: proof.len(),
        });
    }
    // When the old tree is a perfect tree, it is the first node of the path.
    let (seed, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            // Not reached: the length for such sizes is at least 1.
            None => {
                return Err(ProofError::WrongProofLength { expected, found: 0 });
            }
        }
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            skip_right_edge(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // The length check above is the RFC's "sn is 0" check, done first.
    debug_assert_eq!(
        sn, 0,
        "proof length {expected} for {old_size} -> {new_size}"
    );
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            expected: *old_root,
            found: fr,
        });
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch {
            expected: *new_root,
            found: sr,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let digest: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(EMPTY_ROOT, digest);
    }

    #[test]
    fn proof_lengths_do_not_overflow_at_the_top_of_u64() {
        // `index ^ (size - 1)` uses bit 63: the border shift would be 64.
        assert_eq!(inclusion_proof_len(0, u64::MAX), 64);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(consistency_proof_len(1, u64::MAX), 64);
        assert_eq!(consistency_proof_len(3, u64::MAX), 65);
    }

    #[test]
    fn from_parts_checks_the_hash_count() {
        let e = Frontier::from_parts(5, vec![[0; 32]]).expect_err("5 needs 2 hashes");
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("expected 2 hashes"), "{e}");
        assert!(e.to_string().contains("found 1"), "{e}");
        assert!(Frontier::from_parts(0, vec![[0; 32]]).is_err());
        assert_eq!(
            Frontier::from_parts(0, vec![]).map(|f| f.root()).ok(),
            Some(EMPTY_ROOT)
        );
    }
}
